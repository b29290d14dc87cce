package tmpl

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr/vm"
)

// Template is a compiled template: literal text and {{ … }} expressions.
// It is immutable and safe for concurrent use.
type Template struct {
	src   string
	parts []part
	// single is set when the source is one expression with nothing but
	// whitespace around it; Render then returns the expression's value
	// with its type instead of text.
	single bool
	refs   []Ref
}

type part struct {
	text   string      // literal text, or the expression's source
	prog   *vm.Program // nil for literal text
	offset int
}

// Compile parses a template. Text without "{{" is a literal and involves
// no expression engine at all.
func Compile(src string) (*Template, error) {
	t := &Template{src: src}
	if !strings.Contains(src, "{{") {
		if src != "" {
			t.parts = []part{{text: src}}
		}
		return t, nil
	}
	if len(src) > MaxSourceLen {
		return nil, fmt.Errorf("tmpl: template longer than %d bytes: %w", MaxSourceLen, limitError("source too long"))
	}
	segs, err := split(src)
	if err != nil {
		return nil, err
	}
	exprs := 0
	for _, s := range segs {
		if !s.expr {
			t.parts = append(t.parts, part{text: s.text, offset: s.offset})
			continue
		}
		if exprs++; exprs > maxExprs {
			return nil, fmt.Errorf("tmpl: more than %d expressions in one template: %w", maxExprs, limitError("too many expressions"))
		}
		prog, refs, err := compileExpr(s.text, s.offset)
		if err != nil {
			return nil, err
		}
		t.parts = append(t.parts, part{text: s.text, prog: prog, offset: s.offset})
		for _, r := range refs {
			t.refs = appendRef(t.refs, r)
		}
	}
	// "  {{ x }}\n" is one value: users paste with spaces, and a field that
	// expects a number should get the number.
	if exprs == 1 {
		t.single = true
		for _, p := range t.parts {
			if p.prog == nil && strings.TrimSpace(p.text) != "" {
				t.single = false
			}
		}
	}
	return t, nil
}

// MustCompile is Compile for templates fixed in code; it panics on error.
func MustCompile(src string) *Template {
	t, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return t
}

// Source returns the template as written.
func (t *Template) Source() string { return t.src }

// IsLiteral reports whether the template holds no expression.
func (t *Template) IsLiteral() bool {
	for _, p := range t.parts {
		if p.prog != nil {
			return false
		}
	}
	return true
}

// Refs returns the variables the template's expressions read, in order,
// without duplicates within an expression.
func (t *Template) Refs() []Ref {
	return append([]Ref(nil), t.refs...)
}

// Render evaluates the template against env, a map of roots such as
// "trigger" and "steps" holding JSON-like values (see FromJSON). A
// literal returns its text; a single expression (whitespace around it
// allowed) returns its value with its type — int64, float64, string, bool,
// nil, []any, map[string]any or time.Time; anything else returns text
// with each value formatted (see formatText). env is not modified.
func (t *Template) Render(env map[string]any, opts ...Option) (any, error) {
	if t.IsLiteral() {
		return t.src, nil
	}
	r := newRun(opts)
	return t.render(r, r.env(env))
}

// render evaluates with a run shared by the caller (Value, Cond).
func (t *Template) render(r *run, env map[string]any) (any, error) {
	if t.IsLiteral() {
		return t.src, nil
	}
	if t.single {
		for _, p := range t.parts {
			if p.prog == nil {
				continue
			}
			v, err := p.eval(env)
			if err != nil {
				return nil, err
			}
			out, err := normalize(v, r)
			if err != nil {
				return nil, p.fail(err)
			}
			return out, nil
		}
	}
	w := newTextWriter(r)
	for _, p := range t.parts {
		if p.prog == nil {
			if err := w.WriteString(p.text); err != nil {
				return nil, fmt.Errorf("tmpl: %w", err)
			}
			continue
		}
		v, err := p.eval(env)
		if err != nil {
			return nil, err
		}
		if err := formatText(w, v); err != nil {
			return nil, p.fail(err)
		}
	}
	return w.String(), nil
}

// eval runs the expression on a fresh VM with expr's memory budget.
func (p part) eval(env map[string]any) (any, error) {
	machine := vm.VM{MemoryBudget: vmMemory}
	v, err := machine.Run(p.prog, env)
	if err != nil {
		return nil, exprError(p.text, p.offset, err)
	}
	return v, nil
}

// fail attributes an error found after evaluation (formatting) to the
// expression.
func (p part) fail(err error) error {
	return &Error{Expr: p.text, Offset: p.offset, Msg: err.Error(), Err: err}
}
