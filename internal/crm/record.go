package crm

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Meta is what every CRM record carries: its id, who made and who owns
// it, when, and whether it sits in the recycle bin.
type Meta struct {
	ID           int64      `json:"id"`
	AssignedByID int64      `json:"assigned_by_id"`
	CreatedByID  int64      `json:"created_by_id"`
	UpdatedByID  int64      `json:"updated_by_id"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	DeletedAt    *time.Time `json:"deleted_at,omitempty"`
	DeletedByID  int64      `json:"deleted_by_id,omitempty"`
}

// ReadOnlyFields are set by the server; a client that sends them in an
// update gets an error naming the field.
var ReadOnlyFields = map[string]bool{
	"id": true, "created_by_id": true, "updated_by_id": true, "created_at": true,
	"updated_at": true, "deleted_at": true, "deleted_by_id": true,
}

// Extra holds what any record may carry besides its own columns: custom
// field values (UF_CRM_*) and its ids in other systems.
type Extra struct {
	Custom      map[string]any    `json:"custom"`
	ExternalIDs map[string]string `json:"external_ids"`
}

// Address is a postal address in the parts Russian forms use.
type Address struct {
	Postcode string `json:"postcode"`
	Country  string `json:"country"`
	Region   string `json:"region"`
	City     string `json:"city"`
	Street   string `json:"street"`
	House    string `json:"house"`
	Flat     string `json:"flat"`
	// FIASID is the ФИАС/ГАР OBJECTGUID of the deepest part the text was
	// chosen from (the house, else the street or the city), KLADR its
	// КЛАДР code; both empty when the text was typed by hand.
	FIASID string `json:"fias_id,omitempty"`
	KLADR  string `json:"kladr_id,omitempty"`
}

// String is the address on one line, most general part first.
func (a Address) String() string {
	var parts []string
	for _, p := range []string{a.Postcode, a.Country, a.Region, a.City, a.Street, a.House, a.Flat} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

// UTM holds the campaign tags a lead or deal came with.
type UTM struct {
	UTMSource   string `json:"utm_source"`
	UTMMedium   string `json:"utm_medium"`
	UTMCampaign string `json:"utm_campaign"`
	UTMContent  string `json:"utm_content"`
	UTMTerm     string `json:"utm_term"`
}

// Actor is who makes a change: a user in the UI, an API key, or an
// integration acting on its own (whose name lets a sync skip its echoes).
type Actor struct {
	UserID      int64  `json:"user_id,omitempty"`
	KeyID       int64  `json:"key_id,omitempty"`
	Integration string `json:"integration,omitempty"`
	// BundleID and RunID are set when an automation bundle's run makes
	// the change (UserID is then the user it runs as): the bundle is the
	// actor, and the run is written into the change event, so that a
	// bundle does not trigger itself and a chain of bundles knows its
	// depth.
	BundleID int64 `json:"bundle_id,omitempty"`
	RunID    int64 `json:"run_id,omitempty"`
}

// The integrations built into Obmen name their own changes with these.
// An exchange skips its own echoes by them (1C's sale query leaves out
// changes made as IntegrationOneC), so an API client must not borrow
// them: see BuiltinIntegration.
const (
	IntegrationOneC    = "1c"
	IntegrationWebform = "webform"
	IntegrationMail    = "mail"
)

// BuiltinIntegration reports whether name belongs to one of Obmen's own
// integrations, which only the server itself may act as.
func BuiltinIntegration(name string) bool {
	switch name {
	case IntegrationOneC, IntegrationWebform, IntegrationMail:
		return true
	}
	return false
}

// String is the actor as written in the event log: "user:1",
// "apikey:3", "integration:1c", "bundle:7".
func (a Actor) String() string {
	switch {
	case a.BundleID != 0:
		return "bundle:" + strconv.FormatInt(a.BundleID, 10)
	case a.Integration != "":
		return "integration:" + a.Integration
	case a.KeyID != 0:
		return "apikey:" + strconv.FormatInt(a.KeyID, 10)
	case a.UserID != 0:
		return "user:" + strconv.FormatInt(a.UserID, 10)
	default:
		return "system"
	}
}

// checkLen reports a field longer than max runes.
func checkLen(field, v string, max int) error {
	if utf8.RuneCountInString(v) > max {
		return Invalid(field, "longer than %d characters", max)
	}
	return nil
}

// checkDate accepts "" or YYYY-MM-DD.
func checkDate(field, v string) error {
	if v == "" {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return Invalid(field, "%q is not a date in YYYY-MM-DD form", v)
	}
	return nil
}

// checkCurrency accepts an ISO 4217 code of three capital Latin letters.
func checkCurrency(field, v string) error {
	if len(v) != 3 || strings.ToUpper(v) != v || strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return Invalid(field, "%q is not an ISO 4217 currency code", v)
	}
	return nil
}

func trimAll(ps ...*string) {
	for _, p := range ps {
		*p = strings.TrimSpace(*p)
	}
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// RecordMeta returns the meta of the record it is embedded in, so that
// code generic over record types can reach it.
func (m *Meta) RecordMeta() *Meta { return m }

// RecordExtra returns the custom fields and external ids of the record it
// is embedded in.
func (e *Extra) RecordExtra() *Extra { return e }

// AddressFields are a lead's addresses, for the store to complete them.
func (l *Lead) AddressFields() []*Address { return []*Address{&l.Address} }

// AddressFields are an account's addresses (legal, actual).
func (a *Account) AddressFields() []*Address { return []*Address{&a.LegalAddress, &a.ActualAddress} }

// AddressFields are a contact's addresses (main, other).
func (c *Contact) AddressFields() []*Address { return []*Address{&c.Address, &c.OtherAddress} }
