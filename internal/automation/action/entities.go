package action

import (
	"context"
	"slices"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dedup"
	"github.com/obmen/obmen/internal/store"
)

// entities are the CRM records the generic actions serve.
type entities struct {
	leads      *entity[crm.Lead, *crm.Lead]
	contacts   *entity[crm.Contact, *crm.Contact]
	accounts   *entity[crm.Account, *crm.Account]
	deals      *entity[crm.Deal, *crm.Deal]
	orders     *entity[crm.SalesOrder, *crm.SalesOrder]
	products   *entity[crm.Product, *crm.Product]
	activities *entity[crm.Activity, *crm.Activity]
}

func newEntities(s *store.Store) entities {
	withID := func(keys ...string) []string { return append([]string{ByID}, keys...) }
	var es entities

	es.leads = &entity[crm.Lead, *crm.Lead]{
		name: store.EntityLead, st: s,
		readOnly: []string{"contact_id", "account_id", "deal_id", "converted_at"},
		dupKeys:  []string{ByPhone, ByEmail, ByExternalID, ByName},
		get:      s.GetLead, list: s.ListLeads, create: s.CreateLead, update: s.UpdateLead,
		comms: func(v *crm.Lead) *crm.Comms { return &v.Comms },
		rows:  func(v *crm.Lead) *[]crm.LineItem { return &v.ProductRows }, rowsField: "product_rows",
		amount: func(v *crm.Lead) *crm.Amount { return &v.Opportunity },
	}
	es.leads.dupName, es.leads.findName = titleKeys(func(v *crm.Lead) string { return v.Title })

	es.contacts = &entity[crm.Contact, *crm.Contact]{
		name: store.EntityContact, st: s,
		readOnly: []string{"lead_id"},
		dupKeys:  []string{ByPhone, ByEmail, ByExternalID, ByName},
		get:      s.GetContact, list: s.ListContacts, create: s.CreateContact, update: s.UpdateContact,
		comms: func(v *crm.Contact) *crm.Comms { return &v.Comms },
		// A contact's name is its first and last names.
		dupName: func(v *crm.Contact) (store.ListParams, func(*crm.Contact) bool, bool) {
			name, last := strings.TrimSpace(v.Name), strings.TrimSpace(v.LastName)
			if name == "" && last == "" {
				return store.ListParams{}, nil, false
			}
			q := last
			if q == "" {
				q = name
			}
			return store.ListParams{Q: q}, func(r *crm.Contact) bool { return dedup.SameText(r.Name, name) && dedup.SameText(r.LastName, last) }, true
		},
		// A typed name is its words in any order: "Иван Петров",
		// "Петров Иван", "Петров Иван Сергеевич".
		findName: func(value string) (store.ListParams, func(*crm.Contact) bool) {
			w := dedup.Words(value)
			return store.ListParams{Q: dedup.LongestWord(value)}, func(r *crm.Contact) bool {
				return slices.Equal(dedup.Words(r.Name, r.LastName), w) || slices.Equal(dedup.Words(r.Name, r.SecondName, r.LastName), w)
			}
		},
	}

	es.accounts = &entity[crm.Account, *crm.Account]{
		name: store.EntityAccount, st: s,
		readOnly: []string{"requisites"},
		dupKeys:  []string{ByPhone, ByEmail, ByINN, ByExternalID, ByName},
		get:      s.GetAccount, list: s.ListAccounts, create: s.CreateAccount, update: s.UpdateAccount,
		comms: func(v *crm.Account) *crm.Comms { return &v.Comms },
		inn:   func(v *crm.Account) string { return v.INN },
	}
	es.accounts.dupName, es.accounts.findName = titleKeys(func(v *crm.Account) string { return v.Title })

	// Seed 003's "contacts" of a company: each contact gets the company
	// among its companies.
	es.accounts.afterUpdate = func(ctx context.Context, c *automation.Call, id int64, in map[string]any) error {
		v, ok := in["contacts"]
		if !ok {
			return nil
		}
		ids, err := seedIDs("contacts", v)
		if err != nil {
			return err
		}
		for _, cid := range ids {
			_, err := es.contacts.update(ctx, c.Actor, cid, func(ct *crm.Contact) error {
				if !slices.Contains(ct.AccountIDs, id) {
					ct.AccountIDs = append(ct.AccountIDs, id)
				}
				return nil
			})
			if err != nil {
				return failOn(err, store.EntityContact, cid)
			}
		}
		return nil
	}

	es.deals = &entity[crm.Deal, *crm.Deal]{
		name: store.EntityDeal, st: s,
		readOnly: []string{"closed", "won"},
		dupKeys:  []string{ByExternalID, ByName},
		get:      s.GetDeal, list: s.ListDeals, create: s.CreateDeal, update: s.UpdateDeal,
		rows: func(v *crm.Deal) *[]crm.LineItem { return &v.ProductRows }, rowsField: "product_rows",
		amount: func(v *crm.Deal) *crm.Amount { return &v.Opportunity },
	}
	es.deals.dupName, es.deals.findName = titleKeys(func(v *crm.Deal) string { return v.Title })

	// A sales order has no title: its number, given by the system, is
	// its name, so find looks by it and a create cannot.
	es.orders = &entity[crm.SalesOrder, *crm.SalesOrder]{
		name: store.EntitySalesOrder, st: s,
		readOnly: []string{"number", "subtotal", "discount", "tax", "total"},
		dupKeys:  []string{ByExternalID},
		get:      s.GetSalesOrder, list: s.ListSalesOrders, create: s.CreateSalesOrder, update: s.UpdateSalesOrder,
		rows: func(v *crm.SalesOrder) *[]crm.LineItem { return &v.Items }, rowsField: "items",
		findName: func(value string) (store.ListParams, func(*crm.SalesOrder) bool) {
			return store.ListParams{Filters: []store.Filter{{Field: "number", Op: "eq", Value: value}}}, nil
		},
	}

	es.products = &entity[crm.Product, *crm.Product]{
		name: store.EntityProduct, st: s,
		dupKeys: []string{ByExternalID, ByName},
		get:     s.GetProduct, list: s.ListProducts, create: s.CreateProduct, update: s.UpdateProduct,
		// A product is active unless the input says otherwise, as in the
		// REST API.
		defaults: func(v *crm.Product, given map[string]any) {
			if _, ok := given["active"]; !ok {
				v.Active = true
			}
		},
		// A product's name is its name and article; an input without an
		// article matches by the name alone.
		dupName: func(v *crm.Product) (store.ListParams, func(*crm.Product) bool, bool) {
			name, article := strings.TrimSpace(v.Name), strings.TrimSpace(v.Article)
			if name == "" {
				return store.ListParams{}, nil, false
			}
			return store.ListParams{Q: name}, func(r *crm.Product) bool {
				return dedup.SameText(r.Name, name) && (article == "" || strings.TrimSpace(r.Article) == article)
			}, true
		},
		findName: func(value string) (store.ListParams, func(*crm.Product) bool) {
			return store.ListParams{Q: value}, func(r *crm.Product) bool { return dedup.SameText(r.Name, value) }
		},
	}

	es.activities = &entity[crm.Activity, *crm.Activity]{
		name: store.EntityActivity, st: s,
		readOnly: []string{"completed_at"},
		get:      s.GetActivity, list: s.ListActivities, create: s.CreateActivity, update: s.UpdateActivity,
		seedCreate: true,
	}

	es.leads.findKeys = withID(es.leads.dupKeys...)
	es.contacts.findKeys = withID(es.contacts.dupKeys...)
	es.accounts.findKeys = withID(es.accounts.dupKeys...)
	es.deals.findKeys = withID(es.deals.dupKeys...)
	es.orders.findKeys = withID(ByExternalID, ByName)
	es.products.findKeys = withID(es.products.dupKeys...)
	return es
}

// crmActions are the actions on CRM records.
func crmActions(d Deps) []automation.Action {
	es := newEntities(d.Store)
	var out []automation.Action
	out = append(out, es.leads.recordActions(d)...)
	out = append(out, es.contacts.recordActions(d)...)
	out = append(out, es.accounts.recordActions(d)...)
	out = append(out, es.deals.recordActions(d)...)
	out = append(out, es.orders.recordActions(d)...)
	out = append(out, es.products.recordActions(d)...)
	out = append(out,
		es.leads.setRowsAction(), es.deals.setRowsAction(), es.orders.setRowsAction(),
		es.accounts.updateActionNamed(automation.Spec{Name: "crm.company.update", Group: GroupCRM, Writes: true, Entity: store.EntityAccount}),
		convertLead(d, es.leads), timelineAdd(d),
		es.activities.createAction(d), completeActivity(es.activities), es.activities.deleteAction(d),
		moveDeal(d, es.deals),
	)
	return out
}
