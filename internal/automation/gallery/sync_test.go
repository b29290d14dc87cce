package gallery_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/automation/gallery"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The Bitrix24 sync ships as the gallery's two templates marked "sync".
func TestBitrix24SyncTemplates(t *testing.T) {
	ts, err := gallery.SyncTemplates("bitrix24")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tp := range ts {
		names = append(names, tp.Name)
	}
	if strings.Join(names, ",") != "bitrix24-order-deal,bitrix24-portal-changes" {
		t.Fatalf("the sync's templates: %v", names)
	}
	if ts, _ := gallery.SyncTemplates("calltouch"); len(ts) != 0 {
		t.Fatalf("calltouch ships no sync: %v", ts)
	}
}

// Switching a bitrix24 connection's sync on through the API installs
// both bundles bound to it and switched on, and makes the connection's
// hook URL (shown once); pressing again makes no second pair and keeps
// the hook; switching off keeps the bundles, off; on again switches the
// same two back on. A bundle the user made by hand to the same effect is
// taken for the template's, not doubled. Another portal gets its own
// pair; a connection type without a sync is refused with 422; an
// unknown connection is 404. On both engines.
func TestSyncOnIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		s := newServer(t, d)
		c := connect(t, s)
		path := fmt.Sprintf("/api/v1/connections/%d/sync", c.bitrix24)
		bundles := func() []automation.Bundle {
			var bs struct {
				Items []automation.Bundle `json:"items"`
			}
			s.do("GET", "/api/v1/bundles", nil, http.StatusOK, &bs)
			return bs.Items
		}

		var st gallery.SyncState
		s.do("GET", path, nil, http.StatusOK, &st)
		if st.On || len(st.Parts) != 2 || st.Parts[0].BundleID != 0 || st.Parts[1].BundleID != 0 || st.HookMade {
			t.Fatalf("before: %+v", st)
		}
		var on gallery.SyncState
		s.do("POST", path, nil, http.StatusOK, &on)
		if !on.On || !on.HookMade || !strings.Contains(on.HookURL, "/hooks/c/") {
			t.Fatalf("switched on: %+v", on)
		}
		bs := bundles()
		if len(bs) != 2 {
			t.Fatalf("%d bundles after switching on", len(bs))
		}
		for _, b := range bs {
			if !b.Active || len(b.Steps) != 1 || b.Steps[0].Connection != c.bitrix24 || !strings.HasSuffix(b.Name, " — Портал") {
				t.Fatalf("bundle %+v", b)
			}
			switch b.Steps[0].Action {
			case "bitrix24.deal.upsert":
				if b.Trigger.Type != "crm.event" || b.Trigger.Entity != "sales_order" || b.OrderKey == "" {
					t.Fatalf("the order bundle's trigger: %+v", b.Definition)
				}
			case "bitrix24.event.apply":
				if b.Trigger.Type != "bitrix24.event" || b.Trigger.Connection != c.bitrix24 {
					t.Fatalf("the event bundle's trigger: %+v", b.Trigger)
				}
			default:
				t.Fatalf("bundle %+v", b)
			}
		}

		var again gallery.SyncState
		s.do("POST", path, nil, http.StatusOK, &again)
		if !again.On || again.HookURL != "" || !again.HookMade || again.Parts[0].BundleID != on.Parts[0].BundleID || again.Parts[1].BundleID != on.Parts[1].BundleID {
			t.Fatalf("pressed again: %+v, first %+v", again, on)
		}
		if n := len(bundles()); n != 2 {
			t.Fatalf("%d bundles after pressing twice", n)
		}

		var off gallery.SyncState
		s.do("DELETE", path, nil, http.StatusOK, &off)
		if off.On || off.Parts[0].Active || off.Parts[1].Active || off.Parts[0].BundleID == 0 {
			t.Fatalf("switched off: %+v", off)
		}
		for _, b := range bundles() {
			if b.Active {
				t.Fatalf("bundle %d still on", b.ID)
			}
		}
		s.do("POST", path, nil, http.StatusOK, &again)
		if !again.On || again.Parts[0].BundleID != on.Parts[0].BundleID || len(bundles()) != 2 {
			t.Fatalf("on again: %+v", again)
		}

		// Another portal, whose apply bundle the user made by hand.
		var other struct {
			ID int64 `json:"id"`
		}
		s.do("POST", "/api/v1/connections", map[string]any{"type": "bitrix24", "name": "Второй портал", "settings": map[string]any{
			"portal_url": "https://second.bitrix24.ru", "user_id": 1, "webhook_code": "code"}}, http.StatusCreated, &other)
		var hand automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "мой приём событий", "active": false,
			"trigger": map[string]any{"type": "bitrix24.event", "connection": other.ID},
			"steps": []any{map[string]any{"id": "a", "action": "bitrix24.event.apply", "connection": other.ID,
				"input": map[string]any{"event": "{{trigger.event}}", "id": "{{trigger.id}}"}}}}, http.StatusCreated, &hand)
		// and whose orders it sends on creation only: that does part of
		// the template's work, not all.
		var createOnly automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "только новые заказы", "active": true,
			"trigger": map[string]any{"type": "crm.event", "entity": "sales_order", "actions": []string{"create"}},
			"steps": []any{map[string]any{"id": "deal", "action": "bitrix24.deal.upsert", "connection": other.ID,
				"input": map[string]any{"sales_order_id": "{{trigger.record.id}}"}}}}, http.StatusCreated, &createOnly)
		s.do("POST", fmt.Sprintf("/api/v1/connections/%d/sync", other.ID), nil, http.StatusOK, &st)
		if !st.On || st.Parts[1].Template != "bitrix24-portal-changes" || st.Parts[1].BundleID != hand.ID || !st.Parts[1].Active {
			t.Fatalf("the second portal: %+v", st)
		}
		if st.Parts[0].BundleID == createOnly.ID || st.Parts[0].BundleID == 0 {
			t.Fatalf("the create-only bundle taken for the sync's: %+v", st.Parts[0])
		}
		if n := len(bundles()); n != 5 {
			t.Fatalf("%d bundles with the second portal's sync on, want 5", n)
		}

		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		s.do("POST", fmt.Sprintf("/api/v1/connections/%d/sync", c.calltouch), nil, http.StatusUnprocessableEntity, &e)
		if e.Error.Code != "no_sync" {
			t.Fatalf("calltouch's sync: %+v", e)
		}
		s.do("POST", "/api/v1/connections/99999/sync", nil, http.StatusNotFound, nil)
	})
}

