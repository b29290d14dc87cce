package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestWebhookValidation(t *testing.T) {
	t.Parallel()
	ok := Webhook{Kind: KindBitrix, URL: "https://shop.example/b24.php", Events: []string{"ONCRMLEADADD"}, Token: "t"}
	for _, tt := range []struct {
		name  string
		edit  func(*Webhook)
		field string
	}{
		{"valid", func(*Webhook) {}, ""},
		{"lower-case code", func(w *Webhook) { w.Events = []string{"oncrmdealupdate"} }, ""},
		{"kind", func(w *Webhook) { w.Kind = "zapier" }, "kind"},
		{"ftp", func(w *Webhook) { w.URL = "ftp://x/" }, "url"},
		{"relative", func(w *Webhook) { w.URL = "/hook" }, "url"},
		{"no events", func(w *Webhook) { w.Events = nil }, "events"},
		{"unknown code", func(w *Webhook) { w.Events = []string{"ONCRMLEADADD", "ONCRMTICKETADD"} }, "events[1]"},
		{"no token", func(w *Webhook) { w.Token = "" }, "token"},
		{"native pattern", func(w *Webhook) { w.Kind, w.Events, w.Token = KindNative, []string{"deal.*", "*.*", "lead.create"}, "" }, ""},
		{"native code", func(w *Webhook) { w.Kind = KindNative }, "events[0]"},
	} {
		w := ok
		w.Events = append([]string(nil), ok.Events...)
		tt.edit(&w)
		err := w.validate()
		var fe *crm.FieldError
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field):
			t.Errorf("%s: %v, want an error on %s", tt.name, err, tt.field)
		}
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	lead := &events.Event{ID: 10, Entity: "lead", Action: events.Create}
	fromX := &events.Event{ID: 11, Entity: "lead", Action: events.Update, Integration: "x"}
	deal := &events.Event{ID: 12, Entity: "deal", Action: events.Delete}
	for _, tt := range []struct {
		name string
		w    Webhook
		ev   *events.Event
		want bool
	}{
		{"bitrix code", Webhook{Kind: KindBitrix, Active: true, Events: []string{"ONCRMLEADADD"}}, lead, true},
		{"bitrix other code", Webhook{Kind: KindBitrix, Active: true, Events: []string{"ONCRMLEADUPDATE"}}, lead, false},
		{"inactive", Webhook{Kind: KindBitrix, Events: []string{"ONCRMLEADADD"}}, lead, false},
		{"native exact", Webhook{Kind: KindNative, Active: true, Events: []string{"lead.create"}}, lead, true},
		{"native entity star", Webhook{Kind: KindNative, Active: true, Events: []string{"deal.*"}}, deal, true},
		{"native all", Webhook{Kind: KindNative, Active: true, Events: []string{"*.*"}}, deal, true},
		{"native action star", Webhook{Kind: KindNative, Active: true, Events: []string{"*.create"}}, deal, false},
		{"echo", Webhook{Kind: KindNative, Active: true, Events: []string{"*.*"}, Integration: "x"}, fromX, false},
		{"echo asked for", Webhook{Kind: KindNative, Active: true, Events: []string{"*.*"}, Integration: "x", IncludeEcho: true}, fromX, true},
		{"other integration", Webhook{Kind: KindNative, Active: true, Events: []string{"*.*"}, Integration: "y"}, fromX, true},
		{"logged before the webhook was made or enabled", Webhook{Kind: KindNative, Active: true, Events: []string{"*.*"}, SinceEvent: 10}, lead, false},
		{"logged after", Webhook{Kind: KindNative, Active: true, Events: []string{"*.*"}, SinceEvent: 9}, lead, true},
	} {
		if got := Matches(&tt.w, tt.ev); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestWebhookStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := New(d, testBox(t), httpx.NewOutboundClient(loopback), testPortal, nil)
		w, err := s.Create(ctx, Webhook{Kind: KindBitrix, Name: "shop", URL: "https://shop.example/h", Events: []string{"ONCRMDEALADD"}, Token: "tok"})
		if err != nil {
			t.Fatal(err)
		}
		var sealed string
		if err := d.Read.QueryRow("SELECT token FROM outbound_webhooks WHERE id = $1", w.ID).Scan(&sealed); err != nil || strings.Contains(sealed, "tok") || sealed == "" {
			t.Fatalf("token at rest %q, %v", sealed, err)
		}
		got, err := s.Get(ctx, w.ID)
		if err != nil || got.Token != "tok" || !got.Active || got.Name != "shop" {
			t.Fatalf("get %+v, %v", got, err)
		}
		b, _ := json.Marshal(got)
		if strings.Contains(string(b), "tok\"") {
			t.Fatalf("token in JSON: %s", b)
		}
		got, err = s.Update(ctx, w.ID, func(w *Webhook) error { w.Active, w.DisabledReason = false, "by hand"; return nil })
		if err != nil || got.Active {
			t.Fatalf("update %+v, %v", got, err)
		}
		got, err = s.Update(ctx, w.ID, func(w *Webhook) error { w.Active = true; return nil })
		if err != nil || !got.Active || got.DisabledReason != "" || got.Token != "tok" {
			t.Fatalf("re-activate %+v, %v", got, err)
		}
		if _, err := s.Update(ctx, w.ID, func(w *Webhook) error { w.URL = "x"; return nil }); err == nil {
			t.Fatal("bad url accepted")
		}
		if list, err := s.List(ctx); err != nil || len(list) != 1 {
			t.Fatalf("list %v, %v", list, err)
		}
		if err := s.Delete(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, w.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		if err := s.Delete(ctx, w.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
	})
}

