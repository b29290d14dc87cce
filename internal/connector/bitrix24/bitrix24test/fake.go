// Package bitrix24test runs a fake Bitrix24 portal on loopback for tests,
// as net/http/httptest does. Production code never imports it.
//
// It answers as b24restdocs describe: {"result", "next", "total", "time"}
// envelopes, {"error", "error_description"} refusals, lists paged by 50
// with start/next, batch with cmd[key]=method?query and $result[key]
// references (result, result_error as PHP's [] when empty), a leaky bucket
// per portal answered 503 QUERY_LIMIT_EXCEEDED, 429 OPERATION_TIME_LIMIT
// with time.operating_reset_at, 401 NO_AUTH_FOUND for a wrong webhook and
// expired_token for an old OAuth token, and the OAuth server's
// grant_type=refresh_token with single-use refresh tokens.
package bitrix24test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fake is the portal.
type Fake struct {
	*httptest.Server
	Mu sync.Mutex
	// UserID and Code are the incoming webhook's.
	UserID int64
	Code   string
	// Rate and Burst are the leaky bucket (0: 2 and 50).
	Rate  float64
	Burst float64
	level float64
	last  time.Time
	// Arrivals are when each REST request arrived (the bucket's proof).
	Arrivals []time.Time
	// Limited counts the requests refused for the bucket.
	Limited int
	// Force answers the next Force requests with ForceStatus/ForceCode.
	Force       int
	ForceStatus int
	ForceCode   string
	// Delay holds every answer back this long (slow answers).
	Delay time.Duration
	// OAuth: the access tokens that work, the refresh tokens that do,
	// and the ones given out.
	ClientID, ClientSecret string
	access                 map[string]bool
	refresh                map[string]bool
	issued                 int
	Refreshes              int
	// Records by entity (CONTACT, COMPANY, DEAL, LEAD, …): id → fields.
	Records map[string]map[int64]map[string]any
	Rows    map[int64][]any // deal id → product rows
	nextID  int64
	Users   int // how many users user.get lists (0: 1)
	// Methods counts the calls of each method (inside batches too).
	Methods map[string]int
}

