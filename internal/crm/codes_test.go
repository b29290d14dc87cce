package crm_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// TestEveryMessageHasACode reads the sources of crm and store: every
// message format given to crm.Invalid (or to the store's refs.check, which
// passes it on) has a stable code, so that the UI can translate it.
func TestEveryMessageHasACode(t *testing.T) {
	n := 0
	for _, dir := range []string{".", "../store"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			fs := token.NewFileSet()
			af, err := parser.ParseFile(fs, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(af, func(nd ast.Node) bool {
				c, ok := nd.(*ast.CallExpr)
				if !ok {
					return true
				}
				var name string
				switch fn := c.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				idx := map[string]int{"Invalid": 1, "check": 2}[name]
				if idx == 0 || len(c.Args) <= idx {
					return true
				}
				lit, ok := c.Args[idx].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true // refs.check passing its own format on
				}
				format, _ := strconv.Unquote(lit.Value)
				n++
				if crm.CodeOf(format) == "invalid" {
					t.Errorf("%s: message %q has no code in crm/codes.go", fs.Position(c.Pos()), format)
				}
				return true
			})
		}
	}
	if n < 100 {
		t.Fatalf("found only %d messages: the scan is broken", n)
	}
}

func TestFieldErrorCarriesCode(t *testing.T) {
	err := crm.Prefixed("items[0]", crm.Invalid("date", "%q is not a date in YYYY-MM-DD form", "31.02"))
	fe, ok := crm.AsFieldError(err)
	if !ok || fe.Code != "not_date" || len(fe.Params) != 1 || fe.Params[0] != "31.02" || fe.Field != "items[0].date" ||
		fe.Message != `"31.02" is not a date in YYYY-MM-DD form` {
		t.Fatalf("%+v", fe)
	}
}
