package google

import (
	"fmt"
	"slices"

	"github.com/obmen/obmen/internal/crm"
)

// Directions of a sync.
const (
	ToGoogle   = "to_google"   // Obmen → Google
	FromGoogle = "from_google" // Google → Obmen
	Both       = "both"
)

// Conflict rules: what happens when a record changed on both sides since
// the last run.
const (
	LaterWins = "later" // the side changed last wins
	ObmenWins = "obmen" // Obmen's version wins
)

// Pair maps a CRM field to a Google field; both ways, whatever the
// direction.
type Pair struct {
	CRM    string `json:"crm"`
	Google string `json:"google"`
}

// Settings are a user's sync settings.
type Settings struct {
	Contacts  bool   `json:"contacts"`
	Calendar  bool   `json:"calendar"`
	Direction string `json:"direction"`
	Conflict  string `json:"conflict"`
	// ContactFields and EventFields are the mapping tables; empty means
	// the defaults.
	ContactFields []Pair `json:"contact_fields"`
	EventFields   []Pair `json:"event_fields"`
}

// Field kinds: a mapped pair must join fields of one kind.
const (
	kindText  = "text"
	kindDate  = "date"
	kindList  = "list:" // list:phone, list:email
	kindAddr  = "address"
	kindTime  = "time"
	kindPhone = kindList + "phone"
	kindEmail = kindList + "email"
)

// ContactCRMFields are the contact's fields a mapping may name.
var ContactCRMFields = map[string]string{
	"honorific": kindText, "name": kindText, "second_name": kindText, "last_name": kindText,
	"position": kindText, "birthdate": kindDate, "comments": kindText, "source_description": kindText,
	"phones": kindPhone, "emails": kindEmail, "address": kindAddr, "other_address": kindAddr,
}

// PeopleFields are the Person's fields a mapping may name (People API
// field paths, as the API's documentation names them).
var PeopleFields = map[string]string{
	"names.honorificPrefix": kindText, "names.givenName": kindText, "names.middleName": kindText,
	"names.familyName": kindText, "nicknames.value": kindText, "organizations.name": kindText,
	"organizations.title": kindText, "organizations.department": kindText, "biographies.value": kindText,
	"birthdays.date": kindDate, "phoneNumbers": kindPhone, "emailAddresses": kindEmail,
	"addresses.home": kindAddr, "addresses.work": kindAddr,
}

// EventCRMFields are the activity's fields a mapping may name.
var EventCRMFields = map[string]string{
	"subject": kindText, "description": kindText, "start_at": kindTime, "end_at": kindTime, "comm_value": kindText,
}

// EventFields are the Event's fields a mapping may name.
var EventFields = map[string]string{
	"summary": kindText, "description": kindText, "location": kindText, "start": kindTime, "end": kindTime,
}

// DefaultContactFields is the mapping a new sync starts with.
var DefaultContactFields = []Pair{
	{"honorific", "names.honorificPrefix"},
	{"name", "names.givenName"},
	{"second_name", "names.middleName"},
	{"last_name", "names.familyName"},
	{"position", "organizations.title"},
	{"birthdate", "birthdays.date"},
	{"comments", "biographies.value"},
	{"phones", "phoneNumbers"},
	{"emails", "emailAddresses"},
	{"address", "addresses.work"},
}

// DefaultEventFields is the events' mapping a new sync starts with.
var DefaultEventFields = []Pair{
	{"subject", "summary"},
	{"description", "description"},
	{"start_at", "start"},
	{"end_at", "end"},
}

// DefaultSettings are a new sync's settings.
func DefaultSettings() Settings {
	return Settings{Contacts: true, Calendar: true, Direction: Both, Conflict: LaterWins,
		ContactFields: slices.Clone(DefaultContactFields), EventFields: slices.Clone(DefaultEventFields)}
}

// Normalize fills defaults and checks the settings; the problems come
// as crm.FieldErrors naming the field as the form does ("direction",
// "contact_fields[2].google").
func (s *Settings) Normalize() error {
	var errs crm.FieldErrors
	add := func(err error) {
		if fe, ok := crm.AsFieldError(err); ok {
			errs = append(errs, fe)
		}
	}
	if s.Direction == "" {
		s.Direction = Both
	}
	if s.Conflict == "" {
		s.Conflict = LaterWins
	}
	switch s.Direction {
	case ToGoogle, FromGoogle, Both:
	default:
		add(crm.Invalid("direction", "%q is not one of %s", s.Direction, "to_google, from_google, both"))
	}
	switch s.Conflict {
	case LaterWins, ObmenWins:
	default:
		add(crm.Invalid("conflict", "%q is not one of %s", s.Conflict, "later, obmen"))
	}
	if len(s.ContactFields) == 0 {
		s.ContactFields = slices.Clone(DefaultContactFields)
	}
	if len(s.EventFields) == 0 {
		s.EventFields = slices.Clone(DefaultEventFields)
	}
	for _, err := range checkPairs("contact_fields", s.ContactFields, ContactCRMFields, PeopleFields) {
		add(err)
	}
	for _, err := range checkPairs("event_fields", s.EventFields, EventCRMFields, EventFields) {
		add(err)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func checkPairs(name string, pairs []Pair, crmFields, remote map[string]string) []error {
	var errs []error
	seenCRM, seenRemote := map[string]bool{}, map[string]bool{}
	for i, p := range pairs {
		at := fmt.Sprintf("%s[%d]", name, i)
		ck, ok1 := crmFields[p.CRM]
		rk, ok2 := remote[p.Google]
		switch {
		case !ok1:
			errs = append(errs, crm.Invalid(at+".crm", "%q is not a field that can be synced with Google", p.CRM))
		case !ok2:
			errs = append(errs, crm.Invalid(at+".google", "%q is not a Google field that can be synced", p.Google))
		case ck != rk:
			errs = append(errs, crm.Invalid(at, "%q cannot be synced with %q: they hold different kinds of values", p.CRM, p.Google))
		case seenCRM[p.CRM]:
			errs = append(errs, crm.Invalid(at+".crm", "%q is mapped twice", p.CRM))
		case seenRemote[p.Google]:
			errs = append(errs, crm.Invalid(at+".google", "%q is mapped twice", p.Google))
		}
		seenCRM[p.CRM], seenRemote[p.Google] = true, true
	}
	return errs
}

func (s Settings) pull() bool { return s.Direction == FromGoogle || s.Direction == Both }
func (s Settings) push() bool { return s.Direction == ToGoogle || s.Direction == Both }
