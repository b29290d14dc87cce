package bitrix_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/bitrix"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/delivery"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/jobs"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// newEventEnv is newEnv with the delivery service and River running, so
// that event.bind's handlers are called.
func newEventEnv(t *testing.T, d *db.DB, scopes ...string) *env {
	t.Helper()
	ctx := context.Background()
	if err := jobs.Migrate(ctx, d); err != nil {
		t.Fatal(err)
	}
	box, err := secret.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	// The SSRF guard, letting loopback (the test receiver) through.
	client := httpx.NewOutboundClient(httpx.OutboundPolicy{
		AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, ConnectTimeout: time.Second, TotalTimeout: 2 * time.Second})
	log := slog.New(slog.DiscardHandler)
	svc := delivery.New(d, box, client, delivery.Portal{Domain: "crm.example.ru", MemberID: "51e2c566"}, log,
		delivery.WithPoll(20*time.Millisecond), delivery.WithBackoff(10*time.Millisecond, 100*time.Millisecond),
		delivery.WithOrderWait(10*time.Millisecond))
	r, err := jobs.New(ctx, d, log, svc.Register, func(c *river.Config) {
		c.FetchCooldown, c.FetchPollInterval = 5*time.Millisecond, 20*time.Millisecond
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	svc.Start(ctx, r)
	t.Cleanup(func() {
		svc.Stop()
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := r.Stop(sctx); err != nil {
			t.Errorf("stop runner: %v", err)
		}
		r.Close()
	})

	if len(scopes) == 0 {
		scopes = []string{"crm"}
	}
	s := store.New(d)
	s.OnCommit(svc.Poke)
	admin := storetest.Admin(t, s)
	h := bitrix.New(d, s, slog.New(slog.NewTextHandler(io.Discard, nil)), bitrix.Options{Location: msk, Delivery: svc})
	hook, code, err := h.Webhooks().CreateWebhook(ctx, admin.UserID, "events", scopes)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/rest/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, d: d, s: s, h: h, srv: srv, admin: admin, hook: hook, client: srv.Client(),
		base: fmt.Sprintf("%s/rest/%d/%s/", srv.URL, admin.UserID, code)}
}

// receiver is a handler URL that keeps the forms posted to it.
type receiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	forms []url.Values
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.forms = append(rc.forms, r.PostForm)
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) got() []url.Values {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]url.Values(nil), rc.forms...)
}

