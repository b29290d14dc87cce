package crm

import (
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Payment method client types: the kind of buyer a method is for
// (Bitrix24's "Тип клиента" of a payment system).
const (
	ClientCompany = "company"
	ClientContact = "contact"
)

// PrintFormInvoice is the printed form "Счёт на оплату", the only one now.
const PrintFormInvoice = "invoice"

// PaymentMethod is an entry of the payment methods dictionary: how an
// invoice is to be paid and printed.
type PaymentMethod struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	ClientType string `json:"client_type"`
	PrintForm  string `json:"print_form"`
	// URLTemplate is the payment link of an invoice, with the
	// placeholders of FillURL; empty: the invoice's public page is the
	// payment link.
	URLTemplate string    `json:"url_template"`
	Active      bool      `json:"active"`
	Sort        int       `json:"sort"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// URLPlaceholders are what a payment URL template may name, each filled
// in by FillURL, query-escaped:
//
//	{id}             the invoice's id
//	{number}         its number (INV-000042)
//	{amount}         the total in major units with a point (1234.50)
//	{amount_kopecks} the total in minor units (123450)
//	{currency}       its currency code (RUB)
//	{date}           its date (YYYY-MM-DD)
//	{public_url}     the link of its public page
var URLPlaceholders = []string{"id", "number", "amount", "amount_kopecks", "currency", "date", "public_url"}

// Normalize trims, validates and fills defaults.
func (m *PaymentMethod) Normalize() error {
	trimAll(&m.Name, &m.ClientType, &m.PrintForm, &m.URLTemplate)
	if m.PrintForm == "" {
		m.PrintForm = PrintFormInvoice
	}
	if m.Name == "" {
		return Invalid("name", "required")
	}
	switch m.ClientType {
	case ClientCompany, ClientContact:
	case "":
		return Invalid("client_type", "required")
	default:
		return Invalid("client_type", "%q is not one of %s", m.ClientType, "company, contact")
	}
	if m.PrintForm != PrintFormInvoice {
		return Invalid("print_form", "%q is not one of %s", m.PrintForm, PrintFormInvoice)
	}
	if err := firstErr(checkLen("name", m.Name, 255), checkLen("url_template", m.URLTemplate, 2000)); err != nil {
		return err
	}
	if m.URLTemplate != "" {
		if err := checkURLTemplate(m.URLTemplate); err != nil {
			return err
		}
	}
	return nil
}

// checkURLTemplate refuses a template that is not an http(s) URL once
// filled, or names an unknown placeholder.
func checkURLTemplate(t string) error {
	// A link holds no spaces or control characters (a space inside the
	// fragment parses, found by fuzzing): they are written %20.
	if i := strings.IndexFunc(t, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
		return Invalid("url_template", "a space or control character at %q: write it encoded (%%20)", t[i:])
	}
	rest := t
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return Invalid("url_template", "an unclosed { at %q", rest[i:])
		}
		name := rest[i+1 : i+j]
		known := false
		for _, p := range URLPlaceholders {
			known = known || p == name
		}
		if !known {
			return Invalid("url_template", "{%s} is not one of {%s}", name, strings.Join(URLPlaceholders, "}, {"))
		}
		rest = rest[i+j+1:]
	}
	filled := fillURL(t, map[string]string{})
	u, err := url.Parse(filled)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Invalid("url_template", "must be an http(s) URL, got %q", t)
	}
	// The placeholders go after the host: an invoice's number must not
	// choose where its payment link leads.
	if i := strings.IndexByte(t, '{'); i >= 0 {
		// The scheme in any case (HTTPS:// parses as https, found by
		// fuzzing), then the authority up to the first / ? or #.
		rest := t[:i]
		if k := strings.Index(rest, "://"); k >= 0 {
			rest = rest[k+3:]
		}
		if !strings.ContainsAny(rest, "/?#") {
			return Invalid("url_template", "the placeholders must come after the host (https://host/…{number}), got %q", t)
		}
	}
	return nil
}

// FillURL is the payment link of invoice v by the method's template; ""
// when the method has none. publicURL is the link of the invoice's page.
func (m *PaymentMethod) FillURL(v *Invoice, publicURL string) string {
	if m.URLTemplate == "" {
		return ""
	}
	return fillURL(m.URLTemplate, map[string]string{
		"id": strconv.FormatInt(v.ID, 10), "number": v.Number, "amount": v.Total.String(),
		"amount_kopecks": strconv.FormatInt(int64(v.Total), 10), "currency": v.Currency, "date": v.InvoiceDate,
		"public_url": publicURL,
	})
}

func fillURL(t string, vals map[string]string) string {
	pairs := make([]string, 0, 2*len(URLPlaceholders))
	for _, p := range URLPlaceholders {
		pairs = append(pairs, "{"+p+"}", url.QueryEscape(vals[p]))
	}
	return strings.NewReplacer(pairs...).Replace(t)
}
