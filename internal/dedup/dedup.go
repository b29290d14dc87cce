// Package dedup keeps the duplicate rules — per entity, the keys that find
// an existing record like a new one (phone, e-mail, INN, name with
// company) and what the new one then does (allow, warn, link, merge,
// refuse) — and finds those records. Every way a record comes in applies
// the rule: the UI, the REST API (which may override it), CSV import, web
// forms, the mail collectors and the HTTP intake. The matching itself
// (Words, SameText, the store's phone/e-mail/INN lookups) is shared with
// the automation's find-or-create actions.
package dedup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// Keys a rule matches by.
const (
	ByPhone = "phone"
	ByEmail = "email"
	ByINN   = "inn"
	// ByName is a person's name with the company (a lead, a contact) or
	// a company's title.
	ByName = "name"
)

// Actions of a rule: what a new record like an existing one does.
const (
	Allow  = "allow"  // created, nothing said
	Warn   = "warn"   // created, the duplicates named
	Link   = "link"   // a lead linked to the existing contact; a contact or company not created, the existing one used
	Merge  = "merge"  // merged into the open lead (or the existing contact, company)
	Refuse = "refuse" // not created
)

// Actions lists the actions in the order the admin page offers them.
var Actions = []string{Allow, Warn, Link, Merge, Refuse}

// Entities with rules, and the keys each can match by.
var Entities = []string{store.EntityLead, store.EntityContact, store.EntityAccount}

var keysOf = map[string][]string{
	store.EntityLead:    {ByPhone, ByEmail, ByName},
	store.EntityContact: {ByPhone, ByEmail, ByName},
	store.EntityAccount: {ByINN, ByPhone, ByEmail, ByName},
}

// KeysOf lists the keys entity can match by.
func KeysOf(entity string) []string { return keysOf[entity] }

// Rule is an entity's duplicate rule.
type Rule struct {
	Entity string   `json:"entity"`
	Keys   []string `json:"keys"`
	Action string   `json:"action"`
}

