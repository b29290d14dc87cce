package store

import (
	"context"
	"fmt"
)

// GetMany reads records of one entity by id, live or in the recycle bin,
// in a few queries whatever their number (the automation dispatcher reads
// the record of every change it hands on). A missing id is absent from
// the result. Access is judged as for a list: the records ctx's scope
// does not show are left out.
func (s *Store) GetMany(ctx context.Context, entity string, ids []int64) (map[int64]any, error) {
	q := s.rq(ctx)
	out := make(map[int64]any, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		var err error
		switch entity {
		case EntityLead:
			err = many(ctx, out, EntityLead, chunk, q, leadLoader.load)
		case EntityContact:
			err = many(ctx, out, EntityContact, chunk, q, contactLoader.load)
		case EntityAccount:
			err = many(ctx, out, EntityAccount, chunk, q, accountLoader.load)
		case EntityDeal:
			err = many(ctx, out, EntityDeal, chunk, q, dealLoader.load)
		case EntitySalesOrder:
			err = many(ctx, out, EntitySalesOrder, chunk, q, salesOrderLoader.load)
		case EntityInvoice:
			err = many(ctx, out, EntityInvoice, chunk, q, invoiceLoader.load)
		case EntityProduct:
			err = many(ctx, out, EntityProduct, chunk, q, productLoader.load)
		case EntityService:
			err = many(ctx, out, EntityService, chunk, q, serviceLoader.load)
		case EntityCatalog:
			err = many(ctx, out, EntityCatalog, chunk, q, catalogLoader.load)
		case EntityTicket:
			err = many(ctx, out, EntityTicket, chunk, q, ticketLoader.load)
		case EntityActivity:
			err = many(ctx, out, EntityActivity, chunk, q, loadActivities)
		case EntityMessage:
			err = many(ctx, out, EntityMessage, chunk, q, loadMessages)
		default:
			return nil, fmt.Errorf("store: %q is not a CRM entity", entity)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func many[T any, P record[T]](ctx context.Context, out map[int64]any, entity string, ids []int64, q txq, load func(txq, []int64) ([]T, error)) error {
	vs, err := load(q, ids)
	if err != nil {
		return fmt.Errorf("store: read %s: %w", entity, err)
	}
	for _, v := range vs {
		m := P(&v).RecordMeta()
		if allowed(ctx, entity, m.ID, m.AssignedByID) != nil {
			continue // not the caller's to see
		}
		out[m.ID] = v
	}
	return nil
}
