package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// htmxGet is a GET as htmx sends it.
func (b *browser) htmxGet(path string) page {
	b.e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("HX-Request", "true")
	return b.send(req)
}

// htmxPost is a form POST as htmx sends it: the CSRF token in a header.
func (b *browser) htmxPost(path string, form url.Values) page {
	b.e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", b.csrf)
	return b.send(req)
}

func (b *browser) send(req *http.Request) page {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return page{Status: resp.StatusCode, Body: sb.String(), Location: resp.Header.Get("Location"), Header: resp.Header}
}

var moreRe = regexp.MustCompile(`hx-get="(/kanban/more\?[^"]+)"`)

// TestKanbanPagingCountsSums: a stage with more deals than a column shows
// has its exact count and sum, and "show more" brings the rest page by
// page; the home page counts the deals of every pipeline.
func TestKanbanPagingCountsSums(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		const n = 57
		for i := 1; i <= n; i++ {
			if _, err := s.CreateDeal(ctx, e.admin, crm.Deal{Title: fmt.Sprintf("Сделка %02d", i), StageID: "NEW", Opportunity: crm.Amount(100 * i)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.CreateDeal(ctx, e.admin, crm.Deal{Title: "В долларах", StageID: "NEW", Currency: "USD", Opportunity: 5000}); err != nil {
			t.Fatal(err)
		}
		p2, err := s.CreatePipeline(ctx, e.admin, crm.Pipeline{Name: "Опт"})
		if err != nil {
			t.Fatal(err)
		}
		prefix := "C" + strconv.FormatInt(p2.ID, 10) + ":"
		for range 3 {
			if _, err := s.CreateDeal(ctx, e.admin, crm.Deal{Title: "Оптовая", CategoryID: p2.ID, StageID: prefix + "NEW"}); err != nil {
				t.Fatal(err)
			}
		}
		b := e.browser()
		b.signIn()
		k := b.get("/kanban")
		if k.Status != http.StatusOK {
			t.Fatalf("kanban: %d", k.Status)
		}
		// 1+2+…+57 = 1653 roubles.
		if !strings.Contains(k.Body, `id="count-NEW" aria-label="Сделок в стадии">58</small>`) || !strings.Contains(k.Body, "1653.00 RUB, 50.00 USD") {
			t.Fatalf("kanban lacks the NEW count or sums:\n%s", k.Body)
		}
		if got := strings.Count(k.Body, `class="kcard"`); got != 50 {
			t.Fatalf("first page shows %d cards, want 50", got)
		}
		m := moreRe.FindStringSubmatch(k.Body)
		if m == nil {
			t.Fatal("no show-more button")
		}
		if !strings.Contains(k.Body, "Показать ещё (8)") {
			t.Error("show-more does not say how many are left")
		}
		more := b.htmxGet(strings.ReplaceAll(m[1], "&amp;", "&"))
		if more.Status != http.StatusOK || strings.Count(more.Body, `class="kcard"`) != 8 || strings.Contains(more.Body, "<html") {
			t.Fatalf("show more: %d, %d cards\n%s", more.Status, strings.Count(more.Body, `class="kcard"`), more.Body)
		}
		if moreRe.MatchString(more.Body) {
			t.Error("the last page offers more")
		}
		if !strings.Contains(more.Body, "Сделка 01") || !strings.Contains(more.Body, `name="csrf"`) {
			t.Error("the last page lacks the oldest deal or its move form")
		}
		// Every card of the stage is on one of the two pages, once.
		for i := 1; i <= n; i++ {
			title := fmt.Sprintf("Сделка %02d<", i)
			if c := strings.Count(k.Body, title) + strings.Count(more.Body, title); c != 1 {
				t.Errorf("%s shown %d times", title, c)
			}
		}
		if p := b.htmxGet("/kanban/more?pipeline=0&stage=NEW&cursor=garbage"); p.Status != http.StatusBadRequest {
			t.Errorf("bad cursor: %d", p.Status)
		}
		// The other pipeline.
		if k2 := b.get("/kanban?pipeline=" + strconv.FormatInt(p2.ID, 10)); strings.Count(k2.Body, `class="kcard"`) != 3 {
			t.Error("the second pipeline's kanban lacks its deals")
		}
		home := b.get("/")
		for _, want := range []string{
			`f.stage_id=NEW">Новая</a></th><td>58</td>`,
			`id="home-pipeline-` + strconv.FormatInt(p2.ID, 10) + `"`, "Опт</a></caption>",
			`f.stage_id=` + url.QueryEscape(prefix+"NEW") + `">Новая</a></th><td>3</td>`,
		} {
			if !strings.Contains(home.Body, want) {
				t.Errorf("home lacks %s", want)
			}
		}
	})
}

var (
	fieldGetRe = regexp.MustCompile(`hx-get="(/e/[a-z_]+/\d+/field/[^"]+)"`)
	versionRe  = regexp.MustCompile(`name="version" value="([^"]+)"`)
)

// TestInlineEditEveryEntity: every editable field of every entity's card
// opens in place as a labelled input, and a long text saved in place
// shows and is stored.
func TestInlineEditEveryEntity(t *testing.T) {
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
			p := b.post("/e/"+name+"/new", form)
			if p.Status != http.StatusSeeOther {
				t.Fatalf("%s create: %d %s", name, p.Status, errorsOf(p.Body))
			}
			path := strings.Split(p.Location, "?")[0]
			card := b.get(path)
			if strings.Contains(card.Body, `id="record-form"`) || !strings.Contains(card.Body, `id="inline-fields"`) {
				t.Fatalf("%s card is not in place-edit view", name)
			}
			links := fieldGetRe.FindAllStringSubmatch(card.Body, -1)
			if len(links) < 3 {
				t.Fatalf("%s card offers %d fields to edit", name, len(links))
			}
			long := ""
			for _, m := range links {
				f := b.htmxGet(m[1])
				field := m[1][strings.LastIndex(m[1], "/")+1:]
				if f.Status != http.StatusOK || !strings.Contains(f.Body, `class="field-inline editing"`) || strings.Contains(f.Body, "<html") {
					t.Fatalf("%s: %d\n%s", m[1], f.Status, f.Body)
				}
				// Labelled: a label for the input (or around the checkbox),
				// or an address block: a fieldset with its legend, each
				// part labelled.
				if !strings.Contains(f.Body, `<label for="f-`+field+`">`) && !strings.Contains(f.Body, `id="f-`+field+`" name="`+field+`"`) &&
					!(strings.Contains(f.Body, `<fieldset class="field addr" id="f-`+field+`"`) && strings.Contains(f.Body, `<label for="f-`+field+`-city">`)) {
					t.Errorf("%s: no labelled input\n%s", m[1], f.Body)
				}
				if field == "comments" || field == "description" {
					long = field
				}
			}
			if long == "" {
				t.Fatalf("%s has neither comments nor description", name)
			}
			open := b.htmxGet(path + "/field/" + long)
			v := versionRe.FindStringSubmatch(open.Body)
			if v == nil {
				t.Fatalf("%s: the input carries no version", name)
			}
			saved := b.htmxPost(path+"/field/"+long, url.Values{long: {"Изменено на месте"}, "version": {v[1]}})
			if saved.Status != http.StatusOK || !strings.Contains(saved.Body, "Изменено на месте") || !strings.Contains(saved.Body, `class="field-inline view"`) {
				t.Fatalf("%s save %s: %d\n%s", name, long, saved.Status, saved.Body)
			}
			if c := b.get(path); !strings.Contains(c.Body, "<ins>Изменено на месте</ins>") {
				t.Errorf("%s: the in-place change is not in the history", name)
			}
		}
	})
}

