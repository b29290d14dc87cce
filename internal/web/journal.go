package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/delivery"
)

// JournalEntry is one exchange of an integration, as the generic journal
// view shows it.
type JournalEntry struct {
	ID          int64
	At          time.Time
	Integration string // the source's name or a finer one ("webhook: CRM sync")
	Direction   string // "out" or "in"
	Status      string
	Failed      bool
	Error       string
	// Skipped is how many items the entry skipped or refused, listed by
	// the source's SkippedCSV (a "download" button beside the entry).
	Skipped int
}

// SkippedSource is a JournalSource whose entries list the items they
// skipped or refused (the 1C exchange), downloadable as CSV.
type SkippedSource interface {
	// SkippedCSV writes entry id's skipped items as CSV.
	SkippedCSV(ctx context.Context, w io.Writer, id int64) error
}

// FileSource is a JournalSource whose entries keep the files they sent
// and received (the 1C exchange, the runs with web shops), downloadable
// from the entry's page while kept.
type FileSource interface {
	// Files names the files an entry keeps, from its Payload.
	Files(payload any) []string
	// ServeFile answers one of them as a download; when it is not kept
	// it writes nothing and returns an error.
	ServeFile(ctx context.Context, w http.ResponseWriter, id int64, name string) error
}

// JournalSource is an integration's exchange journal. Each integration
// (outbound webhooks today; 1C exchange, intake later) adds one with
// UI.AddJournal, and the Integrations section and the home page show it.
type JournalSource interface {
	// Name is the source's short, URL-safe name ("webhooks").
	Name() string
	// Journal lists the newest entries, only failures when failed is set.
	Journal(ctx context.Context, failed bool, limit int) ([]JournalEntry, error)
	// Payload is what an entry carried, for the "payload" link.
	Payload(ctx context.Context, id int64) (any, error)
}

// journalSource is a registered journal with the authz resource that
// guards it (its integration's).
type journalSource struct {
	JournalSource
	res authz.Resource
}

// AddJournal registers an integration's journal, readable by whom authz
// lets read res (an unknown resource: nobody).
func (u *UI) AddJournal(src JournalSource, res authz.Resource) {
	u.journal = append(u.journal, journalSource{JournalSource: src, res: res})
}

// Integration is an integration's page in the "Integrations" section:
// its name, its settings (a page of its own, mounted by the integration),
// its "check connection" action and its exchange journal. Integrations are
// registered explicitly in app/ with AddIntegration.
type Integration struct {
	// Name is URL-safe and unique ("webhooks", "1c", "intake").
	Name string
	// Title is shown in the section, per language ("ru", "en").
	Title map[string]string
	// About says in a sentence what it does, per language.
	About map[string]string
	// SettingsURL, when set, is where its settings are edited.
	SettingsURL string
	// Links are more of its pages (beside the settings), each with its
	// title per language.
	Links []IntegrationLink
	// Check, when set, tries the connection and says how it went; the page
	// offers a "check connection" button for it.
	// Its message is written in Lang(ctx).
	Check func(ctx context.Context) (string, error)
	// Journal, when set, is its exchange journal (also listed in the
	// section's common journal).
	Journal JournalSource
	// Resource is the authz resource guarding its page, check and
	// journal: the one its REST API answers with, so that the UI and the
	// API refuse alike. Unset, nobody may open them.
	Resource authz.Resource
}

// AddIntegration registers an integration's page (and its journal).
func (u *UI) AddIntegration(in Integration) {
	u.integ = append(u.integ, in)
	if in.Journal != nil {
		u.AddJournal(in.Journal, in.Resource)
	}
}

func (u *UI) integration(name string) (Integration, bool) {
	for _, in := range u.integ {
		if in.Name == name {
			return in, true
		}
	}
	return Integration{}, false
}

// IntegrationLink is one more page of an integration.
type IntegrationLink struct {
	URL   string
	Title map[string]string
}

type integrationCard struct {
	Name, Title, About, SettingsURL string
	Links                           []cardLink
	CanCheck                        bool
}

type cardLink struct{ URL, Title string }

func cardOf(in Integration, lang string) integrationCard {
	c := integrationCard{Name: in.Name, Title: pick(in.Title, lang, in.Name), About: pick(in.About, lang, ""),
		SettingsURL: in.SettingsURL, CanCheck: in.Check != nil}
	for _, l := range in.Links {
		c.Links = append(c.Links, cardLink{URL: l.URL, Title: pick(l.Title, lang, l.URL)})
	}
	return c
}

func pick(m map[string]string, lang, def string) string {
	if s := m[lang]; s != "" {
		return s
	}
	if s := m[defaultLang]; s != "" {
		return s
	}
	return def
}

type integrationPage struct {
	integrationCard
	Rows            []journalRow
	Checked, Failed string
	Failures        bool
}

