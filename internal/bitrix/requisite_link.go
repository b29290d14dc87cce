package bitrix

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// crm.requisite.link.* over Obmen's requisite links of deals
// (ENTITY_TYPE_ID 2) and invoices (31, the smart invoice, and 5, the old
// one Obmen also serves as crm.invoice.*).

var linkEntities = map[int64]string{2: store.EntityDeal, 5: store.EntityInvoice, 31: store.EntityInvoice}

func linkTypeID(entity string) int64 {
	if entity == store.EntityDeal {
		return 2
	}
	return 31
}

var linkFieldNames = []string{"ENTITY_TYPE_ID", "ENTITY_ID", "REQUISITE_ID", "BANK_DETAIL_ID", "MC_REQUISITE_ID", "MC_BANK_DETAIL_ID"}

func linkArray(l crm.RequisiteLink, asText bool) *Array {
	vals := []int64{linkTypeID(l.Entity), l.RecordID, l.RequisiteID, l.BankDetailID, l.MCRequisiteID, l.MCBankDetailID}
	a := NewArray()
	for i, name := range linkFieldNames {
		// get answers the type and the record as numbers, the ids as
		// text; list answers all as text (b24restdocs examples).
		if asText || i >= 2 {
			a.Set(name, strconv.FormatInt(vals[i], 10))
		} else {
			a.Set(name, vals[i])
		}
	}
	return a
}

// linkTarget reads the record a link is of, from two parameters or
// fields.
func linkTarget(get func(string) (any, bool), typeName, idName string) (string, int64, error) {
	tv, _ := get(typeName)
	ts, _ := scalarText(tv)
	t, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
	entity, ok := linkEntities[t]
	if err != nil || !ok {
		return "", 0, crmError("%s is not defined or invalid", typeName)
	}
	iv, _ := get(idName)
	is, _ := scalarText(iv)
	id, err := strconv.ParseInt(strings.TrimSpace(is), 10, 64)
	if err != nil || id <= 0 {
		return "", 0, crmError("%s is not defined or invalid", idName)
	}
	return entity, id, nil
}

func linkError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return crmError("Not found")
	}
	if errors.Is(err, store.ErrForbidden) {
		return crmError("Access denied")
	}
	if fe, ok := crm.AsFieldError(err); ok {
		return crmError("%s: %s", strings.ToUpper(fe.Field), fe.Message)
	}
	return err
}

// requisiteLinkRegister is crm.requisite.link.register.
func (h *Handler) requisiteLinkRegister(ctx context.Context, c *call) (reply, error) {
	fields, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	f := orEmpty(fields)
	get := func(k string) (any, bool) { return lookupFold(f, k) }
	entity, id, err := linkTarget(get, "ENTITY_TYPE_ID", "ENTITY_ID")
	if err != nil {
		return reply{}, err
	}
	l := crm.RequisiteLink{Entity: entity, RecordID: id}
	for i, p := range []*int64{&l.RequisiteID, &l.BankDetailID, &l.MCRequisiteID, &l.MCBankDetailID} {
		name := linkFieldNames[i+2]
		v, ok := get(name)
		s, _ := scalarText(v)
		n, perr := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if !ok || perr != nil || n < 0 {
			return reply{}, crmError("%s is not defined or invalid", name)
		}
		*p = n
	}
	if err := h.store.SetRequisiteLink(ctx, c.actor(), l); err != nil {
		return reply{}, linkError(err)
	}
	return reply{result: true}, nil
}

// requisiteLinkGet is crm.requisite.link.get.
func (h *Handler) requisiteLinkGet(ctx context.Context, c *call) (reply, error) {
	entity, id, err := linkTarget(c.param, "entityTypeId", "entityId")
	if err != nil {
		return reply{}, err
	}
	l, err := h.store.GetRequisiteLink(ctx, entity, id)
	if err != nil {
		return reply{}, linkError(err)
	}
	return reply{result: linkArray(l, false)}, nil
}

// requisiteLinkUnregister is crm.requisite.link.unregister.
func (h *Handler) requisiteLinkUnregister(ctx context.Context, c *call) (reply, error) {
	entity, id, err := linkTarget(c.param, "entityTypeId", "entityId")
	if err != nil {
		return reply{}, err
	}
	if err := h.store.DeleteRequisiteLink(ctx, c.actor(), entity, id); err != nil {
		return reply{}, linkError(err)
	}
	return reply{result: true}, nil
}

// requisiteLinkList is crm.requisite.link.list: filter by the six fields
// (equality), 50 a page.
func (h *Handler) requisiteLinkList(ctx context.Context, c *call) (reply, error) {
	filter, err := c.paramArray("filter")
	if err != nil {
		return reply{}, err
	}
	want := map[string]string{}
	for _, k := range orEmpty(filter).Keys() {
		key := strings.ToUpper(strings.TrimPrefix(strings.TrimSpace(k), "="))
		if !containsStr(linkFieldNames, key) {
			return reply{}, crmError("Filter field %s is not one of %s", key, strings.Join(linkFieldNames, ", "))
		}
		v, _ := filter.Get(k)
		s, _ := scalarText(v)
		want[key] = strings.TrimSpace(s)
	}
	all, err := h.store.ListRequisiteLinks(ctx)
	if err != nil {
		return reply{}, err
	}
	startText, _ := c.paramText("start")
	start, perr := strconv.ParseInt(startText, 10, 64)
	if perr != nil || start < 0 {
		start = 0
	}
	result := List()
	var n int64
	for _, l := range all {
		a := linkArray(l, true)
		keep := true
		for k, w := range want {
			v, _ := a.Get(k)
			keep = keep && v == w
		}
		if !keep {
			continue
		}
		if n >= start && n < start+pageSize {
			result.Append(a)
		}
		n++
	}
	return listReply(result, start, &n), nil
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// requisiteLinkFields is crm.requisite.link.fields.
func (h *Handler) requisiteLinkFields(context.Context, *call) (reply, error) {
	titles := []string{"Object type ID", "Object ID", "Link to details", "Link to bank details", "Link to my company's details", "Link to my company's bank details"}
	out := NewArray()
	for i, name := range linkFieldNames {
		out.Set(name, NewArray().Set("type", "integer").Set("isRequired", true).Set("isReadOnly", false).
			Set("isImmutable", i < 2).Set("isMultiple", false).Set("isDynamic", false).Set("title", titles[i]))
	}
	return reply{result: out}, nil
}
