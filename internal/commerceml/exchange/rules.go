// Package exchange serves the CommerceML exchange protocol of 1C
// (/1c_exchange.php): Obmen plays the web site that 1C:Управление
// торговлей uploads its catalog to and exchanges orders with. The rules
// of seed 000 ("Интеграция с 1С посредством CommerceML") are the small
// pure functions of this file; the rest applies them to the store.
package exchange

import (
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/crm"
)

// System is the name of 1C's ids in external_ids and the integration
// name of the exchange's changes in the event log.
const System = crm.IntegrationOneC

// Lookup is what matching needs to know about the CRM; ids are 0 when
// nothing matches.
type Lookup interface {
	// ProductsByNameArticle lists the live products with exactly this
	// name and article, oldest first, with the 1C id each carries.
	ProductsByNameArticle(name, article string) ([]Named, error)
	ServiceByName(name string) (int64, error)
	AccountByName(name string) (int64, error)
	OrderByNumber(number string) (int64, error)
	ByExternal(entity, id string) (int64, error)
}

// Named is a product found by name and article: its id and the 1C id it
// carries ("" none).
type Named struct {
	ID   int64
	ID1C string
}

// Match is the outcome of matching: the record found (0: create one) and
// the rule that found it.
type Match struct {
	ID   int64
	Rule string
}

// Rules, as written in the journal and the tests.
const (
	ByNameArticle = "name+article"
	ByName        = "name"
	ByExternalID  = "1c id"
	ByNumber      = "number"
	NoMatch       = "new"
)

func first(steps ...func() (int64, string, error)) (Match, error) {
	for _, s := range steps {
		id, rule, err := s()
		if err != nil {
			return Match{}, err
		}
		if id != 0 {
			return Match{ID: id, Rule: rule}, nil
		}
	}
	return Match{Rule: NoMatch}, nil
}

// ProductMatch is the outcome of matching a 1C good (or the good of an
// offer) to a product.
type ProductMatch struct {
	Match
	// Link: the product is to carry the good's 1C id (a new product, or
	// one made by hand that the good was linked to by name and article).
	Link bool
	// Collisions are the products with the good's name and article that
	// carry another 1C id: the good is kept apart from them, and the
	// journal names each.
	Collisions []Named
}

// MatchProduct is the one rule that links a 1C good to a product, for the
// stager and the one-by-one path alike (seed 000, kept in spirit):
//
//   - a product that carries a 1C id is only ever matched by that id, so
//     two 1C goods never share a product;
//   - else by name AND article (an empty article is a value: it matches
//     only products without one), only among products without a 1C id:
//     those made by hand in the CRM, which the good then links to;
//   - else a new product. Same name with another article is a new product.
//
// An offer without a name (a prices or rests file) is matched by its 1C
// id only.
func MatchProduct(l Lookup, name, article, id1c string) (ProductMatch, error) {
	name, article, id1c = strings.TrimSpace(name), strings.TrimSpace(article), strings.TrimSpace(id1c)
	if id1c != "" {
		id, err := l.ByExternal("product", id1c)
		if err != nil {
			return ProductMatch{}, err
		}
		if id != 0 {
			return ProductMatch{Match: Match{ID: id, Rule: ByExternalID}}, nil
		}
	}
	m := ProductMatch{Match: Match{Rule: NoMatch}, Link: id1c != ""}
	if name == "" {
		return m, nil
	}
	named, err := l.ProductsByNameArticle(name, article)
	if err != nil {
		return ProductMatch{}, err
	}
	for _, n := range named {
		switch {
		case n.ID1C == "" && m.ID == 0:
			m.ID, m.Rule = n.ID, ByNameArticle
		case n.ID1C != "" && n.ID1C != id1c:
			m.Collisions = append(m.Collisions, n)
		}
	}
	return m, nil
}

// CollisionWarning is the journal line for a good kept apart from
// products with its name and article that carry other 1C ids.
func CollisionWarning(file string, line int, name, article, id1c string, with []Named) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s line %d: name+article collision: good %q (article %q, Ид %q) kept apart from", file, line, name, article, id1c)
	for i, n := range with {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " product %d (Ид %q)", n.ID, n.ID1C)
	}
	return b.String()
}

// MatchService: by name, then by the 1C id.
func MatchService(l Lookup, name, id1c string) (Match, error) {
	return first(
		func() (int64, string, error) {
			id, err := l.ServiceByName(strings.TrimSpace(name))
			return id, ByName, err
		},
		func() (int64, string, error) { return byExternal(l, "service", id1c) },
	)
}

// MatchCatalog: by the 1C id only.
func MatchCatalog(l Lookup, id1c string) (Match, error) {
	return first(func() (int64, string, error) { return byExternal(l, "catalog", id1c) })
}

// MatchAccount: by the 1C id, then by name; else a new account.
func MatchAccount(l Lookup, id1c, name string) (Match, error) {
	return first(
		func() (int64, string, error) { return byExternal(l, "account", id1c) },
		func() (int64, string, error) {
			if strings.TrimSpace(name) == "" {
				return 0, "", nil
			}
			id, err := l.AccountByName(strings.TrimSpace(name))
			return id, ByName, err
		},
	)
}

// MatchOrder: only by number; an order 1C knows and Obmen does not is
// never created (Match.ID 0 means skip).
func MatchOrder(l Lookup, number string) (Match, error) {
	return first(func() (int64, string, error) {
		if strings.TrimSpace(number) == "" {
			return 0, "", nil
		}
		id, err := l.OrderByNumber(strings.TrimSpace(number))
		return id, ByNumber, err
	})
}

