package action

import (
	"context"
	"encoding/json"
	"slices"
	"sort"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dedup"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// rec is a pointer to a CRM record type.
type rec[T any] interface {
	*T
	RecordMeta() *crm.Meta
	RecordExtra() *crm.Extra
	Normalize() error
}

// entity is what the generic CRM actions know of one kind of record: the
// store's functions for it and how its duplicates are found.
type entity[T any, P rec[T]] struct {
	name string // store entity: "lead"
	st   *store.Store
	// readOnly are fields besides crm.ReadOnlyFields that the server
	// sets (the REST API's list for the entity).
	readOnly []string
	// dupKeys are the keys duplicates may be looked up by on create.
	dupKeys []string
	// findKeys are find's "by" values.
	findKeys []string
	get      func(context.Context, int64) (T, error)
	list     func(context.Context, store.ListParams) ([]T, string, error)
	create   func(context.Context, crm.Actor, T) (T, error)
	update   func(context.Context, crm.Actor, int64, func(*T) error) (T, error)
	// defaults, when set, fills what a new record is unless the input
	// gives the field (a product is active).
	defaults func(v *T, given map[string]any)
	// comms and rows reach the record's phones and e-mails and its line
	// items, when it has them; rowsField is the items' JSON name.
	comms     func(*T) *crm.Comms
	rows      func(*T) *[]crm.LineItem
	rowsField string
	// amount is the lead's or deal's opportunity, which its rows make
	// while it has any.
	amount func(*T) *crm.Amount
	inn    func(*T) string
	// dupName is how a record looks for its namesakes (ok false: it has
	// no name to look by); findName how find looks for a typed name.
	dupName  func(v *T) (p store.ListParams, same func(*T) bool, ok bool)
	findName func(value string) (p store.ListParams, same func(*T) bool)
	// afterUpdate, when set, makes the links of an update's input kept on
	// other records (a company's contacts are kept on the contacts).
	afterUpdate func(ctx context.Context, c *automation.Call, id int64, in map[string]any) error
	// seedCreate: the create also takes seed 003's inputs (seedInputs).
	seedCreate bool
}

// Duplicate and find keys.
const (
	ByPhone      = dedup.ByPhone
	ByEmail      = dedup.ByEmail
	ByINN        = dedup.ByINN
	ByExternalID = "external_id"
	ByName       = dedup.ByName
	ByID         = "id"
)

func (e *entity[T, P]) meta(v *T) *crm.Meta { return P(v).RecordMeta() }

// getLive is the record when it exists and is not in the recycle bin.
func (e *entity[T, P]) getLive(ctx context.Context, id int64) (T, error) {
	v, err := e.get(ctx, id)
	if err != nil {
		return v, failOn(err, e.name, id)
	}
	if e.meta(&v).DeletedAt != nil {
		return v, &NotFoundError{Entity: e.name, ID: id}
	}
	return v, nil
}

// checkWritable refuses fields the server sets; allowID lets "id" name
// the record to change.
func (e *entity[T, P]) checkWritable(in map[string]any, allowID bool) error {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "id" && allowID {
			continue
		}
		if crm.ReadOnlyFields[k] || slices.Contains(e.readOnly, k) {
			return automation.InputErrorf(k, "is set by the system and cannot be written")
		}
	}
	return nil
}

// writable is the record's fields less those the server sets.
func (e *entity[T, P]) writable(fs []automation.Field) []automation.Field {
	var out []automation.Field
	for _, f := range fs {
		if !crm.ReadOnlyFields[f.Name] && !slices.Contains(e.readOnly, f.Name) {
			out = append(out, f)
		}
	}
	return out
}

// decode reads a record from input, which names no unknown field.
func (e *entity[T, P]) decode(in map[string]any) (T, error) {
	v, err := automation.DecodeInput[T](in, automation.Description{})
	if err != nil {
		return v, err
	}
	if e.defaults != nil {
		e.defaults(&v, in)
	}
	return v, nil
}