// New starts a fake portal with an incoming webhook of user 1.
func New(t testing.TB) *Fake {
	f := &Fake{UserID: 1, Code: "hookcode123", access: map[string]bool{}, refresh: map[string]bool{},
		Records: map[string]map[int64]map[string]any{}, Rows: map[int64][]any{}, Methods: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// OAuthApp sets the application's credentials and returns a refresh
// token that works (its access token is not known yet).
func (f *Fake) OAuthApp(clientID, secret string) string {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.ClientID, f.ClientSecret = clientID, secret
	f.issued++
	r := fmt.Sprintf("refresh-%d", f.issued)
	f.refresh[r] = true
	return r
}

// ExpireTokens makes every access token given so far expired.
func (f *Fake) ExpireTokens() {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.access = map[string]bool{}
}

// Count is how many records of entity exist.
func (f *Fake) Count(entity string) int {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return len(f.Records[entity])
}

func write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func refusal(w http.ResponseWriter, status int, code, desc string) {
	write(w, status, map[string]any{"error": code, "error_description": desc})
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/oauth/token/") {
		f.token(w, r)
		return
	}
	if f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	now := time.Now()
	f.Arrivals = append(f.Arrivals, now)
	rate, burst := f.Rate, f.Burst
	if rate == 0 {
		rate, burst = 2, 50
	}
	if !f.last.IsZero() {
		f.level = max(0, f.level-now.Sub(f.last).Seconds()*rate)
	}
	f.last = now
	if f.level+1 > burst {
		f.Limited++
		refusal(w, http.StatusServiceUnavailable, "QUERY_LIMIT_EXCEEDED", "Too many requests")
		return
	}
	f.level++
	if f.Force > 0 {
		f.Force--
		if f.ForceCode == "OPERATION_TIME_LIMIT" {
			write(w, f.ForceStatus, map[string]any{"error": f.ForceCode, "error_description": "Method is blocked due to operation time limit.",
				"time": map[string]any{"operating_reset_at": now.Add(time.Second).Unix()}})
			return
		}
		refusal(w, f.ForceStatus, f.ForceCode, "forced")
		return
	}
	body, _ := io.ReadAll(r.Body)
	var params map[string]any
	if err := json.Unmarshal(body, &params); err != nil {
		refusal(w, http.StatusBadRequest, "INVALID_REQUEST", "not JSON")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/rest/")
	parts := strings.Split(path, "/")
	method := strings.TrimSuffix(parts[len(parts)-1], ".json")
	switch len(parts) {
	case 3:
		if parts[0] != strconv.FormatInt(f.UserID, 10) || parts[1] != f.Code {
			refusal(w, http.StatusUnauthorized, "NO_AUTH_FOUND", "Wrong authorization data")
			return
		}
	case 1:
		tok, _ := params["auth"].(string)
		if !f.access[tok] {
			refusal(w, http.StatusUnauthorized, "expired_token", "The access token provided has expired.")
			return
		}
		delete(params, "auth")
	default:
		refusal(w, http.StatusNotFound, "ERROR_METHOD_NOT_FOUND", "Method not found!")
		return
	}
	timing := map[string]any{"start": float64(now.UnixMicro()) / 1e6, "finish": float64(time.Now().UnixMicro()) / 1e6, "operating": 0}
	if method == "batch" {
		var raw struct {
			Cmd json.RawMessage `json:"cmd"`
		}
		_ = json.Unmarshal(body, &raw)
		params["_order"] = keysInOrder(raw.Cmd)
		write(w, http.StatusOK, map[string]any{"result": f.batch(params), "time": timing})
		return
	}
	res, next, total, err := f.invoke(method, params)
	if err != nil {
		refusal(w, http.StatusBadRequest, err.code, err.desc)
		return
	}
	ans := map[string]any{"result": res, "time": timing}
	if total >= 0 {
		ans["total"] = total
		if next > 0 {
			ans["next"] = next
		}
	}
	write(w, http.StatusOK, ans)
}

func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	q := r.URL.Query()
	if q.Get("grant_type") != "refresh_token" || q.Get("client_id") != f.ClientID || q.Get("client_secret") != f.ClientSecret {
		refusal(w, http.StatusBadRequest, "invalid_client", "invalid client")
		return
	}
	if !f.refresh[q.Get("refresh_token")] {
		refusal(w, http.StatusBadRequest, "invalid_grant", "Invalid refresh token")
		return
	}
	delete(f.refresh, q.Get("refresh_token")) // single use
	f.issued++
	f.Refreshes++
	a, rt := fmt.Sprintf("access-%d", f.issued), fmt.Sprintf("refresh-%d", f.issued)
	f.access[a], f.refresh[rt] = true, true
	write(w, http.StatusOK, map[string]any{"access_token": a, "refresh_token": rt, "expires_in": 3600, "client_endpoint": f.URL + "/rest/",
		"domain": "oauth.bitrix.info", "member_id": "m1", "scope": "crm,user", "status": "L"})
}

type apiError struct{ code, desc string }

var reference = regexp.MustCompile(`^\$result\[([^\]]+)\]$`)

// batch runs cmd in order (halt=0), resolving $result[key].
func (f *Fake) batch(params map[string]any) map[string]any {
	result, errs, totals := map[string]any{}, map[string]any{}, map[string]any{}
	cmds, _ := params["cmd"].(map[string]any)
	// The order of the JSON object is the order of the commands: the
	// keys are read again from the raw object in the client's order.
	keys := orderOf(params)
	for _, k := range keys {
		s, _ := cmds[k].(string)
		method, query, _ := strings.Cut(s, "?")
		q, _ := url.ParseQuery(query)
		p := map[string]any{}
		for name, vs := range q {
			v := vs[0]
			if m := reference.FindStringSubmatch(v); m != nil {
				v = fmt.Sprint(result[m[1]])
			}
			setPath(p, name, v)
		}
		res, _, total, err := f.invoke(method, p)
		if err != nil {
			errs[k] = map[string]any{"error": err.code, "error_description": err.desc}
			continue
		}
		result[k] = res
		if total >= 0 {
			totals[k] = total
		}
	}
	out := map[string]any{"result": result, "result_error": errs, "result_total": totals, "result_next": []any{}, "result_time": []any{}}
	if len(errs) == 0 {
		out["result_error"] = []any{} // PHP's empty array
	}
	return out
}

// orderOf is the order of the batch's commands: set by the caller in
// "_order" by serve (the JSON decoder loses it), else sorted.
func orderOf(params map[string]any) []string {
	if o, ok := params["_order"].([]string); ok {
		return o
	}
	cmds, _ := params["cmd"].(map[string]any)
	keys := make([]string, 0, len(cmds))
	for k := range cmds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// keysInOrder are an object's keys in the order written.
func keysInOrder(raw json.RawMessage) []string {
	d := json.NewDecoder(bytes.NewReader(raw))
	var keys []string
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return keys
		}
		keys = append(keys, fmt.Sprint(t))
		var skip json.RawMessage
		if d.Decode(&skip) != nil {
			return keys
		}
	}
	return keys
}

// setPath sets fields[PHONE][0][VALUE] into nested maps.
func setPath(p map[string]any, name, v string) {
	segs := []string{name}
	if i := strings.IndexByte(name, '['); i > 0 {
		segs = append([]string{name[:i]}, strings.Split(strings.TrimSuffix(name[i+1:], "]"), "][")...)
	}
	m := p
	for _, s := range segs[:len(segs)-1] {
		next, ok := m[s].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[s] = next
		}
		m = next
	}
	m[segs[len(segs)-1]] = v
}

