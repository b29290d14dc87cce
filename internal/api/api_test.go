package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// ---- scenario tables -------------------------------------------------------

// vars holds ids and keys saved by earlier steps; "{name}" in a step's path,
// body, headers and expected events is replaced by the saved value.
type vars map[string]string

func (v vars) sub(s string) string {
	for k, val := range v {
		s = strings.ReplaceAll(s, "{"+k+"}", val)
	}
	return s
}

func (v vars) id(t testing.TB, name string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(v[name], 10, 64)
	if err != nil {
		t.Fatalf("no id saved as %q", name)
	}
	return n
}

// wantEvent is an event a step must write. changes maps a field to its
// {old, new} JSON text; "*" accepts any value.
type wantEvent struct {
	entity, action string
	record         string // var holding the record id; "" skips the check
	changes        map[string][2]string
	exact          bool   // the event names exactly the fields in changes
	integration    string // expected "integration"
	actor          string // expected "actor" ("" skips)
}

// step is one request of a scenario and what must come of it.
type step struct {
	name    string
	method  string
	path    string
	body    any      // a string is sent as is; anything else as JSON
	auth    string   // "": the admin key; "-": none; else the bearer token
	headers []string // name, value, …
	status  int
	code    string // error code expected in the envelope
	field   string // error field expected in the envelope
	msg     string // substring of the error message
	save    string // remember the answer's "id" under this name
	events  []wantEvent
	// anyEvents skips the check that exactly events were written.
	anyEvents bool
	check     func(t *testing.T, r resp, v vars)
}

func runSteps(t *testing.T, e *env, v vars, steps []step) {
	t.Helper()
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { runStep(t, e, v, s) }) {
			return // later steps build on this one
		}
	}
}

func runStep(t *testing.T, e0 *env, v vars, s step) {
	t.Helper()
	e := e0.on(t)
	before := e.lastEventID()
	var body any
	switch b := s.body.(type) {
	case nil:
	case string:
		body = v.sub(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = v.sub(string(j))
	}
	key := e.key
	switch s.auth {
	case "":
	case "-":
		key = ""
	default:
		key = v.sub(s.auth)
	}
	var hs []string
	for _, h := range s.headers {
		hs = append(hs, v.sub(h))
	}
	r := e.doKey(key, s.method, v.sub(s.path), body, hs...)
	if r.Status != s.status {
		t.Fatalf("%s %s: status %d, want %d; body: %s", s.method, v.sub(s.path), r.Status, s.status, r.Body)
	}
	if s.code != "" || s.field != "" {
		checkErr(t, r, s.status, s.code, s.field, s.msg)
	}
	if s.save != "" {
		var m struct {
			ID int64 `json:"id"`
		}
		r.json(t, &m)
		if m.ID <= 0 {
			t.Fatalf("answer has no id: %s", r.Body)
		}
		v[s.save] = strconv.FormatInt(m.ID, 10)
	}
	if s.check != nil {
		s.check(t, r, v)
	}
	if !s.anyEvents {
		checkEvents(t, e.eventsAfter(before, ""), s.events, v)
	}
}

type errBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// checkErr checks the error envelope of r.
func checkErr(t testing.TB, r resp, status int, code, field, msg string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	var b errBody
	r.json(t, &b)
	if b.Error.Code != code {
		t.Errorf("error code %q, want %q; body: %s", b.Error.Code, code, r.Body)
	}
	if b.Error.Field != field {
		t.Errorf("error field %q, want %q; body: %s", b.Error.Field, field, r.Body)
	}
	if b.Error.Message == "" || !strings.Contains(b.Error.Message, msg) {
		t.Errorf("error message %q does not contain %q", b.Error.Message, msg)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q", ct)
	}
}

// ---- the event log -----------------------------------------------------------

type change struct {
	Old json.RawMessage `json:"old"`
	New json.RawMessage `json:"new"`
}

type event struct {
	ID          int64             `json:"id"`
	Entity      string            `json:"entity"`
	RecordID    int64             `json:"record_id"`
	Action      string            `json:"action"`
	Changes     map[string]change `json:"changes"`
	Actor       string            `json:"actor"`
	ActorUserID int64             `json:"actor_user_id"`
	Integration string            `json:"integration"`
	CreatedAt   time.Time         `json:"created_at"`
}

type eventPage struct {
	Events []event `json:"events"`
	LastID int64   `json:"last_id"`
}

// on returns the env bound to t, so that its helpers fail t.
func (e *env) on(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

// eventsAfter reads every event with id > after; query adds parameters.
func (e *env) eventsAfter(after int64, query string) []event {
	e.t.Helper()
	var out []event
	for {
		r := e.do("GET", fmt.Sprintf("/api/v1/events?after=%d&limit=10000%s", after, query), nil)
		if r.Status != 200 {
			e.t.Fatalf("events: %d %s", r.Status, r.Body)
		}
		var p eventPage
		r.json(e.t, &p)
		if len(p.Events) == 0 {
			return out
		}
		out = append(out, p.Events...)
		after = p.LastID
	}
}

func (e *env) lastEventID() int64 {
	e.t.Helper()
	evs := e.eventsAfter(0, "")
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].ID
}

func describe(evs []event) string {
	var b strings.Builder
	for _, ev := range evs {
		keys := make([]string, 0, len(ev.Changes))
		for k := range ev.Changes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, "\n  #%d %s %d %s %v integration=%q actor=%q", ev.ID, ev.Entity, ev.RecordID, ev.Action, keys, ev.Integration, ev.Actor)
	}
	return b.String()
}

// matchActor compares an actor with a pattern that may end in "*".
func matchActor(got, want string) bool {
	if p, ok := strings.CutSuffix(want, "*"); ok {
		return strings.HasPrefix(got, p) && len(got) > len(p)
	}
	return got == want
}

func checkEvents(t testing.TB, got []event, want []wantEvent, v vars) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d events written, want %d:%s", len(got), len(want), describe(got))
	}
	for i, w := range want {
		g := got[i]
		if g.Entity != w.entity || g.Action != w.action {
			t.Errorf("event %d: %s %s, want %s %s", i, g.Entity, g.Action, w.entity, w.action)
		}
		if w.record != "" && g.RecordID != v.id(t, w.record) {
			t.Errorf("event %d: record_id %d, want %s=%s", i, g.RecordID, w.record, v[w.record])
		}
		if g.Integration != w.integration {
			t.Errorf("event %d: integration %q, want %q", i, g.Integration, w.integration)
		}
		if w.actor != "" && !matchActor(g.Actor, v.sub(w.actor)) {
			t.Errorf("event %d: actor %q, want %q", i, g.Actor, v.sub(w.actor))
		}
		for f, on := range w.changes {
			c, ok := g.Changes[f]
			if !ok {
				t.Errorf("event %d (%s %s): no change of %q:%s", i, g.Entity, g.Action, f, describe(got[i:i+1]))
				continue
			}
			if want := v.sub(on[0]); want != "*" && string(c.Old) != want {
				t.Errorf("event %d: %s.old = %s, want %s", i, f, c.Old, want)
			}
			if want := v.sub(on[1]); want != "*" && string(c.New) != want {
				t.Errorf("event %d: %s.new = %s, want %s", i, f, c.New, want)
			}
		}
		if w.exact && len(g.Changes) != len(w.changes) {
			t.Errorf("event %d: changes name other fields too:%s", i, describe(got[i:i+1]))
		}
	}
}

// ---- small helpers -----------------------------------------------------------