// Validate names the field at fault.
func (r *Rule) Validate() error {
	keys, ok := keysOf[r.Entity]
	if !ok {
		return crm.Invalid("entity", "%q is not one of %s", r.Entity, strings.Join(Entities, ", "))
	}
	if !slices.Contains(Actions, r.Action) {
		return crm.Invalid("action", "%q is not one of %s", r.Action, strings.Join(Actions, ", "))
	}
	var out []string
	for i, k := range r.Keys {
		if k = strings.TrimSpace(k); !slices.Contains(keys, k) {
			return crm.Invalid(fmt.Sprintf("keys[%d]", i), "%q is not one of %s", k, strings.Join(keys, ", "))
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	if len(out) == 0 && r.Action != Allow {
		return crm.Invalid("keys", "required")
	}
	r.Keys = out
	return nil
}

// Rules returns every entity's rule (an entity without a row allows).
func Rules(ctx context.Context, st *store.Store) ([]Rule, error) {
	out := make([]Rule, 0, len(Entities))
	for _, e := range Entities {
		r, err := RuleOf(ctx, st, e)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// RuleOf returns entity's rule.
func RuleOf(ctx context.Context, st *store.Store, entity string) (Rule, error) {
	r := Rule{Entity: entity, Action: Allow}
	if _, ok := keysOf[entity]; !ok {
		return r, nil
	}
	// Every create over the API and every intake reads its rule: it is
	// remembered with the store's lookups (SaveRule's write clears them).
	v, err := st.Cached("dedup_rule:"+entity, func() (any, error) {
		var keys string
		err := st.DB().Reader().QueryRowContext(ctx, "SELECT match_keys, action FROM dedup_rules WHERE entity = $1", entity).Scan(&keys, &r.Action)
		if errors.Is(err, sql.ErrNoRows) {
			return r, nil
		}
		if err != nil {
			return r, fmt.Errorf("dedup: rule of %s: %w", entity, err)
		}
		r.Keys = strings.FieldsFunc(keys, func(c rune) bool { return c == ',' })
		return r, nil
	})
	if err != nil {
		return r, err
	}
	return v.(Rule), nil
}

// SaveRule validates and stores a rule.
func SaveRule(ctx context.Context, st *store.Store, actor crm.Actor, r Rule) (Rule, error) {
	if err := r.Validate(); err != nil {
		return r, err
	}
	err := st.Write(ctx, actor, func(t *store.Tx) error {
		_, err := t.SQL().ExecContext(t.Ctx(), `INSERT INTO dedup_rules (entity, match_keys, action, updated_by_id, updated_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (entity) DO UPDATE SET match_keys = excluded.match_keys, action = excluded.action, updated_by_id = excluded.updated_by_id, updated_at = excluded.updated_at`,
			r.Entity, strings.Join(r.Keys, ","), r.Action, actor.UserID, t.Now().UnixMicro())
		return err
	})
	if err != nil {
		return r, fmt.Errorf("dedup: save the rule of %s: %w", r.Entity, err)
	}
	return r, nil
}

// Probe is what a new record offers to match by.
type Probe struct {
	Phones, Emails []string
	INN            string
	// Name is a person's full name or a company's title; Company the
	// person's company (a lead's company_title).
	Name, Company string
}

func values(cs []crm.Comm) []string {
	var out []string
	for _, c := range cs {
		if v := strings.TrimSpace(c.Value); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// LeadProbe, ContactProbe and AccountProbe read a record's keys.
func LeadProbe(l *crm.Lead) Probe {
	return Probe{Phones: values(l.Phones), Emails: values(l.Emails), Name: personName(l.Name, l.LastName), Company: strings.TrimSpace(l.CompanyTitle)}
}

func ContactProbe(c *crm.Contact) Probe {
	return Probe{Phones: values(c.Phones), Emails: values(c.Emails), Name: personName(c.Name, c.LastName)}
}

func AccountProbe(a *crm.Account) Probe {
	return Probe{Phones: values(a.Phones), Emails: values(a.Emails), INN: strings.TrimSpace(a.INN), Name: strings.TrimSpace(a.Title)}
}

func personName(name, last string) string {
	return strings.TrimSpace(strings.TrimSpace(name) + " " + strings.TrimSpace(last))
}

// Match is an existing record like the new one.
type Match struct {
	Entity string `json:"entity"`
	ID     int64  `json:"id"`
	Title  string `json:"title"`
	By     string `json:"by"` // the key that found it
}

// Decision is a rule applied to a new record: what to do and the
// records that make it a duplicate (none: create as asked).
type Decision struct {
	Rule    Rule
	Matches []Match
}

// Duplicate reports whether the rule has found anything to act on.
func (d Decision) Duplicate() bool { return d.Rule.Action != Allow && len(d.Matches) > 0 }

// First is the oldest match of entity.
func (d Decision) First(entity string) (Match, bool) {
	var best Match
	for _, m := range d.Matches {
		if m.Entity == entity && (best.ID == 0 || m.ID < best.ID) {
			best = m
		}
	}
	return best, best.ID != 0
}

// Check applies entity's rule to a new record: the matches by the rule's
// keys (a lead is matched against the open leads and the contacts). An
// Allow rule looks nothing up.
func Check(ctx context.Context, st *store.Store, entity string, p Probe) (Decision, error) {
	_, _, d, err := check(ctx, st, entity, p, false)
	return d, err
}

// Later is a check of a create that goes ahead whatever is found: its
// lookups come after the create, and the create probes the new record's
// phones and e-mails (store.CommsCheck) as the database was before it.
type Later struct {
	rule  Rule
	probe Probe
	check *store.CommsCheck
}

// CheckCreate is Check for a new record about to be created. A lead
// under a rule that warns (any but Allow and Refuse: linking and merging
// act on the intake paths) by phones and e-mails only is not looked up
// yet: ctx then carries the probes for the create to answer, and Later's
// Matches reads the records after it — the usual new lead matching
// nothing, that is a read fewer on every create. Otherwise this is
// Check, and later is nil.
func CheckCreate(ctx context.Context, st *store.Store, entity string, p Probe) (_ context.Context, later *Later, _ Decision, _ error) {
	return check(ctx, st, entity, p, true)
}

// check is Check, and CheckCreate when mayDefer is set.
func check(ctx context.Context, st *store.Store, entity string, p Probe, mayDefer bool) (_ context.Context, later *Later, _ Decision, _ error) {
	r, err := RuleOf(ctx, st, entity)
	if err != nil || r.Action == Allow {
		return ctx, nil, Decision{Rule: r}, err
	}
	if mayDefer && r.Action != Refuse && entity == store.EntityLead && !slices.ContainsFunc(r.Keys, func(k string) bool { return k != ByPhone && k != ByEmail }) {
		c := &store.CommsCheck{Probes: commsProbes(r.Keys, []string{store.EntityLead, store.EntityContact}, p)}
		return store.WithCommsCheck(ctx, c), &Later{rule: r, probe: p, check: c}, Decision{Rule: r}, nil
	}
	ms, err := Find(ctx, st, entity, r.Keys, p)
	return ctx, nil, Decision{Rule: r, Matches: ms}, err
}

// Matches are the records the new lead id may duplicate: none read when
// the create found none of its phones and e-mails; the lead itself left
// out.
func (l *Later) Matches(ctx context.Context, st *store.Store, id int64) ([]Match, error) {
	var present map[store.CommProbe]bool
	if l.check.Done {
		if !slices.Contains(l.check.Found, true) {
			return nil, nil
		}
		present = make(map[store.CommProbe]bool, len(l.check.Probes))
		for i, pr := range l.check.Probes {
			present[pr] = l.check.Found[i]
		}
	}
	// Not answered (not expected of CreateLead): the look sees the new
	// lead too, and leaves it out.
	ms, err := find(ctx, st, l.rule.Entity, l.rule.Keys, l.probe, present)
	return slices.DeleteFunc(ms, func(m Match) bool { return m.Entity == store.EntityLead && m.ID == id }), err
}

// maxMatches bounds what one key reads.
const maxMatches = 20

// Find lists the live records like p by keys, across everyone's records
// (a duplicate is one whoever is responsible for it): for a lead the open
// leads and the contacts, otherwise records of entity. A record found by
// two keys is listed once, by the first.
func Find(ctx context.Context, st *store.Store, entity string, keys []string, p Probe) ([]Match, error) {
	return find(ctx, st, entity, keys, p, nil)
}

// find is Find with the phones' and e-mails' probes already answered
// (present; nil: probed here when needed).
func find(ctx context.Context, st *store.Store, entity string, keys []string, p Probe, present map[store.CommProbe]bool) ([]Match, error) {
	ctx = store.Unscoped(ctx)
	var out []Match
	seen := map[string]bool{}
	add := func(m Match) {
		k := m.Entity + "/" + fmt.Sprint(m.ID)
		if !seen[k] {
			seen[k] = true
			out = append(out, m)
		}
	}
	targets := []string{entity}
	if entity == store.EntityLead {
		targets = []string{store.EntityLead, store.EntityContact}
	}
	var err error
	for _, key := range keys {
		var params []store.ListParams
		switch key {
		case ByPhone:
			for _, v := range p.Phones {
				params = append(params, store.ListParams{Phone: v})
			}
		case ByEmail:
			for _, v := range p.Emails {
				params = append(params, store.ListParams{Email: v})
			}
		case ByINN:
			if p.INN != "" {
				params = append(params, store.ListParams{INN: p.INN})
			}
		case ByName:
			if p.Name != "" {
				params = append(params, store.ListParams{Q: LongestWord(p.Name)})
			}
		}
		for _, lp := range params {
			lp.Limit = maxMatches
			for _, target := range targets {
				if lp.Phone != "" || lp.Email != "" {
					// The usual new record matches nothing: the index
					// probes (made at once, below) say so before any
					// record is read.
					kind, v := crm.KindPhone, lp.Phone
					if lp.Email != "" {
						kind, v = crm.KindEmail, lp.Email
					}
					if present == nil {
						if present, err = commsPresent(ctx, st, keys, targets, p); err != nil {
							return nil, err
						}
					}
					if !present[store.CommProbe{Entity: target, Kind: kind, Value: v}] {
						continue
					}
				}
				ms, err := list(ctx, st, target, lp, key, p)
				if err != nil {
					return nil, err
				}
				for _, m := range ms {
					add(m)
				}
			}
		}
	}
	return out, nil
}

// list reads one lookup of target, keeping by name only the exact
// namesakes (and, for people, of the same company).
func list(ctx context.Context, st *store.Store, target string, lp store.ListParams, key string, p Probe) ([]Match, error) {
	var out []Match
	byName := key == ByName
	switch target {
	case store.EntityLead:
		ls, _, err := st.ListLeads(ctx, lp)
		if err != nil {
			return nil, fmt.Errorf("dedup: leads by %s: %w", key, err)
		}
		for _, l := range ls {
			if l.ConvertedAt != nil || l.StatusID == "CONVERTED" || l.StatusID == "JUNK" {
				continue // only an open lead is a duplicate of a new one
			}
			if byName && !(SameWords(personName(l.Name, l.LastName), p.Name) && SameText(l.CompanyTitle, p.Company)) {
				continue
			}
			out = append(out, Match{Entity: target, ID: l.ID, Title: l.Title, By: key})
		}
	case store.EntityContact:
		cs, _, err := st.ListContacts(ctx, lp)
		if err != nil {
			return nil, fmt.Errorf("dedup: contacts by %s: %w", key, err)
		}
		for _, c := range cs {
			if byName && !SameWords(personName(c.Name, c.LastName), p.Name) {
				continue
			}
			out = append(out, Match{Entity: target, ID: c.ID, Title: personName(c.LastName, c.Name), By: key})
		}
	case store.EntityAccount:
		as, _, err := st.ListAccounts(ctx, lp)
		if err != nil {
			return nil, fmt.Errorf("dedup: accounts by %s: %w", key, err)
		}
		for _, a := range as {
			if byName && !SameText(a.Title, p.Name) {
				continue
			}
			out = append(out, Match{Entity: target, ID: a.ID, Title: a.Title, By: key})
		}
	}
	return out, nil
}

// SameText compares names as people type them: case and the spaces
// around them aside.
func SameText(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// Words are a name's words, lower-case and sorted, so that "Иван
// Петров" and "Петров Иван" compare equal.
func Words(parts ...string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, strings.Fields(strings.ToLower(p))...)
	}
	slices.Sort(out)
	return out
}

// SameWords compares two names by their words in any order.
func SameWords(a, b string) bool {
	wa := Words(a)
	return len(wa) > 0 && slices.Equal(wa, Words(b))
}

// LongestWord is the word of s that narrows a text search most.
func LongestWord(s string) string {
	var best string
	for _, w := range strings.Fields(s) {
		if utf8.RuneCountInString(w) > utf8.RuneCountInString(best) {
			best = w
		}
	}
	return best
}

// commsPresent probes every phone and e-mail of p the keys match by, in
// every target, in one read.
func commsPresent(ctx context.Context, st *store.Store, keys, targets []string, p Probe) (map[store.CommProbe]bool, error) {
	probes := commsProbes(keys, targets, p)
	has, err := st.CommsPresent(ctx, probes)
	if err != nil {
		return nil, err
	}
	out := make(map[store.CommProbe]bool, len(probes))
	for i, pr := range probes {
		out[pr] = has[i]
	}
	return out, nil
}

// commsProbes are the probes of every phone and e-mail of p the keys
// match by, in every target.
func commsProbes(keys, targets []string, p Probe) []store.CommProbe {
	var probes []store.CommProbe
	for _, key := range keys {
		kind, values := crm.KindPhone, p.Phones
		switch key {
		case ByPhone:
		case ByEmail:
			kind, values = crm.KindEmail, p.Emails
		default:
			continue
		}
		for _, v := range values {
			for _, target := range targets {
				probes = append(probes, store.CommProbe{Entity: target, Kind: kind, Value: v})
			}
		}
	}
	return probes
}
