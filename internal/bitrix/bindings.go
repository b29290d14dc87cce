package bitrix

// Bindings are the links between a record and others of one kind: a
// deal's contacts, a company's contacts, a contact's companies. The
// crm.*.{contact,company}.items.{get,set,add,delete} methods share one
// implementation over a binding.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// binding is the linked ids of one kind of owner.
type binding struct {
	key  string // the item's id field: CONTACT_ID or COMPANY_ID
	kind string // "contact" or "company", for errors
	// load returns the linked ids of a live owner, the primary first.
	load func(ctx context.Context, id int64) ([]int64, error)
	// save makes the links equal to ids, in that order.
	save func(ctx context.Context, a crm.Actor, id int64, ids []int64) error
}

func (h *Handler) dealContacts() binding {
	return binding{key: "CONTACT_ID", kind: "contact",
		load: func(ctx context.Context, id int64) ([]int64, error) {
			d, err := h.dealCRUD().load(ctx, id)
			return d.ContactIDs, err
		},
		save: func(ctx context.Context, a crm.Actor, id int64, ids []int64) error {
			if err := checkLinked(ctx, "CONTACT_ID", ids, h.contactCRUD().load); err != nil {
				return err
			}
			_, err := h.store.UpdateDeal(ctx, a, id, func(d *crm.Deal) error { d.ContactIDs = ids; return nil })
			return err
		}}
}

func (h *Handler) contactCompanies() binding {
	return binding{key: "COMPANY_ID", kind: "company",
		load: func(ctx context.Context, id int64) ([]int64, error) {
			c, err := h.contactCRUD().load(ctx, id)
			return c.AccountIDs, err
		},
		save: func(ctx context.Context, a crm.Actor, id int64, ids []int64) error {
			if err := checkLinked(ctx, "COMPANY_ID", ids, h.companyCRUD().load); err != nil {
				return err
			}
			_, err := h.store.UpdateContact(ctx, a, id, func(c *crm.Contact) error { c.AccountIDs = ids; return nil })
			return err
		}}
}

// companyContacts are the contacts linked to a company. Obmen keeps the
// link on the contact (its companies in order, the first its main one),
// so a company's contacts come in id order, and changing them updates
// each contact gained or lost, all in one transaction
// (store.SetAccountContacts).
func (h *Handler) companyContacts() binding {
	load := func(ctx context.Context, id int64) ([]int64, error) {
		if _, err := h.companyCRUD().load(ctx, id); err != nil {
			return nil, err
		}
		return h.store.AccountContactIDs(ctx, id)
	}
	save := func(ctx context.Context, a crm.Actor, id int64, ids []int64) error {
		if err := checkLinked(ctx, "CONTACT_ID", ids, h.contactCRUD().load); err != nil {
			return err
		}
		return h.store.SetAccountContacts(ctx, a, id, ids)
	}
	return binding{key: "CONTACT_ID", kind: "contact", load: load, save: save}
}

