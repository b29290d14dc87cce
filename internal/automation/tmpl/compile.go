package tmpl

import (
	"fmt"
	"sort"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// keptBuiltins are the expr builtins users keep. Every other builtin is
// disabled: some are replaced by ours (see functions), the rest allocate
// in proportion to their input without telling expr's memory budget
// (concat, flatten, sort, toPairs, splitAfter, toBase64…), read the
// server's clock or zone (now, date, duration, timezone) or reach into
// Go values (get).
var keptBuiltins = []string{
	// loops over a list; each iteration is charged (see rewrite)
	"all", "none", "any", "one", "filter", "map", "find", "findIndex",
	"findLast", "findLastIndex", "count", "sum", "groupBy", "sortBy", "reduce",
	// constant-size results
	"type", "abs", "ceil", "floor", "int", "float", "max", "min", "mean",
	"first", "last", "take", "trimPrefix", "trimSuffix", "hasPrefix",
	"hasSuffix", "indexOf", "lastIndexOf",
	// charged against expr's memory budget by expr itself
	"repeat",
}

// exprOptions configures expr for every expression: no fixed environment
// (roots such as trigger and steps belong to the caller, which checks them
// with Refs), our functions, the kept builtins, the AST rewrite and the
// node cap.
var exprOptions = sync.OnceValue(func() []expr.Option {
	opts := []expr.Option{
		expr.Env(map[string]any{}),
		expr.AllowUndefinedVariables(),
		expr.DisableAllBuiltins(),
		expr.MaxNodes(maxNodes),
		expr.Patch(rewrite{}),
	}
	for _, name := range keptBuiltins {
		opts = append(opts, expr.EnableBuiltin(name))
	}
	for name, fn := range functions() {
		opts = append(opts, expr.Function(name, bind(name, fn)))
	}
	return opts
})

// parseConfig is the configuration our own parse (validation and Refs)
// uses, built by the same options so that it sees builtins and functions
// exactly as expr.Compile will. It is built per compile, as expr.Compile
// builds its own: the parser consults the environment's nature cache,
// which is not safe to share between goroutines.
func parseConfig() *conf.Config {
	c := conf.CreateNew()
	for _, o := range exprOptions() {
		o(c)
	}
	for name := range c.Disabled {
		delete(c.Builtins, name)
	}
	return c
}

// compileExpr compiles the expression of one {{ … }}; offset is the byte
// offset of its "{{" in the template, for errors and Refs.
func compileExpr(src string, offset int) (*vm.Program, []Ref, error) {
	if src == "" {
		return nil, nil, &Error{Expr: src, Offset: offset, Msg: "empty expression"}
	}
	tree, err := parser.ParseWithConfig(src, parseConfig())
	if err != nil {
		return nil, nil, exprError(src, offset, bindError(err, tree))
	}
	refs, err := inspect(tree.Node)
	if err != nil {
		return nil, nil, exprError(src, offset, bindError(err, tree))
	}
	for i := range refs {
		refs[i].Offset = offset
	}
	prog, err := expr.Compile(src, exprOptions()...)
	if err != nil {
		return nil, nil, exprError(src, offset, err)
	}
	return prog, refs, nil
}

// bindError gives a position to a *file.Error that has none yet.
func bindError(err error, tree *parser.Tree) error {
	if fe, ok := err.(*file.Error); ok && fe.Line == 0 && tree != nil {
		return fe.Bind(tree.Source)
	}
	return err
}

// inspect checks what expr allows but we do not, and collects the
// references. Refused: $env (it would bypass Refs), calls of anything but
// a named function (methods of Go values), unknown functions, and a
// function named without a call.
func inspect(root ast.Node) ([]Ref, error) {
	v := &inspector{inner: map[ast.Node]bool{}, callees: map[ast.Node]bool{}, lets: map[string]bool{}}
	ast.Walk(&root, v)
	refs := v.refs()
	if v.err != nil {
		return nil, v.err
	}
	return refs, nil
}

type inspector struct {
	err     error
	inner   map[ast.Node]bool // nodes that are the base of a member access
	callees map[ast.Node]bool
	lets    map[string]bool
	members []*ast.MemberNode
	idents  []*ast.IdentifierNode
}

func (v *inspector) fail(n ast.Node, format string, args ...any) {
	if v.err == nil {
		v.err = &file.Error{Location: n.Location(), Message: fmt.Sprintf(format, args...)}
	}
}

// Visit is called children first (ast.Walk), so parents mark their
// children after the children were recorded; refs() sorts it out.
func (v *inspector) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if n.Value == "$env" {
			v.fail(n, "$env is not available; name a root such as trigger or steps")
		}
		v.idents = append(v.idents, n)
	case *ast.MemberNode:
		v.inner[n.Node] = true
		v.members = append(v.members, n)
	case *ast.CallNode:
		v.callees[n.Callee] = true
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			v.fail(n, "only functions can be called, like upper(x); methods of values are not available")
			return
		}
		if !isPublicFunction(id.Value) {
			v.fail(n, "unknown function %s", id.Value)
		}
	case *ast.VariableDeclaratorNode:
		v.lets[n.Name] = true
	}
}

// refs returns the references in source order: every identifier that is
// a root (not a function, not a let variable) with the constant member
// names that follow it.
func (v *inspector) refs() []Ref {
	if v.err != nil {
		return nil
	}
	type found struct {
		at  int
		ref Ref
	}
	var all []found
	for _, id := range v.idents {
		if v.callees[id] || v.inner[id] || v.lets[id.Value] {
			continue
		}
		if isPublicFunction(id.Value) {
			v.fail(id, "%s is a function; call it: %s(…)", id.Value, id.Value)
			return nil
		}
		all = append(all, found{id.Location().From, Ref{Root: id.Value}})
	}
	for _, m := range v.members {
		if v.inner[m] {
			continue
		}
		// Walk down to the base, collecting properties outermost first.
		var props []ast.Node
		var base ast.Node = m
		for {
			mn, ok := base.(*ast.MemberNode)
			if !ok {
				break
			}
			props = append(props, mn.Property)
			base = mn.Node
		}
		id, ok := base.(*ast.IdentifierNode)
		if !ok || v.callees[id] || v.lets[id.Value] {
			continue
		}
		ref := Ref{Root: id.Value}
		for i := len(props) - 1; i >= 0; i-- {
			s, ok := props[i].(*ast.StringNode)
			if !ok {
				break // a numeric or computed index ends the static path
			}
			ref.Path = append(ref.Path, s.Value)
		}
		all = append(all, found{id.Location().From, ref})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].at < all[j].at })
	refs := make([]Ref, 0, len(all))
	for _, f := range all {
		refs = appendRef(refs, f.ref)
	}
	return refs
}
