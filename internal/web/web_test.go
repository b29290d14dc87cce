package web_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"golang.org/x/text/encoding/charmap"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/delivery"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/intake"
	"github.com/obmen/obmen/internal/jobs"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
	"github.com/obmen/obmen/internal/web"
)

func TestSignInAndOut(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.browser()
		if p := b.get("/e/lead?q=x"); p.Status != http.StatusSeeOther || p.Location != "/login?next="+url.QueryEscape("/e/lead?q=x") {
			t.Fatalf("signed out: %d %q", p.Status, p.Location)
		}
		if p := b.get("/login"); p.Status != http.StatusOK || !strings.Contains(p.Body, `name="login"`) || !strings.Contains(p.Body, `name="password"`) {
			t.Fatalf("login page: %d", p.Status)
		}
		p := b.login(url.Values{"login": {"admin"}, "password": {"wrong"}})
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "Неверный логин или пароль") {
			t.Fatalf("wrong password: %d", p.Status)
		}
		p = b.login(url.Values{"login": {"admin"}, "password": {adminPassword}, "next": {"/e/deal"}})
		if p.Status != http.StatusSeeOther || p.Location != "/e/deal" {
			t.Fatalf("sign in: %d %q", p.Status, p.Location)
		}
		c := p.Header.Get("Set-Cookie")
		for _, want := range []string{"obmen_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(c, want) {
				t.Errorf("cookie %q lacks %s", c, want)
			}
		}
		if strings.Contains(c, "Secure") {
			t.Errorf("cookie over plain HTTP is Secure: %q", c)
		}
		// An open redirect through next is refused.
		p = b.login(url.Values{"login": {"admin"}, "password": {adminPassword}, "next": {"//evil.example/"}})
		if p.Location != "/" {
			t.Errorf("next=//evil.example/ redirected to %q", p.Location)
		}
		if p := b.get("/"); p.Status != http.StatusOK || !strings.Contains(p.Body, "Главная") {
			t.Fatalf("home: %d", p.Status)
		}
		// The UI's session works for the API too (same cookie).
		if p := b.get("/api/v1/me"); p.Status != http.StatusOK || !strings.Contains(p.Body, `"login":"admin"`) {
			t.Fatalf("API with the UI session: %d %s", p.Status, p.Body)
		}
		if p := b.post("/logout", nil); p.Status != http.StatusSeeOther || p.Location != "/login" {
			t.Fatalf("logout: %d %q", p.Status, p.Location)
		}
		if p := b.get("/"); p.Status != http.StatusSeeOther {
			t.Fatalf("after logout: %d", p.Status)
		}
	})
}

func TestSignInRateLimited(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		e.app.UI.SetSignInLimits(httpx.NewLimiter(time.Hour, 100), httpx.NewLimiter(time.Hour, 2))
		b := e.browser()
		for i, want := range []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusTooManyRequests} {
			p := b.login(url.Values{"login": {"admin"}, "password": {"guess"}})
			if p.Status != want {
				t.Fatalf("attempt %d: %d, want %d", i+1, p.Status, want)
			}
			if want == http.StatusTooManyRequests && p.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
		// Even the right password waits now.
		if p := b.login(url.Values{"login": {"admin"}, "password": {adminPassword}}); p.Status != http.StatusTooManyRequests {
			t.Fatalf("right password while limited: %d", p.Status)
		}
	})
}

func TestCSRFRequired(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.signIn()
		form := url.Values{"title": {"no token"}}
		for name, p := range map[string]page{
			"none":  b.do(http.MethodPost, "/e/lead/new", form),
			"wrong": b.do(http.MethodPost, "/e/lead/new", url.Values{"title": {"bad token"}, "csrf": {"0123456789abcdef0123456789abcdef"}}),
		} {
			if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "CSRF") {
				t.Errorf("%s: %d", name, p.Status)
			}
		}
		if p := b.post("/logout", url.Values{"csrf": {""}}); p.Status != http.StatusForbidden {
			t.Errorf("logout without token: %d", p.Status)
		}
		leads, _, err := e.app.Store.ListLeads(context.Background(), store.ListParams{})
		if err != nil || len(leads) != 0 {
			t.Fatalf("refused posts wrote %d leads (%v)", len(leads), err)
		}
		// htmx sends the token as a header.
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/e/lead/new", strings.NewReader("title=by+header"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-CSRF-Token", b.csrf)
		req.Header.Set("HX-Request", "true")
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("HX-Redirect"), "/e/lead/") {
			t.Fatalf("with X-CSRF-Token: %d %q", resp.StatusCode, resp.Header.Get("HX-Redirect"))
		}
	})
}

// TestEveryEntity opens the list, the new form, creates a record through
// the form and opens its card, for every entity.
func TestEveryEntity(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.signIn()
		forms := map[string]url.Values{
			"lead":        {"title": {"Лид"}},
			"account":     {"title": {"ООО Ромашка"}, "inn": {"7707083893"}},
			"contact":     {"name": {"Иван"}, "last_name": {"Петров"}, "phones": {"+7 912 345-67-89"}},
			"deal":        {"title": {"Сделка"}, "category_id": {"0"}, "stage_id": {"NEW"}},
			"sales_order": {"order_date": {"2026-11-23"}},
			"invoice":     {"invoice_date": {"2026-11-23"}},
			"product":     {"name": {"Кирпич"}, "price": {"12,50"}, "active": {"on"}, "active.shown": {"1"}},
			"service":     {"name": {"Доставка"}, "price": {"500"}},
			"catalog":     {"name": {"Стройматериалы"}},
			"ticket":      {"title": {"Не работает"}},
			"activity":    {"subject": {"Позвонить"}, "kind": {"call"}, "start_at": {"2026-11-23T10:00"}},
		}
		for name, form := range forms {
			if p := b.get("/e/" + name); p.Status != http.StatusOK {
				t.Fatalf("%s list: %d", name, p.Status)
			}
			if p := b.get("/e/" + name + "/new"); p.Status != http.StatusOK {
				t.Fatalf("%s new: %d", name, p.Status)
			}
			p := b.post("/e/"+name+"/new", form)
			if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/e/"+name+"/") {
				t.Fatalf("%s create: %d %q %s", name, p.Status, p.Location, errorsOf(p.Body))
			}
			card := b.get(strings.Split(p.Location, "?")[0])
			if card.Status != http.StatusOK {
				t.Fatalf("%s card: %d", name, card.Status)
			}
			list := b.get("/e/" + name)
			if !strings.Contains(list.Body, `<table class="list" id="list">`) {
				t.Fatalf("%s list after create has no rows", name)
			}
		}
		p, _, err := e.app.Store.ListProducts(context.Background(), store.ListParams{})
		if err != nil || len(p) != 1 || p[0].Price.String() != "12.50" || !p[0].Active {
			t.Fatalf("product from the form: %+v %v", p, err)
		}
	})
}

func errorsOf(body string) string {
	var out []string
	for _, part := range strings.Split(body, `class="error"`)[1:] {
		if i := strings.Index(part, "</p>"); i > 0 {
			out = append(out, part[:i])
		}
	}
	return strings.Join(out, "; ")
}

