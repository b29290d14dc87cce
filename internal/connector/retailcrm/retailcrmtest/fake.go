// Package retailcrmtest runs a fake of the remote API on loopback for tests,
// as net/http/httptest does: the connector's own tests and the templates'
// end-to-end test use it. Production code never imports it.
package retailcrmtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fake is a retailCRM account's API v5 as its documentation and the
// official clients describe it: the key in X-API-KEY or apiKey, GET with
// query parameters, POST form-encoded with objects JSON in a field,
// {"success": …} envelopes and error bodies, page/limit paging (20, 50 or
// 100) with a pagination object, 503 past 10 requests a second per key,
// and the orders' history with the key that made each change.
type Fake struct {
	*httptest.Server
	t    testing.TB
	Mu   sync.Mutex
	keys map[string]bool
	// rate: requests a second allowed per key (0: 10).
	rate     int
	window   map[string][]time.Time
	Limited  int // requests answered 503 for the rate
	Requests int
	// force: the next n requests are answered with this status (503 or
	// 429), with Retry-After when retry is set.
	Force      int
	ForceCode  int
	ForceRetry string
	// LoseAnswers: the next n creates are made, and then the connection
	// is cut before the answer (a timeout, a proxy's reset).
	LoseAnswers int
	sites       []string
	Customers   []map[string]any
	orders      []map[string]any
	history     []map[string]any
	payments    int
	// log of requests: method path and the form, for assertions.
	log   []string
	forms []url.Values
	At    []time.Time
}