type listOf[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func decode[T any](t testing.TB, r resp) T {
	t.Helper()
	var v T
	r.json(t, &v)
	return v
}

func must(t testing.TB, r resp, status int) resp {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

func eq[T comparable](t testing.TB, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func idStr(id int64) string { return strconv.FormatInt(id, 10) }

// create POSTs v and returns the new record's id.
func (e *env) create(path string, v any, headers ...string) int64 {
	e.t.Helper()
	r := e.do("POST", path, v, headers...)
	if r.Status != 201 {
		e.t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
	}
	var m struct {
		ID int64 `json:"id"`
	}
	r.json(e.t, &m)
	return m.ID
}

// newUser creates a user with a role and returns its id and an API key.
func (e *env) newUser(login, role string) (int64, string) {
	e.t.Helper()
	r := must(e.t, e.do("POST", "/api/v1/users", map[string]any{"login": login, "role": role, "password": "secret-" + login}), 201)
	u := decode[crm.User](e.t, r)
	eq(e.t, "role", u.Role, role)
	kr := must(e.t, e.do("POST", "/api/v1/users/"+idStr(u.ID)+"/keys", map[string]any{"name": "k"}), 201)
	k := decode[struct {
		ID  int64  `json:"id"`
		Key string `json:"key"`
	}](e.t, kr)
	if !strings.HasPrefix(k.Key, "obm_") {
		e.t.Fatalf("key %q", k.Key)
	}
	return u.ID, k.Key
}

func leadIDs(ls []crm.Lead) []int64 {
	out := []int64{}
	for _, l := range ls {
		out = append(out, l.ID)
	}
	return out
}

// listLeads GETs a list of leads and returns the ids.
func (e *env) listLeads(query string) []int64 {
	e.t.Helper()
	r := must(e.t, e.do("GET", "/api/v1/leads?"+query, nil), 200)
	return leadIDs(decode[listOf[crm.Lead]](e.t, r).Items)
}

// ---- auth ----------------------------------------------------------------------

func TestAuth(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		v := vars{"admin_key": e.key, "unknown_key": "obm_0123456789ab_" + strings.Repeat("0", 64),
			"bad_secret": e.key[:len(e.key)-1] + flip(e.key[len(e.key)-1])}
		cookie := func(c string) []string { return []string{"Cookie", "obmen_session=" + c} }
		unauthorized := func(name, auth string, headers ...string) step {
			return step{name: name, method: "GET", path: "/api/v1/leads", auth: auth, headers: headers,
				status: 401, code: "unauthorized"}
		}
		runSteps(t, e, v, []step{
			{name: "me with the admin key", method: "GET", path: "/api/v1/me", status: 200, check: func(t *testing.T, r resp, v vars) {
				u := decode[crm.User](t, r)
				eq(t, "login", u.Login, "admin")
				eq(t, "role", u.Role, crm.RoleAdmin)
				v["admin"] = idStr(u.ID)
			}},
			{name: "no Authorization", method: "GET", path: "/api/v1/leads", auth: "-", status: 401, code: "unauthorized", msg: "authentication required",
				check: func(t *testing.T, r resp, v vars) {
					if !strings.Contains(r.Header.Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
					}
				}},
			{name: "no Authorization on an unknown endpoint", method: "GET", path: "/api/v1/nope", auth: "-", status: 401, code: "unauthorized"},
			unauthorized("Basic scheme", "-", "Authorization", "Basic YWRtaW46YWRtaW4="),
			unauthorized("Bearer without a token", "-", "Authorization", "Bearer"),
			unauthorized("malformed key", "obm_short"),
			unauthorized("key without prefix", strings.TrimPrefix(e.key, "obm_")),
			unauthorized("unknown key", "{unknown_key}"),
			unauthorized("right prefix, wrong secret", "{bad_secret}"),
			{name: "scheme is case-insensitive", method: "GET", path: "/api/v1/me", auth: "-", headers: []string{"Authorization", "bearer {admin_key}"}, status: 200},

			// A revoked key stops working at once.
			{name: "second admin key", method: "POST", path: "/api/v1/users/{admin}/keys", body: map[string]any{"name": "second"}, status: 201, save: "key2",
				check: func(t *testing.T, r resp, v vars) {
					k := decode[struct {
						Key string `json:"key"`
					}](t, r)
					v["key2_secret"] = k.Key
					eq(t, "Cache-Control", r.Header.Get("Cache-Control"), "no-store")
				}},
			{name: "second key works", method: "GET", path: "/api/v1/me", auth: "{key2_secret}", status: 200},
			{name: "revoke second key", method: "DELETE", path: "/api/v1/keys/{key2}", status: 204},
			unauthorized("revoked key", "{key2_secret}"),
			{name: "revoke again", method: "DELETE", path: "/api/v1/keys/{key2}", status: 404, code: "not_found"},

			// A key of a disabled user is refused.
			{name: "create user", method: "POST", path: "/api/v1/users", body: map[string]any{"login": "petrov", "role": "manager", "password": "petrov-pw"}, status: 201, save: "u"},
			{name: "key for user", method: "POST", path: "/api/v1/users/{u}/keys", body: map[string]any{"name": "u"}, status: 201,
				check: func(t *testing.T, r resp, v vars) {
					v["ukey"] = decode[struct {
						Key string `json:"key"`
					}](t, r).Key
				}},
			{name: "user key works", method: "GET", path: "/api/v1/me", auth: "{ukey}", status: 200, check: func(t *testing.T, r resp, v vars) {
				eq(t, "login", decode[crm.User](t, r).Login, "petrov")
			}},
			{name: "disable user", method: "PATCH", path: "/api/v1/users/{u}", body: map[string]any{"active": false}, status: 200,
				check: func(t *testing.T, r resp, v vars) { eq(t, "active", decode[crm.User](t, r).Active, false) }},
			unauthorized("key of a disabled user", "{ukey}"),
			{name: "no new key for a disabled user", method: "POST", path: "/api/v1/users/{u}/keys", body: map[string]any{"name": "x"},
				status: 422, code: "validation_failed", field: "user_id"},
			{name: "disabled user cannot sign in", method: "POST", path: "/api/v1/session", auth: "-",
				body: map[string]any{"login": "petrov", "password": "petrov-pw"}, status: 401, code: "unauthorized"},

			// Sessions.
			{name: "sign in with a wrong password", method: "POST", path: "/api/v1/session", auth: "-",
				body: map[string]any{"login": "admin", "password": "wrong"}, status: 401, code: "unauthorized",
				check: func(t *testing.T, r resp, v vars) {
					if len(r.Header.Values("Set-Cookie")) != 0 {
						t.Errorf("cookie set on a failed sign-in: %v", r.Header.Values("Set-Cookie"))
					}
				}},
			{name: "sign in", method: "POST", path: "/api/v1/session", auth: "-",
				body: map[string]any{"login": "admin", "password": "admin-password"}, status: 200,
				check: func(t *testing.T, r resp, v vars) {
					var c *http.Cookie
					for _, k := range (&http.Response{Header: r.Header}).Cookies() {
						if k.Name == "obmen_session" {
							c = k
						}
					}
					if c == nil || c.Value == "" {
						t.Fatalf("no obmen_session cookie: %v", r.Header.Values("Set-Cookie"))
					}
					if !c.HttpOnly {
						t.Error("session cookie is not HttpOnly")
					}
					b := decode[struct {
						User      crm.User `json:"user"`
						CSRFToken string   `json:"csrf_token"`
					}](t, r)
					eq(t, "user.login", b.User.Login, "admin")
					if len(b.CSRFToken) < 16 {
						t.Fatalf("csrf_token %q", b.CSRFToken)
					}
					v["cookie"], v["csrf"] = c.Value, b.CSRFToken
				}},
			{name: "GET with the cookie", method: "GET", path: "/api/v1/me", auth: "-", headers: cookie("{cookie}"), status: 200,
				check: func(t *testing.T, r resp, v vars) { eq(t, "login", decode[crm.User](t, r).Login, "admin") }},
			{name: "POST with the cookie and no CSRF token", method: "POST", path: "/api/v1/leads", auth: "-", headers: cookie("{cookie}"),
				body: map[string]any{"title": "via session"}, status: 403, code: "csrf"},
			{name: "POST with the cookie and a wrong CSRF token", method: "POST", path: "/api/v1/leads", auth: "-",
				headers: append(cookie("{cookie}"), "X-CSRF-Token", "0123456789abcdef0123456789abcdef"),
				body:    map[string]any{"title": "via session"}, status: 403, code: "csrf"},
			{name: "POST with the cookie and the CSRF token", method: "POST", path: "/api/v1/leads", auth: "-",
				headers: append(cookie("{cookie}"), "X-CSRF-Token", "{csrf}"),
				body:    map[string]any{"title": "via session"}, status: 201, save: "lead",
				events: []wantEvent{{entity: "lead", action: "create", record: "lead", actor: "user:{admin}",
					changes: map[string][2]string{"title": {"null", `"via session"`}}}}},
			unauthorized("unknown session cookie", "-", cookie("deadbeef")...),
			{name: "sign out without CSRF token", method: "DELETE", path: "/api/v1/session", auth: "-", headers: cookie("{cookie}"), status: 403, code: "csrf"},
			{name: "sign out", method: "DELETE", path: "/api/v1/session", auth: "-", headers: append(cookie("{cookie}"), "X-CSRF-Token", "{csrf}"), status: 204,
				check: func(t *testing.T, r resp, v vars) {
					for _, k := range (&http.Response{Header: r.Header}).Cookies() {
						if k.Name == "obmen_session" && (k.Value != "" || k.MaxAge >= 0) {
							t.Errorf("sign-out does not clear the cookie: %v", r.Header.Values("Set-Cookie"))
						}
					}
				}},
			unauthorized("cookie after sign-out", "-", cookie("{cookie}")...),

			{name: "bad integration name", method: "GET", path: "/api/v1/leads", headers: []string{"X-Obmen-Integration", "1C Bad"},
				status: 400, code: "bad_request", field: "X-Obmen-Integration"},
			{name: "built-in integration name", method: "POST", path: "/api/v1/leads", body: map[string]any{"title": "как будто из 1С"},
				headers: []string{"X-Obmen-Integration", "1c"}, status: 400, code: "bad_request", field: "X-Obmen-Integration"},
		})
	})
}

func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

// ---- leads --------------------------------------------------------------------

func TestLeadCRUD(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		v := vars{}
		runSteps(t, e, v, []step{
			{name: "create", method: "POST", path: "/api/v1/leads", status: 201, save: "lead",
				body: `{"title":"Заявка с сайта","name":"Иван","phones":[{"value":"8 (925) 642-42-90","value_type":"mobile"}],
					"emails":[{"value":"Ivan@Example.RU"}],"source_id":"WEB","opportunity":"1500.50","comments":"перезвонить"}`,
				check: func(t *testing.T, r resp, v vars) {
					l := decode[crm.Lead](t, r)
					eq(t, "Location", r.Header.Get("Location"), "/api/v1/leads/"+idStr(l.ID))
					checkCreatedLead(t, l)
				},
				events: []wantEvent{{entity: "lead", action: "create", record: "lead", actor: "apikey:1", changes: map[string][2]string{
					"title": {"null", `"Заявка с сайта"`}, "status_id": {"null", `"NEW"`}, "source_id": {"null", `"WEB"`},
					"opportunity": {"null", "1500.50"}, "name": {"null", `"Иван"`}}}}},
			{name: "get", method: "GET", path: "/api/v1/leads/{lead}", status: 200, check: func(t *testing.T, r resp, v vars) {
				l := decode[crm.Lead](t, r)
				eq(t, "id", l.ID, v.id(t, "lead"))
				checkCreatedLead(t, l)
			}},
			{name: "patch one field", method: "PATCH", path: "/api/v1/leads/{lead}", body: map[string]any{"title": "Новое название"}, status: 200,
				check: func(t *testing.T, r resp, v vars) {
					l := decode[crm.Lead](t, r)
					eq(t, "title", l.Title, "Новое название")
					eq(t, "name", l.Name, "Иван")
					eq(t, "comments", l.Comments, "перезвонить")
					eq(t, "opportunity", l.Opportunity, crm.Amount(150050))
					if len(l.Phones) != 1 || l.Phones[0].Normalized != "+79256424290" || len(l.Emails) != 1 {
						t.Errorf("comms changed by a PATCH of the title: %+v %+v", l.Phones, l.Emails)
					}
					if !l.UpdatedAt.After(l.CreatedAt) && !l.UpdatedAt.Equal(l.CreatedAt) {
						t.Errorf("updated_at %v before created_at %v", l.UpdatedAt, l.CreatedAt)
					}
				},
				events: []wantEvent{{entity: "lead", action: "update", record: "lead", exact: true,
					changes: map[string][2]string{"title": {`"Заявка с сайта"`, `"Новое название"`}}}}},
			{name: "get after patch", method: "GET", path: "/api/v1/leads/{lead}", status: 200, check: func(t *testing.T, r resp, v vars) {
				l := decode[crm.Lead](t, r)
				eq(t, "title", l.Title, "Новое название")
				eq(t, "source_id", l.SourceID, "WEB")
				eq(t, "phones", len(l.Phones), 1)
			}},
			{name: "patch that changes nothing writes no event", method: "PATCH", path: "/api/v1/leads/{lead}",
				body: map[string]any{"title": "Новое название"}, status: 200},
			{name: "patch status", method: "PATCH", path: "/api/v1/leads/{lead}", body: map[string]any{"status_id": "IN_PROCESS"}, status: 200,
				events: []wantEvent{{entity: "lead", action: "update", record: "lead", exact: true,
					changes: map[string][2]string{"status_id": {`"NEW"`, `"IN_PROCESS"`}}}}},
			{name: "patch replaces the phones array", method: "PATCH", path: "/api/v1/leads/{lead}",
				body: `{"phones":[{"value":"+7 999 111-22-33"},{"value":"8 800 555 35 35","value_type":"work"}]}`, status: 200,
				check: func(t *testing.T, r resp, v vars) {
					l := decode[crm.Lead](t, r)
					if len(l.Phones) != 2 {
						t.Fatalf("phones %+v", l.Phones)
					}
					eq(t, "phones[0].normalized", l.Phones[0].Normalized, "+79991112233")
					eq(t, "phones[1].normalized", l.Phones[1].Normalized, "+78005553535")
					// The new first phone was sent without a value_type: it
					// gets the default, not the replaced phone's MOBILE.
					eq(t, "phones[0].value_type", l.Phones[0].ValueType, "WORK")
					eq(t, "emails", len(l.Emails), 1)
				},
				events: []wantEvent{{entity: "lead", action: "update", record: "lead", exact: true, changes: map[string][2]string{"phones": {"*", "*"}}}}},
			{name: "get missing", method: "GET", path: "/api/v1/leads/999999", status: 404, code: "not_found"},
			{name: "get non-numeric id", method: "GET", path: "/api/v1/leads/abc", status: 400, code: "bad_request", field: "id"},
			{name: "patch missing", method: "PATCH", path: "/api/v1/leads/999999", body: map[string]any{"title": "x"}, status: 404, code: "not_found"},
			{name: "list has it", method: "GET", path: "/api/v1/leads", status: 200, check: func(t *testing.T, r resp, v vars) {
				l := decode[listOf[crm.Lead]](t, r)
				if len(l.Items) != 1 || l.Items[0].ID != v.id(t, "lead") || l.NextCursor != "" {
					t.Errorf("list: %s", r.Body)
				}
			}},
		})
	})
}