func TestValidationBesideField(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.signIn()
		cases := []struct {
			name, field, want string
			form              url.Values
		}{
			{"form parse", "opportunity", "Нужно число", url.Values{"title": {"x"}, "opportunity": {"много"}}},
			{"store validation", "emails", "не адрес электронной почты", url.Values{"title": {"x"}, "emails": {"not-an-email"}}},
			{"date", "birthdate", "Нужна дата", url.Values{"name": {"x"}, "birthdate": {"31.02.2020"}}},
		}
		for _, c := range cases {
			path := "/e/lead/new"
			if c.field == "birthdate" {
				path = "/e/contact/new"
			}
			p := b.post(path, c.form)
			if p.Status != http.StatusUnprocessableEntity {
				t.Fatalf("%s: %d", c.name, p.Status)
			}
			// The message sits right after the field, tied to it.
			if !strings.Contains(p.Body, `id="e-`+c.field+`" role="alert">`) || !strings.Contains(p.Body, `aria-describedby="e-`+c.field+`"`) ||
				!strings.Contains(errorsOf(p.Body), c.want) {
				t.Fatalf("%s: no error beside %s: %s", c.name, c.field, errorsOf(p.Body))
			}
			// What was typed is shown back.
			for k, v := range c.form {
				if !strings.Contains(p.Body, `value="`+v[0]+`"`) && !strings.Contains(p.Body, ">"+v[0]+"<") {
					t.Errorf("%s: input %s=%q not kept", c.name, k, v[0])
				}
			}
		}
	})
}

func TestListSearchSortFilterExport(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		for i, title := range []string{"Бета", "Альфа", "Гамма"} {
			st := "NEW"
			if i == 2 {
				st = "IN_PROCESS"
			}
			if _, err := s.CreateLead(ctx, e.admin, crm.Lead{Title: title, StatusID: st, Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 912 000-00-0" + strconv.Itoa(i)}}}}); err != nil {
				t.Fatal(err)
			}
		}
		b := e.browser()
		b.signIn()
		order := func(body string, titles ...string) bool {
			last := -1
			for _, tl := range titles {
				i := strings.Index(body, ">"+tl+"<")
				if i < last || i < 0 {
					return false
				}
				last = i
			}
			return true
		}
		if p := b.get("/e/lead?sort=title"); !order(p.Body, "Альфа", "Бета", "Гамма") || !strings.Contains(p.Body, `aria-sort="ascending"`) {
			t.Errorf("sort by title: %s", p.Body)
		}
		if p := b.get("/e/lead?sort=-title"); !order(p.Body, "Гамма", "Бета", "Альфа") {
			t.Error("sort by title descending")
		}
		if p := b.get("/e/lead?q=Гамма"); !strings.Contains(p.Body, ">Гамма<") || strings.Contains(p.Body, ">Альфа<") {
			t.Error("search")
		}
		if p := b.get("/e/lead?f.status_id=NEW"); strings.Contains(p.Body, ">Гамма<") || !strings.Contains(p.Body, ">Альфа<") {
			t.Error("filter by status")
		}
		// Column choice: only the title and INN-less phones.
		p := b.get("/e/lead?cols=title&cols=phones")
		if strings.Contains(p.Body, `Сумма</a></th>`) || !strings.Contains(p.Body, `Название</a></th>`) || !strings.Contains(p.Body, "&#43;7 912 000-00-01") {
			t.Error("column choice")
		}
		// Pages: two per page, next then previous.
		p = b.get("/e/lead?sort=title&limit=10")
		if !strings.Contains(p.Body, ">Гамма<") {
			t.Error("limit 10")
		}
		csv := b.get("/e/lead/export.csv?sort=title&cols=title&cols=status_id&sep=comma")
		if csv.Status != http.StatusOK || !strings.HasPrefix(csv.Body, "\xEF\xBB\xBF№,Название,Статус\r\n") && !strings.HasPrefix(csv.Body, "\xEF\xBB\xBF№,Название,Статус\n") {
			t.Fatalf("CSV head: %q", csv.Body[:min(len(csv.Body), 80)])
		}
		if a, b, g := strings.Index(csv.Body, ",Альфа,Не обработан\n"), strings.Index(csv.Body, ",Бета,"), strings.Index(csv.Body, ",Гамма,В работе\n"); a < 0 || a > b || b > g || strings.Count(csv.Body, "\n") != 4 {
			t.Fatalf("CSV rows: %q", csv.Body)
		}
		if ct := csv.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("CSV content type %q", ct)
		}
	})
}

func TestListPages(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		for i := range 25 {
			if _, err := e.app.Store.CreateLead(context.Background(), e.admin, crm.Lead{Title: "Лид " + strconv.Itoa(100+i)}); err != nil {
				t.Fatal(err)
			}
		}
		b := e.browser()
		b.signIn()
		p := b.get("/e/lead?sort=title&limit=10")
		seen := map[string]bool{}
		for page := 0; page < 3; page++ {
			n := strings.Count(p.Body, `<tr><td data-label="№"><a href="/e/lead/`)
			if want := []int{10, 10, 5}[page]; n != want {
				t.Fatalf("page %d: %d rows, want %d", page+1, n, want)
			}
			for i := range 25 {
				if strings.Contains(p.Body, ">Лид "+strconv.Itoa(100+i)+"<") {
					seen[strconv.Itoa(i)] = true
				}
			}
			i := strings.Index(p.Body, `rel="next" id="next-page"`)
			if page == 2 {
				if i >= 0 {
					t.Fatal("a next link on the last page")
				}
				break
			}
			href := p.Body[strings.LastIndex(p.Body[:i], `href="`)+6:]
			href = strings.ReplaceAll(href[:strings.Index(href, `"`)], "&amp;", "&")
			p = b.get(href)
			if !strings.Contains(p.Body, `rel="prev"`) {
				t.Fatalf("page %d has no previous link", page+2)
			}
		}
		if len(seen) != 25 {
			t.Fatalf("saw %d of 25 leads over the pages", len(seen))
		}
	})
}

