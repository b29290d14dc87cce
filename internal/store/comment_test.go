package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestComments(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		lead, err := s.CreateLead(ctx, admin, crm.Lead{Name: "Сергей"})
		if err != nil {
			t.Fatal(err)
		}
		c1, err := s.AddComment(ctx, admin, store.EntityLead, lead.ID, "  Просил перезвонить после обеда \n")
		if err != nil {
			t.Fatal(err)
		}
		if c1.ID == 0 || c1.Body != "Просил перезвонить после обеда" || c1.AuthorID != admin.UserID || c1.Entity != "lead" || c1.RecordID != lead.ID {
			t.Fatalf("unexpected comment: %+v", c1)
		}
		long := strings.Repeat("ж", 65000)
		c2, err := s.AddComment(ctx, admin, store.EntityLead, lead.ID, long)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := s.ListComments(ctx, store.EntityLead, lead.ID)
		if err != nil || len(cs) != 2 || cs[0].ID != c1.ID || cs[1].ID != c2.ID || cs[1].Body != long || !cs[0].CreatedAt.Equal(c1.CreatedAt) {
			t.Fatalf("list: %v %d", err, len(cs))
		}

		evs, err := s.Events(ctx, events.Query{Entity: store.EntityLead, RecordID: lead.ID})
		if err != nil || len(evs) != 3 {
			t.Fatalf("events: %v %d", err, len(evs))
		}
		if e := evs[1]; e.Action != "comment" || len(e.Changes) != 1 || string(e.Changes["comment"].Old) != "null" ||
			string(e.Changes["comment"].New) != `"Просил перезвонить после обеда"` || e.ActorUserID != admin.UserID {
			t.Fatalf("comment event: %+v", e)
		}

		for _, tc := range []struct {
			name   string
			entity string
			id     int64
			body   string
			field  string
		}{
			{"empty", store.EntityLead, lead.ID, " \n ", "body"},
			{"too long", store.EntityLead, lead.ID, long + "ж", "body"},
			{"unknown entity", "planet", lead.ID, "x", "entity"},
			{"not a commentable entity", store.EntityProduct, 1, "x", "entity"},
		} {
			_, err := s.AddComment(ctx, admin, tc.entity, tc.id, tc.body)
			if fe, ok := crm.AsFieldError(err); !ok || fe.Field != tc.field {
				t.Errorf("%s: got %v, want an error on %s", tc.name, err, tc.field)
			}
		}
		if _, err := s.AddComment(ctx, admin, store.EntityDeal, 999999, "x"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("comment on a missing deal: %v", err)
		}

		if err := s.Delete(ctx, admin, store.EntityLead, lead.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddComment(ctx, admin, store.EntityLead, lead.ID, "поздно"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("comment on a deleted lead: %v", err)
		}
		if cs, _ := s.ListComments(ctx, store.EntityLead, lead.ID); len(cs) != 2 {
			t.Fatalf("comments of a deleted lead: %d", len(cs))
		}
		if err := s.Restore(ctx, admin, store.EntityLead, lead.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddComment(ctx, admin, store.EntityLead, lead.ID, "снова в работе"); err != nil {
			t.Fatalf("comment after restore: %v", err)
		}
		if evs, _ := s.Events(ctx, events.Query{Entity: store.EntityLead, RecordID: lead.ID}); len(evs) != 6 {
			t.Fatalf("a refused comment wrote an event: %d events", len(evs))
		}
	})
}