func checkCreatedLead(t *testing.T, l crm.Lead) {
	t.Helper()
	eq(t, "title", l.Title, "Заявка с сайта")
	eq(t, "name", l.Name, "Иван")
	eq(t, "status_id", l.StatusID, "NEW")
	eq(t, "currency", l.Currency, "RUB")
	eq(t, "opportunity", l.Opportunity, crm.Amount(150050))
	if len(l.Phones) != 1 {
		t.Fatalf("phones %+v", l.Phones)
	}
	eq(t, "phones[0].value", l.Phones[0].Value, "8 (925) 642-42-90")
	eq(t, "phones[0].normalized", l.Phones[0].Normalized, "+79256424290")
	eq(t, "phones[0].value_type", l.Phones[0].ValueType, "MOBILE")
	if len(l.Emails) != 1 {
		t.Fatalf("emails %+v", l.Emails)
	}
	eq(t, "emails[0].value", l.Emails[0].Value, "Ivan@Example.RU")
	eq(t, "emails[0].normalized", l.Emails[0].Normalized, "ivan@example.ru")
	if l.CreatedAt.IsZero() || l.CreatedByID == 0 || l.DeletedAt != nil {
		t.Errorf("meta: created_at %v created_by_id %d deleted_at %v", l.CreatedAt, l.CreatedByID, l.DeletedAt)
	}
}

// TestLeadRequestErrors sends bad requests; none may change anything.
func TestLeadRequestErrors(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		id := e.create("/api/v1/leads", map[string]any{"title": "Исходный", "opportunity": 100})
		before := e.lastEventID()
		big := `{"title":"` + strings.Repeat("x", 5<<20) + `"}`
		cases := []struct {
			name        string
			method      string // POST to the list or PATCH the lead
			body        string
			contentType string
			status      int
			code, field string
			msg         string
		}{
			{"read-only id", "PATCH", `{"id":5}`, "", 400, "read_only_field", "id", "set by the server"},
			{"read-only created_at", "PATCH", `{"created_at":"2020-01-01T00:00:00Z"}`, "", 400, "read_only_field", "created_at", ""},
			{"read-only deal_id", "PATCH", `{"title":"ok","deal_id":3}`, "", 400, "read_only_field", "deal_id", ""},
			{"read-only converted_at", "PATCH", `{"converted_at":null}`, "", 400, "read_only_field", "converted_at", ""},
			{"read-only id on create", "POST", `{"id":5,"title":"x"}`, "", 400, "read_only_field", "id", ""},
			{"read-only contact_id on create", "POST", `{"title":"x","contact_id":1}`, "", 400, "read_only_field", "contact_id", ""},
			{"read-only id spelled with an escape", "POST", `{"title":"x","\u0069d":5}`, "", 400, "read_only_field", "id", ""},
			{"read-only created_at spelled with an escape", "PATCH", `{"created\u005fat":"2020-01-01T00:00:00Z"}`, "", 400, "read_only_field", "created_at", ""},
			{"unknown field", "PATCH", `{"titel":"x"}`, "", 400, "unknown_field", "titel", "titel"},
			{"unknown field on create", "POST", `{"title":"x","utm":"y"}`, "", 400, "unknown_field", "utm", ""},
			{"wrong type of title", "PATCH", `{"title":5}`, "", 400, "wrong_type", "title", "expected a string"},
			{"wrong type of phones.value", "POST", `{"title":"x","phones":[{"value":89256424290}]}`, "", 400, "wrong_type", "phones.value", ""},
			{"wrong type of phones", "POST", `{"title":"x","phones":"89256424290"}`, "", 400, "wrong_type", "phones", "an array"},
			{"amount with 3 decimals", "PATCH", `{"opportunity":"1.234"}`, "", 400, "wrong_type", "opportunity", "2 decimal places"},
			{"amount that is not a number", "PATCH", `{"opportunity":"много"}`, "", 400, "wrong_type", "opportunity", ""},
			{"price with 3 decimals", "POST", `{"title":"x","product_rows":[{"name":"a","price":1.005,"quantity":1}]}`, "", 400, "wrong_type", "product_rows.price", ""},
			{"malformed JSON", "POST", "{\n  \"title\": \"x\",\n}", "", 400, "invalid_json", "", "line 3"},
			{"truncated JSON", "PATCH", `{"title":"x"`, "", 400, "invalid_json", "", ""},
			{"empty body", "POST", ``, "", 400, "invalid_json", "", "empty"},
			{"array body", "POST", `[{"title":"x"}]`, "", 400, "invalid_json", "", ""},
			{"two JSON values", "POST", `{"title":"x"}{"title":"y"}`, "", 400, "invalid_json", "", ""},
			{"bad status_id", "PATCH", `{"status_id":"BOGUS"}`, "", 422, "validation_failed", "status_id", ""},
			{"bad source_id", "POST", `{"title":"x","source_id":"NOPE"}`, "", 422, "validation_failed", "source_id", ""},
			{"bad e-mail", "POST", `{"title":"x","emails":[{"value":"not-an-email"}]}`, "", 422, "validation_failed", "emails[0].value", ""},
			{"bad second e-mail", "PATCH", `{"emails":[{"value":"a@b.ru"},{"value":"@@"}]}`, "", 422, "validation_failed", "emails[1].value", ""},
			{"bad phone", "POST", `{"title":"x","phones":[{"value":"12"}]}`, "", 422, "validation_failed", "phones[0].value", ""},
			{"bad phone value_type", "POST", `{"title":"x","phones":[{"value":"89256424290","value_type":"SATELLITE"}]}`, "", 422, "validation_failed", "phones[0].value_type", ""},
			{"no title, name, company, phone or e-mail", "POST", `{"comments":"?"}`, "", 422, "validation_failed", "title", ""},
			{"negative opportunity", "PATCH", `{"opportunity":-1}`, "", 422, "validation_failed", "opportunity", ""},
			{"bad currency", "PATCH", `{"currency":"RUBL"}`, "", 422, "validation_failed", "currency", ""},
			{"unknown currency", "PATCH", `{"currency":"XYZ"}`, "", 422, "validation_failed", "currency", ""},
			{"zero quantity", "POST", `{"title":"x","product_rows":[{"name":"a","price":1,"quantity":0}]}`, "", 422, "validation_failed", "product_rows[0].quantity", ""},
			{"bad birthdate", "PATCH", `{"birthdate":"31.12.1990"}`, "", 422, "validation_failed", "birthdate", ""},
			{"undeclared custom field", "PATCH", `{"custom":{"UF_CRM_NOPE":1}}`, "", 422, "validation_failed", "custom.UF_CRM_NOPE", ""},
			{"body over the limit", "POST", big, "", 413, "payload_too_large", "", "larger than"},
			{"text/plain", "POST", `{"title":"x"}`, "text/plain", 415, "unsupported_media_type", "", ""},
			{"text/plain patch", "PATCH", `{"title":"x"}`, "text/plain; charset=utf-8", 415, "unsupported_media_type", "", ""},
			{"windows-1251", "POST", `{"title":"x"}`, "application/json; charset=windows-1251", 415, "unsupported_media_type", "", "UTF-8"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e := e.on(t)
				path := "/api/v1/leads"
				if c.method == "PATCH" {
					path += "/" + idStr(id)
				}
				var hs []string
				if c.contentType != "" {
					hs = []string{"Content-Type", c.contentType}
				}
				checkErr(t, e.do(c.method, path, c.body, hs...), c.status, c.code, c.field, c.msg)
			})
		}
		t.Run("nothing changed", func(t *testing.T) {
			e := e.on(t)
			if evs := e.eventsAfter(before, ""); len(evs) != 0 {
				t.Errorf("failed requests wrote events:%s", describe(evs))
			}
			l := decode[crm.Lead](t, must(t, e.do("GET", "/api/v1/leads/"+idStr(id), nil), 200))
			eq(t, "title", l.Title, "Исходный")
			eq(t, "opportunity", l.Opportunity, crm.Amount(10000))
			eq(t, "status_id", l.StatusID, "NEW")
			if ids := e.listLeads(""); !slices.Equal(ids, []int64{id}) {
				t.Errorf("leads %v, want only %d", ids, id)
			}
		})
		t.Run("JSON content type with a +json suffix is accepted", func(t *testing.T) {
			e := e.on(t)
			must(t, e.do("POST", "/api/v1/leads", `{"title":"ok"}`, "Content-Type", "application/merge-patch+json"), 201)
		})
	})
}

// ---- recycle bin -------------------------------------------------------------

