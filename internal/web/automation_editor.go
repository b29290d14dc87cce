package web

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/store"
)

// The bundle editor: a server-rendered page (name, settings, the test
// panel, the help on template functions) around the chain — trigger,
// filters, steps — which static/automation.js builds from the bundle's
// definition, the actions' and triggers' descriptions (GET
// /api/v1/actions, /api/v1/triggers) and the boot data below. Saving,
// validation and test runs go to the REST API with the session's cookie
// and CSRF token.

type editorData struct {
	ID       int64
	Version  int
	Def      automation.Definition
	Template string // the gallery template the editor was opened from
	Boot     string // JSON for the script (editorBoot)
	Users    []crm.User
	// RunOptions are the recent runs, for the test panel.
	RunOptions []option
	Entities   []option
	Funcs      []tmplFunc
}

// editorBoot is what the script starts from.
type editorBoot struct {
	ID         int64                 `json:"id"`
	Lang       string                `json:"lang"`
	CSRF       string                `json:"csrf"`
	Definition automation.Definition `json:"definition"`
	WebhookURL string                `json:"webhook_url,omitempty"`
	// Entities a CRM trigger may name, the event actions and the
	// condition operators, each with its label.
	Entities     []named `json:"entities"`
	EventActions []named `json:"event_actions"`
	Ops          []named `json:"ops"`
	// Groups label the actions' groups in the step chooser.
	Groups map[string]string `json:"groups"`
	// RecordFields is each entity's record as the REST API gives it: the
	// value picker's trigger.record when no crm.<entity>.get action
	// describes it.
	RecordFields map[string][]automation.Field `json:"record_fields"`
	TimeZones    []string                      `json:"time_zones"`
	// Texts are the script's messages (auto.*) in the user's language.
	Texts map[string]string `json:"texts"`
}

type named struct {
	Name  string `json:"name"`
	Label string `json:"label"`
}

// tmplFunc is a template function in the editor's help.
type tmplFunc struct {
	Name, Example string
}

// tmplFuncs are the template functions with an example each; their
// descriptions are "auto.fn.<name>".
var tmplFuncs = []tmplFunc{
	{"default", `{{default(trigger.record.name, "клиент")}}`},
	{"upper", `{{upper(trigger.record.last_name)}}`},
	{"lower", `{{lower(trigger.record.emails[0].value)}}`},
	{"trim", `{{trim(trigger.record.title)}}`},
	{"replace", `{{replace(trigger.record.title, "Заявка", "Заказ")}}`},
	{"substr", `{{substr(trigger.record.comments, 0, 100)}}`},
	{"join", `{{join(trigger.body.tags, "; ")}}`},
	{"split", `{{split(trigger.body.tags, ",")}}`},
	{"phone", `{{phone(trigger.record.phones[0].value)}}`},
	{"digits", `{{digits(trigger.record.phones[0].value)}}`},
	{"date", `{{date(trigger.record.created_at, "DD.MM.YYYY")}}`},
	{"add_days", `{{date(add_days(now(), 3), "YYYY-MM-DD")}}`},
	{"add_hours", `{{add_hours(now(), 1)}}`},
	{"now", `{{now()}}`},
	{"number", `{{number(trigger.record.opportunity, 2)}}`},
	{"money", `{{money(trigger.record.opportunity, trigger.record.currency)}}`},
	{"num", `{{num(trigger.record.opportunity) * 2}}`},
	{"json", `{{json(trigger.record)}}`},
}

// condOps are the condition operators in the order the editor offers them.
var condOps = []string{"eq", "ne", "contains", "not_contains", "starts_with", "empty", "not_empty",
	"gt", "gte", "lt", "lte", "in", "not_in", "changed"}

// timeZones are offered for schedules: Russia's zones first.
var timeZones = []string{"Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk",
	"Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok", "Asia/Magadan",
	"Asia/Kamchatka", "Europe/Minsk", "Asia/Almaty", "Asia/Tashkent", "UTC"}

