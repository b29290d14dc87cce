package bitrix

import (
	"context"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// leadAdd is crm.lead.add: fields → a new lead; the result is its id as a
// number.
func (h *Handler) leadAdd(ctx context.Context, c *call) (reply, error) {
	fields, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	defs, err := h.store.CustomFields(ctx, store.EntityLead)
	if err != nil {
		return reply{}, err
	}
	var l crm.Lead
	if err := applyLeadFields(&l, orEmpty(fields), defs, true); err != nil {
		return reply{}, err
	}
	created, err := h.store.CreateLead(ctx, c.actor(), l)
	if err != nil {
		return reply{}, err
	}
	return reply{result: created.ID}, nil
}

// leadGet is crm.lead.get.
func (h *Handler) leadGet(ctx context.Context, c *call) (reply, error) {
	id, err := c.recordID()
	if err != nil {
		return reply{}, err
	}
	l, err := h.store.GetLead(ctx, id)
	if err != nil {
		return reply{}, err
	}
	if l.DeletedAt != nil {
		return reply{}, errNotFound
	}
	v, err := h.leadView(ctx)
	if err != nil {
		return reply{}, err
	}
	return reply{result: v.render(&leadRow{Lead: l, hasRows: len(l.ProductRows) > 0}, everything)}, nil
}

// leadUpdate is crm.lead.update: the fields sent change, the rest stay.
func (h *Handler) leadUpdate(ctx context.Context, c *call) (reply, error) {
	id, err := c.recordID()
	if err != nil {
		return reply{}, err
	}
	fields, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	defs, err := h.store.CustomFields(ctx, store.EntityLead)
	if err != nil {
		return reply{}, err
	}
	_, err = h.store.UpdateLead(ctx, c.actor(), id, func(l *crm.Lead) error {
		return applyLeadFields(l, orEmpty(fields), defs, false)
	})
	if err != nil {
		return reply{}, err
	}
	return reply{result: true}, nil
}

// leadDelete is crm.lead.delete: the lead goes to the recycle bin.
func (h *Handler) leadDelete(ctx context.Context, c *call) (reply, error) {
	id, err := c.recordID()
	if err != nil {
		return reply{}, err
	}
	if err := h.store.Delete(ctx, c.actor(), store.EntityLead, id); err != nil {
		return reply{}, err
	}
	return reply{result: true}, nil
}

// leadList is crm.lead.list: filter, select, order and pages of 50 by
// start; start=-1 skips the count (total is then 0, as in Bitrix24).
func (h *Handler) leadList(ctx context.Context, c *call) (reply, error) {
	filter, err := c.paramArray("filter")
	if err != nil {
		return reply{}, err
	}
	order, err := c.paramArray("order")
	if err != nil {
		return reply{}, err
	}
	sel, err := c.paramArray("select")
	if err != nil {
		return reply{}, err
	}
	startText, err := c.paramText("start")
	if err != nil {
		return reply{}, err
	}
	start, perr := strconv.ParseInt(startText, 10, 64)
	if perr != nil || start < -1 {
		start = 0
	}
	v, err := h.leadView(ctx)
	if err != nil {
		return reply{}, err
	}
	selection := parseSelect(sel)
	rows, total, err := h.listLeads(ctx, orEmpty(filter), orEmpty(order), selection, start, v.defs)
	if err != nil {
		return reply{}, err
	}
	result := NewArray()
	for i := range rows {
		result.Append(v.render(&rows[i], selection))
	}
	rep := reply{result: result}
	if total == nil {
		zero := int64(0)
		rep.total = &zero
		return rep, nil
	}
	rep.total = total
	if next := start + pageSize; next < *total {
		rep.next = &next
	}
	return rep, nil
}

// leadFields is crm.lead.fields.
func (h *Handler) leadFields(ctx context.Context, c *call) (reply, error) {
	defs, err := h.store.CustomFields(ctx, store.EntityLead)
	if err != nil {
		return reply{}, err
	}
	return reply{result: describeLeadFields(defs)}, nil
}

func orEmpty(a *Array) *Array {
	if a == nil {
		return NewArray()
	}
	return a
}
