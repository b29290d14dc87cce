package google

import (
	"fmt"
	"slices"
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

// Problem is a setting at fault: Field names it as the form does
// ("direction", "contact_fields[2].google").
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// InvalidError lists every problem of settings that cannot be saved.
type InvalidError struct{ Problems []Problem }

func (e *InvalidError) Error() string {
	s := "google: invalid sync settings:"
	for _, p := range e.Problems {
		s += " " + p.Field + ": " + p.Message + ";"
	}
	return s
}

// Normalize fills defaults and checks the settings.
func (s *Settings) Normalize() error {
	var ps []Problem
	if s.Direction == "" {
		s.Direction = Both
	}
	if s.Conflict == "" {
		s.Conflict = LaterWins
	}
	switch s.Direction {
	case ToGoogle, FromGoogle, Both:
	default:
		ps = append(ps, Problem{"direction", fmt.Sprintf("%q is not one of to_google, from_google, both", s.Direction)})
	}
	switch s.Conflict {
	case LaterWins, ObmenWins:
	default:
		ps = append(ps, Problem{"conflict", fmt.Sprintf("%q is not one of later, obmen", s.Conflict)})
	}
	if len(s.ContactFields) == 0 {
		s.ContactFields = slices.Clone(DefaultContactFields)
	}
	if len(s.EventFields) == 0 {
		s.EventFields = slices.Clone(DefaultEventFields)
	}
	ps = append(ps, checkPairs("contact_fields", s.ContactFields, ContactCRMFields, PeopleFields)...)
	ps = append(ps, checkPairs("event_fields", s.EventFields, EventCRMFields, EventFields)...)
	if len(ps) > 0 {
		return &InvalidError{Problems: ps}
	}
	return nil
}

func checkPairs(name string, pairs []Pair, crmFields, remote map[string]string) []Problem {
	var ps []Problem
	seenCRM, seenRemote := map[string]bool{}, map[string]bool{}
	for i, p := range pairs {
		at := fmt.Sprintf("%s[%d]", name, i)
		ck, ok1 := crmFields[p.CRM]
		rk, ok2 := remote[p.Google]
		switch {
		case !ok1:
			ps = append(ps, Problem{at + ".crm", fmt.Sprintf("%q is not a field that can be synced", p.CRM)})
		case !ok2:
			ps = append(ps, Problem{at + ".google", fmt.Sprintf("%q is not a Google field that can be synced", p.Google)})
		case ck != rk:
			ps = append(ps, Problem{at, fmt.Sprintf("%q (%s) cannot be mapped to %q (%s)", p.CRM, ck, p.Google, rk)})
		case seenCRM[p.CRM]:
			ps = append(ps, Problem{at + ".crm", fmt.Sprintf("%q is mapped twice", p.CRM)})
		case seenRemote[p.Google]:
			ps = append(ps, Problem{at + ".google", fmt.Sprintf("%q is mapped twice", p.Google)})
		}
		seenCRM[p.CRM], seenRemote[p.Google] = true, true
	}
	return ps
}

func (s Settings) pull() bool { return s.Direction == FromGoogle || s.Direction == Both }
func (s Settings) push() bool { return s.Direction == ToGoogle || s.Direction == Both }
