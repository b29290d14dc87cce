package telephony_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/telephony"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store/storetest"
)

var loopback = httpx.OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

// TestZadarmaSign: the signature of Zadarma's official Python client
// (zadarma/user-api-py-v1, __get_auth_string_for_header), computed by it
// for these inputs.
func TestZadarmaSign(t *testing.T) {
	for _, tc := range []struct {
		method string
		params url.Values
		want   string
	}{
		{"/v1/request/callback/", url.Values{"from": {"100"}, "to": {"+79256424290"}, "format": {"json"}}, "k:NzEzOGM1OWE5YmZmMDkxZTIxZjU0OGNkMDBjMzgwNTJmMGY1NTZlZQ=="},
		{"/v1/info/balance/", url.Values{"format": {"json"}}, "k:ZTNlMWRmZjdjMWQ4ODYxMGI0OTQ4ZmVkYTMwZWEwYjc3YmNhZmVmMw=="},
	} {
		if got := telephony.ZadarmaSign("k", "s3cr et+/", tc.method, tc.params); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.method, got, tc.want)
		}
	}
}

func TestZadarmaAdapter(t *testing.T) {
	f := newZadarmaFake(t, "key1", "secret1")
	hc := httpx.NewOutboundClient(loopback)
	for _, tc := range []struct {
		name, secret, line, phone string
		id, refused               string
	}{
		{"ordered", "secret1", "100", "+79256424290", "100-+79256424290-1733400000", ""},
		{"wrong secret", "other", "100", "+79256424290", "", "Not authorized"},
		{"refused by the provider", "secret1", "100", "+79990000000", "", "Insufficient funds for the call to +79990000000"},
		{"no line", "secret1", "", "+79256424290", "", "Required parameters missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := telephony.Zadarma{Account: telephony.ZadarmaAccount{Key: "key1", Secret: tc.secret, URL: f.URL}, HTTP: hc}
			id, err := z.Callback(context.Background(), telephony.Request{Line: tc.line, Phone: tc.phone})
			var r *telephony.Refused
			switch {
			case tc.refused == "" && err != nil:
				t.Fatal(err)
			case tc.refused != "" && (!errors.As(err, &r) || r.Message != tc.refused):
				t.Fatalf("error %v, want a refusal %q", err, tc.refused)
			case id != tc.id:
				t.Fatalf("id %q, want %q", id, tc.id)
			}
		})
	}
	// The guard stands in front of the provider's address.
	z := telephony.Zadarma{Account: telephony.ZadarmaAccount{Key: "key1", Secret: "secret1", URL: f.URL}, HTTP: httpx.NewOutboundClient(httpx.OutboundPolicy{})}
	if _, err := z.Callback(context.Background(), telephony.Request{Line: "100", Phone: "+79256424290"}); connection.Classify(err) != connection.ClassBlocked {
		t.Fatalf("loopback not refused by the guard: %v", err)
	}
}

