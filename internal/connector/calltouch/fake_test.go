package calltouch_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fake is Calltouch's API as its help pages describe it: the calls diary
// (dates dd/mm/yyyy, paged with page/limit in an envelope), the requests
// journal (dates mm/dd/yyyy plus HH:mm:ss times, one array), the deals
// journal, and the deals API v2 (POST JSON, Access-Token and SiteId
// headers). Its limit is the documented 5 requests a second: a sixth
// within a second is answered 429 with Retry-After.
//
// What the pages do not show — the bodies of errors, the deals API's
// answer — is modelled on what Calltouch's services (Spring) answer:
// {"timestamp","status","error","message","path"} and
// {"data":{"orders":[…]}}; the client reads every such shape.
type fake struct {
	t      *testing.T
	srv    *httptest.Server
	site   string
	token  string
	loc    *time.Location
	limit  int // requests a second; 0: no limit
	mu     sync.Mutex
	calls  []fakeCall
	reqs   []fakeRequest
	deals  map[string]map[string]any
	nextID int
	log    []fakeHit
	times  []time.Time // arrival of every request
	// fail answers the next requests with these statuses first (503,
	// 429 without Retry-After…).
	fail      []int
	limited   int // 429s answered for the rate
	maxPerSec int
}

type fakeCall struct {
	ID   int
	At   time.Time
	JSON map[string]any
}

type fakeRequest struct {
	ID   int
	At   time.Time
	JSON map[string]any
}

type fakeHit struct {
	Method, Path string
	Query        map[string][]string
	Header       http.Header
	Body         map[string]any
}

func newFake(t *testing.T) *fake {
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{t: t, site: "31415", token: "ct-token", loc: loc, limit: 5, deals: map[string]map[string]any{}, nextID: 1000}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) URL() string { return f.srv.URL }

// addCall puts a call in the diary.
func (f *fake) addCall(id int, at time.Time, extra map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := map[string]any{"callId": id, "date": at.In(f.loc).Format("02/01/2006 15:04:05"), "callerNumber": fmt.Sprintf("7925%07d", id),
		"phoneNumber": "74950000000", "duration": 61, "waitingConnect": 5, "successful": true, "uniqueCall": true, "targetCall": false,
		"uniqTargetCall": false, "callbackCall": false, "source": "yandex", "medium": "cpc", "keyword": "диван",
		"utmSource": "yandex", "utmMedium": "cpc", "utmCampaign": "sofa", "utmContent": "ad1", "utmTerm": "диван купить",
		"sessionId": 5000 + id, "clientId": "GA1.2.3.4", "yaClientId": "16000000001", "ctClientId": 77,
		"callTags": []any{map[string]any{"category": "Авто-теги", "type": "AUTO-DTMF", "names": []any{"1"}},
			map[string]any{"category": "Авто-теги", "type": "AUTO-NUMBER", "names": []any{"Москва"}}}}
	for k, v := range extra {
		j[k] = v
	}
	f.calls = append(f.calls, fakeCall{ID: id, At: at, JSON: j})
}

// addRequest puts a request in the journal.
func (f *fake) addRequest(id int, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := map[string]any{"requestId": id, "requestNumber": fmt.Sprintf("site-%d", id), "subject": "Заказать звонок",
		"date": at.UnixMilli(), "dateStr": at.In(f.loc).Format("02/01/2006 15:04:05"),
		"client": map[string]any{"clientId": 9, "fio": "Анна Петрова", "phones": []any{map[string]any{"phoneNumber": "79161234567", "phoneType": "MOBILE"}},
			"contacts": []any{map[string]any{"contactType": "email", "contactValue": "anna@example.ru"}}},
		"session": map[string]any{"sessionId": 6000 + id, "source": "google", "medium": "organic", "utmSource": "google", "utmMedium": "organic",
			"utmCampaign": "", "utmContent": "", "utmTerm": "", "guaClientId": "GA1.2.5.6", "yaClientId": "16000000002"},
		"ctClientId": 78, "RequestTags": []any{map[string]any{"category": "Ручные", "type": "MANUAL", "names": []any{"горячий"}}}}
	f.reqs = append(f.reqs, fakeRequest{ID: id, At: at, JSON: j})
}

func (f *fake) hits(path string) []fakeHit {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeHit
	for _, h := range f.log {
		if strings.Contains(h.Path, path) {
			out = append(out, h)
		}
	}
	return out
}

