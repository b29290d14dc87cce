package calltouch_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connector/calltouch"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestDealActions(t *testing.T) {
	f := newFake(t)
	f.Limit = 0
	now := time.Date(2026, 12, 15, 12, 0, 0, 0, f.Loc)
	deps := calltouch.Deps{HTTP: &http.Client{Timeout: 5 * time.Second}, Now: func() time.Time { return now }, Rate: 1000, Backoff: time.Millisecond}
	conns, id := saved(t, storetest.OpenAny(t), f, deps)
	deps.Conns = conns
	create, update := calltouch.CreateAction(deps), calltouch.UpdateAction(deps)
	ctx := t.Context()
	call := &automation.Call{Connection: id, Fresh: true}

	for _, tc := range []struct {
		name  string
		in    map[string]any
		field string
	}{
		{"no lead", map[string]any{"revenue": 0}, "callId"},
		{"two leads", map[string]any{"callId": 1, "requestId": 2}, "callId"},
		{"text id", map[string]any{"callId": "abc"}, "callId"},
		{"negative", map[string]any{"callId": 1, "revenue": -5}, "revenue"},
		{"bad date", map[string]any{"callId": 1, "createDate": "позавчера"}, "createDate"},
		{"unknown", map[string]any{"callId": 1, "budget": 5}, "budget"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := create.Run(ctx, call, tc.in)
			var ie *automation.InputError
			if !errors.As(err, &ie) || ie.Field != tc.field {
				t.Fatalf("err %v, want a problem with %s", err, tc.field)
			}
		})
	}
	if _, err := create.Run(ctx, &automation.Call{}, map[string]any{"callId": 1}); err == nil || !strings.Contains(err.Error(), "connection") {
		t.Fatalf("no connection: %v", err)
	}
	// A test run sends nothing and shows what it would.
	prev, err := create.Run(ctx, &automation.Call{Connection: id, DryRun: true}, map[string]any{"requestId": "77", "revenue": "1 200,50"})
	p, ok := prev.(automation.Preview)
	if err != nil || !ok || !strings.HasSuffix(p.Would, "/lead-service/v1/api/client-order/create") || len(f.Hits("client-order")) != 0 {
		t.Fatalf("dry run %+v %v", prev, err)
	}
	// By a request; the date of now in the account's zone.
	out, err := create.Run(ctx, call, map[string]any{"requestId": "77", "revenue": "1 200,50", "status": "Новая"})
	if err != nil {
		t.Fatal(err)
	}
	o := out.(map[string]any)
	d := f.Deal("obmen-request-77")
	if o["orderNumber"] != "obmen-request-77" || o["orderId"] == "" || d["revenue"] != "1200.50" || d["status"] != "Новая" ||
		d["createDate"] != "2026-12-15 12:00:00" || d["matching"].([]any)[0].(map[string]any)["type"] != "request" {
		t.Fatalf("out %v deal %v", o, d)
	}
	// The remote's refusal is final; its rate limit is worth a retry.
	_, err = create.Run(ctx, call, map[string]any{"requestId": 77})
	if ok, _ := automation.IsTransient(err); ok || err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate: %v", err)
	}
	// A retry of a step whose first attempt created the deal (and lost
	// the answer) finds it: no second deal, no failure.
	out, err = create.Run(ctx, &automation.Call{Connection: id}, map[string]any{"requestId": 77, "revenue": 10})
	if err != nil || out.(map[string]any)["repeated"] != true || f.Deal("obmen-request-77")["revenue"] != "10.00" {
		t.Fatalf("retry: %v %v", out, err)
	}
	// A refusal that is not about an existing deal still stands.
	f.Mu.Lock()
	f.Fail = []int{http.StatusBadRequest}
	f.Mu.Unlock()
	if _, err := create.Run(ctx, &automation.Call{Connection: id}, map[string]any{"requestId": 78}); err == nil || f.Deal("obmen-request-78") != nil {
		t.Fatalf("retry without a deal: %v", err)
	}
	f.Mu.Lock()
	f.Fail = []int{429, 429, 429, 429, 429}
	f.Mu.Unlock()
	_, err = update.Run(ctx, call, map[string]any{"orderNumber": "obmen-request-77", "status": "COMPLETED"})
	if ok, _ := automation.IsTransient(err); !ok {
		t.Fatalf("rate limited: %v", err)
	}
	out, err = update.Run(ctx, call, map[string]any{"orderNumber": "obmen-request-77", "status": "COMPLETED", "revenue": 990,
		"statusDate": "16/12/2026 10:00:00", "comment": "Оплачен", "tags": []any{"повторный", " "}})
	if err != nil || out.(map[string]any)["status"] != "COMPLETED" || out.(map[string]any)["revenue"] != int64(990) {
		t.Fatal(out, err)
	}
	d = f.Deal("obmen-request-77")
	if d["status"] != "COMPLETED" || d["revenue"] != "990.00" || d["statusDate"] != "2026-12-16 10:00:00" ||
		d["updateDate"] != "2026-12-15 12:00:00" || len(d["tags"].([]any)) != 1 || d["comments"].([]any)[0] != "Оплачен" {
		t.Fatalf("deal %v", d)
	}
	if _, err := update.Run(ctx, call, map[string]any{"status": "x"}); err == nil || !strings.Contains(err.Error(), "orderNumber") {
		t.Fatalf("no number: %v", err)
	}
}
