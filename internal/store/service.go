package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/crm"
)

var serviceSpec = spec{
	entity: EntityService, table: "services",
	columns: map[string]Column{
		"name": {"name", KindText}, "unit": {"unit", KindText},
		"price": {"price", KindAmount}, "currency": {"currency", KindText}, "active": {"active", KindBool},
		"assigned_by_id": {"assigned_by_id", KindInt}, "created_by_id": {"created_by_id", KindInt},
		"created_at": {"created_at", KindTime}, "updated_at": {"updated_at", KindTime}, "deleted_at": {"deleted_at", KindTime},
	},
}

const serviceColumns = `id, name, unit, price, currency, vat_rate, vat_included, description, active,
	assigned_by_id, created_by_id, updated_by_id, created_at, updated_at, deleted_at, deleted_by_id`

var serviceLoader = loader[crm.Service]{
	entity: EntityService, name: "service", table: "services", columns: serviceColumns,
	meta:  func(v *crm.Service) *crm.Meta { return &v.Meta },
	extra: func(v *crm.Service) *crm.Extra { return &v.Extra },
	scan: func(rows rowScanner, v *crm.Service) error {
		var vat *int64
		var mt metaTimes
		if err := rows.Scan(&v.ID, &v.Name, &v.Unit, (*int64)(&v.Price), &v.Currency, &vat, &v.VATIncluded, &v.Description, &v.Active,
			&v.AssignedByID, &v.CreatedByID, &v.UpdatedByID, &mt.created, &mt.updated, &mt.deleted, &v.DeletedByID); err != nil {
			return err
		}
		if vat != nil {
			a := crm.Amount(*vat)
			v.VATRate = &a
		}
		mt.set(&v.Meta)
		return nil
	},
	parts: []func(txq, []int64) (func(int64, *crm.Service), error){
		catalogsPart(EntityService, func(v *crm.Service) *[]int64 { return &v.CatalogIDs }),
	},
}

// GetService returns a service, live or in the recycle bin.
func (s *Store) GetService(ctx context.Context, id int64) (crm.Service, error) {
	return serviceLoader.get(s.rq(ctx), id)
}

// ListServices returns a page of services.
func (s *Store) ListServices(ctx context.Context, p ListParams) ([]crm.Service, string, error) {
	return serviceLoader.list(s, s.rq(ctx), serviceSpec, p)
}

// FindServiceByName returns the live service with exactly this name (the
// oldest, if several).
func (s *Store) FindServiceByName(ctx context.Context, name string) (crm.Service, error) {
	name = strings.TrimSpace(name)
	var id int64
	err := s.db.Read.QueryRowContext(ctx, "SELECT id FROM services WHERE name = $1 AND deleted_at = 0 ORDER BY id LIMIT 1", name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return crm.Service{}, NotFound("service", fmt.Sprintf("%q", name))
	}
	if err != nil {
		return crm.Service{}, fmt.Errorf("store: find service %q: %w", name, err)
	}
	return s.GetService(ctx, id)
}

// checkService validates what a service refers to.
func checkService(t txq, v *crm.Service) error {
	r := refs{t: t}
	r.user("assigned_by_id", v.AssignedByID)
	r.currency("currency", v.Currency)
	r.catalogs("catalog_ids", v.CatalogIDs)
	r.custom(EntityService, &v.Custom)
	return r.err
}

// CreateService validates and stores a new service with its create event.
func (s *Store) CreateService(ctx context.Context, actor crm.Actor, v crm.Service) (crm.Service, error) {
	return createRecord(s, ctx, actor, EntityService, v, checkService, func(t *Tx, v *crm.Service) error { return t.insertService(v) })
}

func (t *Tx) insertService(v *crm.Service) error {
	err := t.tx.QueryRowContext(t.ctx, `INSERT INTO services (name, unit, price, currency, vat_rate, vat_included,
		description, active, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		v.Name, v.Unit, int64(v.Price), v.Currency, productVATArg(v.VATRate), v.VATIncluded,
		v.Description, v.Active, v.SearchText(), v.AssignedByID, v.CreatedByID, v.UpdatedByID, micro(v.CreatedAt), micro(v.UpdatedAt)).Scan(&v.ID)
	if err != nil {
		return fmt.Errorf("store: insert service: %w", err)
	}
	if err := t.saveMemberships(EntityService, v.ID, v.CatalogIDs, true); err != nil {
		return err
	}
	if err := t.saveCustom(EntityService, v.ID, v.Custom, true); err != nil {
		return err
	}
	return t.saveExternal(EntityService, v.ID, v.ExternalIDs, true)
}

// UpdateService loads a live service, lets mutate change it, validates and
// stores the result with an update event naming the changed fields.
func (s *Store) UpdateService(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.Service) error) (crm.Service, error) {
	return updateRecord(s, ctx, actor, id, serviceOps, mutate)
}

var serviceOps = updateOps[crm.Service]{
	entity: EntityService, get: serviceLoader.get,
	check: func(q txq, _, cur *crm.Service) error { return checkService(q, cur) },
	save:  func(t *Tx, old, cur *crm.Service) error { return t.updateService(old, cur) },
}

func (t *Tx) updateService(old, v *crm.Service) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE services SET name = $1, unit = $2, price = $3, currency = $4, vat_rate = $5,
		vat_included = $6, description = $7, active = $8, search = $9, assigned_by_id = $10, updated_by_id = $11, updated_at = $12
		WHERE id = $13`,
		v.Name, v.Unit, int64(v.Price), v.Currency, productVATArg(v.VATRate), v.VATIncluded,
		v.Description, v.Active, v.SearchText(), v.AssignedByID, v.UpdatedByID, micro(v.UpdatedAt), v.ID)
	if err != nil {
		return fmt.Errorf("store: update service %d: %w", v.ID, err)
	}
	if !sameJSON(old.CatalogIDs, v.CatalogIDs) {
		if err := t.saveMemberships(EntityService, v.ID, v.CatalogIDs, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.Custom, v.Custom) {
		if err := t.saveCustom(EntityService, v.ID, v.Custom, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.ExternalIDs, v.ExternalIDs) {
		return t.saveExternal(EntityService, v.ID, v.ExternalIDs, false)
	}
	return nil
}