func (f *fake) deal(number string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deals[number]
}

func (f *fake) stats() (requests, limited, maxPerSec int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.times), f.limited, f.maxPerSec
}

func (f *fake) springError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"timestamp": time.Now().UTC().Format(time.RFC3339), "status": status,
		"error": http.StatusText(status), "message": msg, "path": r.URL.Path})
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	f.mu.Lock()
	var body map[string]any
	if r.Method == http.MethodPost {
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			f.mu.Unlock()
			f.springError(w, r, http.StatusBadRequest, "JSON parse error: "+err.Error())
			return
		}
	}
	f.log = append(f.log, fakeHit{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
	f.times = append(f.times, now)
	inSec := 0
	for _, t := range f.times {
		if now.Sub(t) < time.Second {
			inSec++
		}
	}
	f.maxPerSec = max(f.maxPerSec, inSec)
	if len(f.fail) > 0 {
		st := f.fail[0]
		f.fail = f.fail[1:]
		f.mu.Unlock()
		f.springError(w, r, st, "Service temporarily unavailable")
		return
	}
	if f.limit > 0 && inSec > f.limit {
		f.limited++
		f.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		f.springError(w, r, http.StatusTooManyRequests, "Превышен лимит: не более 5 запросов в секунду")
		return
	}
	f.mu.Unlock()

	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/calls-diary/calls"):
		f.callsDiary(w, r)
	case r.Method == http.MethodGet && strings.TrimSuffix(r.URL.Path, "/") == "/calls-service/RestAPI/requests":
		f.requests(w, r)
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/orders-diary/orders"):
		f.ordersDiary(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/lead-service/v1/api/client-order/create":
		f.createDeals(w, r, body)
	case r.Method == http.MethodPost && r.URL.Path == "/lead-service/v1/api/client-order/update":
		f.updateDeals(w, r, body)
	default:
		f.springError(w, r, http.StatusNotFound, "No handler found for "+r.Method+" "+r.URL.Path)
	}
}

// journalAuth checks clientApiId and the site of a journal request.
func (f *fake) journalAuth(w http.ResponseWriter, r *http.Request, site string) bool {
	if r.URL.Query().Get("clientApiId") != f.token {
		f.springError(w, r, http.StatusUnauthorized, "Invalid clientApiId")
		return false
	}
	if site != f.site {
		f.springError(w, r, http.StatusNotFound, "Site "+site+" not found")
		return false
	}
	return true
}

func (f *fake) callsDiary(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // calls-service RestAPI {site} calls-diary calls
	if !f.journalAuth(w, r, parts[2]) {
		return
	}
	q := r.URL.Query()
	from, err1 := time.ParseInLocation("02/01/2006", q.Get("dateFrom"), f.loc)
	to, err2 := time.ParseInLocation("02/01/2006", q.Get("dateTo"), f.loc)
	if err1 != nil || err2 != nil {
		f.springError(w, r, http.StatusBadRequest, "dateFrom and dateTo must be dd/mm/yyyy")
		return
	}
	if to.Before(from) {
		f.springError(w, r, http.StatusBadRequest, "dateFrom must not be after dateTo")
		return
	}
	paged := q.Get("page") != ""
	if !paged && !from.Equal(to) {
		f.springError(w, r, http.StatusBadRequest, "A period of one day only, unless paged")
		return
	}
	f.mu.Lock()
	var recs []map[string]any
	sort.Slice(f.calls, func(i, j int) bool { return f.calls[i].At.Before(f.calls[j].At) })
	for _, c := range f.calls {
		if !c.At.Before(from) && c.At.Before(to.AddDate(0, 0, 1)) {
			recs = append(recs, c.JSON)
		}
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !paged {
		json.NewEncoder(w).Encode(orEmpty(recs))
		return
	}
	page, _ := strconv.Atoi(q.Get("page"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	if page < 1 || limit < 1 || limit > 1000 {
		f.springError(w, r, http.StatusBadRequest, "page must be ≥ 1, limit from 1 to 1000")
		return
	}
	total := max(1, (len(recs)+limit-1)/limit)
	lo, hi := min(len(recs), (page-1)*limit), min(len(recs), page*limit)
	json.NewEncoder(w).Encode(map[string]any{"page": page, "pageTotal": total, "pageSize": limit, "recordsTotal": len(recs), "records": orEmpty(recs[lo:hi])})
}

func orEmpty(xs []map[string]any) []map[string]any {
	if xs == nil {
		return []map[string]any{}
	}
	return xs
}

func (f *fake) requests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !f.journalAuth(w, r, q.Get("siteId")) {
		return
	}
	from, err1 := time.ParseInLocation("01/02/2006 15:04:05", q.Get("dateFrom")+" "+or(q.Get("timeFrom"), "00:00:00"), f.loc)
	to, err2 := time.ParseInLocation("01/02/2006 15:04:05", q.Get("dateTo")+" "+or(q.Get("timeTo"), "23:59:59"), f.loc)
	if err1 != nil || err2 != nil {
		f.springError(w, r, http.StatusBadRequest, "dateFrom and dateTo must be mm/dd/yyyy, timeFrom and timeTo HH:mm:ss")
		return
	}
	f.mu.Lock()
	var recs []map[string]any
	for _, x := range f.reqs {
		at := x.At.Truncate(time.Second)
		if !at.Before(from) && !at.After(to) {
			recs = append(recs, x.JSON)
		}
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(orEmpty(recs))
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (f *fake) ordersDiary(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if !f.journalAuth(w, r, parts[2]) {
		return
	}
	f.mu.Lock()
	var recs []map[string]any
	for _, d := range f.deals {
		recs = append(recs, map[string]any{"orderId": d["orderId"], "orderNumber": d["orderNumber"], "status": d["status"], "funnel": d["funnel"]})
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(orEmpty(recs))
}

// dealAuth checks the deals API's headers.
func (f *fake) dealAuth(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Access-Token") != f.token {
		f.springError(w, r, http.StatusUnauthorized, "Invalid Access-Token")
		return false
	}
	if r.Header.Get("SiteId") != f.site {
		f.springError(w, r, http.StatusForbidden, "No access to site "+r.Header.Get("SiteId"))
		return false
	}
	return true
}

func badOrders(w http.ResponseWriter, errs []map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]any{"data": nil, "errors": errs})
}

func (f *fake) createDeals(w http.ResponseWriter, r *http.Request, body map[string]any) {
	if !f.dealAuth(w, r) {
		return
	}
	orders, _ := body["orders"].([]any)
	if body["crm"] == nil || len(orders) == 0 {
		badOrders(w, []map[string]any{{"field": "orders", "message": "crm and orders are required"}})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []any
	for i, o := range orders {
		m, _ := o.(map[string]any)
		num, _ := m["orderNumber"].(string)
		matching, _ := m["matching"].([]any)
		if num == "" || len(matching) == 0 {
			badOrders(w, []map[string]any{{"field": fmt.Sprintf("orders[%d]", i), "message": "orderNumber and matching are required"}})
			return
		}
		if _, dup := f.deals[num]; dup {
			badOrders(w, []map[string]any{{"field": fmt.Sprintf("orders[%d].orderNumber", i), "message": "Order " + num + " already exists"}})
			return
		}
		f.nextID++
		m["orderId"] = f.nextID
		f.deals[num] = m
		out = append(out, map[string]any{"orderId": f.nextID, "orderNumber": num})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"orders": out}})
}

func (f *fake) updateDeals(w http.ResponseWriter, r *http.Request, body map[string]any) {
	if !f.dealAuth(w, r) {
		return
	}
	orders, _ := body["orders"].([]any)
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []any
	for i, o := range orders {
		m, _ := o.(map[string]any)
		num, _ := m["orderNumber"].(string)
		d, ok := f.deals[num]
		if !ok {
			badOrders(w, []map[string]any{{"field": fmt.Sprintf("orders[%d].orderNumber", i), "message": "Order " + num + " not found"}})
			return
		}
		for k, v := range m {
			switch k {
			case "addNewComment":
				d["comments"] = append(asList(d["comments"]), v.(map[string]any)["text"])
			case "addTags":
				for _, t := range asList(v.(map[string]any)["tags"]) {
					d["tags"] = append(asList(d["tags"]), t.(map[string]any)["tag"])
				}
			default:
				d[k] = v
			}
		}
		out = append(out, map[string]any{"orderId": d["orderId"], "orderNumber": num})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"orders": out}})
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
