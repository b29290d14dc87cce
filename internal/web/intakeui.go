package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/intake/mail"
	"github.com/obmen/obmen/internal/intake/webform"
)

// The lead intake settings pages (admins only): web forms (list, create,
// edit every setting, delete, the code to paste into a site) and mail
// collectors (list, create, edit with a write-only password, delete, run
// now).

// SetIntake gives the UI the web forms and mail collectors to manage.
func (u *UI) SetIntake(forms *webform.Service, collectors *mail.Service) {
	u.forms, u.collectors = forms, collectors
}

func (u *UI) intakeReady(w http.ResponseWriter, r *http.Request, rq *request, ok bool) bool {
	if !u.allow(w, r, rq, authz.Intake) {
		return false
	}
	if !ok {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return false
	}
	return true
}

// fieldMsg is an error for a page: a field error names its field.
func fieldMsg(rq *request, err error) string {
	if fe, ok := crm.AsFieldError(err); ok {
		return fe.Field + ": " + fieldMessage(rq, fe)
	}
	return err.Error()
}

// invalid reports whether err is the user's input at fault (shown on the
// form) rather than the server's.
func invalid(err error) bool {
	_, ok := crm.AsFieldError(err)
	return ok
}

func (u *UI) userNames(r *http.Request) ([]crm.User, map[int64]string, error) {
	us, err := u.store.ListUsers(r.Context())
	if err != nil {
		return nil, nil, err
	}
	names := map[int64]string{}
	for _, x := range us {
		names[x.ID] = x.Login
	}
	return us, names, nil
}

// Web forms.

type webformsData struct {
	Forms    []webform.Form
	Users    []crm.User
	UserName map[int64]string
	Modules  []string
	// Languages the form can speak to visitors.
	Languages []string
	Form      webform.Form // the form being created or edited
	Rows      []webform.Field
	Origins   string
	Error     string
	// Choices are the fields of the form's module, by their Russian
	// labels; AllChoices every module's (JSON), for the picker to follow
	// a change of module.
	Choices    []webform.Choice
	AllChoices string
}

func (u *UI) webforms(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.intakeReady(w, r, rq, u.forms != nil) {
		return
	}
	u.showWebforms(w, r, rq, http.StatusOK, webformsData{Form: webform.Form{Module: "leads", Enabled: true, Language: "ru", MinFillSeconds: webform.DefaultMinFillSeconds,
		Fields: []webform.Field{{Name: "name", Required: true}, {Name: "phone"}, {Name: "email"}, {Name: "comments"}}}})
}

func (u *UI) showWebforms(w http.ResponseWriter, r *http.Request, rq *request, status int, d webformsData) {
	var err error
	if d.Users, d.UserName, err = u.userNames(r); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if d.Forms, err = u.forms.List(r.Context()); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d.fill()
	u.render(w, r, rq, status, "webforms", rq.T("wf.title"), "integrations", d)
}

// fill prepares the edit form: the fields' rows plus empty ones to add.
func (d *webformsData) fill() {
	d.Modules, d.Languages = webform.Modules, webform.Languages
	d.Rows = append(append([]webform.Field{}, d.Form.Fields...), make([]webform.Field, 3)...)
	module := d.Form.Module
	if module == "" {
		module = webform.Modules[0]
	}
	d.Choices = webform.Choices(module)
	all := map[string][]webform.Choice{}
	for _, m := range webform.Modules {
		all[m] = webform.Choices(m)
	}
	b, _ := json.Marshal(all)
	d.AllChoices = string(b)
	d.Origins = strings.Join(d.Form.AllowedOrigins, "\n")
}

