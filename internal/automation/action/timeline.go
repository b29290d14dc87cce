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

// commentIn is a timeline post. Entity also takes seed 003's names
// ("company", Bitrix24's "CRM_DEAL"); Title, when given, is the post's
// first line; Author, a user by id, login or name, writes it (an
// administrator's bundle or call may name another user; others only
// themselves).
type commentIn struct {
	Entity string `json:"entity" auto:"required"`
	ID     int64  `json:"id" auto:"required"`
	Text   string `json:"text" auto:"required"`
	Title  string `json:"title"`
	Author text   `json:"author"`
}

// commentOut is the comment made, with seed 003's "true"/"false".
type commentOut struct {
	crm.Comment
	Result string `json:"result" auto:"enum=true|false"`
	Error  string `json:"error"`
}

// timelineAdd adds a comment to a record's timeline, once per step
// however often it is tried: the comment is remembered by the step's key.
func timelineAdd(d Deps) automation.Action {
	spec := automation.Spec{Name: "crm.timeline.add", Group: GroupCRM, Writes: true}
	recs := newRecords(d.Store)
	return define[commentIn, commentOut](spec, func(ctx context.Context, c *automation.Call, in commentIn) (any, error) {
		v, err := addComment(ctx, c, d, recs, spec.Name, in)
		if err != nil {
			return nil, automation.FailWith(err, commentOut{Result: "false", Error: err.Error()})
		}
		if pv, ok := v.(automation.Preview); ok {
			return pv, nil
		}
		return commentOut{Comment: v.(crm.Comment), Result: "true"}, nil
	})
}

func addComment(ctx context.Context, c *automation.Call, d Deps, recs *records, name string, in commentIn) (any, error) {
	if !slices.Contains(crm.OwnerTypes, in.Entity) {
		e, err := entityRef("entity", in.Entity)
		if err != nil {
			return nil, automation.InputErrorf("entity", "%q is not one of %s", in.Entity, strings.Join(crm.OwnerTypes, ", "))
		}
		in.Entity = e
	}
	actor := c.Actor
	if in.Author != "" {
		uid, err := userRef(ctx, d.Store, "author", string(in.Author))
		if err != nil {
			return nil, err
		}
		if uid != actor.UserID {
			u, err := d.Store.GetUser(ctx, actor.UserID)
			if err != nil || u.Role != crm.RoleAdmin {
				return nil, automation.InputErrorf("author", "only an administrator's bundle or call posts as another user")
			}
			actor.UserID = uid
		}
	}
	body := in.Text
	if t := strings.TrimSpace(in.Title); t != "" {
		body = t + "\n\n" + in.Text
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
	idem := idempotencyOf(c, name, in)
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
		return d.Store.AddComment(ctx, actor, in.Entity, in.ID, body)
	})
	if err != nil {
		var ie *automation.InputError
		if errors.As(err, &ie) && ie.Field == "body" {
			return nil, &automation.InputError{Field: "text", Message: ie.Message}
		}
		return nil, failOn(err, in.Entity, in.ID)
	}
	return v, nil
}
