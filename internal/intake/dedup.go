package intake

import (
	"context"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dedup"
	"github.com/obmen/obmen/internal/store"
)

// Every intake path (HTTP, mail, web forms) applies the entity's
// duplicate rule (internal/dedup) to what it is about to create.

// CodeDuplicate is a Fault's code when a rule refused a duplicate.
const CodeDuplicate = "duplicate"

// Plan is what a duplicate rule makes of one incoming record.
type Plan struct {
	Decision dedup.Decision
	// MergeInto is the open lead (or the existing record) to fold the
	// new one into instead of creating it; LinkContact the existing
	// contact a new lead links to.
	MergeInto, LinkContact int64
}

// Warning is the journal's note of a created duplicate ("" when none).
func (p Plan) Warning() string {
	if !p.Decision.Duplicate() {
		return ""
	}
	var parts []string
	for _, m := range p.Decision.Matches {
		parts = append(parts, fmt.Sprintf("%s %d «%s» (%s)", m.Entity, m.ID, m.Title, m.By))
	}
	return "possible duplicate of " + strings.Join(parts, ", ")
}

// PlanFor applies entity's rule to a new record's keys: a refusal is a
// *Fault (code CodeDuplicate) naming the existing record.
func (s *Service) PlanFor(ctx context.Context, entity string, p dedup.Probe) (Plan, error) {
	d, err := dedup.Check(ctx, s.store, entity, p)
	if err != nil {
		return Plan{}, err
	}
	plan := Plan{Decision: d}
	if !d.Duplicate() {
		return plan, nil
	}
	switch d.Rule.Action {
	case dedup.Refuse:
		m := d.Matches[0]
		return plan, &Fault{Field: m.By, Code: CodeDuplicate, Params: []any{m.Entity, m.ID},
			Message: fmt.Sprintf("a duplicate of %s %d «%s» by %s: the duplicate rule refuses it", m.Entity, m.ID, m.Title, m.By)}
	case dedup.Merge:
		if m, ok := d.First(entity); ok {
			plan.MergeInto = m.ID
		}
	case dedup.Link:
		if entity == store.EntityLead {
			if m, ok := d.First(store.EntityContact); ok {
				plan.LinkContact = m.ID
			}
		} else if m, ok := d.First(entity); ok {
			// A contact or company that exists is used, not made again.
			plan.MergeInto = m.ID
		}
	}
	return plan, nil
}

// MergeLead folds a new lead into the open lead id: the phones and
// e-mails it lacks, the empty fields it fills, its comments appended.
func MergeLead(t *store.Tx, id int64, add crm.Lead) error {
	_, err := t.UpdateLead(id, func(cur *crm.Lead) error {
		crm.MergeComms(&cur.Comms, add.Comms)
		fill(&cur.Name, add.Name)
		fill(&cur.LastName, add.LastName)
		fill(&cur.SecondName, add.SecondName)
		fill(&cur.CompanyTitle, add.CompanyTitle)
		if cur.ContactID == 0 {
			cur.ContactID = add.ContactID
		}
		if cur.AccountID == 0 {
			cur.AccountID = add.AccountID
		}
		cur.Comments = appendText(cur.Comments, add.Comments)
		return nil
	})
	if err != nil {
		return fmt.Errorf("intake: merge into lead %d: %w", id, err)
	}
	return nil
}

// MergeContact folds a new contact into contact id likewise.
func MergeContact(t *store.Tx, id int64, add crm.Contact) error {
	_, err := t.UpdateContact(id, func(cur *crm.Contact) error {
		crm.MergeComms(&cur.Comms, add.Comms)
		fill(&cur.Name, add.Name)
		fill(&cur.LastName, add.LastName)
		fill(&cur.Position, add.Position)
		cur.Comments = appendText(cur.Comments, add.Comments)
		return nil
	})
	if err != nil {
		return fmt.Errorf("intake: merge into contact %d: %w", id, err)
	}
	return nil
}

// MergeAccount folds a new company into account id likewise.
func MergeAccount(t *store.Tx, id int64, add crm.Account) error {
	_, err := t.UpdateAccount(id, func(cur *crm.Account) error {
		crm.MergeComms(&cur.Comms, add.Comms)
		fill(&cur.INN, add.INN)
		cur.Comments = appendText(cur.Comments, add.Comments)
		return nil
	})
	if err != nil {
		return fmt.Errorf("intake: merge into account %d: %w", id, err)
	}
	return nil
}

func fill(dst *string, v string) {
	if strings.TrimSpace(*dst) == "" {
		*dst = v
	}
}

func appendText(cur, add string) string {
	add = strings.TrimSpace(add)
	switch {
	case add == "" || strings.Contains(cur, add):
		return cur
	case strings.TrimSpace(cur) == "":
		return add
	}
	return cur + "\n\n" + add
}
