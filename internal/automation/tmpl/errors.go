package tmpl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/expr-lang/expr/file"
)

// ErrLimit is matched (errors.Is) by every error that reports an
// evaluation going over a bound: source size, rendered size, expr's memory
// budget or our work budget.
var ErrLimit = errors.New("tmpl: limit exceeded")

// limitError is the message of a bound that was hit; it matches ErrLimit.
type limitError string

func (e limitError) Error() string        { return string(e) }
func (e limitError) Is(target error) bool { return target == ErrLimit }

// Error is a compile or render error of one {{ … }} expression.
type Error struct {
	Expr   string // the expression between {{ and }}, trimmed
	Offset int    // byte offset of its "{{" in the template source
	// Line and Column locate the fault inside Expr (1-based, in runes) when
	// expr reports a position; 0 otherwise.
	Line, Column int
	Msg          string
	Err          error // the cause, for errors.Is/As; may be nil
}

func (e *Error) Error() string {
	s := fmt.Sprintf("tmpl: %q: %s", "{{ "+e.Expr+" }}", e.Msg)
	if e.Line > 0 {
		s += fmt.Sprintf(" (%d:%d)", e.Line, e.Column)
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// exprError turns an error from expr (usually a *file.Error carrying a
// snippet with a caret, which is noise in a one-line journal entry) into
// an *Error with the message and position only.
func exprError(src string, offset int, err error) *Error {
	e := &Error{Expr: src, Offset: offset, Msg: err.Error(), Err: err}
	var fe *file.Error
	if errors.As(err, &fe) {
		e.Msg = fe.Message
		if fe.Snippet != "" || fe.Line > 0 {
			e.Line, e.Column = fe.Line, fe.Column+1
		}
		if fe.Prev != nil {
			e.Err = fe.Prev
		}
	}
	// expr reports its memory budget as a plain message (the VM panics
	// with a string), so it is recognised by its text.
	if strings.Contains(e.Msg, "memory budget exceeded") && !errors.Is(e.Err, ErrLimit) {
		e.Err = limitError(e.Msg)
	}
	return e
}

func errUnknownZone(name string) error {
	return fmt.Errorf("unknown time zone %q", name)
}
