package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/store/storetest"
)

// registerTestCRM registers a connection type "testcrm" and its trigger
// "testcrm.call", polled and pushed, with two options of its own.
func registerTestCRM(t *testing.T, e *env) {
	t.Helper()
	if err := e.app.Connections.Registry().Add(connection.Type{Name: "testcrm", Fields: []connection.Field{{Name: "secret", Type: connection.String, Secret: true}},
		Check: func(context.Context, connection.Settings) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	err := e.app.Automation.Registry().AddTrigger(automation.TriggerKind{Type: "testcrm.call", Group: "test", Connection: "testcrm", Every: 5 * time.Minute,
		Data:    []automation.Field{{Name: "call_id", Type: "string"}},
		Options: []automation.Field{{Name: "direction", Type: "string", Enum: []string{"in", "out"}}, {Name: "target_only", Type: "boolean"}},
		Poll: func(context.Context, *automation.Bundle, string) ([]automation.Item, string, error) {
			return nil, "", nil
		},
		Push: func(ctx context.Context, req *automation.PushRequest) ([]automation.Item, error) {
			var body struct {
				ID   string `json:"id"`
				Sign string `json:"sign"`
			}
			if err := json.Unmarshal(req.Body, &body); err != nil {
				return nil, err
			}
			if body.Sign != req.Settings["secret"] {
				return nil, errors.New("sign: does not match")
			}
			return []automation.Item{{Key: body.ID, Data: map[string]any{"call_id": body.ID}}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
}

// A connector's trigger in the bundle editor: choosing it shows the
// select of the saved connections of its type (the steps' picker) and its
// options as fields (the steps' field editors, the interval with the
// kind's default); a too short interval is shown at its field; the saved
// definition has the connection and the typed options. The connection's
// page makes its hook URL, shown once, which takes a push.
func TestBrowserConnectorTrigger(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	registerTestCRM(t, e)
	startAutomation(t, e)
	bg := context.Background()
	one, err := e.app.Connections.Create(bg, e.admin.UserID, connection.Input{Type: "testcrm", Name: "CRM один", Settings: map[string]any{"secret": "s1"}})
	if err != nil {
		t.Fatal(err)
	}
	two, err := e.app.Connections.Create(bg, e.admin.UserID, connection.Input{Type: "testcrm", Name: "CRM два", Settings: map[string]any{"secret": "s2"}})
	if err != nil {
		t.Fatal(err)
	}
	saveSMTP(t, e, "Яндекс")
	b, err := e.app.Automation.Create(bg, e.admin, automation.Definition{Name: "Звонки",
		Trigger: automation.TriggerSpec{Type: automation.TriggerManual, Entity: "lead"},
		Steps:   []automation.Step{{ID: "mail", Action: "email.send", Input: map[string]any{"to": "a@example.ru", "subject": "звонок", "body": "{{trigger.call_id}}"}}}})
	if err != nil {
		t.Fatal(err)
	}
	bs := newBrowserSession(t, e)
	bs.run("editor", chromedp.Navigate(e.srv.URL+"/automation/"+strconv.FormatInt(b.ID, 10)),
		chromedp.WaitVisible(chromedp.CSS(`select[data-path="trigger.type"]`)))
	bs.setSelect(`select[data-path="trigger.type"]`, "testcrm.call")
	conn := `#node-trigger select[data-path="trigger.connection"]`
	bs.waitJS("the connection select", `document.querySelector(`+strconv.Quote(conn)+`) !== null`)
	got := bs.eval(`(function(){
		const s = document.querySelector(` + strconv.Quote(conn) + `);
		const label = document.querySelector('label[for="' + s.id + '"]');
		return [label && label.textContent, Array.from(s.options).map(o => o.value + "=" + o.textContent).join("|"),
			s.closest(".field").querySelector("a.conn-new").getAttribute("href")].join(" ; ");
	})()`)
	id1, id2 := strconv.FormatInt(one.ID, 10), strconv.FormatInt(two.ID, 10)
	// By name: "CRM два" before "CRM один"; the SMTP one is not offered.
	if want := "Подключение ; =— не выбрано —|" + id2 + "=CRM два (№ " + id2 + ")|" + id1 + "=CRM один (№ " + id1 + ") ; /admin/connections/new?type=testcrm"; got != want {
		t.Fatalf("the trigger's connection select:\n%s\nwant\n%s", got, want)
	}
	bs.settled()
	if got := bs.eval(`document.getElementById("auto-problems").innerText`); !strings.Contains(got, "выберите сохранённое подключение (testcrm)") {
		t.Fatalf("no connection chosen, the problems say %q", got)
	}
	bs.setSelect(conn, id2)
	opts := `#node-trigger fieldset.trigger-options`
	got = bs.eval(`(function(){
		const fs = document.querySelector(` + strconv.Quote(opts) + `);
		if (!fs) return "no options";
		return Array.from(fs.querySelectorAll("[data-path]")).map(c => c.dataset.path + ":" + c.tagName.toLowerCase() + ":" +
			(document.querySelector('label[for="' + c.id + '"]') || {}).textContent).join("|") + " ; " + fs.innerText.includes("По умолчанию — раз в 300 с");
	})()`)
	if want := "trigger.options.direction:input:Направление|trigger.options.target_only:select:target only|trigger.options.interval:input:Интервал опроса, с ; true"; got != want {
		t.Fatalf("the trigger's options:\n%s\nwant\n%s", got, want)
	}
	interval := opts + ` input[data-path="trigger.options.interval"]`
	bs.run("a short interval", chromedp.SendKeys(chromedp.CSS(interval), "5"))
	bs.settled()
	bs.waitJS("the interval's problem", `document.querySelector(`+strconv.Quote(interval)+`).getAttribute("aria-invalid") === "true"`)
	if got := bs.eval(`document.getElementById("auto-problems").innerText`); !strings.Contains(got, "не меньше 10 с") {
		t.Fatalf("the problems say %q", got)
	}
	bs.run("a good interval", chromedp.SendKeys(chromedp.CSS(interval), "00"),
		chromedp.SendKeys(chromedp.CSS(opts+` input[data-path="trigger.options.direction"]`), "in"))
	bs.setSelect(opts+` select[data-path="trigger.options.target_only"]`, "true")
	bs.labelled("the editor with a connector trigger")
	bs.settled()
	bs.waitJS("no problems", `document.getElementById("auto-status").textContent === "Ошибок нет"`)
	bs.center(`#auto-save`)
	bs.run("save", chromedp.Click(chromedp.CSS(`#auto-save`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	bs.waitJS("saved", `document.getElementById("bundle-version") && document.getElementById("bundle-version").textContent.includes("2")`)
	nb, err := e.app.Automation.Get(bg, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := automation.TriggerSpec{Type: "testcrm.call", Connection: two.ID, Options: map[string]any{"interval": float64(500), "direction": "in", "target_only": true}}
	if tr := nb.Definition.Trigger; !reflect.DeepEqual(tr, want) {
		t.Fatalf("saved trigger %#v, want %#v", tr, want)
	}

	// The connection's hook URL: made on its page, shown once, it takes
	// a push that becomes a run of the bundle.
	if _, err := e.app.Automation.SetActive(bg, e.admin, b.ID, true); err != nil {
		t.Fatal(err)
	}
	bs.run("connection page", chromedp.Navigate(e.srv.URL+"/admin/connections/"+id2), chromedp.WaitVisible(chromedp.CSS(`#connection-hook-form button`)),
		chromedp.Click(chromedp.CSS(`#connection-hook-form button`)), chromedp.WaitVisible(chromedp.CSS(`#connection-hook-url`)))
	// The URL is on the configured public address; the test's server is
	// on another port.
	url := bs.eval(`document.getElementById("connection-hook-url").textContent`)
	_, token, ok := strings.Cut(url, "/hooks/c/")
	if !ok || len(token) < 30 {
		t.Fatalf("hook URL %q", url)
	}
	res, err := http.Post(e.srv.URL+"/hooks/c/"+token, "application/json", strings.NewReader(`{"id": "call-1", "sign": "s2"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("push: %d", res.StatusCode)
	}
	runs, err := e.app.Automation.ListRuns(bg, automation.RunQuery{BundleID: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs.Items) != 1 || runs.Items[0].TriggerKey != "poll:call-1" {
		t.Fatalf("runs after the push: %+v", runs.Items)
	}
	bs.run("the page again", chromedp.Navigate(e.srv.URL+"/admin/connections/"+id2), chromedp.WaitVisible(chromedp.CSS(`#connection-hook-at`)))
	if strings.Contains(bs.eval(`document.body.innerHTML`), token) {
		t.Fatal("the hook URL is shown again")
	}
}
