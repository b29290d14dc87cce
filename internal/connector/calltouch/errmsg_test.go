package calltouch_test

import (
	"testing"

	"github.com/obmen/obmen/internal/connector/calltouch"
)

// The error bodies Calltouch's services answer, each read into a message
// that names what is at fault.
func TestErrorMessage(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"spring", `{"timestamp":"2026-12-05T10:00:00.000+0000","status":401,"error":"Unauthorized","message":"Invalid Access-Token","path":"/lead-service/v1/api/client-order/update"}`,
			"Unauthorized: Invalid Access-Token"},
		{"errors list", `{"data":null,"errors":[{"field":"orders[0].orderNumber","message":"Order obmen-call-1 not found"}]}`,
			"orders[0].orderNumber: Order obmen-call-1 not found"},
		{"error code", `{"data":null,"errorCode":"ACCESS_DENIED","message":"No access to site 7"}`, "ACCESS_DENIED: No access to site 7"},
		{"validation data", `{"data":{"validationErrorData":{"orders[0].matching":"must not be empty"}}}`,
			`validation: {"orders[0].matching":"must not be empty"}`},
		{"data of another shape", `{"data":"oops","message":"Bad request"}`, "Bad request"},
		{"plain text", "Service Unavailable", "Service Unavailable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := calltouch.ErrorMessage([]byte(c.body)); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}
