// Package moyskladtest runs a fake of the remote API on loopback for tests,
// as net/http/httptest does: the connector's own tests and the templates'
// end-to-end test use it. Production code never imports it.
package moyskladtest

import (
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
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

// Fake is МойСклад's JSON API 1.2 as its documentation describes it
// (github.com/moysklad/api-remap-1.2-doc): gzip required (415 without),
// Basic or Bearer auth (401 with the error envelope and X-Lognex-Auth
// headers), the error envelope {"errors":[…]}, collections with
// meta.size/limit/offset, the filter syntax, syncId answering the
// entity made before, and the request budget: a number of requests per
// window per user with the X-RateLimit-*/X-Lognex-* headers, 429 with
// code 1049 past it and with 1073 past 5 parallel requests.
type Fake struct {
	t   testing.TB
	Srv *httptest.Server

	Login, Password, Token string

	// Budget: limit requests per window, parallel at most.
	Limit    int
	Window   time.Duration
	parallel int

	Mu        sync.Mutex
	winStart  time.Time
	winCount  int
	inflight  int
	maxFlight int
	requests  int
	tooMany   int
	calls     []string // "METHOD path?query"
	fail      []int    // statuses to answer next, before anything (1073: a 429 of the parallel limit)
	// lostAnswers: orders made whose answer is a 504.
	LostAnswers int
	clock       time.Time

	Orgs           []map[string]any
	States         []map[string]any
	attrs          []map[string]any
	counterparties []map[string]any
	orders         []map[string]any
	webhooks       []map[string]any
	bySync         map[string]map[string]any
}

func New(t testing.TB) *Fake {
	f := &Fake{t: t, Login: "admin@shop", Password: "secret", Token: "tok-123",
		Limit: 1000, Window: 3 * time.Second, parallel: 5,
		clock:  time.Date(2026, 12, 5, 10, 0, 0, 0, time.FixedZone("MSK", 3*3600)),
		bySync: map[string]map[string]any{}}
	f.Srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Srv.Close)
	base := f.Base()
	f.Orgs = []map[string]any{{"meta": f.meta("entity/organization/850c8195-f504-11e5-8a84-bae50000015e", "organization"),
		"id": "850c8195-f504-11e5-8a84-bae50000015e", "name": "ООО «Ромашка»"}}
	for i, n := range []string{"Новый", "Подтвержден", "Доставлен"} {
		id := fmt.Sprintf("fb56c504-2e58-11e6-8a84-bae50000006%d", i)
		f.States = append(f.States, map[string]any{"meta": f.meta("entity/customerorder/metadata/states/"+id, "state"), "id": id, "name": n,
			"stateType": "Regular", "entityType": "customerorder"})
	}
	for i, n := range []string{"source", "medium", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "gclid", "tags"} {
		id := fmt.Sprintf("0cd74e1e-2e59-11e6-8a84-bae5000000%02d", i)
		typ := "string"
		if n == "tags" {
			typ = "text"
		}
		f.attrs = append(f.attrs, map[string]any{"meta": f.meta("entity/customerorder/metadata/attributes/"+id, "attributemetadata"),
			"id": id, "name": n, "type": typ, "required": false})
	}
	_ = base
	return f
}

// Base is the API's base address, a connection's "url".
func (f *Fake) Base() string { return f.Srv.URL + "/api/remap/1.2" }

func (f *Fake) meta(path, typ string) map[string]any {
	return map[string]any{"href": f.Base() + "/" + path, "type": typ, "mediaType": "application/json"}
}

func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// tick is the fake's clock: each write is a moment later.
func (f *Fake) tick() string {
	f.clock = f.clock.Add(1500 * time.Millisecond)
	return f.clock.Format("2006-01-02 15:04:05.000")
}

type apiErr struct {
	Error    string `json:"error"`
	Code     int    `json:"code,omitempty"`
	MoreInfo string `json:"moreInfo,omitempty"`
}

func (f *Fake) write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("Content-Encoding", "gzip")
	w.WriteHeader(status)
	zw := gzip.NewWriter(w)
	_ = json.NewEncoder(zw).Encode(v)
	_ = zw.Close()
}

