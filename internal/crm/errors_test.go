package crm_test

import (
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

func TestFieldErrorsJoin(t *testing.T) {
	a, b := crm.Invalid("phones[0].value", "x"), crm.Invalid("emails[1].value", "y")
	if crm.JoinFields(nil, nil) != nil {
		t.Error("no errors should join to nil")
	}
	if err := crm.JoinFields(nil, a); err != a {
		t.Errorf("one error: %v", err)
	}
	err := crm.JoinFields(a, crm.JoinFields(b, nil))
	if got := crm.AllFieldErrors(err); len(got) != 2 || got[0].Field != "phones[0].value" || got[1].Field != "emails[1].value" {
		t.Errorf("all: %v", got)
	}
	if fe, ok := crm.AsFieldError(err); !ok || fe.Field != "phones[0].value" {
		t.Errorf("first: %v", fe)
	}
}

// TestLeadNormalizeEveryField: a lead with several fields at fault names
// them all, in field order.
func TestLeadNormalizeEveryField(t *testing.T) {
	l := crm.Lead{Title: "x", Currency: "РУБ", Opportunity: -1,
		Comms: crm.Comms{Phones: []crm.Comm{{Value: "12"}, {Value: "+7 912 000-11-22"}}, Emails: []crm.Comm{{Value: "a@"}}}}
	var got []string
	for _, fe := range crm.AllFieldErrors(l.Normalize()) {
		got = append(got, fe.Field)
	}
	want := []string{"phones[0].value", "emails[0].value", "opportunity", "currency"}
	if len(got) != len(want) {
		t.Fatalf("fields at fault %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("fields at fault %v, want %v", got, want)
		}
	}
}
