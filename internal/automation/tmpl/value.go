package tmpl

import (
	"fmt"
	"sort"
	"strconv"
)

// Value is a compiled JSON value whose strings are templates: a step's
// input, for example. Map keys are literal. It is immutable and safe for
// concurrent use.
type Value struct {
	root vnode
}

type vnode struct {
	path   string
	lit    any       // a literal leaf (normalized), when tmpl, keys and items are unset
	tmpl   *Template // a string that holds "{{"
	keys   []string  // a map's keys, sorted
	fields []vnode   // a map's values, by keys
	items  []vnode   // a list's items
	kind   nodeKind
}

type nodeKind uint8

const (
	leafNode nodeKind = iota
	templateNode
	mapNode
	listNode
)

// CompileValue compiles every string in a decoded JSON value (maps, lists,
// strings, numbers, bools, nil). path names the value in errors and Refs,
// e.g. "input"; errors then read "input.phones[0].value: tmpl: …".
func CompileValue(path string, v any) (*Value, error) {
	root, err := compileNode(path, v)
	if err != nil {
		return nil, err
	}
	return &Value{root: root}, nil
}

func compileNode(path string, v any) (vnode, error) {
	switch x := v.(type) {
	case string:
		t, err := Compile(x)
		if err != nil {
			return vnode{}, atPath(path, err)
		}
		if t.IsLiteral() {
			return vnode{path: path, lit: x}, nil
		}
		return vnode{path: path, tmpl: t, kind: templateNode}, nil
	case map[string]any:
		n := vnode{path: path, kind: mapNode, keys: make([]string, 0, len(x))}
		for k := range x {
			n.keys = append(n.keys, k)
		}
		sort.Strings(n.keys) // first error and Refs in a stable order
		n.fields = make([]vnode, len(n.keys))
		for i, k := range n.keys {
			f, err := compileNode(keyPath(path, k), x[k])
			if err != nil {
				return vnode{}, err
			}
			n.fields[i] = f
		}
		return n, nil
	case []any:
		n := vnode{path: path, kind: listNode, items: make([]vnode, len(x))}
		for i, e := range x {
			item, err := compileNode(path+"["+strconv.Itoa(i)+"]", e)
			if err != nil {
				return vnode{}, err
			}
			n.items[i] = item
		}
		return n, nil
	}
	// Other Go shapes ([]string, map[string]int, float64…) are brought to
	// JSON-like values first, so their strings are templates too.
	n := Normalize(v)
	switch n.(type) {
	case map[string]any, []any:
		return compileNode(path, n)
	}
	return vnode{path: path, lit: n}, nil
}

// keyPath appends a map key to a JSON path: a.b for identifier-like keys,
// a["x y"] otherwise.
func keyPath(path, key string) string {
	plain := key != ""
	for i, c := range key {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return path + "[" + strconv.Quote(key) + "]"
	case path == "":
		return key
	}
	return path + "." + key
}

// atPath prefixes an error with a JSON path, when there is one.
func atPath(path string, err error) error {
	if path == "" {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// IsLiteral reports whether the value holds no template.
func (v *Value) IsLiteral() bool { return v.root.isLiteral() }

func (n *vnode) isLiteral() bool {
	switch n.kind {
	case templateNode:
		return false
	case mapNode:
		for i := range n.fields {
			if !n.fields[i].isLiteral() {
				return false
			}
		}
	case listNode:
		for i := range n.items {
			if !n.items[i].isLiteral() {
				return false
			}
		}
	}
	return true
}

// Render returns the value's shape with every template rendered (see
// Template.Render; a string that is one expression becomes its typed
// value). Maps and lists are always new, so callers may modify the result.
// All templates of one Render share one budget.
func (v *Value) Render(env map[string]any, opts ...Option) (any, error) {
	r := newRun(opts)
	return v.root.render(r, r.env(env))
}

func (n *vnode) render(r *run, env map[string]any) (any, error) {
	switch n.kind {
	case templateNode:
		out, err := n.tmpl.render(r, env)
		if err != nil {
			return nil, atPath(n.path, err)
		}
		return out, nil
	case mapNode:
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			f, err := n.fields[i].render(r, env)
			if err != nil {
				return nil, err
			}
			m[k] = f
		}
		return m, nil
	case listNode:
		l := make([]any, len(n.items))
		for i := range n.items {
			item, err := n.items[i].render(r, env)
			if err != nil {
				return nil, err
			}
			l[i] = item
		}
		return l, nil
	}
	return n.lit, nil
}

// Refs returns the variables the value's templates read, each with the
// JSON path of its template in Field.
func (v *Value) Refs() []Ref {
	var refs []Ref
	v.root.collectRefs(&refs)
	return refs
}

func (n *vnode) collectRefs(refs *[]Ref) {
	switch n.kind {
	case templateNode:
		for _, ref := range n.tmpl.refs {
			ref.Field = n.path
			*refs = append(*refs, ref)
		}
	case mapNode:
		for i := range n.fields {
			n.fields[i].collectRefs(refs)
		}
	case listNode:
		for i := range n.items {
			n.items[i].collectRefs(refs)
		}
	}
}