// checkLinked refuses ids of records that are missing or in the recycle
// bin, naming the field; the store checks again in its write.
func checkLinked[T any](ctx context.Context, key string, ids []int64, load func(context.Context, int64) (T, error)) error {
	for _, id := range ids {
		if _, err := load(ctx, id); errors.Is(err, errNotFound) || errors.Is(err, store.ErrNotFound) {
			return crmError("Field %s: no record with id %d", key, id)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// register adds, after Bitrix24, {base}.items.get, .items.set and
// .items.delete (which clears the set), {base}.add and {base}.delete
// (one item), e.g. crm.deal.contact.items.get and crm.deal.contact.add.
func (b binding) register(m map[string]method, base string, scopes []string) {
	m[base+".items.get"] = method{scopes, b.get}
	m[base+".items.set"] = method{scopes, b.set}
	m[base+".items.delete"] = method{scopes, b.clear}
	m[base+".add"] = method{scopes, b.add}
	m[base+".delete"] = method{scopes, b.remove}
}

// errBadOwner is Bitrix24's answer to a missing or invalid id of these
// methods.
var errBadOwner = crmError("The parameter ownerEntityID is invalid or not defined.")

// ownerID reads the id parameter.
func ownerID(c *call) (int64, error) {
	id, err := c.recordID()
	if err != nil {
		return 0, errBadOwner
	}
	return id, nil
}

// get answers the links: the primary first, SORT by tens.
func (b binding) get(ctx context.Context, c *call) (reply, error) {
	id, err := ownerID(c)
	if err != nil {
		return reply{}, err
	}
	ids, err := b.load(ctx, id)
	if err != nil {
		return reply{}, err
	}
	out := NewArray()
	for i, lid := range ids {
		out.Append(NewArray().Set(b.key, lid).Set("SORT", (i+1)*10).Set("ROLE_ID", 0).Set("IS_PRIMARY", yn(i == 0)))
	}
	return reply{result: out}, nil
}

// bindItem is one item of a set or add call.
type bindItem struct {
	id      int64
	sort    int64
	primary bool
}

// parseItem reads {KEY, SORT, IS_PRIMARY}; name is how errors name it.
func (b binding) parseItem(it *Array, name string) (bindItem, error) {
	v, _ := lookupFold(it, b.key)
	lid, err := parseInt(b.key, v)
	if err != nil || lid <= 0 {
		return bindItem{}, crmError("Field %s[%s]: not a %s id", name, b.key, b.kind)
	}
	sv, _ := lookupFold(it, "SORT")
	sort, err := parseInt(name+"[SORT]", sv)
	if err != nil {
		return bindItem{}, err
	}
	pv, _ := lookupFold(it, "IS_PRIMARY")
	return bindItem{lid, sort, truthy(pv)}, nil
}

// set replaces the links by items, the one with IS_PRIMARY=Y first, then
// by SORT.
func (b binding) set(ctx context.Context, c *call) (reply, error) {
	id, err := ownerID(c)
	if err != nil {
		return reply{}, err
	}
	items, err := c.paramArray("items")
	if err != nil {
		return reply{}, err
	}
	var list []bindItem
	for i, raw := range items.valuesOrNil() {
		it, ok := raw.(*Array)
		if !ok {
			return reply{}, crmError("Parameter items[%d] must be an array", i)
		}
		item, err := b.parseItem(it, fmt.Sprintf("items[%d]", i))
		if err != nil {
			return reply{}, err
		}
		list = append(list, item)
	}
	slices.SortStableFunc(list, func(a, b bindItem) int {
		switch {
		case a.primary != b.primary && a.primary:
			return -1
		case a.primary != b.primary:
			return 1
		}
		return int(min(max(a.sort-b.sort, -1), 1))
	})
	ids := []int64{}
	for _, it := range list {
		if !slices.Contains(ids, it.id) {
			ids = append(ids, it.id)
		}
	}
	if _, err := b.load(ctx, id); err != nil {
		return reply{}, err
	}
	if err := b.save(ctx, c.actor(), id, ids); err != nil {
		return reply{}, err
	}
	return reply{result: true}, nil
}

// add links one more (fields: KEY, SORT, IS_PRIMARY): the primary goes
// first, else the item goes last; a linked one only moves when made
// primary.
func (b binding) add(ctx context.Context, c *call) (reply, error) {
	return b.change(ctx, c, func(ids []int64, it bindItem) ([]int64, bool) {
		switch {
		case it.primary:
			return append([]int64{it.id}, slices.DeleteFunc(ids, func(x int64) bool { return x == it.id })...), true
		case !slices.Contains(ids, it.id):
			return append(ids, it.id), true
		}
		return ids, false
	})
}

// remove unlinks one (fields: KEY); unlinking one not linked is no
// error.
func (b binding) remove(ctx context.Context, c *call) (reply, error) {
	return b.change(ctx, c, func(ids []int64, it bindItem) ([]int64, bool) {
		if !slices.Contains(ids, it.id) {
			return ids, false
		}
		return slices.DeleteFunc(ids, func(x int64) bool { return x == it.id }), true
	})
}

// change reads the owner and the one item in fields, and saves the links
// edit returns when it says they changed.
func (b binding) change(ctx context.Context, c *call, edit func(ids []int64, it bindItem) ([]int64, bool)) (reply, error) {
	id, err := ownerID(c)
	if err != nil {
		return reply{}, err
	}
	fields, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	it, err := b.parseItem(orEmpty(fields), "fields")
	if err != nil {
		return reply{}, err
	}
	ids, err := b.load(ctx, id)
	if err != nil {
		return reply{}, err
	}
	if ids, changed := edit(ids, it); changed {
		if err := b.save(ctx, c.actor(), id, ids); err != nil {
			return reply{}, err
		}
	}
	return reply{result: true}, nil
}

// clear unlinks all.
func (b binding) clear(ctx context.Context, c *call) (reply, error) {
	id, err := ownerID(c)
	if err != nil {
		return reply{}, err
	}
	ids, err := b.load(ctx, id)
	if err != nil {
		return reply{}, err
	}
	if len(ids) > 0 {
		if err := b.save(ctx, c.actor(), id, []int64{}); err != nil {
			return reply{}, err
		}
	}
	return reply{result: true}, nil
}
