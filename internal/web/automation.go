package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/automation/gallery"
)

// The Automation section (admins only): the list of bundles with their
// switches and last runs, the gallery of templates, the editor
// (automation_editor.go), the journal of runs (automation_runs.go); and
// on record cards the Run menu of manual bundles and the record's runs
// (automation_card.go).

// SetAutomation gives the UI the bundles' service.
func (u *UI) SetAutomation(s *automation.Service) { u.auto = s }

func (u *UI) registerAutomation(mux *http.ServeMux) {
	u.handle(mux, "GET /automation", u.autoList)
	u.handle(mux, "GET /automation/templates", u.autoTemplates)
	u.handle(mux, "GET /automation/templates/{name}", u.galleryForm)
	u.handle(mux, "POST /automation/templates/{name}", u.galleryInstall)
	u.handle(mux, "GET /automation/new", u.autoEditorNew)
	u.handle(mux, "GET /automation/export", u.autoExport)
	u.handle(mux, "POST /automation/import", u.autoImport)
	u.handle(mux, "GET /automation/cron", u.autoCron)
	u.handle(mux, "GET /automation/last-event", u.autoLastEvent)
	u.handle(mux, "GET /automation/runs", u.autoRuns)
	u.handle(mux, "GET /automation/calls", u.autoCalls)
	u.handle(mux, "GET /automation/runs/{id}", u.autoRun)
	u.handle(mux, "POST /automation/runs/{id}/{action}", u.autoRunAction)
	u.handle(mux, "GET /automation/{id}", u.autoEditor)
	u.handle(mux, "GET /automation/{id}/versions/{version}", u.autoVersion)
	u.handle(mux, "POST /automation/{id}/{action}", u.autoAction)
	u.handle(mux, "POST /e/{entity}/{id}/run/{bundle}", u.runManual)
}

// autoAdmin lets an administrator through when the service is there.
func (u *UI) autoAdmin(w http.ResponseWriter, r *http.Request, rq *request) bool {
	if u.auto == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return false
	}
	return u.allow(w, r, rq, authz.Automation)
}

// bundleRow is a bundle in the list.
type bundleRow struct {
	automation.Bundle
	TriggerText string
}

type autoListData struct {
	Bundles []bundleRow
	// Problems of a refused import or switch, one line each.
	Problems []string
}

func (u *UI) autoList(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.autoAdmin(w, r, rq) {
		return
	}
	u.showAutoList(w, r, rq, http.StatusOK, nil)
}

func (u *UI) showAutoList(w http.ResponseWriter, r *http.Request, rq *request, status int, problems []string) {
	bs, err := u.auto.List(r.Context())
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d := autoListData{Problems: problems}
	for _, b := range bs {
		d.Bundles = append(d.Bundles, bundleRow{Bundle: b, TriggerText: u.triggerText(rq, b.Trigger)})
	}
	u.render(w, r, rq, status, "automation", rq.T("auto.title"), "automation", d)
}

// triggerText says in words what starts a bundle: "Лид: создание".
func (u *UI) triggerText(rq *request, t automation.TriggerSpec) string {
	switch t.Type {
	case automation.TriggerCRMEvent:
		acts := make([]string, 0, len(t.Actions))
		for _, a := range t.Actions {
			acts = append(acts, rq.T("auto.ev."+a))
		}
		what := rq.T("auto.ev.any")
		if len(acts) > 0 {
			what = strings.Join(acts, ", ")
		}
		s := rq.T("e1."+t.Entity) + ": " + what
		if len(t.Fields) > 0 {
			s += " (" + strings.Join(t.Fields, ", ") + ")"
		}
		return s
	case automation.TriggerSchedule:
		return rq.T("auto.trig.schedule") + ": " + t.Cron
	case automation.TriggerWebhook:
		return rq.T("auto.trig.webhook")
	case automation.TriggerManual:
		if t.Entity == "" {
			return rq.T("auto.trig.manual")
		}
		return rq.T("auto.trig.manual") + ": " + rq.T("e1."+t.Entity)
	}
	for _, k := range u.auto.Registry().Triggers() {
		if k.Type == t.Type {
			return k.Label.In(rq.Lang)
		}
	}
	return t.Type
}