func TestRecycleBin(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		v := vars{}
		listIs := func(query string, want ...string) func(t *testing.T, r resp, v vars) {
			return func(t *testing.T, r resp, v vars) {
				got := leadIDs(decode[listOf[crm.Lead]](t, r).Items)
				var w []int64
				for _, n := range want {
					w = append(w, v.id(t, n))
				}
				if !slices.Equal(got, w) && !(len(got) == 0 && len(w) == 0) {
					t.Errorf("list %s: %v, want %v", query, got, w)
				}
			}
		}
		binIs := func(want ...string) func(t *testing.T, r resp, v vars) {
			return func(t *testing.T, r resp, v vars) {
				items := decode[listOf[struct {
					Entity    string    `json:"entity"`
					ID        int64     `json:"id"`
					Title     string    `json:"title"`
					DeletedAt time.Time `json:"deleted_at"`
				}]](t, r).Items
				if len(items) != len(want) {
					t.Fatalf("recycle bin: %s, want %v", r.Body, want)
				}
				for i, n := range want {
					if items[i].Entity != "lead" || items[i].ID != v.id(t, n) || items[i].Title != "Лид "+n || items[i].DeletedAt.IsZero() {
						t.Errorf("bin item %d: %+v, want lead %s", i, items[i], n)
					}
				}
			}
		}
		del := func(n string) wantEvent {
			return wantEvent{entity: "lead", action: "delete", record: n, exact: true, changes: map[string][2]string{"deleted_at": {"null", "*"}}}
		}
		runSteps(t, e, v, []step{
			{name: "create a", method: "POST", path: "/api/v1/leads", body: map[string]any{"title": "Лид a"}, status: 201, save: "a", anyEvents: true},
			{name: "create b", method: "POST", path: "/api/v1/leads", body: map[string]any{"title": "Лид b"}, status: 201, save: "b", anyEvents: true},
			{name: "delete a", method: "DELETE", path: "/api/v1/leads/{a}", status: 204, events: []wantEvent{del("a")}},
			{name: "get deleted a", method: "GET", path: "/api/v1/leads/{a}", status: 200, check: func(t *testing.T, r resp, v vars) {
				l := decode[crm.Lead](t, r)
				if l.DeletedAt == nil || l.DeletedByID == 0 {
					t.Errorf("deleted_at %v deleted_by_id %d", l.DeletedAt, l.DeletedByID)
				}
			}},
			{name: "list leaves a out", method: "GET", path: "/api/v1/leads", status: 200, check: listIs("", "b")},
			{name: "list deleted=true", method: "GET", path: "/api/v1/leads?deleted=true", status: 200, check: listIs("deleted=true", "a")},
			{name: "patch deleted", method: "PATCH", path: "/api/v1/leads/{a}", body: map[string]any{"title": "x"}, status: 404, code: "not_found"},
			{name: "delete twice", method: "DELETE", path: "/api/v1/leads/{a}", status: 404, code: "not_found"},
			{name: "recycle bin", method: "GET", path: "/api/v1/recyclebin", status: 200, check: binIs("a")},
			{name: "recycle bin of leads", method: "GET", path: "/api/v1/recyclebin?entity=lead", status: 200, check: binIs("a")},
			{name: "recycle bin of deals", method: "GET", path: "/api/v1/recyclebin?entity=deal", status: 200, check: binIs()},
			{name: "restore a", method: "POST", path: "/api/v1/leads/{a}/restore", status: 200,
				check: func(t *testing.T, r resp, v vars) {
					l := decode[crm.Lead](t, r)
					if l.DeletedAt != nil || l.Title != "Лид a" {
						t.Errorf("restored: %s", r.Body)
					}
				},
				events: []wantEvent{{entity: "lead", action: "restore", record: "a", exact: true, changes: map[string][2]string{"deleted_at": {"*", "null"}}}}},
			{name: "restore a live lead", method: "POST", path: "/api/v1/leads/{b}/restore", status: 404, code: "not_found"},
			{name: "list after restore", method: "GET", path: "/api/v1/leads", status: 200, check: listIs("", "a", "b")},
			{name: "bin is empty", method: "GET", path: "/api/v1/recyclebin", status: 200, check: binIs()},
			{name: "delete a again", method: "DELETE", path: "/api/v1/leads/{a}", status: 204, events: []wantEvent{del("a")}},
			{name: "purge a live lead", method: "DELETE", path: "/api/v1/recyclebin/lead/{b}", status: 404, code: "not_found"},
			{name: "purge an unknown entity", method: "DELETE", path: "/api/v1/recyclebin/widget/{a}", status: 422, code: "validation_failed", field: "entity"},
			{name: "purge a missing lead", method: "DELETE", path: "/api/v1/recyclebin/lead/999999", status: 404, code: "not_found"},
			{name: "purge a", method: "DELETE", path: "/api/v1/recyclebin/lead/{a}", status: 204,
				events: []wantEvent{{entity: "lead", action: "purge", record: "a"}}},
			{name: "purged is gone", method: "GET", path: "/api/v1/leads/{a}", status: 404, code: "not_found"},
			{name: "purged is not in the bin", method: "GET", path: "/api/v1/recyclebin", status: 200, check: binIs()},
			{name: "purged cannot be restored", method: "POST", path: "/api/v1/leads/{a}/restore", status: 404, code: "not_found"},
			{name: "b untouched", method: "GET", path: "/api/v1/leads", status: 200, check: listIs("", "b")},
		})
	})
}

// ---- finding by phone, e-mail, INN and text ----------------------------------

func TestFindByCommsAndText(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ids := map[string]int64{
			"petrov": e.create("/api/v1/contacts", map[string]any{"name": "Иван", "last_name": "Петров",
				"phones": []any{map[string]any{"value": "8 (925) 642-42-90"}}, "emails": []any{map[string]any{"value": "ivan@example.ru"}}}),
			"ivanova": e.create("/api/v1/contacts", map[string]any{"name": "Мария", "last_name": "Иванова",
				"phones": []any{map[string]any{"value": "+7 916 000-00-01"}}, "emails": []any{map[string]any{"value": "maria@example.ru"}}}),
			"smith": e.create("/api/v1/contacts", map[string]any{"name": "John", "last_name": "Smith",
				"phones": []any{map[string]any{"value": "+44 20 7946 0958"}}}),
			"sber":     e.create("/api/v1/accounts", map[string]any{"title": "ПАО Сбербанк", "inn": "7707083893"}),
			"romashka": e.create("/api/v1/accounts", map[string]any{"title": "ООО Ромашка", "phones": []any{map[string]any{"value": "8 (925) 642-42-90"}}}),
			"lead":     e.create("/api/v1/leads", map[string]any{"title": "Звонок", "phones": []any{map[string]any{"value": "+79256424290"}}}),
		}
		cases := []struct {
			path string
			want []string
		}{
			{"/api/v1/contacts?phone=89256424290", []string{"petrov"}},
			{"/api/v1/contacts?phone=%2B7%20925%20642-42-90", []string{"petrov"}},
			{"/api/v1/contacts?phone=8-925-642-42-90", []string{"petrov"}},
			{"/api/v1/contacts?phone=9256424290", []string{"petrov"}},
			{"/api/v1/contacts?phone=%2B79256424290", []string{"petrov"}},
			{"/api/v1/contacts?phone=%2B442079460958", []string{"smith"}},
			{"/api/v1/contacts?phone=89990000000", nil},
			{"/api/v1/accounts?phone=8%20925%20642%2042%2090", []string{"romashka"}},
			{"/api/v1/leads?phone=8(925)6424290", []string{"lead"}},
			{"/api/v1/contacts?email=IVAN@EXAMPLE.RU", []string{"petrov"}},
			{"/api/v1/contacts?email=ivan@example.ru", []string{"petrov"}},
			{"/api/v1/contacts?email=ivan@example.com", nil},
			{"/api/v1/accounts?inn=7707083893", []string{"sber"}},
			{"/api/v1/accounts?inn=7707083894", nil},
			{"/api/v1/contacts?q=" + url.QueryEscape("иван"), []string{"petrov", "ivanova"}},
			{"/api/v1/contacts?q=" + url.QueryEscape("ИВАН"), []string{"petrov", "ivanova"}},
			{"/api/v1/contacts?q=" + url.QueryEscape("Петров"), []string{"petrov"}},
			{"/api/v1/contacts?q=smith", []string{"smith"}},
			{"/api/v1/contacts?q=89256424290", []string{"petrov"}},
			{"/api/v1/contacts?q=" + url.QueryEscape("+7 916 000-00-01"), []string{"ivanova"}},
			{"/api/v1/contacts?q=MARIA@example.ru", []string{"ivanova"}},
			{"/api/v1/contacts?q=" + url.QueryEscape("сидоров"), nil},
			{"/api/v1/accounts?q=" + url.QueryEscape("сбербанк"), []string{"sber"}},
			{"/api/v1/accounts?q=7707083893", []string{"sber"}},
			{"/api/v1/accounts?q=770708", []string{"sber"}},
			{"/api/v1/leads?q=" + url.QueryEscape("звонок"), []string{"lead"}},
			{"/api/v1/contacts?q=" + url.QueryEscape("100%"), nil},
		}
		for _, c := range cases {
			t.Run(c.path, func(t *testing.T) {
				e := e.on(t)
				r := must(t, e.do("GET", c.path, nil), 200)
				items := decode[listOf[struct {
					ID int64 `json:"id"`
				}]](t, r).Items
				var got, want []int64
				for _, it := range items {
					got = append(got, it.ID)
				}
				for _, n := range c.want {
					want = append(want, ids[n])
				}
				if !slices.Equal(got, want) {
					t.Errorf("got %v, want %v (%v)", got, want, c.want)
				}
			})
		}
		t.Run("errors", func(t *testing.T) {
			e := e.on(t)
			checkErr(t, e.do("GET", "/api/v1/deals?phone=89256424290", nil), 422, "validation_failed", "phone", "")
			// Contacts are found by the INNs of their requisites; deals
			// have none.
			checkErr(t, e.do("GET", "/api/v1/deals?inn=7707083893", nil), 422, "validation_failed", "inn", "")
		})
	})
}

// ---- lists: filters, sorting, custom fields, cursors ---------------------------

