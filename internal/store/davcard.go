package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
)

// DAVCard is what a CardDAV client keeps of a contact beyond the CRM's
// fields (dav_cards, migration 0050).
type DAVCard struct {
	ContactID int64
	Name      string // the card's name in the client's href, "" for {id}.vcf
	UID       string
	Raw       string // the last card the client sent
	// Photo, when set, is the contact's photo from the card's inline
	// PHOTO; DropPhoto removes the one it has (a client took it out of a
	// card that had it). Written only, by SaveContactCard.
	Photo     []byte
	DropPhoto bool
}

const davChunk = 500

// DAVCards are the stored cards of contacts, by contact id.
func (s *Store) DAVCards(ctx context.Context, ids []int64) (map[int64]DAVCard, error) {
	out := make(map[int64]DAVCard, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), davChunk)
		args := int64Args(ids[:n])
		ids = ids[n:]
		rows, err := s.db.Reader().QueryContext(ctx, "SELECT contact_id, name, uid, raw FROM dav_cards WHERE contact_id IN ("+placeholders(1, n)+")", args...)
		if err != nil {
			return nil, fmt.Errorf("store: DAV cards: %w", err)
		}
		for rows.Next() {
			var c DAVCard
			if err := rows.Scan(&c.ContactID, &c.Name, &c.UID, &c.Raw); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: DAV cards: %w", err)
			}
			out[c.ContactID] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: DAV cards: %w", err)
		}
	}
	return out, nil
}

// DAVCardByName finds a card by the name a client gave it.
func (s *Store) DAVCardByName(ctx context.Context, name string) (DAVCard, error) {
	var c DAVCard
	err := s.db.Reader().QueryRowContext(ctx, "SELECT contact_id, name, uid, raw FROM dav_cards WHERE name = $1", name).
		Scan(&c.ContactID, &c.Name, &c.UID, &c.Raw)
	if errors.Is(err, sql.ErrNoRows) {
		return c, NotFound("DAV card", name)
	}
	if err != nil {
		return c, fmt.Errorf("store: DAV card %q: %w", name, err)
	}
	return c, nil
}

// DAVCardsByName are the stored cards of the names clients gave them.
func (s *Store) DAVCardsByName(ctx context.Context, names []string) (map[string]DAVCard, error) {
	out := make(map[string]DAVCard, len(names))
	for len(names) > 0 {
		n := min(len(names), davChunk)
		args := make([]any, n)
		for i, v := range names[:n] {
			args[i] = v
		}
		names = names[n:]
		rows, err := s.db.Reader().QueryContext(ctx, "SELECT contact_id, name, uid, raw FROM dav_cards WHERE name IN ("+placeholders(1, n)+")", args...)
		if err != nil {
			return nil, fmt.Errorf("store: DAV cards by name: %w", err)
		}
		for rows.Next() {
			var c DAVCard
			if err := rows.Scan(&c.ContactID, &c.Name, &c.UID, &c.Raw); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: DAV cards by name: %w", err)
			}
			out[c.Name] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: DAV cards by name: %w", err)
		}
	}
	return out, nil
}

// DAVContactIDs are the live contacts the request may see, in id order:
// all of them, or (linked) only those that work for an account; only,
// when not nil, limits them to those ids.
func (s *Store) DAVContactIDs(ctx context.Context, linked bool, only []int64) ([]int64, error) {
	if only != nil && len(only) == 0 {
		return []int64{}, nil
	}
	out := []int64{}
	for first := true; first || len(only) > 0; first = false {
		var args []any
		arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
		where := []string{"c.deleted_at = 0"}
		if cond := ScopeCondition(ctx, EntityContact, "c", arg); cond != "" {
			where = append(where, cond)
		}
		if linked {
			where = append(where, "EXISTS (SELECT 1 FROM contact_accounts ca WHERE ca.contact_id = c.id)")
		}
		if only != nil {
			n := min(len(only), davChunk)
			ph := make([]string, n)
			for i, id := range only[:n] {
				ph[i] = arg(id)
			}
			only = only[n:]
			where = append(where, "c.id IN ("+strings.Join(ph, ", ")+")")
		}
		rows, err := s.db.Reader().QueryContext(ctx, "SELECT c.id FROM contacts c WHERE "+strings.Join(where, " AND ")+" ORDER BY c.id", args...)
		if err != nil {
			return nil, fmt.Errorf("store: DAV contacts: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: DAV contacts: %w", err)
			}
			out = append(out, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: DAV contacts: %w", err)
		}
	}
	return out, nil
}