// TestInlineEditValidationAndConflict: a refused value comes back beside
// its field and nothing is written; a save over a change made meanwhile
// is refused with the current value shown, and goes through when sent
// again; no CSRF token, no write; read-only fields do not open.
func TestInlineEditValidationAndConflict(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		if _, err := s.CreateCustomField(ctx, e.admin, crm.CustomField{Entity: "lead", Code: "UF_CRM_AREA", Label: "Площадь", Type: "number"}); err != nil {
			t.Fatal(err)
		}
		l, err := s.CreateLead(ctx, e.admin, crm.Lead{Title: "Было", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 912 345-67-89"}}}})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		path := "/e/lead/" + strconv.FormatInt(l.ID, 10)
		card := b.get(path)
		for _, want := range []string{`id="v-title"`, `aria-label="Изменить: Название, Было"`, `hx-get="` + path + `/field/title"`, `hx-get="` + path + `/field/custom.UF_CRM_AREA"`} {
			if !strings.Contains(card.Body, want) {
				t.Errorf("card lacks %s", want)
			}
		}
		open := b.htmxGet(path + "/field/title")
		if !strings.Contains(open.Body, `value="Было"`) || !strings.Contains(open.Body, `<label for="f-title">`) {
			t.Fatalf("title input:\n%s", open.Body)
		}
		version := versionRe.FindStringSubmatch(open.Body)[1]

		// No token: refused, nothing written.
		req := url.Values{"title": {"Без токена"}, "version": {version}}
		if p := b.do(http.MethodPost, path+"/field/title", req); p.Status != http.StatusForbidden {
			t.Fatalf("no CSRF: %d", p.Status)
		}
		// A bad e-mail: beside the field, nothing written.
		p := b.htmxPost(path+"/field/emails", url.Values{"emails": {"не-адрес"}, "version": {version}})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="e-emails" role="alert"`) ||
			!strings.Contains(p.Body, `aria-describedby="e-emails"`) || !strings.Contains(p.Body, `value="не-адрес"`) ||
			!strings.Contains(p.Body, "не адрес электронной почты") {
			t.Fatalf("bad e-mail: %d\n%s", p.Status, p.Body)
		}
		// A bad number in a custom field, the same.
		p = b.htmxPost(path+"/field/custom.UF_CRM_AREA", url.Values{"custom.UF_CRM_AREA": {"много"}, "version": {version}})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="e-custom.UF_CRM_AREA"`) {
			t.Fatalf("bad custom number: %d\n%s", p.Status, p.Body)
		}
		if got, _ := s.GetLead(ctx, l.ID); got.Title != "Было" || len(got.Emails) != 0 || len(got.Custom) != 0 {
			t.Fatalf("a refused value was written: %+v", got)
		}
		// Someone else saves meanwhile.
		if _, err := s.UpdateLead(ctx, e.admin, l.ID, func(x *crm.Lead) error { x.Title = "Чужое"; return nil }); err != nil {
			t.Fatal(err)
		}
		p = b.htmxPost(path+"/field/title", url.Values{"title": {"Моё"}, "version": {version}})
		if p.Status != http.StatusConflict || !strings.Contains(p.Body, "успела изменить другой пользователь; сейчас в этом поле: Чужое") || !strings.Contains(p.Body, `value="Моё"`) {
			t.Fatalf("stale save: %d\n%s", p.Status, p.Body)
		}
		if got, _ := s.GetLead(ctx, l.ID); got.Title != "Чужое" {
			t.Fatalf("a stale save overwrote: %q", got.Title)
		}
		// Sent again (with the version the conflict answer carries): saved.
		now := versionRe.FindStringSubmatch(p.Body)[1]
		if now == version {
			t.Fatal("the conflict answer carries the old version")
		}
		p = b.htmxPost(path+"/field/title", url.Values{"title": {"Моё"}, "version": {now}})
		if p.Status != http.StatusOK || !strings.Contains(p.Body, ">Моё</button>") {
			t.Fatalf("save after conflict: %d\n%s", p.Status, p.Body)
		}
		p = b.htmxPost(path+"/field/custom.UF_CRM_AREA", url.Values{"custom.UF_CRM_AREA": {"120.5"}})
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "120.5") {
			t.Fatalf("custom save: %d\n%s", p.Status, p.Body)
		}
		got, _ := s.GetLead(ctx, l.ID)
		if got.Title != "Моё" || len(got.Phones) != 1 || got.Phones[0].ID != l.Phones[0].ID || fmt.Sprint(got.Custom["UF_CRM_AREA"]) != "120.5" {
			t.Fatalf("after in-place saves: %+v", got)
		}
		// Escape: the value back, unsaved.
		if p := b.htmxGet(path + "/field/title?view=1"); !strings.Contains(p.Body, `class="field-inline view"`) || !strings.Contains(p.Body, ">Моё</button>") {
			t.Fatalf("view fragment:\n%s", p.Body)
		}
		// Read-only and unknown fields do not open.
		for _, f := range []string{"created_at", "deal_id", "nope"} {
			if p := b.htmxGet(path + "/field/" + f); p.Status != http.StatusNotFound {
				t.Errorf("field %s: %d", f, p.Status)
			}
		}
		// The full form checks the version too.
		form := url.Values{"title": {"Из формы"}, "version": {version}}
		if p := b.post(path, form); p.Status != http.StatusConflict || !strings.Contains(p.Body, "сохраните ещё раз") || !strings.Contains(p.Body, `value="Из формы"`) {
			t.Fatalf("stale full form: %d %s", p.Status, errorsOf(p.Body))
		}
		if got, _ := s.GetLead(ctx, l.ID); got.Title != "Моё" {
			t.Fatalf("stale full form overwrote: %q", got.Title)
		}
	})
}

