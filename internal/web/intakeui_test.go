package web_test

import (
	"context"
	"database/sql"
	"errors"
	"html"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// idFrom reads the record id from a redirect such as /admin/webforms/7?flash=….
func idFrom(t *testing.T, p page, prefix string) int64 {
	t.Helper()
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, prefix) {
		t.Fatalf("want a redirect to %s…, got %d %q %s", prefix, p.Status, p.Location, errorsOf(p.Body))
	}
	s := strings.TrimPrefix(p.Location, prefix)
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i]
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("redirect %q: %v", p.Location, err)
	}
	return id
}

// The web forms pages: a form is made through the page, its code block
// carries the generated HTML and the public submit URL, a field made
// required and another fixed to a value, then the public form takes a
// submit as a lead with the fixed value.
func TestWebformPages(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		b := e.browser()
		b.signIn()
		if p := b.get("/integrations/intake"); !strings.Contains(p.Body, `href="/admin/webforms"`) || !strings.Contains(p.Body, `href="/admin/collectors">Сборщики почты</a>`) {
			t.Fatal("the intake page does not lead to the web forms and collectors")
		}
		if p := b.get("/admin/webforms"); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="webform-settings"`) ||
			!strings.Contains(p.Body, `name="min_fill_seconds" type="number" min="0" max="600" step="1" value="3"`) {
			t.Fatalf("web forms page: %d (a new form's minimum fill time is 3 s)", p.Status)
		}
		admin := strconv.FormatInt(e.admin.UserID, 10)
		if p := b.post("/admin/webforms", url.Values{"name": {"x"}, "module": {"bogus"}, "user_id": {admin}, "field_name": {"name"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(errorsOf(p.Body), "module") {
			t.Fatalf("a form of an unknown module: %d %s", p.Status, errorsOf(p.Body))
		}
		id := idFrom(t, b.post("/admin/webforms", url.Values{"name": {"Заявка с сайта"}, "module": {"leads"}, "user_id": {admin}, "enabled": {"on"},
			"field_name": {"name", "phone", "title", ""}, "field_label": {"Ваше имя", "", "", ""}, "field_override": {"", "", "", ""}}), "/admin/webforms/")
		f, err := e.app.Forms.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		p := b.get("/admin/webforms/" + strconv.FormatInt(id, 10))
		const marker = `id="wf-html" readonly rows="16" cols="100">`
		i := strings.Index(p.Body, marker)
		if p.Status != http.StatusOK || i < 0 {
			t.Fatalf("form page: %d", p.Status)
		}
		code := p.Body[i+len(marker):]
		code = html.UnescapeString(code[:strings.Index(code, "</textarea>")])
		if code != f.HTML || !strings.Contains(code, f.SubmitURL) || !strings.Contains(f.SubmitURL, "/f/"+f.PublicID) {
			t.Fatalf("the code block is not the form's HTML with its submit URL %q:\n%s", f.SubmitURL, code)
		}
		if !strings.Contains(p.Body, `id="wf-submit-url" readonly size="80" value="`+f.SubmitURL+`"`) {
			t.Fatal("the submit URL is not shown")
		}
		// The fields are picked by their Russian names, the saved ones chosen.
		for _, want := range []string{`<select name="field_name" id="wf-f0-name"`, `<option value="name" selected>Имя</option>`,
			`<option value="phone" selected>Телефон</option>`, `<option value="company_title">Компания</option>`} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("the field picker lacks %s", want)
			}
		}

		// The minimum fill time: saved, shown, refused out of bounds.
		for _, tc := range []struct {
			v      string
			status int
		}{{"7", http.StatusSeeOther}, {"601", http.StatusUnprocessableEntity}, {"seven", http.StatusUnprocessableEntity}} {
			p := b.post("/admin/webforms/"+strconv.FormatInt(id, 10)+"/save", url.Values{"name": {"Заявка с сайта"}, "module": {"leads"}, "user_id": {admin}, "enabled": {"on"},
				"field_name": {"name"}, "min_fill_seconds": {tc.v}})
			if p.Status != tc.status || (tc.status != http.StatusSeeOther && !strings.Contains(errorsOf(p.Body), "min_fill_seconds")) {
				t.Fatalf("minimum fill time %q: %d %s", tc.v, p.Status, errorsOf(p.Body))
			}
		}
		if f, err := e.app.Forms.Get(ctx, id); err != nil || f.MinFillSeconds != 7 {
			t.Fatalf("minimum fill time saved: %d %v", f.MinFillSeconds, err)
		}
		if p := b.get("/admin/webforms/" + strconv.FormatInt(id, 10)); !strings.Contains(p.Body, `name="min_fill_seconds" type="number" min="0" max="600" step="1" value="7"`) {
			t.Fatal("the saved minimum fill time is not shown")
		}

		// Edit: the phone required, the title fixed.
		p = b.post("/admin/webforms/"+strconv.FormatInt(id, 10)+"/save", url.Values{"name": {"Заявка с сайта"}, "module": {"leads"}, "user_id": {admin}, "enabled": {"on"},
			"field_name": {"name", "phone", "title"}, "field_label": {"Ваше имя", "", ""}, "field_override": {"", "", "Заявка с лендинга"}, "field_required_1": {"on"}})
		if idFrom(t, p, "/admin/webforms/") != id {
			t.Fatal("saved the wrong form")
		}
		if f, err = e.app.Forms.Get(ctx, id); err != nil || len(f.Fields) != 3 || !f.Fields[1].Required || f.Fields[0].Required || f.Fields[2].Override != "Заявка с лендинга" {
			t.Fatalf("after edit: %+v %v", f.Fields, err)
		}
		if p := b.post("/admin/webforms/"+strconv.FormatInt(id, 10)+"/save", url.Values{"name": {"Заявка с сайта"}, "module": {"leads"}, "user_id": {admin},
			"field_name": {"phone"}, "field_override": {"не телефон"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(errorsOf(p.Body), "fields[0].override") {
			t.Fatalf("a bad override: %d %s", p.Status, errorsOf(p.Body))
		}

		// The public form.
		send := func(v url.Values) int {
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			res, err := c.PostForm(e.srv.URL+"/f/"+f.PublicID, v)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		if s := send(url.Values{"name": {"Иван"}}); s < 400 {
			t.Fatalf("a submit without the required phone: %d", s)
		}
		if s := send(url.Values{"name": {"Иван"}, "phone": {"+7 999 123-45-67"}}); s >= 400 {
			t.Fatalf("submit: %d", s)
		}
		leads, _, err := e.app.Store.ListLeads(ctx, store.ListParams{})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, l := range leads {
			found = found || (l.Name == "Иван" && l.Title == "Заявка с лендинга")
		}
		if !found {
			t.Fatalf("no lead from the form among %d", len(leads))
		}

		if p := b.do(http.MethodPost, "/admin/webforms", url.Values{"name": {"y"}, "module": {"leads"}, "user_id": {admin}, "field_name": {"name"}}); p.Status != http.StatusForbidden {
			t.Fatalf("a POST without CSRF: %d", p.Status)
		}
		m := managerBrowser(t, e)
		for _, path := range []string{"/admin/webforms", "/admin/webforms/" + strconv.FormatInt(id, 10)} {
			if p := m.get(path); p.Status != http.StatusForbidden {
				t.Fatalf("manager on %s: %d", path, p.Status)
			}
		}
		if p := m.post("/admin/webforms/"+strconv.FormatInt(id, 10)+"/delete", nil); p.Status != http.StatusForbidden {
			t.Fatalf("manager deletes a form: %d", p.Status)
		}

		if p := b.post("/admin/webforms/"+strconv.FormatInt(id, 10)+"/delete", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("delete: %d", p.Status)
		}
		if _, err := e.app.Forms.Get(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the deleted form: %v", err)
		}
	})
}

func managerBrowser(t *testing.T, e *env) *browser {
	t.Helper()
	if _, err := e.app.Store.CreateUser(context.Background(), e.admin, crm.User{Login: "anna", Role: crm.RoleManager, FirstName: "Анна"}, "anna-password-1"); err != nil {
		t.Fatal(err)
	}
	m := e.browser()
	if p := m.login(url.Values{"login": {"anna"}, "password": {"anna-password-1"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("anna signs in: %d", p.Status)
	}
	m.get("/")
	return m
}

// The collectors pages: a collector is made with its password sealed
// (neither on the page nor in the database in clear), edited without a
// password (the old one kept), run against a host that refuses (the error
// shown), then deleted; a manager gets 403.
func TestCollectorPages(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		b := e.browser()
		b.signIn()
		if p := b.get("/admin/collectors"); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="collector-settings"`) {
			t.Fatalf("collectors page: %d", p.Status)
		}
		// A port nothing listens on.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		l.Close()
		const password = "Secret-Pa55-word"
		admin := strconv.FormatInt(e.admin.UserID, 10)
		form := url.Values{"name": {"Заказы"}, "host": {"127.0.0.1"}, "port": {port}, "security": {"none"}, "login": {"orders@example.ru"},
			"password": {password}, "folder": {"INBOX"}, "processed_folder": {"Done"}, "failed_folder": {"Failed"}, "keyword": {"ORDER"},
			"user_id": {admin}, "kind": {"site_requests"}, "delete_after_days": {"30"}, "enabled": {"on"}}
		if p := b.post("/admin/collectors", url.Values{"name": {"x"}, "host": {"h"}, "login": {"l"}, "user_id": {admin}, "port": {"70000"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(errorsOf(p.Body), "port") {
			t.Fatalf("a bad port: %d %s", p.Status, errorsOf(p.Body))
		}
		id := idFrom(t, b.post("/admin/collectors", form), "/admin/collectors/")
		sid := strconv.FormatInt(id, 10)
		sealed := func() string {
			var s string
			if err := e.app.DB.Read.QueryRowContext(ctx, "SELECT password FROM intake_collectors WHERE id = $1", id).Scan(&s); err != nil {
				t.Fatal(err)
			}
			return s
		}
		before := sealed()
		if before == "" || strings.Contains(before, password) {
			t.Fatalf("the stored password is not sealed: %q", before)
		}
		p := b.get("/admin/collectors/" + sid)
		if p.Status != http.StatusOK || strings.Contains(p.Body, password) || strings.Contains(p.Body, before) || !strings.Contains(p.Body, "Пароль сохранён") {
			t.Fatalf("collector page: %d, or it shows the password", p.Status)
		}
		if p := b.get("/admin/collectors"); strings.Contains(p.Body, password) || !strings.Contains(p.Body, "Заказы") {
			t.Fatal("the list shows the password or misses the collector")
		}

		// Edit without a password: the old one stays.
		form.Set("password", "")
		form.Set("keyword", "ЗАКАЗ")
		if idFrom(t, b.post("/admin/collectors/"+sid+"/save", form), "/admin/collectors/") != id {
			t.Fatal("saved the wrong collector")
		}
		c, err := e.app.Collectors.Get(ctx, id)
		if err != nil || c.Keyword != "ЗАКАЗ" || !c.PasswordSet || c.DeleteAfterDays != 30 || c.ProcessedFolder != "Done" {
			t.Fatalf("after edit: %+v %v", c, err)
		}
		if s := sealed(); s != before {
			t.Fatal("an edit without a password changed the stored one")
		}

		// Run now: the host refuses.
		p = b.post("/admin/collectors/"+sid+"/run", nil)
		if p.Status != http.StatusBadGateway || !strings.Contains(p.Body, `id="run-error"`) || !strings.Contains(p.Body, "127.0.0.1") {
			t.Fatalf("run against a closed port: %d %s", p.Status, errorsOf(p.Body))
		}
		if c, _ = e.app.Collectors.Get(ctx, id); c.LastRunAt == nil || c.LastError == "" {
			t.Fatalf("the run is not recorded: %+v", c)
		}

		// Running elsewhere (another instance holds the lease): a clear message.
		if err := e.app.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE intake_collectors SET lease_until = $1 WHERE id = $2", int64(1)<<60, id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if p := b.post("/admin/collectors/"+sid+"/run", nil); p.Status != http.StatusConflict || !strings.Contains(errorsOf(p.Body), "уже работает") {
			t.Fatalf("run of a busy collector: %d %s", p.Status, errorsOf(p.Body))
		}

		if p := b.do(http.MethodPost, "/admin/collectors/"+sid+"/run", url.Values{}); p.Status != http.StatusForbidden {
			t.Fatalf("a POST without CSRF: %d", p.Status)
		}
		m := managerBrowser(t, e)
		if p := m.get("/admin/collectors/" + sid); p.Status != http.StatusForbidden {
			t.Fatalf("manager on a collector: %d", p.Status)
		}
		if p := m.post("/admin/collectors/"+sid+"/run", nil); p.Status != http.StatusForbidden {
			t.Fatalf("manager runs a collector: %d", p.Status)
		}

		if p := b.post("/admin/collectors/"+sid+"/delete", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("delete: %d", p.Status)
		}
		if _, err := e.app.Collectors.Get(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the deleted collector: %v", err)
		}
	})
}
