package gallery_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/automation/gallery"
	"github.com/obmen/obmen/internal/connector/calltouch/calltouchtest"
	"github.com/obmen/obmen/internal/connector/moysklad/moyskladtest"
	"github.com/obmen/obmen/internal/connector/retailcrm/retailcrmtest"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// conns are the three saved connections, pointed at the fakes.
type conns struct {
	calltouch, retailcrm, moysklad int64
	bitrix24                       int64
	ct                             *calltouchtest.Fake
	rc                             *retailcrmtest.Fake
	ms                             *moyskladtest.Fake
}

func connect(t testing.TB, s *server) conns {
	c := conns{ct: calltouchtest.New(t), rc: retailcrmtest.New(t, "rc-key"), ms: moyskladtest.New(t)}
	var conn struct {
		ID int64 `json:"id"`
	}
	s.do("POST", "/api/v1/connections", map[string]any{"type": "calltouch", "name": "Calltouch", "settings": map[string]any{
		"site_id": c.ct.Site, "token": c.ct.Token, "url": c.ct.URL()}}, http.StatusCreated, &conn)
	c.calltouch = conn.ID
	s.do("POST", "/api/v1/connections", map[string]any{"type": "retailcrm", "name": "retailCRM", "settings": map[string]any{
		"url": c.rc.URL, "api_key": "rc-key", "site": "shop"}}, http.StatusCreated, &conn)
	c.retailcrm = conn.ID
	s.do("POST", "/api/v1/connections", map[string]any{"type": "moysklad", "name": "МойСклад", "settings": map[string]any{
		"login": c.ms.Login, "password": c.ms.Password, "url": c.ms.Base()}}, http.StatusCreated, &conn)
	c.moysklad = conn.ID
	// A portal no test calls: the sync's templates only need it saved.
	s.do("POST", "/api/v1/connections", map[string]any{"type": "bitrix24", "name": "Портал", "settings": map[string]any{
		"portal_url": "https://example.bitrix24.ru", "user_id": 1, "webhook_code": "code", "app_token": "tok"}}, http.StatusCreated, &conn)
	c.bitrix24 = conn.ID
	return c
}

// crmOf is the template's CRM connection.
func (c conns) crmOf(tp gallery.Template) int64 {
	if tp.Connections["crm"].Type == "moysklad" {
		return c.moysklad
	}
	return c.retailcrm
}

// Every template of the gallery installs through the API with its
// defaults (one that needs no connection with none) into a bundle that compiles against the registered
// connectors' actions and triggers: switched off, every placeholder
// filled, the connections the chosen ones; with obmen_crm false the step
// writing Obmen's own CRM is left out. On both engines.
func TestInstallEveryTemplate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		s := newServer(t, d)
		c := connect(t, s)
		var list gallery.List
		s.do("GET", "/api/v1/templates", nil, http.StatusOK, &list)
		if len(list.Items) != 15 {
			t.Fatalf("%d templates, want the seed's four for retailCRM and for МойСклад, Bitrix24's sync of two and five to copy", len(list.Items))
		}
		for _, tp := range list.Items {
			var b automation.Bundle
			if tp.Plain() {
				s.do("POST", "/api/v1/templates/"+tp.Name+"/install", gallery.Install{}, http.StatusCreated, &b)
				if b.Active || len(b.Steps) == 0 {
					t.Fatalf("%s: %+v", tp.Name, b.Definition)
				}
				continue
			}
			if tp.Sync {
				s.do("POST", "/api/v1/templates/"+tp.Name+"/install", gallery.Install{
					Connections: map[string]int64{"portal": c.bitrix24}}, http.StatusCreated, &b)
				raw, _ := json.Marshal(b.Definition)
				if b.Active || strings.Contains(string(raw), "<<") || len(b.Steps) != 1 || b.Steps[0].Connection != c.bitrix24 {
					t.Fatalf("%s: %s", tp.Name, raw)
				}
				continue
			}
			s.do("POST", "/api/v1/templates/"+tp.Name+"/install", gallery.Install{
				Connections: map[string]int64{"calltouch": c.calltouch, "crm": c.crmOf(tp)}}, http.StatusCreated, &b)
			raw, _ := json.Marshal(b.Definition)
			if b.Active || strings.Contains(string(raw), "<<") || b.Trigger.Connection == 0 {
				t.Fatalf("%s: %s", tp.Name, raw)
			}
			for _, st := range b.Steps {
				want := int64(0)
				switch {
				case strings.HasPrefix(st.Action, "calltouch."):
					want = c.calltouch
				case strings.HasPrefix(st.Action, "retailcrm."), strings.HasPrefix(st.Action, "moysklad."):
					want = c.crmOf(tp)
				}
				if st.Connection != want {
					t.Fatalf("%s: step %s through connection %d, want %d", tp.Name, st.ID, st.Connection, want)
				}
			}
			if tp.Connections["calltouch"].Type != "calltouch" {
				t.Fatalf("%s: %+v", tp.Name, tp.Connections)
			}
			if strings.HasPrefix(tp.Name, "calltouch-") {
				if b.Steps[len(b.Steps)-1].Action != "crm.lead.create" {
					t.Fatalf("%s: no lead in Obmen's CRM by default", tp.Name)
				}
				var off automation.Bundle
				s.do("POST", "/api/v1/templates/"+tp.Name+"/install", gallery.Install{Name: "без лида",
					Connections: map[string]int64{"calltouch": c.calltouch, "crm": c.crmOf(tp)}, Params: map[string]any{"obmen_crm": false}},
					http.StatusCreated, &off)
				if off.Name != "без лида" || len(off.Steps) != len(b.Steps)-1 || off.Steps[len(off.Steps)-1].Action == "crm.lead.create" {
					t.Fatalf("%s without the lead: %+v", tp.Name, off.Steps)
				}
			}
		}
	})
}

