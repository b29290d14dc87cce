package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// A reply box's file that no message took is swept once older than the
// cut-off; a file a message took stays; a newer one waits.
func TestSweepMessageFiles(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		taken, err := s.AddMessageFile(ctx, admin, "счёт.pdf", "application/pdf", []byte("%PDF-1.4 счёт"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateMessage(ctx, admin, crm.Message{Channel: "telegram", Direction: "out", ChatID: "1", Text: "Счёт",
			Attachments: []crm.Attachment{taken}}); err != nil {
			t.Fatal(err)
		}
		left, err := s.AddMessageFile(ctx, admin, "макет.png", "image/png", []byte("not sent"))
		if err != nil {
			t.Fatal(err)
		}
		// Too young: kept.
		if n, err := s.SweepMessageFiles(ctx, time.Now().Add(-store.UnsentFileAge)); err != nil || n != 0 {
			t.Fatalf("sweep of young files: %d %v", n, err)
		}
		if n, err := s.SweepMessageFiles(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if _, err := s.GetMessageFile(ctx, left.LocalID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the unsent file is still there: %v", err)
		}
		if f, err := s.GetMessageFile(ctx, taken.LocalID); err != nil || f.MessageID == 0 {
			t.Fatalf("the sent file: %+v %v", f, err)
		}
		if n, err := s.SweepMessageFiles(ctx, time.Now().Add(time.Minute)); err != nil || n != 0 {
			t.Fatalf("second sweep: %d %v", n, err)
		}
	})
}
