package bitrix_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// manager makes a manager with a webhook and returns the user and an env
// calling as that webhook.
func (e *env) manager(t *testing.T, login string) (crm.User, *env) {
	t.Helper()
	ctx := context.Background()
	u, err := e.s.CreateUser(ctx, e.admin, crm.User{Login: login, Role: crm.RoleManager, Active: true}, login+"-password-1")
	if err != nil {
		t.Fatal(err)
	}
	hook, code, err := e.h.Webhooks().CreateWebhook(ctx, u.ID, login, []string{"crm"})
	if err != nil {
		t.Fatal(err)
	}
	m := e.with(t)
	m.hook = hook
	m.base = fmt.Sprintf("%s/rest/%d/%s/", e.srv.URL, u.ID, code)
	return u, m
}

// waitDispatched waits until the delivery dispatcher has read every
// change logged so far (its cursor is at the end of the log), so that a
// change it did not turn into a delivery is known to be left out.
func waitDispatched(t *testing.T, d *db.DB) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var cursor, last int64
		if err := d.Read.QueryRow(`SELECT COALESCE((SELECT last_id FROM outbox_cursors WHERE name = 'delivery'), 0),
			COALESCE((SELECT MAX(id) FROM events), 0)`).Scan(&cursor, &last); err != nil {
			t.Fatal(err)
		}
		if cursor >= last {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the dispatcher did not reach the end of the change log")
}

// ids are the record ids of the forms of event.
func ids(forms []url.Values, event string) []string {
	var out []string
	for _, f := range forms {
		if f.Get("event") == event {
			out = append(out, f.Get("data[FIELDS][ID]"))
		}
	}
	return out
}

// TestEventBindRecordAccess: a manager's handler is told only of changes
// to records the manager may see, judged by the record's responsible user
// at the change (a reassignment is told to both sides, a deletion to whom
// saw the record); a grant widens it like any read.
func TestEventBindRecordAccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEventEnv(t, d)
		ctx := context.Background()
		anna, m := e.manager(t, "anna")
		rc := newReceiver(t)
		for _, ev := range []string{"ONCRMLEADADD", "ONCRMLEADUPDATE", "ONCRMLEADDELETE", "ONCRMCONTACTADD"} {
			m.ok(m.form("event.bind", q("event", ev, "handler", rc.srv.URL+"/h")))
		}
		lead := func(title string, owner int64) int64 {
			l, err := e.s.CreateLead(ctx, e.admin, crm.Lead{Title: title, Meta: crm.Meta{AssignedByID: owner}})
			if err != nil {
				t.Fatal(err)
			}
			return l.ID
		}
		theirs := lead("Чужой", e.admin.UserID)
		mine := lead("Анны", anna.ID)
		given := lead("Передан Анне", e.admin.UserID)
		taken := lead("Забран у Анны", anna.ID)
		if _, err := e.s.CreateContact(ctx, e.admin, crm.Contact{Name: "Чужой контакт"}); err != nil {
			t.Fatal(err)
		}
		upd := func(id, owner int64) {
			if _, err := e.s.UpdateLead(ctx, e.admin, id, func(l *crm.Lead) error { l.AssignedByID = owner; l.Title += "!"; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		upd(theirs, e.admin.UserID) // not hers before or after
		upd(given, anna.ID)         // hers after
		upd(taken, e.admin.UserID)  // hers before
		upd(taken, e.admin.UserID)  // no longer hers
		for _, id := range []int64{mine, theirs} {
			if err := e.s.Delete(ctx, e.admin, store.EntityLead, id); err != nil {
				t.Fatal(err)
			}
		}
		waitDispatched(t, d)
		str := func(xs ...int64) []string {
			var out []string
			for _, x := range xs {
				out = append(out, strconv.FormatInt(x, 10))
			}
			return out
		}
		forms := rc.waitFor(t, 5)
		check := func(event string, want []string) {
			t.Helper()
			got := ids(forms, event)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s delivered for %v, want %v", event, got, want)
			}
		}
		check("ONCRMLEADADD", str(mine, taken))
		check("ONCRMLEADUPDATE", str(given, taken))
		check("ONCRMLEADDELETE", str(mine))
		check("ONCRMCONTACTADD", nil)

		// Granted the admin's records, Anna is told of them too.
		if err := e.s.SetGrants(ctx, e.admin, anna.ID, []store.Grant{{OwnerID: e.admin.UserID}}); err != nil {
			t.Fatal(err)
		}
		granted := lead("Видимый по доступу", e.admin.UserID)
		waitDispatched(t, d)
		forms = rc.waitFor(t, 6)
		check("ONCRMLEADADD", str(mine, taken, granted))
		if got := len(forms); got != 6 {
			t.Errorf("anna's handler got %d forms, want 6", got)
		}
	})
}

