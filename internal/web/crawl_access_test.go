package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// TestCrawlAccess visits every route the UI and the REST API register —
// enumerated from their routers, so a new route is covered or the test
// fails for want of a class — as a manager holding another manager's
// record ids. Record routes must answer 403 or 404 (and 200 to the
// administrator on the same ids, so the ids are real); admin-only routes
// 403 to the manager and not 403 to the administrator; the manager's own
// and shared pages must not show the other manager's records. State-
// changing requests carry a valid CSRF token (UI) or a key (API), so a
// refusal is the access rule's. Then the UI and the API are asked about
// the same resources and must both refuse. (Issue 25, finding 2.)
func TestCrawlAccess(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		c := newCrawl(t, e)
		c.crawlUI()
		c.crawlAPI()
		c.compare()
	})
}

// The route classes.
type class int

const (
	// public needs no session (sign-in, assets, the API document).
	public class = iota + 1
	// own is the signed-in user's own things or data shared by everyone
	// (products, dictionaries, the user list): GETs are visited and must
	// not show the other manager's records; writes change only the
	// caller's own things (their password, their session) and are not
	// sent.
	own
	// admin is administrators only.
	admin
	// record is one CRM record of the other manager, by path id.
	record
	// fallback is the UI's catch-all 404.
	fallback
)

// uiClass classifies every UI pattern. A pattern missing here fails the
// test: decide its class when adding a page.
var uiClass = map[string]class{
	// The iCalendar feed's token is its credential (GET /ical/<token>.ics).
	"GET /ical/{file}": public, "POST /account/ical": own,
	"GET /static/": public, "GET /login": public, "POST /login": public, "POST /lang": public, "POST /login/totp": public,
	"/": fallback,

	"POST /logout": own, "GET /account/totp": own, "GET /account/totp/qr.png": own, "POST /account/totp": own, "POST /account/totp/off": own, "GET /{$}": own, "GET /password": own, "POST /password": own, "GET /search": own,
	"GET /reports": own, "GET /reports/export.csv": own, "GET /reports/export.xlsx": own,
	"GET /pick/{entity}": own, "GET /address/suggest": own, "POST /settings/address": admin, "GET /settings": own, "POST /settings": own,
	"GET /e/{entity}": own, "GET /e/{entity}/export.csv": own, "GET /e/{entity}/export.xlsx": own,
	"POST /e/{entity}/filters": own, "GET /e/{entity}/new": own, "POST /e/{entity}/new": own,
	"GET /kanban": own, "GET /kanban/more": own, "GET /recycle": own, "GET /calendar": own,
	"GET /import": own, "POST /import": own, "POST /import/run": own,
	"GET /keys": own, "POST /keys": own, "GET /duplicates/merge": admin,
	"GET /google": own, "GET /google/connect": own, "GET /google/callback": own, "POST /google/{action}": own,
	"GET /notifications": own, "GET /notifications/bell": own, "POST /notifications/read": own, "POST /notifications/prefs": own,

	"GET /e/{entity}/{id}": record, "POST /e/{entity}/{id}": record, "POST /e/{entity}/{id}/delete": record,
	"GET /e/{entity}/{id}/field/{field}": record, "POST /e/{entity}/{id}/field/{field}": record,
	"POST /e/{entity}/{id}/comment": record, "POST /e/{entity}/{id}/message": record, "POST /e/{entity}/{id}/vk/history": record, "POST /e/{entity}/{id}/vk/profile": record, "POST /e/{entity}/{id}/items": record, "POST /e/{entity}/{id}/items/preview": record,
	"POST /e/{entity}/{id}/photo": record, "POST /e/{entity}/{id}/photo/delete": record,
	// A product is shared data (as in the API): its pictures are changed
	// by whoever may change the product.
	"POST /e/product/{id}/images": own, "POST /e/product/{id}/images/{image}/delete": own,
	"GET /e/lead/{id}/convert": record, "GET /e/lead/{id}/files/{file}": record, "GET /e/message/{id}/files/{file}": record, "POST /e/lead/{id}/convert": record, "POST /kanban/{id}/stage": record,
	"POST /recycle/{entity}/{id}/restore": record, "POST /calendar/{id}/move": record,
	"POST /e/{entity}/{id}/run/{bundle}": record, "POST /e/{entity}/{id}/export/{conn}": record, "POST /keys/{id}/revoke": record,
	"GET /e/{entity}/{id}/booking/{code}": record, "POST /e/{entity}/{id}/booking/{code}": record,

	"POST /recycle/{entity}/{id}/purge": admin, "GET /admin/users": admin, "POST /admin/users": admin, "POST /admin/users/{id}": admin, "POST /admin/users/{id}/hours": admin, "POST /admin/users/{id}/totp/reset": admin,
	"GET /admin/users/{id}/access": admin, "POST /admin/users/{id}/access": admin,
	"GET /account/profile": own, "POST /account/profile": own, "GET /admin/users/{id}/profile": admin, "POST /admin/users/{id}/profile": admin,
	"GET /admin/distribution": admin, "POST /admin/distribution": admin, "POST /admin/distribution/{id}/{action}": admin,
	"GET /admin/dict": admin, "POST /admin/dict/{action}": admin,
	"GET /admin/resources": admin, "POST /admin/resources": admin, "POST /admin/resources/{id}/{action}": admin,
	"GET /admin/webhooks": admin, "POST /admin/webhooks/incoming": admin, "POST /admin/webhooks/incoming/{id}/{action}": admin,
	"POST /admin/webhooks/outbound": admin, "GET /admin/webhooks/outbound/{id}": admin,
	"POST /admin/webhooks/outbound/{id}/{action}": admin, "POST /admin/webhooks/outbound/{id}/retry/{delivery}": admin,
	"GET /admin/1c": admin, "POST /admin/1c": admin,
	"GET /admin/sites": admin, "POST /admin/sites": admin, "GET /admin/sites/{id}": admin, "POST /admin/sites/{id}/{action}": admin,
	"GET /admin/currency-aliases": admin, "POST /admin/currency-aliases": admin, "POST /admin/currency-aliases/delete": admin,
	"GET /duplicates": admin, "POST /duplicates/rules": admin, "POST /duplicates/merge": admin,
	"GET /admin/webforms": admin, "POST /admin/webforms": admin, "GET /admin/webforms/{id}": admin, "POST /admin/webforms/{id}/{action}": admin,
	"GET /admin/collectors": admin, "POST /admin/collectors": admin, "GET /admin/collectors/{id}": admin, "POST /admin/collectors/{id}/{action}": admin,
	"GET /admin/connections": admin, "GET /admin/connections/new": admin, "POST /admin/connections": admin,
	"GET /admin/connections/{id}": admin, "POST /admin/connections/{id}/{action}": admin,
	"GET /automation": admin, "GET /automation/templates": admin, "GET /automation/templates/{name}": admin, "POST /automation/templates/{name}": admin, "GET /automation/new": admin, "GET /automation/export": admin,
	"POST /automation/import": admin, "GET /automation/cron": admin, "GET /automation/last-event": admin,
	"GET /automation/runs": admin, "GET /automation/calls": admin, "GET /automation/runs/{id}": admin, "POST /automation/runs/{id}/{action}": admin,
	"GET /automation/{id}": admin, "GET /automation/{id}/versions/{version}": admin, "POST /automation/{id}/{action}": admin,
	"GET /integrations": admin, "GET /integrations/{source}/{id}": admin, "GET /integrations/{source}/{id}/skipped.csv": admin, "GET /integrations/{source}/{id}/file": admin,
	"GET /integrations/{name}": admin, "POST /integrations/{name}/check": admin,
}

