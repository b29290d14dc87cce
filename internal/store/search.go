package store

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
)

// phoneTail is how many trailing digits of a phone a search matches: a
// manager remembers "…123-45-67", not the city code.
const phoneTail = 7

// commsSearch is the part of a q= search that looks at phones and
// e-mails beyond an exact match: the last 7 digits of a phone (or more:
// a number typed without its country code) and an e-mail's domain. Both
// walk the expression indexes of migration 0021, whose text the
// conditions repeat.
func (s *Store) commsSearch(q, entity string) []qCond {
	var conds []qCond
	if digits, ok := phoneQuery(q); ok {
		tail := digits[len(digits)-phoneTail:]
		cond := func(arg func(any) string) string {
			c := fmt.Sprintf("comms.kind = 'PHONE' AND substr(comms.normalized, length(comms.normalized) - 6) = %s AND comms.entity = %s", arg(tail), arg(entity))
			if len(digits) > phoneTail {
				c += " AND comms.normalized LIKE " + arg("%"+digits)
			}
			return c
		}
		conds = append(conds, commsCond(cond))
	}
	if domain, ok := domainQuery(q); ok {
		expr := "substr(comms.normalized, instr(comms.normalized, '@') + 1)"
		if s.db.Dialect == db.Postgres {
			expr = "split_part(comms.normalized, '@', 2)"
		}
		conds = append(conds, commsCond(func(arg func(any) string) string {
			return fmt.Sprintf("comms.kind = 'EMAIL' AND %s = %s AND comms.entity = %s", expr, arg(domain), arg(entity))
		}))
	}
	return conds
}

// commsCond is a q= condition on the comms (cond on comms' own columns):
// r.id IN the matches, or, as a branch of unionPage, the comms joined to
// the records in record_id order along the expression index (migration
// 0025), so that a domain every lead has stops at the page's end.
func commsCond(cond func(arg func(any) string) string) qCond {
	return qCond{
		sql: func(arg func(any) string) string {
			return "r.id IN (SELECT comms.record_id FROM comms WHERE " + cond(arg) + ")"
		},
		driver: func(arg func(any) string) qDriver {
			return qDriver{from: "comms", id: "comms.record_id", where: cond(arg), distinct: true}
		},
	}
}

// phoneQuery reports whether q is a phone or its end: 7 digits at least,
// nothing but digits and the usual separators.
func phoneQuery(q string) (string, bool) {
	var b strings.Builder
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case strings.ContainsRune("+-() .", r):
		default:
			return "", false
		}
	}
	d := b.String()
	return d, len(d) >= phoneTail
}

// domainQuery reports whether q is an e-mail domain ("mail.ru",
// "@mail.ru"), lower-cased.
func domainQuery(q string) (string, bool) {
	d := strings.ToLower(strings.TrimPrefix(q, "@"))
	if !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
		return "", false
	}
	for _, r := range d {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-') {
			return "", false
		}
	}
	// The last label is the zone: letters only, two at least ("ru",
	// "рф"), so that "М5.0" is a name, not a domain.
	zone := []rune(d[strings.LastIndex(d, ".")+1:])
	if len(zone) < 2 {
		return "", false
	}
	for _, r := range zone {
		if !unicode.IsLetter(r) {
			return "", false
		}
	}
	return d, true
}

// SearchEntities are the entities the global search looks through, in
// the order it shows them.
var SearchEntities = []string{EntityLead, EntityContact, EntityAccount, EntityDeal, EntitySalesOrder, EntityInvoice, EntityProduct}

// SearchHit is one record found by the global search.
type SearchHit struct {
	Entity string   `json:"entity"`
	ID     int64    `json:"id"`
	Title  string   `json:"title"`
	Phones []string `json:"phones,omitempty"`
	Emails []string `json:"emails,omitempty"`
	INN    string   `json:"inn,omitempty"`
}

// SearchResult is the global search's answer: up to the limit of hits
// per entity, newest first, and whether an entity has more.
type SearchResult struct {
	Hits []SearchHit     `json:"hits"`
	More map[string]bool `json:"more"`
}

// Search looks for q across leads, contacts, accounts, deals, orders,
// invoices and products with each list's own q= search (names, phones
// and their last 7 digits, e-mails and their domain, INN, numbers),
// within what the user may see; at most perEntity hits each (1..50).
func (s *Store) Search(ctx context.Context, q string, perEntity int) (SearchResult, error) {
	q = strings.TrimSpace(q)
	res := SearchResult{More: map[string]bool{}}
	if q == "" {
		return res, nil
	}
	if perEntity <= 0 || perEntity > 50 {
		perEntity = 5
	}
	p := ListParams{Q: q, Sort: "-id", Limit: perEntity}
	// A phone or an e-mail (or its domain) is looked up through the
	// comms' indexes only: the records with phones and e-mails, and the
	// numbered documents when it is all digits.
	_, phone := phoneQuery(q)
	_, domain := domainQuery(q)
	ident := phone || domain || strings.Contains(q, "@")
	for _, e := range SearchEntities {
		p.QNoText = false
		if ident {
			switch e {
			case EntityLead, EntityContact, EntityAccount:
				p.QNoText = true
			case EntitySalesOrder, EntityInvoice:
				if !phone {
					continue
				}
			default:
				continue
			}
		}
		hits, more, err := s.search1(ctx, e, p)
		if err != nil {
			return SearchResult{}, fmt.Errorf("store: search %s: %w", e, err)
		}
		res.Hits = append(res.Hits, hits...)
		if more {
			res.More[e] = true
		}
	}
	return res, nil
}

