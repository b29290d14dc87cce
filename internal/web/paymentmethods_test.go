package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// An administrator keeps the payment methods and the seller on the
// dictionaries page; a wrong entry is refused naming its field.
func TestPaymentMethodsPage(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.signIn()
		if p := b.get("/admin/dict"); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="payment-methods"`) {
			t.Fatalf("dictionaries page: %d", p.Status)
		}
		p := b.post("/admin/dict/pm-add", url.Values{"name": {"ЮKassa"}, "client_type": {"company"}, "active": {"on"},
			"url_template": {"https://yookassa.example/pay?order={number}&sum={amount}"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("add: %d %s", p.Status, p.Body)
		}
		bg := context.Background()
		ms, err := e.app.Store.ListPaymentMethods(bg)
		if err != nil || len(ms) != 1 || ms[0].Name != "ЮKassa" || ms[0].ClientType != crm.ClientCompany || !ms[0].Active || ms[0].PrintForm != "invoice" {
			t.Fatalf("after add: %+v %v", ms, err)
		}
		id := strconv.FormatInt(ms[0].ID, 10)
		if p := b.get("/admin/dict"); !strings.Contains(p.Body, `value="https://yookassa.example/pay?order={number}&amp;sum={amount}"`) {
			t.Error("the page does not show the saved template")
		}
		if p := b.post("/admin/dict/pm-save", url.Values{"id": {id}, "name": {"Наличные"}, "client_type": {"contact"}, "sort": {"5"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("save: %d", p.Status)
		}
		m, err := e.app.Store.GetPaymentMethod(bg, ms[0].ID)
		if err != nil || m.Name != "Наличные" || m.ClientType != crm.ClientContact || m.Active || m.Sort != 5 {
			t.Fatalf("after save: %+v %v", m, err)
		}
		for _, c := range []struct {
			action string
			form   url.Values
			says   string
		}{
			{"pm-add", url.Values{"name": {"X"}, "client_type": {"lead"}}, "lead"},
			{"pm-add", url.Values{"name": {"X"}, "client_type": {"company"}, "url_template": {"https://x.example/?n={nomer}"}}, "{nomer}"},
			{"pm-add", url.Values{"name": {"X"}, "client_type": {"company"}, "url_template": {"ftp://x.example/{number}"}}, "http(s)"},
			{"pm-add", url.Values{"client_type": {"company"}}, "обязательное поле"},
			{"pm-seller", url.Values{"seller_account_id": {"abc"}}, "abc"},
			{"pm-seller", url.Values{"seller_account_id": {"424242"}}, "424242"},
		} {
			p := b.post("/admin/dict/"+c.action, c.form)
			_, msg, _ := strings.Cut(p.Body, `id="dict-error">`)
			msg, _, _ = strings.Cut(msg, "</p>")
			if p.Status != http.StatusUnprocessableEntity || !strings.Contains(msg, c.says) {
				t.Errorf("%s %v: %d %q, want 422 saying %q", c.action, c.form, p.Status, msg, c.says)
			}
		}
		acc, err := e.app.Store.CreateAccount(bg, e.admin, crm.Account{Title: "Обмен"})
		if err != nil {
			t.Fatal(err)
		}
		if p := b.post("/admin/dict/pm-seller", url.Values{"seller_account_id": {strconv.FormatInt(acc.ID, 10)}}); p.Status != http.StatusSeeOther {
			t.Fatalf("seller: %d", p.Status)
		}
		if v, _ := e.app.Store.GetSetting(bg, store.SellerSetting); v != strconv.FormatInt(acc.ID, 10) {
			t.Errorf("seller setting %q", v)
		}
		// A method an invoice uses stays.
		if _, err := e.app.Store.CreateInvoice(bg, e.admin, crm.Invoice{PaymentMethodID: ms[0].ID}); err != nil {
			t.Fatal(err)
		}
		if p := b.post("/admin/dict/pm-del", url.Values{"id": {id}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "указан в 1 счетах") {
			t.Errorf("delete a used method: %d", p.Status)
		}
		other, _ := e.app.Store.CreatePaymentMethod(bg, e.admin, crm.PaymentMethod{Name: "Лишний", ClientType: crm.ClientContact})
		if p := b.post("/admin/dict/pm-del", url.Values{"id": {strconv.FormatInt(other.ID, 10)}}); p.Status != http.StatusSeeOther {
			t.Errorf("delete: %d", p.Status)
		}
		if _, err := e.app.Store.GetPaymentMethod(bg, other.ID); err == nil {
			t.Error("the deleted method is still there")
		}
	})
}