func TestCardEditHistoryComment(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		l, err := e.app.Store.CreateLead(ctx, e.admin, crm.Lead{Title: "Старое", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 912 345-67-89"}}}})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		path := "/e/lead/" + strconv.FormatInt(l.ID, 10)
		// The form of every field (the card itself edits in place).
		card := b.get(path + "?edit=all")
		if !strings.Contains(card.Body, `value="Старое"`) {
			t.Fatal("card lacks the title input")
		}
		p := b.post(path, url.Values{"title": {"Новое"}, "phones": {"+7 912 345-67-89"}, "opportunity": {"1000"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("save: %d %s", p.Status, errorsOf(p.Body))
		}
		got, _ := e.app.Store.GetLead(ctx, l.ID)
		if got.Title != "Новое" || got.Opportunity.String() != "1000.00" || len(got.Phones) != 1 || got.Phones[0].ID != l.Phones[0].ID {
			t.Fatalf("after save: %+v", got)
		}
		if p := b.post(path+"/comment", url.Values{"body": {"Перезвонить в понедельник"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("comment: %d", p.Status)
		}
		card = b.get(path)
		for _, want := range []string{"Перезвонить в понедельник", "<del>Старое</del> → <ins>Новое</ins>", "<del>—</del> → <ins>1\u00a0000,00\u00a0₽</ins>", "создал(а) запись"} {
			if !strings.Contains(card.Body, want) {
				t.Errorf("card lacks %q", want)
			}
		}
		// An unchanged phone list is not a change.
		if strings.Contains(card.Body, "<span class=\"f\">Телефоны</span>") {
			t.Error("unchanged phones logged as a change")
		}
	})
}

func TestConvertWithDuplicate(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		c, err := s.CreateContact(ctx, e.admin, crm.Contact{Name: "Иван", LastName: "Петров", Comms: crm.Comms{Phones: []crm.Comm{{Value: "8 (912) 345-67-89"}}}})
		if err != nil {
			t.Fatal(err)
		}
		l, err := s.CreateLead(ctx, e.admin, crm.Lead{Title: "С сайта", Name: "Иван", CompanyTitle: "ООО Ромашка",
			Comms: crm.Comms{Phones: []crm.Comm{{Value: "+79123456789"}}}})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		path := "/e/lead/" + strconv.FormatInt(l.ID, 10) + "/convert"
		p := b.get(path)
		if !strings.Contains(p.Body, "Петров Иван</a> — совпадение: &#43;79123456789") {
			t.Fatalf("no duplicate warning: %s", p.Body)
		}
		if !strings.Contains(p.Body, `<option value="`+strconv.FormatInt(c.ID, 10)+`" selected>`) || strings.Contains(p.Body, `id="conv-contact" checked`) {
			t.Fatal("the duplicate is not proposed for linking")
		}
		p = b.post(path, url.Values{"deal": {"on"}, "account": {"on"}, "contact_id": {strconv.FormatInt(c.ID, 10)},
			"deal_title": {"Сделка с сайта"}, "category_id": {"0"}, "stage_id": {"NEW"}})
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/e/deal/") {
			t.Fatalf("convert: %d %q %s", p.Status, p.Location, errorsOf(p.Body))
		}
		got, _ := s.GetLead(ctx, l.ID)
		if got.ContactID != c.ID || got.DealID == 0 || got.AccountID == 0 {
			t.Fatalf("converted lead: %+v", got)
		}
		d, _ := s.GetDeal(ctx, got.DealID)
		if d.Title != "Сделка с сайта" {
			t.Fatalf("deal title %q", d.Title)
		}
		if p := b.get(path); !strings.Contains(p.Body, "Лид уже конвертирован") {
			t.Error("converting twice is not warned")
		}
	})
}

func TestKanbanMoveAndRecycle(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		d, err := s.CreateDeal(ctx, e.admin, crm.Deal{Title: "Поставка", StageID: "NEW"})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		k := b.get("/kanban")
		if !strings.Contains(k.Body, `id="deal-`+strconv.FormatInt(d.ID, 10)+`"`) || !strings.Contains(k.Body, `data-stage="EXECUTING"`) {
			t.Fatal("kanban lacks the deal or a stage")
		}
		id := strconv.FormatInt(d.ID, 10)
		if p := b.post("/kanban/"+id+"/stage", url.Values{"stage_id": {"EXECUTING"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("move: %d", p.Status)
		}
		if got, _ := s.GetDeal(ctx, d.ID); got.StageID != "EXECUTING" {
			t.Fatalf("stage %q", got.StageID)
		}
		if p := b.post("/kanban/"+id+"/stage", url.Values{"stage_id": {"NO_SUCH"}}); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("move to a missing stage: %d", p.Status)
		}
		if p := b.get("/"); !strings.Contains(p.Body, `f.stage_id=EXECUTING">В работе</a></th><td>1</td>`) {
			t.Error("home page does not count the deal")
		}

		c, err := s.CreateContact(ctx, e.admin, crm.Contact{Name: "Удаляемый"})
		if err != nil {
			t.Fatal(err)
		}
		cid := strconv.FormatInt(c.ID, 10)
		if p := b.post("/e/contact/"+cid+"/delete", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("delete: %d", p.Status)
		}
		if p := b.get("/e/contact/" + cid); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="in-bin"`) {
			t.Fatalf("deleted card: %d, no recycle-bin notice", p.Status)
		}
		bin := b.get("/recycle")
		if !strings.Contains(bin.Body, `id="bin-contact-`+cid+`"`) || !strings.Contains(bin.Body, "Удаляемый") {
			t.Fatal("recycle bin lacks the contact")
		}
		if p := b.post("/recycle/contact/"+cid+"/restore", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("restore: %d", p.Status)
		}
		if p := b.get("/e/contact/" + cid); p.Status != http.StatusOK || strings.Contains(p.Body, `id="in-bin"`) {
			t.Fatalf("restored card: %d", p.Status)
		}
		if p := b.post("/recycle/contact/"+cid+"/restore", nil); p.Status != http.StatusNotFound {
			t.Fatalf("restore twice: %d", p.Status)
		}
		_ = b.post("/e/contact/"+cid+"/delete", nil)
		if p := b.post("/recycle/contact/"+cid+"/purge", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("purge: %d", p.Status)
		}
		if p := b.get("/recycle"); strings.Contains(p.Body, "Удаляемый") {
			t.Fatal("purged contact still in the bin")
		}
	})
}

func TestPasswordChange(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.signIn()
		if p := b.post("/password", url.Values{"current": {"wrong"}, "new": {"new-password-1"}, "again": {"new-password-1"}}); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("wrong current: %d", p.Status)
		}
		if p := b.post("/password", url.Values{"current": {adminPassword}, "new": {"new-password-1"}, "again": {"other"}}); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("mismatch: %d", p.Status)
		}
		if p := b.post("/password", url.Values{"current": {adminPassword}, "new": {"new-password-1"}, "again": {"new-password-1"}}); p.Status != http.StatusOK {
			t.Fatalf("change: %d %s", p.Status, errorsOf(p.Body))
		}
		if _, err := e.app.Store.Authenticate(context.Background(), "admin", "new-password-1"); err != nil {
			t.Fatalf("new password: %v", err)
		}
		// Still signed in here (other sessions of the user ended).
		if p := b.get("/"); p.Status != http.StatusOK {
			t.Fatalf("after the change: %d", p.Status)
		}
	})
}

func TestLanguageAndOtherSurfaces(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.signIn()
		if p := b.do(http.MethodPost, "/lang", url.Values{"lang": {"en"}, "next": {"/e/lead"}}); p.Status != http.StatusSeeOther || p.Location != "/e/lead" {
			t.Fatalf("lang: %d %q", p.Status, p.Location)
		}
		if p := b.get("/e/lead"); !strings.Contains(p.Body, "<h1>Leads <small") || !strings.Contains(p.Body, `lang="en"`) {
			t.Fatal("English not applied")
		}
		for path, want := range map[string]int{"/healthz": 200, "/api/v1/openapi.json": 200, "/metrics": 404, "/no/such/page": 404,
			"/static/app.css": 200, "/static/htmx-2.0.11.min.js": 200, "/integrations": 200, "/e/nosuch": 404, "/e/lead/999": 404} {
			if p := b.get(path); p.Status != want {
				t.Errorf("%s: %d, want %d", path, p.Status, want)
			}
		}
		// The API still refuses a cookie request without its header.
		if p := b.do(http.MethodPost, "/api/v1/leads", url.Values{}); p.Status != http.StatusForbidden {
			t.Errorf("API POST with cookie, no X-CSRF-Token: %d", p.Status)
		}
	})
}

func TestAdminUsersAndKeys(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.signIn()
		if p := b.post("/admin/users", url.Values{"login": {"anna"}, "first_name": {"Анна"}, "role": {"manager"}, "password": {"short"}}); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("weak password: %d", p.Status)
		}
		if p := b.post("/admin/users", url.Values{"login": {"anna"}, "first_name": {"Анна"}, "role": {"manager"}, "password": {"anna-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("create user: %d %s", p.Status, errorsOf(p.Body))
		}
		anna, err := e.app.Store.UserByLogin(context.Background(), "anna")
		if err != nil || anna.Role != crm.RoleManager {
			t.Fatalf("anna: %+v %v", anna, err)
		}
		if p := b.post("/admin/users/"+strconv.FormatInt(e.admin.UserID, 10), url.Values{"role": {"manager"}, "active": {"on"}}); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("admin demoting self: %d", p.Status)
		}

		// A manager: no admin pages, but own keys.
		m := e.browser()
		if p := m.login(url.Values{"login": {"anna"}, "password": {"anna-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("anna signs in: %d", p.Status)
		}
		if p := m.get("/admin/users"); p.Status != http.StatusForbidden {
			t.Fatalf("manager on /admin/users: %d", p.Status)
		}
		if p := m.get("/keys?user=" + strconv.FormatInt(e.admin.UserID, 10)); p.Status != http.StatusForbidden {
			t.Fatalf("manager on the admin's keys: %d", p.Status)
		}
		p := m.post("/keys", url.Values{"name": {"1С"}})
		if p.Status != http.StatusCreated {
			t.Fatalf("create key: %d", p.Status)
		}
		i := strings.Index(p.Body, `id="new-key" readonly size="60" value="`)
		if i < 0 {
			t.Fatal("the new key is not shown")
		}
		key := p.Body[i+len(`id="new-key" readonly size="60" value="`):]
		key = key[:strings.Index(key, `"`)]
		if p := m.get("/keys"); strings.Contains(p.Body, key) {
			t.Fatal("the key is shown again")
		}
		api := func() int {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if s := api(); s != http.StatusOK {
			t.Fatalf("new key on the API: %d", s)
		}
		ks, _ := e.app.Store.ListAPIKeys(context.Background(), anna.ID)
		if p := m.post("/keys/"+strconv.FormatInt(ks[0].ID, 10)+"/revoke", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("revoke: %d", p.Status)
		}
		if s := api(); s != http.StatusUnauthorized {
			t.Fatalf("revoked key on the API: %d", s)
		}
		// Disabling anna ends her session.
		if p := b.post("/admin/users/"+strconv.FormatInt(anna.ID, 10), url.Values{"role": {"manager"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("disable: %d", p.Status)
		}
		if p := m.get("/"); p.Status != http.StatusSeeOther {
			t.Fatalf("disabled user still signed in: %d", p.Status)
		}
	})
}

func TestCalendar(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		now := time.Now()
		at := time.Date(now.Year(), now.Month(), now.Day(), 10, 30, 0, 0, time.Local)
		if _, err := e.app.Store.CreateActivity(context.Background(), e.admin, crm.Activity{Kind: "call", Subject: "Созвон с поставщиком", StartAt: &at}); err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		for _, q := range []string{"", "?view=week", "?view=day", "?view=month&user=0", "?view=day&date=" + at.Format(time.DateOnly)} {
			p := b.get("/calendar" + q)
			if p.Status != http.StatusOK || !strings.Contains(p.Body, "10:30 Созвон с поставщиком") {
				t.Fatalf("calendar%s: %d, activity missing", q, p.Status)
			}
		}
		if p := b.get("/calendar?view=day&date=2001-01-01"); strings.Contains(p.Body, "Созвон") {
			t.Fatal("another day shows the activity")
		}
		// The "+" of a day opens a new activity starting then.
		p := b.get("/calendar?view=day&date=" + at.Format(time.DateOnly))
		i := strings.Index(p.Body, `/e/activity/new?`)
		if i < 0 {
			t.Fatal("no new-activity link")
		}
		href := strings.ReplaceAll(p.Body[i:i+strings.Index(p.Body[i:], `"`)], "&amp;", "&")
		form := b.get(href)
		if form.Status != http.StatusOK || !strings.Contains(form.Body, `value="`+at.Format(time.DateOnly)+`T08:00"`) {
			t.Fatalf("new activity from the calendar: %d", form.Status)
		}
	})
}

func TestLineItemsEditor(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		inv, err := e.app.Store.CreateInvoice(ctx, e.admin, crm.Invoice{})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		path := "/e/invoice/" + strconv.FormatInt(inv.ID, 10)
		if p := b.get(path); !strings.Contains(p.Body, `id="items-form"`) || !strings.Contains(p.Body, `hx-post="`+path+`/items/preview"`) {
			t.Fatal("invoice card has no line-items editor")
		}
		rows := url.Values{
			"item_name": {"Цемент М500", "Доставка", ""}, "item_price": {"450,50", "3000", ""}, "item_quantity": {"10", "1", ""},
			"item_unit": {"меш", "", ""}, "item_discount_rate": {"10", "", ""}, "item_vat_rate": {"20", "20", ""},
			"item_vat_included": {"true", "false", "false"}, "item_product_id": {"", "", ""}, "item_service_id": {"", "", ""},
		}
		// Live totals: 4505.00 − 10 % = 4054.50 (VAT inside); 3000 + 20 % = 3600.00.
		p := b.post(path+"/items/preview", rows)
		for _, want := range []string{"id=\"t-subtotal\">7\u00a0505,00<", "<b>7\u00a0654,50</b>", "<output id=\"sum-0\" hx-swap-oob=\"true\">4\u00a0054,50</output>", "<output id=\"sum-1\" hx-swap-oob=\"true\">3\u00a0600,00</output>"} {
			if !strings.Contains(p.Body, want) {
				t.Fatalf("preview lacks %s: %s", want, p.Body)
			}
		}
		if p := b.post(path+"/items", rows); p.Status != http.StatusSeeOther {
			t.Fatalf("save items: %d %s", p.Status, errorsOf(p.Body))
		}
		got, _ := e.app.Store.GetInvoice(ctx, inv.ID)
		if len(got.Items) != 2 || got.Total.String() != "7654.50" {
			t.Fatalf("saved invoice: %d items, total %s", len(got.Items), got.Total)
		}
		// A bad price is named on its row, and nothing is saved.
		bad := url.Values{}
		for k, v := range rows {
			bad[k] = append([]string{}, v...)
		}
		bad["item_price"][1] = "дорого"
		p = b.post(path+"/items", bad)
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="ip-1" name="item_price" value="дорого" inputmode="decimal" size="8" aria-invalid="true"`) {
			t.Fatalf("bad price: %d %s", p.Status, errorsOf(p.Body))
		}
		bad["item_price"][1], bad["item_quantity"][1] = "10", "0"
		p = b.post(path+"/items", bad)
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(errorsOf(p.Body), "items[1].quantity") {
			t.Fatalf("zero quantity: %d %s", p.Status, errorsOf(p.Body))
		}
		if got2, _ := e.app.Store.GetInvoice(ctx, inv.ID); got2.Total != got.Total {
			t.Fatal("a refused save changed the invoice")
		}
		// Add a row without saving.
		rows.Set("add_row", "1")
		p = b.post(path+"/items", rows)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="in-2"`) {
			t.Fatalf("add row: %d", p.Status)
		}
	})
}