func New(t testing.TB, keys ...string) *Fake {
	f := &Fake{t: t, keys: map[string]bool{}, window: map[string][]time.Time{}, sites: []string{"shop", "shop2"}}
	for _, k := range keys {
		f.keys[k] = true
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *Fake) reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Fake) fail(w http.ResponseWriter, code int, msg string, errs map[string]string) {
	body := map[string]any{"success": false, "errorMsg": msg}
	if errs != nil {
		body["errors"] = errs
	}
	f.reply(w, code, body)
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	now := time.Now() // the arrival, before waiting for the lock
	_ = r.ParseForm()
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.Requests++
	f.log = append(f.log, r.Method+" "+r.URL.Path)
	f.forms = append(f.forms, r.PostForm)
	f.At = append(f.At, now)
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<!DOCTYPE html><html><body>Not found</body></html>")
		return
	}
	if f.Force > 0 {
		f.Force--
		if f.ForceRetry != "" {
			w.Header().Set("Retry-After", f.ForceRetry)
		}
		f.fail(w, f.ForceCode, "Rate limit exceeded", nil)
		return
	}
	key := r.Header.Get("X-API-KEY")
	if key == "" {
		key = r.Form.Get("apiKey")
	}
	if key == "" {
		f.fail(w, http.StatusUnauthorized, `"apiKey" is missing.`, nil)
		return
	}
	if !f.keys[key] {
		f.fail(w, http.StatusForbidden, `Wrong "apiKey" value.`, nil)
		return
	}
	rate := f.rate
	if rate == 0 {
		rate = 10
	}
	win := f.window[key][:0]
	for _, t := range f.window[key] {
		if now.Sub(t) < time.Second {
			win = append(win, t)
		}
	}
	if len(win) >= rate {
		f.window[key] = win
		f.Limited++
		f.fail(w, http.StatusServiceUnavailable, "Rate limit exceeded", nil)
		return
	}
	f.window[key] = append(win, now)

	p := r.URL.Path
	get := r.Method == http.MethodGet
	post := r.Method == http.MethodPost
	if post && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		f.fail(w, http.StatusBadRequest, "Parameter 'customer' is missing", nil)
		return
	}
	switch {
	case get && p == "/api/credentials":
		f.reply(w, 200, map[string]any{"success": true, "scopes": []string{"order_read", "order_write", "customer_read", "customer_write"},
			"siteAccess": "access_selective", "sitesAvailable": f.sites})
	case get && p == "/api/v5/reference/sites":
		sites := map[string]any{}
		for i, s := range f.sites {
			sites[s] = map[string]any{"code": s, "name": "Магазин " + s, "ordering": i + 1, "url": "https://" + s + ".example.ru"}
		}
		f.reply(w, 200, map[string]any{"success": true, "sites": sites})
	case get && p == "/api/v5/reference/order-types":
		f.reply(w, 200, map[string]any{"success": true, "orderTypes": map[string]any{
			"eshop-individual": map[string]any{"code": "eshop-individual", "name": "Физическое лицо", "ordering": 1, "active": true},
			"eshop-legal":      map[string]any{"code": "eshop-legal", "name": "Юридическое лицо", "ordering": 2, "active": true}}})
	case get && p == "/api/v5/reference/statuses":
		f.reply(w, 200, map[string]any{"success": true, "statuses": map[string]any{
			"new":      map[string]any{"code": "new", "name": "Новый", "ordering": 10, "group": "new", "active": true},
			"assembly": map[string]any{"code": "assembly", "name": "Комплектуется", "ordering": 20, "group": "assembling", "active": true},
			"complete": map[string]any{"code": "complete", "name": "Выполнен", "ordering": 90, "group": "complete", "active": true}}})
	case get && p == "/api/v5/reference/status-groups":
		f.reply(w, 200, map[string]any{"success": true, "statusGroups": map[string]any{
			"new":        map[string]any{"code": "new", "name": "Новый", "ordering": 10, "statuses": []string{"new"}},
			"assembling": map[string]any{"code": "assembling", "name": "Комплектование", "ordering": 20, "statuses": []string{"assembly"}},
			"complete":   map[string]any{"code": "complete", "name": "Выполнен", "ordering": 90, "statuses": []string{"complete"}}}})
	case get && p == "/api/v5/custom-fields":
		var all []any
		for _, c := range []string{"source", "medium", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "gclid", "tags"} {
			typ := "string"
			if c == "tags" {
				typ = "text"
			}
			all = append(all, map[string]any{"code": c, "name": c, "type": typ, "entity": "order"})
		}
		f.page(w, r, "customFields", all)
	case get && p == "/api/v5/customers":
		var found []any
		name, email, site := r.Form.Get("filter[name]"), r.Form.Get("filter[email]"), r.Form.Get("filter[sites][]")
		for _, c := range f.Customers {
			if site != "" && c["site"] != site {
				continue
			}
			if name != "" && !f.nameMatches(c, name) {
				continue
			}
			if email != "" && !strings.Contains(strings.ToLower(fmt.Sprint(c["email"])), strings.ToLower(email)) {
				continue
			}
			found = append(found, c)
		}
		f.page(w, r, "customers", found)
	case post && p == "/api/v5/customers/create":
		f.create(w, r, key, "customer")
	case post && p == "/api/v5/orders/create":
		f.create(w, r, key, "order")
	case post && strings.HasSuffix(p, "/edit") && (strings.HasPrefix(p, "/api/v5/customers/") || strings.HasPrefix(p, "/api/v5/orders/")):
		entity := "customer"
		if strings.HasPrefix(p, "/api/v5/orders/") {
			entity = "order"
		}
		f.edit(w, r, key, entity, strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(p, "/api/v5/customers/"), "/api/v5/orders/"), "/edit"))
	case get && p == "/api/v5/orders":
		ids := r.Form["filter[ids][]"]
		var found []any
		for _, o := range f.orders {
			if len(ids) == 0 || slices.Contains(ids, fmt.Sprint(o["id"])) {
				found = append(found, f.view(o))
			}
		}
		f.page(w, r, "orders", found)
	case get && p == "/api/v5/orders/history":
		since, _ := strconv.ParseInt(r.Form.Get("filter[sinceId]"), 10, 64)
		var list []any
		for _, h := range f.history {
			if h["id"].(int64) <= since {
				continue
			}
			e := map[string]any{}
			for k, v := range h {
				if k != "_key" {
					e[k] = v
				}
			}
			if h["_key"] != "" {
				// "current": made with the key asking.
				e["apiKey"] = map[string]any{"current": h["_key"] == key}
			} else {
				e["user"] = map[string]any{"id": 7}
			}
			list = append(list, e)
		}
		f.page(w, r, "history", list)
	case get && (strings.HasPrefix(p, "/api/v5/orders/") || strings.HasPrefix(p, "/api/v5/customers/")):
		entity := "customer"
		if strings.HasPrefix(p, "/api/v5/orders/") {
			entity = "order"
		}
		id := strings.TrimPrefix(strings.TrimPrefix(p, "/api/v5/customers/"), "/api/v5/orders/")
		rec := f.find(entity, id, r.Form.Get("by"))
		if rec == nil {
			f.fail(w, http.StatusNotFound, "Not found", nil)
			return
		}
		if entity == "order" {
			rec = f.view(rec)
		}
		f.reply(w, 200, map[string]any{"success": true, entity: rec})
	default:
		f.fail(w, http.StatusNotFound, "API method not found", nil)
	}
}

