package store

import (
	"context"
	"log/slog"
	"strings"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/crm"
)

// addressed is a record with addresses (lead, account, contact).
type addressed interface{ AddressFields() []*crm.Address }

// matchAddresses completes the addresses of v written without a ФИАС id
// — typed by hand, or coming from a CSV import, 1C, a web form, mail or
// the API — when the imported ФИАС/ГАР base has exactly one house, street
// or city of that text (address.Match): the deepest part found gives the
// ФИАС id and КЛАДР code, and an empty postcode its postcode; the text
// stays as given. old, when not nil, is the record before an update: an
// address the update did not change is left alone, so that an unrelated
// edit does not rewrite it. Nothing imported, no unique match or a lookup
// that fails: the address stays as it is (a failure is logged).
func (s *Store) matchAddresses(ctx context.Context, v, old any) {
	ad, ok := v.(addressed)
	if !ok {
		return
	}
	var before []*crm.Address
	if o, ok := old.(addressed); ok {
		before = o.AddressFields()
	}
	for i, a := range ad.AddressFields() {
		if a.FIASID != "" || strings.TrimSpace(a.City) == "" || (i < len(before) && *before[i] == *a) {
			continue
		}
		if !s.addressBase(ctx) {
			return
		}
		m, err := address.Match(ctx, s.db, address.Parts{Region: a.Region, City: a.City, Street: a.Street, House: a.House})
		if err != nil {
			slog.Warn("store: address match", "err", err)
			continue
		}
		if m.Level == "" {
			continue
		}
		a.FIASID, a.KLADR = m.GUID, m.KLADR
		if a.Postcode == "" {
			a.Postcode = m.Postcode
		}
	}
}

// addressBase says whether any address is imported. A yes is
// remembered like the store's other lookups; a no is asked again (one
// probe of an empty table), so that an import is used at once.
func (s *Store) addressBase(ctx context.Context) bool {
	if _, ok := s.cache.get("address-base"); ok {
		return true
	}
	var n int
	err := s.db.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM address_objects LIMIT 1) x").Scan(&n)
	if err != nil {
		slog.Warn("store: address base", "err", err)
		return false
	}
	if n > 0 {
		s.cache.put("address-base", true)
	}
	return n > 0
}
