package crm

import (
	"slices"
	"strconv"
	"strings"
)

// Product is a stock item.
type Product struct {
	Meta
	Name        string   `json:"name"`
	Article     string   `json:"article"`
	Unit        string   `json:"unit"`
	Price       Amount   `json:"price"`
	Currency    string   `json:"currency"`
	VATRate     *Amount  `json:"vat_rate"`
	VATIncluded bool     `json:"vat_included"`
	Stock       Quantity `json:"stock"`
	Description string   `json:"description"`
	Active      bool     `json:"active"`
	CatalogIDs  []int64  `json:"catalog_ids"`
	Extra
}

// Normalize trims and validates.
func (p *Product) Normalize() error {
	trimAll(&p.Name, &p.Article, &p.Unit, &p.Currency)
	if p.Name == "" {
		return Invalid("name", "required")
	}
	if p.Currency == "" {
		p.Currency = "RUB"
	}
	p.Currency = strings.ToUpper(p.Currency)
	if p.Price < 0 {
		return Invalid("price", "must not be negative")
	}
	if p.VATRate != nil && (*p.VATRate < 0 || *p.VATRate > 10000) {
		return Invalid("vat_rate", "must be between 0 and 100")
	}
	var err error
	if p.CatalogIDs, err = SortedUniqueIDs("catalog_ids", p.CatalogIDs); err != nil {
		return err
	}
	return firstErr(
		checkLen("name", p.Name, 500),
		checkLen("article", p.Article, 100),
		checkLen("unit", p.Unit, 50),
		checkCurrency("currency", p.Currency),
	)
}

// SearchText is what q= matches.
func (p *Product) SearchText() string { return SearchText(p.Name, p.Article) }

// Service is work sold by the hour, piece or job.
type Service struct {
	Meta
	Name        string  `json:"name"`
	Unit        string  `json:"unit"`
	Price       Amount  `json:"price"`
	Currency    string  `json:"currency"`
	VATRate     *Amount `json:"vat_rate"`
	VATIncluded bool    `json:"vat_included"`
	Description string  `json:"description"`
	Active      bool    `json:"active"`
	CatalogIDs  []int64 `json:"catalog_ids"`
	Extra
}

// Normalize trims and validates.
func (s *Service) Normalize() error {
	trimAll(&s.Name, &s.Unit, &s.Currency)
	if s.Name == "" {
		return Invalid("name", "required")
	}
	if s.Currency == "" {
		s.Currency = "RUB"
	}
	s.Currency = strings.ToUpper(s.Currency)
	if s.Price < 0 {
		return Invalid("price", "must not be negative")
	}
	if s.VATRate != nil && (*s.VATRate < 0 || *s.VATRate > 10000) {
		return Invalid("vat_rate", "must be between 0 and 100")
	}
	var err error
	if s.CatalogIDs, err = SortedUniqueIDs("catalog_ids", s.CatalogIDs); err != nil {
		return err
	}
	return firstErr(checkLen("name", s.Name, 500), checkLen("unit", s.Unit, 50), checkCurrency("currency", s.Currency))
}

// SearchText is what q= matches.
func (s *Service) SearchText() string { return SearchText(s.Name) }

// Catalog is a group of products and services (a 1C catalog section).
type Catalog struct {
	Meta
	Name        string `json:"name"`
	ParentID    int64  `json:"parent_id"`
	Description string `json:"description"`
	Extra
}

// Normalize trims and validates.
func (c *Catalog) Normalize() error {
	trimAll(&c.Name)
	if c.Name == "" {
		return Invalid("name", "required")
	}
	if c.ParentID < 0 {
		return Invalid("parent_id", "must not be negative")
	}
	return checkLen("name", c.Name, 255)
}

// SearchText is what q= matches.
func (c *Catalog) SearchText() string { return SearchText(c.Name) }

// SortedUniqueIDs returns a list of record ids sorted and without repeats, as it
// reads back from the store; field names the list in errors.
func SortedUniqueIDs(field string, ids []int64) ([]int64, error) {
	out := make([]int64, 0, len(ids))
	for i, id := range ids {
		if id <= 0 {
			return nil, Invalid(field+"["+strconv.FormatInt(int64(i), 10)+"]", "%d is not a record id", id)
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