func commValues(cs []crm.Comm) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Value)
	}
	return out
}

func (s *Store) search1(ctx context.Context, entity string, p ListParams) ([]SearchHit, bool, error) {
	var hits []SearchHit
	var next string
	switch entity {
	case EntityLead:
		ls, n, err := s.ListLeads(ctx, p)
		if err != nil {
			return nil, false, err
		}
		for _, l := range ls {
			title := l.Title
			if name := joinName(l.LastName, l.Name, l.SecondName); name != "" && !strings.Contains(title, name) {
				title += " — " + name
			}
			hits = append(hits, SearchHit{Entity: entity, ID: l.ID, Title: title, Phones: commValues(l.Phones), Emails: commValues(l.Emails)})
		}
		next = n
	case EntityContact:
		cs, n, err := s.ListContacts(ctx, p)
		if err != nil {
			return nil, false, err
		}
		for _, c := range cs {
			hits = append(hits, SearchHit{Entity: entity, ID: c.ID, Title: joinName(c.LastName, c.Name, c.SecondName), Phones: commValues(c.Phones), Emails: commValues(c.Emails)})
		}
		next = n
	case EntityAccount:
		as, n, err := s.ListAccounts(ctx, p)
		if err != nil {
			return nil, false, err
		}
		for _, a := range as {
			hits = append(hits, SearchHit{Entity: entity, ID: a.ID, Title: a.Title, Phones: commValues(a.Phones), Emails: commValues(a.Emails), INN: a.INN})
		}
		next = n
	case EntityDeal:
		ds, n, err := s.ListDeals(ctx, p)
		if err != nil {
			return nil, false, err
		}
		for _, d := range ds {
			hits = append(hits, SearchHit{Entity: entity, ID: d.ID, Title: d.Title})
		}
		next = n
	case EntitySalesOrder:
		os, n, err := s.ListSalesOrders(ctx, p)
		if err != nil {
			return nil, false, err
		}
		for _, o := range os {
			hits = append(hits, SearchHit{Entity: entity, ID: o.ID, Title: o.Number})
		}
		next = n
	case EntityInvoice:
		vs, n, err := s.ListInvoices(ctx, p)
		if err != nil {
			return nil, false, err
		}
		for _, v := range vs {
			hits = append(hits, SearchHit{Entity: entity, ID: v.ID, Title: v.Number})
		}
		next = n
	case EntityProduct:
		ps, n, err := s.ListProducts(ctx, p)
		if err != nil {
			return nil, false, err
		}
		for _, x := range ps {
			title := x.Name
			if x.Article != "" {
				title += " (" + x.Article + ")"
			}
			hits = append(hits, SearchHit{Entity: entity, ID: x.ID, Title: title})
		}
		next = n
	}
	return hits, next != "", nil
}

// joinName is a person's name as typed (FullName is lower-cased for
// search).
func joinName(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

// ftsTables are the tables whose search text has a trigram index on
// SQLite: an FTS5 table T_fts (migration 0025) kept by triggers.
var ftsTables = map[string]bool{
	"leads": true, "contacts": true, "accounts": true, "deals": true,
	"sales_orders": true, "invoices": true, "products": true,
}

// textCondition is q='s condition on the records' search text: a
// case-insensitive substring (the text and q lower-cased in Go). On
// PostgreSQL the LIKE walks the pg_trgm index of migration 0025 when the
// extension could be created. On SQLite the FTS5 trigram table finds
// the candidates (q as one phrase: its trigrams in a row, that is, q as
// a substring, folded) and the LIKE keeps the exact meaning; q shorter
// than a trigram is left to the LIKE alone.
func (s *Store) textCondition(table, q string) qCond {
	lq := crm.FoldSearch(q)
	like := func(arg func(any) string) string {
		return "r.search LIKE " + arg("%"+escapeLike(lq)+"%") + " ESCAPE '\\'"
	}
	if s.db.Dialect != db.SQLite || !ftsTables[table] || utf8.RuneCountInString(lq) < 3 || plainSearch {
		return qCond{sql: like}
	}
	phrase := `"` + strings.ReplaceAll(lq, `"`, `""`) + `"`
	fts := table + "_fts"
	return qCond{
		sql: func(arg func(any) string) string {
			return "(r.id IN (SELECT rowid FROM " + fts + " WHERE " + fts + " MATCH " + arg(phrase) + ") AND " + like(arg) + ")"
		},
		// FTS5 reads a phrase's rows in rowid order as asked, lazily: a
		// word every record has stops at the page's end.
		driver: func(arg func(any) string) qDriver {
			return qDriver{from: fts, id: fts + ".rowid", where: fts + " MATCH " + arg(phrase) + " AND " + like(arg)}
		},
	}
}
