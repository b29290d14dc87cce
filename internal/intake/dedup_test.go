package intake_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dedup"
	"github.com/obmen/obmen/internal/intake"
	"github.com/obmen/obmen/internal/store"
)

// TestIntakeDuplicateRules: the same order posted twice under each lead
// rule — allow makes two leads, warn two with the journal naming the
// first, merge folds the second into the open lead, refuse journals a
// refusal and writes nothing; a web form under refuse tells the visitor
// in Russian.
func TestIntakeDuplicateRules(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		st := e.app.Store
		order := func(phone, comment string) []byte {
			return []byte(`{"Тема": "Баннер", "Телефон": "` + phone + `", "КонтактноеЛицо": "Иванов Иван", "Описание": "` + comment + `"}`)
		}
		leads := func() int {
			ls, _, err := st.ListLeads(store.Unscoped(ctx), store.ListParams{Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			return len(ls)
		}
		setRule := func(action string) {
			if _, err := dedup.SaveRule(ctx, st, crm.Actor{UserID: e.admin.ID}, dedup.Rule{Entity: "lead", Keys: []string{"phone", "email"}, Action: action}); err != nil {
				t.Fatal(err)
			}
		}
		post := func(body []byte) resp {
			return e.do("POST", "/api/v1/intake/orders", body, "Content-Type", "application/json")
		}

		setRule(dedup.Allow)
		post(order("+7 916 000-00-01", "первый"))
		if r := post(order("8 916 000 00 01", "второй")); r.Status != http.StatusCreated || leads() != 2 {
			t.Fatalf("allow: %d %s, %d leads", r.Status, r.Body, leads())
		}

		setRule(dedup.Warn)
		first := post(order("+7 916 000-00-02", "первый"))
		var a struct {
			LeadID int64 `json:"lead_id"`
		}
		first.json(t, &a)
		if r := post(order("8 (916) 000-00-02", "второй")); r.Status != http.StatusCreated || leads() != 4 {
			t.Fatalf("warn: %d %s", r.Status, r.Body)
		}
		if j := journalOf(t, e, "http"); j.Outcome != intake.OutcomeCreated || !strings.Contains(j.Error, "possible duplicate of lead") {
			t.Errorf("warn journal = %+v", j)
		}

		setRule(dedup.Merge)
		if r := post(order("+79160000002", "третий: срочно")); r.Status != http.StatusCreated || leads() != 4 {
			t.Fatalf("merge: %d %s, %d leads", r.Status, r.Body, leads())
		}
		j := journalOf(t, e, "http")
		if j.Outcome != intake.OutcomeDuplicate || j.RecordID != a.LeadID {
			t.Errorf("merge journal = %+v, want lead %d", j, a.LeadID)
		}
		if l, err := st.GetLead(ctx, a.LeadID); err != nil || !strings.Contains(l.Comments, "третий: срочно") || !strings.Contains(l.Comments, "первый") {
			t.Errorf("merged lead = %+v, %v", l, err)
		}

		setRule(dedup.Refuse)
		if r := post(order("+79160000002", "четвёртый")); r.Status != http.StatusUnprocessableEntity || leads() != 4 {
			t.Fatalf("refuse: %d %s, %d leads", r.Status, r.Body, leads())
		}
		if j := journalOf(t, e, "http"); j.Outcome != intake.OutcomeFailed || !strings.Contains(j.Error, "duplicate") {
			t.Errorf("refuse journal = %+v", j)
		}
		// A web form under the same rule: the visitor is told in Russian.
		f := e.createForm(t, map[string]any{"name": "Заявка", "user_id": e.admin.ID, "module": "leads",
			"fields": []map[string]any{{"name": "name"}, {"name": "phone", "required": true}}})
		res, body := post2(t, e.srv.URL+"/f/"+f.PublicID, `{"name":"Иван","phone":"+7 916 000-00-02"}`)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Такая заявка уже есть") || leads() != 4 {
			t.Errorf("web form refuse: %d %s", res.StatusCode, body)
		}

		// Link: a new lead with a contact's phone is linked to it.
		setRule(dedup.Link)
		c, err := st.CreateContact(ctx, crm.Actor{UserID: e.admin.ID}, crm.Contact{Name: "Пётр", Comms: crm.Comms{Emails: []crm.Comm{{Value: "petr@example.ru"}}}})
		if err != nil {
			t.Fatal(err)
		}
		res, body = post2(t, e.srv.URL+"/f/"+f.PublicID, `{"name":"Пётр","phone":"+7 916 000-00-09"}`)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("link: %d %s", res.StatusCode, body)
		}
		f2 := e.createForm(t, map[string]any{"name": "Почта", "user_id": e.admin.ID, "module": "leads",
			"fields": []map[string]any{{"name": "name"}, {"name": "email", "required": true}}})
		res, body = post2(t, e.srv.URL+"/f/"+f2.PublicID, `{"name":"Пётр","email":"PETR@example.ru"}`)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("link: %d %s", res.StatusCode, body)
		}
		if l, err := st.GetLead(ctx, journalTop(t, e).RecordID); err != nil || l.ContactID != c.ID {
			t.Errorf("linked lead = %+v, %v (want contact %d)", l, err, c.ID)
		}
	})
}

// journalOf is the newest journal entry of a source.
func journalOf(t *testing.T, e *env, source string) intake.Entry {
	t.Helper()
	var j journalAnswer
	e.do("GET", "/api/v1/intake/journal?source="+source+"&limit=1", nil).json(t, &j)
	if len(j.Items) == 0 {
		t.Fatalf("the %s journal is empty", source)
	}
	return j.Items[0]
}

func post2(t *testing.T, u, body string) (*http.Response, string) {
	t.Helper()
	return post(t, noRedirect(), u, "application/json", body, "Accept", "application/json")
}
