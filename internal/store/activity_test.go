package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestActivityLifecycle(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		lead, err := s.CreateLead(ctx, admin, crm.Lead{Name: "Ольга"})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Date(2025, 3, 14, 10, 0, 0, 123456789, time.FixedZone("MSK", 3*3600))
		end := start.Add(30 * time.Minute)
		a, err := s.CreateActivity(ctx, admin, crm.Activity{Kind: "Call", Subject: "Перезвонить", Direction: "out",
			CommValue: "8 (925) 642-42-90", StartAt: &start, EndAt: &end, OwnerType: "lead", OwnerID: lead.ID,
			CompletedAt: &start})
		if err != nil {
			t.Fatal(err)
		}
		if a.Kind != "call" || a.CommValue != "+79256424290" || a.Priority != "normal" || a.CompletedAt != nil ||
			!a.StartAt.Equal(start.Truncate(time.Microsecond)) || a.StartAt.Location() != time.UTC {
			t.Fatalf("unexpected activity: %+v", a)
		}
		got, err := s.GetActivity(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Subject != "Перезвонить" || got.Direction != "out" || got.OwnerType != "lead" || got.OwnerID != lead.ID || got.Done ||
			got.CompletedAt != nil || !got.StartAt.Equal(*a.StartAt) || !got.EndAt.Equal(*a.EndAt) || got.AssignedByID != admin.UserID {
			t.Fatalf("read back differs: %+v", got)
		}

		for _, tc := range []struct {
			name  string
			a     crm.Activity
			field string
		}{
			{"no kind", crm.Activity{Subject: "x"}, "kind"},
			{"bad kind", crm.Activity{Kind: "fax", Subject: "x"}, "kind"},
			{"no subject", crm.Activity{Kind: "task"}, "subject"},
			{"owner without type", crm.Activity{Kind: "task", Subject: "x", OwnerID: lead.ID}, "owner_id"},
			{"missing owner", crm.Activity{Kind: "task", Subject: "x", OwnerType: "deal", OwnerID: 999999}, "owner_id"},
			{"owner not linkable", crm.Activity{Kind: "task", Subject: "x", OwnerType: "product", OwnerID: 1}, "owner_type"},
			{"end before start", crm.Activity{Kind: "meeting", Subject: "x", StartAt: &end, EndAt: &start}, "end_at"},
			{"bad e-mail", crm.Activity{Kind: "email", Subject: "x", CommValue: "not-an-address"}, "comm_value"},
		} {
			_, err := s.CreateActivity(ctx, admin, tc.a)
			if fe, ok := crm.AsFieldError(err); !ok || fe.Field != tc.field {
				t.Errorf("%s: got %v, want an error on %s", tc.name, err, tc.field)
			}
		}

		// completed_at: set when done turns true, kept while it stays true,
		// cleared when it turns false; what the client sends is ignored.
		before := time.Now().Add(-time.Second)
		done, err := s.UpdateActivity(ctx, admin, a.ID, func(x *crm.Activity) error { x.Done = true; return nil })
		if err != nil || !done.Done || done.CompletedAt == nil || done.CompletedAt.Before(before) || done.CompletedAt.After(time.Now()) {
			t.Fatalf("done: %v %+v", err, done)
		}
		stamp := *done.CompletedAt
		if got, _ := s.GetActivity(ctx, a.ID); got.CompletedAt == nil || !got.CompletedAt.Equal(stamp) {
			t.Fatalf("completed_at read back: %v, want %v", got.CompletedAt, stamp)
		}
		edited, err := s.UpdateActivity(ctx, admin, a.ID, func(x *crm.Activity) error {
			x.Description = "Не дозвонились"
			x.CompletedAt = &start
			return nil
		})
		if err != nil || edited.CompletedAt == nil || !edited.CompletedAt.Equal(stamp) {
			t.Fatalf("edit of a done activity moved completed_at: %v %+v", err, edited.CompletedAt)
		}
		undone, err := s.UpdateActivity(ctx, admin, a.ID, func(x *crm.Activity) error { x.Done = false; return nil })
		if err != nil || undone.CompletedAt != nil {
			t.Fatalf("undone: %v %+v", err, undone)
		}
		if got, _ := s.GetActivity(ctx, a.ID); got.CompletedAt != nil {
			t.Fatalf("completed_at not cleared: %v", got.CompletedAt)
		}
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityActivity, RecordID: a.ID})
		if err != nil || len(evs) != 4 {
			t.Fatalf("events: %v %d", err, len(evs))
		}
		if ch := evs[1].Changes; len(ch) != 2 || string(ch["done"].Old) != "false" || string(ch["done"].New) != "true" ||
			string(ch["completed_at"].Old) != "null" || string(ch["completed_at"].New) == "null" {
			t.Fatalf("done changes: %+v", ch)
		}
		if ch := evs[2].Changes; len(ch) != 1 || string(ch["description"].New) != `"Не дозвонились"` {
			t.Fatalf("edit changes: %+v", ch)
		}
		if ch := evs[3].Changes; len(ch) != 2 || string(ch["completed_at"].New) != "null" {
			t.Fatalf("undone changes: %+v", ch)
		}
		doneNow, err := s.CreateActivity(ctx, admin, crm.Activity{Kind: "task", Subject: "Отправить КП", Done: true})
		if err != nil || doneNow.CompletedAt == nil {
			t.Fatalf("created done: %v %+v", err, doneNow)
		}

		// With its lead in the recycle bin the call can still be closed.
		if err := s.Delete(ctx, admin, store.EntityLead, lead.ID); err != nil {
			t.Fatal(err)
		}
		if x, err := s.UpdateActivity(ctx, admin, a.ID, func(x *crm.Activity) error { x.Done = true; return nil }); err != nil || x.OwnerID != lead.ID {
			t.Fatalf("close with a deleted owner: %v %+v", err, x)
		}
		if _, err := s.CreateActivity(ctx, admin, crm.Activity{Kind: "task", Subject: "x", OwnerType: "lead", OwnerID: lead.ID}); err == nil {
			t.Fatal("new activity on a deleted lead accepted")
		}

		if err := s.Delete(ctx, admin, store.EntityActivity, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateActivity(ctx, admin, a.ID, func(x *crm.Activity) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of deleted activity: %v", err)
		}
		if err := s.Restore(ctx, admin, store.EntityActivity, a.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetActivity(ctx, a.ID); got.DeletedAt != nil || !got.Done {
			t.Fatalf("restored: %+v", got)
		}
	})
}

