package google_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/google"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// An access token past its expiry is refreshed with the sealed refresh
// token before the run's first request, and the new one kept; a refresh
// token Google refuses (revoked) makes the run say to connect again.
func TestTokenRefresh(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.connect()
		e.settings(func(s *google.Settings) { s.Calendar = false })
		expire := func() {
			if err := d.Write(e.ctx, func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, "UPDATE google_syncs SET token_expiry = $1", time.Now().Add(-time.Hour).UnixMicro())
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		expire()
		e.run()
		if e.f.refreshCount() != 1 {
			t.Fatalf("%d refreshes, want 1", e.f.refreshCount())
		}
		var sealed string
		if err := d.Reader().QueryRowContext(e.ctx, "SELECT access_token FROM google_syncs").Scan(&sealed); err != nil || sealed == "access-r1" || sealed == "" {
			t.Fatalf("access token at rest: %q %v", sealed, err)
		}
		e.run() // the refreshed token lasts: no second refresh
		if e.f.refreshCount() != 1 {
			t.Fatalf("%d refreshes, want still 1", e.f.refreshCount())
		}
		// Revoked: the token endpoint refuses the refresh token.
		expire()
		if err := d.Write(e.ctx, func(ctx context.Context, tx *sql.Tx) error {
			sealed, err := e.box.Seal("refresh-revoked")
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, "UPDATE google_syncs SET refresh_token = $1", sealed)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.sv.Run(e.ctx, e.user); !errors.Is(err, google.ErrNotConnect) {
			t.Fatalf("revoked: %v", err)
		}
	})
}

// The connection's check presents the client to the token endpoint: a
// wrong secret is a credentials failure, the right one passes.
func TestCheckClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		typ := google.ConnectionType(e.deps)
		if err := typ.Check(e.ctx, connection.Settings{"client_id": "1-abc.apps.googleusercontent.com", "client_secret": "s3cret"}); err != nil {
			t.Fatalf("right secret: %v", err)
		}
		err := typ.Check(e.ctx, connection.Settings{"client_id": "1-abc.apps.googleusercontent.com", "client_secret": "wrong"})
		var ce *connection.CheckError
		if !errors.As(err, &ce) || ce.Class != connection.ClassCredentials {
			t.Fatalf("wrong secret: %v", err)
		}
	})
}
