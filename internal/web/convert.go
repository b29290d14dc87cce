package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// dupe is an existing record that may be the lead's person or company.
type dupe struct {
	ID          int64
	Title, Link string
	By          string // what matched: a phone, an e-mail
}

type convertData struct {
	Lead      crm.Lead
	LeadTitle string
	DealTitle string
	Pipelines []option
	Pipeline  string
	Stages    []option
	Stage     string
	Contacts  []dupe
	Accounts  []dupe
	// Hidden are duplicates among the records the user may not see:
	// named only by entity, responsible user and what matched.
	Hidden     []hiddenDupe
	Error      string
	Action     string
	DealOn     bool
	ContactOn  bool
	AccountOn  bool
	HasCompany bool
}

// hiddenDupe is a duplicate the user may not see.
type hiddenDupe struct {
	Entity, Owner, By string
}

// findHiddenDupes repeats the lookups of findDupes over every record —
// explicitly unscoped, as a system check — and tells of the matches the
// user's own lookups did not show, without their titles or links, so that
// a manager does not create a second company that a colleague already
// has.
func (u *UI) findHiddenDupes(r *http.Request, l crm.Lead, contacts, accounts []dupe) ([]hiddenDupe, error) {
	if !store.IsScoped(r.Context()) {
		return nil, nil
	}
	shown := map[string]bool{}
	for _, d := range contacts {
		shown[store.EntityContact+strconv.FormatInt(d.ID, 10)] = true
	}
	for _, d := range accounts {
		shown[store.EntityAccount+strconv.FormatInt(d.ID, 10)] = true
	}
	users, err := u.store.ListUsers(r.Context())
	if err != nil {
		return nil, err
	}
	names := map[int64]string{}
	for _, x := range users {
		names[x.ID] = userName(x)
	}
	sys := store.Unscoped(r.Context())
	var out []hiddenDupe
	add := func(entity string, id, owner int64, by string) {
		k := entity + strconv.FormatInt(id, 10)
		if !shown[k] {
			shown[k] = true
			out = append(out, hiddenDupe{Entity: entity, Owner: names[owner], By: by})
		}
	}
	for _, lp := range dupeLookups(l) {
		by := lp.Phone + lp.Email + lp.INN
		cs, _, err := u.store.ListContacts(sys, lp)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			add(store.EntityContact, c.ID, c.AssignedByID, by)
		}
		as, _, err := u.store.ListAccounts(sys, lp)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			add(store.EntityAccount, a.ID, a.AssignedByID, by)
		}
	}
	return out, nil
}

// dupeLookups are the lists that find a lead's duplicates: by each phone,
// e-mail and INN.
func dupeLookups(l crm.Lead) []store.ListParams {
	var lookups []store.ListParams
	for _, p := range l.Phones {
		lookups = append(lookups, store.ListParams{Phone: p.Value, Limit: 5})
	}
	for _, e := range l.Emails {
		lookups = append(lookups, store.ListParams{Email: e.Value, Limit: 5})
	}
	// Leads have no INN field; web forms and integrations put it in a
	// custom field. Any custom value that is a valid INN is looked up.
	for _, v := range l.Custom {
		if s, ok := v.(string); ok && crm.ValidINN(strings.TrimSpace(s)) == nil {
			lookups = append(lookups, store.ListParams{INN: strings.TrimSpace(s), Limit: 5})
		}
	}
	return lookups
}

