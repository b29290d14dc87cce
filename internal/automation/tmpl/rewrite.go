package tmpl

import "github.com/expr-lang/expr/ast"

// rewrite is the expr.Patch visitor that gives expressions our semantics
// at the AST level, before expr type-checks and compiles them:
//
//   - a.b, a["b"], a[0] become tmpl.get(a, key): a missing key, a nil base
//     or an index out of range is nil, never an error, and nothing but
//     maps and lists can be read (no fields or methods of Go values);
//   - a[i:j] becomes tmpl.slice: lenient and counted in runes for text;
//   - "+" becomes tmpl.add, which charges string concatenation to the work
//     budget (doubling a string twenty times is otherwise a gigabyte);
//     "-" becomes tmpl.sub, which gives seconds between two times; "/"
//     and "%" become tmpl.div and tmpl.mod, which refuse a zero divisor
//     (expr's "/" returns +Inf);
//   - the list a loop builtin walks (map, filter, all…) becomes `list ?? []`,
//     so looping over a missing list yields nothing instead of an error;
//   - every predicate body becomes tmpl.tick(body), charging each
//     iteration to the work budget, because expr counts allocations but
//     not iterations;
//   - calls of our functions get the render's run as a hidden first
//     argument (see run).
//
// Names starting with "tmpl." cannot be written by users: the lexer does
// not allow a dot inside an identifier.
type rewrite struct{}

// loopBuiltins take the collection they iterate as their first argument.
var loopBuiltins = map[string]bool{
	"all": true, "none": true, "any": true, "one": true, "filter": true, "map": true,
	"find": true, "findIndex": true, "findLast": true, "findLastIndex": true,
	"count": true, "sum": true, "groupBy": true, "sortBy": true, "reduce": true,
}

var operatorFuncs = map[string]string{"+": "tmpl.add", "-": "tmpl.sub", "/": "tmpl.div", "%": "tmpl.mod"}

func (rewrite) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.MemberNode:
		ast.Patch(node, hiddenCall("tmpl.get", n.Node, n.Property))
	case *ast.SliceNode:
		ast.Patch(node, hiddenCall("tmpl.slice", n.Node, orNil(n.From), orNil(n.To)))
	case *ast.BinaryNode:
		if fn, ok := operatorFuncs[n.Operator]; ok {
			ast.Patch(node, hiddenCall(fn, n.Left, n.Right))
		}
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && isPublicFunction(id.Value) {
			n.Arguments = append([]ast.Node{&ast.IdentifierNode{Value: runKey}}, n.Arguments...)
		}
	case *ast.BuiltinNode:
		if loopBuiltins[n.Name] && len(n.Arguments) > 0 {
			list := &ast.BinaryNode{Operator: "??", Left: n.Arguments[0], Right: &ast.ArrayNode{}}
			list.SetLocation(n.Arguments[0].Location())
			n.Arguments[0] = list
		}
	case *ast.PredicateNode:
		body := hiddenCall("tmpl.tick", n.Node)
		body.SetLocation(n.Node.Location())
		n.Node = body
	}
}

// hiddenCall calls one of our functions with the run first.
func hiddenCall(name string, args ...ast.Node) ast.Node {
	return &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: name},
		Arguments: append([]ast.Node{&ast.IdentifierNode{Value: runKey}}, args...),
	}
}

func orNil(n ast.Node) ast.Node {
	if n == nil {
		return &ast.NilNode{}
	}
	return n
}
