// Package tmpl: TEMPORARY STUB with the agreed signatures so that the
// automation packages compile while the real package is written on
// branch wt-tmpl; the merge replaces this file. Nothing here works.
package tmpl

import "errors"

var errStub = errors.New("tmpl: stub")

type Ref struct {
	Root string
	Path []string
}

type Template struct{ src string }

func Compile(src string) (*Template, error)                { return &Template{src: src}, nil }
func (t *Template) Render(env map[string]any) (any, error) { return t.src, nil }
func (t *Template) Source() string                         { return t.src }
func (t *Template) IsLiteral() bool                        { return true }
func (t *Template) Refs() []Ref                            { return nil }

type Value struct{ v any }

func CompileValue(path string, v any) (*Value, error)   { return &Value{v: v}, nil }
func (v *Value) Render(env map[string]any) (any, error) { return v.v, nil }
func (v *Value) Refs() []Ref                            { return nil }

type Condition struct {
	All   []Condition `json:"all,omitempty"`
	Any   []Condition `json:"any,omitempty"`
	Value any         `json:"value,omitempty"`
	Op    string      `json:"op,omitempty"`
	Arg   any         `json:"arg,omitempty"`
}

type Trace any

type Cond struct{}

func CompileCondition(path string, c Condition) (*Cond, error) { return &Cond{}, nil }
func (c *Cond) Eval(env map[string]any) (bool, Trace, error)   { return true, nil, errStub }
func (c *Cond) Refs() []Ref                                    { return nil }