// TestListCustomFieldColumns: an entity's custom fields are list columns
// to choose, sort by and filter by, and go into the CSV export.
func TestListCustomFieldColumns(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		for _, cf := range []crm.CustomField{
			{Entity: "lead", Code: "UF_CRM_CITY", Label: "Город", Type: "string"},
			{Entity: "lead", Code: "UF_CRM_AREA", Label: "Площадь", Type: "number"},
			{Entity: "lead", Code: "UF_CRM_KIND", Label: "Вид работ", Type: "enum", Options: []string{"Ремонт", "Стройка"}},
			{Entity: "lead", Code: "UF_CRM_VIP", Label: "VIP", Type: "bool"},
		} {
			if _, err := s.CreateCustomField(ctx, e.admin, cf); err != nil {
				t.Fatal(err)
			}
		}
		for _, l := range []struct {
			title  string
			custom map[string]any
		}{
			{"Бета", map[string]any{"UF_CRM_CITY": "Тверь", "UF_CRM_AREA": "100", "UF_CRM_KIND": "Ремонт"}},
			{"Альфа", map[string]any{"UF_CRM_CITY": "Казань", "UF_CRM_AREA": "7.5", "UF_CRM_KIND": "Стройка", "UF_CRM_VIP": true}},
			{"Гамма", map[string]any{"UF_CRM_AREA": "12"}},
		} {
			if _, err := s.CreateLead(ctx, e.admin, crm.Lead{Title: l.title, Extra: crm.Extra{Custom: l.custom}}); err != nil {
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
		list := b.get("/e/lead")
		for _, want := range []string{
			`name="cols" value="custom.UF_CRM_CITY"> Город</label>`, `name="cols" value="custom.UF_CRM_AREA"> Площадь</label>`,
			`<label for="f.custom.UF_CRM_CITY">Город</label>`, `<input id="f.custom.UF_CRM_CITY" name="f.custom.UF_CRM_CITY" type="text"`,
			`<select id="f.custom.UF_CRM_KIND" name="f.custom.UF_CRM_KIND"><option value="" selected>—</option><option value="Ремонт">Ремонт</option>`,
		} {
			if !strings.Contains(list.Body, want) {
				i := strings.Index(list.Body, "f.custom.UF_CRM_KIND")
				t.Errorf("list lacks %s\n%s", want, list.Body[max(i-100, 0):min(i+300, len(list.Body))])
			}
		}
		p := b.get("/e/lead?cols=title&cols=custom.UF_CRM_CITY&cols=custom.UF_CRM_AREA&sort=-custom.UF_CRM_AREA")
		if !order(p.Body, "Бета", "Гамма", "Альфа") || !strings.Contains(p.Body, `<td data-label="Город">Тверь</td><td data-label="Площадь">100</td>`) || !strings.Contains(p.Body, `Площадь ▼</a>`) {
			t.Errorf("sort by a custom number, descending:\n%s", p.Body)
		}
		if p := b.get("/e/lead?cols=title&sort=custom.UF_CRM_CITY"); !order(p.Body, "Гамма", "Альфа", "Бета") {
			t.Error("sort by a custom string (the lead without a city first)")
		}
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"f.custom.UF_CRM_CITY=" + url.QueryEscape("Каз"), []string{"Альфа"}},
			{"f.custom.UF_CRM_AREA=12", []string{"Гамма"}},
			{"f.custom.UF_CRM_KIND=" + url.QueryEscape("Ремонт"), []string{"Бета"}},
			{"f.custom.UF_CRM_VIP=true", []string{"Альфа"}},
		} {
			p := b.get("/e/lead?cols=title&" + c.query)
			for _, tl := range []string{"Альфа", "Бета", "Гамма"} {
				if got, want := strings.Contains(p.Body, ">"+tl+"<"), slices.Contains(c.want, tl); got != want {
					t.Errorf("%s: %s shown %v", c.query, tl, got)
				}
			}
		}
		if p := b.get("/e/lead?f.custom.UF_CRM_AREA=много"); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "custom.UF_CRM_AREA") {
			t.Errorf("a bad number filter: %d", p.Status)
		}
		csv := b.get("/e/lead/export.csv?sort=title&cols=title&cols=custom.UF_CRM_CITY&cols=custom.UF_CRM_AREA&cols=custom.UF_CRM_VIP&sep=comma&decimal=point")
		if !strings.HasPrefix(csv.Body, "\xEF\xBB\xBF№,Название,Город,Площадь,VIP\n") ||
			!strings.Contains(csv.Body, ",Альфа,Казань,7.5,✓\n") || !strings.Contains(csv.Body, ",Гамма,,12,\n") {
			t.Fatalf("CSV with custom columns: %q", csv.Body)
		}
	})
}