func TestTimeline(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		lead, err := s.CreateLead(ctx, admin, crm.Lead{Name: "Марина"})
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.CreateLead(ctx, admin, crm.Lead{Name: "Другой"})
		if err != nil {
			t.Fatal(err)
		}
		act := func(subject string, start *time.Time, owner int64) int64 {
			t.Helper()
			a, err := s.CreateActivity(ctx, admin, crm.Activity{Kind: "task", Subject: subject, StartAt: start, OwnerType: "lead", OwnerID: owner})
			if err != nil {
				t.Fatal(err)
			}
			return a.ID
		}
		comment := func(body string) int64 {
			t.Helper()
			c, err := s.AddComment(ctx, admin, store.EntityLead, lead.ID, body)
			if err != nil {
				t.Fatal(err)
			}
			return c.ID
		}
		past := time.Date(2020, 1, 1, 9, 0, 0, 0, time.UTC)
		future := time.Now().Add(48 * time.Hour)

		c1 := comment("первый")
		a1 := act("без даты", nil, lead.ID)
		if _, err := s.UpdateLead(ctx, admin, lead.ID, func(l *crm.Lead) error { l.StatusID = "IN_PROCESS"; return nil }); err != nil {
			t.Fatal(err)
		}
		c2 := comment("второй")
		aPast := act("давний звонок", &past, lead.ID)
		aFuture := act("встреча", &future, lead.ID)
		act("чужая", nil, other.ID)
		gone := act("отменена", nil, lead.ID)
		if err := s.Delete(ctx, admin, store.EntityActivity, gone); err != nil {
			t.Fatal(err)
		}

		type entry struct {
			kind string
			id   int64
		}
		flat := func(items []store.TimelineItem, err error) []entry {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			var out []entry
			for _, it := range items {
				switch it.Kind {
				case store.TimelineComment:
					out = append(out, entry{it.Kind, it.Comment.ID})
				case store.TimelineActivity:
					out = append(out, entry{it.Kind, it.Activity.ID})
				case store.TimelineEvent:
					out = append(out, entry{it.Kind + ":" + it.Event.Action, 0})
				default:
					t.Fatalf("unknown kind %q", it.Kind)
				}
			}
			return out
		}
		want := []entry{
			{"activity", aFuture},
			{"comment", c2},
			{"event:update", 0},
			{"activity", a1},
			{"comment", c1},
			{"event:create", 0},
			{"activity", aPast},
		}
		got := flat(s.Timeline(ctx, store.EntityLead, lead.ID, 0))
		if len(got) != len(want) {
			t.Fatalf("timeline: got %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("timeline: got %v, want %v", got, want)
			}
		}
		if got := flat(s.Timeline(ctx, store.EntityLead, lead.ID, 3)); len(got) != 3 || got[0] != want[0] || got[2] != want[2] {
			t.Fatalf("timeline limited to 3: %v", got)
		}

		items, err := s.Timeline(ctx, store.EntityLead, lead.ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !items[1].At.Equal(items[1].Comment.CreatedAt) || !items[0].At.Equal(future.UTC().Truncate(time.Microsecond)) {
			t.Fatalf("times: %v %v", items[0].At, items[1].At)
		}
		b, err := json.Marshal(items[1])
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if len(m) != 3 || string(m["kind"]) != `"comment"` || m["at"] == nil || m["comment"] == nil {
			t.Fatalf("item JSON: %s", b)
		}

		// A deleted record keeps its timeline; a missing one has none.
		if err := s.Delete(ctx, admin, store.EntityLead, lead.ID); err != nil {
			t.Fatal(err)
		}
		if got := flat(s.Timeline(ctx, store.EntityLead, lead.ID, 0)); len(got) != len(want)+1 || got[0] != want[0] || got[1] != (entry{"event:delete", 0}) {
			t.Fatalf("timeline of a deleted lead: %v", got)
		}
		if _, err := s.Timeline(ctx, store.EntityLead, 999999, 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("timeline of a missing lead: %v", err)
		}
		if _, err := s.Timeline(ctx, "planet", 1, 0); err == nil {
			t.Fatal("timeline of an unknown entity")
		}
	})
}

// A comment made under an idempotency key is remembered by it, so that a
// retried automation step finds the comment instead of adding another.
func TestCommentIdempotency(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		lead, err := s.CreateLead(ctx, admin, crm.Lead{Name: "Ольга"})
		if err != nil {
			t.Fatal(err)
		}
		idem := store.Idempotency{UserID: admin.UserID, Key: "run:1:step:note", Method: "AUTOMATION", Path: "crm.timeline.add", RequestHash: "h"}
		c, err := s.AddComment(store.WithIdempotency(ctx, idem), admin, store.EntityLead, lead.ID, "Перезвонить")
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.LookupIdempotency(ctx, admin.UserID, idem.Key)
		if err != nil || got.Entity != store.EntityComment || got.ID != c.ID || got.RequestHash != "h" {
			t.Fatalf("lookup: %+v %v", got, err)
		}
		if _, err := s.AddComment(store.WithIdempotency(ctx, idem), admin, store.EntityLead, lead.ID, "Перезвонить"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second comment under the key: %v", err)
		}
		if cs, err := s.ListComments(ctx, store.EntityLead, lead.ID); err != nil || len(cs) != 1 {
			t.Fatalf("comments: %d %v", len(cs), err)
		}
	})
}