// What the user gets wrong is answered 422 naming the field: a role
// without a connection, a connection of another type, a parameter or a
// role the template does not have, a value of the wrong type; an unknown
// template is 404. Nothing is saved.
func TestInstallRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		s := newServer(t, d)
		c := connect(t, s)
		for _, tc := range []struct {
			name  string
			in    gallery.Install
			field string
		}{
			{"no calltouch", gallery.Install{Connections: map[string]int64{"crm": c.retailcrm}}, "connections.calltouch"},
			{"wrong type", gallery.Install{Connections: map[string]int64{"calltouch": c.calltouch, "crm": c.moysklad}}, "connections.crm"},
			{"no such connection", gallery.Install{Connections: map[string]int64{"calltouch": c.calltouch + 1000, "crm": c.retailcrm}}, "connections.calltouch"},
			{"extra role", gallery.Install{Connections: map[string]int64{"calltouch": c.calltouch, "crm": c.retailcrm, "vk": 1}}, "connections.vk"},
			{"unknown param", gallery.Install{Connections: map[string]int64{"calltouch": c.calltouch, "crm": c.retailcrm}, Params: map[string]any{"colour": "red"}}, "params.colour"},
			{"bad boolean", gallery.Install{Connections: map[string]int64{"calltouch": c.calltouch, "crm": c.retailcrm}, Params: map[string]any{"obmen_crm": "yes"}}, "params.obmen_crm"},
			{"bad string", gallery.Install{Connections: map[string]int64{"calltouch": c.calltouch, "crm": c.retailcrm}, Params: map[string]any{"order_type": 5}}, "params.order_type"},
		} {
			var e struct {
				Error struct {
					Code  string `json:"code"`
					Field string `json:"field"`
				} `json:"error"`
			}
			s.do("POST", "/api/v1/templates/calltouch-call-retailcrm/install", tc.in, http.StatusUnprocessableEntity, &e)
			if e.Error.Field != tc.field {
				t.Errorf("%s: %+v, want field %s", tc.name, e, tc.field)
			}
		}
		s.do("POST", "/api/v1/templates/nope/install", gallery.Install{}, http.StatusNotFound, nil)
		var bs struct {
			Items []automation.Bundle `json:"items"`
		}
		s.do("GET", "/api/v1/bundles", nil, http.StatusOK, &bs)
		if len(bs.Items) != 0 {
			t.Fatalf("%d bundles saved by refused installs", len(bs.Items))
		}
	})
}