func TestListFilters(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		type seed struct{ title, status, source, opp string }
		seeds := []seed{
			{"Alpha", "NEW", "WEB", "500"},
			{"Beta", "IN_PROCESS", "CALL", "1000"},
			{"Gamma", "PROCESSED", "WEB", "2500"},
			{"Delta", "NEW", "EMAIL", "1000.50"},
			{"Epsilon", "JUNK", "", "0"},
		}
		id := map[string]int64{}
		created := map[string]time.Time{}
		for _, s := range seeds {
			r := must(t, e.do("POST", "/api/v1/leads", map[string]any{"title": s.title, "status_id": s.status, "source_id": s.source, "opportunity": s.opp}), 201)
			l := decode[crm.Lead](t, r)
			id[s.title], created[s.title] = l.ID, l.CreatedAt
		}
		at := func(n string) string { return url.QueryEscape(created[n].Format(time.RFC3339Nano)) }
		cases := []struct {
			query string
			want  []string
		}{
			{"", []string{"Alpha", "Beta", "Gamma", "Delta", "Epsilon"}},
			{"opportunity.gte=1000", []string{"Beta", "Gamma", "Delta"}},
			{"opportunity.gt=1000", []string{"Gamma", "Delta"}},
			{"opportunity.lt=1000", []string{"Alpha", "Epsilon"}},
			{"opportunity.lte=1000", []string{"Alpha", "Beta", "Epsilon"}},
			{"opportunity=1000.50", []string{"Delta"}},
			{"opportunity.eq=2500", []string{"Gamma"}},
			{"opportunity.ne=1000", []string{"Alpha", "Gamma", "Delta", "Epsilon"}},
			{"opportunity.in=500,2500", []string{"Alpha", "Gamma"}},
			{"status_id.in=NEW,IN_PROCESS", []string{"Alpha", "Beta", "Delta"}},
			{"status_id.in=NEW,%20IN_PROCESS", []string{"Alpha", "Beta", "Delta"}},
			{"status_id.ne=NEW", []string{"Beta", "Gamma", "Epsilon"}},
			{"status_id=JUNK", []string{"Epsilon"}},
			{"title.like=lph", []string{"Alpha"}},
			{"title.like=a", []string{"Alpha", "Beta", "Gamma", "Delta"}},
			{"title.like=%25", nil}, // % is a literal, not a wildcard
			{"title.like=_", nil},
			{"source_id=WEB&opportunity.gte=1000", []string{"Gamma"}},
			{"source_id=", []string{"Epsilon"}},
			{"created_at.gte=" + at("Gamma"), []string{"Gamma", "Delta", "Epsilon"}},
			{"created_at.lt=" + at("Gamma"), []string{"Alpha", "Beta"}},
			{"created_at.gte=" + at("Beta") + "&created_at.lte=" + at("Delta"), []string{"Beta", "Gamma", "Delta"}},
			{"created_at.gte=2000-01-01", []string{"Alpha", "Beta", "Gamma", "Delta", "Epsilon"}},
			{"sort=-opportunity", []string{"Gamma", "Delta", "Beta", "Alpha", "Epsilon"}},
			{"sort=opportunity", []string{"Epsilon", "Alpha", "Beta", "Delta", "Gamma"}},
			{"sort=title", []string{"Alpha", "Beta", "Delta", "Epsilon", "Gamma"}},
			{"sort=-id", []string{"Epsilon", "Delta", "Gamma", "Beta", "Alpha"}},
			{"sort=-opportunity&status_id=NEW", []string{"Delta", "Alpha"}},
		}
		for _, c := range cases {
			t.Run(c.query, func(t *testing.T) {
				got := e.on(t).listLeads(c.query)
				var want []int64
				for _, n := range c.want {
					want = append(want, id[n])
				}
				if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("got %v, want %v (%v)", got, want, c.want)
				}
			})
		}
		errs := []struct {
			query  string
			status int
			field  string
		}{
			{"bogus=1", 422, "bogus"},
			{"title.regex=x", 422, "title.regex"},
			{"opportunity.gte=abc", 422, "opportunity"},
			{"opportunity.like=1", 422, "opportunity"},
			{"created_at.gte=yesterday", 422, "created_at"},
			{"sort=bogus", 422, "sort"},
			{"sort=-comments", 422, "sort"},
			{"cursor=!!!", 422, "cursor"},
			{"cursor=" + "eyJ2IjoxfQ", 422, "cursor"}, // base64 of {"v":1}: not a cursor
			{"limit=0", 400, "limit"},
			{"limit=x", 400, "limit"},
			{"limit=501", 422, "limit"},
			{"custom.UF_CRM_NOPE.gte=1", 422, "custom.UF_CRM_NOPE"},
		}
		for _, c := range errs {
			t.Run("error "+c.query, func(t *testing.T) {
				r := e.on(t).do("GET", "/api/v1/leads?"+c.query, nil)
				code := "validation_failed"
				if c.status == 400 {
					code = "bad_request"
				}
				checkErr(t, r, c.status, code, c.field, "")
			})
		}
	})
}

func TestCustomFieldFilter(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		r := must(t, e.do("POST", "/api/v1/custom-fields", map[string]any{"entity": "lead", "code": "UF_CRM_UTM_X", "label": "x", "type": "number"}), 201)
		f := decode[crm.CustomField](t, r)
		eq(t, "code", f.Code, "UF_CRM_UTM_X")
		checkErr(t, e.do("POST", "/api/v1/custom-fields", map[string]any{"entity": "lead", "code": "UF_CRM_UTM_X", "label": "again", "type": "number"}),
			422, "validation_failed", "code", "")
		checkErr(t, e.do("POST", "/api/v1/custom-fields", map[string]any{"entity": "lead", "code": "UF_CRM_Y", "label": "y", "type": "colour"}),
			422, "validation_failed", "type", "")

		before := e.lastEventID()
		l1 := e.create("/api/v1/leads", `{"title":"one","custom":{"UF_CRM_UTM_X":1}}`)
		l3 := e.create("/api/v1/leads", `{"title":"three","custom":{"UF_CRM_UTM_X":3}}`)
		l5 := e.create("/api/v1/leads", `{"title":"five","custom":{"UF_CRM_UTM_X":"5"}}`)
		none := e.create("/api/v1/leads", `{"title":"none"}`)
		evs := e.eventsAfter(before, "")
		if len(evs) != 4 {
			t.Fatalf("events:%s", describe(evs))
		}
		if c, ok := evs[0].Changes["custom"]; !ok || !strings.Contains(string(c.New), "UF_CRM_UTM_X") {
			t.Errorf("create event does not carry the custom value: %+v", evs[0].Changes)
		}

		l := decode[crm.Lead](t, must(t, e.do("GET", "/api/v1/leads/"+idStr(l5), nil), 200))
		if n, ok := l.Custom["UF_CRM_UTM_X"].(float64); !ok || n != 5 {
			t.Errorf("custom %#v, want UF_CRM_UTM_X: 5", l.Custom)
		}
		cases := []struct {
			query string
			want  []int64
		}{
			{"custom.UF_CRM_UTM_X.gte=3", []int64{l3, l5}},
			{"custom.UF_CRM_UTM_X.gt=3", []int64{l5}},
			{"custom.UF_CRM_UTM_X.lt=3", []int64{l1}},
			{"custom.UF_CRM_UTM_X.lte=3", []int64{l1, l3}},
			{"custom.UF_CRM_UTM_X=3", []int64{l3}},
			{"custom.UF_CRM_UTM_X.in=1,5", []int64{l1, l5}},
			{"custom.UF_CRM_UTM_X.ne=3", []int64{l1, l5, none}},
			{"custom.UF_CRM_UTM_X.gte=3&title=five", []int64{l5}},
		}
		for _, c := range cases {
			t.Run(c.query, func(t *testing.T) {
				if got := e.on(t).listLeads(c.query); !slices.Equal(got, c.want) {
					t.Errorf("got %v, want %v", got, c.want)
				}
			})
		}
		t.Run("patch the value", func(t *testing.T) {
			e := e.on(t)
			before := e.lastEventID()
			must(t, e.do("PATCH", "/api/v1/leads/"+idStr(l1), `{"custom":{"UF_CRM_UTM_X":10}}`), 200)
			checkEvents(t, e.eventsAfter(before, ""), []wantEvent{{entity: "lead", action: "update", exact: true,
				changes: map[string][2]string{"custom": {`{"UF_CRM_UTM_X":1}`, `{"UF_CRM_UTM_X":10}`}}}}, vars{})
			if got := e.listLeads("custom.UF_CRM_UTM_X.gte=5"); !slices.Equal(got, []int64{l1, l5}) {
				t.Errorf("after patch: %v", got)
			}
		})
		checkErr(t, e.do("POST", "/api/v1/leads", `{"title":"bad","custom":{"UF_CRM_UTM_X":"много"}}`), 422, "validation_failed", "custom.UF_CRM_UTM_X", "")
		checkErr(t, e.do("GET", "/api/v1/leads?custom.UF_CRM_UTM_X.gte=abc", nil), 422, "validation_failed", "custom.UF_CRM_UTM_X", "")
	})
}

func TestCursorPagination(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		opps := []string{"300", "100", "300", "200", "100", "300", "50"}
		var ids []int64
		for i, o := range opps {
			ids = append(ids, e.create("/api/v1/leads", map[string]any{"title": fmt.Sprintf("L%d", i+1), "opportunity": o}))
		}
		L := func(ns ...int) []int64 {
			var out []int64
			for _, n := range ns {
				out = append(out, ids[n-1])
			}
			return out
		}
		cases := []struct {
			query string
			want  []int64
		}{
			{"", L(1, 2, 3, 4, 5, 6, 7)},
			{"sort=-id", L(7, 6, 5, 4, 3, 2, 1)},
			// Ties are broken by id in the sort's direction.
			{"sort=-opportunity", L(6, 3, 1, 4, 5, 2, 7)},
			{"sort=opportunity", L(7, 2, 5, 4, 1, 3, 6)},
			{"sort=title", L(1, 2, 3, 4, 5, 6, 7)},
			{"opportunity.gte=100&sort=-opportunity", L(6, 3, 1, 4, 5, 2)},
		}
		for _, c := range cases {
			for _, limit := range []int{1, 3, 7} {
				t.Run(fmt.Sprintf("%s limit=%d", c.query, limit), func(t *testing.T) {
					e := e.on(t)
					var got []int64
					cursor, pages := "", 0
					for {
						q := fmt.Sprintf("%s&limit=%d", c.query, limit)
						if cursor != "" {
							q += "&cursor=" + url.QueryEscape(cursor)
						}
						p := decode[listOf[crm.Lead]](t, must(t, e.do("GET", "/api/v1/leads?"+q, nil), 200))
						pages++
						if len(p.Items) > limit {
							t.Fatalf("page of %d items with limit %d", len(p.Items), limit)
						}
						if p.NextCursor != "" && len(p.Items) != limit {
							t.Fatalf("short page (%d) with a next cursor", len(p.Items))
						}
						got = append(got, leadIDs(p.Items)...)
						if p.NextCursor == "" {
							break
						}
						if pages > 20 {
							t.Fatal("cursor does not end")
						}
						cursor = p.NextCursor
					}
					if !slices.Equal(got, c.want) {
						t.Errorf("got %v, want %v", got, c.want)
					}
					if want := (len(c.want) + limit - 1) / limit; pages != want && pages != want+1 {
						t.Errorf("%d pages, want %d", pages, want)
					}
				})
			}
		}
		t.Run("cursor of one sort used with another", func(t *testing.T) {
			e := e.on(t)
			p := decode[listOf[crm.Lead]](t, must(t, e.do("GET", "/api/v1/leads?sort=title&limit=2", nil), 200))
			checkErr(t, e.do("GET", "/api/v1/leads?sort=opportunity&cursor="+p.NextCursor, nil), 422, "validation_failed", "cursor", "")
		})
	})
}

// ---- Idempotency-Key -----------------------------------------------------------

