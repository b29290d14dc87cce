package notify_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/notify"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// A connection the remote side refuses tells every administrator once
// per break, however many scans see it broken (every failing run marks
// it again); fixed (a check or a call that succeeds) and broken again,
// it tells once more. The notification leads to the connection's page.
func TestBrokenConnectionNotifiedOncePerBreak(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := store.New(d)
		admin := storetest.Admin(t, s)
		box, _ := secret.New([]byte(strings.Repeat("k", 32)))
		reg := connection.NewRegistry(i18n.New())
		if err := reg.Add(connection.Type{Name: "crm", Check: func(context.Context, connection.Settings) error { return nil }}); err != nil {
			t.Fatal(err)
		}
		conns := connection.NewStore(d, box, reg)
		c, err := conns.Create(ctx, admin.UserID, connection.Input{Type: "crm", Name: "Портал"})
		if err != nil {
			t.Fatal(err)
		}
		n := notify.New(d, nil, nil, slog.New(slog.DiscardHandler))
		count := func() int {
			t.Helper()
			if _, err := n.Scan(ctx); err != nil {
				t.Fatal(err)
			}
			list, err := n.List(ctx, admin.UserID, 50)
			if err != nil {
				t.Fatal(err)
			}
			k := 0
			for _, x := range list {
				if x.Kind == notify.KindConnectionBroken {
					k++
					if x.Link() != "/admin/connections/"+strconv.FormatInt(c.ID, 10) || x.Title != "Подключение «Портал» не работает" ||
						!strings.Contains(x.Body, "NO_AUTH_FOUND") {
						t.Fatalf("the notification: %+v → %s", x, x.Link())
					}
				}
			}
			return k
		}
		if k := count(); k != 0 {
			t.Fatalf("%d notifications of a working connection", k)
		}
		for range 3 { // three failing runs
			if err := conns.MarkBroken(ctx, c.ID, "HTTP 401: NO_AUTH_FOUND: Wrong authorization data"); err != nil {
				t.Fatal(err)
			}
			if k := count(); k != 1 {
				t.Fatalf("%d notifications of one break", k)
			}
		}
		if err := conns.MarkWorking(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if k := count(); k != 1 {
			t.Fatalf("%d notifications after the fix", k)
		}
		if err := conns.MarkBroken(ctx, c.ID, "HTTP 401: NO_AUTH_FOUND: again"); err != nil {
			t.Fatal(err)
		}
		if k := count(); k != 2 {
			t.Fatalf("%d notifications after a second break", k)
		}
	})
}
