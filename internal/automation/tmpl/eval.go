package tmpl

import (
	"fmt"
)

// Trace explains how a condition was decided, for the bundle's journal.
// It encodes to small JSON: groups carry their items, comparisons the
// rendered value and arg (long texts shortened).
type Trace struct {
	Path   string  `json:"path"`
	Op     string  `json:"op,omitempty"` // "all", "any" or a comparison operator
	Value  any     `json:"value,omitempty"`
	Arg    any     `json:"arg,omitempty"`
	Result bool    `json:"result"`
	Note   string  `json:"note,omitempty"`
	Items  []Trace `json:"items,omitempty"`
}

// Eval decides the condition against env (see Template.Render). Groups
// stop at the first item that settles them (all at a false, any at a
// true), so the trace shows the items that were evaluated. On error the
// trace holds what was decided so far; the error names the path. A nil
// *Cond is always true, like the empty Condition.
func (c *Cond) Eval(env map[string]any, opts ...Option) (bool, Trace, error) {
	if c == nil {
		return true, Trace{Result: true, Note: "no conditions"}, nil
	}
	r := newRun(opts)
	tr, err := c.eval(r, r.env(env))
	return tr.Result, tr, err
}

func (c *Cond) eval(r *run, env map[string]any) (Trace, error) {
	switch {
	case c.all != nil && c.any != nil:
		// Both groups: each must hold.
		tr := Trace{Path: c.path, Op: "all", Result: true}
		for _, g := range []struct {
			name  string
			conds []*Cond
		}{{"all", c.all}, {"any", c.any}} {
			sub, err := evalGroup(r, env, join(c.path, g.name), g.name, g.conds)
			tr.Items = append(tr.Items, sub)
			if err != nil || !sub.Result {
				tr.Result = false
				return tr, err
			}
		}
		return tr, nil
	case c.all != nil:
		return evalGroup(r, env, c.path, "all", c.all)
	case c.any != nil:
		return evalGroup(r, env, c.path, "any", c.any)
	case c.op == "":
		return Trace{Path: c.path, Result: true, Note: "no conditions"}, nil
	}
	return c.evalLeaf(r, env)
}

func evalGroup(r *run, env map[string]any, path, op string, conds []*Cond) (Trace, error) {
	wantAll := op == "all"
	tr := Trace{Path: path, Op: op, Result: wantAll}
	for _, sub := range conds {
		st, err := sub.eval(r, env)
		tr.Items = append(tr.Items, st)
		if err != nil {
			tr.Result = false
			return tr, err
		}
		if st.Result != wantAll {
			tr.Result = st.Result
			return tr, nil
		}
	}
	return tr, nil
}

func (c *Cond) evalLeaf(r *run, env map[string]any) (Trace, error) {
	tr := Trace{Path: c.path, Op: c.op}
	var arg any
	if c.arg != nil {
		var err error
		if arg, err = c.arg.root.render(r, env); err != nil {
			return tr, err
		}
		tr.Arg = traceValue(arg)
	}
	if c.op == "changed" {
		return c.evalChanged(r, env, tr, arg)
	}
	value, err := c.val.root.render(r, env)
	if err != nil {
		return tr, err
	}
	tr.Value = traceValue(value)

	var res bool
	switch c.op {
	case "eq", "ne":
		res, err = equal(r, value, arg)
		res = res == (c.op == "eq")
	case "contains", "not_contains":
		res, err = contains(r, value, arg)
		res = res == (c.op == "contains")
	case "starts_with":
		res, err = startsWith(r, value, arg)
	case "empty", "not_empty":
		res = isEmpty(value) == (c.op == "empty")
	case "gt", "gte", "lt", "lte":
		if isBlank(value) || isBlank(arg) {
			// A record without the field is not "more than 1000": false,
			// not an error that would stop every bundle on such records.
			tr.Note = "empty value"
			return tr, nil
		}
		var cmp int
		if cmp, err = order(r, value, arg); err == nil {
			switch c.op {
			case "gt":
				res = cmp > 0
			case "gte":
				res = cmp >= 0
			case "lt":
				res = cmp < 0
			case "lte":
				res = cmp <= 0
			}
		}
	case "in", "not_in":
		res, err = inList(r, value, arg)
		res = res == (c.op == "in")
	}
	if err != nil {
		return tr, atPath(c.path, fmt.Errorf("tmpl: %s: %w", c.op, err))
	}
	tr.Result = res
	return tr, nil
}

// evalChanged reads trigger.event.changes.<field>: present means the event
// changed the field, unless it records an old and a new value that are
// equal. With arg, the new value must also equal arg.
func (c *Cond) evalChanged(r *run, env map[string]any, tr Trace, arg any) (Trace, error) {
	tr.Note = "field " + c.field
	change := lookup(env, "trigger", "event", "changes", c.field)
	tr.Value = traceValue(change)
	if change == nil {
		return tr, nil
	}
	newValue := change
	changed := true
	if m, ok := change.(map[string]any); ok {
		old, hasOld := m["old"]
		newValue = m["new"]
		if _, hasNew := m["new"]; hasOld && hasNew {
			same, err := equal(r, old, newValue)
			if err != nil {
				return tr, atPath(c.path, fmt.Errorf("tmpl: changed: %w", err))
			}
			changed = !same
		}
	}
	if changed && c.arg != nil {
		eq, err := equal(r, newValue, arg)
		if err != nil {
			return tr, atPath(c.path, fmt.Errorf("tmpl: changed: %w", err))
		}
		changed = eq
	}
	tr.Result = changed
	return tr, nil
}

// lookup walks nested maps; nil when any step is missing.
func lookup(env map[string]any, keys ...string) any {
	var cur any = env
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// traceValue keeps a journal entry small: long texts are cut, large lists
// and maps become shortened JSON text.
func traceValue(v any) any {
	const limit = 200
	switch x := v.(type) {
	case string:
		if len(x) > limit {
			return truncate(x, limit) + "…"
		}
		return x
	case nil, bool, int64, float64:
		return v
	}
	if !isList(v) && !isMap(v) {
		s, _ := scalarText(v)
		return s
	}
	w := &textWriter{max: 4 * limit}
	if err := writeJSON(w, v); err != nil {
		return truncate(w.String(), limit) + "…"
	}
	if s := w.String(); len(s) > limit {
		return truncate(s, limit) + "…"
	}
	return v
}