// The templates to copy (seed 003's, before in Go beside the engine) are
// the gallery's that need no connection: five, served by
// GET /api/v1/bundles/templates as bundle definitions, switched off.
func TestCopyableTemplates(t *testing.T) {
	ts, err := gallery.Copyable()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tp := range ts {
		names = append(names, tp.Name)
		if tp.Definition.Active || len(tp.Definition.Steps) == 0 || tp.Title.Ru == "" {
			t.Errorf("%s: %+v", tp.Name, tp)
		}
	}
	if strings.Join(names, ",") != "deal-invoice-email,deal-won-comment-task,invoice-paid-deal-call,site-order-webhook,webform-lead-contact-task" {
		t.Fatalf("the templates to copy: %v", names)
	}
}

// A malformed connection id in a sync path is refused as the
// connection's own routes refuse it: 400, the same error code.
func TestSyncBadID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		s := newServer(t, d)
		type apiError struct {
			Error struct {
				Code  string `json:"code"`
				Field string `json:"field"`
			} `json:"error"`
		}
		var conn, sync apiError
		s.do("GET", "/api/v1/connections/x", nil, http.StatusBadRequest, &conn)
		for _, m := range []string{"GET", "POST", "DELETE"} {
			s.do(m, "/api/v1/connections/x/sync", nil, http.StatusBadRequest, &sync)
			if sync != conn || conn.Error.Code == "" {
				t.Fatalf("%s sync: %+v, the connection's route: %+v", m, sync, conn)
			}
		}
	})
}
