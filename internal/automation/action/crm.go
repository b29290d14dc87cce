package action

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// Outcomes of a create with duplicate handling.
const (
	OutcomeCreated = "created"
	OutcomeFound   = "found"
	OutcomeUpdated = "updated"
)

// dupOut is what a create adds to the record it returns.
type dupOut struct {
	Outcome   string `json:"outcome" auto:"enum=created|found|updated"`
	Matches   int    `json:"matches"`
	MatchedBy string `json:"matched_by" auto:"enum=phone|email|inn|external_id|name"`
}

type idIn struct {
	ID int64 `json:"id" auto:"required"`
}

type findIn struct {
	By     string `json:"by" auto:"required"`
	Value  text   `json:"value" auto:"required"`
	System string `json:"system"`
}

type findOut[T any] struct {
	Found  bool  `json:"found"`
	Count  int   `json:"count"`
	Record *T    `json:"record"`
	ID     int64 `json:"id"`
}

// deleteOut is a delete's output; Result is seed 003's "true" (on
// failure "false", with the error, beside the step's error).
type deleteOut struct {
	ID      int64  `json:"id"`
	Deleted bool   `json:"deleted"`
	Result  string `json:"result" auto:"enum=true|false"`
	Error   string `json:"error"`
}

// text is a string input that also takes a number or true/false, as a
// template rendering an id or a phone number may give one.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = text(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*t = text(n.String())
		return nil
	}
	var v bool
	if err := json.Unmarshal(b, &v); err == nil {
		*t = text(strconv.FormatBool(v))
		return nil
	}
	return &json.UnmarshalTypeError{Value: "an object or a list", Type: reflect.TypeFor[string]()}
}

func (e *entity[T, P]) spec(verb string, writes bool) automation.Spec {
	return automation.Spec{Name: "crm." + e.name + "." + verb, Group: GroupCRM, Writes: writes, Entity: e.name}
}

// recordActions are create, update, get, find and delete.
func (e *entity[T, P]) recordActions(d Deps) []automation.Action {
	return []automation.Action{e.createAction(d), e.updateAction(), e.getAction(), e.findAction(), e.deleteAction(d)}
}

func (e *entity[T, P]) createAction(d Deps) automation.Action {
	spec := e.spec("create", true)
	spec.Duplicates = e.dupKeys
	desc := describe[T, T](spec)
	desc.Input = e.writable(desc.Input)
	if e.seedCreate {
		desc.Input = append(desc.Input, seedDescribed(e.name, desc.Input)...)
	}
	if len(e.dupKeys) > 0 {
		desc.Output = append(desc.Output, describe[struct{}, dupOut](automation.Spec{}).Output...)
	}
	return &raw{desc: desc, run: func(ctx context.Context, c *automation.Call, in map[string]any) (any, error) {
		return e.runCreate(ctx, c, d, spec.Name, in)
	}}
}

func (e *entity[T, P]) runCreate(ctx context.Context, c *automation.Call, d Deps, name string, in map[string]any) (any, error) {
	if err := e.checkWritable(in, false); err != nil {
		return nil, err
	}
	if e.seedCreate {
		var err error
		in, err = translateSeed(ctx, e.st, e.name, in, func(context.Context) (map[string]any, error) { return map[string]any{}, nil })
		if err != nil {
			return nil, err
		}
	}
	v, err := e.decode(in)
	if err != nil {
		return nil, err
	}
	dups := c.Duplicates != nil
	if dups && len(e.dupKeys) == 0 {
		return nil, automation.InputErrorf("duplicates", "%s has no duplicate handling", name)
	}
	// The lookups see the record as it would be stored (a lead's title
	// made of its name); a record that would not pass is refused by the
	// create itself, so its error does not matter here.
	probe := cloneJSON(v)
	_ = P(&probe).Normalize()
	idem := idempotencyOf(c, name, in)
	if !c.DryRun && !c.Fresh {
		made, ok, err := replay(ctx, c, d.Store, idem, e.name, e.get)
		if err != nil {
			return nil, err
		}
		if ok {
			var m matches[T]
			if dups {
				if m, err = e.duplicates(ctx, c.Duplicates.By, &probe); err != nil {
					return nil, err
				}
				delete(m.records, e.meta(&made).ID)
			}
			return e.output(made, OutcomeCreated, dups, m)
		}
	}
	var m matches[T]
	if dups {
		if !c.DryRun {
			// Look and create under the keys' locks, so that two runs
			// making the same client at once make one.
			release, err := d.Store.DB().LockKeys(ctx, e.lockKeys(c.Duplicates.By, &probe)...)
			if err != nil {
				return nil, automation.Transient(err, 0)
			}
			defer release()
		}
		if m, err = e.duplicates(ctx, c.Duplicates.By, &probe); err != nil {
			return nil, err
		}
		if found, id, n := m.first(); n > 0 {
			switch c.Duplicates.Then {
			case automation.DupSkip:
				if c.DryRun {
					return automation.Preview{DryRun: true, Send: found,
						Would: fmt.Sprintf("nothing: %s %d matches by %s (%d matches)", entityWords(e.name), id, m.by, n)}, nil
				}
				return e.output(found, OutcomeFound, true, m)
			case automation.DupUpdate:
				v, pv, err := e.patch(ctx, c, id, in)
				if err != nil {
					return nil, err
				}
				if pv != nil {
					pv.Would += fmt.Sprintf(" (matches by %s: %d)", m.by, n)
					return *pv, nil
				}
				return e.output(v, OutcomeUpdated, true, m)
			case automation.DupCreate:
			default:
				return nil, automation.InputErrorf("duplicates.then", "%q is not create, skip or update", c.Duplicates.Then)
			}
		}
	}
	if c.DryRun {
		if err := P(&v).Normalize(); err != nil {
			return nil, fail(err)
		}
		return automation.Preview{DryRun: true, Would: "create " + entityWords(e.name), Send: v}, nil
	}
	made, err := createOnce(ctx, c, d.Store, idem, e.name, e.get, func(ctx context.Context) (T, error) {
		return e.create(ctx, c.Actor, v)
	})
	if err != nil {
		return nil, err
	}
	return e.output(made, OutcomeCreated, dups, m)
}

