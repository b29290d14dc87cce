package google_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fake serves what the sync uses of Google's OAuth token endpoint, the
// People API and the Calendar API, in their documented shapes:
// connections.list pages (nextPageToken) and sync tokens (nextSyncToken,
// requestSyncToken/syncToken, deleted people as metadata.deleted), an
// expired People token answered 400 FAILED_PRECONDITION, createContact /
// updateContact (etag checked, updatePersonFields) / deleteContact / get;
// events.list with pages and sync tokens (cancelled events when
// incremental), an expired token answered 410 Gone, events insert /
// get / patch (If-Match honoured: 412 conditionNotMet) / delete. Injected failures answer 429 or 5xx first.
type fake struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	version  int // bumped by every change
	persons  map[string]*fperson
	events   map[string]*fevent
	nextID   int
	pageSize int
	// expired sync tokens are refused (People: 400, Calendar: 410).
	expired map[string]bool
	// failures: path substring → statuses to answer first, in order.
	failures map[string][]int
	// requests seen, "METHOD path?query".
	requests []string
	// clientSecret is the OAuth client's; refresh tokens handed out.
	clientSecret string
	refreshes    int
	// racePatch: event id → an edit made in Google just before the next
	// PATCH of it lands (another device's change crossing the sync's).
	racePatch map[string]func(map[string]any)
	// ifMatch: the If-Match of each event PATCH, in order.
	ifMatch []string
}

type fperson struct {
	Data    map[string]any // the person's JSON fields (names, phoneNumbers…)
	Version int
	Deleted bool
	Updated time.Time
}

type fevent struct {
	Data    map[string]any
	Version int
	Updated time.Time
}

func newFake(t testing.TB) *fake {
	f := &fake{t: t, persons: map[string]*fperson{}, events: map[string]*fevent{}, pageSize: 2, racePatch: map[string]func(map[string]any){},
		expired: map[string]bool{}, failures: map[string][]int{}, clientSecret: "s3cret"}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) etag(kind string, v int) string { return fmt.Sprintf("%s-etag-%d", kind, v) }

// addPerson puts a contact into the Google account as a person edits it
// in Gmail; data holds People API fields.
func (f *fake) addPerson(data map[string]any, updated time.Time) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	rn := fmt.Sprintf("people/c%d", 1000+f.nextID)
	f.version++
	f.persons[rn] = &fperson{Data: data, Version: f.version, Updated: updated}
	return rn
}

func (f *fake) editPerson(rn string, updated time.Time, edit func(map[string]any)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.persons[rn]
	edit(p.Data)
	f.version++
	p.Version, p.Updated = f.version, updated
}

func (f *fake) deletePerson(rn string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version++
	f.persons[rn].Deleted, f.persons[rn].Version = true, f.version
}

func (f *fake) addEvent(data map[string]any, updated time.Time) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	id := fmt.Sprintf("ev%d", f.nextID)
	f.version++
	f.events[id] = &fevent{Data: data, Version: f.version, Updated: updated}
	return id
}

func (f *fake) editEvent(id string, updated time.Time, edit func(map[string]any)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.events[id]
	edit(e.Data)
	f.version++
	e.Version, e.Updated = f.version, updated
}

// expireTokens makes every sync token handed out so far expire.
func (f *fake) expireTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for v := 0; v <= f.version; v++ {
		f.expired["people-sync-"+strconv.Itoa(v)] = true
		f.expired["cal-sync-"+strconv.Itoa(v)] = true
	}
}

func (f *fake) fail(pathPart string, statuses ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[pathPart] = append(f.failures[pathPart], statuses...)
}

// live returns the live persons' data (copies), by resourceName.
func (f *fake) livePersons() map[string]map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]map[string]any{}
	for rn, p := range f.persons {
		if !p.Deleted {
			out[rn] = p.Data
		}
	}
	return out
}

func (f *fake) liveEvents() map[string]map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]map[string]any{}
	for id, e := range f.events {
		if e.Data["status"] != "cancelled" {
			out[id] = e.Data
		}
	}
	return out
}

func (f *fake) refreshCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refreshes
}

