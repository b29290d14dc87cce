package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dedup"
	"github.com/obmen/obmen/internal/store"
)

// An import finds the rows that duplicate existing records (by the
// entity's duplicate rule's keys, or all its keys when the rule allows)
// or an earlier row of the same file; the dry run counts them and the
// user chooses what they do: skip (the default), update the existing
// record with the row's values, or create them anyway.

// Import modes for duplicate rows.
const (
	dupSkip   = "skip"
	dupUpdate = "update"
	dupCreate = "create"
)

// importDup is a row that duplicates a record (ID, of the entity) or an
// earlier row (Row).
type importDup struct {
	Line  int // the file's line
	ID    int64
	Title string
	Row   int // an earlier line of the file
	By    string
}

// probeOf reads a row's keys for the duplicate rule.
func probeOf(entity string, p record) (dedup.Probe, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return dedup.Probe{}, err
	}
	switch entity {
	case store.EntityLead:
		var l crm.Lead
		err = json.Unmarshal(b, &l)
		return dedup.LeadProbe(&l), err
	case store.EntityContact:
		var c crm.Contact
		err = json.Unmarshal(b, &c)
		return dedup.ContactProbe(&c), err
	default:
		var a crm.Account
		err = json.Unmarshal(b, &a)
		return dedup.AccountProbe(&a), err
	}
}

// probeKeys are a probe's values by key, for rows of one file.
func probeKeys(keys []string, p dedup.Probe) []string {
	var out []string
	for _, k := range keys {
		switch k {
		case dedup.ByPhone:
			for _, v := range p.Phones {
				out = append(out, "phone:"+crm.PhoneKey(v))
			}
		case dedup.ByEmail:
			for _, v := range p.Emails {
				n, _ := crm.NormalizeEmail(v)
				out = append(out, "email:"+strings.ToLower(n))
			}
		case dedup.ByINN:
			if p.INN != "" {
				out = append(out, "inn:"+p.INN)
			}
		case dedup.ByName:
			if p.Name != "" {
				out = append(out, "name:"+strings.Join(dedup.Words(p.Name, p.Company), " "))
			}
		}
	}
	return out
}

// findImportDups lists, per row index, the duplicate it is (if any).
func findImportDups(ctx context.Context, st *store.Store, entity string, patches []record, lineOf func(int) int) (map[int]importDup, error) {
	rule, err := dedup.RuleOf(ctx, st, entity)
	if err != nil {
		return nil, err
	}
	keys := rule.Keys
	if len(keys) == 0 {
		keys = dedup.KeysOf(entity)
	}
	out := map[int]importDup{}
	seen := map[string]int{} // key → first row index
	for i, p := range patches {
		probe, err := probeOf(entity, p)
		if err != nil {
			return nil, fmt.Errorf("web: import row %d: %w", i+1, err)
		}
		ms, err := dedup.Find(ctx, st, entity, keys, probe)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.Entity == entity {
				out[i] = importDup{Line: lineOf(i), ID: m.ID, Title: m.Title, By: m.By}
				break
			}
		}
		for _, k := range probeKeys(keys, probe) {
			if j, ok := seen[k]; ok {
				if _, dup := out[i]; !dup {
					out[i] = importDup{Line: lineOf(i), Row: lineOf(j), By: strings.SplitN(k, ":", 2)[0]}
				}
			} else {
				seen[k] = i
			}
		}
	}
	return out, nil
}

// updateExisting writes the rows chosen to update their records, in one
// transaction: the row's values over the record's, the phones and
// e-mails it matched by kept as they are.
func (u *UI) updateExisting(ctx context.Context, actor crm.Actor, entity string, ups map[int64]record) error {
	return u.store.Write(ctx, actor, func(t *store.Tx) error {
		for id, p := range ups {
			delete(p, "phones")
			delete(p, "emails")
			b, err := json.Marshal(p)
			if err != nil {
				return err
			}
			apply := func(v any) error { return json.Unmarshal(b, v) }
			switch entity {
			case store.EntityLead:
				_, err = t.UpdateLead(id, func(v *crm.Lead) error { return apply(v) })
			case store.EntityContact:
				_, err = t.UpdateContact(id, func(v *crm.Contact) error { return apply(v) })
			default:
				_, err = t.UpdateAccount(id, func(v *crm.Account) error { return apply(v) })
			}
			if err != nil {
				return fmt.Errorf("web: import: update %s %d: %w", entity, id, err)
			}
		}
		return nil
	})
}