func (f *Fake) fail1(w http.ResponseWriter, status, code int, msg string) {
	f.write(w, status, map[string]any{"errors": []apiErr{{Error: msg, Code: code,
		MoreInfo: "https://dev.moysklad.ru/doc/api/remap/1.2/#error_" + strconv.Itoa(code)}}})
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.WriteHeader(http.StatusUnsupportedMediaType) // no body, as documented
		return
	}
	f.Mu.Lock()
	f.requests++
	f.calls = append(f.calls, r.Method+" "+strings.TrimPrefix(r.URL.Path, "/api/remap/1.2/")+"?"+r.URL.RawQuery)
	if len(f.fail) > 0 {
		st := f.fail[0]
		f.fail = f.fail[1:]
		f.Mu.Unlock()
		if st == 1073 {
			// The parallel limit: 429 with no wait named.
			f.fail1(w, http.StatusTooManyRequests, 1073, "Превышено ограничение на одновременное количество запросов")
			return
		}
		if st == http.StatusTooManyRequests {
			w.Header().Set("X-Lognex-Retry-After", "20")
			f.fail1(w, st, 1049, "Превышено ограничение на количество запросов в единицу времени")
			return
		}
		f.fail1(w, st, 0, "Сервис временно недоступен")
		return
	}
	now := time.Now()
	if now.Sub(f.winStart) >= f.Window {
		f.winStart, f.winCount = now, 0
	}
	f.winCount++
	f.inflight++
	if f.inflight > f.maxFlight {
		f.maxFlight = f.inflight
	}
	over := f.winCount > f.Limit
	parallel := f.inflight > f.parallel
	remaining := max(0, f.Limit-f.winCount)
	reset := f.Window - now.Sub(f.winStart)
	if over || parallel {
		f.tooMany++
	}
	f.Mu.Unlock()
	defer func() {
		f.Mu.Lock()
		f.inflight--
		f.Mu.Unlock()
	}()
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(f.Limit))
	w.Header().Set("X-Lognex-Retry-TimeInterval", strconv.FormatInt(f.Window.Milliseconds(), 10))
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	w.Header().Set("X-Lognex-Reset", strconv.FormatInt(reset.Milliseconds(), 10))
	if parallel {
		f.fail1(w, http.StatusTooManyRequests, 1073, "Превышено ограничение на одновременное количество запросов")
		return
	}
	if over {
		w.Header().Set("X-Lognex-Retry-After", strconv.FormatInt(reset.Milliseconds(), 10))
		f.fail1(w, http.StatusTooManyRequests, 1049, "Превышено ограничение на количество запросов в единицу времени")
		return
	}
	if !f.authorized(r) {
		w.Header().Set("X-Lognex-Auth", "-1")
		w.Header().Set("X-Lognex-Auth-Message", "Неправильный пароль или имя пользователя или ключ авторизации")
		f.fail1(w, http.StatusUnauthorized, 1056, "Ошибка аутентификации: Неправильный пароль или имя пользователя или ключ авторизации")
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/api/remap/1.2/")
	if !ok {
		f.fail1(w, http.StatusNotFound, 1002, "Неопознанный путь: "+r.URL.Path)
		return
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.route(w, r, path)
}

func (f *Fake) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return tok == f.Token
	}
	if b, ok := strings.CutPrefix(h, "Basic "); ok {
		raw, err := base64.StdEncoding.DecodeString(b)
		return err == nil && string(raw) == f.Login+":"+f.Password
	}
	return false
}

