package connection_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The journal keeps each connection's entries apart, newest first, within
// the limit asked, and cuts a long error at a character (PostgreSQL
// refuses a Cyrillic letter cut in two).
func TestJournal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		long := strings.Repeat("ошибка ", 400)
		for i, e := range []connection.JournalEntry{
			{Event: "message_new", Ref: "ev-1", Outcome: "stored", RecordID: 7},
			{Ref: "9001", Outcome: "refused", Error: long},
		} {
			if err := connection.WriteJournal(ctx, d, 5, at.Add(time.Duration(i)*time.Second), e); err != nil {
				t.Fatal(err)
			}
		}
		if err := connection.WriteJournal(ctx, d, 6, at, connection.JournalEntry{Outcome: "stored"}); err != nil {
			t.Fatal(err)
		}
		j, err := connection.ReadJournal(ctx, d, 5, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(j) != 2 || j[0].Outcome != "refused" || j[1].Event != "message_new" || j[1].Ref != "ev-1" || j[1].RecordID != 7 || !j[1].CreatedAt.Equal(at) {
			t.Fatalf("journal of 5: %+v", j)
		}
		if e := j[0].Error; len(e) > 1000 || !utf8.ValidString(e) || !strings.HasSuffix(e, "…") {
			t.Fatalf("long error kept as %d bytes (valid %v)", len(e), utf8.ValidString(e))
		}
		if j, err := connection.ReadJournal(ctx, d, 5, 1); err != nil || len(j) != 1 || j[0].Outcome != "refused" {
			t.Fatalf("limit 1: %+v %v", j, err)
		}
	})
}

// Every hundredth entry trims a connection's journal to what it keeps,
// the newest; another connection's entries stay.
func TestJournalKeepsTheNewest(t *testing.T) {
	defer connection.SetJournalKeep(30)()
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		if err := connection.WriteJournal(ctx, d, 8, at, connection.JournalEntry{Outcome: "other"}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 250; i++ {
			if err := connection.WriteJournal(ctx, d, 7, at, connection.JournalEntry{Ref: fmt.Sprint(i), Outcome: "stored"}); err != nil {
				t.Fatal(err)
			}
		}
		j, err := connection.ReadJournal(ctx, d, 7, 500)
		if err != nil {
			t.Fatal(err)
		}
		// Entry i has id i+2 (the other connection's is 1): trimmed at
		// id 200 to the 30 ids 171–200 (entries 169–198), 51 written since.
		if len(j) != 81 || j[0].Ref != "249" || j[len(j)-1].Ref != "169" {
			t.Fatalf("%d entries kept, from %s to %s", len(j), j[len(j)-1].Ref, j[0].Ref)
		}
		if o, err := connection.ReadJournal(ctx, d, 8, 0); err != nil || len(o) != 1 {
			t.Fatalf("the other connection's journal: %+v %v", o, err)
		}
	})
}