// view is an order as the API reads it: its customer the whole
// customer object, not the {"id": …} it was written with.
func (f *Fake) view(o map[string]any) map[string]any {
	ref, _ := o["customer"].(map[string]any)
	if ref == nil || ref["id"] == nil {
		return o
	}
	c := f.find("customer", fmt.Sprint(ref["id"]), "id")
	if c == nil {
		return o
	}
	out := maps.Clone(o)
	full := maps.Clone(c)
	full["type"] = "customer"
	out["customer"] = full
	return out
}

func (f *Fake) nameMatches(c map[string]any, q string) bool {
	q = strings.ToLower(q)
	if strings.Contains(strings.ToLower(fmt.Sprint(c["firstName"], " ", c["lastName"])), q) {
		return true
	}
	phones, _ := c["phones"].([]any)
	for _, p := range phones {
		num := fmt.Sprint(p.(map[string]any)["number"])
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, num)
		if strings.Contains(digits, q) || strings.Contains(num, q) {
			return true
		}
	}
	return false
}

// page answers one page of list under key: limit 20 (default), 50 or 100.
func (f *Fake) page(w http.ResponseWriter, r *http.Request, key string, list []any) {
	limit := 20
	if l := r.Form.Get("limit"); l != "" {
		n, _ := strconv.Atoi(l)
		if n != 20 && n != 50 && n != 100 {
			f.fail(w, http.StatusBadRequest, "Errors in the input parameters", map[string]string{"limit": "Значение должно быть одним из 20, 50, 100."})
			return
		}
		limit = n
	}
	page := 1
	if p := r.Form.Get("page"); p != "" {
		page, _ = strconv.Atoi(p)
		if page < 1 {
			f.fail(w, http.StatusBadRequest, "Errors in the input parameters", map[string]string{"page": "Значение должно быть 1 или больше."})
			return
		}
	}
	from := min(len(list), (page-1)*limit)
	to := min(len(list), from+limit)
	pages := (len(list) + limit - 1) / limit
	f.reply(w, 200, map[string]any{"success": true, key: list[from:to],
		"pagination": map[string]any{"limit": limit, "totalCount": len(list), "currentPage": page, "totalPageCount": pages}})
}

func (f *Fake) decode(w http.ResponseWriter, r *http.Request, field string) map[string]any {
	raw := r.PostForm.Get(field)
	if raw == "" {
		f.fail(w, http.StatusBadRequest, "Parameter '"+field+"' is missing", nil)
		return nil
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		f.fail(w, http.StatusBadRequest, "Errors in the entity format", map[string]string{field: "Invalid JSON"})
		return nil
	}
	return obj
}

func (f *Fake) list(entity string) *[]map[string]any {
	if entity == "order" {
		return &f.orders
	}
	return &f.Customers
}

func (f *Fake) find(entity, id, by string) map[string]any {
	for _, rec := range *f.list(entity) {
		if (by == "id" && fmt.Sprint(rec["id"]) == id) || (by != "id" && rec["externalId"] != nil && fmt.Sprint(rec["externalId"]) == id) {
			return rec
		}
	}
	return nil
}

