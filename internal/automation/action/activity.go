package action

import (
	"context"
	"fmt"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
)

// completeActivity marks an activity done; one done already is left as
// it is.
func completeActivity(acts *entity[crm.Activity, *crm.Activity]) automation.Action {
	return define[idIn, crm.Activity](acts.spec("complete", true), func(ctx context.Context, c *automation.Call, in idIn) (any, error) {
		if err := positiveID(in.ID); err != nil {
			return nil, err
		}
		a, err := acts.getLive(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		if a.Done {
			return a, nil
		}
		if c.DryRun {
			return automation.Preview{DryRun: true, Would: fmt.Sprintf("complete activity %d", in.ID),
				Send: map[string]any{"id": in.ID, "done": true}}, nil
		}
		v, err := acts.update(ctx, c.Actor, in.ID, func(cur *crm.Activity) error {
			cur.Done = true
			return nil
		})
		if err != nil {
			return nil, failOn(err, acts.name, in.ID)
		}
		return v, nil
	})
}