// output is the record with what the duplicate handling did.
func (e *entity[T, P]) output(v T, outcome string, dups bool, m matches[T]) (any, error) {
	val, err := automation.ToValue(v)
	if err != nil {
		return nil, err
	}
	out, _ := val.(map[string]any)
	if len(e.dupKeys) > 0 {
		out["outcome"] = outcome
	}
	if dups {
		_, _, n := m.first()
		out["matches"] = int64(n)
		if n > 0 {
			out["matched_by"] = m.by
		}
	}
	return valueForm(out), nil
}

// patch changes record id by a merge patch of the given fields; in test
// mode it returns what it would write instead.
func (e *entity[T, P]) patch(ctx context.Context, c *automation.Call, id int64, patch map[string]any) (T, *automation.Preview, error) {
	var zero T
	if c.DryRun {
		cur, err := e.getLive(ctx, id)
		if err != nil {
			return zero, nil, err
		}
		next, err := merged(cur, patch)
		if err != nil {
			return zero, nil, err
		}
		e.keepIDs(&cur, &next)
		if err := P(&next).Normalize(); err != nil {
			return zero, nil, fail(err)
		}
		return zero, &automation.Preview{DryRun: true, Would: fmt.Sprintf("update %s %d", entityWords(e.name), id), Send: next}, nil
	}
	v, err := e.update(ctx, c.Actor, id, func(cur *T) error {
		next, err := merged(*cur, patch)
		if err != nil {
			return err
		}
		e.keepIDs(cur, &next)
		*cur = next
		return nil
	})
	if err != nil {
		return zero, nil, failOn(err, e.name, id)
	}
	return v, nil, nil
}

// updateOut is what an update adds to the record it returns: seed 003's
// "true"/"false" and the error text. On failure the output is these two
// alone, beside the step's error.
type updateOut struct {
	Result string `json:"result" auto:"enum=true|false"`
	Error  string `json:"error"`
}

func (e *entity[T, P]) updateAction() automation.Action {
	return e.updateActionNamed(e.spec("update", true))
}

// updateActionNamed is the update under another name (seed 003 calls an
// account a company: crm.company.update).
func (e *entity[T, P]) updateActionNamed(spec automation.Spec) automation.Action {
	desc := describe[T, T](spec)
	var idField automation.Field
	for _, f := range desc.Input {
		if f.Name == "id" {
			idField = f
		}
	}
	idField.Required = true
	desc.Input = append([]automation.Field{idField}, e.writable(desc.Input)...)
	desc.Input = append(desc.Input, seedDescribed(e.name, desc.Input)...)
	desc.Output = append(desc.Output, describe[struct{}, updateOut](automation.Spec{}).Output...)
	return &raw{desc: desc, run: func(ctx context.Context, c *automation.Call, in map[string]any) (any, error) {
		out, err := e.runUpdate(ctx, c, in)
		if err != nil {
			return nil, automation.FailWith(err, updateOut{Result: "false", Error: err.Error()})
		}
		return out, nil
	}}
}

func (e *entity[T, P]) runUpdate(ctx context.Context, c *automation.Call, in map[string]any) (any, error) {
	id, err := recordID("id", in["id"])
	if err != nil {
		return nil, err
	}
	if err := e.checkWritable(in, true); err != nil {
		return nil, err
	}
	patch, err := translateSeed(ctx, e.st, e.name, in, func(ctx context.Context) (map[string]any, error) {
		v, err := e.getLive(ctx, id)
		if err != nil {
			return nil, err
		}
		val, err := automation.ToValue(v)
		m, _ := val.(map[string]any)
		return m, err
	})
	if err != nil {
		return nil, err
	}
	delete(patch, "id")
	// The fields' types are checked before the write.
	if _, err := automation.DecodeInput[T](patch, automation.Description{}); err != nil {
		return nil, err
	}
	v, pv, err := e.patch(ctx, c, id, patch)
	if err != nil {
		return nil, err
	}
	if pv != nil {
		return *pv, nil
	}
	if e.afterUpdate != nil {
		if err := e.afterUpdate(ctx, c, id, in); err != nil {
			return nil, err
		}
	}
	val, err := automation.ToValue(v)
	if err != nil {
		return nil, err
	}
	out, _ := val.(map[string]any)
	out["result"], out["error"] = "true", ""
	return valueForm(out), nil
}

