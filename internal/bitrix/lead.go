package bitrix

import (
	"context"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// leadRecords are the lead's record operations (records): its own field
// table (lead_fields.go) and list query (lead_list.go), which reads the
// page in one query instead of loading each lead.
type leadRecords struct{ h *Handler }

func (h *Handler) leads() leadRecords { return leadRecords{h} }

func (l leadRecords) entityName() string { return store.EntityLead }

// addRecord is crm.lead.add: fields → a new lead.
func (l leadRecords) addRecord(ctx context.Context, a crm.Actor, fields *Array) (int64, error) {
	defs, err := l.h.store.CustomFields(ctx, store.EntityLead)
	if err != nil {
		return 0, err
	}
	var lead crm.Lead
	if err := applyLeadFields(&lead, orEmpty(fields), defs, true); err != nil {
		return 0, err
	}
	created, err := l.h.store.CreateLead(ctx, a, lead)
	if err != nil {
		return 0, err
	}
	return created.ID, nil
}

// getRecord is crm.lead.get.
func (l leadRecords) getRecord(ctx context.Context, id int64) (*Array, error) {
	lead, err := l.h.store.GetLead(ctx, id)
	if err != nil {
		return nil, err
	}
	if lead.DeletedAt != nil {
		return nil, errNotFound
	}
	v, err := l.h.leadView(ctx)
	if err != nil {
		return nil, err
	}
	return v.render(&leadRow{Lead: lead, hasRows: len(lead.ProductRows) > 0}, everything), nil
}

// updateRecord is crm.lead.update: the fields sent change, the rest stay.
func (l leadRecords) updateRecord(ctx context.Context, a crm.Actor, id int64, fields *Array) error {
	defs, err := l.h.store.CustomFields(ctx, store.EntityLead)
	if err != nil {
		return err
	}
	_, err = l.h.store.UpdateLead(ctx, a, id, func(lead *crm.Lead) error {
		return applyLeadFields(lead, orEmpty(fields), defs, false)
	})
	return err
}

// deleteRecord is crm.lead.delete: the lead goes to the recycle bin.
func (l leadRecords) deleteRecord(ctx context.Context, a crm.Actor, id int64) error {
	return l.h.store.Delete(ctx, a, store.EntityLead, id)
}

// listRecords is crm.lead.list: filter, select, order and pages of 50 by
// start; start=-1 skips the count (total is then 0, as in Bitrix24).
func (l leadRecords) listRecords(ctx context.Context, la listArgs) ([]*Array, int64, *int64, error) {
	v, err := l.h.leadView(ctx)
	if err != nil {
		return nil, 0, nil, err
	}
	selection := parseSelect(la.sel)
	rows, total, err := l.h.listLeads(ctx, orEmpty(la.filter), orEmpty(la.order), selection, la.start, v.defs)
	if err != nil {
		return nil, 0, nil, err
	}
	out := make([]*Array, 0, len(rows))
	for i := range rows {
		out = append(out, v.render(&rows[i], selection))
	}
	return out, la.start, total, nil
}

// describeRecords is crm.lead.fields.
func (l leadRecords) describeRecords(ctx context.Context) (*Array, error) {
	defs, err := l.h.store.CustomFields(ctx, store.EntityLead)
	if err != nil {
		return nil, err
	}
	return describeLeadFields(defs), nil
}

func orEmpty(a *Array) *Array {
	if a == nil {
		return NewArray()
	}
	return a
}
