package totp_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
	"github.com/obmen/obmen/internal/totp"
)

func TestGuardEnrolSignInReplayRecovery(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		box, err := secret.New(make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Unix(1_800_000_000, 0)
		g := totp.NewGuard(s, box, "Obmen", true)
		g.SetClock(func() time.Time { return now })
		u, err := s.GetUser(ctx, admin.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if !g.Required(u) {
			t.Error("admin not required to enrol under RequireAdmins")
		}
		e, err := g.Pending(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if len(e.QR) < 100 || string(e.QR[1:4]) != "PNG" {
			t.Errorf("QR is not a PNG (%d bytes)", len(e.QR))
		}
		// A reload shows the same key.
		if again, err := g.Pending(ctx, u); err != nil || again.Secret != e.Secret {
			t.Fatalf("second Pending: %v, same key %v", err, again.Secret == e.Secret)
		}
		// The secret is sealed at rest.
		row, err := s.GetTOTP(ctx, u.ID)
		if err != nil || row.Enabled || row.Secret == "" || row.Secret == e.Secret {
			t.Fatalf("stored row %+v %v", row, err)
		}
		key, _ := totp.Decode(e.Secret)
		if err := g.Check(ctx, u.ID, totp.Code(key, now)); !errors.Is(err, totp.ErrWrongCode) {
			t.Errorf("code accepted before the factor is confirmed: %v", err)
		}
		if _, err := g.Confirm(ctx, u.ID, "000000"); !errors.Is(err, totp.ErrWrongCode) && totp.Code(key, now) != "000000" {
			t.Errorf("wrong first code: %v", err)
		}
		codes, err := g.Confirm(ctx, u.ID, totp.Code(key, now))
		if err != nil || len(codes) != totp.RecoveryCount {
			t.Fatalf("confirm: %v %d", err, len(codes))
		}
		if on, _ := g.Enabled(ctx, u.ID); !on {
			t.Fatal("not enabled after confirming")
		}
		// The confirming code's step is spent; the next step's code works once.
		if err := g.Check(ctx, u.ID, totp.Code(key, now)); !errors.Is(err, totp.ErrReplay) {
			t.Errorf("confirming code reused: %v", err)
		}
		now = now.Add(totp.Period)
		c := totp.Code(key, now)
		if err := g.Check(ctx, u.ID, c); err != nil {
			t.Fatalf("fresh code: %v", err)
		}
		if err := g.Check(ctx, u.ID, c); !errors.Is(err, totp.ErrReplay) {
			t.Errorf("replayed code: %v", err)
		}
		// An older step's code (still inside the window) is refused too.
		if err := g.Check(ctx, u.ID, totp.Code(key, now.Add(-totp.Period))); !errors.Is(err, totp.ErrReplay) {
			t.Errorf("earlier step after a later one: %v", err)
		}
		// Recovery codes: each once, typed loosely.
		if err := g.Check(ctx, u.ID, " "+codes[3]+" "); err != nil {
			t.Fatalf("recovery code: %v", err)
		}
		if err := g.Check(ctx, u.ID, codes[3]); !errors.Is(err, totp.ErrWrongCode) {
			t.Errorf("recovery code reused: %v", err)
		}
		if err := g.Check(ctx, u.ID, "ABCDE-FGHJK"); !errors.Is(err, totp.ErrWrongCode) {
			t.Errorf("made-up recovery code: %v", err)
		}
		if row, _ := s.GetTOTP(ctx, u.ID); row.RecoveryLeft != totp.RecoveryCount-1 {
			t.Errorf("recovery left %d", row.RecoveryLeft)
		}
		if _, err := g.Pending(ctx, u); !errors.Is(err, store.ErrTOTPEnabled) {
			t.Errorf("new enrolment over an enabled factor: %v", err)
		}
		// Reset (an admin for a lost device): no factor, codes gone.
		if err := g.Reset(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if on, _ := g.Enabled(ctx, u.ID); on {
			t.Error("still enabled after reset")
		}
		if err := g.Check(ctx, u.ID, codes[4]); !errors.Is(err, totp.ErrWrongCode) {
			t.Errorf("recovery code after reset: %v", err)
		}
	})
}

func TestTicket(t *testing.T) {
	t.Parallel()
	box, _ := secret.New(make([]byte, 32))
	otherBox, _ := secret.New([]byte("another installation key 32 byte"))
	now := time.Unix(1_800_000_000, 0)
	g := totp.NewGuard(nil, box, "", false)
	g.SetClock(func() time.Time { return now })
	other := totp.NewGuard(nil, otherBox, "", false)
	other.SetClock(func() time.Time { return now })
	tk := g.Ticket(42)
	if id, ok := g.TicketUser(tk); !ok || id != 42 {
		t.Fatalf("own ticket: %d %v", id, ok)
	}
	for name, bad := range map[string]string{
		"other user":   "43" + tk[2:],
		"other key":    other.Ticket(42),
		"no signature": tk[:strings.LastIndexByte(tk, '.')],
		"empty":        "",
	} {
		if _, ok := g.TicketUser(bad); ok {
			t.Errorf("%s accepted", name)
		}
	}
	now = now.Add(6 * time.Minute)
	if _, ok := g.TicketUser(tk); ok {
		t.Error("expired ticket accepted")
	}
}