// apiRecords are the REST resources of CRM records, by path, with their
// entity; each has the same set of routes (crudClass).
var apiRecords = map[string]string{
	"leads": store.EntityLead, "contacts": store.EntityContact, "accounts": store.EntityAccount, "deals": store.EntityDeal,
	"sales-orders": store.EntitySalesOrder, "invoices": store.EntityInvoice, "tickets": store.EntityTicket, "activities": store.EntityActivity,
	"messages": store.EntityMessage,
}

// apiShared are the REST resources everyone shares (store/access.go):
// products, services and catalogs are not anybody's.
var apiShared = []string{"products", "services", "catalogs"}

// apiClass classifies every REST route ("METHOD /path"). A route missing
// here fails the test.
func apiClass() map[string]class {
	m := map[string]class{
		"POST /api/v1/session": public, "GET /api/v1/openapi.json": public,
		"DELETE /api/v1/session": own, "GET /api/v1/me": own, "GET /api/v1/users": own, "GET /api/v1/users/{id}": own,
		"GET /api/v1/search": own, "GET /api/v1/calendar": own, "GET /api/v1/recyclebin": own,
		"GET /api/v1/currencies": own, "GET /api/v1/currency-aliases": own, "GET /api/v1/units": own, "GET /api/v1/address/suggest": own,
		"GET /api/v1/pipelines": own, "GET /api/v1/statuses": own, "GET /api/v1/settings/{key}": own,
		"GET /api/v1/payment-methods": own, "GET /api/v1/payment-methods/{id}": own,
		"GET /api/v1/custom-fields": own, "GET /api/v1/bitrix/webhooks": own, "POST /api/v1/intake/orders": own,
		"GET /api/v1/products/{id}/offers": own, "GET /api/v1/products/{id}/images": own, "GET /api/v1/products/{id}/images/{image}": own,
		"POST /api/v1/products/{id}/images": own, "DELETE /api/v1/products/{id}/images/{image}": own, "GET /api/v1/catalogs/{id}/items": own, "PUT /api/v1/catalogs/{id}/items": own,

		"GET /api/v1/accounts/{id}/requisites": record, "POST /api/v1/accounts/{id}/requisites": record,
		"GET /api/v1/contacts/{id}/requisites": record, "POST /api/v1/contacts/{id}/requisites": record,
		"PUT /api/v1/requisites/{id}": record, "DELETE /api/v1/requisites/{id}": record,
		"POST /api/v1/deals/{id}/invoice": record, "POST /api/v1/leads/{id}/convert": record,
		"DELETE /api/v1/keys/{id}": record, "POST /api/v1/bundles/{id}/run": record,
		"GET /api/v1/resources": own, "GET /api/v1/resources/{id}": own, "GET /api/v1/bookings": own, "POST /api/v1/bookings": own,
		"GET /api/v1/bookings/{id}": record, "PATCH /api/v1/bookings/{id}": record, "DELETE /api/v1/bookings/{id}": record,
		"POST /api/v1/resources": admin, "PATCH /api/v1/resources/{id}": admin, "DELETE /api/v1/resources/{id}": admin,

		// The change log covers every record: administrators and users
		// granted all records.
		"GET /api/v1/events":  admin,
		"GET /api/v1/actions": admin, "GET /api/v1/triggers": admin,
		// A connection's push URL is made anew by administrators only (the
		// URL /hooks/c/{token} itself is public, outside the API: its
		// token is the credential).
		"POST /api/v1/connections/{id}/hook": admin,
		// Direct action calls: administrators, and users granted the
		// "actions" permission (the crawl's manager is not).
		"POST /api/v1/actions/{name}": admin, "GET /api/v1/actions/calls": admin,
		// A profile is read by everyone, as the user list; changed by its
		// user or an administrator.
		"GET /api/v1/users/{id}/profile": own, "PUT /api/v1/users/{id}/profile": record,
		"PUT /api/v1/currencies/{code}": admin, "PUT /api/v1/currency-aliases/{alias}": admin, "DELETE /api/v1/currency-aliases/{alias}": admin,
		"POST /api/v1/units": admin, "DELETE /api/v1/units/{id}": admin,
		"POST /api/v1/payment-methods": admin, "PUT /api/v1/payment-methods/{id}": admin, "DELETE /api/v1/payment-methods/{id}": admin,
		"POST /api/v1/pipelines": admin, "PUT /api/v1/pipelines/{id}": admin, "DELETE /api/v1/pipelines/{id}": admin,
		"POST /api/v1/statuses": admin, "PUT /api/v1/statuses/{id}": admin, "DELETE /api/v1/statuses/{id}": admin,
		"PUT /api/v1/settings/{key}": admin, "POST /api/v1/custom-fields": admin, "DELETE /api/v1/custom-fields/{id}": admin,
		"DELETE /api/v1/recyclebin/{entity}/{id}": admin,
		"POST /api/v1/bitrix/webhooks":            admin, "DELETE /api/v1/bitrix/webhooks/{id}": admin, "POST /api/v1/bitrix/webhooks/{id}/app": admin,
		"POST /api/v1/users": admin, "PATCH /api/v1/users/{id}": admin,
		"GET /api/v1/users/{id}/grants": admin, "PUT /api/v1/users/{id}/grants": admin,
		"GET /api/v1/users/{id}/permissions": admin, "PUT /api/v1/users/{id}/permissions": admin,
		"GET /api/v1/users/{id}/keys": admin, "POST /api/v1/users/{id}/keys": admin,
	}
	for path := range apiRecords {
		for _, r := range []string{"GET /api/v1/%s", "POST /api/v1/%s"} {
			m[strings.Replace(r, "%s", path, 1)] = own
		}
		for _, r := range []string{"GET /api/v1/%s/{id}", "PATCH /api/v1/%s/{id}", "DELETE /api/v1/%s/{id}", "POST /api/v1/%s/{id}/restore",
			"GET /api/v1/%s/{id}/timeline", "GET /api/v1/%s/{id}/comments", "POST /api/v1/%s/{id}/comments"} {
			m[strings.Replace(r, "%s", path, 1)] = record
		}
	}
	// The photo of a client's record (internal/api/photos.go).
	for _, path := range []string{"leads", "contacts", "accounts"} {
		for _, r := range []string{"GET /api/v1/%s/{id}/photo", "PUT /api/v1/%s/{id}/photo", "DELETE /api/v1/%s/{id}/photo"} {
			m[strings.Replace(r, "%s", path, 1)] = record
		}
	}
	for _, path := range apiShared {
		for _, r := range []string{"GET /api/v1/%s", "POST /api/v1/%s", "GET /api/v1/%s/{id}", "PATCH /api/v1/%s/{id}", "DELETE /api/v1/%s/{id}",
			"POST /api/v1/%s/{id}/restore", "GET /api/v1/%s/{id}/timeline"} {
			m[strings.Replace(r, "%s", path, 1)] = own
		}
	}
	// Integrations: all administrators'.
	for _, prefix := range []string{"/api/v1/outbound-webhooks", "/api/v1/deliveries/", "/api/v1/intake/journal", "/api/v1/intake/collectors",
		"/api/v1/webforms", "/api/v1/bundles", "/api/v1/runs", "/api/v1/exchanges", "/api/v1/site-exchanges", "/api/v1/connections", "/api/v1/telephony/", "/api/v1/templates"} {
		m["prefix "+prefix] = admin
	}
	return m
}

