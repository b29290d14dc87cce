package action

import (
	"context"
	"errors"
	"fmt"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

type convertIn struct {
	ID int64 `json:"id" auto:"required"`
	store.ConvertOptions
}

type convertOut struct {
	LeadID    int64 `json:"lead_id"`
	DealID    int64 `json:"deal_id"`
	ContactID int64 `json:"contact_id"`
	AccountID int64 `json:"account_id"`
}

func convertedIDs(l crm.Lead) convertOut {
	return convertOut{LeadID: l.ID, DealID: l.DealID, ContactID: l.ContactID, AccountID: l.AccountID}
}

// convertLead turns a lead into a deal, a contact and an account. A lead
// is converted once: converting it again — a retried step, another
// bundle — answers with what it became.
func convertLead(d Deps, leads *entity[crm.Lead, *crm.Lead]) automation.Action {
	spec := automation.Spec{Name: "crm.lead.convert", Group: GroupCRM, Writes: true, Entity: store.EntityLead}
	return define[convertIn, convertOut](spec, func(ctx context.Context, c *automation.Call, in convertIn) (any, error) {
		if err := positiveID(in.ID); err != nil {
			return nil, err
		}
		lead, err := leads.getLive(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		if lead.ConvertedAt != nil {
			return convertedIDs(lead), nil
		}
		if c.DryRun {
			return automation.Preview{DryRun: true, Would: fmt.Sprintf("convert lead %d", in.ID), Send: in.ConvertOptions}, nil
		}
		res, err := d.Store.ConvertLead(ctx, c.Actor, in.ID, in.ConvertOptions)
		if errors.Is(err, store.ErrConflict) {
			if lead, gerr := leads.getLive(ctx, in.ID); gerr == nil && lead.ConvertedAt != nil {
				return convertedIDs(lead), nil
			}
		}
		if err != nil {
			return nil, failOn(err, store.EntityLead, in.ID)
		}
		return convertedIDs(res.Lead), nil
	})
}
