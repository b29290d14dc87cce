package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/crm"
)

// The exchanges with web shops (issue 18), admins only: the list of
// sites, one site's settings with "check connection" and "run now".

// SetSites gives the UI the site exchanges.
func (u *UI) SetSites(s *site.Service) { u.sites = s }

func (u *UI) registerSites(mux *http.ServeMux) {
	u.handle(mux, "GET /admin/sites", u.sitesPage)
	u.handle(mux, "POST /admin/sites", u.siteCreate)
	u.handle(mux, "GET /admin/sites/{id}", u.sitePage)
	u.handle(mux, "POST /admin/sites/{id}/{action}", u.siteAction)
}

type sitesData struct {
	Sites    []site.Settings
	S        site.Settings
	Users    []crm.User
	Statuses []crm.Status
	Versions []string
	// StatusMap is the status map as "ours=theirs" lines, Catalogs the
	// catalog ids comma separated, as the form shows them.
	StatusMap, Catalogs, Warehouses, Extra string
	Error, Notice                          string
	Check                                  *site.CheckResult
	Run                                    *site.RunResult
}

func (u *UI) showSites(w http.ResponseWriter, r *http.Request, rq *request, status int, d sitesData) {
	ctx := r.Context()
	var err error
	if d.Sites, err = u.sites.Store.List(ctx); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if d.Users, err = u.store.ListUsers(ctx); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if d.Statuses, err = u.store.ListStatuses(ctx, "ORDER_STATUS"); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d.Versions = []string{"2.03", "2.04", "2.05", "2.07", "2.08", "2.09", "2.10"}
	if d.S.Version == "" {
		d.S.Version = "2.05"
	}
	if d.StatusMap == "" {
		var lines []string
		for k, v := range d.S.StatusMap {
			lines = append(lines, k+"="+v)
		}
		slices.Sort(lines)
		d.StatusMap = strings.Join(lines, "\n")
	}
	if d.Catalogs == "" {
		ids := make([]string, len(d.S.Catalogs))
		for i, id := range d.S.Catalogs {
			ids[i] = strconv.FormatInt(id, 10)
		}
		d.Catalogs = strings.Join(ids, ", ")
	}
	if d.Warehouses == "" {
		d.Warehouses = strings.Join(d.S.Warehouses, ", ")
	}
	if d.Extra == "" {
		d.Extra = strings.Join(d.S.ExtraPriceTypes, ", ")
	}
	title := rq.T("site.title")
	if d.S.ID != 0 {
		title = d.S.Name + " — " + title
	}
	u.render(w, r, rq, status, "sites", title, "integrations", d)
}

func (u *UI) sitesPage(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Exchange1C) {
		return
	}
	u.showSites(w, r, rq, http.StatusOK, sitesData{S: site.Settings{CatalogEvery: 15, OrdersEvery: 5, Enabled: true}})
}

func (u *UI) sitePage(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Exchange1C) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s, err := u.sites.Store.Get(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	u.showSites(w, r, rq, http.StatusOK, sitesData{S: s})
}

// siteForm reads the settings form; bad names the field that is not a
// number or a list of them.
func siteForm(r *http.Request) (site.Settings, sitesData, string) {
	f := r.PostForm
	d := sitesData{StatusMap: f.Get("status_map"), Catalogs: f.Get("catalogs"), Warehouses: f.Get("warehouses"), Extra: f.Get("extra_price_types")}
	s := site.Settings{Name: f.Get("name"), URL: f.Get("url"), Login: f.Get("login"), Password: f.Get("password"), PriceType: f.Get("price_type"),
		Version: f.Get("version"), Encoding: f.Get("encoding"), OnlyChanged: f.Get("only_changed") == "on", Enabled: f.Get("enabled") == "on",
		StatusMap: map[string]string{}}
	bad := ""
	num := func(name string) int64 {
		v := strings.TrimSpace(f.Get(name))
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			bad = name
		}
		return n
	}
	s.ResponsibleUserID = num("responsible_user_id")
	s.OwnerAccountID = num("owner_account_id")
	s.CatalogEvery, s.OrdersEvery, s.AlertAfter, s.KeepDays = int(num("catalog_every")), int(num("orders_every")), int(num("alert_after")), int(num("keep_days"))
	for _, part := range strings.FieldsFunc(d.Catalogs, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		id, err := strconv.ParseInt(part, 10, 64)
		if err != nil {
			bad = "catalogs"
			continue
		}
		s.Catalogs = append(s.Catalogs, id)
	}
	split := func(v string) []string {
		var out []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	s.Warehouses, s.ExtraPriceTypes = split(d.Warehouses), split(d.Extra)
	for _, line := range strings.Split(d.StatusMap, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			bad = "status_map"
			continue
		}
		s.StatusMap[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return s, d, bad
}

func (u *UI) siteCreate(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Exchange1C) {
		return
	}
	u.siteSave(w, r, rq, 0)
}

func (u *UI) siteSave(w http.ResponseWriter, r *http.Request, rq *request, id int64) {
	s, d, bad := siteForm(r)
	s.ID = id
	d.S = s
	if bad != "" {
		d.Error = rq.T("site.f."+bad) + ": " + rq.T("site.not_number")
		u.showSites(w, r, rq, http.StatusUnprocessableEntity, d)
		return
	}
	var err error
	var out site.Settings
	if id == 0 {
		out, err = u.sites.Store.Create(r.Context(), rq.Actor(), s)
	} else {
		out, err = u.sites.Store.Update(r.Context(), rq.Actor(), id, s)
	}
	if err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			field, _, _ := strings.Cut(fe.Field, "[")
			d.Error = rq.T("site.f."+field) + ": " + fieldMessage(rq, fe)
			d.S.Password = ""
			if id != 0 {
				if prev, err := u.sites.Store.Get(r.Context(), id); err == nil {
					d.S.PasswordSet = prev.PasswordSet
				}
			}
			u.showSites(w, r, rq, http.StatusUnprocessableEntity, d)
			return
		}
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, fmt.Sprintf("/admin/sites/%d?flash=card.saved", out.ID))
}

func (u *UI) siteAction(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Exchange1C) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	ctx := r.Context()
	switch r.PathValue("action") {
	case "save":
		u.siteSave(w, r, rq, id)
	case "delete":
		if err := u.sites.Store.Delete(ctx, id); err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		back(w, r, "/admin/sites?flash=ca.deleted")
	case "check":
		s, err := u.sites.Store.Open(ctx, id)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		c := u.sites.Check(ctx, s)
		s.Password = ""
		u.showSites(w, r, rq, http.StatusOK, sitesData{S: s, Check: &c})
	case "run-catalog", "run-orders":
		kind := strings.TrimPrefix(r.PathValue("action"), "run-")
		res, err := u.sites.RunNow(ctx, id, kind) // a long run: its entry, still running
		if err != nil && res.EntryID == 0 {
			s, gerr := u.sites.Store.Get(ctx, id)
			if gerr != nil {
				u.failErr(w, r, rq, gerr)
				return
			}
			u.showSites(w, r, rq, http.StatusOK, sitesData{S: s, Error: err.Error()})
			return
		}
		s, err := u.sites.Store.Get(ctx, id)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		u.showSites(w, r, rq, http.StatusOK, sitesData{S: s, Run: &res})
	default:
		http.NotFound(w, r)
	}
}
