package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// statusDicts are the status-like dictionaries an admin edits; deal stages
// are per pipeline (DEAL_STAGE, DEAL_STAGE_<id>).
var statusDicts = []string{"STATUS", "SOURCE", "ORDER_STATUS", "INVOICE_STATUS", "TICKET_STATUS"}

type dictData struct {
	Dict       string
	Dicts      []option
	Statuses   []crm.Status
	Pipelines  []crm.Pipeline
	Currencies []crm.Currency
	Units      []crm.Unit
	// PaymentMethods and Seller (the setting invoice.seller_account_id)
	// are what invoices are made with.
	PaymentMethods []crm.PaymentMethod
	Seller         string
	Prefixes       []option // setting key → value
	Custom         []crm.CustomField
	CFEntity       string
	Entities       []option
	Types          []string
	Error          string
}

var prefixSettings = []struct{ key, def string }{{"sales_order.prefix", "SO-"}, {"invoice.prefix", "INV-"}}

func (u *UI) dictionaries(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allowAs(w, r, rq, authz.Dictionaries, authz.Write, 0) {
		return
	}
	u.showDict(w, r, rq, http.StatusOK, "")
}

func (u *UI) showDict(w http.ResponseWriter, r *http.Request, rq *request, status int, errMsg string) {
	ctx := r.Context()
	q := r.URL.Query()
	d := dictData{Dict: q.Get("dict"), CFEntity: q.Get("cf"), Error: errMsg, Types: crm.CustomFieldTypes}
	if d.Dict == "" {
		d.Dict = "STATUS"
	}
	if d.CFEntity == "" || !store.IsEntity(d.CFEntity) {
		d.CFEntity = store.EntityLead
	}
	var err error
	if d.Pipelines, err = u.store.ListPipelines(ctx); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	for _, n := range statusDicts {
		d.Dicts = append(d.Dicts, option{n, rq.T("dict." + n)})
	}
	d.Dicts = append(d.Dicts, option{"DEAL_STAGE", rq.T("dict.DEAL_STAGE") + ": " + rq.T("kanban.default_pipeline")})
	for _, p := range d.Pipelines {
		if p.ID != 0 {
			d.Dicts = append(d.Dicts, option{stageDict(p.ID), rq.T("dict.DEAL_STAGE") + ": " + p.Name})
		}
	}
	for _, e := range u.entities {
		d.Entities = append(d.Entities, option{e.Name, rq.T("e." + e.Name)})
	}
	if d.Statuses, err = u.store.ListStatuses(ctx, d.Dict); err == nil {
		if d.Currencies, err = u.store.ListCurrencies(ctx); err == nil {
			if d.Units, err = u.store.ListUnits(ctx); err == nil {
				if d.PaymentMethods, err = u.store.ListPaymentMethods(ctx); err == nil {
					d.Custom, err = u.store.CustomFields(ctx, d.CFEntity)
				}
			}
		}
	}
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	for _, p := range prefixSettings {
		v, err := u.store.GetSetting(ctx, p.key)
		if errors.Is(err, store.ErrNotFound) {
			v, err = p.def, nil
		}
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		d.Prefixes = append(d.Prefixes, option{p.key, v})
	}
	if d.Seller, err = u.store.GetSetting(ctx, store.SellerSetting); errors.Is(err, store.ErrNotFound) {
		d.Seller, err = "0", nil
	}
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	u.render(w, r, rq, status, "dict", rq.T("dict.title"), "admin", d)
}