// TestCalendarMove: the calendar offers every activity a labelled move
// form and drop targets; moving keeps the activity's length and comes
// back to the calendar shown; a bad date is refused, nothing written.
func TestCalendarMove(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		now := time.Now()
		start := time.Date(now.Year(), now.Month(), now.Day(), 10, 30, 0, 0, time.Local)
		end := start.Add(45 * time.Minute)
		a, err := s.CreateActivity(ctx, e.admin, crm.Activity{Kind: "meeting", Subject: "Встреча на объекте", StartAt: &start, EndAt: &end})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		id := strconv.FormatInt(a.ID, 10)
		day := start.Format(time.DateOnly)
		for _, view := range []string{"month", "week", "day"} {
			p := b.get("/calendar?view=" + view + "&date=" + day)
			for _, want := range []string{
				`id="ev-` + id + `" draggable="true" data-start="` + day + `T10:30"`,
				`action="/calendar/` + id + `/move"`, `<label for="mv-` + id + `">Новое начало</label>`,
				`<span class="sr">Перенести: Встреча на объекте</span>`, `class="cal-day cal-slot`, `data-date="` + day + `"`,
			} {
				if view == "day" && want == `class="cal-day cal-slot` {
					want = `<tr class="cal-slot" data-date="` + day + `" data-time="10:00"`
				}
				if !strings.Contains(p.Body, want) {
					t.Errorf("%s view lacks %s", view, want)
				}
			}
		}
		next := start.AddDate(0, 0, 1).Format(time.DateOnly)
		back := "/calendar?view=week&date=" + day + "&user=0"
		p := b.post("/calendar/"+id+"/move", url.Values{"start_at": {next + "T14:00"}, "back": {back}})
		if p.Status != http.StatusSeeOther || p.Location != back+"#ev-"+id {
			t.Fatalf("move: %d %q", p.Status, p.Location)
		}
		got, _ := s.GetActivity(ctx, a.ID)
		want := time.Date(start.Year(), start.Month(), start.Day()+1, 14, 0, 0, 0, time.Local)
		if got.StartAt == nil || !got.StartAt.Equal(want) || got.EndAt == nil || got.EndAt.Sub(*got.StartAt) != 45*time.Minute {
			t.Fatalf("after the move: %v – %v", got.StartAt, got.EndAt)
		}
		for _, bad := range []url.Values{{"start_at": {"завтра"}}, {"start_at": {""}}} {
			if p := b.post("/calendar/"+id+"/move", bad); p.Status != http.StatusUnprocessableEntity {
				t.Errorf("move to %q: %d", bad.Get("start_at"), p.Status)
			}
		}
		if again, _ := s.GetActivity(ctx, a.ID); !again.StartAt.Equal(want) {
			t.Error("a refused move wrote")
		}
		// Back only into the calendar.
		if p := b.post("/calendar/"+id+"/move", url.Values{"start_at": {next + "T15:00"}, "back": {"//evil.example/"}}); p.Location != "/calendar#ev-"+id {
			t.Errorf("back to %q", p.Location)
		}
		if p := b.do(http.MethodPost, "/calendar/"+id+"/move", url.Values{"start_at": {next + "T16:00"}}); p.Status != http.StatusForbidden {
			t.Errorf("move without CSRF: %d", p.Status)
		}
		if p := b.post("/calendar/999999/move", url.Values{"start_at": {next + "T16:00"}}); p.Status != http.StatusNotFound {
			t.Errorf("move a missing activity: %d", p.Status)
		}
	})
}
