package action

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

type commentIn struct {
	Entity string `json:"entity" auto:"required,enum=lead|contact|account|deal|sales_order|invoice|ticket"`
	ID     int64  `json:"id" auto:"required"`
	Text   string `json:"text" auto:"required"`
}

// timelineAdd adds a comment to a record's timeline, once per step
// however often it is tried: the comment is remembered by the step's key.
func timelineAdd(d Deps) automation.Action {
	spec := automation.Spec{Name: "crm.timeline.add", Group: GroupCRM, Writes: true}
	recs := newRecords(d.Store)
	return define[commentIn, crm.Comment](spec, func(ctx context.Context, c *automation.Call, in commentIn) (any, error) {
		if !slices.Contains(crm.OwnerTypes, in.Entity) {
			return nil, automation.InputErrorf("entity", "%q is not one of %s", in.Entity, strings.Join(crm.OwnerTypes, ", "))
		}
		if err := positiveID(in.ID); err != nil {
			return nil, err
		}
		get := func(ctx context.Context, id int64) (crm.Comment, error) {
			cs, err := d.Store.ListComments(ctx, in.Entity, in.ID)
			if err != nil {
				return crm.Comment{}, err
			}
			if i := slices.IndexFunc(cs, func(c crm.Comment) bool { return c.ID == id }); i >= 0 {
				return cs[i], nil
			}
			return crm.Comment{}, store.NotFound("comment", id)
		}
		idem := idempotencyOf(c, spec.Name, in)
		if !c.DryRun && !c.Fresh {
			if made, ok, err := replay(ctx, c, d.Store, idem, store.EntityComment, get); ok || err != nil {
				return made, err
			}
		}
		if c.DryRun {
			if _, err := recs.live(ctx, in.Entity, in.ID); err != nil {
				return nil, err
			}
			return automation.Preview{DryRun: true, Would: fmt.Sprintf("comment on %s %d", entityWords(in.Entity), in.ID), Send: in}, nil
		}
		v, err := createOnce(ctx, c, d.Store, idem, store.EntityComment, get, func(ctx context.Context) (crm.Comment, error) {
			return d.Store.AddComment(ctx, c.Actor, in.Entity, in.ID, in.Text)
		})
		if err != nil {
			var ie *automation.InputError
			if errors.As(err, &ie) && ie.Field == "body" {
				return nil, &automation.InputError{Field: "text", Message: ie.Message}
			}
			return nil, failOn(err, in.Entity, in.ID)
		}
		return v, nil
	})
}