func TestIdempotencyKey(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, mgrKey := e.newUser("manager1", crm.RoleManager)
		v := vars{"mgr": mgrKey}
		body := map[string]any{"title": "Заказ с сайта", "phones": []any{map[string]any{"value": "89256424290"}}}
		sameID := func(name string) func(t *testing.T, r resp, v vars) {
			return func(t *testing.T, r resp, v vars) {
				if got := decode[crm.Lead](t, r).ID; got != v.id(t, name) {
					t.Errorf("id %d, want %s=%s", got, name, v[name])
				}
			}
		}
		replayed := func(want string, next func(*testing.T, resp, vars)) func(t *testing.T, r resp, v vars) {
			return func(t *testing.T, r resp, v vars) {
				eq(t, "Idempotent-Replayed", r.Header.Get("Idempotent-Replayed"), want)
				if next != nil {
					next(t, r, v)
				}
			}
		}
		key := []string{"Idempotency-Key", "order-42"}
		runSteps(t, e, v, []step{
			{name: "first", method: "POST", path: "/api/v1/leads", body: body, headers: key, status: 201, save: "first",
				check:  replayed("", nil),
				events: []wantEvent{{entity: "lead", action: "create", record: "first"}}},
			{name: "retry", method: "POST", path: "/api/v1/leads", body: body, headers: key, status: 201,
				check: replayed("true", sameID("first"))},
			{name: "retry again", method: "POST", path: "/api/v1/leads", body: body, headers: key, status: 201,
				check: replayed("true", sameID("first"))},
			{name: "same key, other body", method: "POST", path: "/api/v1/leads", body: map[string]any{"title": "Другой"}, headers: key,
				status: 422, code: "idempotency_key_reused", field: "Idempotency-Key"},
			{name: "same key, other resource", method: "POST", path: "/api/v1/contacts", body: map[string]any{"name": "Иван"}, headers: key,
				status: 422, code: "idempotency_key_reused", field: "Idempotency-Key"},
			{name: "other key", method: "POST", path: "/api/v1/leads", body: body, headers: []string{"Idempotency-Key", "order-43"}, status: 201, save: "second",
				check:  replayed("", nil),
				events: []wantEvent{{entity: "lead", action: "create", record: "second"}}},
			{name: "same key, other user", method: "POST", path: "/api/v1/leads", body: body, headers: key, auth: "{mgr}", status: 201, save: "third",
				check:  replayed("", nil),
				events: []wantEvent{{entity: "lead", action: "create", record: "third"}}},
			{name: "a failed create does not use up the key", method: "POST", path: "/api/v1/leads", body: map[string]any{"title": "x", "status_id": "BOGUS"},
				headers: []string{"Idempotency-Key", "order-44"}, status: 422, code: "validation_failed", field: "status_id"},
			{name: "the fixed request with that key", method: "POST", path: "/api/v1/leads", body: map[string]any{"title": "x", "status_id": "NEW"},
				headers: []string{"Idempotency-Key", "order-44"}, status: 201, save: "fourth", check: replayed("", nil),
				events: []wantEvent{{entity: "lead", action: "create", record: "fourth"}}},
			{name: "key too long", method: "POST", path: "/api/v1/leads", body: body, headers: []string{"Idempotency-Key", strings.Repeat("k", 256)},
				status: 400, code: "bad_request", field: "Idempotency-Key"},
			{name: "four leads in all", method: "GET", path: "/api/v1/leads", status: 200, check: func(t *testing.T, r resp, v vars) {
				got := leadIDs(decode[listOf[crm.Lead]](t, r).Items)
				want := []int64{v.id(t, "first"), v.id(t, "second"), v.id(t, "third"), v.id(t, "fourth")}
				if !slices.Equal(got, want) {
					t.Errorf("leads %v, want %v", got, want)
				}
			}},
		})
	})
}

func TestIdempotencyKeyConcurrent(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		before := e.lastEventID()
		const n = 10
		body := `{"title":"Один заказ","opportunity":"990"}`
		type answer struct {
			status   int
			id       int64
			replayed bool
			err      error
			body     string
		}
		answers := make([]answer, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				req, err := http.NewRequest("POST", e.srv.URL+"/api/v1/leads", strings.NewReader(body))
				if err != nil {
					answers[i].err = err
					return
				}
				req.Header.Set("Authorization", "Bearer "+e.key)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", "concurrent-1")
				res, err := e.client.Do(req)
				if err != nil {
					answers[i].err = err
					return
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				var l crm.Lead
				_ = json.Unmarshal(b, &l)
				answers[i] = answer{status: res.StatusCode, id: l.ID, replayed: res.Header.Get("Idempotent-Replayed") == "true", body: string(b)}
			}()
		}
		close(start)
		wg.Wait()
		fresh := 0
		for i, a := range answers {
			if a.err != nil {
				t.Fatalf("request %d: %v", i, a.err)
			}
			if a.status != 201 {
				t.Errorf("request %d: status %d: %s", i, a.status, a.body)
			}
			if a.id == 0 || a.id != answers[0].id {
				t.Errorf("request %d: id %d, request 0 got %d", i, a.id, answers[0].id)
			}
			if !a.replayed {
				fresh++
			}
		}
		if fresh != 1 {
			t.Errorf("%d answers were not replays, want 1", fresh)
		}
		if ids := e.listLeads(""); !slices.Equal(ids, []int64{answers[0].id}) {
			t.Errorf("leads %v, want one: %d", ids, answers[0].id)
		}
		checkEvents(t, e.eventsAfter(before, ""), []wantEvent{{entity: "lead", action: "create", record: "x"}}, vars{"x": idStr(answers[0].id)})
	})
}

// ---- lead conversion ---------------------------------------------------------

type convertResult struct {
	Lead    crm.Lead     `json:"lead"`
	Deal    *crm.Deal    `json:"deal"`
	Contact *crm.Contact `json:"contact"`
	Account *crm.Account `json:"account"`
}

const convertibleLead = `{"title":"Заявка на поставку","name":"Иван","last_name":"Петров","company_title":"ООО Ромашка",
	"phones":[{"value":"8 (925) 642-42-90"}],"emails":[{"value":"ivan@example.ru"}],"source_id":"WEB",
	"product_rows":[{"name":"Товар","price":"1500.50","quantity":"2.5","vat_rate":20,"vat_included":true}]}`

func TestConvertLead(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		v := vars{}
		runSteps(t, e, v, []step{
			{name: "create lead", method: "POST", path: "/api/v1/leads", body: convertibleLead, status: 201, save: "lead", anyEvents: true,
				check: func(t *testing.T, r resp, v vars) {
					eq(t, "opportunity", decode[crm.Lead](t, r).Opportunity, crm.Amount(375125))
				}},
			{name: "convert", method: "POST", path: "/api/v1/leads/{lead}/convert", body: map[string]any{"deal": true, "contact": true, "account": true}, status: 200,
				check: func(t *testing.T, r resp, v vars) {
					res := decode[convertResult](t, r)
					if res.Deal == nil || res.Contact == nil || res.Account == nil {
						t.Fatalf("convert answer lacks records: %s", r.Body)
					}
					v["deal"], v["contact"], v["account"] = idStr(res.Deal.ID), idStr(res.Contact.ID), idStr(res.Account.ID)
					checkConverted(t, v, res.Lead, *res.Deal, *res.Contact, *res.Account)
				},
				events: []wantEvent{
					{entity: "account", action: "create", record: "account", changes: map[string][2]string{"title": {"null", `"ООО Ромашка"`}}},
					{entity: "contact", action: "create", record: "contact", changes: map[string][2]string{"account_ids": {"null", "[{account}]"}, "lead_id": {"null", "{lead}"}}},
					{entity: "deal", action: "create", record: "deal", changes: map[string][2]string{"contact_ids": {"null", "[{contact}]"}, "account_id": {"null", "{account}"}, "opportunity": {"null", "3751.25"}}},
					{entity: "lead", action: "convert", record: "lead", changes: map[string][2]string{
						"status_id": {`"NEW"`, `"CONVERTED"`}, "deal_id": {"0", "{deal}"}, "contact_id": {"0", "{contact}"}, "account_id": {"0", "{account}"}}},
				}},
			{name: "records as stored", method: "GET", path: "/api/v1/leads/{lead}", status: 200, check: func(t *testing.T, r resp, v vars) {
				e := e.on(t)
				d := decode[crm.Deal](t, must(t, e.do("GET", "/api/v1/deals/"+v["deal"], nil), 200))
				c := decode[crm.Contact](t, must(t, e.do("GET", "/api/v1/contacts/"+v["contact"], nil), 200))
				a := decode[crm.Account](t, must(t, e.do("GET", "/api/v1/accounts/"+v["account"], nil), 200))
				checkConverted(t, v, decode[crm.Lead](t, r), d, c, a)
			}},
			{name: "deals of the contact", method: "GET", path: "/api/v1/deals?contact_id={contact}", status: 200, check: func(t *testing.T, r resp, v vars) {
				items := decode[listOf[crm.Deal]](t, r).Items
				if len(items) != 1 || items[0].ID != v.id(t, "deal") {
					t.Errorf("deals of contact: %s", r.Body)
				}
			}},
			{name: "contacts of the account", method: "GET", path: "/api/v1/contacts?account_id={account}", status: 200, check: func(t *testing.T, r resp, v vars) {
				items := decode[listOf[crm.Contact]](t, r).Items
				if len(items) != 1 || items[0].ID != v.id(t, "contact") {
					t.Errorf("contacts of account: %s", r.Body)
				}
			}},
			{name: "convert again", method: "POST", path: "/api/v1/leads/{lead}/convert", body: map[string]any{"deal": true}, status: 409, code: "conflict"},
			{name: "convert choosing nothing", method: "POST", path: "/api/v1/leads/{lead}/convert", body: map[string]any{}, status: 422, code: "validation_failed", field: "deal"},
			{name: "convert a missing lead", method: "POST", path: "/api/v1/leads/999999/convert", body: map[string]any{"deal": true}, status: 404, code: "not_found"},
			{name: "convert with an unknown option", method: "POST", path: "/api/v1/leads/{lead}/convert", body: map[string]any{"deal": true, "company": true}, status: 400, code: "unknown_field", field: "company"},

			// Linking an existing contact instead of creating one.
			{name: "second lead", method: "POST", path: "/api/v1/leads", body: map[string]any{"title": "Повторное обращение", "opportunity": 500}, status: 201, save: "lead2", anyEvents: true},
			{name: "create and link contact both", method: "POST", path: "/api/v1/leads/{lead2}/convert", body: `{"deal":true,"contact":true,"contact_id":{contact}}`,
				status: 422, code: "validation_failed", field: "contact_id"},
			{name: "link a missing contact", method: "POST", path: "/api/v1/leads/{lead2}/convert", body: `{"deal":true,"contact_id":999999}`,
				status: 422, code: "validation_failed", field: "contact_id"},
			{name: "convert linking the contact", method: "POST", path: "/api/v1/leads/{lead2}/convert", body: `{"deal":true,"contact_id":{contact},"deal_title":"Сделка 2"}`, status: 200,
				check: func(t *testing.T, r resp, v vars) {
					res := decode[convertResult](t, r)
					if res.Deal == nil || res.Contact != nil || res.Account != nil {
						t.Fatalf("answer: %s", r.Body)
					}
					v["deal2"] = idStr(res.Deal.ID)
					eq(t, "deal.title", res.Deal.Title, "Сделка 2")
					eq(t, "deal.opportunity", res.Deal.Opportunity, crm.Amount(50000))
					if !slices.Equal(res.Deal.ContactIDs, []int64{v.id(t, "contact")}) {
						t.Errorf("deal.contact_ids %v", res.Deal.ContactIDs)
					}
					eq(t, "lead.contact_id", res.Lead.ContactID, v.id(t, "contact"))
					eq(t, "lead.deal_id", res.Lead.DealID, res.Deal.ID)
				},
				events: []wantEvent{{entity: "deal", action: "create", record: "deal2"}, {entity: "lead", action: "convert", record: "lead2"}}},
		})
	})
}

