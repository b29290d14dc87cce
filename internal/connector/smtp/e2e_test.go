package smtp_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/smtp"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/intake/mail/dovecottest"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// env is the connector wired as the app wires it, against a real MTA.
type env struct {
	m      *mta
	conns  *connection.Store
	action automation.Action
	files  *httptest.Server
	deps   smtp.Deps
}

// loopback lets the guarded dialer and client reach the test's servers,
// as an admin's OBMEN_OUTBOUND_ALLOW would.
var loopback = httpx.OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

func newEnv(t *testing.T, m *mta, d *db.DB) *env { return newEnvTB(t, m, d) }

func newEnvTB(t testing.TB, m *mta, d *db.DB) *env {
	t.Helper()
	box, err := secret.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	msgs := i18n.New()
	creg := connection.NewRegistry(msgs)
	conns := connection.NewStore(d, box, creg)
	reg := automation.NewRegistry(msgs)
	files := httptest.NewServer(http.HandlerFunc(serveFile))
	t.Cleanup(files.Close)
	deps := smtp.Deps{
		Dialing: smtp.Dialing{Dialer: httpx.NewDialer(loopback), TLS: &tls.Config{RootCAs: m.Dovecot.TLS.RootCAs}, Timeout: 10 * time.Second},
		HTTP:    httpx.NewOutboundClient(loopback), Conns: conns, DB: d, Store: store.New(d),
	}
	if err := smtp.Register(creg, reg, deps); err != nil {
		t.Fatal(err)
	}
	a, ok := reg.Action(smtp.ActionSend)
	if !ok {
		t.Fatal("email.send is not registered")
	}
	return &env{m: m, conns: conns, action: a, files: files, deps: deps}
}

// pdf is an attachment's bytes: every byte value, so that a wrong
// transfer encoding shows.
var pdf = func() []byte {
	b := make([]byte, 70000)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}()

func serveFile(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/dl":
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `attachment; filename="schet.pdf"; filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82%20%E2%84%96%205.pdf`)
		_, _ = w.Write(pdf)
	case "/files/%D0%9F%D1%80%D0%B0%D0%B9%D1%81.txt", "/files/Прайс.txt":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "Цены на декабрь\n")
	default:
		http.NotFound(w, r)
	}
}

