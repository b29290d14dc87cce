package web_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/store/storetest"
)

// An exchange entry's page links each file it keeps — every file a web
// shop's run sent and received, a 1C exchange's upload — and they
// download from there (administrators, as the API's /exchanges/{id}/file);
// nothing outside the run's own folder, no dot file, nothing once swept.
func TestExchangeEntryFiles(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		dir := filepath.Join(t.TempDir(), "site-run-1")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{"catalog.zip": "PK\x03\x04zip", "import.xml": "<?xml version=\"1.0\"?><КоммерческаяИнформация/>",
			"offers.xml": "<?xml version=\"1.0\"?><Предложения/>", ".partial": "x"}
		for n, body := range files {
			if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "secret.xml"), []byte("<no/>"), 0o644); err != nil {
			t.Fatal(err)
		}
		upload := filepath.Join(t.TempDir(), "upload-import.xml")
		if err := os.WriteFile(upload, []byte("<?xml version=\"1.0\"?><from1c/>"), 0o644); err != nil {
			t.Fatal(err)
		}
		insert := func(direction, name, path string) int64 {
			var id int64
			err := e.app.DB.Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
				return tx.QueryRowContext(ctx, `INSERT INTO cml_exchanges (session_id, type, direction, filename, status, open, started_at, finished_at, file_path, file_size)
					VALUES ('s1', 'catalog', $1, $2, 'success', FALSE, $3, $3, $4, 10) RETURNING id`, direction, name, time.Now().UnixMicro(), path).Scan(&id)
			})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		run := insert("site", "catalog.zip", filepath.Join(dir, "catalog.zip"))
		in := insert("in", "import.xml", upload)

		b := e.browser()
		b.signIn()
		base := "/integrations/1c/" + strconv.FormatInt(run, 10)
		p := b.get(base)
		for _, n := range []string{"catalog.zip", "import.xml", "offers.xml"} {
			if !strings.Contains(p.Body, `href="`+base+`/file?name=`+url.QueryEscape(n)+`" download>`+n+`</a>`) {
				t.Errorf("the run's page has no link to %s", n)
			}
		}
		if strings.Contains(p.Body, ".partial") || strings.Contains(p.Body, "secret.xml") {
			t.Errorf("the page links a dot file or a file outside the run's folder")
		}
		for n, body := range files {
			if strings.HasPrefix(n, ".") {
				continue
			}
			d := b.get(base + "/file?name=" + url.QueryEscape(n))
			if d.Status != http.StatusOK || d.Body != body || !strings.Contains(d.Header.Get("Content-Disposition"), "attachment") {
				t.Errorf("%s: %d %q %q", n, d.Status, d.Body, d.Header.Get("Content-Disposition"))
			}
		}
		if d := b.get(base + "/file?name=offers.xml"); d.Header.Get("Content-Type") != "application/xml" {
			t.Errorf("offers.xml as %q", d.Header.Get("Content-Type"))
		}
		for _, n := range []string{".partial", "../secret.xml", "..", "nothing.xml"} {
			if d := b.get(base + "/file?name=" + url.QueryEscape(n)); d.Status != http.StatusNotFound {
				t.Errorf("%q: %d, want 404", n, d.Status)
			}
		}

		// A 1C exchange keeps its one upload: its link downloads it, and
		// no other name is served from its folder.
		one := "/integrations/1c/" + strconv.FormatInt(in, 10)
		if p := b.get(one); !strings.Contains(p.Body, `href="`+one+`/file?name=upload-import.xml" download>`) {
			t.Errorf("the 1C exchange's page has no link to its upload")
		}
		if d := b.get(one + "/file?name=upload-import.xml"); d.Status != http.StatusOK || d.Body != "<?xml version=\"1.0\"?><from1c/>" {
			t.Errorf("the 1C exchange's upload by its link: %d", d.Status)
		}
		if d := b.get(one + "/file?name=secret.xml"); d.Status != http.StatusNotFound {
			t.Errorf("another name on a 1C exchange: %d (only a site run's folder has names)", d.Status)
		}
		if d := b.get(one + "/file"); d.Status != http.StatusOK || d.Body != "<?xml version=\"1.0\"?><from1c/>" {
			t.Errorf("the 1C exchange's upload: %d %q", d.Status, d.Body)
		}
		// Swept: no link, and the download says so.
		if err := os.Remove(upload); err != nil {
			t.Fatal(err)
		}
		if p := b.get(one); strings.Contains(p.Body, `id="entry-files"`) {
			t.Errorf("a swept file is still linked")
		}
		if d := b.get(one + "/file"); d.Status != http.StatusNotFound || !strings.Contains(d.Body, "больше не хранится") {
			t.Errorf("a swept file: %d", d.Status)
		}
	})
}

// The entry's page with its files at phone and desk width: the links fit
// without a horizontal scroll and are labelled (screenshots in
// OBMEN_SHOT_DIR).
func TestBrowserExchangeEntryFiles(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	dir := filepath.Join(t.TempDir(), "site-run-7")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"catalog.zip", "import.xml", "offers.xml", "import_files_очень_длинное_имя_файла_картинки_товара_без_пробелов.jpg"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("<x/>"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var id int64
	err := e.app.DB.Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO cml_exchanges (session_id, type, direction, filename, status, open, started_at, finished_at, file_path, file_size)
			VALUES ('s1', 'catalog', 'site', 'catalog.zip', 'success', FALSE, $1, $1, $2, 10) RETURNING id`, time.Now().UnixMicro(), filepath.Join(dir, "catalog.zip")).Scan(&id)
	})
	if err != nil {
		t.Fatal(err)
	}
	bs := newBrowserSession(t, e)
	for _, vp := range []struct {
		name string
		w, h int64
	}{{"390", 390, 900}, {"1280", 1280, 900}} {
		bs.run("entry "+vp.name, chromedp.EmulateViewport(vp.w, vp.h), chromedp.Navigate(e.srv.URL+"/integrations/1c/"+strconv.FormatInt(id, 10)),
			chromedp.WaitVisible(chromedp.CSS(`#entry-files`)))
		if n := bs.eval(`String(document.querySelectorAll("#entry-files a[download]").length)`); n != "4" {
			t.Errorf("%s: %s file links, want 4", vp.name, n)
		}
		bs.noHorizontalScroll("the entry's files at " + vp.name)
		bs.labelled("the entry's page at " + vp.name)
		bs.run("screenshot", shot(bs.dir, "exchange-entry-files-"+vp.name))
	}
}
