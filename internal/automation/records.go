package automation

import (
	"context"
	"fmt"

	"github.com/obmen/obmen/internal/store"
)

// StoreRecords reads records from the store, as the REST API serves them.
func StoreRecords(st *store.Store) Records { return storeRecords{st} }

type storeRecords struct{ st *store.Store }

func (r storeRecords) Record(ctx context.Context, entity string, id int64) (map[string]any, error) {
	var v any
	var err error
	switch entity {
	case store.EntityLead:
		v, err = r.st.GetLead(ctx, id)
	case store.EntityContact:
		v, err = r.st.GetContact(ctx, id)
	case store.EntityAccount:
		v, err = r.st.GetAccount(ctx, id)
	case store.EntityDeal:
		v, err = r.st.GetDeal(ctx, id)
	case store.EntitySalesOrder:
		v, err = r.st.GetSalesOrder(ctx, id)
	case store.EntityInvoice:
		v, err = r.st.GetInvoice(ctx, id)
	case store.EntityProduct:
		v, err = r.st.GetProduct(ctx, id)
	case store.EntityService:
		v, err = r.st.GetService(ctx, id)
	case store.EntityCatalog:
		v, err = r.st.GetCatalog(ctx, id)
	case store.EntityTicket:
		v, err = r.st.GetTicket(ctx, id)
	case store.EntityActivity:
		v, err = r.st.GetActivity(ctx, id)
	default:
		return nil, fmt.Errorf("automation: %q is not a CRM entity", entity)
	}
	if err != nil {
		return nil, err
	}
	out, err := ToValue(v)
	if err != nil {
		return nil, err
	}
	m, _ := out.(map[string]any)
	return m, nil
}