// integrationShow is one integration's page: settings link, check, journal.
func (u *UI) integrationShow(w http.ResponseWriter, r *http.Request, rq *request) {
	in, ok := u.integration(r.PathValue("name"))
	if !ok {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	if !u.allow(w, r, rq, in.Resource) {
		return
	}
	u.showIntegration(w, r, rq, in, http.StatusOK, "", "")
}

func (u *UI) showIntegration(w http.ResponseWriter, r *http.Request, rq *request, in Integration, status int, checked, failed string) {
	d := integrationPage{integrationCard: cardOf(in, rq.Lang), Checked: checked, Failed: failed, Failures: r.URL.Query().Get("failed") == "1"}
	if in.Journal != nil {
		var err error
		if d.Rows, err = u.journalRows(r.Context(), rq.User, rq.Loc, in.Journal.Name(), d.Failures, 200); err != nil {
			u.failErr(w, r, rq, err)
			return
		}
	}
	u.render(w, r, rq, status, "integration", d.Title, "integrations", d)
}

// integrationCheck runs an integration's connection check (admins only: it
// reaches out to another system).
func (u *UI) integrationCheck(w http.ResponseWriter, r *http.Request, rq *request) {
	in, ok := u.integration(r.PathValue("name"))
	if !ok {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	if !u.allow(w, r, rq, in.Resource) {
		return
	}
	if in.Check == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	msg, err := in.Check(context.WithValue(r.Context(), langKey{}, rq.Lang))
	if err != nil {
		u.log.Warn("web: integration check failed", "integration", in.Name, "err", err)
		u.showIntegration(w, r, rq, in, http.StatusOK, "", err.Error())
		return
	}
	u.showIntegration(w, r, rq, in, http.StatusOK, msg, "")
}

// source is the journal named name, answering 404 when there is none
// and 403 when authz does not let the user read it.
func (u *UI) source(w http.ResponseWriter, r *http.Request, rq *request, name string) (JournalSource, bool) {
	for _, s := range u.journal {
		if s.Name() == name {
			if !u.allowAs(w, r, rq, s.res, authz.Read, 0) {
				return nil, false
			}
			return s.JournalSource, true
		}
	}
	u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
	return nil, false
}

type journalRow struct {
	JournalEntry
	Source, When, PayloadURL string
	// SkippedURL downloads the entry's skipped items as CSV ("": none).
	SkippedURL string
}

// journalRows merges the newest entries of every source user may read.
func (u *UI) journalRows(ctx context.Context, user crm.User, loc *time.Location, only string, failed bool, limit int) ([]journalRow, error) {
	var rows []journalRow
	for _, src := range u.journal {
		if (only != "" && src.Name() != only) || !authz.Can(user, src.res, authz.Read) {
			continue
		}
		es, err := src.Journal(ctx, failed, limit)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			row := journalRow{JournalEntry: e, Source: src.Name(), When: e.At.In(loc).Format("02.01.2006 15:04:05"),
				PayloadURL: "/integrations/" + src.Name() + "/" + strconv.FormatInt(e.ID, 10)}
			if _, ok := src.JournalSource.(SkippedSource); ok && e.Skipped > 0 {
				row.SkippedURL = row.PayloadURL + "/skipped.csv"
			}
			rows = append(rows, row)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].At.After(rows[j].At) })
	if len(rows) > limit {
		rows = rows[:limit]
	}
	return rows, nil
}

type integrationsData struct {
	Cards   []integrationCard
	Sources []string
	Source  string
	Failed  bool
	Rows    []journalRow
}

func (u *UI) integrations(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Integrations) {
		return
	}
	q := r.URL.Query()
	d := integrationsData{Source: q.Get("source"), Failed: q.Get("failed") == "1"}
	for _, in := range u.integ {
		d.Cards = append(d.Cards, cardOf(in, rq.Lang))
	}
	for _, s := range u.journal {
		if authz.Can(rq.User, s.res, authz.Read) {
			d.Sources = append(d.Sources, s.Name())
		}
	}
	var err error
	if d.Rows, err = u.journalRows(r.Context(), rq.User, rq.Loc, d.Source, d.Failed, 200); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	u.render(w, r, rq, http.StatusOK, "integrations", rq.T("int.title"), "integrations", d)
}

func (u *UI) journalPayload(w http.ResponseWriter, r *http.Request, rq *request) {
	src, ok := u.source(w, r, rq, r.PathValue("source"))
	if !ok {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	v, err := src.Payload(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d := payloadData{JSON: string(b)}
	if _, ok := src.(SkippedSource); ok {
		// The entry's own list says whether there is anything to download.
		var e struct {
			Skipped []json.RawMessage `json:"skipped"`
		}
		if json.Unmarshal(b, &e) == nil && len(e.Skipped) > 0 {
			d.Skipped, d.SkippedURL = len(e.Skipped), "/integrations/"+src.Name()+"/"+strconv.FormatInt(id, 10)+"/skipped.csv"
		}
	}
	if fs, ok := src.(FileSource); ok {
		for _, n := range fs.Files(v) {
			d.Files = append(d.Files, payloadFile{Name: n,
				URL: "/integrations/" + src.Name() + "/" + strconv.FormatInt(id, 10) + "/file?name=" + url.QueryEscape(n)})
		}
	}
	u.render(w, r, rq, http.StatusOK, "payload", rq.T("int.payload"), "integrations", d)
}

// journalFile downloads a file an entry keeps (administrators only, as
// the API's /exchanges/{id}/file).
func (u *UI) journalFile(w http.ResponseWriter, r *http.Request, rq *request) {
	src, id, ok := journalSourceAs[FileSource](u, w, r, rq)
	if !ok {
		return
	}
	if err := src.ServeFile(r.Context(), w, id, r.URL.Query().Get("name")); err != nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("jr.file_gone"))
	}
}

