// Package crm holds Obmen's domain types — leads, contacts, accounts,
// deals and the rest — with their validation and the normalization of
// phones, e-mails and INNs. It knows nothing of SQL or HTTP.
package crm

import (
	"errors"
	"fmt"
	"maps"
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