func TestImportCSV(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.signIn()
		// Windows-1251, ";" — as Russian Excel saves it.
		csvText := "Название;Имя;Телефон;E-mail;Статус;Сумма;Лишнее\n" +
			"Заявка 1;Анна;+7 912 000-00-01;anna@example.ru;В работе;1500,50;x\n" +
			"Заявка 2;Олег;8 912 000-00-02;не-адрес;;;y\n"
		enc, err := charmap.Windows1251.NewEncoder().String(csvText)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("csrf", b.csrf)
		_ = mw.WriteField("entity", "lead")
		fw, _ := mw.CreateFormFile("file", "leads.csv")
		_, _ = fw.Write([]byte(enc))
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/import", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("upload: %d %s", resp.StatusCode, errorsOf(string(page)))
		}
		// Columns were guessed from their headers.
		for i, want := range []string{"title", "name", "phones", "emails", "status_id", "opportunity", ""} {
			sel := `name="map.` + strconv.Itoa(i) + `">`
			j := strings.Index(string(page), sel)
			if j < 0 {
				t.Fatalf("no select for column %d", i)
			}
			rest := string(page)[j:]
			rest = rest[:strings.Index(rest, "</select>")]
			if !strings.Contains(rest, `value="`+want+`" selected`) {
				t.Errorf("column %d not mapped to %q", i, want)
			}
		}
		form := url.Values{"entity": {"lead"}, "delim": {";"}, "data": {csvText}, "dry_run": {"1"},
			"map.0": {"title"}, "map.1": {"name"}, "map.2": {"phones"}, "map.3": {"emails"}, "map.4": {"status_id"}, "map.5": {"opportunity"}, "map.6": {""}}
		p := b.post("/import/run", form)
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "строка 3: E-mail") {
			t.Fatalf("dry run with a bad e-mail: %d %s", p.Status, p.Body)
		}
		form.Del("dry_run")
		form.Set("import", "1")
		if p := b.post("/import/run", form); p.Status != http.StatusUnprocessableEntity || strings.Contains(p.Body, `id="imported"`) {
			t.Fatalf("import with a bad row: %d", p.Status)
		}
		if ls, _, _ := e.app.Store.ListLeads(context.Background(), store.ListParams{}); len(ls) != 0 {
			t.Fatalf("a refused import wrote %d leads", len(ls))
		}
		fixed := strings.Replace(csvText, "не-адрес", "oleg@example.ru", 1)
		form.Set("data", fixed)
		form.Del("import")
		form.Set("dry_run", "1")
		if p := b.post("/import/run", form); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="dry-ok"`) {
			t.Fatalf("dry run: %d %s", p.Status, errorsOf(p.Body))
		}
		if ls, _, _ := e.app.Store.ListLeads(context.Background(), store.ListParams{}); len(ls) != 0 {
			t.Fatal("a dry run wrote leads")
		}
		form.Del("dry_run")
		form.Set("import", "1")
		if p := b.post("/import/run", form); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="imported"`) {
			t.Fatalf("import: %d %s", p.Status, errorsOf(p.Body))
		}
		ls, _, _ := e.app.Store.ListLeads(context.Background(), store.ListParams{Sort: "title"})
		if len(ls) != 2 || ls[0].StatusID != "IN_PROCESS" || ls[0].Opportunity.String() != "1500.50" || ls[1].Emails[0].Value != "oleg@example.ru" {
			t.Fatalf("imported: %+v", ls)
		}

		// The same file again: the dry run counts the duplicates (not
		// "no errors") and offers what to do; skipping (the default)
		// writes nothing, updating changes the records, creating makes
		// new ones.
		form.Del("import")
		form.Set("dry_run", "1")
		p = b.post("/import/run", form)
		if p.Status != http.StatusOK || strings.Contains(p.Body, `id="dry-ok"`) || !strings.Contains(p.Body, `id="import-dups"`) ||
			!strings.Contains(p.Body, "Найдены дубликаты — строки, которые повторяют существующие записи или строки выше: 2") ||
			!strings.Contains(p.Body, `id="dup-skip" checked`) {
			t.Fatalf("dry run of a re-import: %d %s", p.Status, p.Body)
		}
		form.Del("dry_run")
		form.Set("import", "1")
		if p := b.post("/import/run", form); p.Status != http.StatusOK || !strings.Contains(p.Body, "Пропущено дубликатов: 2") {
			t.Fatalf("re-import, skip: %d %s", p.Status, errorsOf(p.Body))
		}
		if ls, _, _ := e.app.Store.ListLeads(context.Background(), store.ListParams{}); len(ls) != 2 {
			t.Fatalf("skip wrote: %d leads", len(ls))
		}
		form.Set("data", strings.Replace(fixed, "1500,50", "2500,50", 1))
		form.Set("dup_mode", "update")
		if p := b.post("/import/run", form); p.Status != http.StatusOK || !strings.Contains(p.Body, "Обновлено: 2") {
			t.Fatalf("re-import, update: %d %s", p.Status, errorsOf(p.Body))
		}
		ls, _, _ = e.app.Store.ListLeads(context.Background(), store.ListParams{Sort: "title"})
		if len(ls) != 2 || ls[0].Opportunity.String() != "2500.50" || len(ls[1].Emails) != 1 {
			t.Fatalf("updated: %+v", ls)
		}
		form.Set("dup_mode", "create")
		if p := b.post("/import/run", form); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="imported"`) {
			t.Fatalf("re-import, create: %d %s", p.Status, errorsOf(p.Body))
		}
		if ls, _, _ := e.app.Store.ListLeads(context.Background(), store.ListParams{}); len(ls) != 4 {
			t.Fatalf("create anyway: %d leads", len(ls))
		}
	})
}

// TestManagerSeesOwnRecords: the access rule through the UI and the API.
func TestManagerSeesOwnRecords(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		anna, err := s.CreateUser(ctx, e.admin, crm.User{Login: "anna", Role: crm.RoleManager, FirstName: "Анна"}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		mine, _ := s.CreateLead(ctx, e.admin, crm.Lead{Title: "Лид Анны", Meta: crm.Meta{AssignedByID: anna.ID}})
		theirs, _ := s.CreateLead(ctx, e.admin, crm.Lead{Title: "Лид админа"})
		m := e.browser()
		if p := m.login(url.Values{"login": {"anna"}, "password": {"anna-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("sign in: %d", p.Status)
		}
		p := m.get("/e/lead")
		if !strings.Contains(p.Body, "Лид Анны") || strings.Contains(p.Body, "Лид админа") {
			t.Fatal("the manager's list shows another's lead or not her own")
		}
		if p := m.get("/e/lead/" + strconv.FormatInt(theirs.ID, 10)); p.Status != http.StatusNotFound {
			t.Fatalf("another's card: %d", p.Status)
		}
		if p := m.post("/e/lead/"+strconv.FormatInt(theirs.ID, 10), url.Values{"title": {"взлом"}}); p.Status != http.StatusNotFound {
			t.Fatalf("editing another's lead: %d", p.Status)
		}
		if p := m.get("/e/lead/" + strconv.FormatInt(mine.ID, 10)); p.Status != http.StatusOK {
			t.Fatalf("own card: %d", p.Status)
		}
		if csv := m.get("/e/lead/export.csv"); strings.Contains(csv.Body, "Лид админа") {
			t.Fatal("CSV export leaks another's lead")
		}
		// The API, with the same session: the same rule.
		if p := m.get("/api/v1/leads/" + strconv.FormatInt(theirs.ID, 10)); p.Status != http.StatusNotFound {
			t.Fatalf("API get of another's lead: %d", p.Status)
		}
		if p := m.get("/api/v1/leads"); strings.Contains(p.Body, "Лид админа") || !strings.Contains(p.Body, "Лид Анны") {
			t.Fatalf("API list: %s", p.Body)
		}
		if p := m.get("/api/v1/events"); p.Status != http.StatusForbidden {
			t.Fatalf("API event log for a limited manager: %d", p.Status)
		}
		// The admin grants her everything.
		b := e.browser()
		b.signIn()
		if p := b.post("/admin/users/"+strconv.FormatInt(anna.ID, 10)+"/access", url.Values{"owner": {"0"}, "level-0": {"edit"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("grant: %d", p.Status)
		}
		if p := m.get("/e/lead"); !strings.Contains(p.Body, "Лид админа") {
			t.Fatal("the grant does not show everything")
		}
		if p := m.get("/api/v1/events"); p.Status != http.StatusOK {
			t.Fatalf("API event log with the grant: %d", p.Status)
		}
		if p := b.get("/admin/users"); !strings.Contains(p.Body, `id="access-`+strconv.FormatInt(anna.ID, 10)+`">все записи<`) {
			t.Fatal("the grant is not shown")
		}
	})
}

func TestDictionaries(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		b := e.browser()
		b.signIn()
		if p := b.get("/admin/dict"); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="statuses"`) {
			t.Fatalf("dictionaries: %d", p.Status)
		}
		steps := []struct {
			action string
			form   url.Values
		}{
			{"status-add", url.Values{"dict": {"SOURCE"}, "status_id": {"AVITO"}, "name": {"Авито"}, "sort": {"50"}}},
			{"pipe-add", url.Values{"name": {"Опт"}}},
			{"currency-save", url.Values{"code": {"usd"}, "name": {"Доллар США"}, "rate": {"92,50"}, "active": {"on"}}},
			{"unit-add", url.Values{"name": {"меш"}, "title": {"Мешок"}}},
			{"prefix-save", url.Values{"sales_order.prefix": {"ЗК-"}}},
			{"cf-add", url.Values{"entity": {"lead"}, "code": {"UF_CRM_CITY"}, "label": {"Город"}, "type": {"string"}}},
		}
		for _, s := range steps {
			if p := b.post("/admin/dict/"+s.action, s.form); p.Status != http.StatusSeeOther {
				t.Fatalf("%s: %d %s", s.action, p.Status, errorsOf(p.Body))
			}
		}
		if sts, _ := e.app.Store.ListStatuses(ctx, "SOURCE"); !strings.Contains(fmtStatuses(sts), "AVITO=Авито") {
			t.Error("status not added")
		}
		if c, err := e.app.Store.GetCurrency(ctx, "USD"); err != nil || c.Rate != "92.5" && c.Rate != "92.50" && c.Rate != "92.5000" {
			t.Errorf("currency: %+v %v", c, err)
		}
		if v, _ := e.app.Store.GetSetting(ctx, "sales_order.prefix"); v != "ЗК-" {
			t.Errorf("prefix %q", v)
		}
		if cf, _ := e.app.Store.CustomFields(ctx, "lead"); len(cf) != 1 || cf[0].Label != "Город" {
			t.Errorf("custom fields: %+v", cf)
		}
		// A bad code is refused with the reason.
		if p := b.post("/admin/dict/cf-add", url.Values{"entity": {"lead"}, "code": {"city"}, "label": {"x"}, "type": {"string"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="dict-error"`) {
			t.Fatalf("bad custom field code: %d", p.Status)
		}
		// A system status cannot be deleted.
		sts, _ := e.app.Store.ListStatuses(ctx, "STATUS")
		for _, st := range sts {
			if st.System {
				if p := b.post("/admin/dict/status-del", url.Values{"dict": {"STATUS"}, "id": {strconv.FormatInt(st.ID, 10)}}); p.Status != http.StatusUnprocessableEntity {
					t.Fatalf("deleting a system status: %d", p.Status)
				}
				break
			}
		}
	})
}

func fmtStatuses(sts []crm.Status) string {
	var out []string
	for _, s := range sts {
		out = append(out, s.StatusID+"="+s.Name)
	}
	return strings.Join(out, ",")
}

func TestIntegrationsSection(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.signIn()
		if p := b.get("/integrations"); !strings.Contains(p.Body, `<a href="/integrations/webhooks">Вебхуки</a>`) {
			t.Fatal("the section does not list the outbound webhooks")
		}
		if p := b.get("/integrations/webhooks"); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="check"`) {
			t.Fatalf("webhooks page: %d", p.Status)
		}
		// The check says what to do, not "Подключение работает: 0".
		if p := b.post("/integrations/webhooks/check", nil); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="check-ok">Исходящих вебхуков пока нет: создайте их в настройках`) ||
			strings.Contains(p.Body, "работает: 0") {
			t.Fatalf("check: %d %s", p.Status, p.Body)
		}
		if _, err := e.app.Delivery.Create(context.Background(), delivery.Webhook{Name: "Склад", Kind: "native", URL: "https://example.ru/hook", Active: true, Events: []string{"lead.create"}}); err != nil {
			t.Fatal(err)
		}
		if p := b.post("/integrations/webhooks/check", nil); !strings.Contains(p.Body, "Исходящих вебхуков: 1, из них включено: 1. Ошибок доставки нет.") {
			t.Fatalf("check with a webhook: %s", p.Body)
		}
		if p := b.get("/integrations/nosuch"); p.Status != http.StatusNotFound {
			t.Fatalf("unknown integration: %d", p.Status)
		}
	})
}

// TestJournalSource: a registered source's entries show in the section's
// journal and on the home page's failures, with a payload link.
func TestJournalSource(t *testing.T) {
	d := storetest.OpenAny(t)
	e := newEnv(t, d)
	e.app.UI.AddIntegration(web.Integration{Name: "fake1c", Title: map[string]string{"ru": "1С (тест)"},
		Journal: fakeJournal{}, Resource: authz.Exchange1C, Check: func(context.Context) (string, error) { return "", errors.New("нет ответа от 1С") }})
	b := e.browser()
	b.signIn()
	p := b.get("/integrations")
	if !strings.Contains(p.Body, "import.xml: строка 412") || !strings.Contains(p.Body, `href="/integrations/fake1c/7"`) {
		t.Fatalf("journal: %s", p.Body)
	}
	if p := b.get("/"); !strings.Contains(p.Body, "import.xml: строка 412") {
		t.Fatal("home page lacks the failure")
	}
	if p := b.get("/integrations/fake1c/7"); !strings.Contains(p.Body, "КоммерческаяИнформация") {
		t.Fatal("payload page")
	}
	if p := b.post("/integrations/fake1c/check", nil); !strings.Contains(p.Body, "нет ответа от 1С") {
		t.Fatal("a failed check is not shown")
	}
}

type fakeJournal struct{}

func (fakeJournal) Name() string { return "fake1c" }
func (fakeJournal) Journal(ctx context.Context, failed bool, limit int) ([]web.JournalEntry, error) {
	return []web.JournalEntry{{ID: 7, At: time.Now(), Integration: "1С", Direction: "in", Status: "failed", Failed: true, Error: "import.xml: строка 412"}}, nil
}
func (fakeJournal) Payload(ctx context.Context, id int64) (any, error) {
	return map[string]string{"file": "<КоммерческаяИнформация/>"}, nil
}

func TestCustomFieldsAndRelatedNew(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		for _, cf := range []crm.CustomField{
			{Entity: "lead", Code: "UF_CRM_CITY", Label: "Город", Type: "string"},
			{Entity: "lead", Code: "UF_CRM_AREA", Label: "Площадь, м²", Type: "number"},
			{Entity: "lead", Code: "UF_CRM_KIND", Label: "Вид работ", Type: "enum", Options: []string{"Ремонт", "Стройка"}},
		} {
			if _, err := s.CreateCustomField(ctx, e.admin, cf); err != nil {
				t.Fatal(err)
			}
		}
		b := e.browser()
		b.signIn()
		p := b.post("/e/lead/new", url.Values{"title": {"С полями"}, "custom.UF_CRM_CITY": {"Казань"}, "custom.UF_CRM_AREA": {"много"}})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="e-custom.UF_CRM_AREA"`) {
			t.Fatalf("bad number: %d %s", p.Status, errorsOf(p.Body))
		}
		p = b.post("/e/lead/new", url.Values{"title": {"С полями"}, "custom.UF_CRM_CITY": {"Казань"}, "custom.UF_CRM_AREA": {"120.5"}, "custom.UF_CRM_KIND": {"Стройка"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("create: %d %s", p.Status, errorsOf(p.Body))
		}
		path := strings.Split(p.Location, "?")[0]
		if card := b.get(path + "?edit=all"); !strings.Contains(card.Body, `value="Казань"`) || !strings.Contains(card.Body, `<option value="Стройка" selected>`) {
			t.Fatal("card lacks the custom values")
		}
		// Emptying a custom field removes it.
		if p := b.post(path, url.Values{"title": {"С полями"}, "custom.UF_CRM_CITY": {""}}); p.Status != http.StatusSeeOther {
			t.Fatalf("update: %d %s", p.Status, errorsOf(p.Body))
		}
		id, _ := strconv.ParseInt(strings.TrimPrefix(path, "/e/lead/"), 10, 64)
		l, _ := s.GetLead(ctx, id)
		if _, ok := l.Custom["UF_CRM_CITY"]; ok || l.Custom["UF_CRM_KIND"] != "Стройка" {
			t.Fatalf("custom after update: %+v", l.Custom)
		}
		// A related list's "+" opens a new record linked to this one.
		a, _ := s.CreateAccount(ctx, e.admin, crm.Account{Title: "ООО Ромашка"})
		card := b.get("/e/account/" + strconv.FormatInt(a.ID, 10))
		aid := strconv.FormatInt(a.ID, 10)
		for _, want := range []string{`href="/e/contact/new?account_ids=` + aid + `"`, `href="/e/deal/new?account_id=` + aid + `"`, `href="/e/activity/new?owner_id=` + aid + `&amp;owner_type=account"`} {
			if !strings.Contains(card.Body, want) {
				t.Errorf("account card lacks %s", want)
			}
		}
		if p := b.get("/e/deal/new?account_id=" + aid); !strings.Contains(p.Body, `id="f-account_id" name="account_id" value="`+aid+`"`) {
			t.Error("new deal not prefilled with the account")
		}
	})
}