// TestEventBindOwnerDisabled: disabling a user stops their webhook's
// handlers at once — nothing is sent for changes made while they are
// disabled, nor retried from before — and enabling them again restores
// the handlers for later changes.
func TestEventBindOwnerDisabled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEventEnv(t, d)
		ctx := context.Background()
		anna, m := e.manager(t, "anna")
		var failing atomic.Bool
		var got atomic.Int64
		var lastID atomic.Value
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			_ = r.ParseForm()
			lastID.Store(r.PostForm.Get("data[FIELDS][ID]"))
			got.Add(1)
		}))
		t.Cleanup(srv.Close)
		m.ok(m.form("event.bind", q("event", "ONCRMLEADADD", "handler", srv.URL+"/h")))
		setActive := func(active bool) {
			u, err := e.s.GetUser(ctx, anna.ID)
			if err != nil {
				t.Fatal(err)
			}
			u.Active = active
			if _, err := e.s.UpdateUser(ctx, e.admin, u); err != nil {
				t.Fatal(err)
			}
		}
		// Anna sees the admin's records too, so that only her being
		// disabled keeps a change of them from her.
		if err := e.s.SetGrants(ctx, e.admin, anna.ID, []store.Grant{{OwnerID: e.admin.UserID}}); err != nil {
			t.Fatal(err)
		}
		lead := func(title string) int64 {
			l, err := e.s.CreateLead(ctx, e.admin, crm.Lead{Title: title})
			if err != nil {
				t.Fatal(err)
			}
			return l.ID
		}
		// A delivery being retried when its owner is disabled is not sent:
		// the next attempt fails it for good, not the receiver. (The
		// receiver keeps refusing meanwhile: an attempt that had judged the
		// owner before the disabling may still be on its way.)
		failing.Store(true)
		retried := lead("Повторяется")
		waitStatus(t, d, retried, "pending", true)
		setActive(false)
		waitStatus(t, d, retried, "failed", false)
		var why string
		if err := d.Read.QueryRow("SELECT last_error FROM deliveries WHERE entity = 'lead' AND record_id = $1", retried).Scan(&why); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("not sent: user %d, whose handler this is, is disabled", anna.ID); !strings.HasPrefix(why, want) {
			t.Fatalf("the retried delivery failed with %q, want %q…", why, want)
		}
		failing.Store(false)
		// A change made while the owner is disabled is not sent.
		lead("Пока отключена")
		waitDispatched(t, d)
		setActive(true)
		back := lead("Снова включена")
		deadline := time.Now().Add(15 * time.Second)
		for got.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n, id := got.Load(), lastID.Load(); n != 1 || id != strconv.FormatInt(back, 10) {
			t.Fatalf("handler got %d forms (last of %v), want 1 of lead %d", n, id, back)
		}
	})
}

// waitStatus waits until the delivery of the lead's create event has
// status (attempted: after at least one attempt).
func waitStatus(t *testing.T, d *db.DB, leadID int64, status string, attempted bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var st string
		var n int
		err := d.Read.QueryRow(`SELECT d.status, (SELECT COUNT(*) FROM delivery_attempts a WHERE a.delivery_id = d.id)
			FROM deliveries d WHERE d.entity = 'lead' AND d.record_id = $1`, leadID).Scan(&st, &n)
		if err == nil && st == status && (!attempted || n > 0) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the delivery of lead %d never reached %s", leadID, status)
}

// TestEventBindCap: a webhook binds at most bitrix.MaxBindings handlers
// (online and offline each); one more is refused in Bitrix24's error
// shape, and unbinding makes room again.
func TestEventBindCap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEventEnv(t, d).with(t)
		const limit = 50
		for i := range limit {
			e.ok(e.form("event.bind", q("event", "ONCRMLEADADD", "handler", fmt.Sprintf("https://hooks.example.ru/h%d", i))))
		}
		e.fails(e.form("event.bind", q("event", "ONCRMLEADADD", "handler", "https://hooks.example.ru/one-more")),
			http.StatusBadRequest, "ERROR_CORE", "Handlers limit exceeded")
		e.ok(e.form("event.unbind", q("event", "ONCRMLEADADD", "handler", "https://hooks.example.ru/h0")))
		e.ok(e.form("event.bind", q("event", "ONCRMLEADADD", "handler", "https://hooks.example.ru/one-more")))
		for i := range limit {
			e.ok(e.json("event.bind", map[string]any{"event": "ONCRMLEADADD", "event_type": "offline", "auth_connector": fmt.Sprintf("c%d", i)}))
		}
		e.fails(e.json("event.bind", map[string]any{"event": "ONCRMLEADADD", "event_type": "offline", "auth_connector": "one-more"}),
			http.StatusBadRequest, "ERROR_CORE", "Handlers limit exceeded")
	})
}

