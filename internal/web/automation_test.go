package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/automation/gallery"
	"github.com/obmen/obmen/internal/crm"
)

// manualBundle is an active bundle run by hand on leads: test.echo, then
// test.fail (continuing), unless steps are given.
func manualBundle(t testing.TB, e *env, name string, steps ...automation.Step) automation.Bundle {
	t.Helper()
	if steps == nil {
		steps = []automation.Step{
			{ID: "echo", Name: "Эхо", Action: "test.echo", Input: map[string]any{"text": "{{trigger.record.title}}"}},
			{ID: "boom", Action: "test.fail", OnError: "continue"},
		}
	}
	b, err := e.app.Automation.Create(context.Background(), e.admin, automation.Definition{Name: name, Active: true,
		Trigger: automation.TriggerSpec{Type: automation.TriggerManual, Entity: "lead"}, Steps: steps})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// upload posts a multipart form with one file and the page's CSRF token
// (none when csrf is false).
func (b *browser) upload(path, field, name string, content []byte, csrf bool) page {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf {
		_ = mw.WriteField("csrf", b.csrf)
	}
	fw, _ := mw.CreateFormFile(field, name)
	_, _ = fw.Write(content)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	bs, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, Body: string(bs), Location: resp.Header.Get("Location"), Header: resp.Header}
}

func countBundles(t testing.TB, e *env) int {
	t.Helper()
	bs, err := e.app.Automation.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(bs)
}