func TestAMIAdapter(t *testing.T) {
	f := newAMIFake(t, "obmen", "amipass")
	d := telephony.AMIDialing{Dialer: httpx.NewDialer(loopback), Timeout: 5 * time.Second}
	acct := func(secret, ctx string) telephony.AsteriskAccount {
		return telephony.AsteriskAccount{Host: "127.0.0.1", Port: f.port(), Username: "obmen", Secret: secret, Context: ctx, CallerID: "Obmen <100>"}
	}
	for _, tc := range []struct {
		name, secret, ctx, refused string
	}{
		{"originated", "amipass", "from-internal", ""},
		{"wrong secret", "nope", "from-internal", "Authentication failed"},
		{"unknown context", "amipass", "nowhere", "Extension does not exist."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.calls())
			a := telephony.AMI{Account: acct(tc.secret, tc.ctx), Dialing: d}
			id, err := a.Callback(context.Background(), telephony.Request{Line: "101", Phone: "+79256424290", Text: "Перезвоните клиенту", ID: "k1"})
			var r *telephony.Refused
			if tc.refused != "" {
				if !errors.As(err, &r) || r.Message != tc.refused {
					t.Fatalf("error %v, want a refusal %q", err, tc.refused)
				}
				if len(f.calls()) != before {
					t.Fatal("a refused originate was counted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			calls := f.calls()
			if len(calls) != before+1 {
				t.Fatalf("%d originates", len(calls)-before)
			}
			m := calls[len(calls)-1]
			want := map[string]string{"Channel": "PJSIP/101", "Context": "from-internal", "Exten": "+79256424290", "Priority": "1", "Async": "true",
				"CallerID": "Obmen <100>", "Variable": "OBMEN_CALLBACK_TEXT=Перезвоните клиенту", "ActionID": id}
			for k, v := range want {
				if m[k] != v {
					t.Errorf("%s: %q, want %q", k, m[k], v)
				}
			}
		})
	}
	if err := (telephony.AMI{Account: acct("nope", "x"), Dialing: d}).Check(context.Background()); connection.Classify(err) != connection.ClassCredentials {
		t.Fatalf("check with a wrong secret: %v (%s)", err, connection.Classify(err))
	}
	guarded := telephony.AMIDialing{Dialer: httpx.NewDialer(httpx.OutboundPolicy{}), Timeout: 5 * time.Second}
	if err := (telephony.AMI{Account: acct("amipass", "x"), Dialing: guarded}).Check(context.Background()); connection.Classify(err) != connection.ClassBlocked {
		t.Fatalf("loopback not refused by the guard: %v", err)
	}
}

// env is the connector wired as the app wires it.
type env struct {
	conns  *connection.Store
	action automation.Action
}

func newEnv(t *testing.T, d *db.DB) *env {
	box, err := secret.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	msgs := i18n.New()
	creg := connection.NewRegistry(msgs)
	conns := connection.NewStore(d, box, creg)
	reg := automation.NewRegistry(msgs)
	if err := telephony.Register(creg, reg, telephony.Deps{HTTP: httpx.NewOutboundClient(loopback), Dialer: httpx.NewDialer(loopback),
		Timeout: 5 * time.Second, Conns: conns, DB: d}); err != nil {
		t.Fatal(err)
	}
	a, ok := reg.Action(telephony.ActionCallback)
	if !ok {
		t.Fatal("call.callback is not registered")
	}
	return &env{conns: conns, action: a}
}

func (e *env) saved(t *testing.T, typ, name string, s map[string]any) connection.Connection {
	t.Helper()
	c, err := e.conns.Create(context.Background(), 1, connection.Input{Type: typ, Name: name, Settings: s})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// run calls the action; a failed step gives its output with the error.
func (e *env) run(t *testing.T, c *automation.Call, in map[string]any) (map[string]any, error) {
	t.Helper()
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	v, err := automation.DecodeValue(mustJSON(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.action.Run(context.Background(), c, v)
	var oe *automation.OutputError
	if errors.As(err, &oe) {
		out = oe.Output
	}
	m, _ := out.(map[string]any)
	return m, err
}

func TestCallbackAction(t *testing.T) {
	z := newZadarmaFake(t, "key1", "secret1")
	ami := newAMIFake(t, "obmen", "amipass")
	mango := newMangoFake(t, "vpbxkey", "salt1")
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		zc := e.saved(t, telephony.TypeZadarma, "Zadarma", map[string]any{"key": "key1", "secret": "secret1", "url": z.URL})
		ac := e.saved(t, telephony.TypeAsterisk, "АТС", map[string]any{"host": "127.0.0.1", "port": ami.port(), "username": "obmen",
			"secret": "amipass", "context": "from-internal", "line": "102"})
		bad := e.saved(t, telephony.TypeZadarma, "Zadarma с ошибкой", map[string]any{"key": "key1", "secret": "wrong", "url": z.URL})
		mc := e.saved(t, telephony.TypeMango, "Манго", map[string]any{"key": "vpbxkey", "salt": "salt1", "url": mango.URL + "/vpbx"})
		run := int64(1000 + len(z.ordered()))

		for _, tc := range []struct {
			name   string
			conn   int64
			in     map[string]any
			result string
			field  string
			errHas string
			out    map[string]any
		}{
			{"zadarma OK, phone normalised", zc.ID, map[string]any{"phone": "8 (925) 642-42-90", "line": "100"}, "OK", "", "",
				map[string]any{"call_id": "100-+79256424290-1733400000", "phone": "+79256424290"}},
			{"asterisk OK, the connection's line", ac.ID, map[string]any{"phone": "+7 925 642 42 91", "text": "Заявка с сайта"}, "OK", "", "",
				map[string]any{"phone": "+79256424291"}},
			{"mango OK", mc.ID, map[string]any{"phone": "8 925 642 42 92", "line": "101"}, "OK", "", "",
				map[string]any{"phone": "+79256424292"}},
			{"mango refuses an unknown extension", mc.ID, map[string]any{"phone": "8 925 642 42 92", "line": "555"}, "ERROR", "", "no such extension",
				map[string]any{"error": "result 3100: no such extension"}},
			{"refused by the provider", zc.ID, map[string]any{"phone": "+7 999 000 00 00", "line": "100"}, "ERROR", "", "Insufficient funds",
				map[string]any{"error": "Insufficient funds for the call to +79990000000"}},
			{"wrong key", bad.ID, map[string]any{"phone": "+79256424290", "line": "100"}, "ERROR", "", "Not authorized",
				map[string]any{"error": "Not authorized"}},
			{"not a phone", zc.ID, map[string]any{"phone": "звоните", "line": "100"}, "", "phone", "", nil},
			{"no line", zc.ID, map[string]any{"phone": "+79256424290"}, "", "line", "", nil},
			{"no connection", 0, map[string]any{"phone": "+79256424290", "line": "100"}, "", "connection", "", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				run++
				out, err := e.run(t, &automation.Call{RunID: run, StepID: "call", Fresh: true, Connection: tc.conn}, tc.in)
				var ie *automation.InputError
				switch {
				case tc.field != "":
					if !errors.As(err, &ie) || ie.Field != tc.field {
						t.Fatalf("error %v, want an input error on %s", err, tc.field)
					}
					return
				case tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)):
					t.Fatalf("error %v, want one saying %q", err, tc.errHas)
				case tc.errHas == "" && err != nil:
					t.Fatal(err)
				}
				if out["result"] != tc.result {
					t.Fatalf("output %v", out)
				}
				for k, v := range tc.out {
					if out[k] != v {
						t.Errorf("%s = %v, want %v", k, out[k], v)
					}
				}
			})
		}

		// A retried step finds the call its first attempt ordered.
		before := len(z.ordered())
		call := func(fresh bool) map[string]any {
			out, err := e.run(t, &automation.Call{RunID: 7777, StepID: "cb", Attempt: 2, Fresh: fresh, Connection: zc.ID},
				map[string]any{"phone": "+79256424299", "line": "100"})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		first, again := call(true), call(false)
		if got := len(z.ordered()) - before; got != 1 {
			t.Fatalf("%d calls ordered for one step", got)
		}
		if again["repeated"] != true || again["call_id"] != first["call_id"] {
			t.Fatalf("retry: %v after %v", again, first)
		}

		// Test mode orders nothing and says what it would do.
		before = len(z.ordered())
		out, err := e.run(t, &automation.Call{RunID: 8888, StepID: "cb", DryRun: true, Connection: zc.ID}, map[string]any{"phone": "89256424290", "line": "100"})
		if err != nil || !strings.Contains(out["would"].(string), "zadarma "+z.URL) || len(z.ordered()) != before {
			t.Fatalf("dry run: %v %v", out, err)
		}

		// The connections' checks with their failure classes.
		for _, tc := range []struct {
			conn  int64
			class string
		}{{zc.ID, ""}, {bad.ID, connection.ClassCredentials}, {ac.ID, ""}, {mc.ID, ""}} {
			res, err := e.conns.Check(context.Background(), tc.conn, i18n.Ru)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK != (tc.class == "") || res.Class != tc.class || res.Message == "" {
				t.Fatalf("check of %d: %+v", tc.conn, res)
			}
		}
	})
}
