package store_test

import (
	"fmt"

	"github.com/obmen/obmen/internal/crm"
)

// fieldOf names the field of a validation error, or says it is none.
func fieldOf(err error) string {
	if fe, ok := crm.AsFieldError(err); ok {
		return fe.Field
	}
	return fmt.Sprintf("not a field error: %v", err)
}
