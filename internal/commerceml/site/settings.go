// Package site is the exchange with web shops over CommerceML: Obmen
// plays 1C:Предприятие toward each site's 1c_exchange.php (seed 000,
// "Интеграция с веб-сайтом"). It keeps the settings of each site, exports
// the catalog, fetches the site's orders and sends changed ones back,
// and journals each run in the exchange journal with direction "site".
package site

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/crm"
)

// Settings of the exchange with one site. Password is write-only: it is
// taken on create and update (empty keeps the stored one) and never
// returned; PasswordSet says whether one is stored.
type Settings struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// URL is the site's exchange script, e.g.
	// https://shop.example.ru/bitrix/admin/1c_exchange.php.
	URL         string `json:"url"`
	Login       string `json:"login"`
	Password    string `json:"password,omitempty"`
	PasswordSet bool   `json:"password_set"`
	// ResponsibleUserID is assigned the orders and counterparties created
	// from the site; 0 is the first administrator (see responsible).
	ResponsibleUserID int64 `json:"responsible_user_id"`
	// Catalogs are the ids of the catalogs exported; empty: all.
	Catalogs []int64 `json:"catalogs"`
	// PriceType names the price type published (product_prices.price_type);
	// "" publishes each product's own price as "Розничная". ExtraPriceTypes
	// are published beside it.
	PriceType       string   `json:"price_type"`
	ExtraPriceTypes []string `json:"extra_price_types"`
	// Warehouses are the 1C ids of the warehouses whose stock is
	// published; empty: the products' total stock.
	Warehouses []string `json:"warehouses"`
	// OwnerAccountID is the company whose requisites are written as the
	// <Владелец> of the catalog and the offers (1C's schema requires it):
	// its first requisite, as invoices take the seller's. 0: "our
	// company" of the invoices (the setting invoice.seller_account_id);
	// with neither, the site's name stands in.
	OwnerAccountID int64 `json:"owner_account_id"`
	// Version and Encoding of the documents written to the site.
	Version  string `json:"version"`
	Encoding string `json:"encoding"`
	// StatusMap maps Obmen's order status to the site's (seed 000: the
	// mapping table); the way back reads it reversed. A status not in it
	// is sent as it is.
	StatusMap map[string]string `json:"status_map"`
	// CatalogEvery and OrdersEvery are the schedules in minutes (0: no
	// schedule, "Run now" only).
	CatalogEvery int `json:"catalog_every"`
	OrdersEvery  int `json:"orders_every"`
	// OnlyChanged exports the products changed since the last successful
	// catalog export instead of the whole catalog.
	OnlyChanged bool `json:"only_changed"`
	Enabled     bool `json:"enabled"`
	// AlertAfter is how many consecutive failed runs raise an alert.
	AlertAfter int `json:"alert_after"`
	// KeepDays is how long the files of a run are kept.
	KeepDays int `json:"keep_days"`

	// CatalogFailures and OrdersFailures count the consecutive failed
	// runs of each kind; Failing is set when one reaches AlertAfter (the
	// UI shows an alert).
	CatalogFailures int  `json:"catalog_failures"`
	OrdersFailures  int  `json:"orders_failures"`
	Failing         bool `json:"failing"`
}

// Alert reports whether a kind of run has failed AlertAfter times in a row.
func (s *Settings) Alert() bool {
	n := max(s.AlertAfter, 1)
	return s.CatalogFailures >= n || s.OrdersFailures >= n
}

// maxEvery is the longest schedule: a week, in minutes.
const maxEvery = 7 * 24 * 60

