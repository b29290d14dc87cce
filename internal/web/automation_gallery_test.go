package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/connector/calltouch/calltouchtest"
	"github.com/obmen/obmen/internal/connector/retailcrm/retailcrmtest"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// Seed 001's template (1) installed from the UI: a retailCRM connection
// made through its form and checked against the fake retailCRM, its
// fields refreshed; the gallery offers the template, its form the saved
// connections and the refreshed order types and statuses; without a
// Calltouch connection chosen it says which is missing; with one the
// bundle is made, switched off, through the chosen connections.
func TestGalleryInstallPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnvWith(t, d, func(c *config.Config) { c.OutboundAllow = []string{"127.0.0.1"} })
		ctx := context.Background()
		rc := retailcrmtest.New(t, "rc-key")
		ct := calltouchtest.New(t)
		b := e.browser()
		b.signIn()
		rid := idFrom(t, b.post("/admin/connections", url.Values{"type": {"retailcrm"}, "name": {"Магазин"},
			"s_url": {rc.URL}, "s_api_key": {"rc-key"}, "s_site": {"shop"}}), "/admin/connections/")
		sr := strconv.FormatInt(rid, 10)
		if p := b.post("/admin/connections/"+sr+"/check", nil); p.Status != http.StatusOK || !strings.Contains(p.Body, `<div class="flash" role="status" id="check-result">`) {
			t.Fatalf("check: %d %s", p.Status, errorsOf(p.Body))
		}
		if p := b.post("/admin/connections/"+sr+"/refresh", nil); p.Status != http.StatusSeeOther && p.Status != http.StatusOK {
			t.Fatalf("refresh: %d %s", p.Status, errorsOf(p.Body))
		}
		p := b.get("/automation/templates")
		if !strings.Contains(p.Body, `href="/automation/templates/calltouch-call-retailcrm"`) {
			t.Fatal("the gallery does not offer template (1)")
		}
		p = b.get("/automation/templates/calltouch-call-retailcrm")
		for _, want := range []string{`id="conn-calltouch-none"`, `<select id="conn-crm" name="conn_crm" required><option value="` + sr + `">Магазин</option>`,
			`<option value="new" selected>`, `name="param_obmen_crm" checked`} {
			if !strings.Contains(p.Body, want) {
				t.Fatalf("the install form lacks %s", want)
			}
		}
		form := url.Values{"conn_crm": {sr}, "param_order_type": {"eshop-individual"}, "param_status_new": {"new"}, "param_obmen_crm": {"on"}}
		if p := b.post("/automation/templates/calltouch-call-retailcrm", form); p.Status != http.StatusUnprocessableEntity ||
			!strings.Contains(p.Body, "connections.calltouch: required") {
			t.Fatalf("without Calltouch: %d %s", p.Status, errorsOf(p.Body))
		}
		cid := idFrom(t, b.post("/admin/connections", url.Values{"type": {"calltouch"}, "name": {"Calltouch"},
			"s_url": {ct.URL()}, "s_site_id": {ct.Site}, "s_token": {ct.Token}, "s_timezone": {"Europe/Moscow"}}), "/admin/connections/")
		form.Set("conn_calltouch", strconv.FormatInt(cid, 10))
		form.Set("name", "Звонки в retailCRM")
		bid := idFrom(t, b.post("/automation/templates/calltouch-call-retailcrm", form), "/automation/")
		bu, err := e.app.Automation.Get(ctx, bid)
		if err != nil {
			t.Fatal(err)
		}
		if bu.Active || bu.Name != "Звонки в retailCRM" || bu.Trigger.Connection != cid || len(bu.Steps) != 4 || bu.Steps[1].Connection != rid {
			t.Fatalf("installed bundle %+v", bu)
		}
	})
}
