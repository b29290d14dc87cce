package invoice

import (
	"fmt"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

var months = []string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}

// DateRu writes YYYY-MM-DD as "5 декабря 2026 г."; anything else as is.
func DateRu(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return d
	}
	return fmt.Sprintf("%d %s %d г.", t.Day(), months[t.Month()-1], t.Year())
}

// Money writes minor units as a Russian invoice does: "1 234 567,80".
func Money(a crm.Amount) string {
	s := a.String() // "-1234567.80"
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteString("-")
	}
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteRune(' ')
		}
		b.WriteRune(r)
	}
	b.WriteString(",")
	b.WriteString(frac)
	return b.String()
}

// currencyShort is how the invoice names the currency after a sum.
func currencyShort(code string) string {
	switch code {
	case "RUB", "":
		return "руб."
	}
	return code
}

// Build makes the printed invoice of v with its buyer's and seller's data.
func Build(v crm.Invoice, p store.InvoicePrint) Doc {
	d := Doc{
		Number: v.Number, Date: DateRu(v.InvoiceDate), Currency: v.Currency,
		Seller: Seller(p.SellerRequisite, p.SellerBankDetail, p.SellerAccountTitle),
		Buyer:  Buyer(p.Account, p.Contact, p.Requisite, p.BankDetail),
		Total:  Money(v.Total), VAT: Money(v.Tax),
	}
	vat, included := false, false
	for i, it := range v.Items {
		if it.VATRate != nil {
			vat = true
			included = included || it.VATIncluded
		}
		unit := it.Unit
		if unit == "" {
			unit = "шт"
		}
		d.Lines = append(d.Lines, Line{N: i + 1, Name: it.Name, Quantity: strings.ReplaceAll(it.Quantity.String(), ".", ","), Unit: unit,
			Price: Money(it.Price), Sum: Money(it.Sum)})
	}
	switch {
	case !vat && v.Tax == 0:
		d.VATLabel, d.VAT = "Без налога (НДС)", "—"
	case included:
		d.VATLabel = "В том числе НДС"
	default:
		d.VATLabel = "НДС"
	}
	if v.Currency == "RUB" || v.Currency == "" {
		d.Words = AmountInWords(int64(v.Total))
	} else {
		d.Words = Money(v.Total) + " " + v.Currency
	}
	d.Count = fmt.Sprintf("Всего наименований %d, на сумму %s %s", len(v.Items), d.Total, currencyShort(v.Currency))
	if v.PaymentURL != "" && !strings.Contains(v.PaymentURL, v.PublicToken) {
		d.PaymentURL = v.PaymentURL
	}
	return d
}
