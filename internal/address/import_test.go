package address_test

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// guid is the OBJECTGUID the fixture gives object n.
func guid(n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n) }

var today = func() time.Time { return time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC) }

func importDir(t *testing.T, d *db.DB, dir string, regions ...int) address.Stats {
	t.Helper()
	im := &address.Importer{DB: d, Regions: regions, Now: today}
	st, err := im.Import(context.Background(), dir)
	if err != nil {
		t.Fatalf("import %s: %v", dir, err)
	}
	return st
}

func count(t *testing.T, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.Read.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// values runs a suggest query and returns the full texts found.
func values(t *testing.T, d *db.DB, q address.Query) []address.Suggestion {
	t.Helper()
	got, err := address.Suggest(context.Background(), d, q)
	if err != nil {
		t.Fatalf("suggest %+v: %v", q, err)
	}
	return got
}

func texts(s []address.Suggestion) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = x.Value
	}
	return out
}

// TestImportAndSuggest imports the two-region fixture and asks what a user
// typing into an address block asks: city, then street within it, then
// house, with prefixes, ё/е and abbreviations both ways.
func TestImportAndSuggest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		st := importDir(t, d, "testdata/gar")
		if st.Files != 10 || st.Skipped != 0 {
			t.Fatalf("stats %+v, want 10 files read", st)
		}
		// 12 objects and 6 houses actual and active; an inactive street, a
		// non-actual record of a street and an inactive house are skipped.
		if n := count(t, d, `SELECT COUNT(*) FROM address_objects WHERE active = 1`); n != 12+6 {
			t.Errorf("active objects = %d, want 18 (inactive and non-actual records skipped)", n)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM address_objects WHERE object_id IN (1607, 1705)`); n != 0 {
			t.Errorf("inactive records were imported (%d)", n)
		}

		kazan, baumana, ivanovka, central := guid(1602), guid(1603), guid(5003), guid(5004)
		const (
			kazanText   = "Респ Татарстан, г Казань"
			baumanaText = "Респ Татарстан, г Казань, ул Баумана"
		)
		for _, tc := range []struct {
			name string
			q    address.Query
			want []string
		}{
			{"city prefix", address.Query{Text: "каз", Level: "city"}, []string{kazanText}},
			{"city upper case", address.Query{Text: "КАЗАНЬ", Level: "city"}, []string{kazanText}},
			{"city with г", address.Query{Text: "г. Казань", Level: "city"}, []string{kazanText}},
			{"city with город", address.Query{Text: "город каз", Level: "city"}, []string{kazanText}},
			{"city type after", address.Query{Text: "Казань г", Level: "city"}, []string{kazanText}},
			{"wrong type filters out", address.Query{Text: "д Казань", Level: "city"}, nil},
			{"village", address.Query{Text: "иван", Level: "city"}, []string{"Московская обл, Истринский р-н, д Ивановка"}},
			{"village деревня", address.Query{Text: "деревня Ивановка", Level: "city"}, []string{"Московская обл, Истринский р-н, д Ивановка"}},
			{"region обл", address.Query{Text: "московская область", Level: "city"}, []string{"Московская обл"}},
			{"district р-н", address.Query{Text: "р-н истр", Level: "city"}, []string{"Московская обл, Истринский р-н"}},
			{"city within region", address.Query{Text: "к", Level: "city", Parent: guid(1601)}, []string{kazanText}},
			{"streets are not cities", address.Query{Text: "бау", Level: "city"}, nil},
			{"street prefix", address.Query{Text: "бау", Level: "street", Parent: kazan}, []string{baumanaText}},
			{"street ул.", address.Query{Text: "ул. Баумана", Level: "street", Parent: kazan}, []string{baumanaText}},
			{"street улица", address.Query{Text: "улица бау", Level: "street", Parent: kazan}, []string{baumanaText}},
			{"street second word", address.Query{Text: "маркс", Level: "street", Parent: kazan}, []string{"Респ Татарстан, г Казань, ул Карла Маркса"}},
			{"street both words", address.Query{Text: "карла м", Level: "street", Parent: kazan}, []string{"Респ Татарстан, г Казань, ул Карла Маркса"}},
			{"пр-кт", address.Query{Text: "пр-кт поб", Level: "street", Parent: kazan}, []string{"Респ Татарстан, г Казань, пр-кт Победы"}},
			{"проспект", address.Query{Text: "проспект Победы", Level: "street", Parent: kazan}, []string{"Респ Татарстан, г Казань, пр-кт Победы"}},
			{"проспект is not улица", address.Query{Text: "ул Победы", Level: "street", Parent: kazan}, nil},
			{"е finds ё", address.Query{Text: "черное оз", Level: "street", Parent: kazan}, []string{"Респ Татарстан, г Казань, ул Чёрное Озеро"}},
			{"ё finds ё", address.Query{Text: "Чёрн", Level: "street", Parent: kazan}, []string{"Респ Татарстан, г Казань, ул Чёрное Озеро"}},
			{"inactive street skipped", address.Query{Text: "закр", Level: "street", Parent: kazan}, nil},
			{"non-actual name skipped", address.Query{Text: "прежн", Level: "street", Parent: kazan}, nil},
			{"street of another city", address.Query{Text: "лес", Level: "street", Parent: kazan}, nil},
			{"street under СНТ of a village", address.Query{Text: "лес", Level: "street", Parent: ivanovka}, []string{"Московская обл, Истринский р-н, д Ивановка, снт Ромашка, ул Лесная"}},
			{"all streets of a village", address.Query{Text: "", Level: "street", Parent: ivanovka},
				[]string{"Московская обл, Истринский р-н, д Ивановка, снт Ромашка, ул Лесная", "Московская обл, Истринский р-н, д Ивановка, снт Ромашка", "Московская обл, Истринский р-н, д Ивановка, ул Центральная"}},
			{"house prefix", address.Query{Text: "19", Level: "house", Parent: baumana}, []string{baumanaText + ", д 19", baumanaText + ", д 19 к 1"}},
			{"house корпус", address.Query{Text: "д. 19 корп. 1", Level: "house", Parent: baumana}, []string{baumanaText + ", д 19 к 1"}},
			{"house к1", address.Query{Text: "19к1", Level: "house", Parent: baumana}, []string{baumanaText + ", д 19 к 1"}},
			{"inactive house skipped", address.Query{Text: "7", Level: "house", Parent: baumana}, nil},
			{"house of the other street", address.Query{Text: "10", Level: "house", Parent: baumana}, nil},
			{"house straight under a village", address.Query{Text: "1", Level: "house", Parent: ivanovka}, []string{"Московская обл, Истринский р-н, д Ивановка, д 1"}},
			{"house with строение", address.Query{Text: "3 стр 2", Level: "house", Parent: central}, []string{"Московская обл, Истринский р-н, д Ивановка, ул Центральная, зд 3 стр 2"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got := texts(values(t, d, tc.q))
				if strings.Join(got, "|") != strings.Join(tc.want, "|") {
					t.Errorf("suggest %+v:\n got %q\nwant %q", tc.q, got, tc.want)
				}
			})
		}

		// The parts and identifiers of one suggestion.
		h := values(t, d, address.Query{Text: "19", Level: "house", Parent: baumana, Limit: 1})
		want := address.Suggestion{Value: baumanaText + ", д 19", Name: "д 19", Level: "house", GARLevel: 10, Postcode: "420111",
			Region: "Респ Татарстан", RegionCode: 16, City: "г Казань", Street: "ул Баумана", House: "д 19", GUID: guid(1701)}
		if len(h) != 1 || h[0] != want {
			t.Errorf("house suggestion\n got %+v\nwant %+v", h, want)
		}
		c := values(t, d, address.Query{Text: "Казань", Level: "city"})
		if len(c) != 1 || c[0].KLADR != "1600000100000" || c[0].City != "г Казань" || c[0].GUID != kazan {
			t.Errorf("city suggestion %+v, want КЛАДР 1600000100000 and its guid", c)
		}
		s := values(t, d, address.Query{Text: "Баумана", Level: "street", Parent: kazan})
		if len(s) != 1 || s[0].KLADR != "16000001000005600" || s[0].Street != "ул Баумана" || s[0].City != "г Казань" {
			t.Errorf("street suggestion %+v", s)
		}
		if _, err := address.Suggest(context.Background(), d, address.Query{Text: "1", Level: "house", Parent: guid(9999)}); !errors.Is(err, address.ErrUnknownParent) {
			t.Errorf("unknown parent: %v, want ErrUnknownParent", err)
		}
		if _, err := address.Suggest(context.Background(), d, address.Query{Text: "1", Level: "flat"}); err == nil {
			t.Error("level flat accepted")
		}

		// A rerun finds every file done and changes nothing.
		before := count(t, d, `SELECT COUNT(*) FROM address_keys`)
		st = importDir(t, d, "testdata/gar")
		if st.Skipped != 10 || st.Records != 0 {
			t.Errorf("rerun stats %+v, want all 10 files skipped", st)
		}
		if after := count(t, d, `SELECT COUNT(*) FROM address_keys`); after != before {
			t.Errorf("rerun changed keys: %d → %d", before, after)
		}

		// The delta renames a street, removes a house, adds one.
		importDir(t, d, "testdata/delta")
		if got := texts(values(t, d, address.Query{Text: "маркс", Level: "street", Parent: kazan})); len(got) != 0 {
			t.Errorf("renamed street still found by its old name: %q", got)
		}
		if got := texts(values(t, d, address.Query{Text: "кремлев", Level: "street", Parent: kazan})); strings.Join(got, "|") != "Респ Татарстан, г Казань, ул Кремлёвская" {
			t.Errorf("renamed street: %q", got)
		}
		if got := texts(values(t, d, address.Query{Text: "10", Level: "house", Parent: guid(1604)})); strings.Join(got, "|") != "Респ Татарстан, г Казань, ул Кремлёвская, д 10" {
			t.Errorf("house of the renamed street: %q", got)
		}
		if got := texts(values(t, d, address.Query{Text: "5", Level: "house", Parent: baumana})); len(got) != 0 {
			t.Errorf("deactivated house still found: %q", got)
		}
		if got := texts(values(t, d, address.Query{Text: "2", Level: "house", Parent: baumana})); strings.Join(got, "|") != baumanaText+", д 21" {
			t.Errorf("new house: %q", got)
		}
	})
}

func TestImportRegionFilter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		st := importDir(t, d, "testdata/gar", 16)
		if st.Files != 5 {
			t.Errorf("files %d, want the 5 of region 16", st.Files)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM address_objects WHERE region <> 16`); n != 0 {
			t.Errorf("%d objects of other regions imported", n)
		}
		if got := values(t, d, address.Query{Text: "иван", Level: "city"}); len(got) != 0 {
			t.Errorf("region 50 found: %+v", got)
		}
		_, err := (&address.Importer{DB: d, Regions: []int{99}}).Import(context.Background(), "testdata/gar")
		if err == nil || !strings.Contains(err.Error(), "no ГАР files") {
			t.Errorf("import of an absent region: %v", err)
		}
	})
}