func (f *Fake) route(w http.ResponseWriter, r *http.Request, path string) {
	parts := strings.Split(path, "/")
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			f.fail1(w, http.StatusBadRequest, 2002, "Ошибка формата: неверный JSON")
			return
		}
	}
	switch {
	case path == "context/employee" && r.Method == http.MethodGet:
		f.write(w, 200, map[string]any{"meta": f.meta("context/employee", "employee"), "id": "e1", "name": "Администратор", "uid": f.Login})
	case path == "entity/organization" && r.Method == http.MethodGet:
		f.list(w, r, "entity/organization", "organization", f.Orgs)
	case path == "entity/customerorder/metadata" && r.Method == http.MethodGet:
		f.write(w, 200, map[string]any{"meta": f.meta("entity/customerorder/metadata", ""), "attributes": f.attrs, "states": f.States, "createShared": false})
	case path == "entity/counterparty" && r.Method == http.MethodGet:
		f.list(w, r, "entity/counterparty", "counterparty", f.counterparties)
	case path == "entity/counterparty" && r.Method == http.MethodPost:
		if s, _ := body["name"].(string); s == "" {
			f.fail1(w, http.StatusPreconditionFailed, 3000, "Ошибка сохранения объекта: поле 'name' не может быть пустым или отсутствовать")
			return
		}
		f.write(w, 200, f.create("entity/counterparty", "counterparty", body, &f.counterparties))
	case len(parts) == 3 && parts[0] == "entity" && parts[1] == "counterparty" && r.Method == http.MethodPut:
		f.update(w, "counterparty", parts[2], body, f.counterparties)
	case path == "entity/customerorder" && r.Method == http.MethodGet:
		f.list(w, r, "entity/customerorder", "customerorder", f.orders)
	case path == "entity/customerorder" && r.Method == http.MethodPost:
		for _, req := range []string{"organization", "agent"} {
			if _, ok := body[req].(map[string]any); !ok {
				f.fail1(w, http.StatusPreconditionFailed, 3000, "Ошибка сохранения объекта: поле '"+req+"' не может быть пустым или отсутствовать")
				return
			}
		}
		if msg := f.checkRefs(body); msg != "" {
			f.fail1(w, http.StatusBadRequest, 1021, msg)
			return
		}
		made := f.create("entity/customerorder", "customerorder", body, &f.orders)
		if f.LostAnswers > 0 {
			// The order is made, the answer lost (a gateway timeout):
			// the retry must not make a second one.
			f.LostAnswers--
			f.fail1(w, http.StatusGatewayTimeout, 0, "Превышен таймаут обращения к сервису")
			return
		}
		f.write(w, 200, made)
	case len(parts) == 3 && parts[0] == "entity" && parts[1] == "customerorder" && r.Method == http.MethodGet:
		for _, o := range f.orders {
			if o["id"] == parts[2] {
				f.write(w, 200, f.expand(o, r.URL.Query().Get("expand")))
				return
			}
		}
		f.fail1(w, http.StatusNotFound, 1021, "Объект с типом 'customerorder' и идентификатором '"+parts[2]+"' не найден")
	case len(parts) == 3 && parts[0] == "entity" && parts[1] == "customerorder" && r.Method == http.MethodPut:
		if msg := f.checkRefs(body); msg != "" {
			f.fail1(w, http.StatusBadRequest, 1021, msg)
			return
		}
		f.update(w, "customerorder", parts[2], body, f.orders)
	case path == "entity/webhook" && r.Method == http.MethodGet:
		f.list(w, r, "entity/webhook", "webhook", f.webhooks)
	case path == "entity/webhook" && r.Method == http.MethodPost:
		if u, _ := body["url"].(string); u == "" || body["entityType"] == nil || body["action"] == nil {
			f.fail1(w, http.StatusPreconditionFailed, 3000, "Ошибка сохранения объекта: поле 'url' не может быть пустым или отсутствовать")
			return
		}
		f.write(w, 200, f.create("entity/webhook", "webhook", body, &f.webhooks))
	case len(parts) == 3 && parts[0] == "entity" && parts[1] == "webhook" && r.Method == http.MethodDelete:
		for i, h := range f.webhooks {
			if h["id"] == parts[2] {
				f.webhooks = append(f.webhooks[:i], f.webhooks[i+1:]...)
				w.WriteHeader(http.StatusOK)
				return
			}
		}
		f.fail1(w, http.StatusNotFound, 1021, "Объект с типом 'webhook' и идентификатором '"+parts[2]+"' не найден")
	default:
		f.fail1(w, http.StatusNotFound, 1002, "Неопознанный путь: "+path)
	}
}

