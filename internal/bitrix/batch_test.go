package bitrix_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/bitrix"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestBatch(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		// Linked commands, as a shop sends an order: create, read back,
		// update from what was read, list, and failures that do not stop
		// the rest without halt.
		// (A JSON string, not a Go map: the commands run in the order sent.)
		cmd := func(pairs ...string) string {
			var parts []string
			for i := 0; i+1 < len(pairs); i += 2 {
				k, _ := json.Marshal(pairs[i])
				v, _ := json.Marshal(pairs[i+1])
				parts = append(parts, string(k)+":"+string(v))
			}
			return "{" + strings.Join(parts, ",") + "}"
		}
		a := e.ok(e.json("batch", `{"halt":0,"cmd":`+cmd(
			"add", "crm.lead.add?"+q("fields[TITLE]", "Заказ №15", "fields[PHONE][0][VALUE]", "+7 925 111-22-33", "fields[OPPORTUNITY]", "990"),
			"get", "crm.lead.get?id=$result[add]",
			"upd", "crm.lead.update?id=$result[get][ID]&"+q("fields[COMMENTS]", "Телефон: ")+"$result[get][PHONE][0][VALUE]",
			"list", "crm.lead.list?filter[ID]=$result[add]&select[]=ID&select[]=COMMENTS",
			"bad", "crm.lead.get?id=0",
			"nope", "crm.nothing.here",
			"nested", "batch?cmd[t]=server.time",
		)+`}`))
		golden(t, "batch", a)
		id := a.str(t, "result", "result", "add")
		if got := a.str(t, "result", "result", "get", "ID"); got != id {
			t.Fatalf("$result[add] gave id %s, want %s", got, id)
		}
		if got := a.str(t, "result", "result", "list", "0", "COMMENTS"); got != "Телефон: +7 925 111-22-33" {
			t.Fatalf("$result[get][PHONE][0][VALUE] in text: %q", got)
		}
		if got := a.str(t, "result", "result_total", "list"); got != "1" {
			t.Fatalf("result_total %s", got)
		}
		for key, code := range map[string]string{"bad": "", "nope": "ERROR_METHOD_NOT_FOUND", "nested": "ERROR_BATCH_METHOD_NOT_ALLOWED"} {
			if got := a.str(t, "result", "result_error", key, "error"); got != code {
				t.Errorf("result_error[%s] = %q, want %q", key, got, code)
			}
		}
		if _, ok := a.Doc.Lookup("result", "result_time", "upd", "date_start"); !ok {
			t.Errorf("no result_time for upd: %s", a.Body)
		}

		// halt stops at the first failure; what ran before stays.
		h := e.ok(e.form("batch", q("halt", "1", "cmd[a]", "server.time", "cmd[b]", "crm.lead.get?id=999999", "cmd[c]", "crm.lead.add?fields[TITLE]=never")))
		golden(t, "batch.halt", h)
		if _, ok := h.Doc.Lookup("result", "result", "c"); ok {
			t.Fatalf("command after the failure ran: %s", h.Body)
		}
		if total := e.ok(e.get("crm.lead.list", q("filter[TITLE]", "never"))).str(t, "total"); total != "0" {
			t.Fatalf("halted command wrote a lead")
		}
		if got := h.str(t, "result", "result_error", "b", "error_description"); got != "Not found" {
			t.Fatalf("halt error %q", got)
		}

		// By GET, with the command URL-encoded once more (John%26Martin
		// becomes John%2526Martin), and with a list of commands.
		g := e.ok(e.get("batch", "cmd[0]=crm.lead.add%3Ffields%5BTITLE%5D%3DJohn%2526Martin&cmd[1]=crm.lead.get%3Fid%3D%24result%5B0%5D"))
		if title := g.str(t, "result", "result", "1", "TITLE"); title != "John&Martin" {
			t.Fatalf("double-encoded title %q", title)
		}
		if !strings.HasPrefix(string(g.Body), `{"result":{"result":[`) {
			t.Fatalf("a list of commands answers a list: %.60s", g.Body)
		}

		// {method, params} commands, as SDKs may send them.
		o := e.ok(e.json("batch", `{"cmd":{"t":{"method":"crm.lead.list","params":{"filter":{"ID":"`+id+`"},"select":["TITLE"]}}}}`))
		if got := o.str(t, "result", "result", "t", "0", "TITLE"); got != "Заказ №15" {
			t.Fatalf("{method, params}: %q", got)
		}

		// At most 50 commands run.
		var cmds []string
		for i := range 51 {
			cmds = append(cmds, fmt.Sprintf("cmd[c%d]", i), "server.time")
		}
		long := e.ok(e.form("batch", q(cmds...)))
		if n := long.get(t, "result", "result").(*bitrix.Array).Len(); n != 50 {
			t.Fatalf("%d commands ran", n)
		}
		if got := long.str(t, "result", "result_error", "c50", "error"); got != "ERROR_BATCH_LENGTH_EXCEEDED" {
			t.Fatalf("51st command: %q", got)
		}

		// An empty batch answers empty arrays, as PHP encodes them.
		empty := e.ok(e.get("batch", ""))
		if !strings.HasPrefix(string(empty.Body), `{"result":{"result":[],"result_error":[],"result_total":[],"result_next":[],"result_time":[]},"time":{`) {
			t.Fatalf("empty batch: %s", empty.Body)
		}
	})
}

