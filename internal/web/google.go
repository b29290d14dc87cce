package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/connector/google"
	"github.com/obmen/obmen/internal/crm"
)

// A user's sync of their contacts and calendar with Google (issue 22,
// seed 000): connect the Google account, the settings (what, direction,
// field mapping, conflict rule), "sync now" with the result window, and
// "remove sync", which keeps the data on both sides. Every user manages
// their own; an admin enters the OAuth client as a connection of type
// google and finds here the redirect URI to copy into Google's console.

// SetGoogle gives the UI the Google sync.
func (u *UI) SetGoogle(g *google.Service) { u.google = g }

func (u *UI) registerGoogle(mux *http.ServeMux) {
	u.handle(mux, "GET /google", u.googlePage)
	// A link, not a form: the page's CSP (form-action 'self') would stop
	// a form's redirect to Google's consent page.
	u.handle(mux, "GET /google/connect", u.googleConnect)
	u.handle(mux, "GET /google/callback", u.googleCallback)
	u.handle(mux, "POST /google/{action}", u.googleAction)
}

// googleRow is one CRM field of a mapping table with the Google fields it
// can be paired with and the one it is.
type googleRow struct {
	CRM     string
	Label   string
	Google  string
	Choices []googleChoice
}

type googleChoice struct{ Value, Label string }

type googleData struct {
	Sync        google.Sync
	HasClient   bool
	RedirectURI string
	Contacts    []googleRow
	Events      []googleRow
	Result      *google.Result
	Error       string
	Directions  []string
	Conflicts   []string
}

// Rows of the tables in the order of the contact's card.
var googleContactOrder = []string{"honorific", "name", "second_name", "last_name", "position", "birthdate", "phones", "emails",
	"address", "other_address", "comments", "source_description"}
var googleEventOrder = []string{"subject", "description", "start_at", "end_at", "comm_value"}

