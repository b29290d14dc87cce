package site_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
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

// Each file a site's run sent and received downloads from its journal
// entry: the catalog's zip (the default), the documents in it by name,
// the orders document received; a name outside the run's folder, or one
// it does not have, is not found.
func TestSiteRunFilesDownload(t *testing.T) {
	in := start(t, storetest.OpenSQLite(t))
	if _, err := in.app.Store.CreateProduct(in.ctx, in.admin, crm.Product{Name: "Дрель", Price: 100, Active: true}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&fakeSite{files: map[string]int{},
		orders: "<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<КоммерческаяИнформация ВерсияСхемы=\"2.05\" ДатаФормирования=\"2026-12-05T10:00:00\"></КоммерческаяИнформация>\n"})
	t.Cleanup(srv.Close)
	var s site.Settings
	if code := in.api("POST", "/api/v1/site-exchanges", site.Settings{URL: srv.URL + "/1c_exchange.php", Login: "admin", Password: "pw"}, &s); code != 201 {
		t.Fatalf("create: %d", code)
	}
	get := func(entry int64, name string) (int, string) {
		t.Helper()
		u := fmt.Sprintf("%s/api/v1/exchanges/%d/file", in.srv.URL, entry)
		if name != "" {
			u += "?name=" + url.QueryEscape(name)
		}
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+in.key)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	cat := in.runOK(s.ID, site.KindCatalog)
	if code, body := get(cat.EntryID, ""); code != 200 || !strings.HasPrefix(body, "PK") {
		t.Errorf("the zip: %d", code)
	}
	for _, name := range []string{"import.xml", "offers.xml"} {
		if code, body := get(cat.EntryID, name); code != 200 || !strings.HasPrefix(body, "<?xml") {
			t.Errorf("%s: %d %.80s", name, code, body)
		}
	}
	for _, name := range []string{"../../../site.db", "..", ".hidden", "nothing.xml", "import_files"} {
		if code, _ := get(cat.EntryID, name); code != 404 {
			t.Errorf("%q: %d, want 404", name, code)
		}
	}
	ord := in.runOK(s.ID, site.KindOrders)
	if code, body := get(ord.EntryID, "from-site.xml"); code != 200 || !strings.HasPrefix(body, "<?xml") {
		t.Errorf("from-site.xml: %d %.80s", code, body)
	}
	if code, _ := get(ord.EntryID, "offers.xml"); code != 404 {
		t.Errorf("an orders run's offers.xml: %d", code)
	}
}

// "Only changed" with nothing changed since the last export sends
// nothing (an empty package changes nothing on the site, and 1C's schema
// wants a good in it): the run succeeds without mode=file or mode=import;
// a change afterwards is sent as before.
func TestOnlyChangedNothingSent(t *testing.T) {
	in := start(t, storetest.OpenSQLite(t))
	p, err := in.app.Store.CreateProduct(in.ctx, in.admin, crm.Product{Name: "Дрель", Price: 100, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeSite{files: map[string]int{}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	var s site.Settings
	if code := in.api("POST", "/api/v1/site-exchanges", site.Settings{URL: srv.URL + "/1c_exchange.php", Login: "admin", Password: "pw", OnlyChanged: true}, &s); code != 201 {
		t.Fatalf("create: %d", code)
	}
	imports := func() int { return strings.Count(strings.Join(fake.calls, " "), "catalog:import") }
	in.runOK(s.ID, site.KindCatalog)
	if imports() != 2 {
		t.Fatalf("first run: %v", fake.calls)
	}
	chunks := fake.chunks
	res := in.runOK(s.ID, site.KindCatalog)
	if imports() != 2 || fake.chunks != chunks {
		t.Errorf("nothing changed, yet: %v", fake.calls)
	}
	if c := res.Counts["product"]; c != nil && c.Sent != 0 {
		t.Errorf("counts: %+v", c)
	}
	if _, err := in.app.Store.UpdateProduct(in.ctx, in.admin, p.ID, func(p *crm.Product) error { p.Price = 200; return nil }); err != nil {
		t.Fatal(err)
	}
	in.runOK(s.ID, site.KindCatalog)
	if imports() != 4 || fake.chunks == chunks {
		t.Errorf("the change was not sent: %v", fake.calls)
	}
}

// A full export of catalogs without goods sends nothing (1C's schema wants
// a good, and a site taking an empty full catalog may deactivate all it
// has): the run succeeds with a problem saying so.
func TestFullExportOfNothingSendsNothing(t *testing.T) {
	in := start(t, storetest.OpenSQLite(t))
	fake := &fakeSite{files: map[string]int{}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	var s site.Settings
	if code := in.api("POST", "/api/v1/site-exchanges", site.Settings{URL: srv.URL + "/1c_exchange.php", Login: "admin", Password: "pw"}, &s); code != 201 {
		t.Fatalf("create: %d", code)
	}
	res := in.runOK(s.ID, site.KindCatalog)
	if calls := strings.Join(fake.calls, " "); strings.Contains(calls, "catalog:import") || fake.chunks != 0 {
		t.Errorf("an empty catalog was sent: %v", fake.calls)
	}
	if len(res.Problems) == 0 || !strings.Contains(strings.Join(res.Problems, " "), "nothing was sent") {
		t.Errorf("no problem says why nothing was sent: %q", res.Problems)
	}
	if _, err := in.app.Store.CreateProduct(in.ctx, in.admin, crm.Product{Name: "Дрель", Price: 100, Active: true}); err != nil {
		t.Fatal(err)
	}
	in.runOK(s.ID, site.KindCatalog)
	if !strings.Contains(strings.Join(fake.calls, " "), "catalog:import") {
		t.Errorf("a catalog with a good was not sent: %v", fake.calls)
	}
}