// DAVContacts loads contacts by id, in chunks, leaving out those the
// request may not see or that are in the recycle bin.
func (s *Store) DAVContacts(ctx context.Context, ids []int64) ([]crm.Contact, error) {
	ids, err := s.DAVContactIDs(ctx, false, ids)
	if err != nil {
		return nil, err
	}
	out := make([]crm.Contact, 0, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), davChunk)
		vs, err := contactLoader.load(s.rq(ctx), ids[:n])
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
		ids = ids[n:]
	}
	return out, nil
}

// AccountTitles are the titles of the accounts the request may see.
func (s *Store) AccountTitles(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	for len(ids) > 0 {
		n := min(len(ids), davChunk)
		var args []any
		arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
		ph := make([]string, n)
		for i, id := range ids[:n] {
			ph[i] = arg(id)
		}
		ids = ids[n:]
		q := "SELECT a.id, a.title FROM accounts a WHERE a.deleted_at = 0 AND a.id IN (" + strings.Join(ph, ", ") + ")"
		if cond := ScopeCondition(ctx, EntityAccount, "a", arg); cond != "" {
			q += " AND " + cond
		}
		rows, err := s.db.Reader().QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("store: account titles: %w", err)
		}
		for rows.Next() {
			var id int64
			var title string
			if err := rows.Scan(&id, &title); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: account titles: %w", err)
			}
			out[id] = title
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: account titles: %w", err)
		}
	}
	return out, nil
}

// AccountIDByTitle is the live account of exactly that title the request
// may see (the oldest, when several have it); ErrNotFound when none.
func (s *Store) AccountIDByTitle(ctx context.Context, title string) (int64, error) {
	args := []any{title}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	q := "SELECT a.id FROM accounts a WHERE a.deleted_at = 0 AND a.title = $1"
	if cond := ScopeCondition(ctx, EntityAccount, "a", arg); cond != "" {
		q += " AND " + cond
	}
	var id int64
	err := s.db.Reader().QueryRowContext(ctx, q+" ORDER BY a.id LIMIT 1", args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, NotFound(EntityAccount, title)
	}
	if err != nil {
		return 0, fmt.Errorf("store: account %q: %w", title, err)
	}
	return id, nil
}

// DAVLastChange is the id of the last change-log event that may change a
// contact's card (a contact's or an account's: the card's ORG is its
// account's title); 0 when there is none. The log is walked from its end,
// which such events are rarely far from.
func (s *Store) DAVLastChange(ctx context.Context) (int64, error) {
	var id int64
	err := s.db.Reader().QueryRowContext(ctx, "SELECT id FROM events WHERE entity IN ($1, $2) AND id > 0 ORDER BY id DESC LIMIT 1",
		EntityContact, EntityAccount).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: last contact change: %w", err)
	}
	return id, nil
}

