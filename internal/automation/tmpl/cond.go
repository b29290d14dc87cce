package tmpl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Condition is a filter or a step's "when" as users write it in JSON: a
// group (all and/or any, nestable) or a comparison {value, op, arg}.
// The zero Condition is always true.
type Condition struct {
	All   []Condition `json:"all,omitempty"`
	Any   []Condition `json:"any,omitempty"`
	Value any         `json:"value,omitempty"` // a template (string) or a literal
	Op    string      `json:"op,omitempty"`
	Arg   any         `json:"arg,omitempty"` // a template or literal; a list for in/not_in
}

// Operators, in the order error messages list them.
var operators = []string{"eq", "ne", "contains", "not_contains", "starts_with", "empty", "not_empty",
	"gt", "gte", "lt", "lte", "in", "not_in", "changed"}

// argRule says whether an operator takes arg.
func argRule(op string) (required, allowed bool) {
	switch op {
	case "empty", "not_empty":
		return false, false
	case "changed":
		return false, true
	}
	return true, true
}

// Cond is a compiled Condition. It is immutable and safe for concurrent use.
type Cond struct {
	path string
	all  []*Cond // the all group; nil when absent
	any  []*Cond // the any group; nil when absent
	op   string  // a comparison; "" for groups and the empty condition
	val  *Value
	arg  *Value // nil when absent
	// field is the changed operator's field name.
	field string
}

// CompileCondition checks and compiles c. path names it in errors and
// Refs, e.g. "filters" gives "filters.all[1].op: tmpl: unknown operator …".
func CompileCondition(path string, c Condition) (*Cond, error) {
	out := &Cond{path: path}
	group := c.All != nil || c.Any != nil
	leaf := c.Value != nil || c.Op != "" || c.Arg != nil
	switch {
	case group && leaf:
		return nil, condErr(path, "a condition is either a group (all, any) or a comparison (value, op, arg), not both")
	case group:
		var err error
		if out.all, err = compileGroup(path, "all", c.All); err != nil {
			return nil, err
		}
		if out.any, err = compileGroup(path, "any", c.Any); err != nil {
			return nil, err
		}
		return out, nil
	case !leaf:
		return out, nil // no filters
	}

	op := strings.TrimSpace(c.Op)
	switch {
	case op == "":
		return nil, condErr(join(path, "op"), "missing; use one of "+strings.Join(operators, ", "))
	case !isOperator(op):
		return nil, condErr(join(path, "op"), fmt.Sprintf("unknown operator %q; use one of %s", c.Op, strings.Join(operators, ", ")))
	}
	out.op = op
	if c.Value == nil {
		return nil, condErr(join(path, "value"), "missing")
	}
	required, allowed := argRule(op)
	switch {
	case c.Arg == nil && required:
		return nil, condErr(join(path, "arg"), "missing; "+op+" compares value with arg")
	case c.Arg != nil && !allowed:
		return nil, condErr(join(path, "arg"), op+" takes no arg; remove it")
	}
	var err error
	if op == "changed" {
		if out.field, err = changedField(join(path, "value"), c.Value); err != nil {
			return nil, err
		}
	} else if out.val, err = CompileValue(join(path, "value"), c.Value); err != nil {
		return nil, err
	}
	if c.Arg != nil {
		if out.arg, err = CompileValue(join(path, "arg"), c.Arg); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func compileGroup(path, name string, conds []Condition) ([]*Cond, error) {
	if conds == nil {
		return nil, nil
	}
	gpath := join(path, name)
	if len(conds) == 0 {
		return nil, condErr(gpath, "empty group; add conditions or remove it")
	}
	out := make([]*Cond, len(conds))
	for i, c := range conds {
		var err error
		if out[i], err = CompileCondition(gpath+"["+strconv.Itoa(i)+"]", c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func isOperator(op string) bool {
	for _, o := range operators {
		if o == op {
			return true
		}
	}
	return false
}

// changedField reads the field the changed operator watches: a name such
// as "stage_id", or a template such as "{{trigger.record.stage_id}}" whose
// one reference ends with the name.
func changedField(path string, v any) (string, error) {
	const hint = `changed needs one field, like "stage_id" or "{{trigger.record.stage_id}}"`
	s, ok := v.(string)
	if !ok {
		return "", condErr(path, hint)
	}
	if !strings.Contains(s, "{{") {
		if s = strings.TrimSpace(s); s == "" {
			return "", condErr(path, hint)
		}
		return s, nil
	}
	t, err := Compile(s)
	if err != nil {
		return "", atPath(path, err)
	}
	field := ""
	for _, ref := range t.Refs() {
		if len(ref.Path) == 0 {
			continue
		}
		last := ref.Path[len(ref.Path)-1]
		if field != "" && field != last {
			return "", condErr(path, hint)
		}
		field = last
	}
	if field == "" {
		return "", condErr(path, hint)
	}
	return field, nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func condErr(path, msg string) error {
	return atPath(path, errors.New("tmpl: "+msg))
}

// Refs returns the variables the condition reads, each with the JSON path
// of its template in Field. changed reads trigger.event.changes.<field>.
func (c *Cond) Refs() []Ref {
	if c == nil {
		return nil
	}
	var refs []Ref
	c.collectRefs(&refs)
	return refs
}

func (c *Cond) collectRefs(refs *[]Ref) {
	for _, g := range [][]*Cond{c.all, c.any} {
		for _, sub := range g {
			sub.collectRefs(refs)
		}
	}
	if c.field != "" {
		*refs = append(*refs, Ref{Root: "trigger", Path: []string{"event", "changes", c.field}, Field: join(c.path, "value")})
	}
	if c.val != nil {
		*refs = append(*refs, c.val.Refs()...)
	}
	if c.arg != nil {
		*refs = append(*refs, c.arg.Refs()...)
	}
}