// recordShapes describe each entity's record from its Go type, as the
// REST API writes it.
var recordShapes = map[string][]automation.Field{
	store.EntityLead:       shapeOf[crm.Lead](),
	store.EntityContact:    shapeOf[crm.Contact](),
	store.EntityAccount:    shapeOf[crm.Account](),
	store.EntityDeal:       shapeOf[crm.Deal](),
	store.EntitySalesOrder: shapeOf[crm.SalesOrder](),
	store.EntityInvoice:    shapeOf[crm.Invoice](),
	store.EntityActivity:   shapeOf[crm.Activity](),
	store.EntityProduct:    shapeOf[crm.Product](),
	store.EntityService:    shapeOf[crm.Service](),
	store.EntityCatalog:    shapeOf[crm.Catalog](),
	store.EntityTicket:     shapeOf[crm.Ticket](),
}

// shapeOf is T's fields as automation describes an action's output.
func shapeOf[T any]() []automation.Field {
	return automation.Define(automation.Spec{Name: "shape"}, func(context.Context, *automation.Call, struct{}) (T, error) {
		var v T
		return v, nil
	}).Describe().Output
}

// labelShape names the fields of a record shape with the card's labels.
func labelShape(fs []automation.Field) []automation.Field {
	out := make([]automation.Field, len(fs))
	for i, f := range fs {
		f.Label = automation.Text{Ru: translate("ru", "f."+f.Name), En: translate("en", "f."+f.Name)}
		f.Fields = labelShape(f.Fields)
		if f.Item != nil {
			item := *f.Item
			item.Fields = labelShape(item.Fields)
			f.Item = &item
		}
		out[i] = f
	}
	return out
}

var labelledShapes = func() map[string][]automation.Field {
	out := map[string][]automation.Field{}
	for e, fs := range recordShapes {
		out[e] = labelShape(fs)
	}
	return out
}()

func (u *UI) autoEditorNew(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.autoAdmin(w, r, rq) {
		return
	}
	def := automation.Definition{Trigger: automation.TriggerSpec{Type: automation.TriggerCRMEvent, Entity: store.EntityLead,
		Actions: []string{"create"}}, Steps: []automation.Step{}}
	name := r.URL.Query().Get("template")
	if name != "" {
		ts := copyableTemplates()
		i := slices.IndexFunc(ts, func(t automation.Template) bool { return t.Name == name })
		if i < 0 {
			u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
			return
		}
		def = ts[i].Definition
	}
	u.showEditor(w, r, rq, editorData{Def: def, Template: name}, "")
}

