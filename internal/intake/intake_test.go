package intake_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/intake"
	"github.com/obmen/obmen/internal/store"
)

type orderAnswer struct {
	intake.Result
	Lead crm.Lead `json:"lead"`
}

type journalAnswer struct {
	Items []intake.Entry `json:"items"`
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPostOrderSeedExample(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		st := e.app.Store
		// A contact that already exists with the order's phone in
		// another format.
		c, err := st.CreateContact(ctx, crm.Actor{UserID: e.admin.ID}, crm.Contact{Name: "Алексей", Comms: crm.Comms{Phones: []crm.Comm{{Value: "8 (925) 642-42-90"}}}})
		if err != nil {
			t.Fatal(err)
		}
		r := e.do("POST", "/api/v1/intake/orders", readFile(t, "seed004.cp1251.json"), "Content-Type", "application/json; charset=windows-1251")
		if r.Status != http.StatusCreated {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		var a orderAnswer
		r.json(t, &a)
		l := a.Lead
		if l.ID == 0 || l.ID != a.LeadID || l.Title != "Заказ №123 от 01.06.2019 бла бла бла" || l.LastName != "Прилепский" || l.Name != "Алексей" || l.SecondName != "Анатольевич" {
			t.Errorf("lead = %+v", l)
		}
		if l.AssignedByID != e.admin.ID || l.ContactID != c.ID || l.AccountID == 0 || a.AccountID != l.AccountID {
			t.Errorf("links: assigned %d contact %d (want %d) account %d", l.AssignedByID, l.ContactID, c.ID, l.AccountID)
		}
		if len(l.Phones) != 1 || l.Phones[0].Normalized != "+79256424290" || len(l.Emails) != 1 {
			t.Errorf("comms = %+v", l.Comms)
		}
		if !strings.Contains(l.Comments, "DAC_noyXsAEV-Cx.jpg") || !strings.Contains(l.Comments, "29.05.2019 15:15:00") {
			t.Errorf("comments = %q", l.Comments)
		}
		if len(l.ProductRows) != 2 {
			t.Fatalf("product rows = %+v", l.ProductRows)
		}
		good, svc := l.ProductRows[0], l.ProductRows[1]
		if good.Name != "Ролап 123 22 22" || good.Price != 50000 || good.Quantity != 2000 || good.Sum != 100000 {
			t.Errorf("good = %+v", good)
		}
		p := good.Properties
		if p["material"] != "Баннеры - Эконом (340 гр./м2) - 360 dpi" || p["material_code"] != "00-00000021" || p["resolution"] != "360 dpi" ||
			p["width"] != "2" || p["height"] != "2" || p["machine_code"] != "1" || p["service"] != false {
			t.Errorf("good properties = %v", p)
		}
		if w, _ := p["extra_works"].([]any); len(w) != 3 || !strings.Contains(fmt.Sprint(w[0]), "Люверсы") {
			t.Errorf("extra works = %v", p["extra_works"])
		}
		if f, _ := p["layout_files"].([]any); len(f) != 2 {
			t.Errorf("layout files = %v", p["layout_files"])
		}
		if svc.Name != "Доставка" || svc.Properties["service"] != true || svc.Sum != 100000 {
			t.Errorf("service row = %+v", svc)
		}
		if l.Opportunity != 200000 {
			t.Errorf("opportunity = %v", l.Opportunity)
		}
		acc, err := st.GetAccount(ctx, l.AccountID)
		if err != nil || acc.INN != "7709745454" {
			t.Errorf("account = %+v, %v", acc, err)
		}
		cal, err := st.Calendar(ctx, e.admin.ID, time.Now().Add(-time.Hour), time.Now().Add(2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(cal) != 1 || cal[0].ID != a.ActivityID || cal[0].OwnerType != "lead" || cal[0].OwnerID != l.ID || !strings.Contains(cal[0].Subject, "Заказ №123") {
			t.Errorf("calendar = %+v", cal)
		}
		// The lead's, the account's and the activity's create events.
		evs, err := st.Events(ctx, events.Query{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, ev := range evs {
			if ev.Action == events.Create {
				seen[ev.Entity] = true
			}
		}
		if !seen["lead"] || !seen["account"] || !seen["activity"] {
			t.Errorf("create events = %v", seen)
		}

		// The same INN again (UTF-8, detected): the account is found, not
		// created; a file without Товары is a lead with the contact data.
		r = e.do("POST", "/api/v1/intake/orders", []byte(`{"ИНН":"7709745454","КонтактноеЛицо":"Пётр","АдресЭлектроннойПочты":"PETR@example.ru"}`), "Content-Type", "text/plain")
		if r.Status != http.StatusCreated {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		var b orderAnswer
		r.json(t, &b)
		if b.Lead.AccountID != l.AccountID || len(b.Lead.ProductRows) != 0 || b.Lead.Name != "Пётр" || b.Lead.Title != "Пётр" || b.Lead.ContactID != 0 {
			t.Errorf("second lead = %+v", b.Lead)
		}
		accs, _, err := st.ListAccounts(ctx, store.ListParams{INN: "7709745454"})
		if err != nil || len(accs) != 1 {
			t.Errorf("accounts with the INN: %d, %v", len(accs), err)
		}

		var j journalAnswer
		e.do("GET", "/api/v1/intake/journal?source=http", nil).json(t, &j)
		if len(j.Items) != 2 || j.Items[0].Outcome != intake.OutcomeCreated || j.Items[0].RecordID != b.LeadID || j.Items[1].RecordID != l.ID {
			t.Errorf("journal = %+v", j.Items)
		}
	})
}

func TestPostOrderRefused(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		for _, tc := range []struct {
			name, body, field, msg string
		}{
			{"syntax", "{\n\"Тема\": \"x\",\n}", "", "line 3"},
			{"price", `{"Тема":"x","Товары":[{"Номенклатура":"a","Цена":"много"}]}`, "Товары[0].Цена", "not a number"},
			{"price digits", `{"Тема":"x","Товары":[{"Номенклатура":"a","Цена":"1.005"}]}`, "Товары[0].Цена", "2 decimal"},
			{"inn checksum", `{"Тема":"x","ИНН":"7709745455"}`, "ИНН", "check digit"},
			{"e-mail", `{"Тема":"x","АдресЭлектроннойПочты":"not an address"}`, "АдресЭлектроннойПочты", ""},
			{"date", `{"Тема":"x","Дата":"29/05/2019"}`, "Дата", "dd.mm.yyyy"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do("POST", "/api/v1/intake/orders", []byte(tc.body))
				if r.Status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d: %s", r.Status, r.Body)
				}
				var er struct {
					Error struct{ Field, Message string }
				}
				r.json(t, &er)
				if er.Error.Field != tc.field || !strings.Contains(er.Error.Message, tc.msg) {
					t.Errorf("error = %+v, want field %q ~%q", er.Error, tc.field, tc.msg)
				}
				var j journalAnswer
				e.do("GET", "/api/v1/intake/journal?limit=1", nil).json(t, &j)
				if len(j.Items) != 1 || j.Items[0].Outcome != intake.OutcomeFailed || j.Items[0].Field != tc.field || j.Items[0].RecordID != 0 {
					t.Errorf("journal = %+v", j.Items)
				}
			})
		}
		// Nothing partial: no lead, account or activity was written.
		ls, _, err := e.app.Store.ListLeads(context.Background(), store.ListParams{})
		if err != nil || len(ls) != 0 {
			t.Errorf("leads after refusals: %d, %v", len(ls), err)
		}
		as, _, err := e.app.Store.ListAccounts(context.Background(), store.ListParams{})
		if err != nil || len(as) != 0 {
			t.Errorf("accounts after refusals: %d, %v", len(as), err)
		}
		if r := e.do("POST", "/api/v1/intake/orders", []byte(`{}`), "Authorization", "Bearer wrong"); r.Status != http.StatusUnauthorized {
			t.Errorf("wrong key: status %d", r.Status)
		}
	})
}

func TestPostOrderIdempotencyKey(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		body := readFile(t, "seed004.json")
		first := e.do("POST", "/api/v1/intake/orders", body, "Idempotency-Key", "site-order-123")
		if first.Status != http.StatusCreated || first.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("first: %d %s", first.Status, first.Body)
		}
		var a, b orderAnswer
		first.json(t, &a)
		second := e.do("POST", "/api/v1/intake/orders", body, "Idempotency-Key", "site-order-123")
		if second.Status != http.StatusCreated || second.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("second: %d %s", second.Status, second.Body)
		}
		second.json(t, &b)
		if a.LeadID == 0 || b.LeadID != a.LeadID || b.Lead.ID != a.LeadID {
			t.Errorf("replayed lead %d, first %d", b.LeadID, a.LeadID)
		}
		// The replay is the first answer, byte for byte — the activity and
		// journal ids too — even after the lead has changed since.
		if _, err := e.app.Store.UpdateLead(context.Background(), crm.Actor{UserID: e.admin.ID}, a.LeadID, func(l *crm.Lead) error { l.Title = "изменено после"; return nil }); err != nil {
			t.Fatal(err)
		}
		third := e.do("POST", "/api/v1/intake/orders", body, "Idempotency-Key", "site-order-123")
		if !bytes.Equal(first.Body, second.Body) || !bytes.Equal(first.Body, third.Body) || third.Header.Get("Location") != first.Header.Get("Location") {
			t.Errorf("replay differs:\nfirst  %s\nsecond %s\nthird  %s", first.Body, second.Body, third.Body)
		}
		if !strings.Contains(string(first.Body), `"activity_id":`) || strings.Contains(string(first.Body), `"journal_id":0`) {
			t.Errorf("first answer lacks its ids: %s", first.Body)
		}
		if r := e.do("POST", "/api/v1/intake/orders", []byte(`{"Тема":"другое"}`), "Idempotency-Key", "site-order-123"); r.Status != http.StatusUnprocessableEntity ||
			!strings.Contains(string(r.Body), "idempotency_key_reused") {
			t.Errorf("other body, same key: %d %s", r.Status, r.Body)
		}
		// Concurrent retries of a new key: one lead.
		var wg sync.WaitGroup
		ids := make([]int64, 6)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.do("POST", "/api/v1/intake/orders", []byte(`{"Тема":"гонка","Телефон":"+79001234567"}`), "Idempotency-Key", "race-1")
				var o orderAnswer
				if r.Status == http.StatusCreated {
					_ = jsonUnmarshal(r.Body, &o)
				}
				ids[i] = o.LeadID
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if id == 0 || id != ids[0] {
				t.Fatalf("concurrent ids = %v", ids)
			}
		}
		ls, _, err := e.app.Store.ListLeads(context.Background(), store.ListParams{})
		if err != nil || len(ls) != 2 {
			t.Errorf("leads = %d, %v; want 2", len(ls), err)
		}
	})
}