// checkRefs refuses a state or an attribute whose href the account has
// not.
func (f *Fake) checkRefs(body map[string]any) string {
	if st, ok := body["state"].(map[string]any); ok {
		h := HrefIn(st)
		found := false
		for _, s := range f.States {
			found = found || HrefIn(s) == h
		}
		if !found {
			return "Объект с типом 'state' не найден: " + h
		}
	}
	if attrs, ok := body["attributes"].([]any); ok {
		for _, a := range attrs {
			h := HrefIn(a.(map[string]any))
			found := false
			for _, m := range f.attrs {
				found = found || HrefIn(m) == h
			}
			if !found {
				return "Объект с типом 'attributemetadata' не найден: " + h
			}
		}
	}
	return ""
}

// HrefIn is the href of the meta of m, "" without one.
func HrefIn(m map[string]any) string {
	mm, _ := m["meta"].(map[string]any)
	s, _ := mm["href"].(string)
	return s
}

func (f *Fake) create(path, typ string, body map[string]any, into *[]map[string]any) map[string]any {
	if sid, _ := body["syncId"].(string); sid != "" {
		if prev, ok := f.bySync[typ+"/"+sid]; ok {
			return prev // the entity made by the first request with this syncId
		}
	}
	id := uuid()
	e := map[string]any{}
	for k, v := range body {
		e[k] = v
	}
	e["id"], e["meta"], e["accountId"] = id, f.meta(path+"/"+id, typ), "84e60e93-f504-11e5-8a84-bae500000008"
	now := f.tick()
	e["updated"] = now
	if typ == "customerorder" {
		e["created"] = now
		if _, ok := e["name"]; !ok {
			e["name"] = fmt.Sprintf("%05d", len(*into)+1)
		}
		for _, k := range []string{"sum", "payedSum", "shippedSum"} {
			if _, ok := e[k]; !ok {
				e[k] = 0
			}
		}
		f.nameAttrs(e)
	}
	*into = append(*into, e)
	if sid, _ := body["syncId"].(string); sid != "" {
		f.bySync[typ+"/"+sid] = e
	}
	return e
}

// nameAttrs gives attributes their name and type, as answers do.
func (f *Fake) nameAttrs(e map[string]any) {
	attrs, _ := e["attributes"].([]any)
	for _, a := range attrs {
		am := a.(map[string]any)
		for _, m := range f.attrs {
			if HrefIn(m) == HrefIn(am) {
				am["name"], am["type"], am["id"] = m["name"], m["type"], m["id"]
			}
		}
	}
}

func (f *Fake) update(w http.ResponseWriter, typ, id string, body map[string]any, in []map[string]any) {
	for _, e := range in {
		if e["id"] == id {
			for k, v := range body {
				if k == "attributes" {
					f.mergeAttrs(e, v)
					continue
				}
				e[k] = v
			}
			e["updated"] = f.tick()
			f.write(w, 200, e)
			return
		}
	}
	f.fail1(w, http.StatusNotFound, 1021, fmt.Sprintf("Объект с типом '%s' и идентификатором '%s' не найден", typ, id))
}

func (f *Fake) mergeAttrs(e map[string]any, v any) {
	old, _ := e["attributes"].([]any)
	for _, a := range v.([]any) {
		am := a.(map[string]any)
		replaced := false
		for i, o := range old {
			if HrefIn(o.(map[string]any)) == HrefIn(am) {
				old[i], replaced = am, true
			}
		}
		if !replaced {
			old = append(old, am)
		}
	}
	e["attributes"] = old
	f.nameAttrs(e)
}

// expand replaces the links named in expand ("state,agent", comma
// separated as the API takes them) with the entities they point to.
func (f *Fake) expand(e map[string]any, expand string) map[string]any {
	if expand == "" {
		return e
	}
	out := map[string]any{}
	for k, v := range e {
		out[k] = v
	}
	for _, name := range strings.Split(expand, ",") {
		var in []map[string]any
		switch name {
		case "state":
			in = f.States
		case "agent":
			in = f.counterparties
		default:
			continue
		}
		if ref, ok := e[name].(map[string]any); ok {
			for _, s := range in {
				if HrefIn(s) == HrefIn(ref) {
					out[name] = s
				}
			}
		}
	}
	return out
}