func TestConvertDuplicateByINN(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		if _, err := s.CreateCustomField(ctx, e.admin, crm.CustomField{Entity: "lead", Code: "UF_CRM_INN", Label: "ИНН", Type: "string"}); err != nil {
			t.Fatal(err)
		}
		a, err := s.CreateAccount(ctx, e.admin, crm.Account{Title: "ПАО Сбербанк", INN: "7707083893"})
		if err != nil {
			t.Fatal(err)
		}
		l, err := s.CreateLead(ctx, e.admin, crm.Lead{Title: "Заявка от банка", Extra: crm.Extra{Custom: map[string]any{"UF_CRM_INN": "7707083893"}}})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		p := b.get("/e/lead/" + strconv.FormatInt(l.ID, 10) + "/convert")
		if !strings.Contains(p.Body, "ПАО Сбербанк</a> — совпадение: 7707083893") || !strings.Contains(p.Body, `<option value="`+strconv.FormatInt(a.ID, 10)+`" selected>`) {
			t.Fatalf("no INN duplicate: %s", p.Body)
		}
	})
}

// TestIntegrationPagesOfMain: lead intake's journal shows a submission
// refused by the orders endpoint, and the 1C page renders.
func TestIntegrationPagesOfMain(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.signIn()
		for _, name := range []string{"intake", "1c", "webhooks"} {
			if p := b.get("/integrations/" + name); p.Status != http.StatusOK {
				t.Fatalf("%s: %d", name, p.Status)
			}
		}
		if _, err := e.app.Intake.Journal(context.Background(), intake.Entry{Source: "http", Ref: "order 42", Outcome: intake.OutcomeFailed, Field: "phone", Error: "not a phone number"}); err != nil {
			t.Fatal(err)
		}
		p := b.get("/integrations/intake?failed=1")
		if !strings.Contains(p.Body, "phone: not a phone number") || !strings.Contains(p.Body, "http order 42") {
			t.Fatalf("intake journal: %s", errorsOf(p.Body))
		}
		i := strings.Index(p.Body, `href="/integrations/intake/`)
		href := p.Body[i+6:]
		href = href[:strings.Index(href, `"`)]
		if pl := b.get(href); pl.Status != http.StatusOK || !strings.Contains(pl.Body, "order 42") {
			t.Fatalf("intake payload %s: %d", href, pl.Status)
		}
		if p := b.get("/"); !strings.Contains(p.Body, "phone: not a phone number") {
			t.Fatal("home page lacks the intake failure")
		}
	})
}