// findDupes looks up contacts and accounts sharing a phone or an e-mail
// with the lead, among those the user may see.
func (u *UI) findDupes(r *http.Request, l crm.Lead) (contacts, accounts []dupe, err error) {
	seen := map[string]bool{}
	add := func(list *[]dupe, entity string, id int64, title, by string) {
		k := entity + strconv.FormatInt(id, 10)
		if seen[k] {
			return
		}
		seen[k] = true
		*list = append(*list, dupe{ID: id, Title: title, Link: "/e/" + entity + "/" + strconv.FormatInt(id, 10), By: by})
	}
	for _, lp := range dupeLookups(l) {
		by := lp.Phone + lp.Email + lp.INN
		cs, _, err := u.store.ListContacts(r.Context(), lp)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range cs {
			add(&contacts, store.EntityContact, c.ID, joinNonEmpty(c.LastName, c.Name, c.SecondName), by)
		}
		as, _, err := u.store.ListAccounts(r.Context(), lp)
		if err != nil {
			return nil, nil, err
		}
		for _, a := range as {
			add(&accounts, store.EntityAccount, a.ID, a.Title, by)
		}
	}
	if l.CompanyTitle != "" {
		// An account of the same name, found by text search.
		as, _, err := u.store.ListAccounts(r.Context(), store.ListParams{Q: l.CompanyTitle, Limit: 5})
		if err != nil {
			return nil, nil, err
		}
		for _, a := range as {
			if strings.EqualFold(a.Title, l.CompanyTitle) {
				add(&accounts, store.EntityAccount, a.ID, a.Title, a.Title)
			}
		}
	}
	return contacts, accounts, nil
}

func (u *UI) convertPage(w http.ResponseWriter, r *http.Request, rq *request) {
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	u.showConvert(w, r, rq, id, http.StatusOK, "")
}

func (u *UI) showConvert(w http.ResponseWriter, r *http.Request, rq *request, id int64, status int, errMsg string) {
	l, err := u.store.GetLead(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d := convertData{Lead: l, LeadTitle: titleOf(store.EntityLead, record{"id": l.ID, "title": l.Title}), Error: errMsg,
		Action: "/e/lead/" + strconv.FormatInt(id, 10) + "/convert", DealOn: true, ContactOn: true, AccountOn: l.CompanyTitle != "",
		HasCompany: l.CompanyTitle != "", DealTitle: l.Title}
	if l.DealID != 0 || l.ContactID != 0 || l.AccountID != 0 {
		d.Error = rq.T("conv.already")
	}
	if d.DealTitle == "" {
		d.DealTitle = joinNonEmpty(l.Name, l.LastName)
	}
	lk := u.lookupsFor(r.Context(), rq)
	pipe := r.URL.Query().Get("category_id")
	if pipe == "" {
		pipe = "0"
	}
	pid, _ := strconv.ParseInt(pipe, 10, 64)
	d.Pipeline = pipe
	d.Pipelines = lk.options(field{Kind: kPipeline}, nil, rq.T)
	d.Stages = lk.options(field{Kind: kStage}, record{"category_id": pid}, rq.T)[1:]
	if len(d.Stages) > 0 {
		d.Stage = d.Stages[0].Value
	}
	d.Contacts, d.Accounts, err = u.findDupes(r, l)
	if err == nil {
		d.Hidden, err = u.findHiddenDupes(r, l, d.Contacts, d.Accounts)
	}
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if len(d.Contacts) > 0 {
		d.ContactOn = false
	}
	if len(d.Accounts) > 0 {
		d.AccountOn = false
	}
	if lk.err != nil {
		u.failErr(w, r, rq, lk.err)
		return
	}
	u.render(w, r, rq, status, "convert", rq.T("conv.title"), store.EntityLead, d)
}

func (u *UI) convertSubmit(w http.ResponseWriter, r *http.Request, rq *request) {
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	f := r.PostForm
	o := store.ConvertOptions{Deal: f.Get("deal") == "on", Contact: f.Get("contact") == "on", Account: f.Get("account") == "on",
		DealTitle: strings.TrimSpace(f.Get("deal_title")), StageID: f.Get("stage_id")}
	o.CategoryID, _ = strconv.ParseInt(f.Get("category_id"), 10, 64)
	o.ContactID, _ = strconv.ParseInt(f.Get("contact_id"), 10, 64)
	o.AccountID, _ = strconv.ParseInt(f.Get("account_id"), 10, 64)
	res, err := u.store.ConvertLead(r.Context(), rq.Actor(), id, o)
	if err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			u.showConvert(w, r, rq, id, http.StatusUnprocessableEntity, rq.T("f."+fe.Field)+": "+fieldMessage(rq, fe))
			return
		}
		u.failErr(w, r, rq, err)
		return
	}
	to := "/e/lead/" + strconv.FormatInt(id, 10)
	if res.Deal != nil {
		to = "/e/deal/" + strconv.FormatInt(res.Deal.ID, 10)
	}
	back(w, r, to+"?flash=card.converted")
}