func TestCalendar(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		other, err := s.CreateUser(ctx, admin, crm.User{Login: "manager2"}, "")
		if err != nil {
			t.Fatal(err)
		}
		day := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
		at := func(h, m int) *time.Time {
			v := day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
			return &v
		}
		mk := func(subject string, start, end *time.Time, user int64) int64 {
			t.Helper()
			a, err := s.CreateActivity(ctx, admin, crm.Activity{Kind: "meeting", Subject: subject, StartAt: start, EndAt: end,
				Meta: crm.Meta{AssignedByID: user}})
			if err != nil {
				t.Fatal(err)
			}
			return a.ID
		}
		me := admin.UserID
		from, to := *at(10, 0), *at(12, 0)
		spansStart := mk("09:00–10:30", at(9, 0), at(10, 30), me)
		spansEnd := mk("11:00–13:00", at(11, 0), at(13, 0), me)
		mk("08:00–09:00", at(8, 0), at(9, 0), me)
		mk("12:00–13:00", at(12, 0), at(13, 0), me)
		instant := mk("10:00", at(10, 0), nil, me)
		mk("09:59", at(9, 59), nil, me)
		covers := mk("08:00–14:00", at(8, 0), at(14, 0), me)
		deadline := mk("до 11:30", nil, at(11, 30), me)
		mk("до 12:30", nil, at(12, 30), me)
		mk("без времени", nil, nil, me)
		endsAtFrom := mk("09:00–10:00", at(9, 0), at(10, 0), me)
		theirs := mk("10:30–11:00", at(10, 30), at(11, 0), other.ID)
		gone := mk("удалена", at(10, 15), at(10, 45), me)
		if err := s.Delete(ctx, admin, store.EntityActivity, gone); err != nil {
			t.Fatal(err)
		}

		ids := func(as []crm.Activity, err error) []int64 {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			out := []int64{}
			for _, a := range as {
				out = append(out, a.ID)
			}
			return out
		}
		mine := ids(s.Calendar(ctx, me, from, to))
		if want := []int64{covers, spansStart, endsAtFrom, instant, spansEnd, deadline}; !slices.Equal(mine, want) {
			t.Fatalf("my calendar: got %v, want %v", mine, want)
		}
		all := ids(s.Calendar(ctx, 0, from, to))
		if want := []int64{covers, spansStart, endsAtFrom, instant, theirs, spansEnd, deadline}; !slices.Equal(all, want) {
			t.Fatalf("everyone's calendar: got %v, want %v", all, want)
		}
		if got := ids(s.Calendar(ctx, other.ID, from, to)); !slices.Equal(got, []int64{theirs}) {
			t.Fatalf("their calendar: %v", got)
		}
		// The same range in another zone is the same instants.
		msk := time.FixedZone("MSK", 3*3600)
		if got := ids(s.Calendar(ctx, me, from.In(msk), to.In(msk))); !slices.Equal(got, mine) {
			t.Fatalf("calendar in MSK: %v", got)
		}
		if got := ids(s.Calendar(ctx, me, *at(13, 30), *at(15, 0))); !slices.Equal(got, []int64{covers}) {
			t.Fatalf("afternoon: %v", got)
		}
	})
}

