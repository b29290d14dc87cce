package connection_test

import (
	"context"
	"errors"
	"testing"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// A connection the remote side refuses is marked broken with its words
// and the time of the first refusal, by a connector's call or by a
// check; a refusal repeated keeps that time (one alert per break); an
// outage does not break it; a check or a call that succeeds clears the
// mark, and the next refusal is a new break.
func TestBrokenMark(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, _ := newStore(t, d)
		c, err := s.Create(ctx, 1, connection.Input{Type: "fake", Name: "crm", Settings: map[string]any{"url": "https://x.ru", "api_key": "good"}})
		if err != nil {
			t.Fatal(err)
		}
		if c.Broken != nil {
			t.Fatalf("a new connection is broken: %+v", c.Broken)
		}
		if err := s.MarkBroken(ctx, c.ID, "HTTP 401: NO_AUTH_FOUND: Wrong authorization data"); err != nil {
			t.Fatal(err)
		}
		first, _ := s.Get(ctx, c.ID)
		if first.Broken == nil || first.Broken.Reason != "HTTP 401: NO_AUTH_FOUND: Wrong authorization data" || first.Broken.At.IsZero() {
			t.Fatalf("marked: %+v", first.Broken)
		}
		if err := s.MarkBroken(ctx, c.ID, "HTTP 401: expired"); err != nil {
			t.Fatal(err)
		}
		again, _ := s.Get(ctx, c.ID)
		if !again.Broken.At.Equal(first.Broken.At) || again.Broken.Reason != "HTTP 401: expired" {
			t.Fatalf("a repeated refusal: %+v, first %+v", again.Broken, first.Broken)
		}
		list, _ := s.List(ctx, "")
		if len(list) != 1 || list[0].Broken == nil {
			t.Fatalf("the list: %+v", list)
		}
		// A check that succeeds clears it.
		if res, err := s.Check(ctx, c.ID, i18n.Ru); err != nil || !res.OK {
			t.Fatalf("check: %+v %v", res, err)
		}
		if x, _ := s.Get(ctx, c.ID); x.Broken != nil {
			t.Fatalf("a check that passed left the mark: %+v", x.Broken)
		}
		// A check the server refuses sets it, in the server's words; an
		// outage does not.
		for _, tc := range []struct {
			key    string
			broken bool
		}{{"refused", false}, {"limited", false}, {"bad", true}} {
			if _, err := s.Update(ctx, 1, c.ID, connection.Input{Name: "crm", Settings: map[string]any{"url": "https://x.ru", "api_key": tc.key}}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Check(ctx, c.ID, i18n.Ru); err != nil {
				t.Fatal(err)
			}
			x, _ := s.Get(ctx, c.ID)
			if (x.Broken != nil) != tc.broken || (tc.broken && x.Broken.Reason != "HTTP 401: invalid key") {
				t.Fatalf("after a %s check: %+v", tc.key, x.Broken)
			}
		}
		if err := s.MarkWorking(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if x, _ := s.Get(ctx, c.ID); x.Broken != nil {
			t.Fatalf("marked working: %+v", x.Broken)
		}
		if err := s.MarkBroken(ctx, 999, "x"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a missing one: %v", err)
		}
	})
}