func (f *fake) seen(part string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if strings.Contains(r, part) {
			n++
		}
	}
	return n
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError is Google's error envelope.
func apiError(w http.ResponseWriter, code int, status, msg, reason string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status,
		"errors": []map[string]any{{"domain": "global", "reason": reason, "message": msg}}}})
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	for part, sts := range f.failures {
		if len(sts) > 0 && strings.Contains(r.URL.Path, part) {
			st := sts[0]
			f.failures[part] = sts[1:]
			f.mu.Unlock()
			if st == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "0")
				apiError(w, st, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Read requests'", "rateLimitExceeded")
			} else {
				apiError(w, st, "UNAVAILABLE", "The service is currently unavailable.", "backendError")
			}
			return
		}
	}
	f.mu.Unlock()
	p := r.URL.Path
	switch {
	case p == "/token":
		f.token(w, r)
	case p == "/userinfo":
		if r.Header.Get("Authorization") != "Bearer access-1" && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer access-") {
			apiError(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", "authError")
			return
		}
		writeJSON(w, 200, map[string]any{"sub": "1", "email": "manager@gmail.com", "email_verified": true})
	case !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer access-"):
		apiError(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", "authError")
	case p == "/v1/people/me/connections" && r.Method == http.MethodGet:
		f.listConnections(w, r)
	case p == "/v1/people:createContact" && r.Method == http.MethodPost:
		f.createContact(w, r)
	case p == "/v1/people:batchCreateContacts" && r.Method == http.MethodPost:
		f.batchCreate(w, r)
	case strings.HasSuffix(p, ":updateContact") && r.Method == http.MethodPatch:
		f.updateContact(w, r, strings.TrimSuffix(strings.TrimPrefix(p, "/v1/"), ":updateContact"))
	case strings.HasSuffix(p, ":deleteContact") && r.Method == http.MethodDelete:
		f.deleteContact(w, strings.TrimSuffix(strings.TrimPrefix(p, "/v1/"), ":deleteContact"))
	case strings.HasPrefix(p, "/v1/people/c") && r.Method == http.MethodGet:
		f.getPerson(w, strings.TrimPrefix(p, "/v1/"))
	case p == "/calendar/v3/calendars/primary/events" && r.Method == http.MethodGet:
		f.listEvents(w, r)
	case p == "/calendar/v3/calendars/primary/events" && r.Method == http.MethodPost:
		f.insertEvent(w, r)
	case strings.HasPrefix(p, "/calendar/v3/calendars/primary/events/"):
		f.event(w, r, strings.TrimPrefix(p, "/calendar/v3/calendars/primary/events/"))
	default:
		apiError(w, 404, "NOT_FOUND", "no such method "+r.Method+" "+p, "notFound")
	}
}