func (f *Fake) site(w http.ResponseWriter, r *http.Request, obj map[string]any) (string, bool) {
	site := r.PostForm.Get("site")
	if site == "" {
		site, _ = obj["site"].(string)
	}
	if site == "" {
		f.fail(w, http.StatusBadRequest, "Parameter 'site' is missing", nil)
		return "", false
	}
	if !slices.Contains(f.sites, site) {
		f.fail(w, http.StatusBadRequest, "Errors in the entity format", map[string]string{"site": fmt.Sprintf("Site with code %q not found", site)})
		return "", false
	}
	return site, true
}

func (f *Fake) create(w http.ResponseWriter, r *http.Request, key, entity string) {
	obj := f.decode(w, r, entity)
	if obj == nil {
		return
	}
	site, ok := f.site(w, r, obj)
	if !ok {
		return
	}
	if ext, ok := obj["externalId"].(string); ok && ext != "" && f.find(entity, ext, "externalId") != nil {
		f.fail(w, http.StatusBadRequest, strings.ToUpper(entity[:1])+entity[1:]+" already exists.", nil)
		return
	}
	if entity == "order" {
		if st, ok := obj["status"].(string); ok && !slices.Contains([]string{"new", "assembly", "complete"}, st) {
			f.fail(w, http.StatusBadRequest, "Errors in the entity format", map[string]string{"status": "Status \"" + st + "\" does not exist."})
			return
		}
	}
	list := f.list(entity)
	id := int64(len(*list) + 1)
	obj["id"] = id
	obj["site"] = site
	if entity == "order" {
		obj["number"] = fmt.Sprintf("%dA", id)
		if obj["status"] == nil {
			obj["status"] = "new"
		}
		if obj["totalSumm"] == nil {
			obj["totalSumm"] = 0
		}
		obj["statusUpdatedAt"] = "2026-12-05 10:00:00"
		f.record(key, obj, "status", nil, map[string]any{"code": obj["status"]}, true)
	}
	*list = append(*list, obj)
	if f.LoseAnswers > 0 {
		f.LoseAnswers--
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	body := map[string]any{"success": true, "id": id}
	if entity == "order" {
		body["order"] = obj
	}
	f.reply(w, http.StatusCreated, body)
}

func (f *Fake) edit(w http.ResponseWriter, r *http.Request, key, entity, id string) {
	obj := f.decode(w, r, entity)
	if obj == nil {
		return
	}
	by := r.PostForm.Get("by")
	if by == "" {
		by = "externalId"
	}
	rec := f.find(entity, id, by)
	if rec == nil {
		f.fail(w, http.StatusNotFound, "Not found", nil)
		return
	}
	for k, v := range obj {
		if k == "id" || k == "externalId" && by == "externalId" {
			continue
		}
		old := rec[k]
		rec[k] = v
		if entity == "order" && fmt.Sprint(old) != fmt.Sprint(v) {
			if k == "status" {
				f.record(key, rec, "status", map[string]any{"code": old}, map[string]any{"code": v}, false)
			} else {
				f.record(key, rec, HistoryField(k), old, v, false)
			}
		}
	}
	body := map[string]any{"success": true, "id": rec["id"]}
	if entity == "order" {
		body["order"] = rec
	}
	f.reply(w, 200, body)
}

// record appends a history entry; key "" is a manager in the CRM.
func (f *Fake) record(key string, order map[string]any, field string, old, nw any, created bool) {
	e := map[string]any{"id": int64(len(f.history) + 1), "createdAt": "2026-12-05 10:00:00", "source": "api", "field": field,
		"oldValue": old, "newValue": nw, "_key": key,
		"order": map[string]any{"id": order["id"], "externalId": order["externalId"], "site": order["site"], "status": order["status"]}}
	if created {
		e["created"] = true
	}
	if key == "" {
		e["source"] = "user"
	}
	f.history = append(f.history, e)
}

// ManagerSets changes an order's field as a manager in the CRM would.
func (f *Fake) ManagerSets(id int64, field string, v any) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	rec := f.find("order", strconv.FormatInt(id, 10), "id")
	if rec == nil {
		f.t.Fatalf("no order %d", id)
	}
	old := rec[field]
	rec[field] = v
	if field == "status" {
		f.record("", rec, "status", map[string]any{"code": old}, map[string]any{"code": v}, false)
		return
	}
	f.record("", rec, HistoryField(field), old, v, false)
}