// TestImportResumes stops an import between batches (as a crash would) and
// checks that the rerun continues after the last committed batch and ends
// with exactly what one uninterrupted import writes.
func TestImportResumes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		batches := 0
		im := &address.Importer{DB: d, Batch: 1, Now: today, Progress: func(p address.Progress) {
			if batches++; batches == 12 {
				cancel()
			}
		}}
		if _, err := im.Import(ctx, "testdata/gar"); !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted import: %v, want context.Canceled", err)
		}
		var resumed int64
		im = &address.Importer{DB: d, Batch: 1, Now: today, Progress: func(p address.Progress) { resumed = max(resumed, p.Resumed) }}
		st, err := im.Import(context.Background(), "testdata/gar")
		if err != nil {
			t.Fatal(err)
		}
		if st.Skipped == 0 || resumed == 0 {
			t.Errorf("rerun did not resume (stats %+v, resumed %d)", st, resumed)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM address_objects WHERE active = 1`); n != 18 {
			t.Errorf("active objects after resume = %d, want 18", n)
		}
		if got := texts(values(t, d, address.Query{Text: "19", Level: "house", Parent: guid(1603)})); len(got) != 2 {
			t.Errorf("houses after resume: %q", got)
		}
	})
}

// TestImportMalformed: a broken file stops the import with the file and
// line at fault, and the batch it was in is not written.
func TestImportMalformed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		dir := t.TempDir()
		p := filepath.Join(dir, "16", "AS_ADDR_OBJ_20240105_0a1b2c3d-1111-4222-8333-444455556666.XML")
		os.MkdirAll(filepath.Dir(p), 0o755)
		doc := `<?xml version="1.0" encoding="utf-8"?>
<ADDRESSOBJECTS>
  <OBJECT ID="1" OBJECTID="11" OBJECTGUID="` + guid(11) + `" CHANGEID="1" NAME="Первая" TYPENAME="ул" LEVEL="8" OPERTYPEID="10" UPDATEDATE="2024-01-01" STARTDATE="2024-01-01" ENDDATE="2079-06-06" ISACTUAL="1" ISACTIVE="1"/>
  <OBJECT ID="2" OBJECTID="12" OBJECTGUID="` + guid(12) + `" CHANGEID="1" NAME="Вторая" TYPENAME="ул" LEVEL="x" OPERTYPEID="10" UPDATEDATE="2024-01-01" STARTDATE="2024-01-01" ENDDATE="2079-06-06" ISACTUAL="1" ISACTIVE="1"/>
</ADDRESSOBJECTS>
`
		os.WriteFile(p, []byte(doc), 0o644)
		_, err := (&address.Importer{DB: d}).Import(context.Background(), dir)
		if err == nil || !strings.Contains(err.Error(), "AS_ADDR_OBJ_20240105") || !strings.Contains(err.Error(), "record 2") || !strings.Contains(err.Error(), "LEVEL") {
			t.Errorf("error %v, want the file, record 2 and LEVEL named", err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM address_objects`); n != 0 {
			t.Errorf("%d objects written from a failed batch", n)
		}
		os.WriteFile(p, []byte(doc[:300]), 0o644)
		_, err = (&address.Importer{DB: d}).Import(context.Background(), dir)
		if err == nil || !strings.Contains(err.Error(), "line ") {
			t.Errorf("truncated file: %v, want the line named", err)
		}
	})
}

// TestImportZip reads the dump as the official archive: one zip with a
// folder per region.
func TestImportZip(t *testing.T) {
	d := storetest.OpenAny(t)
	zpath := filepath.Join(t.TempDir(), "gar_xml.zip")
	f, err := os.Create(zpath)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	files, _ := filepath.Glob("testdata/gar/*/*.XML")
	for _, p := range files {
		rel, _ := filepath.Rel("testdata/gar", p)
		w, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		w.Write(b)
	}
	zw.Close()
	f.Close()
	st := importDir(t, d, zpath, 50)
	if st.Files != 5 {
		t.Errorf("stats %+v, want the 5 files of region 50", st)
	}
	if got := texts(values(t, d, address.Query{Text: "лесная", Level: "street", Parent: guid(5003)})); len(got) != 1 {
		t.Errorf("street from the zip: %q", got)
	}
	if _, err := (&address.Importer{DB: d}).Import(context.Background(), "import_test.go"); err == nil || !strings.Contains(err.Error(), "not a folder nor a zip") {
		t.Errorf("a plain file: %v", err)
	}
}