func byExternal(l Lookup, entity, id1c string) (int64, string, error) {
	if strings.TrimSpace(id1c) == "" {
		return 0, "", nil
	}
	id, err := l.ByExternal(entity, strings.TrimSpace(id1c))
	return id, ByExternalID, err
}

// Requisites of an order that decide its status; the rest are kept.
const (
	reqPosted      = "Проведен"
	reqDeleted     = "ПометкаУдаления"
	reqPaymentNo   = "Номер оплаты по 1С"
	reqPaymentDate = "Дата оплаты по 1С"
)

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "истина", "да", "1":
		return true
	}
	return false
}

// DeriveStatus reads an order's status from its requisites (1C does not
// send one): marked for deletion → Cancelled; not posted (false or
// absent) → Created; posted with a payment (number or date of payment by
// 1C not empty) → Delivered; posted without → Approved.
func DeriveStatus(d *commerceml.Document) string {
	if v, _ := d.Requisite(reqDeleted); truthy(v) {
		return crm.OrderCancelled
	}
	if v, _ := d.Requisite(reqPosted); !truthy(v) {
		return crm.OrderCreated
	}
	no, _ := d.Requisite(reqPaymentNo)
	date, _ := d.Requisite(reqPaymentDate)
	if no != "" || date != "" {
		return crm.OrderDelivered
	}
	return crm.OrderApproved
}

// KeptRequisites are the order's requisites other than those that decide
// its status, kept on the order as sent.
func KeptRequisites(d *commerceml.Document) []commerceml.Requisite {
	var out []commerceml.Requisite
	for _, r := range d.Requisites {
		switch strings.TrimSpace(r.Name) {
		case reqPosted, reqDeleted, "":
			continue
		}
		out = append(out, commerceml.Requisite{Name: strings.TrimSpace(r.Name), Value: strings.TrimSpace(r.Value)})
	}
	return out
}

// Currency maps what 1C writes ("руб", "RUR", "643", "EUR") to an ISO
// code and refuses one that is not active in Obmen, naming it and what
// carries it. An empty code is the fallback (the price type's, or RUB).
func Currency(code, fallback string, active func(string) bool, what string) (string, error) {
	return CurrencyWith(nil, code, fallback, active, what)
}

// CurrencyWith is Currency through an alias table (upper-cased alias →
// ISO code; the editable one of the database) before the built-in one.
func CurrencyWith(aliases map[string]string, code, fallback string, active func(string) bool, what string) (string, error) {
	c := strings.TrimSpace(code)
	if c == "" {
		c = strings.TrimSpace(fallback)
	}
	if c == "" {
		c = "RUB"
	}
	iso, ok := aliases[strings.ToUpper(c)]
	if !ok {
		iso = crm.CanonicalCurrency(c)
	}
	if !active(iso) {
		if !isISO(iso) {
			return "", fmt.Errorf("currency %q of %s is not known: map it to an ISO code under currency aliases", c, what)
		}
		return "", fmt.Errorf("currency %s (%q) of %s is not active in Obmen: add it under currencies and set its rate", iso, c, what)
	}
	return iso, nil
}

func isISO(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// StatusTo1C is the order status as written to 1C: through the mapping
// of the settings, else the English name Obmen stores.
func StatusTo1C(status string, mapping map[string]string) string {
	if v, ok := mapping[status]; ok && strings.TrimSpace(v) != "" {
		return v
	}
	return status
}

// ParseVAT reads a VAT rate as 1C writes it ("20", "18%", "без НДС"); nil
// means no VAT.
func ParseVAT(s string) (*crm.Amount, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	if s == "" || strings.EqualFold(s, "без НДС") || strings.EqualFold(s, "Без налога") {
		return nil, nil
	}
	a, err := ParseAmount(s)
	if err != nil {
		return nil, fmt.Errorf("VAT rate %q: %w", s, err)
	}
	return &a, nil
}

// number1C normalizes 1C's numbers: a decimal comma, spaces (also
// non-breaking) between thousands, trailing zeros ("87.2000").
func number1C(s string) string {
	s = strings.NewReplacer(",", ".", " ", "", "\u00a0", "").Replace(strings.TrimSpace(s))
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

// ParseAmount reads a price or sum as 1C writes it.
func ParseAmount(s string) (crm.Amount, error) { return crm.ParseAmount(number1C(s)) }

// ParseQuantity reads a quantity as 1C writes it.
func ParseQuantity(s string) (crm.Quantity, error) { return crm.ParseQuantity(number1C(s)) }

// memberships gives the catalogs a good is in: those of its groups (1C
// ids, through catalogs) and the root catalog, each once.
func memberships(catalogs map[string]int64, root int64, groups []string) []int64 {
	var ids []int64
	seen := map[int64]bool{}
	add := func(id int64) {
		if id != 0 && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, g := range groups {
		add(catalogs[strings.TrimSpace(g)])
	}
	add(root)
	return ids
}

// maxProblems bounds the problems an exchange keeps for its journal.
const maxProblems = 1000

// addProblem adds text to the problems of an exchange, up to maxProblems.
func addProblem(problems []string, text string) []string {
	if len(problems) >= maxProblems {
		return problems
	}
	return append(problems, text)
}
