// Package crm holds Obmen's domain types — leads, contacts, accounts,
// deals and the rest — with their validation and the normalization of
// phones, e-mails and INNs. It knows nothing of SQL or HTTP.
package crm

import (
	"errors"
	"fmt"
	"maps"
	"strings"
)

// FieldError says which field of a record is wrong and why. Field uses the
// JSON name, with indexes for list items ("phones[1].value").
//
// Code names the message whatever the language ("not_date"), Params are
// the values it is about: the web UI translates Code with Params, the REST
// API sends Message (English) and Code.
type FieldError struct {
	Field   string
	Message string
	Code    string
	Params  []any
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Invalid builds a FieldError.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...), Code: CodeOf(format), Params: args}
}

// CodeOf is the code of a FieldError message format, "invalid" for one
// without a code.
func CodeOf(format string) string {
	if c, ok := codes[format]; ok {
		return c
	}
	return "invalid"
}

// CodesByFormat is the message format → code table (for tests).
func CodesByFormat() map[string]string { return maps.Clone(codes) }

// Codes lists every FieldError code (for the tests of translations).
func Codes() []string {
	out := make([]string, 0, len(codes)+1)
	for _, c := range codes {
		out = append(out, c)
	}
	return append(out, "invalid")
}

// AsFieldError extracts a FieldError from err's chain.
func AsFieldError(err error) (*FieldError, bool) {
	var fe *FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}

// Prefixed returns err with its field moved under prefix ("product_rows[2]").
func Prefixed(prefix string, err error) error {
	if fe, ok := AsFieldError(err); ok {
		return &FieldError{Field: prefix + "." + fe.Field, Message: fe.Message, Code: fe.Code, Params: fe.Params}
	}
	return err
}

// FieldErrors is every field at fault in one record, in field order, so
// that a form can mark them all at once. errors.As finds the first as a
// *FieldError, so code that shows one error keeps working.
type FieldErrors []*FieldError

func (es FieldErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap gives errors.Is/As every field error.
func (es FieldErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// JoinFields keeps every field error of errs (nil ones dropped): nil for
// none, the error itself for one, FieldErrors for several. An error that
// is not about a field wins, as nothing more can be said past it.
func JoinFields(errs ...error) error {
	var fes FieldErrors
	for _, err := range errs {
		if err == nil {
			continue
		}
		var many FieldErrors
		if errors.As(err, &many) {
			fes = append(fes, many...)
			continue
		}
		fe, ok := AsFieldError(err)
		if !ok {
			return err
		}
		fes = append(fes, fe)
	}
	switch len(fes) {
	case 0:
		return nil
	case 1:
		return fes[0]
	}
	return fes
}

// AllFieldErrors lists every field error in err's chain: several from a
// FieldErrors, else the one FieldError, else none.
func AllFieldErrors(err error) []*FieldError {
	var many FieldErrors
	if errors.As(err, &many) {
		return many
	}
	if fe, ok := AsFieldError(err); ok {
		return []*FieldError{fe}
	}
	return nil
}