// formFromPost reads a web form's settings from the page's form; rows
// with no field name are skipped.
func formFromPost(f url.Values) webform.Form {
	userID, _ := strconv.ParseInt(f.Get("user_id"), 10, 64)
	// An unreadable minimum goes on as -1, which the form refuses by name.
	minFill := 0
	if v := strings.TrimSpace(f.Get("min_fill_seconds")); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			minFill = n
		} else {
			minFill = -1
		}
	}
	out := webform.Form{Name: f.Get("name"), UserID: userID, Module: f.Get("module"), ReturnURL: f.Get("return_url"), Language: f.Get("language"), MinFillSeconds: minFill,
		Captcha: f.Get("captcha") == "on", CaptchaMode: f.Get("captcha_mode"), Enabled: f.Get("enabled") == "on", Fields: []webform.Field{}}
	out.AllowedOrigins = strings.FieldsFunc(f.Get("allowed_origins"), func(r rune) bool { return r == '\n' || r == ',' || r == ' ' || r == '\r' })
	names, labels, overrides := f["field_name"], f["field_label"], f["field_override"]
	for i, n := range names {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		fl := webform.Field{Name: n, Required: f.Get("field_required_"+strconv.Itoa(i)) == "on"}
		if i < len(labels) {
			fl.Label = labels[i]
		}
		if i < len(overrides) {
			fl.Override = overrides[i]
		}
		out.Fields = append(out.Fields, fl)
	}
	return out
}

func (u *UI) createWebform(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.intakeReady(w, r, rq, u.forms != nil) {
		return
	}
	in := formFromPost(r.PostForm)
	f, err := u.forms.Create(r.Context(), in)
	if err != nil {
		if !invalid(err) {
			u.failErr(w, r, rq, err)
			return
		}
		u.showWebforms(w, r, rq, http.StatusUnprocessableEntity, webformsData{Form: in, Error: fieldMsg(rq, err)})
		return
	}
	back(w, r, "/admin/webforms/"+strconv.FormatInt(f.ID, 10)+"?flash=card.created")
}

