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

// TestSignInNeedsCSRF: a POST /login without the token of the sign-in
// form's cookie is refused with a clear message and signs no one in.
func TestSignInNeedsCSRF(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		creds := func() url.Values { return url.Values{"login": {"admin"}, "password": {adminPassword}} }
		refused := func(name string, p page) {
			t.Helper()
			if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Форма входа устарела") {
				t.Errorf("%s: %d, want 403 with the message", name, p.Status)
			}
			if strings.Contains(strings.Join(p.Header.Values("Set-Cookie"), ";"), "obmen_session=") {
				t.Errorf("%s: a session was given", name)
			}
		}
		// No cookie, no token: a cross-site form.
		b := e.browser()
		refused("no token", b.do(http.MethodPost, "/login", creds()))
		// A token, but not the one of this browser's cookie.
		other := e.browser()
		other.get("/login")
		f := creds()
		f.Set("csrf", other.csrf)
		b2 := e.browser()
		refused("another browser's token", b2.do(http.MethodPost, "/login", f))
		// The cookie, and no token in the form.
		b3 := e.browser()
		b3.get("/login")
		refused("cookie without token", b3.do(http.MethodPost, "/login", creds()))
		f = creds()
		f.Set("csrf", strings.Repeat("0", 64))
		refused("wrong token", b3.do(http.MethodPost, "/login", f))
		// The refused page carries a fresh form that works.
		if p := b3.get("/login"); !strings.Contains(p.Body, `name="csrf"`) {
			t.Fatal("the sign-in form has no token")
		}
		if p := b3.login(creds()); p.Status != http.StatusSeeOther {
			t.Fatalf("sign in with the token: %d", p.Status)
		}
		// In English too.
		en := e.browser()
		en.do(http.MethodPost, "/lang", url.Values{"lang": {"en"}})
		if p := en.do(http.MethodPost, "/login", creds()); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "The sign-in form expired") {
			t.Errorf("English refusal: %d", p.Status)
		}
	})
}