// The webhooks pages: an incoming webhook is made for a user with scopes,
// its URL shown once and working, then disabled; an outbound webhook is
// made, its failed delivery shown with the attempt and sent again.
func TestWebhooksPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnvWith(t, d, func(c *config.Config) { c.OutboundAllow = []string{"127.0.0.1"} })
		ctx := context.Background()
		if err := jobs.Migrate(ctx, d); err != nil {
			t.Fatal(err)
		}
		svc := e.app.Delivery
		runner, err := jobs.New(ctx, d, slog.New(slog.DiscardHandler), svc.Register, func(c *river.Config) {
			c.FetchCooldown, c.FetchPollInterval = 5*time.Millisecond, 20*time.Millisecond
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := runner.Start(ctx); err != nil {
			t.Fatal(err)
		}
		svc.Start(ctx, runner)
		t.Cleanup(func() {
			svc.Stop()
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_ = runner.Stop(sctx)
			runner.Close()
		})

		b := e.browser()
		b.signIn()
		if p := b.get("/admin/webhooks"); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="new-incoming"`) {
			t.Fatalf("webhooks page: %d", p.Status)
		}

		// Incoming: made, its URL shown once, working, then disabled.
		p := b.post("/admin/webhooks/incoming", url.Values{"name": {"Интернет-магазин"}, "user_id": {strconv.FormatInt(e.admin.UserID, 10)}, "scope": {"crm"}})
		const marker = `id="new-hook-url" readonly size="80" value="`
		i := strings.Index(p.Body, marker)
		if p.Status != http.StatusCreated || i < 0 {
			t.Fatalf("create incoming webhook: %d %s", p.Status, errorsOf(p.Body))
		}
		hookURL := p.Body[i+len(marker):]
		hookURL = hookURL[:strings.Index(hookURL, `"`)]
		path := hookURL[strings.Index(hookURL, "/rest/"):]
		call := func() int {
			res, err := http.Post(e.srv.URL+path+"crm.lead.add", "application/json", strings.NewReader(`{"fields":{"TITLE":"С сайта"}}`))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		if s := call(); s != http.StatusOK {
			t.Fatalf("the new webhook's URL answers %d", s)
		}
		if p := b.get("/admin/webhooks"); strings.Contains(p.Body, hookURL) || !strings.Contains(p.Body, "Интернет-магазин") {
			t.Fatal("the webhook's URL is shown again, or the webhook is not listed")
		}
		hooks, err := e.app.Bitrix.ListWebhooks(ctx, 0)
		if err != nil || len(hooks) != 1 {
			t.Fatalf("incoming webhooks %v %v", hooks, err)
		}
		if p := b.post("/admin/webhooks/incoming/"+strconv.FormatInt(hooks[0].ID, 10)+"/disable", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("disable: %d", p.Status)
		}
		if s := call(); s != http.StatusUnauthorized {
			t.Fatalf("a disabled webhook's URL answers %d, want 401", s)
		}
		if p := b.post("/admin/webhooks/incoming", url.Values{"name": {"x"}, "user_id": {"99999"}, "scope": {"crm"}}); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("webhook of a missing user: %d", p.Status)
		}

		// Outbound: the receiver fails until told otherwise.
		var up atomic.Bool
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if up.Load() {
				w.WriteHeader(http.StatusOK)
				return
			}
			w.WriteHeader(http.StatusGone)
		}))
		defer rcv.Close()
		if p := b.post("/admin/webhooks/outbound", url.Values{"name": {"CRM sync"}, "kind": {"native"}, "url": {"ftp://x"}, "native_events": {"lead.create"}}); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("outbound webhook with an ftp URL: %d", p.Status)
		}
		if p := b.post("/admin/webhooks/outbound", url.Values{"name": {"CRM sync"}, "kind": {"native"}, "url": {rcv.URL}, "native_events": {"lead.create"}, "token": {"s3cret"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("create outbound webhook: %d %s", p.Status, errorsOf(p.Body))
		}
		outs, err := svc.List(ctx)
		if err != nil || len(outs) != 1 || outs[0].Events[0] != "lead.create" || !outs[0].HasToken {
			t.Fatalf("outbound webhooks %+v %v", outs, err)
		}
		hook := strconv.FormatInt(outs[0].ID, 10)
		if _, err := e.app.Store.CreateLead(ctx, e.admin, crm.Lead{Title: "Доставь меня"}); err != nil {
			t.Fatal(err)
		}
		var failed delivery.Delivery
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			ds, err := svc.Deliveries(ctx, outs[0].ID, delivery.DeliveryQuery{Status: delivery.StatusFailed})
			if err != nil {
				t.Fatal(err)
			}
			// The lead added through the incoming webhook above may be
			// delivered too (the dispatcher may not have passed its event
			// before this webhook existed): take the one the 410 failed.
			if i := slices.IndexFunc(ds, func(x delivery.Delivery) bool { return x.LastStatus == http.StatusGone }); i >= 0 {
				failed = ds[i]
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if failed.ID == 0 {
			t.Fatal("the 410 did not fail the delivery")
		}
		page := b.get("/admin/webhooks/outbound/" + hook)
		if page.Status != http.StatusOK || !strings.Contains(page.Body, "HTTP 410") || !strings.Contains(page.Body, "/retry/"+strconv.FormatInt(failed.ID, 10)) {
			t.Fatalf("delivery journal page %d lacks the 410 attempt or the retry button", page.Status)
		}
		// The 410 disabled the webhook: enable it, then retry.
		if p := b.post("/admin/webhooks/outbound/"+hook+"/enable", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("enable: %d", p.Status)
		}
		up.Store(true)
		if p := b.post("/admin/webhooks/outbound/"+hook+"/retry/"+strconv.FormatInt(failed.ID, 10), nil); p.Status != http.StatusSeeOther {
			t.Fatalf("retry: %d %s", p.Status, errorsOf(p.Body))
		}
		for deadline = time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if x, err := svc.Delivery(ctx, failed.ID); err == nil && x.Status == delivery.StatusDelivered {
				break
			}
		}
		if x, _ := svc.Delivery(ctx, failed.ID); x.Status != delivery.StatusDelivered {
			t.Fatalf("after the retry the delivery is %s", x.Status)
		}
		if p := b.post("/admin/webhooks/outbound/"+hook+"/delete", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("delete: %d", p.Status)
		}

		// No POST without the CSRF token.
		if p := b.do(http.MethodPost, "/admin/webhooks/incoming", url.Values{"name": {"no csrf"}}); p.Status != http.StatusForbidden {
			t.Fatalf("POST without CSRF: %d", p.Status)
		}
	})
}