// autoAction switches a bundle on or off, copies or deletes it.
func (u *UI) autoAction(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.autoAdmin(w, r, rq) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	ctx, a := r.Context(), rq.Actor()
	var err error
	flash := "card.saved"
	to := "/automation"
	switch r.PathValue("action") {
	case "activate", "deactivate":
		_, err = u.auto.SetActive(ctx, a, id, r.PathValue("action") == "activate")
	case "copy":
		var b automation.Bundle
		if b, err = u.auto.Copy(ctx, a, id); err == nil {
			flash = "auto.copied"
			to = "/automation/" + strconv.FormatInt(b.ID, 10)
		}
	case "delete":
		err = u.auto.Delete(ctx, a, id)
		flash = "auto.deleted"
	default:
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	if ps := problemLines(rq, err); ps != nil {
		u.showAutoList(w, r, rq, http.StatusUnprocessableEntity, ps)
		return
	}
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, to+"?flash="+flash)
}

// problemLines lists a refused definition's problems, one line each; nil
// for other errors.
func problemLines(rq *request, err error) []string {
	var inv *automation.InvalidError
	if !errors.As(err, &inv) {
		return nil
	}
	out := make([]string, 0, len(inv.Problems))
	for _, p := range inv.Problems {
		s := p.Field + ": " + p.Message
		if p.Step != "" {
			s = fmt.Sprintf(rq.T("auto.step_n"), p.Step) + " · " + s
		}
		out = append(out, s)
	}
	return out
}

// autoExport downloads bundles (ids=1,2; every one when absent) as the
// API's export file, secrets left out.
func (u *UI) autoExport(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.autoAdmin(w, r, rq) {
		return
	}
	var ids []int64
	for _, p := range strings.FieldsFunc(r.URL.Query().Get("ids"), func(c rune) bool { return c == ',' || c == ' ' }) {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || id <= 0 {
			u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
			return
		}
		ids = append(ids, id)
	}
	defs, err := u.auto.Export(r.Context(), ids)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if defs == nil {
		defs = []automation.Definition{}
	}
	name := "obmen-bundles.json"
	if len(ids) == 1 {
		name = "obmen-bundle-" + strconv.FormatInt(ids[0], 10) + ".json"
	}
	b, err := json.MarshalIndent(automation.Export{Obmen: automation.ExportFormat, Bundles: defs}, "", "  ")
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	_, _ = w.Write(b)
}

// autoImport creates bundles from an uploaded export file, all or none.
func (u *UI) autoImport(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.autoAdmin(w, r, rq) {
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		u.showAutoList(w, r, rq, http.StatusUnprocessableEntity, []string{rq.T("auto.import_nofile")})
		return
	}
	defer f.Close()
	body, err := io.ReadAll(io.LimitReader(f, maxImportBytes))
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	var bs []automation.Bundle
	var ps []string
	defs, err := automation.ParseImport(body)
	switch {
	case err != nil:
		// A file that is not JSON of bundles: the decoder names the place.
		ps = []string{err.Error()}
	case len(defs) == 0:
		ps = []string{rq.T("auto.import_empty")}
	default:
		if bs, err = u.auto.Import(r.Context(), rq.Actor(), defs); err != nil {
			if ps = problemLines(rq, err); ps == nil {
				u.failErr(w, r, rq, err)
				return
			}
		}
	}
	if ps != nil {
		u.showAutoList(w, r, rq, http.StatusUnprocessableEntity, append([]string{rq.T("auto.import_failed")}, ps...))
		return
	}
	back(w, r, "/automation?flash=auto.imported&n="+strconv.Itoa(len(bs)))
}

type autoTemplatesData struct {
	Templates []automation.Template
	Connector []gallery.Template // templates across connectors, installed with a form
}

// autoTemplates is the gallery: "Use" opens the editor filled with the
// template, saved only when the user saves.
func (u *UI) autoTemplates(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.autoAdmin(w, r, rq) {
		return
	}
	u.render(w, r, rq, http.StatusOK, "automation_templates", rq.T("auto.gallery"), "automation", autoTemplatesData{Templates: copyableTemplates(), Connector: connectorTemplates()})
}
