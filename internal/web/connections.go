package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/automation/gallery"
	"github.com/obmen/obmen/internal/connection"
)

// The connections pages (Integrations → Подключения, admins only): the
// saved accounts of external systems, a form made from the type's
// description of its settings (secrets never shown: "задано" when set,
// left empty to keep), a check with its message, and deletion that warns
// while bundles use the connection.

// SetConnections gives the UI the saved connections and what names the
// bundles using one.
func (u *UI) SetConnections(s *connection.Store, users connection.Users) {
	u.conns, u.connUsers = s, users
}

func (u *UI) registerConnections(mux *http.ServeMux) {
	u.handle(mux, "GET /admin/connections", u.connectionsPage)
	u.handle(mux, "GET /admin/connections/new", u.connectionNew)
	u.handle(mux, "POST /admin/connections", u.connectionCreate)
	u.handle(mux, "GET /admin/connections/{id}", u.connectionShow)
	u.handle(mux, "POST /admin/connections/{id}/{action}", u.connectionAction)
	u.handle(mux, "POST /e/{entity}/{id}/export/{conn}", u.exportRecord)
}

// connField is a setting as the form shows it.
type connField struct {
	connection.Field
	Label, Hint string
	Value       string
	Checked     bool
	Set         bool // a secret that is set
	Problem     string
}

type connectionsData struct {
	Items []connection.Connection
	Types []connection.TypeInfo
	Label map[string]string
}

type connectionData struct {
	Conn    connection.Connection
	Type    connection.TypeInfo
	TypeRu  string
	Fields  []connField
	Error   string
	Check   *connection.CheckResult
	Bundles []string
	// InUse: deleting was refused because bundles use it.
	InUse bool
	// Pushes are the triggers that take pushes to the connection's hook
	// URL (none: no hook section); Hook the URL just made, shown once.
	Pushes []string
	Hook   *connection.Hook
	// Sync is the connection type's built-in sync (nil: it has none);
	// SyncDone says this answer switched it on or off.
	Sync     *syncView
	SyncDone string
	// Journal: what the connection received from its service, newest
	// first, paged.
	Journal *journalView
}

// syncView is a connection's built-in sync as its page shows it.
type syncView struct {
	On, AnyOn bool
	Parts     []syncPartView
}

type syncPartView struct {
	gallery.SyncPart
	TitleText string
}

func newSyncView(st gallery.SyncState, lang string) *syncView {
	v := &syncView{On: st.On}
	for _, p := range st.Parts {
		v.AnyOn = v.AnyOn || p.Active
		v.Parts = append(v.Parts, syncPartView{SyncPart: p, TitleText: p.Title.In(lang)})
	}
	return v
}

// connSync is the sync over the UI's bundles and connections (nil
// without automation).
func (u *UI) connSync() *gallery.Sync {
	if u.auto == nil {
		return nil
	}
	return gallery.NewSync(u.auto, u.conns)
}

func (u *UI) connReady(w http.ResponseWriter, r *http.Request, rq *request) bool {
	if !u.allow(w, r, rq, authz.Connections) {
		return false
	}
	if u.conns == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return false
	}
	return true
}

func (u *UI) connectionsPage(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.connReady(w, r, rq) {
		return
	}
	list, err := u.conns.List(r.Context(), "")
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d := connectionsData{Items: list, Types: u.conns.Registry().Types(), Label: map[string]string{}}
	for _, t := range d.Types {
		d.Label[t.Name] = t.Label.In(rq.Lang)
	}
	u.render(w, r, rq, http.StatusOK, "connections", rq.T("conn.title"), "integrations", d)
}

// fields makes the form's fields of type t from settings (and problems).
func fields(rq *request, t connection.TypeInfo, settings map[string]any, problems []connection.Problem) []connField {
	out := make([]connField, 0, len(t.Fields))
	for _, f := range t.Fields {
		cf := connField{Field: f, Label: f.Label.In(rq.Lang), Hint: f.Hint.In(rq.Lang)}
		v, ok := settings[f.Name]
		if !ok || v == nil {
			v = f.Default
		}
		switch {
		case f.Secret:
			cf.Set = v == connection.Mask
		case f.Type == connection.Boolean:
			cf.Checked = v == true
		case v != nil:
			switch x := v.(type) {
			case string:
				cf.Value = x
			case int64:
				cf.Value = strconv.FormatInt(x, 10)
			case float64:
				cf.Value = strconv.FormatFloat(x, 'f', -1, 64)
			}
		}
		for _, p := range problems {
			if p.Field == "settings."+f.Name {
				cf.Problem = p.Message
			}
		}
		out = append(out, cf)
	}
	return out
}

