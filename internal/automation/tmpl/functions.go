package tmpl

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// fn is one of our functions. r is the render's run; args are what the
// user passed.
type fn func(r *run, args []any) (any, error)

// functions is the table of our functions by name: those users call and
// the hidden "tmpl.*" helpers the rewrite inserts. Where expr has a builtin
// of the same name, the builtin is disabled (see keptBuiltins) and ours
// replaces it: date, now, trim, split, join, replace, upper, lower, len,
// string, keys, values and round differ in semantics (Russian formats and
// zones, nil-tolerance, rune counting, sorted keys, decimals) or charge
// the work budget where expr's do not.
var functions = sync.OnceValue(func() map[string]fn {
	return map[string]fn{
		// text
		"default": fnDefault,
		"upper":   fnUpper,
		"lower":   fnLower,
		"trim":    fnTrim,
		"replace": fnReplace,
		"substr":  fnSubstr,
		"join":    fnJoin,
		"split":   fnSplit,
		"phone":   fnPhone,
		"digits":  fnDigits,
		"string":  fnString,
		"json":    fnJSON,
		"len":     fnLen,
		"keys":    fnKeys,
		"values":  fnValues,
		// numbers
		"num":    fnNum,
		"number": fnNumber,
		"money":  fnMoney,
		"round":  fnRound,
		// dates
		"date":      fnDate,
		"now":       fnNow,
		"add_days":  fnAddDays,
		"add_hours": fnAddHours,
		// hidden, inserted by rewrite
		"tmpl.get":   fnGet,
		"tmpl.slice": fnSlice,
		"tmpl.add":   fnAdd,
		"tmpl.sub":   fnSub,
		"tmpl.div":   fnDiv,
		"tmpl.mod":   fnMod,
		"tmpl.tick":  fnTick,
	}
})

// isPublicFunction reports whether users may call name.
func isPublicFunction(name string) bool {
	_, ok := functions()[name]
	return ok && !strings.HasPrefix(name, "tmpl.")
}

// errInternal marks a panic inside one of our functions: a bug, reported
// as an error (expr's VM would recover it anyway, with a less useful
// message) and looked for by the fuzz tests.
var errInternal = errors.New("internal error")

// bind adapts fn to expr's calling convention: the run arrives as the
// first argument (put there by rewrite), and errors of public functions
// name the function.
func bind(name string, f fn) func(params ...any) (any, error) {
	hidden := strings.HasPrefix(name, "tmpl.")
	return func(params ...any) (out any, err error) {
		defer func() {
			if p := recover(); p != nil {
				out, err = nil, fmt.Errorf("%s: %w: %v", name, errInternal, p)
			}
		}()
		if len(params) == 0 {
			return nil, fmt.Errorf("%s: %w: call without a run", name, errInternal)
		}
		r, ok := params[0].(*run)
		if !ok {
			return nil, fmt.Errorf("%s: %w: call without a run", name, errInternal)
		}
		out, err = f(r, params[1:])
		if err != nil && !hidden {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return out, err
	}
}

// arity checks the number of arguments.
func arity(args []any, minArgs, maxArgs int) error {
	if len(args) >= minArgs && len(args) <= maxArgs {
		return nil
	}
	want := fmt.Sprint(minArgs)
	if maxArgs > minArgs {
		want = fmt.Sprintf("%d to %d", minArgs, maxArgs)
	}
	noun := "arguments"
	if maxArgs == 1 {
		noun = "argument"
	}
	return fmt.Errorf("expected %s %s, got %d", want, noun, len(args))
}

// kindName names a value's type the way users think of JSON.
func kindName(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case string:
		return "text"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	}
	if _, ok := toNumber(v); ok {
		return "number"
	}
	if _, ok := scalarText(v); ok {
		return "text"
	}
	if isList(v) {
		return "list"
	}
	if isMap(v) {
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// textArg reads an argument that should be text. Scalars are formatted
// (numbers, dates, bools); nil is ""; lists and maps are refused because
// upper([1,2]) is a mistake, not a wish.
func textArg(r *run, v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	if isList(v) || isMap(v) {
		return "", fmt.Errorf("expected text, got %s", kindName(v))
	}
	s, err := textOf(r, v)
	if err != nil {
		return "", err
	}
	return s, nil
}

// numberArg reads an argument that should be a number: int64, float64 or
// numeric text. ok is false for nil and blank text, which callers pass
// through as missing data.
func numberArg(v any) (n number, present bool, err error) {
	if isBlank(v) {
		return number{}, false, nil
	}
	if n, ok := toNumber(v); ok {
		return n, true, nil
	}
	return number{}, true, fmt.Errorf("%s is not a number", quoteValue(v))
}

// intArg reads a whole number, such as a count of days or a position.
func intArg(v any, what string) (int, error) {
	n, ok := toNumber(v)
	if !ok || !n.isInt {
		return 0, fmt.Errorf("%s must be a whole number, got %s", what, quoteValue(v))
	}
	if n.i > 1<<31 || n.i < -(1<<31) {
		return 0, fmt.Errorf("%s %d is out of range", what, n.i)
	}
	return int(n.i), nil
}

// isBlank reports nil and whitespace-only text.
func isBlank(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	}
	return false
}

// quoteValue shows a value in an error message, shortened.
func quoteValue(v any) string {
	if s, ok := v.(string); ok {
		if len(s) > 64 {
			s = truncate(s, 64) + "…"
		}
		return fmt.Sprintf("%q", s)
	}
	w := &textWriter{max: 64}
	if err := writeJSON(w, v); err != nil {
		return kindName(v)
	}
	return w.String()
}

// truncate cuts s to at most n bytes without splitting a rune.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
