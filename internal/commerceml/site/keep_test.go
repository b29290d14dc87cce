package site_test

import (
	"context"
	"database/sql"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The files of a site's runs are kept for the site's keep_days: an older
// run's files go (its journal entry stays, without a file to offer), a
// younger one's stay downloadable; the 1C exchange's own sweep (its
// keep_days, 14 by default) leaves the site's runs alone.
func TestSiteFilesKeptForKeepDays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		in := start(t, d)
		if _, err := in.app.Store.CreateProduct(in.ctx, in.admin, crm.Product{Name: "Дрель", Price: 100, Active: true}); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(&fakeSite{files: map[string]int{}})
		t.Cleanup(srv.Close)
		var s site.Settings
		if code := in.api("POST", "/api/v1/site-exchanges", site.Settings{URL: srv.URL + "/1c_exchange.php", Login: "admin", Password: "pw", KeepDays: 30}, &s); code != 201 {
			t.Fatalf("create: %d", code)
		}
		path := func(entry int64) string {
			t.Helper()
			var p string
			if err := d.Read.QueryRowContext(in.ctx, "SELECT file_path FROM cml_exchanges WHERE id = $1", entry).Scan(&p); err != nil {
				t.Fatal(err)
			}
			return p
		}
		// age makes a run look days old: its journal entry and its folder.
		age := func(entry int64, days int) {
			t.Helper()
			then := time.Now().AddDate(0, 0, -days)
			if err := d.Write(in.ctx, func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, "UPDATE cml_exchanges SET started_at = $1 WHERE id = $2", then.UnixMicro(), entry)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(filepath.Dir(path(entry)), then, then); err != nil {
				t.Fatal(err)
			}
		}
		old := in.runOK(s.ID, site.KindCatalog)
		mid := in.runOK(s.ID, site.KindCatalog)
		age(old.EntryID, 40)
		age(mid.EntryID, 20)
		// 1C's sweep (keep_days 14) is not the site's.
		if err := in.app.CommerceML.Sweep(in.ctx); err != nil {
			t.Fatal(err)
		}
		if path(mid.EntryID) == "" || path(old.EntryID) == "" {
			t.Fatalf("1C's sweep took the site's files: %q %q", path(old.EntryID), path(mid.EntryID))
		}
		oldDir := filepath.Dir(path(old.EntryID))
		last := in.runOK(s.ID, site.KindCatalog)
		if path(old.EntryID) != "" {
			t.Errorf("a run 40 days old still offers its file")
		}
		if _, err := os.Stat(oldDir); !os.IsNotExist(err) {
			t.Errorf("a run 40 days old keeps its folder: %v", err)
		}
		for _, e := range []int64{mid.EntryID, last.EntryID} {
			if _, err := os.Stat(path(e)); err != nil {
				t.Errorf("run %d within keep_days lost its file: %v", e, err)
			}
		}
		if e, err := in.app.CommerceML.GetEntry(in.ctx, old.EntryID); err != nil || e.Status != "success" {
			t.Errorf("the old run's journal entry: %+v %v", e, err)
		}
	})
}