// DAVChangedContacts are the contacts whose card may have changed in the
// events after since up to upto — the contacts changed, and those now
// linked to an account changed — each with whether it may have left a
// user's sight since (deleted, purged, given to another user, its account
// links changed). Access is not applied: the caller sorts them into
// visible (changed) and not (gone, when they may have left; a change a
// user never saw is not theirs to hear of).
func (s *Store) DAVChangedContacts(ctx context.Context, since, upto int64) (map[int64]bool, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT e.record_id, e.action, e.changes FROM events e WHERE e.entity = $1 AND e.id > $3 AND e.id <= $4
		UNION ALL SELECT ca.contact_id, '', '{}' FROM events e JOIN contact_accounts ca ON ca.account_id = e.record_id WHERE e.entity = $2 AND e.id > $3 AND e.id <= $4`,
		EntityContact, EntityAccount, since, upto)
	if err != nil {
		return nil, fmt.Errorf("store: contacts changed since %d: %w", since, err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		var action, changes string
		if err := rows.Scan(&id, &action, &changes); err != nil {
			return nil, fmt.Errorf("store: contacts changed since %d: %w", since, err)
		}
		left := action == events.Delete || action == events.Purge
		if !left && action == events.Update {
			var ch map[string]json.RawMessage
			_ = json.Unmarshal([]byte(changes), &ch)
			_, a := ch["assigned_by_id"]
			_, b := ch["account_ids"]
			left = a || b
		}
		out[id] = out[id] || left
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: contacts changed since %d: %w", since, err)
	}
	return out, nil
}

// SaveContactCard creates a contact (id 0: c is the new contact) or
// updates one (mutate changes it) from a card a client sent, and keeps
// the card beside it, in one transaction: a refused change stores
// nothing. A card name another contact has is ErrConflict.
func (s *Store) SaveContactCard(ctx context.Context, actor crm.Actor, id int64, c crm.Contact, mutate func(*crm.Contact) error, card DAVCard) (crm.Contact, error) {
	var out crm.Contact
	err := s.Write(ctx, actor, func(t *Tx) error {
		var err error
		var oldRaw string
		emitted := len(t.root().events)
		if id == 0 {
			out, err = createInTx(t, EntityContact, c, checkContact, func(t *Tx, v *crm.Contact) error { return t.insertContact(v) })
		} else {
			err = t.tx.QueryRowContext(t.ctx, "SELECT raw FROM dav_cards WHERE contact_id = $1", id).Scan(&oldRaw)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: DAV card of contact %d: %w", id, err)
			}
			out, err = updateInTx(t, id, contactUpdate, mutate)
		}
		if err != nil {
			return err
		}
		if card.Photo != nil {
			if _, _, err := t.setPhoto(EntityContact, out.ID, "vcard", card.Photo, PhotoCardDAV, false); err != nil {
				return err
			}
		} else if card.DropPhoto {
			if err := t.deletePhoto(EntityContact, out.ID); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		if id != 0 && len(t.root().events) == emitted && oldRaw != card.Raw {
			// Only what the CRM keeps verbatim changed (a PHOTO, an X-
			// property): no field of the contact did, so no event was
			// written, yet the card every client serves is another one.
			// The event moves the books (sync-collection, getctag) and
			// tells the history which properties changed.
			props, _ := json.Marshal(strings.Join(cardPropsChanged(oldRaw, card.Raw), ", "))
			t.Emit(EntityContact, id, events.Update, map[string]events.Change{"vcard": {Old: json.RawMessage("null"), New: props}})
		}
		if card.Name == "" {
			card.Name = strconv.FormatInt(out.ID, 10) + ".vcf"
		}
		_, err = t.tx.ExecContext(t.ctx, `INSERT INTO dav_cards (contact_id, name, uid, raw, updated_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (contact_id) DO UPDATE SET name = excluded.name, uid = excluded.uid, raw = excluded.raw, updated_at = excluded.updated_at`,
			out.ID, card.Name, card.UID, card.Raw, micro(t.now))
		if db.IsUniqueViolation(err) {
			return fmt.Errorf("store: card %q is another contact's: %w", card.Name, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: DAV card of contact %d: %w", out.ID, err)
		}
		return nil
	})
	return out, err
}

// cardPropsChanged names the properties whose lines differ between two
// vCards (folded lines joined; a group prefix dropped), in order.
func cardPropsChanged(a, b string) []string {
	lines := func(raw string) map[string][]string {
		out := map[string][]string{}
		raw = strings.NewReplacer("\r\n ", "", "\r\n\t", "", "\n ", "", "\n\t", "").Replace(raw)
		for _, l := range strings.Split(raw, "\n") {
			l = strings.TrimRight(l, "\r")
			head, _, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			name, _, _ := strings.Cut(head, ";")
			if i := strings.LastIndexByte(name, '.'); i >= 0 {
				name = name[i+1:]
			}
			name = strings.ToUpper(name)
			if name == "BEGIN" || name == "END" {
				continue
			}
			out[name] = append(out[name], l)
		}
		return out
	}
	la, lb := lines(a), lines(b)
	var names []string
	for n, v := range la {
		if !slices.Equal(v, lb[n]) {
			names = append(names, n)
		}
	}
	for n := range lb {
		if _, ok := la[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}
