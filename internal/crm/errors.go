// Package crm holds Obmen's domain types — leads, contacts, accounts,
// deals and the rest — with their validation and the normalization of
// phones, e-mails and INNs. It knows nothing of SQL or HTTP.
package crm

import (
	"errors"
	"fmt"
)

// FieldError says which field of a record is wrong and why. Field uses the
// JSON name, with indexes for list items ("phones[1].value").
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Invalid builds a FieldError.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
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
		return &FieldError{Field: prefix + "." + fe.Field, Message: fe.Message}
	}
	return err
}
