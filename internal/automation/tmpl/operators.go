package tmpl

import (
	"errors"
	"fmt"
	"time"

	"github.com/expr-lang/expr/vm/runtime"
)

// The operators rewrite replaces with our functions; see rewrite.

// fnAdd is "+": concatenation for two strings, charged to the work
// budget; expr's arithmetic otherwise (a string and a number is an error:
// use num() or string()).
func fnAdd(r *run, args []any) (out any, err error) {
	a, b := args[0], args[1]
	if sa, ok := a.(string); ok {
		if sb, ok := b.(string); ok {
			if err := r.charge(len(sa) + len(sb)); err != nil {
				return nil, err
			}
			if len(sa)+len(sb) > MaxTextLen {
				return nil, limitError(fmt.Sprintf("text longer than %d bytes", MaxTextLen))
			}
			return sa + sb, nil
		}
	}
	return arith("+", a, b, runtime.Add)
}

// fnSub is "-": expr's arithmetic, except that two times give the seconds
// between them (int64 when whole), which divide into minutes or days;
// expr would give a time.Duration in nanoseconds.
func fnSub(_ *run, args []any) (any, error) {
	if a, ok := args[0].(time.Time); ok {
		if b, ok := args[1].(time.Time); ok {
			return normFloat(a.Sub(b).Seconds()), nil
		}
	}
	return arith("-", args[0], args[1], runtime.Subtract)
}

var errDivZero = errors.New("division by zero")

// fnDiv is "/": expr's division (always a float), but a zero divisor is an
// error instead of +Inf.
func fnDiv(_ *run, args []any) (any, error) {
	if isZero(args[1]) {
		return nil, errDivZero
	}
	return arith("/", args[0], args[1], func(a, b any) any { return runtime.Divide(a, b) })
}

// fnMod is "%", with a readable error for a zero divisor.
func fnMod(_ *run, args []any) (any, error) {
	if isZero(args[1]) {
		return nil, errDivZero
	}
	return arith("%", args[0], args[1], func(a, b any) any { return runtime.Modulo(a, b) })
}

func isZero(v any) bool {
	n, ok := toNumber(v)
	if _, isText := v.(string); isText || !ok {
		return false
	}
	return n.float() == 0
}

// arith runs one of expr's runtime operators, which panic on operands of
// the wrong types, and turns the panic into an error naming the operands.
func arith(op string, a, b any, f func(a, b any) any) (out any, err error) {
	defer func() {
		if recover() != nil {
			out, err = nil, fmt.Errorf("cannot compute %s %s %s", kindName(a), op, kindName(b))
		}
	}()
	return f(a, b), nil
}