func googleRows(rq *request, order []string, crmKinds, remote map[string]string, pairs []google.Pair, prefix string) []googleRow {
	cur := map[string]string{}
	for _, p := range pairs {
		cur[p.CRM] = p.Google
	}
	var remoteNames []string
	for k := range remote {
		remoteNames = append(remoteNames, k)
	}
	slices.Sort(remoteNames)
	var rows []googleRow
	for _, f := range order {
		row := googleRow{CRM: f, Label: rq.T("f." + f), Google: cur[f]}
		for _, g := range remoteNames {
			if remote[g] == crmKinds[f] {
				row.Choices = append(row.Choices, googleChoice{g, rq.T(prefix + g)})
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func (u *UI) showGoogle(w http.ResponseWriter, r *http.Request, rq *request, status int, d googleData) {
	ctx := r.Context()
	s, err := u.google.Get(ctx, rq.User.ID)
	switch {
	case errors.Is(err, google.ErrNoSync):
		s = google.Sync{Settings: google.DefaultSettings()}
	case err != nil:
		u.failErr(w, r, rq, err)
		return
	}
	if d.Sync.ID == 0 && d.Sync.Settings.Direction == "" {
		d.Sync = s
	} else {
		d.Sync.Connected, d.Sync.Account, d.Sync.LastRunAt, d.Sync.LastResult = s.Connected, s.Account, s.LastRunAt, s.LastResult
	}
	if d.Result == nil {
		d.Result = s.LastResult
	}
	d.Directions = []string{google.Both, google.ToGoogle, google.FromGoogle}
	d.Conflicts = []string{google.LaterWins, google.ObmenWins}
	d.HasClient = u.google.HasClient(ctx)
	d.RedirectURI = u.google.RedirectURI()
	d.Contacts = googleRows(rq, googleContactOrder, google.ContactCRMFields, google.PeopleFields, d.Sync.Settings.ContactFields, "google.pf.")
	d.Events = googleRows(rq, googleEventOrder, google.EventCRMFields, google.EventFields, d.Sync.Settings.EventFields, "google.ef.")
	u.render(w, r, rq, status, "google", rq.T("google.title"), "settings", d)
}

// googleConnect starts the consent: to Google's page with a fresh state.
func (u *UI) googleConnect(w http.ResponseWriter, r *http.Request, rq *request) {
	to, err := u.google.ConnectURL(r.Context(), rq.User.ID)
	if err != nil {
		u.showGoogle(w, r, rq, http.StatusConflict, googleData{Error: u.googleError(r, rq, err)})
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (u *UI) googlePage(w http.ResponseWriter, r *http.Request, rq *request) {
	u.showGoogle(w, r, rq, http.StatusOK, googleData{})
}

// googleCallback is where Google sends the user back: the state must be
// the one this user's connect made.
func (u *UI) googleCallback(w http.ResponseWriter, r *http.Request, rq *request) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		msg := rq.T("google.err.denied")
		if e != "access_denied" {
			msg += " (" + e + ")"
		}
		u.showGoogle(w, r, rq, http.StatusOK, googleData{Error: msg})
		return
	}
	if err := u.google.Complete(r.Context(), rq.User.ID, q.Get("state"), q.Get("code")); err != nil {
		u.showGoogle(w, r, rq, http.StatusBadRequest, googleData{Error: u.googleError(r, rq, err)})
		return
	}
	back(w, r, "/google?flash=google.connected")
}

func (u *UI) googleError(r *http.Request, rq *request, err error) string {
	switch {
	case errors.Is(err, google.ErrNoClient):
		return rq.T("google.err.no_client")
	case errors.Is(err, google.ErrBadState):
		return rq.T("google.err.state")
	case errors.Is(err, google.ErrNoRefresh):
		return rq.T("google.err.no_refresh")
	case errors.Is(err, google.ErrNotConnect):
		return rq.T("google.err.not_connected")
	case errors.Is(err, google.ErrBusy):
		return rq.T("google.err.busy")
	}
	u.log.Warn("web: google sync", "user", rq.User.ID, "path", r.URL.Path, "err", err)
	return rq.T("google.err.failed") + ": " + err.Error()
}

func googleForm(r *http.Request) google.Settings {
	f := r.PostForm
	s := google.Settings{Contacts: f.Get("contacts") == "on", Calendar: f.Get("calendar") == "on",
		Direction: f.Get("direction"), Conflict: f.Get("conflict")}
	for _, c := range googleContactOrder {
		if g := f.Get("cf." + c); g != "" {
			s.ContactFields = append(s.ContactFields, google.Pair{CRM: c, Google: g})
		}
	}
	for _, c := range googleEventOrder {
		if g := f.Get("ef." + c); g != "" {
			s.EventFields = append(s.EventFields, google.Pair{CRM: c, Google: g})
		}
	}
	return s
}

func (u *UI) googleAction(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	switch r.PathValue("action") {
	case "settings":
		s := googleForm(r)
		if _, err := u.google.SaveSettings(ctx, rq.User.ID, s); err != nil {
			var fes crm.FieldErrors
			if errors.As(err, &fes) {
				var msgs []string
				for _, fe := range fes {
					msgs = append(msgs, fe.Field+": "+fieldMessage(rq, fe))
				}
				u.showGoogle(w, r, rq, http.StatusUnprocessableEntity, googleData{Sync: google.Sync{Settings: s}, Error: strings.Join(msgs, "; ")})
				return
			}
			u.failErr(w, r, rq, err)
			return
		}
		back(w, r, "/google?flash=google.saved")
	case "run":
		// The run goes on if the browser leaves; the result is kept.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
		defer cancel()
		res, err := u.google.Run(rctx, rq.User.ID)
		d := googleData{Result: &res}
		if err != nil {
			d.Error = u.googleError(r, rq, err)
		}
		u.showGoogle(w, r, rq, http.StatusOK, d)
	case "remove":
		if err := u.google.Remove(ctx, rq.User.ID); err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		back(w, r, "/google?flash=google.removed")
	default:
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
	}
}