// The 1C exchange's settings page saves every setting and refuses what
// is not a number, naming the field.
func TestOnecSettingsPage(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.signIn()
		if p := b.get("/admin/1c"); p.Status != http.StatusOK || !strings.Contains(p.Body, "/1c_exchange.php") || !strings.Contains(p.Body, `name="status.Approved"`) {
			t.Fatalf("settings page: %d", p.Status)
		}
		// It recommends a user of its own for 1C and links to the users.
		if p := b.get("/admin/1c"); !strings.Contains(p.Body, `id="onec-identity"`) || !strings.Contains(p.Body, "Рекомендуется отдельный пользователь для 1С") ||
			!strings.Contains(p.Body, `href="/admin/users"`) {
			t.Fatal("the settings page does not say how to set up the 1C user")
		}
		form := url.Values{"enabled": {"on"}, "zip": {"on"}, "responsible_user_id": {strconv.FormatInt(e.admin.UserID, 10)},
			"file_limit": {"50"}, "max_file": {"1024"}, "max_session": {"3000"}, "max_unpacked": {"2048"}, "max_zip_ratio": {"100"},
			"version": {"2.10"}, "encoding": {"windows-1251"}, "step_seconds": {"5"}, "keep_days": {"30"},
			"status.Approved": {"Согласован"}, "status.Created": {""}}
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("file_limit", "много")
		if p := b.post("/admin/1c", bad); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "МиБ") {
			t.Fatalf("a bad number: %d %s", p.Status, errorsOf(p.Body))
		}
		if p := b.post("/admin/1c", form); p.Status != http.StatusSeeOther {
			t.Fatalf("save: %d %s", p.Status, errorsOf(p.Body))
		}
		s, err := exchange.LoadSettings(context.Background(), e.app.Store)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Enabled || !s.Zip || s.ResponsibleUserID != e.admin.UserID || s.FileLimit != 50<<20 || s.MaxFileBytes != 1024<<20 ||
			s.MaxUnpackedBytes != 2048<<20 || s.MaxSessionBytes != 3000<<20 || s.MaxZipRatio != 100 || s.Version != "2.10" || s.Encoding != "windows-1251" ||
			s.StepMillis != 5000 || s.KeepDays != 30 || s.StatusMap["Approved"] != "Согласован" || len(s.StatusMap) != 1 {
			t.Fatalf("saved %+v", s)
		}
		if p := b.get("/admin/1c"); !strings.Contains(p.Body, `value="Согласован"`) || !strings.Contains(p.Body, `<option selected>2.10</option>`) {
			t.Fatal("the page does not show the saved settings")
		}
		form.Del("csrf") // post added the page's token
		if p := b.do(http.MethodPost, "/admin/1c", form); p.Status != http.StatusForbidden {
			t.Fatalf("POST without CSRF: %d", p.Status)
		}
	})
}