func (u *UI) autoEditor(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.autoAdmin(w, r, rq) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	b, err := u.auto.Get(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	runs, err := u.auto.ListRuns(r.Context(), automation.RunQuery{BundleID: id, Limit: 20})
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d := editorData{ID: b.ID, Version: b.Version, Def: b.Definition}
	for _, run := range runs.Items {
		d.RunOptions = append(d.RunOptions, option{Value: strconv.FormatInt(run.ID, 10), Label: runOptionLabel(rq, run)})
	}
	u.showEditor(w, r, rq, d, b.WebhookURL)
}

func (u *UI) showEditor(w http.ResponseWriter, r *http.Request, rq *request, d editorData, hookURL string) {
	users, err := u.store.ListUsers(r.Context())
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	for _, x := range users {
		if x.Active || x.ID == d.Def.RunAs {
			d.Users = append(d.Users, x)
		}
	}
	if d.Def.Steps == nil {
		d.Def.Steps = []automation.Step{}
	}
	boot := editorBoot{ID: d.ID, Lang: rq.Lang, CSRF: rq.Sess.CSRF, Definition: d.Def, WebhookURL: hookURL,
		Groups: map[string]string{}, RecordFields: labelledShapes, TimeZones: timeZones, Texts: map[string]string{}}
	for _, e := range automation.CRMEntities {
		boot.Entities = append(boot.Entities, named{e, rq.T("e1." + e)})
		d.Entities = append(d.Entities, option{Value: e, Label: rq.T("e1." + e)})
	}
	for _, a := range automation.CRMEventActions {
		boot.EventActions = append(boot.EventActions, named{a, rq.T("auto.ev." + a)})
	}
	for _, op := range condOps {
		boot.Ops = append(boot.Ops, named{op, rq.T("auto.op." + op)})
	}
	for _, a := range u.auto.Registry().Actions() {
		// The group's label from the actions' message files ("group.crm"),
		// else ours, else its name.
		if s, ok := u.auto.Registry().Messages().Lookup(rq.Lang, "group."+a.Group); ok {
			boot.Groups[a.Group] = s
		} else if s := rq.T("auto.group." + a.Group); s != "auto.group."+a.Group {
			boot.Groups[a.Group] = s
		} else {
			boot.Groups[a.Group] = a.Group
		}
	}
	for _, lang := range []string{rq.Lang, i18n.Ru} {
		for _, k := range messages.Keys(lang) {
			if _, ok := boot.Texts[k]; !ok && strings.HasPrefix(k, "auto.") {
				boot.Texts[k] = translate(rq.Lang, k)
			}
		}
	}
	b, err := json.Marshal(boot)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d.Boot, d.Funcs = string(b), tmplFuncs
	title := rq.T("auto.new")
	if d.ID != 0 {
		title = d.Def.Name
	}
	u.render(w, r, rq, http.StatusOK, "automation_editor", title, "automation", d)
}

// autoCron answers the next times of a schedule as the editor types it:
// {"next": ["05.12.2026 09:00", …]} or {"error": "…"}.
func (u *UI) autoCron(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.autoAdmin(w, r, rq) {
		return
	}
	q := r.URL.Query()
	times, err := automation.NextFires(strings.TrimSpace(q.Get("cron")), strings.TrimSpace(q.Get("tz")), time.Now(), 3)
	if err != nil {
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"error": err.Error()})
		return
	}
	next := make([]string, len(times))
	for i, t := range times {
		next[i] = t.Format("02.01.2006 15:04 MST")
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"next": next})
}

// autoLastEvent finds the newest change event of an entity, with one of
// the actions when given: the test panel's "last event".
func (u *UI) autoLastEvent(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.autoAdmin(w, r, rq) {
		return
	}
	q := r.URL.Query()
	entity := q.Get("entity")
	if !slices.Contains(automation.CRMEntities, entity) {
		httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "bad_request", "entity", "%q is not a CRM entity", entity))
		return
	}
	actions := strings.FieldsFunc(q.Get("actions"), func(c rune) bool { return c == ',' })
	var before int64
	// The newest events first, a page at a time, until one matches.
	for range 20 {
		evs, err := u.store.Events(r.Context(), events.Query{Entity: entity, Newest: true, Before: before, Limit: 200})
		if err != nil {
			httpx.WriteError(w, httpx.Errorf(http.StatusInternalServerError, "internal", "", "%v", err))
			return
		}
		for _, ev := range evs {
			if len(actions) == 0 || slices.Contains(actions, ev.Action) {
				httpx.WriteJSON(w, http.StatusOK, map[string]any{"event_id": ev.ID, "record_id": ev.RecordID, "action": ev.Action,
					"at": ev.CreatedAt.In(rq.Loc).Format("02.01.2006 15:04")})
				return
			}
		}
		if len(evs) < 200 {
			break
		}
		before = evs[len(evs)-1].ID
	}
	httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "not_found", "", "%s", rq.T("auto.no_events")))
}

// runOptionLabel names a run in the test panel's list.
func runOptionLabel(rq *request, r automation.Run) string {
	s := "#" + strconv.FormatInt(r.ID, 10) + " · " + r.CreatedAt.In(rq.Loc).Format("02.01.2006 15:04") + " · " + rq.T("auto.st."+r.Status)
	if r.RecordID != 0 {
		s += " · " + rq.T("e1."+r.Entity) + " " + strconv.FormatInt(r.RecordID, 10)
	}
	return s
}