func (c *accessCrawl) classOfAPI(m map[string]class, route string) (class, bool) {
	if cl, ok := m[route]; ok {
		return cl, true
	}
	_, path, _ := strings.Cut(route, " ")
	for k, cl := range m {
		if p, ok := strings.CutPrefix(k, "prefix "); ok && strings.HasPrefix(path, p) {
			return cl, true
		}
	}
	return 0, false
}

// accessCrawl holds the two managers, the administrator and the other
// manager's records.
type accessCrawl struct {
	t   *testing.T
	e   *env
	ctx context.Context
	// ui is manager Anna's browser; adm the administrator's.
	ui, adm *browser
	// annaKey, borisKey and admKey are API keys.
	annaKey, borisKey, admKey string
	boris                     crm.User
	// ids are Boris's records by entity; deleted is his lead in the
	// recycle bin; requisite, keyID and journal are his requisite, API
	// key and intake journal entry.
	ids                                     map[string]int64
	deleted, requisite, keyID, jr, resource int64
	// secrets are the titles of Boris's records: none may show to Anna.
	secrets []string
}

const crawlMark = "crawlB7q"

// crawlBookingField is a booking custom field on every scoped entity.
const crawlBookingField = "UF_CRM_CRAWL_BOOKING"

var scopedEntities = []string{store.EntityLead, store.EntityContact, store.EntityAccount, store.EntityDeal,
	store.EntitySalesOrder, store.EntityInvoice, store.EntityTicket, store.EntityActivity, store.EntityMessage}