func checkConverted(t *testing.T, v vars, l crm.Lead, d crm.Deal, c crm.Contact, a crm.Account) {
	t.Helper()
	lead, deal, contact, account := v.id(t, "lead"), v.id(t, "deal"), v.id(t, "contact"), v.id(t, "account")
	eq(t, "lead.status_id", l.StatusID, "CONVERTED")
	eq(t, "lead.deal_id", l.DealID, deal)
	eq(t, "lead.contact_id", l.ContactID, contact)
	eq(t, "lead.account_id", l.AccountID, account)
	if l.ConvertedAt == nil {
		t.Error("lead.converted_at not set")
	}
	eq(t, "deal.title", d.Title, "Заявка на поставку")
	eq(t, "deal.account_id", d.AccountID, account)
	eq(t, "deal.lead_id", d.LeadID, lead)
	eq(t, "deal.source_id", d.SourceID, "WEB")
	if !slices.Equal(d.ContactIDs, []int64{contact}) {
		t.Errorf("deal.contact_ids %v, want [%d]", d.ContactIDs, contact)
	}
	eq(t, "deal.opportunity", d.Opportunity, crm.Amount(375125))
	if len(d.ProductRows) != 1 || d.ProductRows[0].Price != 150050 || d.ProductRows[0].Quantity != 2500 || d.ProductRows[0].Sum != 375125 {
		t.Errorf("deal.product_rows %+v", d.ProductRows)
	}
	eq(t, "contact.name", c.Name, "Иван")
	eq(t, "contact.last_name", c.LastName, "Петров")
	eq(t, "contact.lead_id", c.LeadID, lead)
	if !slices.Equal(c.AccountIDs, []int64{account}) {
		t.Errorf("contact.account_ids %v, want [%d]", c.AccountIDs, account)
	}
	if len(c.Phones) != 1 || c.Phones[0].Normalized != "+79256424290" || len(c.Emails) != 1 || c.Emails[0].Normalized != "ivan@example.ru" {
		t.Errorf("contact comms %+v %+v", c.Phones, c.Emails)
	}
	eq(t, "account.title", a.Title, "ООО Ромашка")
	if len(a.Phones) != 0 {
		t.Errorf("account took the phones the contact has: %+v", a.Phones)
	}
}

// TestConvertLeadAtomic: a conversion that fails part-way leaves nothing.
func TestConvertLeadAtomic(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		full := e.create("/api/v1/leads", convertibleLead)
		noCompany := e.create("/api/v1/leads", map[string]any{"title": "Без компании", "name": "Пётр", "phones": []any{map[string]any{"value": "89161234567"}}})
		cases := []struct {
			name  string
			lead  int64
			body  string
			field string
		}{
			{"account without company title", noCompany, `{"deal":true,"contact":true,"account":true}`, "account"},
			{"bad deal stage after account and contact", full, `{"deal":true,"contact":true,"account":true,"stage_id":"BOGUS"}`, "deal.stage_id"},
			{"bad pipeline after contact", full, `{"deal":true,"contact":true,"category_id":77}`, "deal.category_id"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e := e.on(t)
				before := e.lastEventID()
				checkErr(t, e.do("POST", "/api/v1/leads/"+idStr(c.lead)+"/convert", c.body), 422, "validation_failed", c.field, "")
				if evs := e.eventsAfter(before, ""); len(evs) != 0 {
					t.Errorf("failed convert wrote events:%s", describe(evs))
				}
				for _, path := range []string{"/api/v1/deals", "/api/v1/contacts", "/api/v1/accounts"} {
					for _, q := range []string{"", "?deleted=true"} {
						r := must(t, e.do("GET", path+q, nil), 200)
						if items := decode[listOf[json.RawMessage]](t, r).Items; len(items) != 0 {
							t.Errorf("%s%s after a failed convert: %s", path, q, r.Body)
						}
					}
				}
				l := decode[crm.Lead](t, must(t, e.do("GET", "/api/v1/leads/"+idStr(c.lead), nil), 200))
				if l.StatusID != "NEW" || l.DealID != 0 || l.ContactID != 0 || l.AccountID != 0 || l.ConvertedAt != nil {
					t.Errorf("lead changed by a failed convert: %+v", l)
				}
			})
		}
		t.Run("the event log has no gap after the failures", func(t *testing.T) {
			e := e.on(t)
			before := e.lastEventID()
			e.create("/api/v1/leads", map[string]any{"title": "после"})
			evs := e.eventsAfter(before, "")
			if len(evs) != 1 || evs[0].ID != before+1 {
				t.Errorf("next event id after %d:%s", before, describe(evs))
			}
		})
		t.Run("the lead still converts", func(t *testing.T) {
			e := e.on(t)
			res := decode[convertResult](t, must(t, e.do("POST", "/api/v1/leads/"+idStr(full)+"/convert", `{"deal":true,"contact":true,"account":true}`), 200))
			if res.Deal == nil || res.Contact == nil || res.Account == nil {
				t.Fatalf("convert: %+v", res)
			}
		})
	})
}

// ---- deals and sales orders ----------------------------------------------------

func TestDealsAndSalesOrders(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		v := vars{}
		stage := func(stage string, closed, won bool) func(t *testing.T, r resp, v vars) {
			return func(t *testing.T, r resp, v vars) {
				d := decode[crm.Deal](t, r)
				eq(t, "stage_id", d.StageID, stage)
				eq(t, "closed", d.Closed, closed)
				eq(t, "won", d.Won, won)
			}
		}
		order := func(number string, total crm.Amount) func(t *testing.T, r resp, v vars) {
			return func(t *testing.T, r resp, v vars) {
				o := decode[crm.SalesOrder](t, r)
				eq(t, "number", o.Number, number)
				eq(t, "total", o.Total, total)
			}
		}
		orderBody := map[string]any{"items": []any{map[string]any{"name": "Доставка", "price": "100", "quantity": 2, "vat_rate": 20}}}
		runSteps(t, e, v, []step{
			{name: "deal with product rows", method: "POST", path: "/api/v1/deals", status: 201, save: "deal",
				body: `{"title":"Поставка","product_rows":[{"name":"Товар","price":"1500.50","quantity":2.5,"vat_rate":20,"vat_included":true}]}`,
				check: func(t *testing.T, r resp, v vars) {
					d := decode[crm.Deal](t, r)
					eq(t, "opportunity", d.Opportunity, crm.Amount(375125))
					if len(d.ProductRows) != 1 {
						t.Fatalf("product_rows %s", r.Body)
					}
					row := d.ProductRows[0]
					eq(t, "sum", row.Sum, crm.Amount(375125))
					eq(t, "tax", row.Tax, crm.Amount(62521)) // 3751.25 × 20/120
					eq(t, "quantity", row.Quantity, crm.Quantity(2500))
					if !strings.Contains(string(r.Body), `"opportunity":3751.25`) {
						t.Errorf("opportunity not written as 3751.25: %s", r.Body)
					}
					stage("NEW", false, false)(t, r, v)
				},
				events: []wantEvent{{entity: "deal", action: "create", record: "deal", changes: map[string][2]string{"opportunity": {"null", "3751.25"}, "stage_id": {"null", `"NEW"`}}}}},
			{name: "won", method: "PATCH", path: "/api/v1/deals/{deal}", body: map[string]any{"stage_id": "WON"}, status: 200, check: stage("WON", true, true),
				events: []wantEvent{{entity: "deal", action: "update", record: "deal", exact: true, changes: map[string][2]string{
					"stage_id": {`"NEW"`, `"WON"`}, "closed": {"false", "true"}, "won": {"false", "true"}}}}},
			{name: "lost", method: "PATCH", path: "/api/v1/deals/{deal}", body: map[string]any{"stage_id": "LOSE"}, status: 200, check: stage("LOSE", true, false),
				events: []wantEvent{{entity: "deal", action: "update", record: "deal", exact: true, changes: map[string][2]string{
					"stage_id": {`"WON"`, `"LOSE"`}, "won": {"true", "false"}}}}},
			{name: "reopened", method: "PATCH", path: "/api/v1/deals/{deal}", body: map[string]any{"stage_id": "EXECUTING"}, status: 200, check: stage("EXECUTING", false, false), anyEvents: true},
			{name: "closed is read-only", method: "PATCH", path: "/api/v1/deals/{deal}", body: map[string]any{"closed": true}, status: 400, code: "read_only_field", field: "closed"},
			{name: "unknown stage", method: "PATCH", path: "/api/v1/deals/{deal}", body: map[string]any{"stage_id": "BOGUS"}, status: 422, code: "validation_failed", field: "stage_id"},
			{name: "replace product rows", method: "PATCH", path: "/api/v1/deals/{deal}", body: `{"product_rows":[{"name":"Другой","price":100,"quantity":3}]}`, status: 200,
				check: func(t *testing.T, r resp, v vars) {
					d := decode[crm.Deal](t, r)
					eq(t, "opportunity", d.Opportunity, crm.Amount(30000))
					if len(d.ProductRows) != 1 {
						t.Fatalf("product_rows %s", r.Body)
					}
					// The new row has no VAT: nothing of the replaced row may
					// carry over.
					if d.ProductRows[0].VATRate != nil || d.ProductRows[0].Tax != 0 || d.ProductRows[0].VATIncluded {
						t.Errorf("replaced row kept the old row's VAT: %s", r.Body)
					}
				},
				anyEvents: true},
			{name: "deal with opportunity and no rows", method: "POST", path: "/api/v1/deals", body: map[string]any{"title": "Без товаров", "opportunity": "999.99"}, status: 201,
				check: func(t *testing.T, r resp, v vars) {
					eq(t, "opportunity", decode[crm.Deal](t, r).Opportunity, crm.Amount(99999))
				}, anyEvents: true},
			{name: "deal without title", method: "POST", path: "/api/v1/deals", body: map[string]any{"opportunity": 1}, status: 422, code: "validation_failed", field: "title"},
			{name: "deal with a missing contact", method: "POST", path: "/api/v1/deals", body: map[string]any{"title": "x", "contact_ids": []int{999999}}, status: 422, code: "validation_failed", field: "contact_ids[0]"},

			{name: "first order", method: "POST", path: "/api/v1/sales-orders", body: orderBody, status: 201, save: "so1",
				check: func(t *testing.T, r resp, v vars) {
					o := decode[crm.SalesOrder](t, r)
					eq(t, "number", o.Number, "SO-000001")
					eq(t, "subtotal", o.Subtotal, crm.Amount(20000))
					eq(t, "tax", o.Tax, crm.Amount(4000))
					eq(t, "total", o.Total, crm.Amount(24000))
					eq(t, "status", o.Status, "Created")
				},
				events: []wantEvent{{entity: "sales_order", action: "create", record: "so1", changes: map[string][2]string{"number": {"null", `"SO-000001"`}}}}},
			{name: "second order", method: "POST", path: "/api/v1/sales-orders", body: orderBody, status: 201, check: order("SO-000002", 24000), anyEvents: true},
			{name: "number is read-only", method: "POST", path: "/api/v1/sales-orders", body: map[string]any{"number": "MY-1", "items": []any{}}, status: 400, code: "read_only_field", field: "number"},
			{name: "change prefix", method: "PUT", path: "/api/v1/settings/sales_order.prefix", body: map[string]any{"value": "ZK-"}, status: 200,
				check: func(t *testing.T, r resp, v vars) {
					s := decode[struct{ Key, Value string }](t, r)
					if s.Key != "sales_order.prefix" || s.Value != "ZK-" {
						t.Errorf("setting %s", r.Body)
					}
				}},
			{name: "read prefix", method: "GET", path: "/api/v1/settings/sales_order.prefix", status: 200,
				check: func(t *testing.T, r resp, v vars) { eq(t, "value", decode[struct{ Value string }](t, r).Value, "ZK-") }},
			{name: "third order", method: "POST", path: "/api/v1/sales-orders", body: orderBody, status: 201, check: order("ZK-000003", 24000), anyEvents: true},
			{name: "unknown setting", method: "PUT", path: "/api/v1/settings/bogus.key", body: map[string]any{"value": "x"}, status: 404, code: "not_found", field: "key"},
			{name: "prefix too long", method: "PUT", path: "/api/v1/settings/sales_order.prefix", body: map[string]any{"value": strings.Repeat("X", 21)}, status: 422, code: "validation_failed", field: "value"},
			{name: "first order unchanged", method: "GET", path: "/api/v1/sales-orders/{so1}", status: 200, check: order("SO-000001", 24000)},
			{name: "orders by number", method: "GET", path: "/api/v1/sales-orders?q=zk-000003", status: 200, check: func(t *testing.T, r resp, v vars) {
				items := decode[listOf[crm.SalesOrder]](t, r).Items
				if len(items) != 1 || items[0].Number != "ZK-000003" {
					t.Errorf("search by number: %s", r.Body)
				}
			}},
		})
	})
}