// TestAutomationBundlePages: the list (switch, copy, export, import,
// delete), the gallery, the editor's pages and its helpers, each form
// refused without the CSRF token, and every page closed to managers.
func TestAutomationBundlePages(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		addTestActions(t, e)
		startAutomation(t, e)
		ctx := context.Background()
		b := e.browser()
		b.signIn()
		if p := b.get("/"); !strings.Contains(p.Body, `href="/automation"`) {
			t.Fatal("no Automation menu entry for the admin")
		}
		if p := b.get("/automation"); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="no-bundles"`) || !strings.Contains(p.Body, "Новая связка") {
			t.Fatalf("empty list: %d", p.Status)
		}
		bun := manualBundle(t, e, "Звонок по лиду")
		id := strconv.FormatInt(bun.ID, 10)
		p := b.get("/automation")
		for _, want := range []string{"Звонок по лиду", "Вручную: Лид", `id="switch-` + id + `" aria-checked="true"`, `href="/automation/export?ids=` + id + `"`,
			`href="/automation/` + id + `"`, `action="/automation/` + id + `/delete"`} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("list lacks %s", want)
			}
		}

		// The switch, a plain form: refused without the token, then off.
		if p := b.do(http.MethodPost, "/automation/"+id+"/deactivate", url.Values{}); p.Status != http.StatusForbidden {
			t.Fatalf("switch without CSRF: %d", p.Status)
		}
		if got, _ := e.app.Automation.Get(ctx, bun.ID); !got.Active {
			t.Fatal("the refused switch switched the bundle off")
		}
		if p := b.post("/automation/"+id+"/deactivate", nil); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/automation?flash=") {
			t.Fatalf("switch off: %d %q", p.Status, p.Location)
		}
		if got, _ := e.app.Automation.Get(ctx, bun.ID); got.Active {
			t.Fatal("still on")
		}
		if p := b.get("/automation"); !strings.Contains(p.Body, `aria-checked="false"`) || !strings.Contains(p.Body, `action="/automation/`+id+`/activate"`) {
			t.Fatal("the list does not show the bundle off")
		}
		b.post("/automation/"+id+"/activate", nil)
		if got, _ := e.app.Automation.Get(ctx, bun.ID); !got.Active {
			t.Fatal("not on again")
		}

		// Copy: off, named "… (копия)", opened in the editor.
		p = b.post("/automation/"+id+"/copy", nil)
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/automation/") {
			t.Fatalf("copy: %d %q", p.Status, p.Location)
		}
		copyID, _ := strconv.ParseInt(strings.TrimPrefix(strings.SplitN(p.Location, "?", 2)[0], "/automation/"), 10, 64)
		if c, err := e.app.Automation.Get(ctx, copyID); err != nil || c.Active || c.Name != "Звонок по лиду (копия)" {
			t.Fatalf("copy %d: %+v %v", copyID, c.Definition, err)
		}
		if p := b.get(p.Location); p.Status != http.StatusOK || !strings.Contains(p.Body, "Звонок по лиду (копия)") || !strings.Contains(p.Body, "Копия создана") {
			t.Fatalf("copy in the editor: %d", p.Status)
		}

		// Export one and all; the file imports back.
		p = b.get("/automation/export?ids=" + id)
		var ex automation.Export
		if p.Status != http.StatusOK || json.Unmarshal([]byte(p.Body), &ex) != nil || ex.Obmen != automation.ExportFormat || len(ex.Bundles) != 1 ||
			!strings.Contains(p.Header.Get("Content-Disposition"), "obmen-bundle-"+id+".json") {
			t.Fatalf("export one: %d %s", p.Status, p.Body)
		}
		if p := b.get("/automation/export"); p.Status != http.StatusOK || json.Unmarshal([]byte(p.Body), &ex) != nil || len(ex.Bundles) != 2 {
			t.Fatalf("export all: %d", p.Status)
		}
		file, _ := json.Marshal(automation.Export{Obmen: automation.ExportFormat, Bundles: ex.Bundles[:1]})
		if p := b.upload("/automation/import", "file", "bundles.json", file, false); p.Status != http.StatusForbidden {
			t.Fatalf("import without CSRF: %d", p.Status)
		}
		if n := countBundles(t, e); n != 2 {
			t.Fatalf("the refused import made bundles: %d", n)
		}
		if p := b.upload("/automation/import", "file", "bundles.json", file, true); p.Status != http.StatusSeeOther || !strings.Contains(p.Location, "flash=") {
			t.Fatalf("import: %d %s", p.Status, errorsOf(p.Body))
		}
		if n := countBundles(t, e); n != 3 {
			t.Fatalf("after import %d bundles", n)
		}
		// A file that is not an export, and one whose bundle does not
		// compile: refused with the reason, nothing made.
		if p := b.upload("/automation/import", "file", "x.json", []byte("not json"), true); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="auto-problems"`) {
			t.Fatalf("import of junk: %d", p.Status)
		}
		bad, _ := json.Marshal([]automation.Definition{{Name: "Плохая", Trigger: automation.TriggerSpec{Type: "manual"},
			Steps: []automation.Step{{ID: "x", Action: "no.such.action"}}}})
		p = b.upload("/automation/import", "file", "bad.json", bad, true)
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "no.such.action") || !strings.Contains(p.Body, "Импорт не выполнен") {
			t.Fatalf("import of a bad bundle: %d %s", p.Status, p.Body)
		}
		if n := countBundles(t, e); n != 3 {
			t.Fatalf("the refused import made bundles: %d", n)
		}

		// The gallery and the editor's pages.
		p = b.get("/automation/templates")
		tpls, err := gallery.Copyable()
		if err != nil || len(tpls) != 5 {
			t.Fatalf("%d templates to copy: %v", len(tpls), err)
		}
		for _, tpl := range tpls {
			if !strings.Contains(p.Body, tpl.Title.Ru) || !strings.Contains(p.Body, `href="/automation/new?template=`+tpl.Name+`"`) {
				t.Errorf("gallery lacks %s", tpl.Name)
			}
		}
		p = b.get("/automation/new?template=webform-lead-contact-task")
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `value="Заявка с сайта → контакт и задача"`) || !strings.Contains(p.Body, `id="from-template"`) ||
			!strings.Contains(p.Body, "data-boot=") || !strings.Contains(p.Body, "/static/automation.js") {
			t.Fatalf("editor from a template: %d", p.Status)
		}
		if n := countBundles(t, e); n != 3 {
			t.Fatal("opening a template saved a bundle")
		}
		if p := b.get("/automation/new?template=nope"); p.Status != http.StatusNotFound {
			t.Fatalf("unknown template: %d", p.Status)
		}
		if p := b.get("/automation/new"); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="b-name"`) || !strings.Contains(p.Body, `id="test-panel"`) {
			t.Fatalf("new bundle: %d", p.Status)
		}
		p = b.get("/automation/" + id)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `value="Звонок по лиду"`) || !strings.Contains(p.Body, "версия 1") ||
			!strings.Contains(p.Body, `&#34;action&#34;:&#34;test.echo&#34;`) {
			t.Fatalf("editor of a bundle: %d", p.Status)
		}
		if p := b.get("/automation/99999"); p.Status != http.StatusNotFound {
			t.Fatalf("editor of a missing bundle: %d", p.Status)
		}
		// The editor's helpers: a schedule's next times, the last event.
		p = b.get("/automation/cron?cron=" + url.QueryEscape("0 9 * * 1-5") + "&tz=Europe/Moscow")
		var cr struct {
			Next  []string `json:"next"`
			Error string   `json:"error"`
		}
		if json.Unmarshal([]byte(p.Body), &cr) != nil || len(cr.Next) != 3 || !strings.Contains(cr.Next[0], "09:00") {
			t.Fatalf("cron: %s", p.Body)
		}
		if p := b.get("/automation/cron?cron=61+*+*+*+*"); json.Unmarshal([]byte(p.Body), &cr) != nil || cr.Error == "" {
			t.Fatalf("bad cron: %s", p.Body)
		}
		if p := b.get("/automation/last-event?entity=lead"); p.Status != http.StatusNotFound {
			t.Fatalf("last event with none: %d %s", p.Status, p.Body)
		}
		l, err := e.app.Store.CreateLead(ctx, e.admin, crm.Lead{Title: "Событие"})
		if err != nil {
			t.Fatal(err)
		}
		var le struct {
			EventID  int64 `json:"event_id"`
			RecordID int64 `json:"record_id"`
		}
		if p := b.get("/automation/last-event?entity=lead&actions=create"); p.Status != http.StatusOK || json.Unmarshal([]byte(p.Body), &le) != nil || le.RecordID != l.ID || le.EventID == 0 {
			t.Fatalf("last event: %d %s", p.Status, p.Body)
		}
		if p := b.get("/automation/last-event?entity=lead&actions=delete"); p.Status != http.StatusNotFound {
			t.Fatalf("last delete event: %d", p.Status)
		}
		if p := b.get("/automation/last-event?entity=nope"); p.Status != http.StatusBadRequest {
			t.Fatalf("last event of no entity: %d", p.Status)
		}

		// A secret stays out of the editor's page and the export.
		sec, err := e.app.Automation.Create(ctx, e.admin, automation.Definition{Name: "С секретом", Trigger: automation.TriggerSpec{Type: automation.TriggerWebhook},
			Steps: []automation.Step{{ID: "s", Action: "test.echo", Input: map[string]any{"text": "x", "token": "s3cret-token"}}}})
		if err != nil {
			t.Fatal(err)
		}
		sid := strconv.FormatInt(sec.ID, 10)
		for _, path := range []string{"/automation/" + sid, "/automation/export?ids=" + sid, "/automation/export"} {
			if p := b.get(path); p.Status != http.StatusOK || strings.Contains(p.Body, "s3cret-token") || !strings.Contains(p.Body, automation.Mask) {
				t.Errorf("%s: %d, the secret shown or no mask", path, p.Status)
			}
		}
		if p := b.get("/automation/" + sid); !strings.Contains(p.Body, `/hooks/`) {
			t.Error("the webhook bundle's editor has no URL")
		}
		b.post("/automation/"+sid+"/delete", nil)

		// Delete: refused without the token, then gone with its runs.
		if p := b.do(http.MethodPost, "/automation/"+id+"/delete", url.Values{}); p.Status != http.StatusForbidden {
			t.Fatalf("delete without CSRF: %d", p.Status)
		}
		if p := b.post("/automation/"+id+"/delete", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("delete: %d", p.Status)
		}
		if _, err := e.app.Automation.Get(ctx, bun.ID); err == nil {
			t.Fatal("deleted bundle still there")
		}
		if p := b.post("/automation/"+id+"/activate", nil); p.Status != http.StatusNotFound {
			t.Fatalf("switch of a deleted bundle: %d", p.Status)
		}

		// A manager: no menu entry, 403 everywhere.
		if _, err := e.app.Store.CreateUser(ctx, e.admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1"); err != nil {
			t.Fatal(err)
		}
		m := e.browser()
		if p := m.login(url.Values{"login": {"anna"}, "password": {"anna-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("manager sign in: %d", p.Status)
		}
		if p := m.get("/"); strings.Contains(p.Body, `href="/automation"`) {
			t.Error("a manager sees the Automation menu entry")
		}
		cid := strconv.FormatInt(copyID, 10)
		for _, path := range []string{"/automation", "/automation/templates", "/automation/new", "/automation/" + cid, "/automation/runs",
			"/automation/export", "/automation/cron?cron=@daily", "/automation/last-event?entity=lead", "/automation/" + cid + "/versions/1"} {
			if p := m.get(path); p.Status != http.StatusForbidden {
				t.Errorf("manager GET %s: %d", path, p.Status)
			}
		}
		for _, path := range []string{"/automation/" + cid + "/activate", "/automation/" + cid + "/copy", "/automation/" + cid + "/delete"} {
			if p := m.post(path, nil); p.Status != http.StatusForbidden {
				t.Errorf("manager POST %s: %d", path, p.Status)
			}
		}
		if p := m.upload("/automation/import", "file", "bundles.json", file, true); p.Status != http.StatusForbidden {
			t.Errorf("manager import: %d", p.Status)
		}
		if n := countBundles(t, e); n != 2 {
			t.Fatalf("the manager's posts changed the bundles: %d", n)
		}
	})
}