func (e *env) saved(t *testing.T, name string, settings map[string]any) connection.Connection {
	t.Helper()
	c, err := e.conns.Create(context.Background(), 1, connection.Input{Type: smtp.TypeSMTP, Name: name, Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) run(t *testing.T, call *automation.Call, input map[string]any) map[string]any {
	t.Helper()
	v, err := automation.DecodeValue(mustJSON(input))
	if err != nil {
		t.Fatal(err)
	}
	if call.Log == nil {
		call.Log = slog.New(slog.DiscardHandler)
	}
	out, err := e.action.Run(context.Background(), call, v)
	var oe *automation.OutputError
	if errors.As(err, &oe) {
		// A failed send: the step fails with its output (result ERROR).
		out = oe.Output
	} else if err != nil {
		t.Fatalf("email.send: %v", err)
	}
	m, _ := out.(map[string]any)
	return m
}

// letters reads every letter in a user's INBOX over IMAP.
func letters(t *testing.T, m *mta, login string, want int) []*mail.Message {
	t.Helper()
	c := m.Dovecot.Client(t, login)
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if *st.NumMessages == 0 && want == 0 {
			return nil
		}
		if int(*st.NumMessages) >= want {
			break
		}
		if time.Now().After(deadline) {
			m.dump(t)
			t.Fatalf("%s has %d letters, want %d", login, *st.NumMessages, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	body := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []*mail.Message
	for _, b := range bufs {
		m, err := mail.ReadMessage(bytes.NewReader(b.FindBodySection(body)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}

	return out
}

// part is a leaf of a parsed letter.
type part struct {
	ctype, name string
	data        []byte
}

// parts walks a letter's MIME tree, decoding each leaf.
func parts(t *testing.T, h map[string][]string, body io.Reader) []part {
	t.Helper()
	get := func(k string) string {
		if v := h[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	mt, params, err := mime.ParseMediaType(get("Content-Type"))
	if err != nil {
		t.Fatalf("content type %q: %v", get("Content-Type"), err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		var out []part
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, parts(t, p.Header, p)...)
		}
	}
	var rd io.Reader = body
	switch strings.ToLower(get("Content-Transfer-Encoding")) {
	case "base64":
		rd = base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		rd = quotedprintable.NewReader(body)
	}
	data, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	p := part{ctype: mt, data: data}
	if _, dp, err := mime.ParseMediaType(get("Content-Disposition")); err == nil {
		p.name = dp["filename"]
	}
	if p.name == "" {
		p.name = params["name"]
	}
	if dec, err := new(mime.WordDecoder).DecodeHeader(p.name); err == nil {
		p.name = dec
	}
	return []part{p}
}

func decoded(t *testing.T, s string) string {
	t.Helper()
	d, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSendThroughRealMTA(t *testing.T) {
	m := startMTA(t)
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, m, d)
		// Letters of an earlier engine's subtest are in the same
		// mailboxes: count from what is there.
		base := map[string]int{}
		for _, u := range []string{"u1", "u2", "u3", "u4", "u5"} {
			base[u] = len(letters(t, m, u, 0))
		}

		t.Run("ssl with auth, saved connection, everything", func(t *testing.T) {
			conn := e.saved(t, "Почта ssl "+t.Name(), map[string]any{"host": "127.0.0.1", "port": m.SSL, "security": "ssl",
				"from": "robot@example.test:Обмен: отдел продаж", "auth": true, "login": mtaLogin, "password": mtaPassword})
			html := `<html><body><h1>Здравствуйте, Василий Петрович!</h1><p>Ваш счёт&nbsp;№ 5 <b>готов</b>.</p><p><a href="https://example.ru/pay">Оплатить</a></p></body></html>`
			out := e.run(t, &automation.Call{RunID: 1, StepID: "mail", Connection: conn.ID}, map[string]any{
				"to":          []any{"u1@example.test:Василий Петрович", "not-an-address", "u9x@example.test"},
				"cc":          "u2@example.test : Анна Сергеевна; u1@example.test",
				"bcc":         []any{"u3@example.test"},
				"subject":     "Счёт № 5 — готов к оплате",
				"body":        html,
				"body_type":   "html",
				"attachments": []any{e.files.URL + "/dl", e.files.URL + "/files/%D0%9F%D1%80%D0%B0%D0%B9%D1%81.txt", e.files.URL + "/gone.pdf"},
			})
			if out["result"] != "OK" {
				t.Fatalf("result %v", out)
			}
			if fmt.Sprint(out["accepted"]) != "[u1@example.test u2@example.test u3@example.test]" {
				t.Fatalf("accepted %v", out["accepted"])
			}
			rej := fmt.Sprint(out["rejected"])
			if !strings.Contains(rej, "not-an-address") || !strings.Contains(rej, "u9x@example.test") {
				t.Fatalf("rejected %v", rej)
			}
			warn := fmt.Sprint(out["warnings"])
			if !strings.Contains(warn, "attachment 3 left out") || !strings.Contains(warn, "404") || !strings.Contains(warn, "refused by the server") {
				t.Fatalf("warnings %v", warn)
			}
			got := letters(t, m, "u1", base["u1"]+1)
			l := got[len(got)-1]
			if s := decoded(t, l.Header.Get("Subject")); s != "Счёт № 5 — готов к оплате" {
				t.Errorf("subject %q (raw %q)", s, l.Header.Get("Subject"))
			}
			from, err := l.Header.AddressList("From")
			if err != nil || from[0].Name != "Обмен: отдел продаж" || from[0].Address != "robot@example.test" {
				t.Errorf("from %v %v (raw %q)", from, err, l.Header.Get("From"))
			}
			// The server refused u9x at RCPT, after the header was
			// written: the header names it, as a mail client's would.
			to, err := l.Header.AddressList("To")
			if err != nil || len(to) != 2 || to[0].Name != "Василий Петрович" || to[0].Address != "u1@example.test" || to[1].Address != "u9x@example.test" {
				t.Errorf("to %v %v (raw %q)", to, err, l.Header.Get("To"))
			}
			cc, err := l.Header.AddressList("Cc")
			if err != nil || len(cc) != 1 || cc[0].Name != "Анна Сергеевна" {
				t.Errorf("cc %v %v", cc, err)
			}
			if l.Header.Get("Bcc") != "" {
				t.Errorf("a Bcc header went out: %q", l.Header.Get("Bcc"))
			}
			if id := l.Header.Get("Message-Id"); id != "<"+fmt.Sprint(out["message_id"])+">" && id != fmt.Sprint(out["message_id"]) {
				t.Errorf("Message-ID %q, output %v", id, out["message_id"])
			}
			ps := parts(t, l.Header, l.Body)
			var text, htm string
			names := map[string][]byte{}
			for _, p := range ps {
				switch {
				case p.name != "":
					names[p.name] = p.data
				case p.ctype == "text/plain":
					text = string(p.data)
				case p.ctype == "text/html":
					htm = string(p.data)
				}
			}
			if htm != html {
				t.Errorf("html part:\n%s", htm)
			}
			if !strings.Contains(text, "Здравствуйте, Василий Петрович!") || !strings.Contains(text, "Ваш счёт № 5 готов.") ||
				!strings.Contains(text, "Оплатить (https://example.ru/pay)") {
				t.Errorf("text alternative:\n%s", text)
			}
			if !bytes.Equal(names["Счёт № 5.pdf"], pdf) {
				t.Errorf("attachment by Content-Disposition: names %v", keys(names))
			}
			if string(names["Прайс.txt"]) != "Цены на декабрь\n" {
				t.Errorf("attachment named by the URL path: names %v", keys(names))
			}
			if len(names) != 2 {
				t.Errorf("attachments %v", keys(names))
			}
			letters(t, m, "u2", base["u2"]+1)
			bcc := letters(t, m, "u3", base["u3"]+1)
			if bcc[len(bcc)-1].Header.Get("Bcc") != "" {
				t.Errorf("the Bcc recipient sees Bcc")
			}
			base["u1"]++
			base["u2"]++
			base["u3"]++

			// A retry of the same step sends nothing again.
			again := e.run(t, &automation.Call{RunID: 1, StepID: "mail", Connection: conn.ID, Attempt: 2}, map[string]any{
				"to": "u1@example.test", "subject": "другое", "body": "x"})
			if again["repeated"] != true || again["message_id"] != out["message_id"] {
				t.Fatalf("retry: %v", again)
			}
			time.Sleep(300 * time.Millisecond)
			if n := len(letters(t, m, "u1", 0)); n != base["u1"] {
				t.Fatalf("a retried step sent again: %d letters", n)
			}
		})

		t.Run("starttls with auth, account by name", func(t *testing.T) {
			name := "Почта starttls " + t.Name()
			e.saved(t, name, map[string]any{"host": "127.0.0.1", "port": m.STARTTLS, "security": "starttls",
				"from": "robot@example.test", "auth": true, "login": mtaLogin, "password": mtaPassword})
			out := e.run(t, &automation.Call{RunID: 2, StepID: "mail"}, map[string]any{
				"to": "u4@example.test", "subject": "Plain text", "body": "Строка 1\nСтрока 2", "smtp_account": name})
			if out["result"] != "OK" {
				t.Fatalf("result %v", out)
			}
			got := letters(t, m, "u4", base["u4"]+1)
			ps := parts(t, got[len(got)-1].Header, got[len(got)-1].Body)
			if len(ps) != 1 || ps[0].ctype != "text/plain" || strings.TrimRight(string(ps[0].data), "\r\n") != "Строка 1\r\nСтрока 2" &&
				strings.TrimRight(string(ps[0].data), "\r\n") != "Строка 1\nСтрока 2" {
				t.Errorf("body %+v", ps)
			}
			base["u4"]++
		})

		t.Run("inline server without TLS and AUTH", func(t *testing.T) {
			out := e.run(t, &automation.Call{RunID: 3, StepID: "mail"}, map[string]any{
				"to": "u5@example.test", "subject": "relay", "body": "x",
				"smtp": map[string]any{"host": "127.0.0.1", "port": m.Plain, "security": "none", "from": "robot@example.test"}})
			if out["result"] != "OK" {
				t.Fatalf("result %v", out)
			}
			letters(t, m, "u5", base["u5"]+1)
			base["u5"]++
		})

		t.Run("AUTH required", func(t *testing.T) {
			out := e.run(t, &automation.Call{RunID: 4, StepID: "mail"}, map[string]any{
				"to": "u5@example.test", "subject": "no auth", "body": "x",
				"smtp": map[string]any{"host": "127.0.0.1", "port": m.STARTTLS, "security": "starttls", "from": "robot@example.test"}})
			if out["result"] != "ERROR" || !strings.Contains(fmt.Sprint(out["error"]), "authentication required") {
				t.Fatalf("result %v", out)
			}
		})

		t.Run("a lead's file attached", func(t *testing.T) {
			ctx := context.Background()
			st := e.deps.Store
			admin := storetest.Admin(t, st)
			l, err := st.CreateLead(ctx, admin, crm.Lead{Title: "Письмо с вложением"})
			if err != nil {
				t.Fatal(err)
			}
			var fid int64
			if err := st.Write(ctx, admin, func(tx *store.Tx) error {
				fid, err = tx.AddLeadFile(l.ID, "Реквизиты.pdf", "application/pdf", pdf[:5000])
				return err
			}); err != nil {
				t.Fatal(err)
			}
			out := e.run(t, &automation.Call{RunID: 6, StepID: "mail"}, map[string]any{
				"to": "u5@example.test", "subject": "файл", "body": "см. вложение",
				"attachments": []any{map[string]any{"lead_id": l.ID, "file_id": fid}, map[string]any{"lead_id": l.ID, "file_id": fid + 99}},
				"smtp":        map[string]any{"host": "127.0.0.1", "port": m.Plain, "security": "none", "from": "robot@example.test"}})
			if out["result"] != "OK" || !strings.Contains(fmt.Sprint(out["warnings"]), "attachment 2 left out: no file") {
				t.Fatalf("result %v", out)
			}
			got := letters(t, m, "u5", base["u5"]+1)
			base["u5"]++
			var found bool
			for _, p := range parts(t, got[len(got)-1].Header, got[len(got)-1].Body) {
				if p.name == "Реквизиты.pdf" && bytes.Equal(p.data, pdf[:5000]) {
					found = true
				}
			}
			if !found {
				t.Fatal("the lead's file did not arrive")
			}
		})

		t.Run("test mode sends nothing", func(t *testing.T) {
			v, _ := automation.DecodeValue(mustJSON(map[string]any{"to": "u5@example.test:Пятый", "subject": "dry", "body": "x",
				"smtp": map[string]any{"host": "127.0.0.1", "port": m.Plain, "security": "none", "from": "robot@example.test"}}))
			out, err := e.action.Run(context.Background(), &automation.Call{RunID: 5, StepID: "mail", DryRun: true}, v)
			if err != nil {
				t.Fatal(err)
			}
			if p, _ := out.(map[string]any); p["dry_run"] != true || !strings.Contains(fmt.Sprint(p["send"]), "Пятый <u5@example.test>") {
				t.Fatalf("preview %v", out)
			}
			time.Sleep(300 * time.Millisecond)
			if n := len(letters(t, m, "u5", 0)); n != base["u5"] {
				t.Fatalf("test mode sent: %d", n)
			}
		})
	})
}

func TestCheckAgainstRealMTA(t *testing.T) {
	m := startMTA(t)
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, m, d)
		closed := dovecottest.FreePort(t)
		for _, tc := range []struct {
			name     string
			settings map[string]any
			class    string
		}{
			{"ssl ok", map[string]any{"port": m.SSL, "security": "ssl", "auth": true, "login": mtaLogin, "password": mtaPassword}, ""},
			{"starttls ok", map[string]any{"port": m.STARTTLS, "security": "starttls", "auth": true, "login": mtaLogin, "password": mtaPassword}, ""},
			{"none ok", map[string]any{"port": m.Plain, "security": "none", "auth": false}, ""},
			{"wrong password", map[string]any{"port": m.SSL, "security": "ssl", "auth": true, "login": mtaLogin, "password": "wrong"}, connection.ClassCredentials},
			{"wrong login", map[string]any{"port": m.STARTTLS, "security": "starttls", "auth": true, "login": "nobody", "password": mtaPassword}, connection.ClassCredentials},
			{"no STARTTLS offered", map[string]any{"port": m.Plain, "security": "starttls", "auth": false}, connection.ClassTLS},
			{"ssl to a plain port", map[string]any{"port": m.Plain, "security": "ssl", "auth": false}, connection.ClassTLS},
			{"nothing listens", map[string]any{"port": closed, "security": "ssl", "auth": false}, connection.ClassNetwork},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := map[string]any{"host": "127.0.0.1", "from": "robot@example.test"}
				for k, v := range tc.settings {
					s[k] = v
				}
				c := e.saved(t, "check "+t.Name(), s)
				res, err := e.conns.Check(context.Background(), c.ID, i18n.Ru)
				if err != nil {
					t.Fatal(err)
				}
				if res.OK != (tc.class == "") || res.Class != tc.class || res.Message == "" {
					t.Fatalf("check: %+v", res)
				}
			})
		}
		// The untrusted certificate: the system's roots do not know the
		// test's own.
		strict := smtp.Dialing{Dialer: httpx.NewDialer(loopback), Timeout: 5 * time.Second}
		err := strict.Check(context.Background(), smtp.Server{Host: "127.0.0.1", Port: m.SSL, Security: "ssl", From: "r@example.test"})
		if connection.Classify(err) != connection.ClassTLS {
			t.Fatalf("untrusted certificate: %v (%s)", err, connection.Classify(err))
		}
		// The outbound guard is in the way of every connection.
		guarded := smtp.Dialing{Dialer: httpx.NewDialer(httpx.OutboundPolicy{}), Timeout: 5 * time.Second}
		err = guarded.Check(context.Background(), smtp.Server{Host: "127.0.0.1", Port: m.Plain, Security: "none", From: "r@example.test"})
		if connection.Classify(err) != connection.ClassBlocked {
			t.Fatalf("loopback not refused by the guard: %v", err)
		}
	})
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
