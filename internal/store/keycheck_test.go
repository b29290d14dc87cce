package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestKeyStopsAtOnceWhenChangedElsewhere: a store that has just accepted a
// key refuses it on the next check once another store on the same
// database — the CLI, another instance — disables its user or revokes it.
func TestKeyStopsAtOnceWhenChangedElsewhere(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		server, cli := store.New(d), store.New(d)
		admin := storetest.Admin(t, server)
		u, err := server.CreateUser(ctx, admin, crm.User{Login: "olga", Role: crm.RoleManager, Active: true}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		_, full, err := server.CreateAPIKey(ctx, admin, u.ID, "1c")
		if err != nil {
			t.Fatal(err)
		}
		k2, full2, err := server.CreateAPIKey(ctx, admin, u.ID, "site")
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := server.CheckAPIKey(ctx, full2); err != nil {
				t.Fatal(err)
			}
		}
		if err := cli.RevokeAPIKey(ctx, admin, k2.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := server.CheckAPIKey(ctx, full2); !errors.Is(err, store.ErrBadCredentials) {
			t.Fatalf("a key revoked elsewhere: %v", err)
		}
		if _, err := server.CheckAPIKey(ctx, full); err != nil {
			t.Fatal(err)
		}
		u.Active = false
		if _, err := cli.UpdateUser(ctx, admin, u); err != nil {
			t.Fatal(err)
		}
		if _, err := server.CheckAPIKey(ctx, full); !errors.Is(err, store.ErrBadCredentials) {
			t.Fatalf("the key of a user disabled elsewhere: %v", err)
		}
	})
}

// TestCommonPasswordsRefused: a password from the embedded list of the
// most common ones is refused whatever its case; others pass.
func TestCommonPasswordsRefused(t *testing.T) {
	for _, pw := range []string{"password", "Password123", "QWERTYUIOP", "йцукенгш", "12345678"} {
		if _, err := store.HashPassword(pw); err == nil {
			t.Errorf("%q accepted", pw)
		} else if fe, ok := crm.AsFieldError(err); !ok || fe.Field != "password" {
			t.Errorf("%q: %v", pw, err)
		}
	}
	if _, err := store.HashPassword("olga-password-1"); err != nil {
		t.Errorf("an ordinary password: %v", err)
	}
}
