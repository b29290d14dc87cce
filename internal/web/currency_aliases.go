package web

import (
	"net/http"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// aliasesData is the currency-aliases page: what 1C writes for a
// currency ("грн", "руб.", "у.е.") and the ISO code it means.
type aliasesData struct {
	Aliases    []store.CurrencyAlias
	Currencies []crm.Currency
	// Alias and Code are the add form as sent, ErrField and Error what
	// was wrong with it.
	Alias, Code     string
	ErrField, Error string
}

func (u *UI) currencyAliases(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allowAs(w, r, rq, authz.Dictionaries, authz.Write, 0) {
		return
	}
	u.showAliases(w, r, rq, http.StatusOK, aliasesData{})
}

func (u *UI) showAliases(w http.ResponseWriter, r *http.Request, rq *request, status int, d aliasesData) {
	var err error
	if d.Aliases, err = u.store.ListCurrencyAliases(r.Context()); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if d.Currencies, err = u.store.ListCurrencies(r.Context()); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	u.render(w, r, rq, status, "currency_aliases", rq.T("ca.title"), "integrations", d)
}

// saveCurrencyAlias adds an alias or changes its code; a bad one is shown
// with the form as sent.
func (u *UI) saveCurrencyAlias(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allowAs(w, r, rq, authz.Dictionaries, authz.Write, 0) {
		return
	}
	a := store.CurrencyAlias{Alias: strings.TrimSpace(r.PostFormValue("alias")), Code: strings.TrimSpace(r.PostFormValue("code"))}
	_, err := u.store.SetCurrencyAlias(r.Context(), rq.Actor(), a)
	if err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			u.showAliases(w, r, rq, http.StatusUnprocessableEntity, aliasesData{Alias: a.Alias, Code: a.Code, ErrField: fe.Field,
				Error: rq.T("ca."+fe.Field) + ": " + fieldMessage(rq, fe)})
			return
		}
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/admin/currency-aliases?flash=card.saved")
}

func (u *UI) deleteCurrencyAlias(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allowAs(w, r, rq, authz.Dictionaries, authz.Write, 0) {
		return
	}
	alias := r.PostFormValue("alias")
	if err := u.store.DeleteCurrencyAlias(r.Context(), rq.Actor(), alias); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/admin/currency-aliases?flash=ca.deleted")
}