func (f *fake) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	if r.Form.Get("client_secret") != f.clientSecret {
		writeJSON(w, 401, map[string]any{"error": "invalid_client", "error_description": "Unauthorized"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Form.Get("grant_type") {
	case "authorization_code":
		if r.Form.Get("code") != "good-code" {
			writeJSON(w, 400, map[string]any{"error": "invalid_grant", "error_description": "Malformed auth code."})
			return
		}
		writeJSON(w, 200, map[string]any{"access_token": "access-1", "expires_in": 3599, "refresh_token": "refresh-1",
			"scope": "https://www.googleapis.com/auth/contacts", "token_type": "Bearer"})
	case "refresh_token":
		if r.Form.Get("refresh_token") != "refresh-1" {
			writeJSON(w, 400, map[string]any{"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
			return
		}
		f.refreshes++
		writeJSON(w, 200, map[string]any{"access_token": fmt.Sprintf("access-r%d", f.refreshes), "expires_in": 3599, "token_type": "Bearer"})
	default:
		writeJSON(w, 400, map[string]any{"error": "unsupported_grant_type"})
	}
}

// personJSON is a person as the API answers it.
func (f *fake) personJSON(rn string, p *fperson) map[string]any {
	out := map[string]any{}
	for k, v := range p.Data {
		out[k] = v
	}
	out["resourceName"] = rn
	out["etag"] = f.etag("person", p.Version)
	md := map[string]any{"sources": []map[string]any{{"type": "CONTACT", "id": strings.TrimPrefix(rn, "people/c"),
		"etag": f.etag("src", p.Version), "updateTime": p.Updated.UTC().Format(time.RFC3339Nano)}}, "objectType": "PERSON"}
	if p.Deleted {
		md["deleted"] = true
		out = map[string]any{"resourceName": rn, "etag": out["etag"]}
	}
	out["metadata"] = md
	return out
}

// page cuts sorted keys by pageToken ("p<offset>").
func (f *fake) page(keys []string, token string) ([]string, string) {
	off := 0
	if token != "" {
		off, _ = strconv.Atoi(strings.TrimPrefix(token, "p"))
	}
	end := min(off+f.pageSize, len(keys))
	next := ""
	if end < len(keys) {
		next = "p" + strconv.Itoa(end)
	}
	return keys[off:end], next
}

func (f *fake) listConnections(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("personFields") == "" {
		apiError(w, 400, "INVALID_ARGUMENT", "personFields mask is required. Please specify one or more valid paths.", "badRequest")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	since := -1
	if tok := q.Get("syncToken"); tok != "" {
		if f.expired[tok] {
			writeJSON(w, 400, map[string]any{"error": map[string]any{"code": 400,
				"message": "Sync token is expired. Clear local cache and retry call without the sync token.", "status": "FAILED_PRECONDITION",
				"details": []map[string]any{{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "EXPIRED_SYNC_TOKEN", "domain": "people.googleapis.com"}}}})
			return
		}
		since, _ = strconv.Atoi(strings.TrimPrefix(tok, "people-sync-"))
	}
	var keys []string
	for rn, p := range f.persons {
		if since < 0 && p.Deleted || since >= 0 && p.Version <= since {
			continue
		}
		keys = append(keys, rn)
	}
	sort.Strings(keys)
	got, next := f.page(keys, q.Get("pageToken"))
	resp := map[string]any{"totalPeople": len(keys), "totalItems": len(keys)}
	var conns []map[string]any
	for _, rn := range got {
		conns = append(conns, f.personJSON(rn, f.persons[rn]))
	}
	if len(conns) > 0 {
		resp["connections"] = conns
	}
	if next != "" {
		resp["nextPageToken"] = next
	} else if q.Get("requestSyncToken") == "true" || q.Get("syncToken") != "" {
		resp["nextSyncToken"] = "people-sync-" + strconv.Itoa(f.version)
	}
	writeJSON(w, 200, resp)
}

func readBody(r *http.Request) map[string]any {
	b, _ := io.ReadAll(r.Body)
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	return m
}

func (f *fake) createContact(w http.ResponseWriter, r *http.Request) {
	body := readBody(r)
	delete(body, "etag")
	delete(body, "resourceName")
	delete(body, "metadata")
	f.mu.Lock()
	f.nextID++
	rn := fmt.Sprintf("people/c%d", 1000+f.nextID)
	f.version++
	p := &fperson{Data: body, Version: f.version, Updated: time.Now()}
	f.persons[rn] = p
	out := f.personJSON(rn, p)
	f.mu.Unlock()
	writeJSON(w, 200, out)
}

// batchCreate is people.batchCreateContacts: at most 200 contacts, the
// created people answered in the order asked.
func (f *fake) batchCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Contacts []struct {
			ContactPerson map[string]any `json:"contactPerson"`
		} `json:"contacts"`
		ReadMask string `json:"readMask"`
	}
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &req); err != nil || req.ReadMask == "" {
		apiError(w, 400, "INVALID_ARGUMENT", "readMask is required", "badRequest")
		return
	}
	if len(req.Contacts) > 200 {
		apiError(w, 400, "INVALID_ARGUMENT", "Too many contacts in the request, the limit is 200.", "badRequest")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, c := range req.Contacts {
		f.nextID++
		rn := fmt.Sprintf("people/c%d", 1000+f.nextID)
		f.version++
		p := &fperson{Data: c.ContactPerson, Version: f.version, Updated: time.Now()}
		f.persons[rn] = p
		out = append(out, map[string]any{"httpStatusCode": 200, "person": f.personJSON(rn, p)})
	}
	writeJSON(w, 200, map[string]any{"createdPeople": out})
}

func (f *fake) updateContact(w http.ResponseWriter, r *http.Request, rn string) {
	body := readBody(r)
	fields := r.URL.Query().Get("updatePersonFields")
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.persons[rn]
	if p == nil || p.Deleted {
		apiError(w, 404, "NOT_FOUND", "Requested entity was not found.", "notFound")
		return
	}
	if fields == "" {
		apiError(w, 400, "INVALID_ARGUMENT", "updatePersonFields mask is required.", "badRequest")
		return
	}
	if body["etag"] != f.etag("person", p.Version) {
		apiError(w, 400, "FAILED_PRECONDITION", "Request person.etag is different than the current person.etag. Clear local cache and get the latest person.", "failedPrecondition")
		return
	}
	for _, fl := range strings.Split(fields, ",") {
		if v, ok := body[fl]; ok {
			p.Data[fl] = v
		} else {
			delete(p.Data, fl)
		}
	}
	f.version++
	p.Version, p.Updated = f.version, time.Now()
	writeJSON(w, 200, f.personJSON(rn, p))
}

func (f *fake) deleteContact(w http.ResponseWriter, rn string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.persons[rn]
	if p == nil || p.Deleted {
		apiError(w, 404, "NOT_FOUND", "Requested entity was not found.", "notFound")
		return
	}
	f.version++
	p.Deleted, p.Version = true, f.version
	writeJSON(w, 200, map[string]any{})
}

func (f *fake) getPerson(w http.ResponseWriter, rn string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.persons[rn]
	if p == nil || p.Deleted {
		apiError(w, 404, "NOT_FOUND", "Requested entity was not found.", "notFound")
		return
	}
	writeJSON(w, 200, f.personJSON(rn, p))
}

func (f *fake) eventJSON(id string, e *fevent) map[string]any {
	out := map[string]any{}
	for k, v := range e.Data {
		out[k] = v
	}
	out["kind"], out["id"], out["etag"] = "calendar#event", id, fmt.Sprintf("\"%d\"", e.Version)
	out["updated"] = e.Updated.UTC().Format("2006-01-02T15:04:05.000Z")
	if out["status"] == nil {
		out["status"] = "confirmed"
	}
	return out
}

func (f *fake) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	since := -1
	if tok := q.Get("syncToken"); tok != "" {
		if f.expired[tok] {
			apiError(w, 410, "", "Sync token is no longer valid, a full sync is required.", "fullSyncRequired")
			return
		}
		since, _ = strconv.Atoi(strings.TrimPrefix(tok, "cal-sync-"))
	}
	var keys []string
	for id, e := range f.events {
		if since < 0 && e.Data["status"] == "cancelled" || since >= 0 && e.Version <= since {
			continue
		}
		keys = append(keys, id)
	}
	sort.Strings(keys)
	got, next := f.page(keys, q.Get("pageToken"))
	items := []map[string]any{}
	for _, id := range got {
		items = append(items, f.eventJSON(id, f.events[id]))
	}
	resp := map[string]any{"kind": "calendar#events", "summary": "manager@gmail.com", "timeZone": "Europe/Moscow", "items": items}
	if next != "" {
		resp["nextPageToken"] = next
	} else {
		resp["nextSyncToken"] = "cal-sync-" + strconv.Itoa(f.version)
	}
	writeJSON(w, 200, resp)
}

func (f *fake) insertEvent(w http.ResponseWriter, r *http.Request) {
	body := readBody(r)
	if body["start"] == nil || body["end"] == nil {
		apiError(w, 400, "", "Missing end time.", "required")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	id := fmt.Sprintf("ev%d", f.nextID)
	f.version++
	e := &fevent{Data: body, Version: f.version, Updated: time.Now()}
	f.events[id] = e
	writeJSON(w, 200, f.eventJSON(id, e))
}

func (f *fake) event(w http.ResponseWriter, r *http.Request, id string) {
	id, _ = url.PathUnescape(id)
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.events[id]
	if e == nil {
		apiError(w, 404, "", "Not Found", "notFound")
		return
	}
	if e.Data["status"] == "cancelled" {
		apiError(w, 410, "", "Resource has been deleted", "deleted")
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, 200, f.eventJSON(id, e))
	case http.MethodPatch:
		if edit := f.racePatch[id]; edit != nil {
			delete(f.racePatch, id)
			edit(e.Data)
			f.version++
			e.Version, e.Updated = f.version, time.Now().Add(time.Hour)
		}
		f.ifMatch = append(f.ifMatch, r.Header.Get("If-Match"))
		if m := r.Header.Get("If-Match"); m != "" && m != fmt.Sprintf("\"%d\"", e.Version) {
			apiError(w, 412, "", "Precondition Failed", "conditionNotMet")
			return
		}
		for k, v := range readBody(r) {
			e.Data[k] = v
		}
		f.version++
		e.Version, e.Updated = f.version, time.Now()
		writeJSON(w, 200, f.eventJSON(id, e))
	case http.MethodDelete:
		f.version++
		e.Data["status"], e.Version = "cancelled", f.version
		w.WriteHeader(http.StatusNoContent)
	default:
		apiError(w, 405, "", "method", "badRequest")
	}
}