// Normalize trims, fills defaults and validates; an error names the field.
func (s *Settings) Normalize() error {
	s.Name = strings.TrimSpace(s.Name)
	s.URL = strings.TrimSpace(s.URL)
	s.Login = strings.TrimSpace(s.Login)
	if s.URL == "" {
		return crm.Invalid("url", "is required: the site's exchange script, e.g. https://shop.ru/bitrix/admin/1c_exchange.php")
	}
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return crm.Invalid("url", "must be an http(s) URL, got %q", s.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return crm.Invalid("url", "must have no query or fragment (type= and mode= are added by the exchange), got %q", s.URL)
	}
	if u.User != nil {
		return crm.Invalid("url", "must not carry a login: put it in login and password")
	}
	if s.Name == "" {
		s.Name = u.Host
	}
	if len([]rune(s.Name)) > 200 {
		return crm.Invalid("name", "is longer than 200 characters")
	}
	if s.Login == "" {
		return crm.Invalid("login", "is required: the site administrator's login")
	}
	if s.ResponsibleUserID < 0 {
		return crm.Invalid("responsible_user_id", "must not be negative")
	}
	if s.OwnerAccountID < 0 {
		return crm.Invalid("owner_account_id", "must not be negative")
	}
	if s.Catalogs == nil {
		s.Catalogs = []int64{}
	}
	for i, id := range s.Catalogs {
		if id <= 0 {
			return crm.Invalid(fmt.Sprintf("catalogs[%d]", i), "%d is not a catalog id", id)
		}
	}
	slices.Sort(s.Catalogs)
	s.Catalogs = slices.Compact(s.Catalogs)
	s.PriceType = strings.TrimSpace(s.PriceType)
	extra := []string{}
	for i, p := range s.ExtraPriceTypes {
		p = strings.TrimSpace(p)
		if p == "" {
			return crm.Invalid(fmt.Sprintf("extra_price_types[%d]", i), "is empty")
		}
		if p != s.PriceType && !slices.Contains(extra, p) {
			extra = append(extra, p)
		}
	}
	s.ExtraPriceTypes = extra
	ws := []string{}
	for i, w := range s.Warehouses {
		w = strings.TrimSpace(w)
		if w == "" {
			return crm.Invalid(fmt.Sprintf("warehouses[%d]", i), "is empty")
		}
		if !slices.Contains(ws, w) {
			ws = append(ws, w)
		}
	}
	s.Warehouses = ws
	s.Version = strings.TrimSpace(s.Version)
	if s.Version == "" {
		s.Version = "2.05"
	}
	if err := commerceml.CheckVersion(s.Version); err != nil {
		return crm.Invalid("version", "%v", err)
	}
	if s.Encoding = strings.TrimSpace(s.Encoding); s.Encoding != "" {
		enc, err := commerceml.ParseEncoding(s.Encoding)
		if err != nil {
			return crm.Invalid("encoding", "must be UTF-8 or windows-1251, got %q", s.Encoding)
		}
		s.Encoding = string(enc)
	}
	if s.StatusMap == nil {
		s.StatusMap = map[string]string{}
	}
	back := map[string]string{}
	for ours, theirs := range s.StatusMap {
		if strings.TrimSpace(ours) == "" || strings.TrimSpace(theirs) == "" {
			return crm.Invalid("status_map", "an empty status in the pair %q → %q", ours, theirs)
		}
		if prev, ok := back[theirs]; ok {
			return crm.Invalid("status_map", "the site's status %q is mapped from both %q and %q: the way back would be ambiguous", theirs, min(prev, ours), max(prev, ours))
		}
		back[theirs] = ours
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"catalog_every", s.CatalogEvery}, {"orders_every", s.OrdersEvery}} {
		if f.v < 0 || f.v > maxEvery {
			return crm.Invalid(f.name, "must be from 0 (no schedule) to %d minutes, got %d", maxEvery, f.v)
		}
	}
	if s.AlertAfter < 0 {
		return crm.Invalid("alert_after", "must not be negative")
	}
	if s.AlertAfter == 0 {
		s.AlertAfter = 3
	}
	if s.KeepDays < 0 {
		return crm.Invalid("keep_days", "must not be negative")
	}
	if s.KeepDays == 0 {
		s.KeepDays = 14
	}
	return nil
}

// WriteEncoding is the encoding of the documents written to the site.
func (s *Settings) WriteEncoding() commerceml.Encoding {
	if s.Encoding != "" {
		return commerceml.Encoding(s.Encoding)
	}
	return commerceml.DefaultEncoding(s.Version)
}

// siteStatus is the site's status for an Obmen status.
func (s *Settings) siteStatus(ours string) string {
	if v, ok := s.StatusMap[ours]; ok {
		return v
	}
	return ours
}