// cond is one condition of the filter.
type cond struct{ field, op, value string }

// parseFilter splits "a=1;b~x" on ";" (an escaped "\;" stays), each
// condition into field, operator and value.
func parseFilter(s string) ([]cond, error) {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == ';' {
			cur.WriteByte(';')
			i++
			continue
		}
		if s[i] == ';' {
			parts = append(parts, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(s[i])
	}
	if cur.Len() > 0 {
		parts = append(parts, cur.String())
	}
	var out []cond
	for _, p := range parts {
		i := strings.IndexAny(p, "=<>!~")
		if i <= 0 {
			return nil, fmt.Errorf("condition %q", p)
		}
		field, rest := p[:i], p[i:]
		var op string
		for _, o := range []string{">=", "<=", "!=", "~=", "=~", "=", "~", ">", "<"} {
			if strings.HasPrefix(rest, o) {
				op = o
				break
			}
		}
		out = append(out, cond{field, op, rest[len(op):]})
	}
	return out, nil
}

func (f *Fake) match(e map[string]any, conds []cond) (bool, error) {
	eq := map[string][]string{}
	for _, c := range conds {
		v := fmt.Sprint(e[c.field])
		if e[c.field] == nil {
			v = ""
		}
		switch c.op {
		case "=":
			eq[c.field] = append(eq[c.field], c.value)
		case "!=":
			if v == c.value {
				return false, nil
			}
		case "~":
			if !strings.Contains(strings.ToLower(v), strings.ToLower(c.value)) {
				return false, nil
			}
		case "~=":
			if !strings.HasPrefix(strings.ToLower(v), strings.ToLower(c.value)) {
				return false, nil
			}
		case "=~":
			if !strings.HasSuffix(strings.ToLower(v), strings.ToLower(c.value)) {
				return false, nil
			}
		case ">=", "<=", ">", "<":
			if c.field != "updated" && c.field != "created" {
				return false, fmt.Errorf("field %s", c.field)
			}
			if _, err := time.Parse("2006-01-02 15:04:05", c.value); err != nil {
				if _, err := time.Parse("2006-01-02 15:04", c.value); err != nil {
					return false, fmt.Errorf("value %q", c.value)
				}
			}
			// Moments of one layout compare as text; the filter's
			// value has no milliseconds, which compares below any
			// moment of that second with them.
			cmp := strings.Compare(v, c.value)
			ok := map[string]bool{">=": cmp >= 0, "<=": cmp <= 0 || strings.HasPrefix(v, c.value), ">": cmp > 0 && !strings.HasPrefix(v, c.value), "<": cmp < 0}[c.op]
			if !ok {
				return false, nil
			}
		}
	}
	for field, vals := range eq {
		v := fmt.Sprint(e[field])
		found := false
		for _, want := range vals {
			found = found || v == want
		}
		if !found {
			return false, nil
		}
	}
	return true, nil
}

func (f *Fake) list(w http.ResponseWriter, r *http.Request, path, typ string, all []map[string]any) {
	q := r.URL.Query()
	limit, offset := 1000, 0
	if s := q.Get("limit"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	if s := q.Get("offset"); s != "" {
		offset, _ = strconv.Atoi(s)
	}
	if limit > 1000 || (q.Get("expand") != "" && limit > 100) {
		f.fail1(w, http.StatusBadRequest, 1034, "Ошибка: параметр 'limit' превышает допустимое значение")
		return
	}
	var conds []cond
	if s := q.Get("filter"); s != "" {
		var err error
		if conds, err = parseFilter(s); err != nil {
			f.fail1(w, http.StatusBadRequest, 1014, "Неверное значение параметра фильтрации: "+err.Error())
			return
		}
	}
	if _, err := f.match(map[string]any{}, conds); err != nil {
		f.fail1(w, http.StatusBadRequest, 1014, "Неверное значение '"+err.Error()+"' параметра фильтрации")
		return
	}
	var rows []map[string]any
	for _, e := range all {
		ok, err := f.match(e, conds)
		if err != nil {
			f.fail1(w, http.StatusBadRequest, 1014, "Неверное значение '"+err.Error()+"' параметра фильтрации")
			return
		}
		if ok {
			rows = append(rows, e)
		}
	}
	if o := q.Get("order"); o != "" {
		keys := strings.Split(o, ";")
		sort.SliceStable(rows, func(i, j int) bool {
			for _, k := range keys {
				field, dir, _ := strings.Cut(k, ",")
				a, b := fmt.Sprint(rows[i][field]), fmt.Sprint(rows[j][field])
				if a == b {
					continue
				}
				if dir == "desc" {
					return a > b
				}
				return a < b
			}
			return false
		})
	}
	size := len(rows)
	page := []map[string]any{}
	for i := offset; i < len(rows) && i < offset+limit; i++ {
		page = append(page, f.expand(rows[i], q.Get("expand")))
	}
	m := f.meta(path, typ)
	m["size"], m["limit"], m["offset"] = size, limit, offset
	if offset+limit < size {
		m["nextHref"] = f.Base() + "/" + path + "?offset=" + strconv.Itoa(offset+limit) + "&limit=" + strconv.Itoa(limit)
	}
	f.write(w, 200, map[string]any{"meta": m, "rows": page})
}

// helpers the tests use

// FailNext answers the next requests with these statuses first.
func (f *Fake) FailNext(statuses ...int) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.fail = append(f.fail, statuses...)
}

// Stats are the requests answered, the 429s and the most in flight at once.
func (f *Fake) Stats() (requests, tooMany, maxFlight int) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.requests, f.tooMany, f.maxFlight
}