// recordID reads a record id given as a number or as digits.
func recordID(field string, v any) (int64, error) {
	var id int64
	switch x := v.(type) {
	case int64:
		id = x
	case int:
		id = int64(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			id = int64(x)
		}
	case json.Number:
		id, _ = x.Int64()
	case string:
		id, _ = strconv.ParseInt(strings.TrimSpace(x), 10, 64)
	}
	if id <= 0 {
		return 0, automation.InputErrorf(field, "%v is not a record id", v)
	}
	return id, nil
}

func positiveID(id int64) error {
	if id <= 0 {
		return automation.InputErrorf("id", "%d is not a record id", id)
	}
	return nil
}

func (e *entity[T, P]) getAction() automation.Action {
	return define[idIn, T](e.spec("get", false), func(ctx context.Context, c *automation.Call, in idIn) (any, error) {
		if err := positiveID(in.ID); err != nil {
			return nil, err
		}
		v, err := e.get(ctx, in.ID)
		if err != nil {
			return nil, failOn(err, e.name, in.ID)
		}
		return v, nil
	})
}

func (e *entity[T, P]) findAction() automation.Action {
	a := define[findIn, findOut[T]](e.spec("find", false), func(ctx context.Context, c *automation.Call, in findIn) (any, error) {
		if strings.TrimSpace(string(in.Value)) == "" {
			return nil, automation.InputErrorf("value", "required")
		}
		m, err := e.find(ctx, in.By, string(in.Value), in.System)
		if err != nil {
			return nil, err
		}
		v, id, n := m.first()
		out := findOut[T]{Found: n > 0, Count: n, ID: id}
		if n > 0 {
			out.Record = &v
		}
		return out, nil
	})
	for i := range a.desc.Input {
		if a.desc.Input[i].Name == "by" {
			a.desc.Input[i].Enum = e.findKeys
		}
	}
	return a
}

func (e *entity[T, P]) deleteAction(d Deps) automation.Action {
	return define[idIn, deleteOut](e.spec("delete", true), func(ctx context.Context, c *automation.Call, in idIn) (any, error) {
		out, err := e.runDelete(ctx, c, d, in)
		if err != nil {
			return nil, automation.FailWith(err, deleteOut{ID: in.ID, Result: "false", Error: err.Error()})
		}
		return out, nil
	})
}

func (e *entity[T, P]) runDelete(ctx context.Context, c *automation.Call, d Deps, in idIn) (any, error) {
	if err := positiveID(in.ID); err != nil {
		return nil, err
	}
	v, err := e.get(ctx, in.ID)
	if err != nil {
		return nil, failOn(err, e.name, in.ID)
	}
	done := deleteOut{ID: in.ID, Deleted: true, Result: "true"}
	if e.meta(&v).DeletedAt != nil {
		return done, nil // deleted already: by an earlier attempt, or by someone
	}
	if c.DryRun {
		return automation.Preview{DryRun: true, Would: fmt.Sprintf("delete %s %d", entityWords(e.name), in.ID), Send: idIn{ID: in.ID}}, nil
	}
	err = d.Store.Delete(ctx, c.Actor, e.name, in.ID)
	if errors.Is(err, store.ErrNotFound) {
		// Deleted between the read and the write?
		if v, gerr := e.get(ctx, in.ID); gerr == nil && e.meta(&v).DeletedAt != nil {
			return done, nil
		}
	}
	if err != nil {
		return nil, failOn(err, e.name, in.ID)
	}
	return done, nil
}

type rowsIn struct {
	ID   int64          `json:"id" auto:"required"`
	Rows []crm.LineItem `json:"rows"`
}

// setRowsAction replaces the line items of a lead, deal or sales order.
func (e *entity[T, P]) setRowsAction() automation.Action {
	return define[rowsIn, T](e.spec("product_rows.set", true), func(ctx context.Context, c *automation.Call, in rowsIn) (any, error) {
		if err := positiveID(in.ID); err != nil {
			return nil, err
		}
		if in.Rows == nil {
			return nil, automation.InputErrorf("rows", "required: the rows to set; an empty list removes them all")
		}
		v, pv, err := e.patch(ctx, c, in.ID, map[string]any{e.rowsField: in.Rows})
		if err != nil {
			// The record's errors name its own list ("items[1].price");
			// the step's input calls it rows.
			var ie *automation.InputError
			if errors.As(err, &ie) {
				if rest, ok := strings.CutPrefix(ie.Field, e.rowsField); ok {
					return nil, &automation.InputError{Field: "rows" + rest, Message: ie.Message}
				}
			}
			return nil, err
		}
		if pv != nil {
			return *pv, nil
		}
		return v, nil
	})
}
