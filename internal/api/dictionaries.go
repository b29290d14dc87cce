package api

import (
	"net/http"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// SettingInput sets one setting.
type SettingInput struct {
	Value string `json:"value"`
}

// Setting is one setting.
type Setting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// settingKeys are the settings the API may read and write.
var settingKeys = map[string]bool{"sales_order.prefix": true, "invoice.prefix": true, store.SellerSetting: true}

func (a *API) dictionaryRoutes(mux *http.ServeMux) {
	s := a.store
	a.handle(mux, "GET /api/v1/currencies", "Currencies", nil, ListResponse[crm.Currency]{}, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		v, err := s.ListCurrencies(r.Context())
		return writeList(w, v, err)
	})
	a.handle(mux, "PUT /api/v1/currencies/{code}", "Create or change a currency (admin)", crm.Currency{}, crm.Currency{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Dictionaries, authz.Write, 0); err != nil {
				return err
			}
			var c crm.Currency
			if err := a.body(r, &c); err != nil {
				return err
			}
			c.Code = r.PathValue("code")
			out, err := s.UpsertCurrency(r.Context(), p.Actor, c)
			return writeOne(w, http.StatusOK, out, err)
		})
	a.handle(mux, "GET /api/v1/currency-aliases", "What 1C writes for currencies (грн, руб., у.е.) and the ISO code each means", nil,
		ListResponse[store.CurrencyAlias]{}, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			v, err := s.ListCurrencyAliases(r.Context())
			return writeList(w, v, err)
		})
	a.handle(mux, "PUT /api/v1/currency-aliases/{alias}", "Map a currency spelling to an ISO code (admin)", store.CurrencyAlias{}, store.CurrencyAlias{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Dictionaries, authz.Write, 0); err != nil {
				return err
			}
			var in store.CurrencyAlias
			if err := a.body(r, &in); err != nil {
				return err
			}
			in.Alias = r.PathValue("alias")
			out, err := s.SetCurrencyAlias(r.Context(), p.Actor, in)
			return writeOne(w, http.StatusOK, out, err)
		})
	a.handle(mux, "DELETE /api/v1/currency-aliases/{alias}", "Remove a currency spelling (admin)", nil, nil, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		if err := authorize(p, authz.Dictionaries, authz.Write, 0); err != nil {
			return err
		}
		return writeNone(w, s.DeleteCurrencyAlias(r.Context(), p.Actor, r.PathValue("alias")))
	})
	a.handle(mux, "GET /api/v1/units", "Units of measure", nil, ListResponse[crm.Unit]{}, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		v, err := s.ListUnits(r.Context())
		return writeList(w, v, err)
	})
	a.handle(mux, "POST /api/v1/units", "Add a unit (admin)", crm.Unit{}, crm.Unit{}, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		if err := authorize(p, authz.Dictionaries, authz.Write, 0); err != nil {
			return err
		}
		var u crm.Unit
		if err := a.body(r, &u); err != nil {
			return err
		}
		out, err := s.CreateUnit(r.Context(), p.Actor, u)
		return writeOne(w, http.StatusCreated, out, err)
	})
	a.handle(mux, "DELETE /api/v1/units/{id}", "Remove a unit (admin)", nil, nil, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		if err := authorize(p, authz.Dictionaries, authz.Write, 0); err != nil {
			return err
		}
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		return writeNone(w, s.DeleteUnit(r.Context(), p.Actor, id))
	})
	a.handle(mux, "GET /api/v1/pipelines", "Deal pipelines (Bitrix24 categories)", nil, ListResponse[crm.Pipeline]{}, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		v, err := s.ListPipelines(r.Context())
		return writeList(w, v, err)
	})
	a.handle(mux, "POST /api/v1/pipelines", "Add a pipeline with its default stages (admin)", crm.Pipeline{}, crm.Pipeline{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Dictionaries, authz.Write, 0); err != nil {
				return err
			}
			var in crm.Pipeline
			if err := a.body(r, &in); err != nil {
				return err
			}
			out, err := s.CreatePipeline(r.Context(), p.Actor, in)
			return writeOne(w, http.StatusCreated, out, err)
		})
	a.handle(mux, "PUT /api/v1/pipelines/{id}", "Rename or re-sort a pipeline (admin)", crm.Pipeline{}, crm.Pipeline{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Dictionaries, authz.Write, 0); err != nil {
				return err
			}
			id, err := pathIDZero(r, "id")
			if err != nil {
				return err
			}
			var in crm.Pipeline
			if err := a.body(r, &in); err != nil {
				return err
			}
			in.ID = id
			out, err := s.UpdatePipeline(r.Context(), p.Actor, in)
			return writeOne(w, http.StatusOK, out, err)
		})
	a.handle(mux, "DELETE /api/v1/pipelines/{id}", "Remove an unused pipeline (admin)", nil, nil, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		if err := authorize(p, authz.Dictionaries, authz.Write, 0); err != nil {
			return err
		}
		id, err := pathIDZero(r, "id")
		if err != nil {
			return err
		}
		return writeNone(w, s.DeletePipeline(r.Context(), p.Actor, id))
	})
	a.handle(mux, "GET /api/v1/statuses", "Statuses, stages and sources (entity_id: STATUS, SOURCE, DEAL_STAGE, DEAL_STAGE_n, ORDER_STATUS …)", nil, ListResponse[crm.Status]{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			v, err := s.ListStatuses(r.Context(), r.URL.Query().Get("entity_id"))
			return writeList(w, v, err)
		})
	a.handle(mux, "POST /api/v1/statuses", "Add a status, stage or source (admin)", crm.Status{}, crm.Status{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Dictionaries, authz.Write, 0); err != nil {
				return err
			}
			var in crm.Status
			if err := a.body(r, &in); err != nil {
				return err
			}
			out, err := s.CreateStatus(r.Context(), p.Actor, in)
			return writeOne(w, http.StatusCreated, out, err)
		})
	a.handle(mux, "PUT /api/v1/statuses/{id}", "Change a status's name, sort or semantics (admin)", crm.Status{}, crm.Status{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Dictionaries, authz.Write, 0); err != nil {
				return err
			}
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			var in crm.Status
			if err := a.body(r, &in); err != nil {
				return err
			}
			in.ID = id
			out, err := s.UpdateStatus(r.Context(), p.Actor, in)
			return writeOne(w, http.StatusOK, out, err)
		})
	a.handle(mux, "DELETE /api/v1/statuses/{id}", "Remove an unused status (admin)", nil, nil, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		if err := authorize(p, authz.Dictionaries, authz.Write, 0); err != nil {
			return err
		}
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		return writeNone(w, s.DeleteStatus(r.Context(), p.Actor, id))
	})
	a.handle(mux, "GET /api/v1/settings/{key}", "Read a setting (sales_order.prefix, invoice.prefix)", nil, Setting{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			key := r.PathValue("key")
			if !settingKeys[key] {
				return httpx.Errorf(http.StatusNotFound, "not_found", "key", "no setting %q", key)
			}
			v, err := s.GetSetting(r.Context(), key)
			return writeOne(w, http.StatusOK, Setting{Key: key, Value: v}, err)
		})
	a.handle(mux, "PUT /api/v1/settings/{key}", "Change a setting (admin)", SettingInput{}, Setting{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Settings, authz.Write, 0); err != nil {
				return err
			}
			key := r.PathValue("key")
			if !settingKeys[key] {
				return httpx.Errorf(http.StatusNotFound, "not_found", "key", "no setting %q", key)
			}
			var in SettingInput
			if err := a.body(r, &in); err != nil {
				return err
			}
			if len(in.Value) > 20 {
				return crm.Invalid("value", "at most 20 characters")
			}
			return writeOne(w, http.StatusOK, Setting{Key: key, Value: in.Value}, s.SetSetting(r.Context(), p.Actor, key, in.Value))
		})
}

func writeList[T any](w http.ResponseWriter, items []T, err error) error {
	if err != nil {
		return err
	}
	if items == nil {
		items = []T{}
	}
	httpx.WriteJSON(w, http.StatusOK, ListResponse[T]{Items: items})
	return nil
}

func writeOne(w http.ResponseWriter, status int, v any, err error) error {
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, status, v)
	return nil
}

func writeNone(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