// waitFor waits until the receiver has n forms.
func (rc *receiver) waitFor(t *testing.T, n int) []url.Values {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if f := rc.got(); len(f) >= n {
			return f
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("receiver got %d forms, want %d", len(rc.got()), n)
	return nil
}

func TestEventBindDelivers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEventEnv(t, d)
		rc := newReceiver(t)
		handler := rc.srv.URL + "/bitrix/handler"

		// No scope is asked of the event methods: the webhook has crm only.
		e.fails(e.form("event.bind", q("event", "ONCRMLEADEXPLODE", "handler", handler)), http.StatusBadRequest,
			"ERROR_EVENT_NOT_FOUND", "Event not found")
		e.fails(e.form("event.bind", q("event", "ONCRMLEADADD")), http.StatusBadRequest, "ERROR_CORE", "HANDLER")
		e.fails(e.form("event.bind", q("event", "ONCRMLEADADD", "handler", "ftp://example.ru/x")), http.StatusBadRequest, "", "Field HANDLER")
		e.fails(e.form("event.bind", q("event", "ONCRMLEADADD", "handler", handler, "event_type", "later")), http.StatusBadRequest, "", "event_type")

		if got := e.ok(e.form("event.bind", q("event", "onCrmLeadAdd", "handler", handler))).get(t, "result"); got != true {
			t.Fatalf("event.bind result = %v, want true", got)
		}
		e.ok(e.json("event.bind", map[string]any{"EVENT": "ONCRMLEADUPDATE", "HANDLER": handler, "AUTH_TYPE": e.admin.UserID}))
		e.fails(e.form("event.bind", q("event", "ONCRMLEADADD", "handler", handler)), http.StatusBadRequest,
			"ERROR_CORE", "Handler already binded")

		if res, _ := e.ok(e.get("event.get", "")).Doc.Get("result"); res.(*bitrix.Array).Len() != 2 {
			t.Fatalf("event.get lists %v, want 2 bindings", res)
		}

		add := e.ok(e.json("crm.lead.add", map[string]any{"fields": map[string]any{"TITLE": "Заявка с сайта"}}))
		id := add.str(t, "result")
		f := rc.waitFor(t, 1)[0]
		for k, want := range map[string]string{
			"event": "ONCRMLEADADD", "data[FIELDS][ID]": id, "auth[domain]": "crm.example.ru",
			"auth[member_id]": "51e2c566", "auth[client_endpoint]": "https://crm.example.ru/rest/",
		} {
			if got := f.Get(k); got != want {
				t.Errorf("%s = %q, want %q (form %v)", k, got, want, f)
			}
		}
		token := f.Get("auth[application_token]")
		if len(token) < 16 || f.Get("ts") == "" || f.Get("event_handler_id") == "" {
			t.Errorf("form lacks token, ts or handler id: %v", f)
		}

		e.ok(e.json("crm.lead.update", map[string]any{"id": id, "fields": map[string]any{"TITLE": "Заявка 2"}}))
		f2 := rc.waitFor(t, 2)[1]
		if f2.Get("event") != "ONCRMLEADUPDATE" || f2.Get("data[FIELDS][ID]") != id {
			t.Errorf("second form %v, want ONCRMLEADUPDATE of %s", f2, id)
		}
		if f2.Get("auth[application_token]") != token {
			t.Errorf("bindings of one webhook carry different tokens: %q, %q", token, f2.Get("auth[application_token]"))
		}

		// Unbinding: a wrong auth_type removes nothing; the right one does.
		if n := e.ok(e.form("event.unbind", q("event", "ONCRMLEADADD", "handler", handler, "auth_type", "77"))).str(t, "result", "count"); n != "0" {
			t.Fatalf("event.unbind with another auth_type removed %s", n)
		}
		if n := e.ok(e.form("event.unbind", q("event", "ONCRMLEADADD", "handler", handler))).str(t, "result", "count"); n != "1" {
			t.Fatalf("event.unbind removed %s, want 1", n)
		}
		e.fails(e.form("event.unbind", q("handler", handler)), http.StatusBadRequest, "ERROR_CORE", "EVENT")
		list := e.ok(e.get("event.get", ""))
		if res, _ := list.Doc.Get("result"); res.(*bitrix.Array).Len() != 1 {
			t.Fatalf("event.get after unbind: %s", list.Body)
		}
		e.ok(e.json("crm.lead.add", map[string]any{"fields": map[string]any{"TITLE": "После отписки"}}))
		// The update binding still works, the add one is gone: an update
		// after the add is delivered, and nothing comes for the add.
		e.ok(e.json("crm.lead.update", map[string]any{"id": id, "fields": map[string]any{"TITLE": "Заявка 3"}}))
		f3 := rc.waitFor(t, 3)
		time.Sleep(300 * time.Millisecond)
		if got := rc.got(); len(got) != 3 || f3[2].Get("event") != "ONCRMLEADUPDATE" {
			t.Fatalf("after unbind the receiver got %v", got)
		}

		// Invoices raise ONCRMINVOICEADD.
		e.ok(e.form("event.bind", q("event", "ONCRMINVOICEADD", "handler", handler)))
		inv := e.ok(e.json("crm.invoice.add", map[string]any{"fields": map[string]any{"ORDER_TOPIC": "Счёт"}})).str(t, "result")
		if f4 := rc.waitFor(t, 4)[3]; f4.Get("event") != "ONCRMINVOICEADD" || f4.Get("data[FIELDS][ID]") != inv {
			t.Fatalf("invoice form %v, want ONCRMINVOICEADD of %s", f4, inv)
		}

		// A disabled incoming webhook's handlers receive nothing; enabled
		// again, they receive the changes made from then on.
		hooks := e.h.Webhooks()
		if err := hooks.SetWebhookActive(context.Background(), e.hook.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.CreateInvoice(context.Background(), e.admin, crm.Invoice{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if got := rc.got(); len(got) != 4 {
			t.Fatalf("a disabled webhook's handler got %d forms, want still 4: %v", len(got), got)
		}
		if err := hooks.SetWebhookActive(context.Background(), e.hook.ID, true); err != nil {
			t.Fatal(err)
		}
		inv2 := e.ok(e.json("crm.invoice.add", map[string]any{"fields": map[string]any{"ORDER_TOPIC": "Снова включён"}})).str(t, "result")
		if f5 := rc.waitFor(t, 5)[4]; f5.Get("data[FIELDS][ID]") != inv2 {
			t.Fatalf("after enabling the webhook again the handler got %v, want invoice %s", f5, inv2)
		}

		// A status change of an invoice raises ONCRMINVOICESETSTATUS; a
		// change of anything else does not.
		e.ok(e.form("event.bind", q("event", "ONCRMINVOICESETSTATUS", "handler", handler)))
		e.ok(e.json("crm.invoice.update", map[string]any{"id": inv2, "fields": map[string]any{"COMMENTS": "без смены статуса"}}))
		e.ok(e.json("crm.invoice.update", map[string]any{"id": inv2, "fields": map[string]any{"STATUS_ID": "P"}}))
		if f6 := rc.waitFor(t, 6)[5]; f6.Get("event") != "ONCRMINVOICESETSTATUS" || f6.Get("data[FIELDS][ID]") != inv2 {
			t.Fatalf("status change form %v, want ONCRMINVOICESETSTATUS of %s", f6, inv2)
		}
		time.Sleep(300 * time.Millisecond)
		if got := rc.got(); len(got) != 6 {
			t.Fatalf("the handler got %d forms, want 6: %v", len(got), got)
		}
	})
}

// The bindings of one webhook are not another's.
func TestEventGetIsPerWebhook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEventEnv(t, d)
		e.ok(e.form("event.bind", q("event", "ONCRMDEALADD", "handler", "https://example.ru/a")))
		e.ok(e.form("event.bind", q("event", "ONCRMCONTACTDELETE", "handler", "https://example.ru/b", "auth_type", fmt.Sprint(e.admin.UserID))))
		golden(t, "event.get", e.ok(e.get("event.get", "")))
		_, code, err := e.h.Webhooks().CreateWebhook(context.Background(), e.admin.UserID, "other", []string{"user"})
		if err != nil {
			t.Fatal(err)
		}
		other := *e
		other.base = fmt.Sprintf("%s/rest/%d/%s/", e.srv.URL, e.admin.UserID, code)
		golden(t, "event.get.empty", other.ok(other.get("event.get", "")))
		if n := other.ok(other.form("event.unbind", q("event", "ONCRMDEALADD", "handler", "https://example.ru/a"))).str(t, "result", "count"); n != "0" {
			t.Fatalf("another webhook unbound %s", n)
		}
		other.ok(other.form("event.bind", q("event", "ONCRMINVOICEADD", "handler", "https://example.ru/c")))

		// Deleting a webhook takes its bindings, and only its, with it.
		if err := e.h.Webhooks().DeleteWebhook(context.Background(), e.hook.ID); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.Read.QueryRow("SELECT COUNT(*) FROM outbound_webhooks").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("%d outbound webhooks left after deleting the webhook, want the other's 1", n)
		}
	})
}

