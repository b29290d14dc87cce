package action

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
)

type moveIn struct {
	ID      int64  `json:"id" auto:"required"`
	StageID string `json:"stage_id" auto:"required"`
}

// moveDeal moves a deal to another stage of its pipeline.
func moveDeal(d Deps, deals *entity[crm.Deal, *crm.Deal]) automation.Action {
	return define[moveIn, crm.Deal](deals.spec("move", true), func(ctx context.Context, c *automation.Call, in moveIn) (any, error) {
		if err := positiveID(in.ID); err != nil {
			return nil, err
		}
		stage := strings.TrimSpace(in.StageID)
		deal, err := deals.getLive(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		sts, err := d.Store.ListStatuses(ctx, crm.StageEntityID(deal.CategoryID))
		if err != nil {
			return nil, fail(err)
		}
		var ids []string
		for _, st := range sts {
			ids = append(ids, st.StatusID)
		}
		if !slices.Contains(ids, stage) {
			return nil, automation.InputErrorf("stage_id", "%q is not a stage of the deal's pipeline %d; its stages are %s",
				stage, deal.CategoryID, strings.Join(ids, ", "))
		}
		if deal.StageID == stage {
			return deal, nil
		}
		if c.DryRun {
			return automation.Preview{DryRun: true, Would: fmt.Sprintf("move deal %d to %s", in.ID, stage), Send: moveIn{ID: in.ID, StageID: stage}}, nil
		}
		v, err := deals.update(ctx, c.Actor, in.ID, func(cur *crm.Deal) error {
			cur.StageID = stage
			return nil
		})
		if err != nil {
			return nil, failOn(err, deals.name, in.ID)
		}
		return v, nil
	})
}
