package api_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// The payment methods through the REST API: created, read, replaced and
// removed by an administrator; a bad one refused naming its field.
func TestPaymentMethodsAPI(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		var m crm.PaymentMethod
		r := e.do("POST", "/api/v1/payment-methods", map[string]any{"name": "ЮKassa", "client_type": "company", "active": true,
			"url_template": "https://yookassa.example/pay?order={number}&sum={amount}"})
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		r.json(t, &m)
		if m.ID == 0 || m.PrintForm != "invoice" || !m.Active {
			t.Fatalf("created %+v", m)
		}
		path := "/api/v1/payment-methods/" + strconv.FormatInt(m.ID, 10)
		if r := e.do("PUT", path, map[string]any{"name": "Наличные", "client_type": "contact"}); r.Status != http.StatusOK {
			t.Fatalf("replace: %d %s", r.Status, r.Body)
		}
		var list struct {
			Items []crm.PaymentMethod `json:"items"`
		}
		e.do("GET", "/api/v1/payment-methods", nil).json(t, &list)
		if len(list.Items) != 1 || list.Items[0].Name != "Наличные" || list.Items[0].ClientType != "contact" || list.Items[0].URLTemplate != "" {
			t.Fatalf("list %+v", list.Items)
		}
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"name": "X", "client_type": "lead"}, "client_type"},
			{map[string]any{"name": "X", "client_type": "company", "print_form": "act"}, "print_form"},
			{map[string]any{"name": "X", "client_type": "company", "url_template": "https://x.example/{sum}"}, "url_template"},
			{map[string]any{"client_type": "company"}, "name"},
		} {
			var body struct {
				Error struct {
					Field string `json:"field"`
				} `json:"error"`
			}
			r := e.do("POST", "/api/v1/payment-methods", c.body)
			r.json(t, &body)
			if r.Status != http.StatusUnprocessableEntity || body.Error.Field != c.field {
				t.Errorf("%v: %d %s, want 422 on %s", c.body, r.Status, r.Body, c.field)
			}
		}
		if r := e.do("DELETE", path, nil); r.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if r := e.do("GET", path, nil); r.Status != http.StatusNotFound {
			t.Fatalf("after delete: %d", r.Status)
		}
	})
}
