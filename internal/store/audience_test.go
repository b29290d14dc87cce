package store_test

import (
	"context"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// lastEvent is the newest logged change of a record.
func lastEvent(t testing.TB, s *store.Store, entity string, id int64) events.Event {
	t.Helper()
	var ev events.Event
	err := s.DB().Read.QueryRow("SELECT id, entity, record_id, action FROM events WHERE entity = $1 AND record_id = $2 ORDER BY id DESC LIMIT 1",
		entity, id).Scan(&ev.ID, &ev.Entity, &ev.RecordID, &ev.Action)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestAudience: who is told of a change — by the record's responsible
// user at the change, not now; both sides of a reassignment; nobody
// disabled; products to all.
func TestAudience(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		anna, err := s.CreateUser(ctx, admin, crm.User{Login: "anna", Role: crm.RoleManager, Active: true}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		l, err := s.CreateLead(ctx, admin, crm.Lead{Title: "Анны", Meta: crm.Meta{AssignedByID: anna.ID}})
		if err != nil {
			t.Fatal(err)
		}
		created := lastEvent(t, s, store.EntityLead, l.ID)
		if _, err := s.UpdateLead(ctx, admin, l.ID, func(l *crm.Lead) error { l.AssignedByID = admin.UserID; return nil }); err != nil {
			t.Fatal(err)
		}
		moved := lastEvent(t, s, store.EntityLead, l.ID)
		if _, err := s.UpdateLead(ctx, admin, l.ID, func(l *crm.Lead) error { l.Title = "Уже не Анны"; return nil }); err != nil {
			t.Fatal(err)
		}
		after := lastEvent(t, s, store.EntityLead, l.ID)
		p, err := s.CreateProduct(ctx, admin, crm.Product{Name: "Товар", Currency: "RUB"})
		if err != nil {
			t.Fatal(err)
		}
		product := lastEvent(t, s, store.EntityProduct, p.ID)
		for _, c := range []struct {
			name string
			ev   events.Event
			want bool
		}{
			{"create, hers then", created, true},
			{"reassigned away", moved, true},
			{"after it left her", after, false},
			{"a product", product, true},
		} {
			if got, err := s.Audience().Tells(ctx, anna.ID, &c.ev); err != nil || got != c.want {
				t.Errorf("%s: %v, %v; want %v", c.name, got, err, c.want)
			}
		}
		anna.Active = false
		if _, err := s.UpdateUser(ctx, admin, anna); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Audience().Tells(ctx, anna.ID, &created); err != nil || got {
			t.Errorf("disabled: %v, %v; want false", got, err)
		}
	})
}

// BenchmarkAudienceTells is the cost a user's handler adds per change
// when sent (a fresh Audience: the user, the grants and the owner read).
//
//	go test -run '^$' -bench AudienceTells ./internal/store/
func BenchmarkAudienceTells(b *testing.B) {
	for _, eng := range storetest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			s := store.New(eng.Open(b))
			admin := storetest.Admin(b, s)
			ctx := context.Background()
			anna, err := s.CreateUser(ctx, admin, crm.User{Login: "anna", Role: crm.RoleManager, Active: true}, "manager-password")
			if err != nil {
				b.Fatal(err)
			}
			l, err := s.CreateLead(ctx, admin, crm.Lead{Title: "Анны", Meta: crm.Meta{AssignedByID: anna.ID}})
			if err != nil {
				b.Fatal(err)
			}
			for i := range 20 {
				if _, err := s.UpdateLead(ctx, admin, l.ID, func(l *crm.Lead) error { l.Title = "v" + string(rune('a'+i)); return nil }); err != nil {
					b.Fatal(err)
				}
			}
			ev := lastEvent(b, s, store.EntityLead, l.ID)
			for b.Loop() {
				if ok, err := s.Audience().Tells(ctx, anna.ID, &ev); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
