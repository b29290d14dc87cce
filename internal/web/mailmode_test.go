package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// TestCollectorAnyModeAndLeadFiles: the collector form offers the mode in
// Russian and keeps "any e-mail"; a lead's files are listed on its card
// and downloaded as attachments (never shown inline), and a manager who
// cannot see the lead cannot download them.
func TestCollectorAnyModeAndLeadFiles(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		b := e.browser()
		b.signIn()
		p := b.get("/admin/collectors")
		if !strings.Contains(p.Body, "Любое письмо становится лидом") || !strings.Contains(p.Body, `name="mode"`) {
			t.Fatal("the collector form does not offer the mode")
		}
		form := url.Values{"name": {"Письма"}, "host": {"imap.example.ru"}, "port": {"993"}, "security": {"tls"}, "login": {"in@example.ru"},
			"folder": {"INBOX"}, "user_id": {strconv.FormatInt(e.admin.UserID, 10)}, "mode": {"any"}, "enabled": {"on"}}
		id := idFrom(t, b.post("/admin/collectors", form), "/admin/collectors/")
		if c, err := e.app.Collectors.Get(ctx, id); err != nil || c.Mode != "any" {
			t.Fatalf("collector mode: %+v %v", c, err)
		}
		if p := b.get("/admin/collectors/" + strconv.FormatInt(id, 10)); !strings.Contains(p.Body, `<option value="any" selected>`) {
			t.Error("the collector page does not show its mode")
		}
		if p := b.get("/admin/collectors"); !strings.Contains(p.Body, "любое письмо") {
			t.Error("the collectors list does not say the mode")
		}

		l, err := e.app.Store.CreateLead(ctx, e.admin, crm.Lead{Title: "Письмо с макетом"})
		if err != nil {
			t.Fatal(err)
		}
		var fid int64
		if err := e.app.Store.Write(ctx, e.admin, func(t *store.Tx) error {
			var err error
			fid, err = t.AddLeadFile(l.ID, "Макет <1>.html", "text/html", []byte("<script>alert(1)</script>"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		card := b.get("/e/lead/" + strconv.FormatInt(l.ID, 10))
		link := "/e/lead/" + strconv.FormatInt(l.ID, 10) + "/files/" + strconv.FormatInt(fid, 10)
		if !strings.Contains(card.Body, `href="`+link+`"`) || !strings.Contains(card.Body, "Файлы") || !strings.Contains(card.Body, "Макет &lt;1&gt;.html") {
			t.Fatalf("the card does not list the file")
		}
		dl := b.get(link)
		if dl.Status != http.StatusOK || dl.Header.Get("Content-Type") != "application/octet-stream" || dl.Body != "<script>alert(1)</script>" ||
			!strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") || dl.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("download: %d %v", dl.Status, dl.Header)
		}
		if _, err := e.app.Store.CreateUser(ctx, e.admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1"); err != nil {
			t.Fatal(err)
		}
		m := e.browser()
		if p := m.login(url.Values{"login": {"anna"}, "password": {"anna-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("anna signs in: %d", p.Status)
		}
		if p := m.get(link); p.Status != http.StatusNotFound && p.Status != http.StatusForbidden {
			t.Errorf("another manager downloads the file: %d", p.Status)
		}
	})
}