// A command needs the scope of its method, as a call does.
func TestBatchScope(t *testing.T) {
	d := storetest.OpenAny(t)
	e := newEnv(t, d, "user")
	a := e.ok(e.form("batch", q("cmd[me]", "user.current", "cmd[leads]", "crm.lead.list")))
	if got := a.str(t, "result", "result_error", "leads", "error"); got != "insufficient_scope" {
		t.Fatalf("crm in a batch without the crm scope: %q", got)
	}
	if got := a.str(t, "result", "result", "me", "ID"); got != fmt.Sprint(e.admin.UserID) {
		t.Fatalf("user.current in batch: %s", a.Body)
	}
}

func TestAuthentication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := t.Context()
		uid := e.admin.UserID
		good := strings.TrimPrefix(e.base, e.srv.URL)
		code := strings.Split(good, "/")[3]
		e.ok(e.raw(http.MethodGet, good+"server.time"))

		for _, path := range []string{
			fmt.Sprintf("/rest/%d/%s/server.time", uid, strings.Repeat("x", 16)),   // wrong code
			fmt.Sprintf("/rest/%d/%s/server.time", uid+1, code),                    // another user's id
			fmt.Sprintf("/rest/abc/%s/server.time", code),                          // not an id
			fmt.Sprintf("/rest/%d/%s/server.time", uid, strings.ToUpper(code)),     // codes are exact
			fmt.Sprintf("/rest/%d/%s/server.time", uid, code[:15]),                 // a prefix is not the code
			fmt.Sprintf("/rest/%d/%s/server.time", uid, strings.Repeat("a", 1000)), // long
		} {
			a := e.raw(http.MethodGet, path)
			e.fails(a, http.StatusUnauthorized, "INVALID_CREDENTIALS", "Invalid request credentials")
		}
		golden(t, "error.invalid_credentials", e.raw(http.MethodGet, fmt.Sprintf("/rest/%d/%s/crm.lead.list", uid, strings.Repeat("x", 16))))
		e.fails(e.raw(http.MethodGet, "/rest/server.time"), http.StatusUnauthorized, "NO_AUTH_FOUND", "Wrong authorization data")
		e.fails(e.raw(http.MethodPut, good+"server.time"), http.StatusMethodNotAllowed, "INVALID_REQUEST", "GET or POST")

		unknown := e.raw(http.MethodGet, good+"crm.lead.nothing")
		e.fails(unknown, http.StatusNotFound, "ERROR_METHOD_NOT_FOUND", "Method not found!")
		golden(t, "error.method_not_found", unknown)
		e.fails(e.raw(http.MethodGet, good), http.StatusNotFound, "ERROR_METHOD_NOT_FOUND", "Method not found!")
		// Method names are read without regard to case, with or without .json.
		e.ok(e.raw(http.MethodGet, good+"SERVER.TIME.json"))

		// A disabled webhook and a disabled user stop working at once.
		hooks := e.h.Webhooks()
		if err := hooks.SetWebhookActive(ctx, e.hook.ID, false); err != nil {
			t.Fatal(err)
		}
		e.fails(e.raw(http.MethodGet, good+"server.time"), http.StatusUnauthorized, "INVALID_CREDENTIALS", "")
		if err := hooks.SetWebhookActive(ctx, e.hook.ID, true); err != nil {
			t.Fatal(err)
		}
		e.ok(e.raw(http.MethodGet, good+"server.time"))
		u, err := e.s.GetUser(ctx, uid)
		if err != nil {
			t.Fatal(err)
		}
		u.Active = false
		if _, err := e.s.UpdateUser(ctx, e.admin, u); err != nil {
			t.Fatal(err)
		}
		e.fails(e.raw(http.MethodGet, good+"server.time"), http.StatusUnauthorized, "INVALID_CREDENTIALS", "")
		u.Active = true
		if _, err := e.s.UpdateUser(ctx, e.admin, u); err != nil {
			t.Fatal(err)
		}
		e.ok(e.raw(http.MethodGet, good+"server.time"))
		if err := hooks.DeleteWebhook(ctx, e.hook.ID); err != nil {
			t.Fatal(err)
		}
		e.fails(e.raw(http.MethodGet, good+"server.time"), http.StatusUnauthorized, "INVALID_CREDENTIALS", "")
	})
}