// testHandle is a minimal stand-in for internal/api's registration.
func testHandle(mux *http.ServeMux, pattern, _ string, _, _ any, h func(w http.ResponseWriter, r *http.Request) error) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			var fe *crm.FieldError
			var he *httpx.Error
			switch {
			case errors.As(err, &he):
				httpx.WriteError(w, he)
			case errors.As(err, &fe):
				httpx.WriteError(w, &httpx.Error{Status: 422, Code: "validation_failed", Field: fe.Field, Message: fe.Message})
			case errors.Is(err, store.ErrNotFound):
				httpx.WriteError(w, httpx.Errorf(404, "not_found", "", "%v", err))
			default:
				httpx.WriteError(w, httpx.Errorf(500, "internal", "", "%v", err))
			}
		}
	})
}

func TestAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newStartedEnv(t, d, loopback)
		mux := http.NewServeMux()
		RegisterAPI(mux, testHandle, e.service())
		srv := httptest.NewServer(mux)
		defer srv.Close()
		call := func(method, path, body string) (int, string) {
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		for _, tt := range []struct {
			method, path, body string
			status             int
			contains           string
		}{
			{"POST", "/api/v1/outbound-webhooks", `{"kind":"bitrix","url":"http://127.0.0.1:1/h","events":["ONCRMLEADADD"]}`, 422, `"field":"token"`},
			{"POST", "/api/v1/outbound-webhooks", `{"kind":"bitrix","url":"http://127.0.0.1:1/h","events":["ONCRMLEADADD"],"token":"secret-token"}`, 201, `"has_token":true`},
			{"GET", "/api/v1/outbound-webhooks", "", 200, `"events":["ONCRMLEADADD"]`},
			{"PATCH", "/api/v1/outbound-webhooks/1", `{"name":"shop"}`, 200, `"name":"shop"`},
			{"PATCH", "/api/v1/outbound-webhooks/1", `{"url":"gopher://x"}`, 422, `"field":"url"`},
			{"GET", "/api/v1/outbound-webhooks/1/deliveries", "", 200, `"items":[]`},
			{"GET", "/api/v1/outbound-webhooks/1/deliveries?status=lost", "", 400, `"field":"status"`},
			{"POST", "/api/v1/deliveries/99/retry", "", 404, `not found`},
			{"GET", "/api/v1/outbound-webhooks/9", "", 404, `not found`},
			{"DELETE", "/api/v1/outbound-webhooks/1", "", 204, ``},
		} {
			status, body := call(tt.method, tt.path, tt.body)
			if status != tt.status || !strings.Contains(body, tt.contains) || strings.Contains(body, "secret-token") {
				t.Errorf("%s %s: %d %s", tt.method, tt.path, status, body)
			}
		}
	})
}