// TestOfflineEventsAdminOnly: offline events are an administrator's, as
// in Bitrix24 — a manager can neither bind nor read them, and an
// administrator made a manager loses the queue at once — so the queue
// never carries a change its reader may not see.
func TestOfflineEventsAdminOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEventEnv(t, d)
		ctx := context.Background()
		_, m := e.manager(t, "anna")
		m.fails(m.json("event.bind", map[string]any{"event": "ONCRMLEADADD", "event_type": "offline"}), http.StatusForbidden, "ACCESS_DENIED", "")
		olga, o := e.manager(t, "olga")
		olga.Role = crm.RoleAdmin
		if _, err := e.s.UpdateUser(ctx, e.admin, olga); err != nil {
			t.Fatal(err)
		}
		o.ok(o.json("event.bind", map[string]any{"event": "ONCRMLEADADD", "event_type": "offline"}))
		if _, err := e.s.CreateLead(ctx, e.admin, crm.Lead{Title: "Чужой"}); err != nil {
			t.Fatal(err)
		}
		if n := o.ok(o.json("event.offline.list", map[string]any{})).str(t, "total"); n != "1" {
			t.Fatalf("olga's queue as an administrator: %s", n)
		}
		olga.Role = crm.RoleManager
		if _, err := e.s.UpdateUser(ctx, e.admin, olga); err != nil {
			t.Fatal(err)
		}
		o.fails(o.json("event.offline.get", map[string]any{}), http.StatusForbidden, "ACCESS_DENIED", "")
	})
}

// TestContactCompanyLinksScoped: through a manager's webhook, a contact
// cannot be linked to a company the manager may not see, nor a company to
// such a contact — on every path — and the refusal reads as for a company
// that does not exist. A lead's CONTACT_ID and COMPANY_ID are read-only.
func TestContactCompanyLinksScoped(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		_, m := e.manager(t, "anna")
		theirs, err := e.s.CreateAccount(ctx, e.admin, crm.Account{Title: "Чужая компания"})
		if err != nil {
			t.Fatal(err)
		}
		theirCon, err := e.s.CreateContact(ctx, e.admin, crm.Contact{Name: "Чужой контакт"})
		if err != nil {
			t.Fatal(err)
		}
		const missing = 987654
		sameAsMissing := func(what string, call func(id int64) answer, id int64) {
			t.Helper()
			a, b := call(id), call(missing)
			norm := func(x answer, id int64) string {
				return strings.ReplaceAll(string(x.Body), strconv.FormatInt(id, 10), "N")
			}
			if a.Status == http.StatusOK || a.Status != b.Status {
				t.Errorf("%s: status %d (%s), missing record: %d", what, a.Status, a.Body, b.Status)
				return
			}
			if na, nb := norm(a, id), norm(b, missing); na != nb {
				t.Errorf("%s: %s, want the answer of a missing record %s", what, na, nb)
			}
		}
		sameAsMissing("crm.contact.add COMPANY_ID", func(id int64) answer {
			return m.json("crm.contact.add", map[string]any{"fields": map[string]any{"NAME": "Анна", "COMPANY_ID": id}})
		}, theirs.ID)
		sameAsMissing("crm.contact.add COMPANY_IDS", func(id int64) answer {
			return m.json("crm.contact.add", map[string]any{"fields": map[string]any{"NAME": "Анна", "COMPANY_IDS": []int64{id}}})
		}, theirs.ID)
		mine := m.ok(m.json("crm.contact.add", map[string]any{"fields": map[string]any{"NAME": "Своя"}})).str(t, "result")
		sameAsMissing("crm.contact.update COMPANY_ID", func(id int64) answer {
			return m.json("crm.contact.update", map[string]any{"id": mine, "fields": map[string]any{"COMPANY_ID": id}})
		}, theirs.ID)
		sameAsMissing("crm.contact.company.add", func(id int64) answer {
			return m.json("crm.contact.company.add", map[string]any{"id": mine, "fields": map[string]any{"COMPANY_ID": id}})
		}, theirs.ID)
		sameAsMissing("crm.contact.company.items.set", func(id int64) answer {
			return m.json("crm.contact.company.items.set", map[string]any{"id": mine, "items": []any{map[string]any{"COMPANY_ID": id}}})
		}, theirs.ID)
		myCo := m.ok(m.json("crm.company.add", map[string]any{"fields": map[string]any{"TITLE": "Своя"}})).str(t, "result")
		sameAsMissing("crm.company.contact.add", func(id int64) answer {
			return m.json("crm.company.contact.add", map[string]any{"id": myCo, "fields": map[string]any{"CONTACT_ID": id}})
		}, theirCon.ID)
		// A lead's links are read-only: given, they are not stored.
		l := m.ok(m.json("crm.lead.add", map[string]any{"fields": map[string]any{"TITLE": "Лид", "CONTACT_ID": theirCon.ID, "COMPANY_ID": theirs.ID}})).str(t, "result")
		got := m.ok(m.json("crm.lead.get", map[string]any{"id": l}))
		if c, co := got.str(t, "result", "CONTACT_ID"), got.str(t, "result", "COMPANY_ID"); (c != "" && c != "0") || (co != "" && co != "0") {
			t.Errorf("lead stored links CONTACT_ID %q COMPANY_ID %q", c, co)
		}
	})
}
