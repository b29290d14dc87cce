package action

import (
	"context"
	"strings"

	"github.com/obmen/obmen/internal/automation"
)

type stopIn struct {
	Result  string `json:"result" auto:"enum=ok|error"`
	Message string `json:"message"`
}

// stop ends the run after this step, as a success or as an error.
func stop() automation.Action {
	spec := automation.Spec{Name: "stop", Group: GroupFlow}
	return define[stopIn, stopIn](spec, func(ctx context.Context, c *automation.Call, in stopIn) (any, error) {
		in.Result = strings.ToLower(strings.TrimSpace(in.Result))
		switch in.Result {
		case "":
			in.Result = "ok"
		case "ok", "error":
		default:
			return nil, automation.InputErrorf("result", "%q is not ok or error", in.Result)
		}
		c.Stop(in.Result, in.Message)
		return in, nil
	})
}