// ---- the event log -------------------------------------------------------------

func TestEventsIntegrationAndPaging(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		base := e.lastEventID()
		shop := []string{"X-Obmen-Integration", "shop"}
		v := vars{}
		runSteps(t, e, v, []step{
			{name: "create from the shop", method: "POST", path: "/api/v1/leads", body: map[string]any{"title": "из магазина"}, headers: shop, status: 201, save: "a",
				events: []wantEvent{{entity: "lead", action: "create", record: "a", integration: "shop", actor: "integration:shop"}}},
			{name: "create by hand", method: "POST", path: "/api/v1/leads", body: map[string]any{"title": "вручную"}, status: 201, save: "b",
				events: []wantEvent{{entity: "lead", action: "create", record: "b", actor: "apikey:1"}}},
			{name: "update from the shop", method: "PATCH", path: "/api/v1/leads/{b}", body: map[string]any{"title": "поправлено в магазине"}, headers: shop, status: 200,
				events: []wantEvent{{entity: "lead", action: "update", record: "b", integration: "shop", exact: true,
					changes: map[string][2]string{"title": {`"вручную"`, `"поправлено в магазине"`}}}}},
			{name: "contact by hand", method: "POST", path: "/api/v1/contacts", body: map[string]any{"name": "Олег"}, status: 201, save: "c",
				events: []wantEvent{{entity: "contact", action: "create", record: "c"}}},
			{name: "delete from the shop", method: "DELETE", path: "/api/v1/contacts/{c}", headers: shop, status: 204,
				events: []wantEvent{{entity: "contact", action: "delete", record: "c", integration: "shop"}}},
		})
		all := e.eventsAfter(base, "")
		if len(all) != 5 {
			t.Fatalf("events:%s", describe(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i].ID != all[i-1].ID+1 {
				t.Errorf("event ids not consecutive:%s", describe(all))
			}
		}
		filters := []struct {
			query string
			want  []int // indexes into all
		}{
			{"", []int{0, 1, 2, 3, 4}},
			{"&exclude_integration=shop", []int{1, 3}},
			{"&exclude_integration=other", []int{0, 1, 2, 3, 4}},
			{"&entity=lead", []int{0, 1, 2}},
			{"&entity=contact", []int{3, 4}},
			{"&entity=lead&record_id=" + v["b"], []int{1, 2}},
			{"&entity=lead&exclude_integration=shop", []int{1}},
			{"&entity=deal", nil},
		}
		for _, f := range filters {
			t.Run("filter "+f.query, func(t *testing.T) {
				got := e.on(t).eventsAfter(base, f.query)
				var gotIDs, wantIDs []int64
				for _, ev := range got {
					gotIDs = append(gotIDs, ev.ID)
				}
				for _, i := range f.want {
					wantIDs = append(wantIDs, all[i].ID)
				}
				if !slices.Equal(gotIDs, wantIDs) {
					t.Errorf("got %v, want %v", gotIDs, wantIDs)
				}
			})
		}
		for _, limit := range []int{1, 2, 5} {
			t.Run(fmt.Sprintf("paging limit=%d", limit), func(t *testing.T) {
				e := e.on(t)
				var got []int64
				after := base
				for range 20 {
					p := decode[eventPage](t, must(t, e.do("GET", fmt.Sprintf("/api/v1/events?after=%d&limit=%d", after, limit), nil), 200))
					if len(p.Events) > limit {
						t.Fatalf("page of %d with limit %d", len(p.Events), limit)
					}
					if len(p.Events) == 0 {
						eq(t, "last_id of an empty page", p.LastID, after)
						if !strings.Contains(string(e.do("GET", fmt.Sprintf("/api/v1/events?after=%d", after), nil).Body), `"events":[]`) {
							t.Error("an empty page does not hold events: []")
						}
						break
					}
					eq(t, "last_id", p.LastID, p.Events[len(p.Events)-1].ID)
					for _, ev := range p.Events {
						got = append(got, ev.ID)
					}
					after = p.LastID
				}
				var want []int64
				for _, ev := range all {
					want = append(want, ev.ID)
				}
				if !slices.Equal(got, want) {
					t.Errorf("paged %v, want %v", got, want)
				}
			})
		}
		for _, q := range []struct{ query, field string }{{"limit=0", "limit"}, {"limit=10001", "limit"}, {"after=-1", "after"}, {"after=x", "after"}, {"record_id=x", "record_id"}} {
			t.Run("error "+q.query, func(t *testing.T) {
				checkErr(t, e.on(t).do("GET", "/api/v1/events?"+q.query, nil), 400, "bad_request", q.field, "")
			})
		}
	})
}

// ---- roles -----------------------------------------------------------------------

func TestManagerForbidden(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		mgrID, mgrKey := e.newUser("manager1", crm.RoleManager)
		deleted := e.create("/api/v1/leads", map[string]any{"title": "в корзину"})
		must(t, e.do("DELETE", "/api/v1/leads/"+idStr(deleted), nil), 204)
		must(t, e.do("PUT", "/api/v1/settings/sales_order.prefix", map[string]any{"value": "A-"}), 200)
		v := vars{"mgr": mgrKey, "mgr_id": idStr(mgrID), "deleted": idStr(deleted)}
		forbidden := func(name, method, path string, body any) step {
			return step{name: name, method: method, path: path, body: body, auth: "{mgr}", status: 403, code: "forbidden"}
		}
		runSteps(t, e, v, []step{
			{name: "me", method: "GET", path: "/api/v1/me", auth: "{mgr}", status: 200,
				check: func(t *testing.T, r resp, v vars) { eq(t, "role", decode[crm.User](t, r).Role, crm.RoleManager) }},
			{name: "list leads", method: "GET", path: "/api/v1/leads", auth: "{mgr}", status: 200},
			{name: "create lead", method: "POST", path: "/api/v1/leads", auth: "{mgr}", body: map[string]any{"title": "от менеджера"}, status: 201, save: "l",
				events: []wantEvent{{entity: "lead", action: "create", record: "l", actor: "apikey:*"}}},
			forbidden("create user", "POST", "/api/v1/users", map[string]any{"login": "hacker", "role": "admin", "password": "x"}),
			forbidden("purge", "DELETE", "/api/v1/recyclebin/lead/{deleted}", nil),
			forbidden("change setting", "PUT", "/api/v1/settings/sales_order.prefix", map[string]any{"value": "HACK-"}),
			forbidden("declare custom field", "POST", "/api/v1/custom-fields", map[string]any{"entity": "lead", "code": "UF_CRM_Z", "label": "z", "type": "string"}),
			forbidden("change currency", "PUT", "/api/v1/currencies/RUB", map[string]any{"name": "x"}),
			forbidden("add status", "POST", "/api/v1/statuses", map[string]any{"entity_id": "STATUS", "status_id": "X", "name": "x"}),
			forbidden("key for admin", "POST", "/api/v1/users/1/keys", map[string]any{"name": "stolen"}),
			forbidden("change another user", "PATCH", "/api/v1/users/1", map[string]any{"first_name": "x"}),
			{name: "promote self", method: "PATCH", path: "/api/v1/users/{mgr_id}", auth: "{mgr}", body: map[string]any{"role": "admin"}, status: 403, code: "forbidden", field: "role"},
			{name: "rename self", method: "PATCH", path: "/api/v1/users/{mgr_id}", auth: "{mgr}", body: map[string]any{"first_name": "Пётр"}, status: 200,
				check: func(t *testing.T, r resp, v vars) {
					u := decode[crm.User](t, r)
					eq(t, "first_name", u.FirstName, "Пётр")
					eq(t, "role", u.Role, crm.RoleManager)
				}},
			{name: "key for self", method: "POST", path: "/api/v1/users/{mgr_id}/keys", auth: "{mgr}", body: map[string]any{"name": "own"}, status: 201},
			{name: "revoke the admin's key", method: "DELETE", path: "/api/v1/keys/1", auth: "{mgr}", status: 404, code: "not_found"},
			{name: "still in the bin", method: "GET", path: "/api/v1/leads/{deleted}", status: 200, check: func(t *testing.T, r resp, v vars) {
				if decode[crm.Lead](t, r).DeletedAt == nil {
					t.Error("purged or restored by a manager")
				}
			}},
			{name: "setting unchanged", method: "GET", path: "/api/v1/settings/sales_order.prefix", status: 200,
				check: func(t *testing.T, r resp, v vars) { eq(t, "value", decode[struct{ Value string }](t, r).Value, "A-") }},
			{name: "admin key still works", method: "GET", path: "/api/v1/me", status: 200},
			{name: "no user created", method: "GET", path: "/api/v1/users", status: 200, check: func(t *testing.T, r resp, v vars) {
				if n := len(decode[listOf[crm.User]](t, r).Items); n != 2 {
					t.Errorf("%d users, want 2: %s", n, r.Body)
				}
			}},
		})
	})
}
