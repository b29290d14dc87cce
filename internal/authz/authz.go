// Package authz says who may read and who may change each kind of data
// that is not a CRM record: the integrations' settings and journals, users,
// dictionaries, automation. It is one table, read by the REST API, the web
// UI and the integrations' own handlers alike, so that no surface forgets a
// check the others make (a security review found the UI showing the
// delivery, intake and 1C journals to managers while the API answered 403).
//
// Record access — a manager's own leads, deals, orders and what an
// administrator granted beyond them — is the store's (store/access.go);
// this package only decides by role and, for a user's own things, by
// ownership.
package authz

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/obmen/obmen/internal/crm"
)

// Resource names a kind of data guarded here.
type Resource string

// The resources. A new admin surface adds its resource here and calls Can
// (or Check) with it from every handler that serves it.
const (
	// Integrations is the Integrations section: the integrations' cards
	// and their common journal.
	Integrations Resource = "integrations"
	// Webhooks are the incoming and outbound webhooks and the delivery
	// journal (target URLs, signatures, response excerpts).
	Webhooks Resource = "webhooks"
	// Intake is lead intake: web forms, mail collectors (their
	// mailboxes and passwords) and the intake journal (submitter IPs).
	Intake Resource = "intake"
	// Exchange1C is the exchange with 1C: its settings, the journal of
	// exchanges, their raw files and skipped items.
	Exchange1C Resource = "1c"
	// Automation is the bundles and the journal of their runs (a manual
	// run on a record is record access).
	Automation Resource = "automation"
	// Connections are the saved accounts of external systems that
	// connectors use (SMTP servers, retailCRM keys): their settings and
	// checks.
	Connections Resource = "connections"
	// Users is the user accounts: everyone reads the list (names to
	// assign records to); a user changes their own name, contacts and
	// password, administrators anyone's and make new ones.
	Users Resource = "users"
	// Grants is what a manager may see beyond their own records.
	Grants Resource = "grants"
	// APIKeys are a user's API keys: their owner's and administrators'.
	APIKeys Resource = "api-keys"
	// Dictionaries are currencies, units, pipelines, statuses, custom
	// fields and currency aliases: everyone reads, administrators change.
	Dictionaries Resource = "dictionaries"
	// Distribution is the rules that assign incoming leads.
	Distribution Resource = "distribution"
	// DuplicateRules are the rules that find duplicates (merging two
	// records is record access).
	DuplicateRules Resource = "duplicate-rules"
	// Settings are the installation's settings (number prefixes, time
	// zone): everyone reads, administrators change.
	Settings Resource = "settings"
	// Recycle is purging a deleted record for good (restoring one is
	// record access).
	Recycle Resource = "recycle"
	// Bookable is the resources bookings take (rooms, equipment,
	// people): everyone reads them to book, administrators change them
	// (bookings themselves are record access).
	Bookable Resource = "booking-resources"
	// Addresses are the ФИАС/ГАР addresses suggested in address blocks:
	// everyone reads them, administrators load them.
	Addresses Resource = "addresses"
)

// Action is reading or changing.
type Action uint8

// The actions.
const (
	Read Action = iota + 1
	Write
)

func (a Action) String() string {
	if a == Write {
		return "change"
	}
	return "read"
}

// ActionOf is the action an HTTP method performs.
func ActionOf(method string) Action {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return Read
	}
	return Write
}

// Who is who may perform an action.
type Who uint8

// Who may.
const (
	// Nobody is the zero value: a resource missing from the table is
	// refused to everyone (fail closed).
	Nobody Who = iota
	// Anyone signed in.
	Anyone
	// OwnerOrAdmin is the thing's owner and administrators.
	OwnerOrAdmin
	// Admins only.
	Admins
)

// Rule is who may read and who may change a resource.
type Rule struct{ Read, Write Who }

var rules = map[Resource]Rule{
	Integrations:   {Read: Admins, Write: Admins},
	Webhooks:       {Read: Admins, Write: Admins},
	Intake:         {Read: Admins, Write: Admins},
	Exchange1C:     {Read: Admins, Write: Admins},
	Automation:     {Read: Admins, Write: Admins},
	Connections:    {Read: Admins, Write: Admins},
	Users:          {Read: Anyone, Write: OwnerOrAdmin},
	Grants:         {Read: Admins, Write: Admins},
	APIKeys:        {Read: OwnerOrAdmin, Write: OwnerOrAdmin},
	Dictionaries:   {Read: Anyone, Write: Admins},
	Distribution:   {Read: Admins, Write: Admins},
	DuplicateRules: {Read: Admins, Write: Admins},
	Settings:       {Read: Anyone, Write: Admins},
	Recycle:        {Read: Admins, Write: Admins},
	Bookable:       {Read: Anyone, Write: Admins},
	Addresses:      {Read: Anyone, Write: Admins},
}

// RuleOf is a resource's rule (the zero Rule, nobody, when unknown).
func RuleOf(res Resource) Rule { return rules[res] }

// Resources lists every resource in the table.
func Resources() []Resource {
	out := make([]Resource, 0, len(rules))
	for r := range rules {
		out = append(out, r)
	}
	return out
}

// Can reports whether u may perform act on res. For OwnerOrAdmin
// resources it is CanOwn with no owner: administrators only.
func Can(u crm.User, res Resource, act Action) bool { return CanOwn(u, res, act, 0) }

// CanOwn reports whether u may perform act on res belonging to user owner
// (0: nobody's, as Can).
func CanOwn(u crm.User, res Resource, act Action, owner int64) bool {
	if u.ID == 0 || !u.Active {
		return false
	}
	r := rules[res]
	who := r.Read
	if act == Write {
		who = r.Write
	}
	switch who {
	case Anyone:
		return true
	case OwnerOrAdmin:
		return u.Role == crm.RoleAdmin || (owner != 0 && owner == u.ID)
	case Admins:
		return u.Role == crm.RoleAdmin
	}
	return false
}

// ErrForbidden is what Check's errors match with errors.Is.
var ErrForbidden = errors.New("forbidden")

// Error is a refusal: who was refused what.
type Error struct {
	Resource Resource
	Action   Action
}

func (e *Error) Error() string {
	rule := rules[e.Resource]
	who := rule.Read
	if e.Action == Write {
		who = rule.Write
	}
	if who == OwnerOrAdmin {
		return fmt.Sprintf("authz: only the owner or an administrator may %s %s", e.Action, e.Resource)
	}
	return fmt.Sprintf("authz: only an administrator may %s %s", e.Action, e.Resource)
}

// Is makes errors.Is(err, ErrForbidden) hold.
func (e *Error) Is(target error) bool { return target == ErrForbidden }

// Check is Can as an error (*Error, matching ErrForbidden).
func Check(u crm.User, res Resource, act Action) error { return CheckOwn(u, res, act, 0) }

// CheckOwn is CanOwn as an error.
func CheckOwn(u crm.User, res Resource, act Action, owner int64) error {
	if CanOwn(u, res, act, owner) {
		return nil
	}
	return &Error{Resource: res, Action: act}
}
