package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/dedup"
	"github.com/obmen/obmen/internal/store"
)

// The "Дубликаты" page (admins): the duplicate rules of leads, contacts
// and companies (keys and action, stored in the database), the groups of
// existing records sharing a phone, e-mail, INN or name, and the merge
// of two records field by field.

type dupRuleView struct {
	dedup.Rule
	Choices []dupKey // every key the entity can match by
}

type dupKey struct {
	Value, Label string
	Checked      bool
}

type dupGroupView struct {
	store.DupGroup
	Records []dupRecord
}

type dupRecord struct {
	ID    int64
	Title string
}

type duplicatesData struct {
	Rules    []dupRuleView
	Actions  []string
	Entity   string
	Entities []option
	Groups   []dupGroupView
	Error    string
}

func (u *UI) duplicatesPage(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.DuplicateRules) {
		return
	}
	u.showDuplicates(w, r, rq, http.StatusOK, r.URL.Query().Get("entity"), "")
}

func (u *UI) showDuplicates(w http.ResponseWriter, r *http.Request, rq *request, status int, entity, msg string) {
	if !slices.Contains(dedup.Entities, entity) {
		entity = store.EntityContact
	}
	d := duplicatesData{Actions: dedup.Actions, Entity: entity, Error: msg}
	rules, err := dedup.Rules(r.Context(), u.store)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	for _, rl := range rules {
		v := dupRuleView{Rule: rl}
		for _, k := range dedup.KeysOf(rl.Entity) {
			v.Choices = append(v.Choices, dupKey{k, rq.T("dup.key_" + k), slices.Contains(rl.Keys, k)})
		}
		d.Rules = append(d.Rules, v)
	}
	for _, e := range dedup.Entities {
		d.Entities = append(d.Entities, option{e, rq.T("e." + e)})
	}
	groups, err := u.store.DuplicateGroups(r.Context(), entity)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	e := u.byPath[entity]
	for _, g := range groups {
		gv := dupGroupView{DupGroup: g}
		for _, id := range g.IDs {
			rec, err := e.get(store.Unscoped(r.Context()), id)
			if err != nil {
				u.failErr(w, r, rq, err)
				return
			}
			gv.Records = append(gv.Records, dupRecord{ID: id, Title: titleOf(entity, rec)})
		}
		d.Groups = append(d.Groups, gv)
	}
	u.render(w, r, rq, status, "duplicates", rq.T("dup.title"), "admin", d)
}

// saveDupRule stores one entity's rule from the page's form.
func (u *UI) saveDupRule(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.DuplicateRules) {
		return
	}
	f := r.PostForm
	rule := dedup.Rule{Entity: f.Get("entity"), Action: f.Get("action"), Keys: f["keys"]}
	if _, err := dedup.SaveRule(r.Context(), u.store, rq.Actor(), rule); err != nil {
		if !invalid(err) {
			u.failErr(w, r, rq, err)
			return
		}
		u.showDuplicates(w, r, rq, http.StatusUnprocessableEntity, rule.Entity, fieldMsg(rq, err))
		return
	}
	back(w, r, "/duplicates?entity="+url.QueryEscape(rule.Entity)+"&flash=card.saved")
}

type mergeRow struct {
	Name, Label string
	Keep, Drop  string
	Differ      bool
}

type mergeData struct {
	Entity     string
	Keep, Drop int64
	KeepTitle  string
	DropTitle  string
	Rows       []mergeRow
	Error      string
}

// mergeIDs reads ?entity=&keep=&drop= (or the posted form).
func mergeIDs(v url.Values) (string, int64, int64) {
	keep, _ := strconv.ParseInt(v.Get("keep"), 10, 64)
	drop, _ := strconv.ParseInt(v.Get("drop"), 10, 64)
	return v.Get("entity"), keep, drop
}

// mergePage shows two records side by side: for each field that differs,
// which value the kept record is to have.
func (u *UI) mergePage(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.DuplicateRules) {
		return
	}
	entity, keep, drop := mergeIDs(r.URL.Query())
	u.showMerge(w, r, rq, http.StatusOK, entity, keep, drop, "")
}

func (u *UI) showMerge(w http.ResponseWriter, r *http.Request, rq *request, status int, entity string, keep, drop int64, msg string) {
	e, ok := u.byPath[entity]
	if !ok || !slices.Contains(store.MergeEntities, entity) {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	ctx := store.Unscoped(r.Context())
	a, err := e.get(ctx, keep)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	b, err := e.get(ctx, drop)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	lk := newLookups(r.Context(), u.store, rq.Lang)
	d := mergeData{Entity: entity, Keep: keep, Drop: drop, KeepTitle: titleOf(entity, a), DropTitle: titleOf(entity, b), Error: msg}
	for _, f := range e.Fields {
		if f.RO || f.Name == "id" {
			continue
		}
		row := mergeRow{Name: f.Name, Label: f.label(rq.T), Keep: lk.display(f, a), Drop: lk.display(f, b)}
		row.Differ = row.Keep != row.Drop
		d.Rows = append(d.Rows, row)
	}
	u.render(w, r, rq, status, "duplicates_merge", rq.T("dup.merge"), "admin", d)
}

// merge keeps one record with the chosen values and puts the other in
// the recycle bin (store.Merge moves its links).
func (u *UI) merge(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.DuplicateRules) {
		return
	}
	f := r.PostForm
	entity, keep, drop := mergeIDs(f)
	var take []string
	for k, v := range f {
		if name, ok := cutPrefix(k, "take."); ok && len(v) > 0 && v[0] == "drop" {
			take = append(take, name)
		}
	}
	slices.Sort(take)
	err := u.store.Merge(r.Context(), rq.Actor(), entity, keep, drop, take)
	if err != nil {
		if !invalid(err) && !errors.Is(err, store.ErrNotFound) {
			u.failErr(w, r, rq, err)
			return
		}
		u.showMerge(w, r, rq, http.StatusUnprocessableEntity, entity, keep, drop, fieldMsg(rq, err))
		return
	}
	back(w, r, "/e/"+entity+"/"+strconv.FormatInt(keep, 10)+"?flash=dup.merged")
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}