func (u *UI) webformShow(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.intakeReady(w, r, rq, u.forms != nil) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	f, err := u.forms.Get(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	u.showWebform(w, r, rq, http.StatusOK, webformsData{Form: f})
}

func (u *UI) showWebform(w http.ResponseWriter, r *http.Request, rq *request, status int, d webformsData) {
	var err error
	if d.Users, d.UserName, err = u.userNames(r); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d.fill()
	u.render(w, r, rq, status, "webform", d.Form.Name, "integrations", d)
}

func (u *UI) webformAction(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.intakeReady(w, r, rq, u.forms != nil) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	switch r.PathValue("action") {
	case "delete":
		if err := u.forms.Delete(r.Context(), id); err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		back(w, r, "/admin/webforms?flash=wf.deleted")
	case "save":
		old, err := u.forms.Get(r.Context(), id)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		in := formFromPost(r.PostForm)
		if _, err := u.forms.Update(r.Context(), id, in); err != nil {
			if !invalid(err) {
				u.failErr(w, r, rq, err)
				return
			}
			in.ID, in.PublicID, in.HTML, in.SubmitURL = old.ID, old.PublicID, old.HTML, old.SubmitURL
			u.showWebform(w, r, rq, http.StatusUnprocessableEntity, webformsData{Form: in, Error: fieldMsg(rq, err)})
			return
		}
		back(w, r, "/admin/webforms/"+strconv.FormatInt(id, 10)+"?flash=card.saved")
	default:
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
	}
}

// Mail collectors.

type collectorsData struct {
	Collectors []mail.Collector
	Users      []crm.User
	UserName   map[int64]string
	Securities []string
	Collector  mail.Collector // the one being created or edited
	Error      string
	Ran        *mail.Stats // a run's outcome
	RunError   string
}

func (u *UI) collectorsPage(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.intakeReady(w, r, rq, u.collectors != nil) {
		return
	}
	u.showCollectors(w, r, rq, http.StatusOK, collectorsData{Collector: mail.Collector{Enabled: true, Security: mail.SecurityTLS, Folder: "INBOX", Keyword: "ORDER"}})
}

func (u *UI) showCollectors(w http.ResponseWriter, r *http.Request, rq *request, status int, d collectorsData) {
	var err error
	if d.Users, d.UserName, err = u.userNames(r); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if d.Collectors, err = u.collectors.List(r.Context()); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d.Securities = []string{mail.SecurityTLS, mail.SecurityStartTLS, mail.SecurityNone}
	d.Collector.Password = "" // never shown back
	u.render(w, r, rq, status, "collectors", rq.T("col.title"), "integrations", d)
}

func collectorFromPost(f url.Values) mail.Collector {
	userID, _ := strconv.ParseInt(f.Get("user_id"), 10, 64)
	port, _ := strconv.Atoi(strings.TrimSpace(f.Get("port")))
	days, _ := strconv.Atoi(strings.TrimSpace(f.Get("delete_after_days")))
	return mail.Collector{Name: f.Get("name"), Enabled: f.Get("enabled") == "on", Kind: strings.TrimSpace(f.Get("kind")), Host: f.Get("host"),
		Port: port, Security: f.Get("security"), Login: f.Get("login"), Password: f.Get("password"), Folder: f.Get("folder"),
		UserID: userID, Keyword: f.Get("keyword"), ProcessedFolder: f.Get("processed_folder"), FailedFolder: f.Get("failed_folder"),
		DeleteAfterDays: days, Mode: f.Get("mode")}
}

func (u *UI) createCollector(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.intakeReady(w, r, rq, u.collectors != nil) {
		return
	}
	in := collectorFromPost(r.PostForm)
	c, err := u.collectors.Create(r.Context(), in)
	if err != nil {
		if !invalid(err) {
			u.failErr(w, r, rq, err)
			return
		}
		u.showCollectors(w, r, rq, http.StatusUnprocessableEntity, collectorsData{Collector: in, Error: fieldMsg(rq, err)})
		return
	}
	back(w, r, "/admin/collectors/"+strconv.FormatInt(c.ID, 10)+"?flash=card.created")
}

func (u *UI) collectorShow(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.intakeReady(w, r, rq, u.collectors != nil) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	c, err := u.collectors.Get(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	u.showCollector(w, r, rq, http.StatusOK, collectorsData{Collector: c})
}

func (u *UI) showCollector(w http.ResponseWriter, r *http.Request, rq *request, status int, d collectorsData) {
	var err error
	if d.Users, d.UserName, err = u.userNames(r); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d.Securities = []string{mail.SecurityTLS, mail.SecurityStartTLS, mail.SecurityNone}
	d.Collector.Password = "" // never shown back
	u.render(w, r, rq, status, "collector", d.Collector.Name, "integrations", d)
}

func (u *UI) collectorAction(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.intakeReady(w, r, rq, u.collectors != nil) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	ctx := r.Context()
	switch r.PathValue("action") {
	case "delete":
		if err := u.collectors.Delete(ctx, id); err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		back(w, r, "/admin/collectors?flash=col.deleted")
	case "save":
		old, err := u.collectors.Get(ctx, id)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		in := collectorFromPost(r.PostForm)
		if _, err := u.collectors.Update(ctx, id, in); err != nil {
			if !invalid(err) {
				u.failErr(w, r, rq, err)
				return
			}
			in.ID, in.PasswordSet, in.LastRunAt, in.LastError = old.ID, old.PasswordSet, old.LastRunAt, old.LastError
			u.showCollector(w, r, rq, http.StatusUnprocessableEntity, collectorsData{Collector: in, Error: fieldMsg(rq, err)})
			return
		}
		back(w, r, "/admin/collectors/"+strconv.FormatInt(id, 10)+"?flash=card.saved")
	case "run":
		if _, err := u.collectors.Get(ctx, id); err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		st, runErr := u.collectors.Run(ctx, id)
		d := collectorsData{Ran: &st}
		status := http.StatusOK
		switch {
		case errors.Is(runErr, mail.ErrBusy):
			d.RunError, status = rq.T("col.busy"), http.StatusConflict
		case runErr != nil:
			d.RunError, status = runErr.Error(), http.StatusBadGateway
		}
		var err error
		if d.Collector, err = u.collectors.Get(ctx, id); err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		u.showCollector(w, r, rq, status, d)
	default:
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
	}
}
