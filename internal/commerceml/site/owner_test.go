package site_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/commerceml/schematest"
	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
	"golang.org/x/text/encoding/charmap"
)

// The catalog a site gets names the company as <Владелец> of its
// classifier, catalog and offers: the site's owner company, else our
// company of the invoices, else (with a problem in the journal) the
// site's name; what is sent is valid against 1C's official schema of
// the version set (2.10 and 2.05 here), and a price's unit is the ОКЕИ
// code under 2.10 and the short name under 2.05. A company that does not
// exist is refused with the field named.
func TestSiteCatalogOwner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		in := start(t, d)
		st := in.app.Store
		if _, err := st.CreateProduct(in.ctx, in.admin, crm.Product{Name: "Дрель", Price: 599000, Unit: "шт", Active: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateProduct(in.ctx, in.admin, crm.Product{Name: "Кабель", Price: 8720, Unit: "м", Active: true}); err != nil {
			t.Fatal(err)
		}
		company := func(title, inn, kpp string) int64 {
			a, err := st.CreateAccount(in.ctx, in.admin, crm.Account{Title: title})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateRequisite(in.ctx, in.admin, a.ID, crm.Requisite{PresetID: 1, Name: "Организация", FullName: `ООО "` + title + `"`, ShortName: title,
				INN: inn, KPP: kpp}); err != nil {
				t.Fatal(err)
			}
			return a.ID
		}
		ours := company("Ромашка", "7736207543", "773601001")
		other := company("Лютик", "7707083893", "773601002")
		srv := httptest.NewServer(&fakeSite{files: map[string]int{}})
		t.Cleanup(srv.Close)

		var bad map[string]any
		if code := in.api("POST", "/api/v1/site-exchanges", map[string]any{"url": srv.URL + "/1c_exchange.php", "login": "admin", "password": "pw", "owner_account_id": 999999}, &bad); code != 422 && code != 400 {
			t.Errorf("an owner that does not exist: %d %v", code, bad)
		} else if !strings.Contains(fmt.Sprint(bad), "owner_account_id") {
			t.Errorf("the refusal does not name owner_account_id: %v", bad)
		}

		binned := company("Одуванчик", "7707083893", "773601003")
		if err := st.Delete(in.ctx, in.admin, store.EntityAccount, binned); err != nil {
			t.Fatal(err)
		}
		if code := in.api("POST", "/api/v1/site-exchanges", map[string]any{"url": srv.URL + "/1c_exchange.php", "login": "admin", "password": "pw", "owner_account_id": binned}, &bad); code != 422 && code != 400 {
			t.Errorf("an owner in the recycle bin: %d %v", code, bad)
		}

		n := 0
		sent := func(t *testing.T, version string, owner int64) (string, string, site.RunResult) {
			t.Helper()
			n++
			var s site.Settings
			if code := in.api("POST", "/api/v1/site-exchanges", site.Settings{Name: "shop " + strconv.Itoa(n), URL: srv.URL + "/1c_exchange.php",
				Login: "admin", Password: "pw", Version: version, OwnerAccountID: owner}, &s); code != 201 {
				t.Fatalf("create: %d", code)
			}
			res := in.runOK(s.ID, site.KindCatalog)
			var path string
			if err := d.Read.QueryRowContext(in.ctx, "SELECT file_path FROM cml_exchanges WHERE id = $1", res.EntryID).Scan(&path); err != nil {
				t.Fatal(err)
			}
			var docs []string
			for _, f := range []string{"import.xml", "offers.xml"} {
				b, err := os.ReadFile(filepath.Join(filepath.Dir(path), f))
				if err != nil {
					t.Fatal(err)
				}
				schematest.Validate(t, b)
				if strings.Contains(string(b[:100]), "windows-1251") {
					if b, err = charmap.Windows1251.NewDecoder().Bytes(b); err != nil {
						t.Fatal(err)
					}
				}
				docs = append(docs, string(b))
			}
			return docs[0], docs[1], res
		}

		t.Run("our company of the invoices", func(t *testing.T) {
			if err := st.SetSetting(in.ctx, in.admin, store.SellerSetting, strconv.FormatInt(ours, 10)); err != nil {
				t.Fatal(err)
			}
			imp, off, res := sent(t, "2.10", 0)
			for _, doc := range []string{imp, off} {
				if !strings.Contains(doc, "<ОфициальноеНаименование>ООО &#34;Ромашка&#34;</ОфициальноеНаименование>") || !strings.Contains(doc, "<ИНН>7736207543</ИНН>") ||
					!strings.Contains(doc, "<КПП>773601001</КПП>") {
					t.Errorf("owner not written:\n%s", doc)
				}
			}
			if strings.Count(imp, "<Владелец>") != 2 || !strings.Contains(off, "<Единица>796</Единица>") || !strings.Contains(off, "<Единица>006</Единица>") {
				t.Errorf("2.10 offers:\n%s", off)
			}
			if len(res.Problems) != 0 {
				t.Errorf("problems: %v", res.Problems)
			}
		})
		t.Run("the site's own owner, 2.05", func(t *testing.T) {
			imp, off, _ := sent(t, "2.05", other)
			if !strings.Contains(imp, "<ИНН>7707083893</ИНН>") || !strings.Contains(off, "<Наименование>Лютик</Наименование>") || !strings.Contains(off, "<Единица>шт</Единица>") {
				t.Errorf("2.05:\n%s\n%s", imp, off)
			}
		})
		t.Run("no company: the site's name, and a problem", func(t *testing.T) {
			if err := st.SetSetting(in.ctx, in.admin, store.SellerSetting, ""); err != nil {
				t.Fatal(err)
			}
			_, off, res := sent(t, "2.10", 0)
			if !strings.Contains(off, "<ОфициальноеНаименование>shop 3</ОфициальноеНаименование>") || len(res.Problems) != 1 {
				t.Errorf("problems %v, offers:\n%s", res.Problems, off)
			}
			e, err := in.app.CommerceML.GetEntry(in.ctx, res.EntryID)
			if err != nil || len(e.Problems) != 1 || !strings.Contains(e.Problems[0], "owner_account_id") {
				t.Errorf("journal: %+v %v", e.Problems, err)
			}
		})
	})
}