// HistoryField is the code a change of an order's field has in the
// history: the field's API name in snake case ("managerComment" →
// "manager_comment"), as the entries of api-client-php's
// tests/src/ResourceGroup/OrdersTest.php show them (full_paid_at,
// payments.status, customer_comment, delivery_type).
func HistoryField(name string) string {
	var b strings.Builder
	for i, r := range name {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ManagerPays adds a paid payment of amount to an order as a manager
// does in the CRM, with the history entries retailCRM writes for it
// (api-client-php's OrdersTest.php): "payments" (the payment added,
// the history entry's "payment" holding it), "payments.status"
// not-paid → paid, "payments.paid_at", and "full_paid_at" when the
// payments cover the order's total. The order's prepaySum follows.
func (f *Fake) ManagerPays(id int64, amount float64) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	rec := f.find("order", strconv.FormatInt(id, 10), "id")
	if rec == nil {
		f.t.Fatalf("no order %d", id)
	}
	f.payments++
	pid := int64(f.payments)
	pay := map[string]any{"id": pid, "type": "bank-card", "status": "paid", "amount": amount, "paidAt": "2026-12-05 11:00:00"}
	payments, _ := rec["payments"].(map[string]any)
	if payments == nil {
		payments = map[string]any{}
	}
	payments[strconv.FormatInt(pid, 10)] = pay
	rec["payments"] = payments
	prepay := toFloat(rec["prepaySum"]) + amount
	rec["prepaySum"] = prepay
	ref := map[string]any{"id": pid, "type": "bank-card"}
	f.record("", rec, "payments", nil, ref, false)
	f.history[len(f.history)-1]["payment"] = map[string]any{"id": pid, "type": "bank-card", "status": "not-paid", "amount": amount}
	f.record("", rec, "payments.status", map[string]any{"code": "not-paid"}, map[string]any{"code": "paid"}, false)
	f.history[len(f.history)-1]["payment"] = ref
	f.record("", rec, "payments.paid_at", nil, pay["paidAt"], false)
	f.history[len(f.history)-1]["payment"] = ref
	if prepay >= toFloat(rec["totalSumm"]) {
		f.record("", rec, "full_paid_at", nil, "2026-12-05 11:00:00", false)
	}
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case json.Number:
		n, _ := x.Float64()
		return n
	}
	return 0
}

// Snapshot copies the customers and orders.
func (f *Fake) Snapshot() (customers, orders []map[string]any) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return slices.Clone(f.Customers), slices.Clone(f.orders)
}

// Counts are the requests answered and those refused for the rate.
func (f *Fake) Counts() (requests, limited int) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.Requests, f.Limited
}

// LastForm is the form of the last write.
func (f *Fake) LastForm() url.Values {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.forms[len(f.forms)-1]
}

// ManagerOrders adds n orders made in the CRM by a manager, and own
// changes made through key every ownEvery orders.
func (f *Fake) ManagerOrders(n int, key string, ownEvery int) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	for i := range n {
		id := int64(len(f.orders) + 1)
		o := map[string]any{"id": id, "site": "shop", "status": "new", "number": fmt.Sprintf("%dA", id), "totalSumm": 1000 + i}
		f.orders = append(f.orders, o)
		f.record("", o, "status", nil, map[string]any{"code": "new"}, true)
		if ownEvery > 0 && i%ownEvery == 0 {
			f.record(key, o, "managerComment", nil, "Obmen", false)
		}
	}
}
