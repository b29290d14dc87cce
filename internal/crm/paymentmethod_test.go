package crm

import (
	"net/url"
	"strings"
	"testing"
)

func TestPaymentMethodNormalize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		m     PaymentMethod
		field string // "" valid
	}{
		{PaymentMethod{Name: " Счёт ", ClientType: "company"}, ""},
		{PaymentMethod{Name: "ЮKassa", ClientType: "contact", URLTemplate: "https://yookassa.example/pay?o={number}&s={amount}&k={amount_kopecks}&c={currency}&d={date}&i={id}&b={public_url}"}, ""},
		{PaymentMethod{Name: "Банк", ClientType: "company", URLTemplate: "http://bank.example/{number}"}, ""},
		{PaymentMethod{ClientType: "company"}, "name"},
		{PaymentMethod{Name: "X"}, "client_type"},
		{PaymentMethod{Name: "X", ClientType: "lead"}, "client_type"},
		{PaymentMethod{Name: "X", ClientType: "company", PrintForm: "act"}, "print_form"},
		{PaymentMethod{Name: "X", ClientType: "company", URLTemplate: "https://x.example/{sum}"}, "url_template"},
		{PaymentMethod{Name: "X", ClientType: "company", URLTemplate: "https://x.example/{number"}, "url_template"},
		{PaymentMethod{Name: "X", ClientType: "company", URLTemplate: "javascript:alert({number})"}, "url_template"},
		{PaymentMethod{Name: "X", ClientType: "company", URLTemplate: "{public_url}"}, "url_template"},
		{PaymentMethod{Name: "X", ClientType: "company", URLTemplate: "https:///{number}"}, "url_template"},
		{PaymentMethod{Name: "X", ClientType: "company", URLTemplate: "https://{number}.example/"}, "url_template"},
		{PaymentMethod{Name: "X", ClientType: "company", URLTemplate: "HTTPS://{number}.example/"}, "url_template"}, // the scheme in capitals (found by fuzzing)
		{PaymentMethod{Name: "X", ClientType: "company", URLTemplate: "https://pay.example{number}/"}, "url_template"},
	}
	for _, c := range cases {
		err := c.m.Normalize()
		fe, _ := AsFieldError(err)
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%+v: %v", c.m, err)
		case c.field != "" && (fe == nil || fe.Field != c.field):
			t.Errorf("%+v: %v, want an error on %s", c.m, err, c.field)
		}
		if c.field == "" && c.m.PrintForm != PrintFormInvoice {
			t.Errorf("print form %q", c.m.PrintForm)
		}
	}
}

func TestPaymentMethodFillURL(t *testing.T) {
	t.Parallel()
	m := PaymentMethod{URLTemplate: "https://pay.example/?o={number}&s={amount}&k={amount_kopecks}&c={currency}&d={date}&i={id}&b={public_url}&o2={number}"}
	v := &Invoice{Meta: Meta{ID: 42}, Number: "INV 7&1", Totals: Totals{Total: 1234550}, Currency: "RUB", InvoiceDate: "2026-12-05"}
	got := m.FillURL(v, "https://crm.example/i/abc")
	want := "https://pay.example/?o=INV+7%261&s=12345.50&k=1234550&c=RUB&d=2026-12-05&i=42&b=https%3A%2F%2Fcrm.example%2Fi%2Fabc&o2=INV+7%261"
	if got != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
	if (&PaymentMethod{}).FillURL(v, "x") != "" {
		t.Error("no template: no link")
	}
}

// A template Normalize takes always fills to an http(s) URL with a host,
// whatever the invoice holds.
func FuzzPaymentURLTemplate(f *testing.F) {
	f.Add("https://pay.example/?o={number}&s={amount}", "INV-1")
	f.Add("http://x/{public_url}", "a b")
	f.Add("https://{number}.example/", "evil.com/")
	f.Fuzz(func(t *testing.T, tmpl, number string) {
		m := PaymentMethod{Name: "X", ClientType: ClientCompany, URLTemplate: tmpl}
		if m.Normalize() != nil || m.URLTemplate == "" {
			return
		}
		got := m.FillURL(&Invoice{Number: number, Totals: Totals{Total: 100}, Currency: "RUB"}, "https://crm.example/i/t")
		u, err := url.Parse(got)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			t.Fatalf("%q filled to %q: %v", tmpl, got, err)
		}
		if strings.ContainsAny(got, " \n") {
			t.Fatalf("%q filled to %q, with unescaped spaces", tmpl, got)
		}
	})
}
