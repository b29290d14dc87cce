package delivery

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestDispatchJudgesOwnersInItsTransaction: on SQLite a dispatch shares
// its transaction with the writes committed in the same group and reads
// their events before they are committed. Whether a user's handler is
// told of such an event is judged through that transaction: a lead made
// for the user in the group is told (the read pool knew neither its
// event nor its row), and a lead made in a group after the user was
// disabled in it is not (the read pool still had the user active).
// Before store.AudienceIn both went wrong, and the bitrix event tests
// failed now and then under load.
func TestDispatchJudgesOwnersInItsTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		if d.Dialect != db.SQLite {
			t.Skip("only SQLite commits writes in groups")
		}
		ctx := context.Background()
		e := newEnv(t, d, loopback)
		svc := e.driven() // the first attempts the dispatches start end first
		anna, err := e.st.CreateUser(ctx, e.admin, crm.User{Login: "anna", Role: crm.RoleManager, Active: true}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		rc := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		t.Cleanup(rc.Close)
		b, err := svc.Bind(ctx, "app", anna.ID, Binding{Event: "ONCRMLEADADD", Handler: rc.URL + "/h"})
		if err != nil {
			t.Fatal(err)
		}
		hers := func(title string) (crm.Lead, error) {
			return e.st.CreateLead(ctx, e.admin, crm.Lead{Title: title, Meta: crm.Meta{AssignedByID: anna.ID}})
		}
		dispatch := func() error {
			_, err := svc.Dispatch(ctx)
			return err
		}
		told := func() []int64 { return e.recordsOf(Webhook{ID: b.ID}) }
		// grouped runs the writes in one group, in this order: each is
		// queued behind a write held open until all are. The first
		// attempts of earlier dispatches (writes too) have ended first.
		grouped := func(writes ...func() error) {
			t.Helper()
			deadline := time.Now().Add(10 * time.Second)
			for {
				var pending int
				if err := d.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM deliveries WHERE status <> $1", StatusDelivered).Scan(&pending); err != nil {
					t.Fatal(err)
				}
				if pending == 0 && d.WritesWaiting() == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d deliveries not delivered", pending)
				}
				time.Sleep(time.Millisecond)
			}
			held, release := make(chan struct{}), make(chan struct{})
			errs := make(chan error, len(writes)+1)
			go func() {
				errs <- d.Write(ctx, func(context.Context, *sql.Tx) error { close(held); <-release; return nil })
			}()
			<-held
			for i, w := range writes {
				go func() { errs <- w() }()
				deadline = time.Now().Add(10 * time.Second)
				for d.WritesWaiting() < i+2 {
					if time.Now().After(deadline) {
						close(release)
						t.Fatalf("write %d was not queued", i+1)
					}
					time.Sleep(time.Millisecond)
				}
			}
			close(release)
			for range len(writes) + 1 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
		}

		// A dispatch that found something to send does not look first
		// (from the read pool) before the next: that one joins the group.
		first, err := hers("first")
		if err != nil {
			t.Fatal(err)
		}
		if err := dispatch(); err != nil {
			t.Fatal(err)
		}
		var second crm.Lead
		grouped(func() (err error) { second, err = hers("second"); return err }, dispatch)
		if ids, want := told(), []int64{first.ID, second.ID}; !slices.Equal(ids, want) {
			t.Fatalf("anna's handler was told of leads %v, want %v", ids, want)
		}

		var third crm.Lead
		disable := func() error {
			u := anna
			u.Active = false
			_, err := e.st.UpdateUser(ctx, e.admin, u)
			return err
		}
		grouped(disable, func() (err error) { third, err = hers("third"); return err }, dispatch)
		if ids, want := told(), []int64{first.ID, second.ID}; !slices.Equal(ids, want) {
			t.Fatalf("anna, disabled before lead %d was made, was told of leads %v, want %v", third.ID, ids, want)
		}
	})
}