// formInput reads the form into the API's input: a secret left empty is
// left out, which keeps the stored one.
func formInput(t connection.TypeInfo, f url.Values) connection.Input {
	in := connection.Input{Type: t.Name, Name: strings.TrimSpace(f.Get("name")), Settings: map[string]any{}}
	for _, fd := range t.Fields {
		key := "s_" + fd.Name
		switch {
		case fd.Type == connection.Boolean:
			in.Settings[fd.Name] = f.Get(key) == "on"
		case fd.Secret:
			if v := f.Get(key); v != "" {
				in.Settings[fd.Name] = v
			}
		default:
			if v := strings.TrimSpace(f.Get(key)); v != "" {
				in.Settings[fd.Name] = v
			}
		}
	}
	return in
}

func (u *UI) connectionNew(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.connReady(w, r, rq) {
		return
	}
	typ := r.URL.Query().Get("type")
	if typ == "" {
		u.connectionsPage(w, r, rq) // it lists the types to choose from
		return
	}
	t, ok := u.conns.Registry().Info(typ)
	if !ok {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	d := connectionData{Conn: connection.Connection{Type: t.Name}, Type: t, TypeRu: t.Label.In(rq.Lang), Fields: fields(rq, t, nil, nil)}
	u.render(w, r, rq, http.StatusOK, "connection", rq.T("conn.new")+": "+d.TypeRu, "integrations", d)
}

// problemsOf splits a refused input into its settings' problems and the
// rest, said in one line.
func problemsOf(err error) ([]connection.Problem, string) {
	var inv *connection.InvalidError
	if !errors.As(err, &inv) {
		return nil, ""
	}
	var rest []string
	for _, p := range inv.Problems {
		if !strings.HasPrefix(p.Field, "settings.") {
			rest = append(rest, p.Field+": "+p.Message)
		}
	}
	return inv.Problems, strings.Join(rest, "; ")
}

func (u *UI) connectionCreate(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.connReady(w, r, rq) {
		return
	}
	t, ok := u.conns.Registry().Info(r.PostForm.Get("type"))
	if !ok {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	in := formInput(t, r.PostForm)
	c, err := u.conns.Create(r.Context(), rq.User.ID, in)
	if err != nil {
		ps, msg := problemsOf(err)
		if ps == nil {
			u.failErr(w, r, rq, err)
			return
		}
		if msg == "" {
			msg = rq.T("conn.fix")
		}
		d := connectionData{Conn: connection.Connection{Type: t.Name, Name: in.Name}, Type: t, TypeRu: t.Label.In(rq.Lang),
			Fields: fields(rq, t, in.Settings, ps), Error: msg}
		u.render(w, r, rq, http.StatusUnprocessableEntity, "connection", rq.T("conn.new")+": "+d.TypeRu, "integrations", d)
		return
	}
	back(w, r, "/admin/connections/"+strconv.FormatInt(c.ID, 10)+"?flash=card.created")
}

func (u *UI) showConnection(w http.ResponseWriter, r *http.Request, rq *request, status int, id int64, d connectionData) {
	c, err := u.conns.Get(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	t, _ := u.conns.Registry().Info(c.Type)
	if d.Fields == nil {
		d.Fields = fields(rq, t, c.Settings, nil)
	}
	if d.Conn.Name == "" {
		d.Conn = c
	} else {
		d.Conn.ID, d.Conn.Type = c.ID, c.Type
	}
	d.Type, d.TypeRu = t, t.Label.In(rq.Lang)
	if u.auto != nil {
		d.Pushes = u.auto.Registry().PushTriggers(c.Type, rq.Lang)
	}
	if sy := u.connSync(); sy != nil && d.Sync == nil {
		st, err := sy.StateOf(r.Context(), c)
		switch {
		case errors.Is(err, gallery.ErrNoSync):
		case err != nil:
			u.failErr(w, r, rq, err)
			return
		default:
			d.Sync = newSyncView(st, rq.Lang)
		}
	}
	if u.connUsers != nil && d.Bundles == nil {
		if d.Bundles, err = u.connUsers(r.Context(), id); err != nil {
			u.failErr(w, r, rq, err)
			return
		}
	}
	if d.Journal, err = u.connJournal(r.Context(), r, c); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	u.render(w, r, rq, status, "connection", c.Name, "integrations", d)
}

func (u *UI) connectionShow(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.connReady(w, r, rq) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	u.showConnection(w, r, rq, http.StatusOK, id, connectionData{})
}

// connectionAction saves, checks or deletes a connection.
func (u *UI) connectionAction(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.connReady(w, r, rq) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	ctx := r.Context()
	path := "/admin/connections/" + strconv.FormatInt(id, 10)
	switch r.PathValue("action") {
	case "save":
		c, err := u.conns.Get(ctx, id)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		t, _ := u.conns.Registry().Info(c.Type)
		in := formInput(t, r.PostForm)
		if _, err := u.conns.Update(ctx, rq.User.ID, id, in); err != nil {
			ps, msg := problemsOf(err)
			if ps == nil {
				u.failErr(w, r, rq, err)
				return
			}
			if msg == "" {
				msg = rq.T("conn.fix")
			}
			shown := map[string]any{}
			for k, v := range in.Settings {
				shown[k] = v
			}
			for _, f := range t.Fields {
				if f.Secret && c.Settings[f.Name] == connection.Mask {
					shown[f.Name] = connection.Mask
				}
			}
			u.showConnection(w, r, rq, http.StatusUnprocessableEntity, id,
				connectionData{Conn: connection.Connection{Name: in.Name}, Fields: fields(rq, t, shown, ps), Error: msg})
			return
		}
		back(w, r, path+"?flash=card.saved")
	case "check":
		res, err := u.conns.Check(ctx, id, rq.Lang)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		u.showConnection(w, r, rq, http.StatusOK, id, connectionData{Check: &res})
	case "refresh":
		_, failed, err := u.conns.Refresh(ctx, id, rq.Lang)
		if _, msg := problemsOf(err); msg != "" {
			u.showConnection(w, r, rq, http.StatusUnprocessableEntity, id, connectionData{Error: msg})
			return
		}
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		if failed != nil {
			u.showConnection(w, r, rq, http.StatusOK, id, connectionData{Check: failed})
			return
		}
		back(w, r, path+"?flash=card.saved")
	case "hook":
		// The URL is shown in this answer only: its token is kept hashed.
		h, err := u.conns.NewHook(ctx, id)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		u.showConnection(w, r, rq, http.StatusOK, id, connectionData{Hook: &h})
	case "sync_on", "sync_off":
		// The sync installs and switches bundles: automation's admins.
		if !u.autoAdmin(w, r, rq) {
			return
		}
		sy := u.connSync()
		var st gallery.SyncState
		var err error
		if r.PathValue("action") == "sync_on" {
			st, err = sy.On(ctx, rq.Actor(), id)
		} else {
			st, err = sy.Off(ctx, rq.Actor(), id)
		}
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		d := connectionData{Sync: newSyncView(st, rq.Lang), SyncDone: "conn.sync_done_off"}
		if st.On {
			d.SyncDone = "conn.sync_done_on"
		}
		if st.HookURL != "" {
			// Shown in this answer only, as the hook's own button does.
			d.Hook = &connection.Hook{URL: st.HookURL}
		}
		u.showConnection(w, r, rq, http.StatusOK, id, d)
	case "delete":
		if u.connUsers != nil && r.PostForm.Get("force") != "1" {
			names, err := u.connUsers(ctx, id)
			if err != nil {
				u.failErr(w, r, rq, err)
				return
			}
			if len(names) > 0 {
				u.showConnection(w, r, rq, http.StatusConflict, id, connectionData{Bundles: names, InUse: true})
				return
			}
		}
		if err := u.conns.Delete(ctx, id); err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		back(w, r, "/admin/connections?flash=conn.deleted")
	default:
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
	}
}
