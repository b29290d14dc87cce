package authz_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
)

func TestCan(t *testing.T) {
	t.Parallel()
	adm := crm.User{ID: 1, Role: crm.RoleAdmin, Active: true}
	anna := crm.User{ID: 2, Role: crm.RoleManager, Active: true}
	gone := crm.User{ID: 3, Role: crm.RoleAdmin, Active: false}
	for _, tc := range []struct {
		name  string
		u     crm.User
		res   authz.Resource
		act   authz.Action
		owner int64
		want  bool
	}{
		{"admin reads the intake journal", adm, authz.Intake, authz.Read, 0, true},
		{"manager reads the intake journal", anna, authz.Intake, authz.Read, 0, false},
		{"manager reads the delivery journal", anna, authz.Webhooks, authz.Read, 0, false},
		{"manager reads the 1C exchanges", anna, authz.Exchange1C, authz.Read, 0, false},
		{"manager opens the integrations", anna, authz.Integrations, authz.Read, 0, false},
		{"manager reads the automation runs", anna, authz.Automation, authz.Read, 0, false},
		{"manager reads dictionaries", anna, authz.Dictionaries, authz.Read, 0, true},
		{"manager changes dictionaries", anna, authz.Dictionaries, authz.Write, 0, false},
		{"manager reads the users", anna, authz.Users, authz.Read, 0, true},
		{"manager changes herself", anna, authz.Users, authz.Write, 2, true},
		{"manager changes another user", anna, authz.Users, authz.Write, 3, false},
		{"manager creates a user", anna, authz.Users, authz.Write, 0, false},
		{"manager reads her keys", anna, authz.APIKeys, authz.Read, 2, true},
		{"manager reads another's keys", anna, authz.APIKeys, authz.Read, 1, false},
		{"admin reads another's keys", adm, authz.APIKeys, authz.Read, 2, true},
		{"manager reads grants", anna, authz.Grants, authz.Read, 0, false},
		{"a disabled admin", gone, authz.Intake, authz.Read, 0, false},
		{"nobody signed in", crm.User{}, authz.Settings, authz.Read, 0, false},
		{"an unknown resource, even for an admin", adm, authz.Resource("no-such"), authz.Read, 0, false},
	} {
		if got := authz.CanOwn(tc.u, tc.res, tc.act, tc.owner); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		err := authz.CheckOwn(tc.u, tc.res, tc.act, tc.owner)
		if (err == nil) != tc.want || (err != nil && !errors.Is(err, authz.ErrForbidden)) {
			t.Errorf("%s: Check %v", tc.name, err)
		}
	}
}

// Every resource in the table has a rule for both actions: a zero Who
// would refuse everyone silently.
func TestRulesComplete(t *testing.T) {
	t.Parallel()
	for _, r := range authz.Resources() {
		if rule := authz.RuleOf(r); rule.Read == authz.Nobody || rule.Write == authz.Nobody {
			t.Errorf("%s: %+v", r, rule)
		}
	}
}

func TestActionOf(t *testing.T) {
	t.Parallel()
	for m, want := range map[string]authz.Action{http.MethodGet: authz.Read, http.MethodHead: authz.Read,
		http.MethodPost: authz.Write, http.MethodPut: authz.Write, http.MethodPatch: authz.Write, http.MethodDelete: authz.Write} {
		if got := authz.ActionOf(m); got != want {
			t.Errorf("%s: %v", m, got)
		}
	}
}