// CallLog is every request as "METHOD path?query", in order.
func (f *Fake) CallLog() []string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return append([]string(nil), f.calls...)
}

// AddOrder adds an order updated at the given moment (MSK).
func (f *Fake) AddOrder(updated string, state int) map[string]any {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	id := uuid()
	o := map[string]any{"id": id, "meta": f.meta("entity/customerorder/"+id, "customerorder"), "name": fmt.Sprintf("%05d", len(f.orders)+1),
		"updated": updated, "created": updated, "sum": 150000, "payedSum": 0, "shippedSum": 0,
		"state": map[string]any{"meta": f.States[state]["meta"]}, "agent": map[string]any{"meta": f.meta("entity/counterparty/"+uuid(), "counterparty")}}
	f.orders = append(f.orders, o)
	return o
}

// Set sets a field of the order id as a user of МойСклад would (the
// sum in kopecks, as the API gives it), without touching updated.
func (f *Fake) Set(id, field string, v any) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	for _, o := range f.orders {
		if o["id"] == id {
			o[field] = v
		}
	}
}

// Touch changes an order's state and payment at the given moment.
func (f *Fake) Touch(id, updated string, state int, payed int) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	for _, o := range f.orders {
		if o["id"] == id {
			o["updated"], o["state"], o["payedSum"] = updated, map[string]any{"meta": f.States[state]["meta"]}, payed
		}
	}
}

// Order is a copy of the customer order id, nil without one.
func (f *Fake) Order(id string) map[string]any {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	for _, o := range f.orders {
		if o["id"] == id {
			b, _ := json.Marshal(o)
			var out map[string]any
			_ = json.Unmarshal(b, &out)
			return out
		}
	}
	return nil
}

// AddCounterparty adds a counterparty as a user would and gives its id.
func (f *Fake) AddCounterparty(name, phone, email string) string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	id := uuid()
	f.counterparties = append(f.counterparties, map[string]any{"id": id, "meta": f.meta("entity/counterparty/"+id, "counterparty"),
		"name": name, "phone": phone, "email": email, "updated": f.tick()})
	return id
}

// Count is how many entities of typ there are.
func (f *Fake) Count(typ string) int {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	switch typ {
	case "counterparty":
		return len(f.counterparties)
	case "customerorder":
		return len(f.orders)
	}
	return len(f.webhooks)
}