// TestTaskTitleNotDoubled: a request with neither a title nor a contact
// person is the lead "Заявка с сайта", and its task is titled so once,
// not "Заявка с сайта: Заявка с сайта".
func TestTaskTitleNotDoubled(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		r := e.do("POST", "/api/v1/intake/orders", []byte(`{"Телефон": "+7 925 642-42-91"}`), "Content-Type", "application/json")
		if r.Status != http.StatusCreated {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		var a orderAnswer
		r.json(t, &a)
		act, err := e.app.Store.GetActivity(context.Background(), a.ActivityID)
		if err != nil || a.Lead.Title != "Заявка с сайта" || act.Subject != "Заявка с сайта" {
			t.Fatalf("lead %q, task %q (%v)", a.Lead.Title, act.Subject, err)
		}
	})
}

// TestIntakeAssigneeCheckedBeforeWriting: a manager's key may not put an
// order on another user; the refusal comes before anything is written —
// no lead, no task — and is journaled with the field at fault.
func TestIntakeAssigneeCheckedBeforeWriting(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		admin := crm.Actor{UserID: e.admin.ID}
		m, err := e.app.Store.CreateUser(ctx, admin, crm.User{Login: "olga", Role: crm.RoleManager, Active: true}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		_, mkey, err := e.app.Store.CreateAPIKey(ctx, admin, m.ID, "site")
		if err != nil {
			t.Fatal(err)
		}
		count := func() (leads, acts int) {
			ls, _, _ := e.app.Store.ListLeads(ctx, store.ListParams{})
			as, _, _ := e.app.Store.ListActivities(ctx, store.ListParams{})
			return len(ls), len(as)
		}
		l0, a0 := count()
		r := e.do("POST", fmt.Sprintf("/api/v1/intake/orders?assigned_by_id=%d", e.admin.ID), readFile(t, "seed004.json"), "Authorization", "Bearer "+mkey)
		if r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), `"field":"assigned_by_id"`) {
			t.Fatalf("manager assigning to the admin: %d %s", r.Status, r.Body)
		}
		if l, a := count(); l != l0 || a != a0 {
			t.Errorf("written anyway: leads %d→%d, activities %d→%d", l0, l, a0, a)
		}
		var j journalAnswer
		e.do("GET", "/api/v1/intake/journal?source=http&limit=1", nil).json(t, &j)
		if len(j.Items) != 1 || j.Items[0].Outcome != intake.OutcomeFailed || j.Items[0].RecordID != 0 || !strings.Contains(j.Items[0].Error, "assign") {
			t.Errorf("journal = %+v", j.Items)
		}
		// Their own id is fine.
		r = e.do("POST", fmt.Sprintf("/api/v1/intake/orders?assigned_by_id=%d", m.ID), readFile(t, "seed004.json"), "Authorization", "Bearer "+mkey)
		if r.Status != http.StatusCreated {
			t.Fatalf("manager assigning to themselves: %d %s", r.Status, r.Body)
		}
	})
}
