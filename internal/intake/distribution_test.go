package intake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/intake/webform"
)

// TestDistributionAtIntake: web-form leads, HTTP intake orders and API
// leads without an owner go by the distribution rules (round-robin), the
// intake's calendar task goes to the lead's new owner, and an owner named
// in the request wins.
func TestDistributionAtIntake(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		st := e.app.Store
		admin := crm.Actor{UserID: e.admin.ID}
		var m []int64
		for i := range 2 {
			u, err := st.CreateUser(ctx, admin, crm.User{Login: fmt.Sprintf("m%d", i), Role: crm.RoleManager, Active: true}, "manager-password")
			if err != nil {
				t.Fatal(err)
			}
			m = append(m, u.ID)
		}
		if _, err := st.SaveDistributionRule(ctx, admin, crm.DistributionRule{Name: "Все заявки", Active: true, UserIDs: m}); err != nil {
			t.Fatal(err)
		}
		f := e.createForm(t, map[string]any{"name": "Лендинг", "user_id": e.admin.ID, "module": "leads", "fields": []map[string]any{{"name": "name"}}})
		var owners []int64
		for range 2 {
			res, body := post(t, http.DefaultClient, e.srv.URL+"/f/"+f.PublicID, "application/json", `{"name":"Анна"}`)
			var ok webform.SubmitResponse
			if err := json.Unmarshal([]byte(body), &ok); err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("submit: %d %s", res.StatusCode, body)
			}
			l, err := st.GetLead(ctx, ok.ID)
			if err != nil {
				t.Fatal(err)
			}
			owners = append(owners, l.AssignedByID)
		}
		for range 2 {
			r := e.do("POST", "/api/v1/intake/orders", readFile(t, "seed004.json"))
			if r.Status != http.StatusCreated {
				t.Fatalf("intake: %d %s", r.Status, r.Body)
			}
			var a orderAnswer
			r.json(t, &a)
			act, err := st.GetActivity(ctx, a.ActivityID)
			if err != nil {
				t.Fatal(err)
			}
			if act.AssignedByID != a.Lead.AssignedByID {
				t.Errorf("the task is %d's, the lead %d's", act.AssignedByID, a.Lead.AssignedByID)
			}
			owners = append(owners, a.Lead.AssignedByID)
		}
		r := e.doJSON("POST", "/api/v1/leads", map[string]any{"title": "Из API"})
		var l crm.Lead
		r.json(t, &l)
		owners = append(owners, l.AssignedByID)
		if want := []int64{m[0], m[1], m[0], m[1], m[0]}; fmt.Sprint(owners) != fmt.Sprint(want) {
			t.Fatalf("owners %v, want %v", owners, want)
		}
		// Named owners are kept.
		r = e.doJSON("POST", "/api/v1/leads", map[string]any{"title": "Моя", "assigned_by_id": e.admin.ID})
		r.json(t, &l)
		if l.AssignedByID != e.admin.ID {
			t.Errorf("API with an owner: %d", l.AssignedByID)
		}
		r = e.do("POST", fmt.Sprintf("/api/v1/intake/orders?assigned_by_id=%d", e.admin.ID), readFile(t, "seed004.json"))
		var a orderAnswer
		r.json(t, &a)
		if a.Lead.AssignedByID != e.admin.ID {
			t.Errorf("intake with an owner: %d", a.Lead.AssignedByID)
		}
	})
}