func TestScopes(t *testing.T) {
	t.Parallel()
	d := storetest.OpenAny(t)
	userOnly := newEnv(t, d, "user")
	denied := userOnly.get("crm.lead.list", "")
	userOnly.fails(denied, http.StatusForbidden, "insufficient_scope", "higher privileges")
	golden(t, "error.insufficient_scope", denied)
	userOnly.fails(userOnly.json("crm.lead.add", map[string]any{"fields": map[string]any{"TITLE": "x"}}), http.StatusForbidden, "insufficient_scope", "")
	userOnly.ok(userOnly.get("user.current", ""))
	if got := userOnly.ok(userOnly.get("scope", "")).str(t, "result", "0"); got != "user" {
		t.Fatalf("scope: %s", got)
	}

	crmOnly := newEnv(t, d, "crm")
	crmOnly.fails(crmOnly.get("user.current", ""), http.StatusForbidden, "insufficient_scope", "")
	// The basic methods need no scope.
	for _, m := range []string{"profile", "server.time", "methods", "scope", "batch"} {
		crmOnly.ok(crmOnly.get(m, ""))
	}
	methods := crmOnly.ok(crmOnly.get("methods", "")).get(t, "result").(*bitrix.Array)
	list := fmt.Sprint(methods.Values()...)
	if !strings.Contains(list, "crm.lead.add") || strings.Contains(list, "user.current") {
		t.Fatalf("methods for a crm webhook: %v", methods.Values())
	}
	all := crmOnly.ok(crmOnly.get("methods", "full=true")).get(t, "result").(*bitrix.Array)
	if !strings.Contains(fmt.Sprint(all.Values()...), "user.current") {
		t.Fatalf("methods full=true: %v", all.Values())
	}
	basic := crmOnly.ok(crmOnly.get("methods", "scope=")).get(t, "result").(*bitrix.Array)
	if fmt.Sprint(basic.Values()...) != fmt.Sprint("app.info", "app.option.get", "app.option.set", "batch", "methods", "profile", "scope",
		"server.time", "user.option.get", "user.option.set") {
		t.Fatalf("methods scope=: %v", basic.Values())
	}
}