// merged is cur with patch applied as a JSON merge patch (RFC 7396), as
// the REST API's PATCH does: fields not given stay, objects merge, lists
// are replaced, null clears.
func merged[T any](cur T, patch map[string]any) (T, error) {
	var next T
	if flatPatch(patch) {
		// Only top-level text, numbers and booleans: decoding the patch
		// over a copy of the record is the merge patch, without encoding
		// the record and decoding it back (this runs inside the write).
		// The copy shares lists and maps with cur, which the patch does
		// not touch.
		pb, err := json.Marshal(patch)
		if err != nil {
			return next, automation.InputErrorf("", "input: %v", err)
		}
		next = cur
		if err := json.Unmarshal(pb, &next); err != nil {
			return next, automation.InputErrorf("", "input: %v", err)
		}
		return next, nil
	}
	return mergedJSON(cur, patch)
}

// mergedJSON is merged through the record's JSON (RFC 7396).
func mergedJSON[T any](cur T, patch map[string]any) (T, error) {
	var next T
	doc, err := json.Marshal(cur)
	if err != nil {
		return next, err
	}
	pb, err := json.Marshal(patch)
	if err != nil {
		return next, automation.InputErrorf("", "input: %v", err)
	}
	out, err := httpx.MergePatch(doc, pb)
	if err != nil {
		return next, automation.InputErrorf("", "input: %v", err)
	}
	if err := json.Unmarshal(out, &next); err != nil {
		return next, automation.InputErrorf("", "input: %v", err)
	}
	return next, nil
}

// keepIDs gives cur the phones, e-mails and line items of old, ids
// included, where cur's are the same values: otherwise they would be
// stored anew under new ids, and a repeated update would log a change.
// It also drops the amount of a lead or deal whose rows are cleared.
func (e *entity[T, P]) keepIDs(old, cur *T) {
	if e.comms != nil {
		o, c := e.comms(old), e.comms(cur)
		for _, l := range []struct {
			kind     string
			old, cur *[]crm.Comm
		}{
			{crm.KindPhone, &o.Phones, &c.Phones}, {crm.KindEmail, &o.Emails, &c.Emails},
			{crm.KindIM, &o.IMs, &c.IMs}, {crm.KindWeb, &o.Webs, &c.Webs},
		} {
			if sameComms(l.kind, *l.old, *l.cur) {
				*l.cur = slices.Clone(*l.old)
			}
		}
	}
	if e.rows != nil {
		o, c := e.rows(old), e.rows(cur)
		if sameRows(*o, *c) {
			*c = cloneJSON(*o)
		}
		// The amount was the rows' sum: with the rows gone, it goes too
		// (the CRM keeps an amount typed on a record without rows).
		if e.amount != nil && len(*o) > 0 && len(*c) == 0 && *e.amount(old) == *e.amount(cur) {
			*e.amount(cur) = 0
		}
	}
}

// sameComms compares a list of one kind as stored with one as given, by
// value, type and normalized value.
func sameComms(kind string, stored, given []crm.Comm) bool {
	if len(stored) != len(given) {
		return false
	}
	var c crm.Comms
	for _, it := range given {
		c.Add(kind, it)
	}
	if err := c.Normalize(); err != nil {
		return false
	}
	all := c.All()
	if len(all) != len(stored) {
		return false
	}
	for i, it := range all {
		s := stored[i]
		if it.Value != s.Value || it.ValueType != s.ValueType || it.Normalized != s.Normalized {
			return false
		}
	}
	return true
}

// sameRows compares line items as stored with ones as given, computing
// the given ones as the store would.
func sameRows(stored, given []crm.LineItem) bool {
	if len(stored) != len(given) {
		return false
	}
	g := cloneJSON(given)
	if _, err := crm.ComputeItems("rows", g); err != nil {
		return false
	}
	for i := range g {
		s := stored[i]
		if g[i].ProductID != s.ProductID || g[i].ServiceID != s.ServiceID {
			return false
		}
		if g[i].Name == "" {
			g[i].Name = s.Name
		}
		if g[i].Unit == "" {
			g[i].Unit = s.Unit
		}
		g[i].ID = s.ID
	}
	return sameJSON(stored, g)
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// cloneJSON is a deep copy of a value of JSON-able types.
func cloneJSON[T any](v T) T {
	var out T
	b, err := json.Marshal(v)
	if err == nil {
		_ = json.Unmarshal(b, &out)
	}
	return out
}

// flatPatch reports whether a patch sets only top-level scalars (no null,
// which clears, no object or list).
func flatPatch(patch map[string]any) bool {
	for _, v := range patch {
		switch v.(type) {
		case string, bool, int64, float64, int, json.Number:
		default:
			return false
		}
	}
	return true
}
