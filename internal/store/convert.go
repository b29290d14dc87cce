package store

import (
	"context"
	"fmt"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
)

// ConvertOptions say what a lead becomes (seed 002: "Сделка + Контакт +
// Компания"). Existing records may be linked instead of new ones made.
type ConvertOptions struct {
	Deal    bool `json:"deal"`
	Contact bool `json:"contact"`
	Account bool `json:"account"`
	// ContactID and AccountID link existing records instead of creating.
	ContactID int64 `json:"contact_id"`
	AccountID int64 `json:"account_id"`
	// Overrides for the new deal.
	DealTitle  string `json:"deal_title"`
	CategoryID int64  `json:"category_id"`
	StageID    string `json:"stage_id"`
}

// ConvertResult is the converted lead and what it became.
type ConvertResult struct {
	Lead    crm.Lead     `json:"lead"`
	Deal    *crm.Deal    `json:"deal"`
	Contact *crm.Contact `json:"contact"`
	Account *crm.Account `json:"account"`
}

// copyCustom keeps the lead's custom values whose codes the target entity
// also declares (integrations put UTM tags and foreign ids there).
func copyCustom(t txq, entity string, from map[string]any) (map[string]any, error) {
	defs, err := customDefs(t, entity)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, d := range defs {
		if v, ok := from[d.Code]; ok {
			out[d.Code] = v
		}
	}
	return out, nil
}

func resetComms(c crm.Comms) crm.Comms {
	var out crm.Comms
	for _, k := range c.All() {
		it := k.Comm
		it.ID = 0
		out.Add(k.Kind, it)
	}
	out.Empty()
	return out
}

// ConvertLead turns a lead into any of a deal, a contact and an account in
// one transaction: either all of them exist afterwards, linked to each
// other and to the lead (now CONVERTED), or none does.
func (s *Store) ConvertLead(ctx context.Context, actor crm.Actor, leadID int64, o ConvertOptions) (ConvertResult, error) {
	var res ConvertResult
	if !o.Deal && !o.Contact && !o.Account {
		return res, crm.Invalid("deal", "choose at least one of deal, contact, account")
	}
	if o.Contact && o.ContactID != 0 {
		return res, crm.Invalid("contact_id", "either create a contact or link an existing one")
	}
	if o.Account && o.AccountID != 0 {
		return res, crm.Invalid("account_id", "either create an account or link an existing one")
	}
	err := s.Write(ctx, actor, func(t *Tx) error {
		q := t.rq()
		old, err := leadLoader.get(q, leadID)
		if err != nil {
			return err
		}
		if err := editable(t.ctx, EntityLead, leadID, old.AssignedByID); err != nil {
			return err
		}
		if old.DeletedAt != nil {
			return NotFound("lead", leadID)
		}
		if old.ConvertedAt != nil {
			return fmt.Errorf("store: lead %d was already converted: %w", leadID, ErrConflict)
		}
		lead, err := clone(old)
		if err != nil {
			return err
		}
		r := refs{t: q}
		r.record("contact_id", EntityContact, o.ContactID)
		r.record("account_id", EntityAccount, o.AccountID)
		if r.err != nil {
			return r.err
		}
		accountID, contactID := o.AccountID, o.ContactID

		if o.Account {
			if lead.CompanyTitle == "" {
				return crm.Invalid("account", "the lead has no company title to name the account")
			}
			a := crm.Account{Title: lead.CompanyTitle, SourceID: lead.SourceID, ActualAddress: lead.Address, Comments: lead.Comments}
			a.AssignedByID = lead.AssignedByID
			if !o.Contact && o.ContactID == 0 {
				a.Comms = resetComms(lead.Comms) // no contact: the company keeps the phones
			}
			if a.Custom, err = copyCustom(q, EntityAccount, lead.Custom); err != nil {
				return err
			}
			a.ExternalIDs = map[string]string{}
			if err := a.Normalize(); err != nil {
				return crm.Prefixed("account", err)
			}
			if err := checkAccount(q, &a); err != nil {
				return crm.Prefixed("account", err)
			}
			t.stampNew(&a.Meta)
			if err := t.insertAccount(&a); err != nil {
				return err
			}
			if err := t.EmitDiff(EntityAccount, a.ID, events.Create, nil, a); err != nil {
				return err
			}
			accountID = a.ID
			res.Account = &a
		}
		if o.Contact {
			c := crm.Contact{Honorific: lead.Honorific, Name: lead.Name, SecondName: lead.SecondName, LastName: lead.LastName,
				Position: lead.Position, Birthdate: lead.Birthdate, Comms: resetComms(lead.Comms), Address: lead.Address,
				SourceID: lead.SourceID, SourceDescription: lead.SourceDescription, LeadID: lead.ID}
			c.AssignedByID = lead.AssignedByID
			if c.Name == "" && c.LastName == "" && c.SecondName == "" && len(c.Phones) == 0 && len(c.Emails) == 0 {
				c.Name = lead.Title
			}
			if accountID != 0 {
				c.AccountIDs = []int64{accountID}
			}
			if c.Custom, err = copyCustom(q, EntityContact, lead.Custom); err != nil {
				return err
			}
			c.ExternalIDs = map[string]string{}
			if err := c.Normalize(); err != nil {
				return crm.Prefixed("contact", err)
			}
			if err := checkContact(q, &c); err != nil {
				return crm.Prefixed("contact", err)
			}
			t.stampNew(&c.Meta)
			if err := t.insertContact(&c); err != nil {
				return err
			}
			if err := t.EmitDiff(EntityContact, c.ID, events.Create, nil, c); err != nil {
				return err
			}
			contactID = c.ID
			res.Contact = &c
		}
		if o.Deal {
			d := crm.Deal{Title: lead.Title, CategoryID: o.CategoryID, StageID: o.StageID, Opportunity: lead.Opportunity,
				Currency: lead.Currency, AccountID: accountID, LeadID: lead.ID, SourceID: lead.SourceID,
				SourceDescription: lead.SourceDescription, UTM: lead.UTM, Comments: lead.Comments}
			if o.DealTitle != "" {
				d.Title = o.DealTitle
			}
			d.AssignedByID = lead.AssignedByID
			if contactID != 0 {
				d.ContactIDs = []int64{contactID}
			}
			for _, row := range lead.ProductRows {
				row.ID = 0
				d.ProductRows = append(d.ProductRows, row)
			}
			if d.Custom, err = copyCustom(q, EntityDeal, lead.Custom); err != nil {
				return err
			}
			d.ExternalIDs = map[string]string{}
			if err := d.Normalize(); err != nil {
				return crm.Prefixed("deal", err)
			}
			if err := checkDeal(q, &d); err != nil {
				return crm.Prefixed("deal", err)
			}
			t.stampNew(&d.Meta)
			if err := t.insertDeal(&d); err != nil {
				return err
			}
			if err := t.EmitDiff(EntityDeal, d.ID, events.Create, nil, d); err != nil {
				return err
			}
			res.Deal = &d
			lead.DealID = d.ID
		}
		lead.ContactID, lead.AccountID = contactID, accountID
		lead.StatusID = "CONVERTED"
		now := t.now
		lead.ConvertedAt = &now
		t.stampUpdate(&lead.Meta)
		if err := t.updateLead(&old, &lead); err != nil {
			return err
		}
		res.Lead = lead
		return t.EmitDiff(EntityLead, lead.ID, events.Convert, old, lead)
	})
	return res, err
}