// journalSourceAs is the source named in the path, when it can do T, and
// the entry's id; else it answers itself (404 for a source that cannot).
func journalSourceAs[T any](u *UI, w http.ResponseWriter, r *http.Request, rq *request) (T, int64, bool) {
	var zero T
	js, ok := u.source(w, r, rq, r.PathValue("source"))
	if !ok {
		return zero, 0, false
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return zero, 0, false
	}
	src, ok := js.(T)
	if !ok {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return zero, 0, false
	}
	return src, id, true
}

// payloadData is a journal entry's page: what it carried, and the CSV of
// what it skipped when it skipped anything.
type payloadData struct {
	JSON       string
	Skipped    int
	SkippedURL string
	Files      []payloadFile // the files the entry keeps, to download
}

// payloadFile is a file of a journal entry and its download link.
type payloadFile struct{ Name, URL string }

// journalSkipped downloads the items an entry skipped or refused as CSV
// (administrators only, as the API's /exchanges/{id}/skipped.csv).
func (u *UI) journalSkipped(w http.ResponseWriter, r *http.Request, rq *request) {
	src, id, ok := journalSourceAs[SkippedSource](u, w, r, rq)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := src.SkippedCSV(r.Context(), &buf, id); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="exchange-`+strconv.FormatInt(id, 10)+`-skipped.csv"`)
	_, _ = w.Write(buf.Bytes())
}

// WebhooksIntegration is the outbound webhooks' page: their journal; they
// are set up through the REST API (/api/v1/outbound-webhooks).
func WebhooksIntegration(svc *delivery.Service) Integration {
	return Integration{Name: "webhooks",
		Title: map[string]string{"ru": "Вебхуки", "en": "Webhooks"},
		About: map[string]string{
			"ru": "Входящие вебхуки REST, совместимого с Битрикс24, и исходящие, отправляющие изменения CRM в другие системы (в формате Битрикс24 или JSON с подписью).",
			"en": "Incoming webhooks of the Bitrix24-compatible REST, and outbound ones sending CRM changes to other systems (Bitrix24-style or signed JSON).",
		},
		SettingsURL: "/admin/webhooks",
		Resource:    authz.Webhooks,
		// The check says what a person can act on: how many webhooks
		// there are and whether deliveries fail (a bare count read as
		// "the connection works: 0").
		Check: func(ctx context.Context) (string, error) {
			lang := Lang(ctx)
			hooks, err := svc.List(ctx)
			if err != nil {
				return "", err
			}
			if len(hooks) == 0 {
				return translate(lang, "int.hooks_none"), nil
			}
			active := 0
			for _, h := range hooks {
				if h.Active {
					active++
				}
			}
			msg := fmt.Sprintf(translate(lang, "int.hooks_count"), len(hooks), active)
			failed, err := Deliveries{Service: svc}.Journal(ctx, true, 1)
			if err != nil {
				return "", err
			}
			if len(failed) == 0 {
				return msg + " " + translate(lang, "int.hooks_no_fail"), nil
			}
			f := failed[0]
			return msg + " " + fmt.Sprintf(translate(lang, "int.hooks_last_fail"), f.At.Local().Format("02.01.2006 15:04"), f.Integration, f.Error), nil
		},
		Journal: Deliveries{Service: svc}}
}

// Deliveries is the outbound-webhook delivery journal as a journal source.
type Deliveries struct{ Service *delivery.Service }

// Name implements JournalSource.
func (Deliveries) Name() string { return "webhooks" }

// Journal implements JournalSource: the newest deliveries of every webhook.
func (d Deliveries) Journal(ctx context.Context, failed bool, limit int) ([]JournalEntry, error) {
	hooks, err := d.Service.List(ctx)
	if err != nil {
		return nil, err
	}
	status := ""
	if failed {
		status = delivery.StatusFailed
	}
	var out []JournalEntry
	for _, h := range hooks {
		ds, err := d.Service.Deliveries(ctx, h.ID, delivery.DeliveryQuery{Status: status, Limit: limit})
		if err != nil {
			return nil, err
		}
		for _, x := range ds {
			out = append(out, JournalEntry{ID: x.ID, At: x.UpdatedAt, Integration: "webhook: " + h.Name, Direction: "out",
				Status: x.Status, Failed: x.Status == delivery.StatusFailed, Error: x.LastError})
		}
	}
	return out, nil
}

// Payload implements JournalSource: the delivery with its attempts.
func (d Deliveries) Payload(ctx context.Context, id int64) (any, error) {
	return d.Service.Delivery(ctx, id)
}

type langKey struct{}

// Lang is the language an integration's check writes its message in.
func Lang(ctx context.Context) string {
	if l, ok := ctx.Value(langKey{}).(string); ok {
		return l
	}
	return defaultLang
}