func TestListActivities(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		lead, err := s.CreateLead(ctx, admin, crm.Lead{Name: "Лид"})
		if err != nil {
			t.Fatal(err)
		}
		base := time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC)
		var ids []int64
		for i := range 5 {
			start := base.Add(time.Duration(4-i) * time.Hour)
			a := crm.Activity{Kind: "call", Subject: "Звонок", StartAt: &start, Done: i%2 == 0}
			if i < 3 {
				a.OwnerType, a.OwnerID = "lead", lead.ID
			}
			a, err := s.CreateActivity(ctx, admin, a)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, a.ID)
		}
		var got []int64
		cursor := ""
		for pages := 1; ; pages++ {
			as, next, err := s.ListActivities(ctx, store.ListParams{Sort: "start_at", Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range as {
				got = append(got, a.ID)
			}
			if next == "" {
				if pages != 3 {
					t.Fatalf("%d pages, want 3", pages)
				}
				break
			}
			cursor = next
		}
		if want := []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}; !slices.Equal(got, want) {
			t.Fatalf("by start: got %v, want %v", got, want)
		}
		for _, tc := range []struct {
			f    []store.Filter
			want []int64
		}{
			{[]store.Filter{{Field: "done", Value: "true"}}, []int64{ids[0], ids[2], ids[4]}},
			{[]store.Filter{{Field: "owner_type", Value: "lead"}, {Field: "done", Value: "false"}}, []int64{ids[1]}},
			{[]store.Filter{{Field: "start_at", Op: "gte", Value: "2025-01-10T12:00:00Z"}}, []int64{ids[0], ids[1]}},
			{[]store.Filter{{Field: "start_at", Op: "lt", Value: "2025-01-10T14:00:00+03:00"}}, []int64{ids[3], ids[4]}},
		} {
			as, _, err := s.ListActivities(ctx, store.ListParams{Filters: tc.f})
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, a := range as {
				got = append(got, a.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%+v: got %v, want %v", tc.f, got, tc.want)
			}
		}
	})
}