// TestAutomationRunPages: runs started from a card, the journal with its
// filters and pages, a run's page with its steps, trace and version, and
// Replay, Retry and Cancel.
func TestAutomationRunPages(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		addTestActions(t, e)
		release := make(chan struct{})
		e.app.Automation.Registry().MustAdd(automation.Define(automation.Spec{Name: "test.block", Group: "test"},
			func(ctx context.Context, _ *automation.Call, _ struct{}) (echoOut, error) {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return echoOut{ID: 1}, nil
			}))
		defer func() {
			select {
			case <-release:
			default:
				close(release)
			}
		}()
		startAutomation(t, e)
		ctx := context.Background()
		l, err := e.app.Store.CreateLead(ctx, e.admin, crm.Lead{Title: "Кирпич <оптом>"})
		if err != nil {
			t.Fatal(err)
		}
		bun := manualBundle(t, e, "Эхо и сбой")
		b := e.browser()
		b.signIn()
		card := "/e/lead/" + strconv.FormatInt(l.ID, 10)
		p := b.get(card)
		if !strings.Contains(p.Body, `id="run-menu"`) || !strings.Contains(p.Body, `action="`+card+`/run/`+strconv.FormatInt(bun.ID, 10)+`"`) {
			t.Fatal("the card has no Run menu with the bundle")
		}
		if p := b.do(http.MethodPost, card+"/run/"+strconv.FormatInt(bun.ID, 10), url.Values{}); p.Status != http.StatusForbidden {
			t.Fatalf("run without CSRF: %d", p.Status)
		}
		p = b.post(card+"/run/"+strconv.FormatInt(bun.ID, 10), nil)
		if p.Status != http.StatusSeeOther || !strings.Contains(p.Location, "run=") || !strings.Contains(p.Location, "flash=") {
			t.Fatalf("run from the card: %d %q %s", p.Status, p.Location, errorsOf(p.Body))
		}
		loc, _ := url.Parse(p.Location)
		runID, _ := strconv.ParseInt(loc.Query().Get("run"), 10, 64)
		run := waitRun(t, e, runID)
		if run.Status != automation.StatusOK || len(run.Steps) != 2 {
			t.Fatalf("run: %s, %d steps", run.Status, len(run.Steps))
		}
		rid := strconv.FormatInt(runID, 10)
		p = b.get(p.Location)
		for _, want := range []string{"Запущено", `href="/automation/runs/` + rid + `"`, `id="card-runs"`, "Эхо и сбой"} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("card after the run lacks %s", want)
			}
		}

		// The run's page: steps with their input and output, the failed
		// step's error, the version it ran.
		p = b.get("/automation/runs/" + rid)
		for _, want := range []string{"Запуск № " + rid, "успешно", "Эхо", "it failed on purpose", "Кирпич &lt;оптом&gt;", `id="run-replay"`,
			`href="/automation/` + strconv.FormatInt(bun.ID, 10) + `/versions/1"`, `href="` + card + `"`} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("run page lacks %s", want)
			}
		}
		if strings.Contains(mainOf(p.Body), "hx-trigger") || strings.Contains(p.Body, `id="run-cancel"`) || strings.Contains(p.Body, `id="run-retry"`) {
			t.Error("a finished run's page polls or offers cancel/retry")
		}
		if p := b.get("/automation/" + strconv.FormatInt(bun.ID, 10) + "/versions/1"); p.Status != http.StatusOK || !strings.Contains(p.Body, "test.echo") {
			t.Fatalf("version page: %d", p.Status)
		}
		if p := b.get("/automation/runs/99999"); p.Status != http.StatusNotFound {
			t.Fatalf("missing run: %d", p.Status)
		}

		// Replay makes a new run; retrying or cancelling a finished OK run
		// is refused with the reason.
		if p := b.do(http.MethodPost, "/automation/runs/"+rid+"/replay", url.Values{}); p.Status != http.StatusForbidden {
			t.Fatalf("replay without CSRF: %d", p.Status)
		}
		p = b.post("/automation/runs/"+rid+"/replay", nil)
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/automation/runs/") || strings.HasPrefix(p.Location, "/automation/runs/"+rid+"?") {
			t.Fatalf("replay: %d %q", p.Status, p.Location)
		}
		replayID, _ := strconv.ParseInt(strings.TrimPrefix(strings.SplitN(p.Location, "?", 2)[0], "/automation/runs/"), 10, 64)
		if r := waitRun(t, e, replayID); r.ReplayOf != runID || r.Status != automation.StatusOK {
			t.Fatalf("replayed run: %+v", r)
		}
		if p := b.post("/automation/runs/"+rid+"/retry", nil); p.Status != http.StatusConflict {
			t.Fatalf("retry of an OK run: %d", p.Status)
		}
		if p := b.post("/automation/runs/"+rid+"/cancel", nil); p.Status != http.StatusConflict {
			t.Fatalf("cancel of a finished run: %d", p.Status)
		}

		// A failed run: Retry continues it from the failed step.
		failing := manualBundle(t, e, "Сбой", automation.Step{ID: "boom", Action: "test.fail"})
		fr, err := e.app.Automation.RunManual(ctx, crm.User{ID: e.admin.UserID, Role: crm.RoleAdmin}, failing.ID, "lead", l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r := waitRun(t, e, fr.ID); r.Status != automation.StatusError || r.ErrorStep != "boom" {
			t.Fatalf("failing run: %s %q", r.Status, r.ErrorStep)
		}
		frid := strconv.FormatInt(fr.ID, 10)
		if p := b.get("/automation/runs/" + frid); !strings.Contains(p.Body, `id="run-retry"`) || !strings.Contains(p.Body, `id="run-error"`) {
			t.Fatal("a failed run's page offers no retry or shows no error")
		}
		if p := b.post("/automation/runs/"+frid+"/retry", nil); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/automation/runs/"+frid+"?") {
			t.Fatalf("retry: %d %q", p.Status, p.Location)
		}
		if r := waitRun(t, e, fr.ID); r.Status != automation.StatusError || len(r.Steps) != 2 {
			t.Fatalf("retried run: %s with %d attempts", r.Status, len(r.Steps))
		}

		// A run in flight: its page polls itself (htmx), the fragment
		// alone when htmx asks, and Cancel stops it.
		blocking := manualBundle(t, e, "Долгая", automation.Step{ID: "wait", Action: "test.block"}, automation.Step{ID: "after", Action: "test.echo",
			Input: map[string]any{"text": "после"}})
		br, err := e.app.Automation.RunManual(ctx, crm.User{ID: e.admin.UserID, Role: crm.RoleAdmin}, blocking.ID, "lead", l.ID)
		if err != nil {
			t.Fatal(err)
		}
		brid := strconv.FormatInt(br.ID, 10)
		p = b.get("/automation/runs/" + brid)
		if !strings.Contains(p.Body, `hx-get="/automation/runs/`+brid+`" hx-trigger="every 2s"`) || !strings.Contains(p.Body, `id="run-cancel"`) {
			t.Fatalf("a run in flight does not poll: %s", p.Body)
		}
		if f := b.htmxGet("/automation/runs/" + brid); !strings.HasPrefix(strings.TrimSpace(f.Body), `<div id="run-live"`) {
			t.Fatalf("htmx poll answers %q…", f.Body[:min(len(f.Body), 80)])
		}
		if p := b.post("/automation/runs/"+brid+"/cancel", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("cancel: %d %s", p.Status, errorsOf(p.Body))
		}
		close(release)
		if r := waitRun(t, e, br.ID); r.Status != automation.StatusCancelled {
			t.Fatalf("cancelled run: %s", r.Status)
		}
		if p := b.get("/automation/runs/" + brid); strings.Contains(mainOf(p.Body), "hx-trigger") || !strings.Contains(p.Body, "отменён") {
			t.Fatal("a cancelled run's page still polls")
		}

		// Every form of the section is refused without the CSRF token and
		// changes nothing.
		before, _ := e.app.Automation.ListRuns(ctx, automation.RunQuery{Limit: 500})
		bid := strconv.FormatInt(bun.ID, 10)
		for _, path := range []string{"/automation/" + bid + "/activate", "/automation/" + bid + "/deactivate", "/automation/" + bid + "/copy",
			"/automation/" + bid + "/delete", "/automation/import", "/automation/runs/" + rid + "/replay", "/automation/runs/" + frid + "/retry",
			"/automation/runs/" + rid + "/cancel", card + "/run/" + bid} {
			if p := b.do(http.MethodPost, path, url.Values{"csrf": {"0123456789abcdef0123456789abcdef"}}); p.Status != http.StatusForbidden {
				t.Errorf("POST %s with a wrong token: %d", path, p.Status)
			}
		}
		after, _ := e.app.Automation.ListRuns(ctx, automation.RunQuery{Limit: 500})
		if got, _ := e.app.Automation.Get(ctx, bun.ID); len(after.Items) != len(before.Items) || !got.Active || countBundles(t, e) != 3 {
			t.Fatalf("refused posts changed something: runs %d → %d, active %v, %d bundles", len(before.Items), len(after.Items), got.Active, countBundles(t, e))
		}

		// The journal: every run, filters, the per-bundle view.
		p = b.get("/automation/runs")
		for _, want := range []string{`id="run-` + rid + `"`, `id="run-` + frid + `"`, `id="run-` + brid + `"`, "st-error", "st-ok", "st-cancelled",
			`<code>boom</code>`, fmt.Sprintf("повтор запуска %d", runID)} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("journal lacks %s", want)
			}
		}
		p = b.get("/automation/runs?status=error")
		if !strings.Contains(p.Body, `id="run-`+frid+`"`) || strings.Contains(p.Body, `id="run-`+rid+`"`) {
			t.Error("status filter")
		}
		p = b.get("/automation/runs?bundle=" + strconv.FormatInt(bun.ID, 10))
		if !strings.Contains(p.Body, "Журнал: Эхо и сбой") || !strings.Contains(p.Body, `id="run-`+rid+`"`) || strings.Contains(p.Body, `id="run-`+frid+`"`) {
			t.Error("bundle filter")
		}
		if p := b.get("/automation/runs?entity=lead&record=" + strconv.FormatInt(l.ID+1000, 10)); !strings.Contains(p.Body, `id="no-runs"`) {
			t.Error("record filter")
		}
		if p := b.get("/automation"); !strings.Contains(p.Body, `href="/automation/runs?bundle=`+strconv.FormatInt(failing.ID, 10)+`&amp;status=error"`) {
			t.Error("the list does not link the errors of 24 h to the journal")
		}
		// Pages: 50 a page, "older" goes on with before=.
		for range 50 {
			if _, err := e.app.Automation.RunManual(ctx, crm.User{ID: e.admin.UserID, Role: crm.RoleAdmin}, bun.ID, "lead", l.ID); err != nil {
				t.Fatal(err)
			}
		}
		p = b.get("/automation/runs?bundle=" + strconv.FormatInt(bun.ID, 10))
		m := regexp.MustCompile(`href="([^"]+)" id="runs-next"`).FindStringSubmatch(p.Body)
		if n := strings.Count(p.Body, `<tr id="run-`); n != 50 || m == nil {
			t.Fatalf("first page: %d rows, next link %v", n, m)
		}
		next := html.UnescapeString(m[1])
		if !strings.Contains(next, "before=") || !strings.Contains(next, "bundle=") {
			t.Fatalf("next page link %q", next)
		}
		if p := b.get(next); strings.Count(p.Body, `<tr id="run-`) != 2 || !strings.Contains(p.Body, `id="run-`+rid+`"`) {
			t.Fatalf("second page %s: %d rows", next, strings.Count(p.Body, `<tr id="run-`))
		}
	})
}

