package app_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/app/apptest"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The periodic sweep removes a reply box's file that no message took
// once it is older than store.UnsentFileAge; a younger one stays.
func TestUnsentMessageFilesSwept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := store.New(d)
		admin := crm.Actor{UserID: 1}
		old, err := s.AddMessageFile(ctx, admin, "старый.pdf", "application/pdf", []byte("%PDF old"))
		if err != nil {
			t.Fatal(err)
		}
		young, err := s.AddMessageFile(ctx, admin, "новый.pdf", "application/pdf", []byte("%PDF young"))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE message_files SET created_at = $1 WHERE id = $2",
				time.Now().Add(-store.UnsentFileAge-time.Minute).UnixMicro(), old.LocalID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		apptest.Start(t, d) // the sweep runs when the queue starts
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			_, err := s.GetMessageFile(ctx, old.LocalID)
			if errors.Is(err, store.ErrNotFound) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the old unsent file is still there: %v", err)
			}
		}
		if _, err := s.GetMessageFile(ctx, young.LocalID); err != nil {
			t.Fatalf("the young file: %v", err)
		}
	})
}