// A handler on an address the outbound policy refuses (the cloud metadata
// service) is bound, as Bitrix24 binds any URL, but never called: the
// delivery's journal says why.
func TestEventBindSSRFGuard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEventEnv(t, d)
		e.ok(e.form("event.bind", q("event", "ONCRMLEADADD", "handler", "http://169.254.169.254/latest/meta-data/")))
		e.ok(e.json("crm.lead.add", map[string]any{"fields": map[string]any{"TITLE": "SSRF"}}))
		deadline := time.Now().Add(15 * time.Second)
		for {
			var msg string
			err := d.Read.QueryRow("SELECT last_error FROM deliveries WHERE last_error <> ''").Scan(&msg)
			if err == nil {
				if !strings.Contains(msg, "refused") {
					t.Fatalf("delivery error %q, want the SSRF guard's refusal", msg)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no refused delivery journaled: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// TestSeedEventsDelivered binds, as seed 002's outgoing webhook is set
// up, the update and delete events of deals, contacts, companies and
// leads and the product delete to one handler, changes each kind of
// record through another application, and checks each form as
// b24restdocs documents it (api-reference/crm/deals/events/on-crm-deal-update.md,
// _includes/auth-params-in-events.md): event, data[FIELDS][ID], ts and
// the required auth[] fields with one application_token.
func TestSeedEventsDelivered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEventEnv(t, d).with(t)
		rc := newReceiver(t)
		events := []string{"ONCRMDEALUPDATE", "ONCRMCONTACTUPDATE", "ONCRMCOMPANYUPDATE", "ONCRMLEADUPDATE",
			"ONCRMDEALDELETE", "ONCRMCONTACTDELETE", "ONCRMCOMPANYDELETE", "ONCRMLEADDELETE", "ONCRMPRODUCTDELETE"}
		for _, ev := range events {
			e.ok(e.json("event.bind", map[string]any{"event": ev, "handler": rc.srv.URL + "/api/bitrix/events"}))
		}
		// The manager's changes come through another webhook: the bound
		// one's own changes are not echoed back to it.
		_, code, err := e.h.Webhooks().CreateWebhook(context.Background(), e.admin.UserID, "manager", []string{"crm"})
		if err != nil {
			t.Fatal(err)
		}
		m := e.with(t)
		m.base = fmt.Sprintf("%s/rest/%d/%s/", e.srv.URL, e.admin.UserID, code)
		add := func(method string, fields map[string]any) string {
			return m.ok(m.json(method, map[string]any{"fields": fields})).str(t, "result")
		}
		ids := map[string]string{
			"DEAL":    add("crm.deal.add", map[string]any{"TITLE": "Заказ"}),
			"CONTACT": add("crm.contact.add", map[string]any{"NAME": "Анна"}),
			"COMPANY": add("crm.company.add", map[string]any{"TITLE": "ООО Альфа"}),
			"LEAD":    add("crm.lead.add", map[string]any{"TITLE": "Лид"}),
			"PRODUCT": add("crm.product.add", map[string]any{"NAME": "Фотокнига", "PRICE": 100}),
		}
		for _, kind := range []string{"DEAL", "CONTACT", "COMPANY", "LEAD"} {
			lower := strings.ToLower(kind)
			m.ok(m.json("crm."+lower+".update", map[string]any{"id": ids[kind], "fields": map[string]any{"COMMENTS": "изменено"}}))
		}
		for _, kind := range []string{"DEAL", "CONTACT", "COMPANY", "LEAD", "PRODUCT"} {
			m.ok(m.json("crm."+strings.ToLower(kind)+".delete", map[string]any{"id": ids[kind]}))
		}
		forms := rc.waitFor(t, len(events))
		seen := map[string]bool{}
		token := forms[0].Get("auth[application_token]")
		for _, f := range forms {
			ev := f.Get("event")
			if seen[ev] {
				t.Errorf("%s delivered twice", ev)
			}
			seen[ev] = true
			kind := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(ev, "ONCRM"), "UPDATE"), "DELETE")
			if got := f.Get("data[FIELDS][ID]"); got != ids[kind] {
				t.Errorf("%s: data[FIELDS][ID] = %q, want %s", ev, got, ids[kind])
			}
			for k, want := range map[string]string{"auth[domain]": "crm.example.ru", "auth[member_id]": "51e2c566",
				"auth[scope]": "crm", "auth[status]": "L", "auth[client_endpoint]": "https://crm.example.ru/rest/",
				"auth[server_endpoint]": "https://crm.example.ru/rest/", "auth[application_token]": token} {
				if got := f.Get(k); got != want {
					t.Errorf("%s: %s = %q, want %q", ev, k, got, want)
				}
			}
			if token == "" || f.Get("ts") == "" || f.Get("event_handler_id") == "" {
				t.Errorf("%s: no application_token, ts or event_handler_id: %v", ev, f)
			}
		}
		for _, ev := range events {
			if !seen[ev] {
				t.Errorf("no %s delivered", ev)
			}
		}
	})
}