// TestManualRunFromCardAsManager: a manager runs a manual bundle from the
// card of a record they see, gets no link to the journal, and cannot run
// one on a record they do not see.
func TestManualRunFromCardAsManager(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		addTestActions(t, e)
		startAutomation(t, e)
		ctx := context.Background()
		s := e.app.Store
		anna, err := s.CreateUser(ctx, e.admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		mine, err := s.CreateLead(ctx, e.admin, crm.Lead{Title: "Лид Анны", Meta: crm.Meta{AssignedByID: anna.ID}})
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := s.CreateLead(ctx, e.admin, crm.Lead{Title: "Чужой лид"})
		if err != nil {
			t.Fatal(err)
		}
		bun := manualBundle(t, e, "Позвонить клиенту")
		off := manualBundle(t, e, "Выключенная")
		if _, err := e.app.Automation.SetActive(ctx, e.admin, off.ID, false); err != nil {
			t.Fatal(err)
		}
		forContacts, err := e.app.Automation.Create(ctx, e.admin, automation.Definition{Name: "Для контактов", Active: true,
			Trigger: automation.TriggerSpec{Type: automation.TriggerManual, Entity: "contact"},
			Steps:   []automation.Step{{ID: "echo", Action: "test.echo", Input: map[string]any{"text": "x"}}}})
		if err != nil {
			t.Fatal(err)
		}
		m := e.browser()
		if p := m.login(url.Values{"login": {"anna"}, "password": {"anna-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("sign in: %d", p.Status)
		}
		card := "/e/lead/" + strconv.FormatInt(mine.ID, 10)
		p := m.get(card)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "Позвонить клиенту") || strings.Contains(p.Body, "Выключенная") ||
			strings.Contains(p.Body, "Для контактов") || strings.Contains(p.Body, `id="card-runs"`) {
			t.Fatalf("manager's card: %d, menu or runs wrong", p.Status)
		}
		runPath := func(lead int64, bundle int64) string {
			return "/e/lead/" + strconv.FormatInt(lead, 10) + "/run/" + strconv.FormatInt(bundle, 10)
		}
		p = m.post(runPath(mine.ID, bun.ID), nil)
		if p.Status != http.StatusSeeOther || strings.Contains(p.Location, "run=") || !strings.Contains(p.Location, "flash=") {
			t.Fatalf("manager's run: %d %q %s", p.Status, p.Location, errorsOf(p.Body))
		}
		runs, err := e.app.Automation.ListRuns(ctx, automation.RunQuery{BundleID: bun.ID})
		if err != nil || len(runs.Items) != 1 {
			t.Fatalf("runs after the manager's: %+v %v", runs.Items, err)
		}
		if r := waitRun(t, e, runs.Items[0].ID); r.Status != automation.StatusOK || r.RecordID != mine.ID {
			t.Fatalf("manager's run: %+v", r)
		}
		if p := m.get(p.Location); !strings.Contains(p.Body, "Запущено") || strings.Contains(p.Body, `id="run-started"`) {
			t.Error("the manager's card after the run: no flash, or a journal link")
		}
		// A record the manager does not see: neither its card nor a run.
		if p := m.get("/e/lead/" + strconv.FormatInt(theirs.ID, 10)); p.Status != http.StatusNotFound && p.Status != http.StatusForbidden {
			t.Fatalf("someone else's card: %d", p.Status)
		}
		if p := m.post(runPath(theirs.ID, bun.ID), nil); p.Status != http.StatusNotFound && p.Status != http.StatusForbidden {
			t.Fatalf("run on someone else's lead: %d", p.Status)
		}
		// A switched-off bundle, one for another entity, one that is not
		// there: refused, with the reason.
		if p := m.post(runPath(mine.ID, off.ID), nil); p.Status != http.StatusConflict {
			t.Errorf("run of a switched-off bundle: %d", p.Status)
		}
		if p := m.post(runPath(mine.ID, forContacts.ID), nil); p.Status != http.StatusUnprocessableEntity {
			t.Errorf("run of a contact bundle on a lead: %d", p.Status)
		}
		if p := m.post(runPath(mine.ID, 99999), nil); p.Status != http.StatusNotFound {
			t.Errorf("run of no bundle: %d", p.Status)
		}
		if runs, _ := e.app.Automation.ListRuns(ctx, automation.RunQuery{}); len(runs.Items) != 1 {
			t.Fatalf("refused runs made runs: %d", len(runs.Items))
		}
		// The manager's run, in the journal the admin reads.
		a := e.browser()
		a.signIn()
		if p := a.get("/automation/runs/" + strconv.FormatInt(runs.Items[0].ID, 10)); p.Status != http.StatusOK || !strings.Contains(p.Body, "Лид Анны") {
			t.Fatalf("the manager's run for the admin: %d", p.Status)
		}
	})
}

// mainOf is a page's <main>: the header's bell polls on every page.
func mainOf(body string) string {
	if i := strings.Index(body, "<main"); i >= 0 {
		return body[i:]
	}
	return body
}
