package web

import (
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// Formats of what people read: money and numbers by the user's language
// (Russian: "45 000,50 ₽" with a no-break space between thousands and
// before the sign; English: "45,000.50 ₽"), dates as dd.mm.yyyy and times
// as dd.mm.yyyy hh:mm in the user's time zone.

const (
	dateLayout     = "02.01.2006"
	dateTimeLayout = "02.01.2006 15:04"
	nbsp           = "\u00a0"
)

// currencySigns are the signs shown after an amount; other currencies
// show their code.
var currencySigns = map[string]string{"RUB": "₽", "USD": "$", "EUR": "€", "CNY": "¥", "KZT": "₸", "BYN": "Br", "GBP": "£"}

// groupDigits formats decimal text "-1234567.5" with the language's
// thousands separator and decimal mark.
func groupDigits(lang, s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(s, ".")
	sep, mark := nbsp, ","
	if lang == "en" {
		sep, mark = ",", "."
	}
	var b strings.Builder
	if neg {
		b.WriteString("-")
	}
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteString(mark)
		b.WriteString(frac)
	}
	return b.String()
}

// formatMoney formats an amount ("45000.50") with its currency's sign;
// "" and unparsable text come back as they are.
func formatMoney(lang, amount, currency string) string {
	if amount == "" {
		return ""
	}
	a, err := crm.ParseAmount(amount)
	if err != nil {
		return amount
	}
	s := groupDigits(lang, a.String())
	if currency == "" {
		return s
	}
	if sign, ok := currencySigns[strings.ToUpper(currency)]; ok {
		return s + nbsp + sign
	}
	return s + nbsp + currency
}

// formatNumber formats a quantity or another decimal ("1500.5").
func formatNumber(lang, v string) string {
	if v == "" {
		return ""
	}
	if q, err := crm.ParseQuantity(v); err == nil {
		return groupDigits(lang, q.String())
	}
	return v
}

// formatDate turns "2026-12-04" (or an RFC 3339 time's date) into
// "04.12.2026".
func formatDate(v string) string {
	if len(v) >= 10 {
		if t, err := time.Parse(time.DateOnly, v[:10]); err == nil {
			return t.Format(dateLayout)
		}
	}
	return v
}

// formatTime shows t in loc as dd.mm.yyyy hh:mm; the zero time is "".
func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(dateTimeLayout)
}
