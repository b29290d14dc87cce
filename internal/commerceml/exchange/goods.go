package exchange

import (
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/crm"
)

// goodSink is what applying a good needs of the path that applies it:
// the stager (stage.go) or the one-by-one path of the switch
// (catalog.go). Both match through MatchProduct over their Lookup and
// fill the product with fillFromGood, so that the two never drift apart.
type goodSink interface {
	Lookup
	goodUnit(u commerceml.Unit) error
	problem(entity string, line int, what string, err error) error
	warn(text string)
	fileName() string
}

// matchGood reads what a good's product needs before it is matched (VAT,
// unit) and matches it; ok is false when the good was refused (the
// problem is recorded).
func matchGood(s goodSink, g *commerceml.Good) (m ProductMatch, vat *crm.Amount, ok bool, err error) {
	what := fmt.Sprintf("product %q (article %q)", g.Name, g.Article)
	vat, err = ParseVAT(g.VAT())
	if err != nil {
		return m, nil, false, s.problem("product", g.Line, what, fmt.Errorf("%w: %w", errEntity, err))
	}
	if err := s.goodUnit(g.Unit); err != nil {
		return m, nil, false, err
	}
	m, err = MatchProduct(s, g.Name, g.Article, g.ID)
	if err != nil {
		return m, nil, false, err
	}
	if len(m.Collisions) > 0 {
		s.warn(CollisionWarning(s.fileName(), g.Line, g.Name, g.Article, g.ID, m.Collisions))
	}
	return m, vat, true, nil
}

// fillFromGood sets on p what a good carries: all of it for a new product
// (m.ID 0), else what 1C owns of a matched one (its name and article
// only when matched by the 1C id: a product linked by name and article
// keeps them as they are).
func fillFromGood(p *crm.Product, g *commerceml.Good, m ProductMatch, vat *crm.Amount, cats []int64) {
	id1c := strings.TrimSpace(g.ID)
	unit := g.Unit.Key()
	if m.ID == 0 {
		*p = crm.Product{Name: g.Name, Article: strings.TrimSpace(g.Article), Unit: unit, VATRate: vat, VATIncluded: true,
			Description: g.Description, Active: true, CatalogIDs: cats, Extra: crm.Extra{ExternalIDs: map[string]string{}}}
	} else {
		if m.Rule == ByExternalID {
			p.Name, p.Article = g.Name, strings.TrimSpace(g.Article)
		}
		if unit != "" {
			p.Unit = unit
		}
		p.VATRate = vat
		if g.Description != "" {
			p.Description = g.Description
		}
		if len(cats) > 0 {
			p.CatalogIDs = cats
		}
	}
	if m.Link && id1c != "" {
		// No live product carries it (MatchProduct looked it up first).
		if p.ExternalIDs == nil {
			p.ExternalIDs = map[string]string{}
		}
		p.ExternalIDs[System] = id1c
	}
}
