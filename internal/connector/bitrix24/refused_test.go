package bitrix24_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/obmen/obmen/internal/connector/bitrix24"
)

// Which of the portal's answers break the connection until a person
// acts: a deleted or wrong webhook, tokens whose renewal is refused; not
// a limit, an outage, a missing right or a record's error.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&bitrix24.Error{Method: "crm.deal.get", Status: http.StatusUnauthorized, Code: bitrix24.CodeNoAuth}, true},
		{&bitrix24.Error{Method: "batch", Status: http.StatusUnauthorized, Code: bitrix24.CodeInvalidCreds}, true},
		{fmt.Errorf("wrapped: %w", &bitrix24.Error{Method: "profile", Status: http.StatusUnauthorized, Code: bitrix24.CodeExpired}), true},
		{&bitrix24.Error{Method: "oauth", Status: http.StatusBadRequest, Code: bitrix24.CodeInvalidGrant}, true},
		{&bitrix24.Error{Method: "oauth", Status: http.StatusUnauthorized, Description: "not a token answer"}, true},
		{&bitrix24.Error{Method: "oauth", Status: http.StatusBadGateway}, false},
		{&bitrix24.Error{Method: "crm.deal.get", Status: http.StatusForbidden, Code: bitrix24.CodeInvalidCreds}, false},
		{&bitrix24.Error{Method: "crm.deal.get", Status: http.StatusForbidden, Code: bitrix24.CodeScope}, false},
		{&bitrix24.Error{Method: "crm.deal.get", Status: http.StatusServiceUnavailable, Code: bitrix24.CodeQueryLimit}, false},
		{&bitrix24.Error{Method: "crm.deal.get", Status: http.StatusTooManyRequests, Code: bitrix24.CodeOperationLimit}, false},
		{&bitrix24.Error{Method: "crm.deal.get", Status: http.StatusBadRequest, Code: "NOT_FOUND"}, false},
		{errors.New("dial tcp: connection refused"), false},
	} {
		if _, got := bitrix24.Refused(tc.err); got != tc.want {
			t.Errorf("%v: refused %v, want %v", tc.err, got, tc.want)
		}
	}
}