func newCrawl(t *testing.T, e *env) *accessCrawl {
	t.Helper()
	ctx := context.Background()
	s := e.app.Store
	c := &accessCrawl{t: t, e: e, ctx: ctx, ids: map[string]int64{}}
	mk := func(login string) (crm.User, string) {
		u, err := s.CreateUser(ctx, e.admin, crm.User{Login: login, Role: crm.RoleManager, FirstName: login}, login+"-password-1")
		if err != nil {
			t.Fatal(err)
		}
		_, key, err := s.CreateAPIKey(ctx, crm.Actor{UserID: u.ID}, u.ID, "crawl")
		if err != nil {
			t.Fatal(err)
		}
		return u, key
	}
	_, c.annaKey = mk("anna")
	c.boris, c.borisKey = mk("boris")
	_, key, err := s.CreateAPIKey(ctx, e.admin, e.admin.UserID, "crawl")
	if err != nil {
		t.Fatal(err)
	}
	c.admKey = key
	bk, err := s.ListAPIKeys(ctx, c.boris.ID)
	if err != nil || len(bk) != 1 {
		t.Fatalf("boris's keys: %v %v", bk, err)
	}
	c.keyID = bk[0].ID

	// Boris's records, made by him through the API.
	mine := func(path, title string, body map[string]any) int64 {
		st, b := c.api(c.borisKey, http.MethodPost, "/api/v1/"+path, body)
		if st != http.StatusCreated && st != http.StatusOK {
			t.Fatalf("boris creates %s: %d %s", path, st, b)
		}
		var v struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal([]byte(b), &v); err != nil || v.ID == 0 {
			t.Fatalf("boris creates %s: %s", path, b)
		}
		c.secrets = append(c.secrets, title)
		return v.ID
	}
	title := func(s string) string { return crawlMark + "-" + s }
	st, b := c.api(c.admKey, http.MethodPost, "/api/v1/products", map[string]any{"name": "Дрель", "price": 1000})
	if st != http.StatusCreated {
		t.Fatalf("product: %d %s", st, b)
	}
	var prod struct {
		ID int64 `json:"id"`
	}
	_ = json.Unmarshal([]byte(b), &prod)
	c.ids[store.EntityLead] = mine("leads", title("lead"), map[string]any{"title": title("lead")})
	c.ids[store.EntityAccount] = mine("accounts", title("account"), map[string]any{"title": title("account")})
	c.ids[store.EntityContact] = mine("contacts", title("contact"), map[string]any{"name": title("contact"), "account_ids": []int64{c.ids[store.EntityAccount]}})
	c.ids[store.EntityDeal] = mine("deals", title("deal"), map[string]any{"title": title("deal"), "account_id": c.ids[store.EntityAccount]})
	items := []map[string]any{{"product_id": prod.ID, "quantity": 1}}
	c.ids[store.EntitySalesOrder] = mine("sales-orders", title("order"), map[string]any{"account_id": c.ids[store.EntityAccount], "comments": title("order"), "items": items})
	c.ids[store.EntityInvoice] = mine("invoices", title("invoice"), map[string]any{"account_id": c.ids[store.EntityAccount], "comments": title("invoice"), "items": items})
	c.ids[store.EntityTicket] = mine("tickets", title("ticket"), map[string]any{"title": title("ticket")})
	c.ids[store.EntityActivity] = mine("activities", title("activity"), map[string]any{"subject": title("activity"), "kind": "call",
		"owner_type": "deal", "owner_id": c.ids[store.EntityDeal]})
	c.ids[store.EntityMessage] = mine("messages", title("message"), map[string]any{"text": title("message"), "channel": "vk", "direction": "in",
		"owner_type": "lead", "owner_id": c.ids[store.EntityLead]})
	// Boris's client records have photos, so that an admin's read of
	// …/photo finds one.
	for _, en := range []string{store.EntityLead, store.EntityContact, store.EntityAccount} {
		if _, _, err := s.SetRecordPhoto(ctx, e.admin, en, c.ids[en], "", crawlPNG, store.PhotoUpload, false); err != nil {
			t.Fatal(err)
		}
	}
	c.requisite = mine("accounts/"+strconv.FormatInt(c.ids[store.EntityAccount], 10)+"/requisites", title("requisite"), map[string]any{"name": title("requisite")})
	// Boris's resource booking (on his calendar, for his deal), and a
	// booking field on every entity for the records' booking pages.
	st, b = c.api(c.admKey, http.MethodPost, "/api/v1/resources", map[string]any{"kind": "room", "name": "Зал"})
	if st != http.StatusCreated {
		t.Fatalf("resource: %d %s", st, b)
	}
	var room struct {
		ID int64 `json:"id"`
	}
	_ = json.Unmarshal([]byte(b), &room)
	c.resource = room.ID
	c.ids[store.EntityBooking] = mine("bookings", title("booking"), map[string]any{"resource_ids": []int64{room.ID}, "service": title("booking"),
		"start_at": "2026-12-07T10:00:00Z", "end_at": "2026-12-07T11:00:00Z", "entity": "deal", "record_id": c.ids[store.EntityDeal],
		"users": []any{map[string]any{"user_id": c.boris.ID, "title": title("booking-event")}}})
	c.secrets = append(c.secrets, title("booking-event"))
	for _, en := range scopedEntities {
		if _, err := s.CreateCustomField(ctx, e.admin, crm.CustomField{Entity: en, Code: crawlBookingField, Label: "Бронь", Type: "booking"}); err != nil {
			t.Fatal(err)
		}
	}
	c.deleted = mine("leads", title("deleted"), map[string]any{"title": title("deleted")})
	if st, b := c.api(c.borisKey, http.MethodDelete, "/api/v1/leads/"+strconv.FormatInt(c.deleted, 10), nil); st != http.StatusNoContent {
		t.Fatalf("boris deletes a lead: %d %s", st, b)
	}
	// Boris's site order: a lead and an intake journal entry (with his
	// address in it).
	st, b = c.apiRaw(c.borisKey, http.MethodPost, "/api/v1/intake/orders", `{"КонтактноеЛицо":"`+title("intake")+`","Телефон":"89256424290"}`)
	if st != http.StatusCreated && st != http.StatusOK {
		t.Fatalf("boris's order: %d %s", st, b)
	}
	var res struct {
		JournalID int64 `json:"journal_id"`
	}
	if err := json.Unmarshal([]byte(b), &res); err != nil || res.JournalID == 0 {
		t.Fatalf("boris's order: %s", b)
	}
	c.jr = res.JournalID
	c.secrets = append(c.secrets, title("intake"))

	c.ui = e.browser()
	if p := c.ui.login(url.Values{"login": {"anna"}, "password": {"anna-password-1"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("anna signs in: %d", p.Status)
	}
	if p := c.ui.get("/"); p.Status != http.StatusOK || c.ui.csrf == "" {
		t.Fatalf("anna's home: %d", p.Status)
	}
	c.adm = e.browser()
	c.adm.signIn()
	return c
}

func (c *accessCrawl) api(key, method, path string, body any) (int, string) {
	raw := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		raw = string(b)
	}
	return c.apiRaw(key, method, path, raw)
}

func (c *accessCrawl) apiRaw(key, method, path, body string) (int, string) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// leaks names the other manager's record a body shows, if any.
func (c *accessCrawl) leaks(body string) string {
	for _, s := range c.secrets {
		if strings.Contains(body, s) {
			return s
		}
	}
	return ""
}

func (c *accessCrawl) id(entity string) string { return strconv.FormatInt(c.ids[entity], 10) }

// fieldOf is a field each entity's card edits in place.
var fieldOf = map[string]string{
	store.EntityLead: "title", store.EntityContact: "name", store.EntityAccount: "title", store.EntityDeal: "title",
	store.EntitySalesOrder: "comments", store.EntityInvoice: "comments", store.EntityTicket: "title", store.EntityActivity: "subject",
	store.EntityMessage: "text",
}

// uiPaths fills a UI pattern's wildcards: one path per entity for
// {entity} routes, with Boris's ids.
func (c *accessCrawl) uiPaths(pattern string) []string {
	_, path, ok := strings.Cut(pattern, " ")
	if !ok {
		path = pattern
	}
	path = strings.TrimSuffix(path, "{$}")
	boris := strconv.FormatInt(c.boris.ID, 10)
	fill := func(p, entity string) string {
		r := strings.NewReplacer("{entity}", entity, "{field}", fieldOf[entity], "{bundle}", "1", "{action}", "delete",
			"{delivery}", "1", "{version}", "1", "{file}", "1", "{code}", crawlBookingField)
		p = r.Replace(p)
		switch {
		case strings.HasPrefix(p, "/kanban/"):
			p = strings.Replace(p, "{id}", c.id(store.EntityDeal), 1)
		case strings.HasPrefix(p, "/calendar/"):
			p = strings.Replace(p, "{id}", c.id(store.EntityActivity), 1)
		case strings.HasPrefix(p, "/e/lead/"):
			p = strings.Replace(p, "{id}", c.id(store.EntityLead), 1)
		case strings.HasPrefix(p, "/e/message/"):
			p = strings.Replace(p, "{id}", c.id(store.EntityMessage), 1)
		case strings.HasPrefix(p, "/recycle/"):
			p = strings.Replace(p, "{id}", strconv.FormatInt(c.deleted, 10), 1)
		case strings.HasPrefix(p, "/keys/"):
			p = strings.Replace(p, "{id}", strconv.FormatInt(c.keyID, 10), 1)
		case strings.HasPrefix(p, "/admin/users/"):
			p = strings.Replace(p, "{id}", boris, 1)
		case strings.HasPrefix(p, "/e/"):
			p = strings.Replace(p, "{id}", c.id(entity), 1)
		default:
			p = strings.Replace(p, "{id}", "1", 1)
		}
		return p
	}
	var out []string
	switch {
	case strings.Contains(path, "{source}"):
		for _, src := range []string{"webhooks", "intake", "1c"} {
			p := strings.Replace(path, "{source}", src, 1)
			if src == "intake" {
				p = strings.Replace(p, "{id}", strconv.FormatInt(c.jr, 10), 1)
			}
			out = append(out, fill(p, ""))
		}
	case strings.Contains(path, "{name}"):
		for _, n := range []string{"webhooks", "intake", "1c"} {
			out = append(out, strings.Replace(path, "{name}", n, 1))
		}
	case strings.Contains(path, "{entity}"):
		for _, en := range scopedEntities {
			out = append(out, fill(path, en))
		}
		if !strings.Contains(path, "{id}") {
			// Lists, exports and pickers of shared entities too.
			for _, en := range []string{store.EntityProduct, store.EntityService, store.EntityCatalog} {
				out = append(out, fill(path, en))
			}
		}
	default:
		out = append(out, fill(path, store.EntityLead))
	}
	if strings.HasPrefix(path, "/keys") && !strings.Contains(path, "{id}") && strings.HasPrefix(pattern, "GET") {
		// Another user's keys page is the admin's.
		out = append(out, path+"?user="+boris)
	}
	return out
}

// needsQuery are admin pages that answer 200 only to a query naming what
// to show (two records to merge, a trigger's last event).
var needsQuery = map[string]bool{"/duplicates/merge": true, "/automation/last-event": true}

// refused reports whether a status is a refusal.
func refused(st int) bool { return st == http.StatusForbidden || st == http.StatusNotFound }

func (c *accessCrawl) crawlUI() {
	t := c.t
	seen := 0
	for _, pattern := range c.e.app.UI.Routes() {
		cl, ok := uiClass[pattern]
		if !ok {
			t.Errorf("UI route %q has no class in uiClass: decide who may use it", pattern)
			continue
		}
		method, _, hasMethod := strings.Cut(pattern, " ")
		if !hasMethod {
			method = http.MethodGet
		}
		for _, path := range c.uiPaths(pattern) {
			switch cl {
			case public:
				continue
			case fallback:
				if p := c.ui.get("/no-such-page"); p.Status != http.StatusNotFound {
					t.Errorf("UI %s: %d, want 404", pattern, p.Status)
				}
			case own:
				if method != http.MethodGet {
					continue
				}
				if strings.Contains(path, "?user=") {
					// Another user's keys: theirs and the admin's.
					if p := c.ui.get(path); p.Status != http.StatusForbidden {
						t.Errorf("UI GET %s as another manager: %d, want 403", path, p.Status)
					}
					continue
				}
				q := path
				if strings.HasPrefix(path, "/search") || strings.HasPrefix(path, "/pick/") {
					q += "?q=" + crawlMark
				}
				p := c.ui.get(q)
				if p.Status >= 500 || p.Status == http.StatusForbidden {
					t.Errorf("UI GET %s as manager: %d", q, p.Status)
				}
				if s := c.leaks(p.Body); s != "" {
					t.Errorf("UI GET %s shows the manager another manager's %q", q, s)
				}
			case record, admin:
				var p page
				if method == http.MethodGet {
					p = c.ui.get(path)
				} else {
					p = c.ui.post(path, url.Values{fieldOf[store.EntityLead]: {"crawl"}, "name": {"crawl"}})
				}
				seen++
				want := refused(p.Status)
				if cl == admin {
					want = p.Status == http.StatusForbidden
				}
				if !want {
					t.Errorf("UI %s %s as another manager: %d, want 403%s", method, path, p.Status, map[bool]string{true: "", false: "/404"}[cl == admin])
				}
				if s := c.leaks(p.Body); s != "" {
					t.Errorf("UI %s %s shows the manager another manager's %q", method, path, s)
				}
				if method == http.MethodGet {
					a := c.adm.get(path)
					switch {
					case cl == record && a.Status != http.StatusOK && pattern != "GET /e/lead/{id}/files/{file}" && pattern != "GET /e/message/{id}/files/{file}":
						// (Boris's lead and message have no file: their
						// routes are checked for the refusal only.)
						t.Errorf("UI GET %s as admin: %d, want 200 (the id must be real)", path, a.Status)
					case cl == admin && (a.Status == http.StatusForbidden || a.Status >= 500):
						t.Errorf("UI GET %s as admin: %d", path, a.Status)
					case cl == admin && !strings.Contains(pattern, "{") && !needsQuery[path] && a.Status != http.StatusOK:
						t.Errorf("UI GET %s as admin: %d, want 200", path, a.Status)
					}
				}
			}
		}
	}
	if seen < 100 {
		t.Errorf("only %d UI requests refused-checked: the crawl lost its routes", seen)
	}
	t.Logf("UI: %d routes, %d refusals checked", len(c.e.app.UI.Routes()), seen)
}

// apiPaths fills a REST route's wildcards with Boris's ids.
func (c *accessCrawl) apiPaths(path string) string {
	seg := strings.Split(strings.TrimPrefix(path, "/api/v1/"), "/")
	id := "1"
	switch {
	case seg[0] == "requisites":
		id = strconv.FormatInt(c.requisite, 10)
	case seg[0] == "keys":
		id = strconv.FormatInt(c.keyID, 10)
	case seg[0] == "users":
		id = strconv.FormatInt(c.boris.ID, 10)
	case seg[0] == "recyclebin":
		id = strconv.FormatInt(c.deleted, 10)
	case seg[0] == "bundles":
		id = "1"
	case seg[0] == "bookings":
		id = c.id(store.EntityBooking)
	case seg[0] == "resources":
		id = strconv.FormatInt(c.resource, 10)
	default:
		if en, ok := apiRecords[seg[0]]; ok {
			id = c.id(en)
		}
	}
	return strings.NewReplacer("{id}", id, "{entity}", store.EntityLead, "{code}", "XTS", "{alias}", "crawl",
		"{key}", "invoice.prefix", "{version}", "1").Replace(path)
}

func (c *accessCrawl) crawlAPI() {
	t := c.t
	classes := apiClass()
	seen := 0
	for _, r := range c.e.app.API.Routes() {
		route := r.Method + " " + r.Path
		cl, ok := c.classOfAPI(classes, route)
		if !ok {
			t.Errorf("API route %q has no class in apiClass: decide who may use it", route)
			continue
		}
		if cl == public != r.Public {
			t.Errorf("API route %q: class public is %v, the router says %v", route, cl == public, r.Public)
		}
		path := c.apiPaths(r.Path)
		switch cl {
		case own:
			if r.Method != http.MethodGet {
				continue
			}
			q := path
			if strings.HasSuffix(path, "/search") {
				q += "?q=" + crawlMark
			}
			st, body := c.api(c.annaKey, http.MethodGet, q, nil)
			if st >= 500 || st == http.StatusForbidden {
				t.Errorf("API GET %s as manager: %d %s", q, st, body)
			}
			if s := c.leaks(body); s != "" {
				t.Errorf("API GET %s shows the manager another manager's %q", q, s)
			}
		case record, admin:
			// A valid body, so that a refusal is the access rule's and
			// not the validation's.
			var body any
			switch {
			case r.Method == http.MethodGet || r.Method == http.MethodDelete:
			case strings.HasSuffix(r.Path, "/comments"):
				body = map[string]any{"body": "crawl"}
			case strings.HasSuffix(r.Path, "/convert"):
				body = map[string]any{"deal": true}
			default:
				body = map[string]any{}
			}
			st, got := c.api(c.annaKey, r.Method, path, body)
			seen++
			want := refused(st)
			if cl == admin {
				want = st == http.StatusForbidden
			}
			if !want {
				t.Errorf("API %s %s as another manager: %d %s", r.Method, path, st, got)
			}
			if s := c.leaks(got); s != "" {
				t.Errorf("API %s %s shows the manager another manager's %q", r.Method, path, s)
			}
			if r.Method == http.MethodGet {
				a, got := c.api(c.admKey, http.MethodGet, path, nil)
				switch {
				case cl == record && a != http.StatusOK && r.Path != "/api/v1/bundles/{id}/run":
					t.Errorf("API GET %s as admin: %d %s (the id must be real)", path, a, got)
				case cl == admin && (a == http.StatusForbidden || a >= 500):
					t.Errorf("API GET %s as admin: %d %s", path, a, got)
				}
			}
		}
	}
	if seen < 120 {
		t.Errorf("only %d API requests refused-checked: the crawl lost its routes", seen)
	}
	t.Logf("API: %d routes, %d refusals checked", len(c.e.app.API.Routes()), seen)
}

// compare asks the UI and the API about the same resource: for the
// manager both refuse, for the administrator both answer.
func (c *accessCrawl) compare() {
	t := c.t
	boris := strconv.FormatInt(c.boris.ID, 10)
	type pair struct{ ui, api string }
	pairs := []pair{
		{"/integrations/intake/" + strconv.FormatInt(c.jr, 10), "/api/v1/intake/journal"},
		{"/integrations/intake", "/api/v1/intake/journal"},
		{"/integrations/webhooks", "/api/v1/outbound-webhooks"},
		{"/integrations/1c", "/api/v1/exchanges"},
		{"/admin/1c", "/api/v1/exchanges/settings"},
		{"/admin/sites", "/api/v1/site-exchanges"},
		{"/admin/collectors", "/api/v1/intake/collectors"},
		{"/admin/webforms", "/api/v1/webforms"},
		{"/automation", "/api/v1/bundles"},
		{"/automation/runs", "/api/v1/runs"},
		{"/automation/calls", "/api/v1/actions/calls"},
		{"/admin/users/" + boris + "/access", "/api/v1/users/" + boris + "/grants"},
		{"/keys?user=" + boris, "/api/v1/users/" + boris + "/keys"},
	}
	for path, en := range apiRecords {
		pairs = append(pairs, pair{"/e/" + en + "/" + c.id(en), "/api/v1/" + path + "/" + c.id(en)})
	}
	for _, p := range pairs {
		u := c.ui.get(p.ui)
		a, _ := c.api(c.annaKey, http.MethodGet, p.api, nil)
		if !refused(u.Status) || !refused(a) {
			t.Errorf("manager: UI %s answers %d, API %s answers %d: both must refuse", p.ui, u.Status, p.api, a)
		}
		u = c.adm.get(p.ui)
		a, _ = c.api(c.admKey, http.MethodGet, p.api, nil)
		if u.Status != http.StatusOK || a != http.StatusOK {
			t.Errorf("admin: UI %s answers %d, API %s answers %d: both must answer", p.ui, u.Status, p.api, a)
		}
	}
}

// crawlPNG is a 1×1 PNG picture.
var crawlPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