// dictAction changes a dictionary: the action is the last path segment.
func (u *UI) dictAction(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allowAs(w, r, rq, authz.Dictionaries, authz.Write, 0) {
		return
	}
	ctx, a, f := r.Context(), rq.Actor(), r.PostForm
	num := func(k string) int { n, _ := strconv.Atoi(strings.TrimSpace(f.Get(k))); return n }
	id, _ := strconv.ParseInt(f.Get("id"), 10, 64)
	var err error
	switch r.PathValue("action") {
	case "status-add":
		_, err = u.store.CreateStatus(ctx, a, crm.Status{EntityID: f.Get("dict"), StatusID: strings.TrimSpace(f.Get("status_id")),
			Name: strings.TrimSpace(f.Get("name")), Sort: num("sort"), Semantics: f.Get("semantics")})
	case "status-save":
		var st crm.Status
		if st, err = u.store.GetStatus(ctx, id); err == nil {
			st.Name, st.Sort = strings.TrimSpace(f.Get("name")), num("sort")
			_, err = u.store.UpdateStatus(ctx, a, st)
		}
	case "status-del":
		err = u.store.DeleteStatus(ctx, a, id)
	case "pipe-add":
		_, err = u.store.CreatePipeline(ctx, a, crm.Pipeline{Name: strings.TrimSpace(f.Get("name")), Sort: num("sort")})
	case "pipe-save":
		var p crm.Pipeline
		if p, err = u.store.GetPipeline(ctx, id); err == nil {
			p.Name, p.Sort = strings.TrimSpace(f.Get("name")), num("sort")
			_, err = u.store.UpdatePipeline(ctx, a, p)
		}
	case "pipe-del":
		err = u.store.DeletePipeline(ctx, a, id)
	case "currency-save":
		c := crm.Currency{Code: strings.ToUpper(strings.TrimSpace(f.Get("code"))), Name: strings.TrimSpace(f.Get("name")),
			Rate: strings.ReplaceAll(strings.TrimSpace(f.Get("rate")), ",", "."), Active: f.Get("active") == "on", Sort: num("sort")}
		if cur, err2 := u.store.GetCurrency(ctx, c.Code); err2 == nil {
			c.Base = cur.Base
		}
		_, err = u.store.UpsertCurrency(ctx, a, c)
	case "unit-add":
		_, err = u.store.CreateUnit(ctx, a, crm.Unit{Name: strings.TrimSpace(f.Get("name")), Title: strings.TrimSpace(f.Get("title")), OKEI: strings.TrimSpace(f.Get("okei"))})
	case "unit-del":
		err = u.store.DeleteUnit(ctx, a, id)
	case "pm-add", "pm-save":
		m := crm.PaymentMethod{ID: id, Name: f.Get("name"), ClientType: f.Get("client_type"), URLTemplate: f.Get("url_template"),
			Active: f.Get("active") == "on", Sort: num("sort")}
		if m.Sort == 0 {
			m.Sort = 100
		}
		if r.PathValue("action") == "pm-add" {
			_, err = u.store.CreatePaymentMethod(ctx, a, m)
		} else {
			_, err = u.store.UpdatePaymentMethod(ctx, a, m)
		}
	case "pm-del":
		err = u.store.DeletePaymentMethod(ctx, a, id)
	case "pm-seller":
		v := strings.TrimSpace(f.Get("seller_account_id"))
		if v == "" {
			v = "0"
		}
		if n, perr := strconv.ParseInt(v, 10, 64); perr != nil || n < 0 {
			err = crm.Invalid("seller_account_id", "%q is not an account id", v)
		} else if n > 0 {
			if _, gerr := u.store.GetAccount(ctx, n); gerr != nil {
				err = crm.Invalid("seller_account_id", "no account with id %d", n)
			}
		}
		if err == nil {
			err = u.store.SetSetting(ctx, a, store.SellerSetting, v)
		}
	case "prefix-save":
		for _, p := range prefixSettings {
			if f.Has(p.key) && err == nil {
				err = u.store.SetSetting(ctx, a, p.key, strings.TrimSpace(f.Get(p.key)))
			}
		}
	case "cf-add":
		_, err = u.store.CreateCustomField(ctx, a, crm.CustomField{Entity: f.Get("entity"), Code: strings.ToUpper(strings.TrimSpace(f.Get("code"))),
			Label: strings.TrimSpace(f.Get("label")), Type: f.Get("type"), Options: splitList(f.Get("options")), Required: f.Get("required") == "on", Sort: num("sort")})
	case "cf-del":
		err = u.store.DeleteCustomField(ctx, a, id)
	default:
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	q := url.Values{"dict": {f.Get("dict")}, "cf": {f.Get("entity")}}
	r.URL.RawQuery = q.Encode()
	if err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			u.showDict(w, r, rq, http.StatusUnprocessableEntity, rq.T("f."+fe.Field)+": "+fieldMessage(rq, fe))
			return
		}
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			u.showDict(w, r, rq, http.StatusUnprocessableEntity, strings.TrimPrefix(err.Error(), "store: "))
			return
		}
		u.failErr(w, r, rq, err)
		return
	}
	q.Set("flash", "card.saved")
	back(w, r, "/admin/dict?"+q.Encode())
}
