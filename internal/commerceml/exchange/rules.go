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
	ProductByNameArticle(name, article string) (int64, error)
	ServiceByName(name string) (int64, error)
	AccountByName(name string) (int64, error)
	OrderByNumber(number string) (int64, error)
	ByExternal(entity, id string) (int64, error)
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

// MatchProduct: by name AND article (an empty article is a value: it
// matches only products without one), then by the hidden 1C id; else a new
// product. Same name with another article is a new product.
func MatchProduct(l Lookup, name, article, id1c string) (Match, error) {
	return first(
		func() (int64, string, error) {
			id, err := l.ProductByNameArticle(strings.TrimSpace(name), strings.TrimSpace(article))
			return id, ByNameArticle, err
		},
		func() (int64, string, error) { return byExternal(l, "product", id1c) },
	)
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
	c := strings.TrimSpace(code)
	if c == "" {
		c = fallback
	}
	if c == "" {
		c = "RUB"
	}
	iso := crm.CanonicalCurrency(c)
	if !active(iso) {
		return "", fmt.Errorf("currency %s (%q) of %s is not active in Obmen: add it under currencies and set its rate", iso, c, what)
	}
	return iso, nil
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