// TestAccessPage: an admin grants a head of sales her team's records on
// the users page; the grant shows in what she sees and may change, and a
// manager cannot open the page.
func TestAccessPage(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		mk := func(login string) crm.User {
			u, err := s.CreateUser(ctx, e.admin, crm.User{Login: login, Role: crm.RoleManager}, login+"-password-1")
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		head, anna, oleg := mk("head"), mk("anna"), mk("oleg")
		annas, _ := s.CreateLead(ctx, e.admin, crm.Lead{Title: "Лид Анны", Meta: crm.Meta{AssignedByID: anna.ID}})
		olegs, _ := s.CreateLead(ctx, e.admin, crm.Lead{Title: "Лид Олега", Meta: crm.Meta{AssignedByID: oleg.ID}})
		h := e.browser()
		if p := h.login(url.Values{"login": {"head"}, "password": {"head-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("sign in: %d", p.Status)
		}
		if p := h.get("/e/lead"); strings.Contains(p.Body, "Лид Анны") {
			t.Fatal("sees another's lead before the grant")
		}
		if p := h.get("/admin/users/" + strconv.FormatInt(head.ID, 10) + "/access"); p.Status != http.StatusForbidden {
			t.Fatalf("a manager opens the access page: %d", p.Status)
		}

		b := e.browser()
		b.signIn()
		hid := strconv.FormatInt(head.ID, 10)
		if p := b.get("/admin/users"); !strings.Contains(p.Body, `id="access-`+hid+`"`) || !strings.Contains(p.Body, "только свои") {
			t.Fatal("the users page does not show the manager's access")
		}
		if p := b.get("/admin/users/" + hid + "/access"); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="level-0"`) {
			t.Fatalf("access page: %d", p.Status)
		}
		aid, oid := strconv.FormatInt(anna.ID, 10), strconv.FormatInt(oleg.ID, 10)
		form := url.Values{"owner": {"0", aid, oid}, "level-0": {""}, "level-" + aid: {"edit"}, "level-" + oid: {"read"}}
		if p := b.post("/admin/users/"+hid+"/access", form); p.Status != http.StatusSeeOther {
			t.Fatalf("save access: %d %s", p.Status, p.Body)
		}
		gs, err := s.Grants(ctx, head.ID)
		if err != nil || len(gs) != 2 {
			t.Fatalf("grants %+v %v", gs, err)
		}
		if p := b.get("/admin/users/" + hid + "/access"); !strings.Contains(p.Body, `<option value="edit" selected>`) || !strings.Contains(p.Body, `<option value="read" selected>`) {
			t.Fatal("the access page does not show the grants")
		}
		if p := b.get("/admin/users"); !strings.Contains(p.Body, "свои и пользователей: 2") {
			t.Fatal("the users page does not sum up the grant")
		}
		// The 1C permissions (issue 25): the catalog brings the exchange.
		if ps, _ := s.UserPermissions(ctx, head.ID); len(ps) != 0 {
			t.Fatalf("permissions without a tick: %v", ps)
		}
		form.Set("perm-"+store.PermCatalog1C, "on")
		if p := b.post("/admin/users/"+hid+"/access", form); p.Status != http.StatusSeeOther {
			t.Fatalf("save permissions: %d %s", p.Status, p.Body)
		}
		if ps, _ := s.UserPermissions(ctx, head.ID); len(ps) != 2 {
			t.Fatalf("permissions %v, want the catalog and the exchange", ps)
		}
		if p := b.get("/admin/users/" + hid + "/access"); !strings.Contains(p.Body, `id="perm-1c_exchange" name="perm-1c_exchange" checked`) ||
			!strings.Contains(p.Body, "Обмен с 1С (заказы)") {
			t.Fatal("the access page does not show the permissions")
		}
		form.Del("perm-" + store.PermCatalog1C)
		if p := b.post("/admin/users/"+hid+"/access", form); p.Status != http.StatusSeeOther {
			t.Fatalf("take permissions back: %d %s", p.Status, p.Body)
		}
		if ps, _ := s.UserPermissions(ctx, head.ID); len(ps) != 0 {
			t.Fatalf("permissions after unticking: %v", ps)
		}

		if p := h.get("/e/lead"); !strings.Contains(p.Body, "Лид Анны") || !strings.Contains(p.Body, "Лид Олега") {
			t.Fatal("the grant does not show the team's leads")
		}
		if p := h.post("/e/lead/"+strconv.FormatInt(olegs.ID, 10), url.Values{"title": {"нельзя"}}); p.Status != http.StatusForbidden {
			t.Fatalf("change a lead granted to read: %d", p.Status)
		}
		if l, _ := s.GetLead(ctx, olegs.ID); l.Title != "Лид Олега" {
			t.Fatalf("a read-only lead changed: %q", l.Title)
		}
		// The card of a lead granted to view shows no edit controls; one
		// granted with change does.
		ro := h.get("/e/lead/" + strconv.FormatInt(olegs.ID, 10))
		if ro.Status != http.StatusOK || !strings.Contains(ro.Body, `id="view-only"`) {
			t.Fatalf("view-only card: %d, no notice", ro.Status)
		}
		for _, control := range []string{`id="delete"`, `id="v-title"`, `id="edit-all"`, `id="comment-body"`, `id="convert"`} {
			if strings.Contains(ro.Body, control) {
				t.Errorf("view-only card shows %s", control)
			}
		}
		if !strings.Contains(ro.Body, `<fieldset class="plain" disabled>`) {
			t.Error("view-only card's line items can be edited")
		}
		rw := h.get("/e/lead/" + strconv.FormatInt(annas.ID, 10))
		for _, control := range []string{`id="delete"`, `id="v-title"`, `id="comment-body"`} {
			if !strings.Contains(rw.Body, control) || strings.Contains(rw.Body, `id="view-only"`) {
				t.Errorf("card granted with change lacks %s", control)
			}
		}
		if _, err := s.UpdateLead(mustScope(t, s, head), crm.Actor{UserID: head.ID}, annas.ID,
			func(l *crm.Lead) error { l.Title = "можно"; return nil }); err != nil {
			t.Fatalf("change a lead granted with edit: %v", err)
		}
	})
}

func mustScope(t *testing.T, s *store.Store, u crm.User) context.Context {
	t.Helper()
	ctx, err := s.ScopeFor(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

// TestValidationInRussian: a validation error shows beside its field in
// the user's language: Russian by default, English when chosen.
func TestValidationInRussian(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.signIn()
		p := b.post("/e/contact/new", url.Values{"name": {"Иван"}, "emails": {"не-почта"}})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "не адрес электронной почты") {
			t.Fatalf("Russian message: %d %s", p.Status, excerpt(p.Body, "error"))
		}
		b.post("/lang", url.Values{"lang": {"en"}, "next": {"/"}})
		p = b.post("/e/contact/new", url.Values{"name": {"Иван"}, "emails": {"не-почта"}})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "is not an e-mail address") {
			t.Fatalf("English message: %d", p.Status)
		}
	})
}

func excerpt(body, near string) string {
	i := strings.Index(body, near)
	if i < 0 {
		return ""
	}
	return body[i:min(len(body), i+300)]
}

// TestConvertShowsHiddenDuplicates: a manager converting a lead is told
// that a colleague's contact has the same phone — who is responsible, not
// the contact's name or link — and her own duplicates are shown in full.
func TestConvertShowsHiddenDuplicates(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		anna, err := s.CreateUser(ctx, e.admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		oleg, err := s.CreateUser(ctx, e.admin, crm.User{Login: "oleg", FirstName: "Олег", Role: crm.RoleManager}, "oleg-password-1")
		if err != nil {
			t.Fatal(err)
		}
		phone := crm.Comms{Phones: []crm.Comm{{Value: "+7 912 000-00-07"}}}
		l, _ := s.CreateLead(ctx, e.admin, crm.Lead{Title: "Лид Анны", Meta: crm.Meta{AssignedByID: anna.ID}, Comms: phone})
		theirs, err := s.CreateContact(ctx, e.admin, crm.Contact{Name: "Секретный", Meta: crm.Meta{AssignedByID: oleg.ID}, Comms: phone})
		if err != nil {
			t.Fatal(err)
		}
		m := e.browser()
		if p := m.login(url.Values{"login": {"anna"}, "password": {"anna-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("sign in: %d", p.Status)
		}
		p := m.get("/e/lead/" + strconv.FormatInt(l.ID, 10) + "/convert")
		if p.Status != http.StatusOK {
			t.Fatalf("convert page: %d", p.Status)
		}
		hidden := excerpt(p.Body, `id="hidden-dupes"`)
		if !strings.Contains(hidden, "Олег") || !strings.Contains(hidden, "912 000-00-07") {
			t.Errorf("hidden duplicate not told: %q", hidden)
		}
		if strings.Contains(p.Body, "Секретный") || strings.Contains(p.Body, "/e/contact/"+strconv.FormatInt(theirs.ID, 10)) {
			t.Error("the convert page shows another's contact")
		}
	})
}
