package action

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// records reads any CRM record by entity name.
type records struct {
	get   map[string]func(context.Context, int64) (any, *crm.Meta, error)
	store *store.Store
	zeros map[string]map[string]any
}

// NewRecords reads CRM records for the engine (a trigger's record, a
// manual run's) as the REST API returns them, live or in the recycle bin.
func NewRecords(s *store.Store) automation.Records { return newRecords(s) }

func newRecords(s *store.Store) *records {
	return &records{get: map[string]func(context.Context, int64) (any, *crm.Meta, error){
		store.EntityLead:       getter(s.GetLead),
		store.EntityContact:    getter(s.GetContact),
		store.EntityAccount:    getter(s.GetAccount),
		store.EntityDeal:       getter(s.GetDeal),
		store.EntitySalesOrder: getter(s.GetSalesOrder),
		store.EntityInvoice:    getter(s.GetInvoice),
		store.EntityProduct:    getter(s.GetProduct),
		store.EntityService:    getter(s.GetService),
		store.EntityCatalog:    getter(s.GetCatalog),
		store.EntityTicket:     getter(s.GetTicket),
		store.EntityActivity:   getter(s.GetActivity),
		store.EntityMessage:    getter(s.GetMessage),
	}, store: s, zeros: zeroRecords()}
}

// zeroRecords are the entities' empty records in the JSON-like form.
func zeroRecords() map[string]map[string]any {
	out := map[string]map[string]any{}
	for entity, v := range map[string]any{
		store.EntityLead: crm.Lead{}, store.EntityContact: crm.Contact{}, store.EntityAccount: crm.Account{},
		store.EntityDeal: crm.Deal{}, store.EntitySalesOrder: crm.SalesOrder{}, store.EntityInvoice: crm.Invoice{},
		store.EntityProduct: crm.Product{}, store.EntityService: crm.Service{}, store.EntityCatalog: crm.Catalog{},
		store.EntityTicket: crm.Ticket{}, store.EntityActivity: crm.Activity{}, store.EntityMessage: crm.Message{},
	} {
		// Lists and maps empty rather than absent, as a stored record
		// reads back.
		rv := reflect.New(reflect.TypeOf(v)).Elem()
		emptyContainers(rv)
		val, err := automation.ToValue(rv.Interface())
		if m, ok := val.(map[string]any); err == nil && ok {
			out[entity] = m
		}
	}
	return out
}

// emptyContainers gives every nil slice and map of a struct (embedded
// ones included) an empty value.
func emptyContainers(v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		switch f.Kind() {
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 0, 0))
		case reflect.Map:
			f.Set(reflect.MakeMap(f.Type()))
		case reflect.Struct:
			if f.Type() != reflect.TypeFor[time.Time]() {
				emptyContainers(f)
			}
		}
	}
}

// Zero is the entity's empty record; callers must not change it.
func (r *records) Zero(entity string) (map[string]any, bool) {
	m, ok := r.zeros[entity]
	return m, ok
}

// Many reads many records of one entity in a few queries (the
// dispatcher's batch); missing ids are left out.
func (r *records) Many(ctx context.Context, entity string, ids []int64) (map[int64]map[string]any, error) {
	vs, err := r.store.GetMany(ctx, entity, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]map[string]any, len(vs))
	for id, v := range vs {
		val, err := automation.ToValue(v)
		if err != nil {
			return nil, err
		}
		out[id], _ = val.(map[string]any)
	}
	return out, nil
}

func getter[T any, P rec[T]](get func(context.Context, int64) (T, error)) func(context.Context, int64) (any, *crm.Meta, error) {
	return func(ctx context.Context, id int64) (any, *crm.Meta, error) {
		v, err := get(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		return v, P(&v).RecordMeta(), nil
	}
}

// Record returns the record in the JSON-like form; an error wrapping
// store.ErrNotFound when there is none.
func (r *records) Record(ctx context.Context, entity string, id int64) (map[string]any, error) {
	get, ok := r.get[entity]
	if !ok {
		return nil, fmt.Errorf("action: %q is not a CRM entity", entity)
	}
	v, _, err := get(ctx, id)
	if err != nil {
		return nil, err
	}
	val, err := automation.ToValue(v)
	if err != nil {
		return nil, err
	}
	m, _ := val.(map[string]any)
	return m, nil
}

// live is the meta of a record that exists and is not in the recycle
// bin; a NotFoundError otherwise.
func (r *records) live(ctx context.Context, entity string, id int64) (*crm.Meta, error) {
	get, ok := r.get[entity]
	if !ok {
		return nil, automation.InputErrorf("entity", "%q is not a CRM entity", entity)
	}
	_, m, err := get(ctx, id)
	if err != nil {
		return nil, failOn(err, entity, id)
	}
	if m.DeletedAt != nil {
		return nil, &NotFoundError{Entity: entity, ID: id}
	}
	return m, nil
}