func listOf(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { a, _ := strconv.Atoi(keys[i]); b, _ := strconv.Atoi(keys[j]); return a < b })
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = x[k]
		}
		return out
	}
	return nil
}

func intOf(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

func (f *Fake) add(entity string, fields map[string]any) int64 {
	f.nextID++
	if f.Records[entity] == nil {
		f.Records[entity] = map[int64]map[string]any{}
	}
	fields["ID"] = strconv.FormatInt(f.nextID, 10)
	f.Records[entity][f.nextID] = fields
	return f.nextID
}

// invoke runs one method: result, next, total (-1: not a list), error.
func (f *Fake) invoke(method string, p map[string]any) (any, int64, int64, *apiError) {
	f.Methods[method]++
	fields, _ := p["fields"].(map[string]any)
	switch method {
	case "profile":
		return map[string]any{"ID": strconv.FormatInt(f.UserID, 10), "ADMIN": true, "NAME": "Admin"}, 0, -1, nil
	case "user.get":
		n := f.Users
		if n == 0 {
			n = 1
		}
		start := intOf(p["start"])
		var page []any
		for i := start; i < int64(n) && i < start+50; i++ {
			page = append(page, map[string]any{"ID": strconv.FormatInt(i+1, 10), "NAME": fmt.Sprint("User ", i+1), "LAST_NAME": "", "EMAIL": ""})
		}
		next := int64(0)
		if start+50 < int64(n) {
			next = start + 50
		}
		return page, next, int64(n), nil
	case "crm.category.list":
		return map[string]any{"categories": []any{map[string]any{"id": 0, "name": "Общая", "sort": 100, "isDefault": "Y"},
			map[string]any{"id": 3, "name": "Опт", "sort": 200, "isDefault": "N"}}}, 0, 2, nil
	case "crm.status.list":
		entity := fmt.Sprint(listFilter(p)["ENTITY_ID"])
		prefix := ""
		if strings.HasPrefix(entity, "DEAL_STAGE_") {
			prefix = "C" + strings.TrimPrefix(entity, "DEAL_STAGE_") + ":"
		}
		return []any{map[string]any{"STATUS_ID": prefix + "NEW", "NAME": "Новая", "SORT": "10", "SEMANTICS": ""},
			map[string]any{"STATUS_ID": prefix + "WON", "NAME": "Успешно", "SORT": "20", "SEMANTICS": "S"}}, 0, 2, nil
	case "crm.duplicate.findbycomm":
		entity, typ := fmt.Sprint(p["entity_type"]), fmt.Sprint(p["type"])
		var ids []any
		for _, want := range listOf(p["values"]) {
			for id, rec := range f.Records[entity] {
				for _, c := range listOf(rec[typ]) {
					if m, _ := c.(map[string]any); m != nil && digits(fmt.Sprint(m["VALUE"])) == digits(fmt.Sprint(want)) {
						ids = append(ids, id)
					}
				}
			}
		}
		if len(ids) == 0 {
			return []any{}, 0, -1, nil
		}
		return map[string]any{entity: ids}, 0, -1, nil
	case "crm.contact.add", "crm.company.add", "crm.deal.add", "crm.lead.add", "crm.requisite.add", "crm.requisite.bankdetail.add":
		if fields == nil {
			return nil, 0, -1, &apiError{"", "Parameter 'fields' must be array."}
		}
		entity := strings.ToUpper(strings.Split(strings.TrimPrefix(method, "crm."), ".")[0])
		if method == "crm.requisite.bankdetail.add" {
			entity = "BANKDETAIL"
		}
		return f.add(entity, fields), 0, -1, nil
	case "crm.contact.update", "crm.company.update", "crm.deal.update":
		entity := strings.ToUpper(strings.Split(strings.TrimPrefix(method, "crm."), ".")[0])
		rec := f.Records[entity][intOf(p["id"])]
		if rec == nil {
			return nil, 0, -1, &apiError{"", "Not found"}
		}
		for k, v := range fields {
			rec[k] = v
		}
		return true, 0, -1, nil
	case "crm.deal.list":
		flt := listFilter(p)
		var out []any
		for _, rec := range f.Records["DEAL"] {
			ok := true
			for k, v := range flt {
				ok = ok && fmt.Sprint(rec[k]) == fmt.Sprint(v)
			}
			if ok {
				out = append(out, rec)
			}
		}
		return out, 0, int64(len(out)), nil
	case "crm.deal.productrows.set":
		id := intOf(p["id"])
		if f.Records["DEAL"][id] == nil {
			return nil, 0, -1, &apiError{"", "ID is not defined or invalid."}
		}
		f.Rows[id] = listOf(p["rows"])
		return true, 0, -1, nil
	}
	return nil, 0, -1, &apiError{"ERROR_METHOD_NOT_FOUND", "Method not found!"}
}

func listFilter(p map[string]any) map[string]any {
	m, _ := p["filter"].(map[string]any)
	if m == nil {
		m, _ = p["FILTER"].(map[string]any)
	}
	return m
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
