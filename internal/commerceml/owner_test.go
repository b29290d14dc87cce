package commerceml

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/commerceml/schematest"
)

// siteVersions are the versions a site exchange may write.
var siteVersions = []string{"2.03", "2.04", "2.05", "2.07", "2.08", "2.09", "2.10"}

// writeSiteDocs writes the catalog and the offers a site exchange sends:
// the owner in the classifier, the catalog and the package; a good in
// pieces (code known), one in metres whose code the ОКЕИ table gives, a
// service in a unit without a code, and a variant with two prices.
func writeSiteDocs(t *testing.T, version string, enc Encoding, owner Owner) (imp, off []byte) {
	t.Helper()
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	var ib, ob bytes.Buffer
	cw, err := NewCatalogWriter(&ib, enc, version, at, Catalog{ID: "obmen-catalog", ClassifierID: "obmen-classifier", Name: "Каталог товаров", Owner: owner},
		[]Group{{ID: "g1", Name: "Инструмент"}})
	if err != nil {
		t.Fatal(err)
	}
	pcs, metre, hour := Unit{Code: "796", Short: "шт"}.Resolved(), Unit{Short: "м"}.Resolved(), Unit{Short: "выезд"}.Resolved()
	goods := []Good{
		{ID: "p1", Article: "DR-1", Name: "Дрель", Unit: pcs, GroupIDs: []string{"g1"}, Taxes: []TaxRate{{Name: "НДС", Rate: "20"}},
			Requisites: []Requisite{{Name: "ВидНоменклатуры", Value: "Товар"}, {Name: "ТипНоменклатуры", Value: "Товар"}}},
		{ID: "p2", Name: "Кабель ВВГ 3х2,5", Unit: metre, GroupIDs: []string{"g1"},
			Requisites: []Requisite{{Name: "ВидНоменклатуры", Value: "Товар"}, {Name: "ТипНоменклатуры", Value: "Товар"}}},
		{ID: "s1", Name: "Выезд мастера", Unit: hour, Requisites: []Requisite{{Name: "ВидНоменклатуры", Value: "Услуга"}, {Name: "ТипНоменклатуры", Value: "Услуга"}}},
	}
	for i := range goods {
		if err := cw.Good(&goods[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	ow, err := NewOffersWriter(&ob, enc, version, at, Offers{ID: "obmen-catalog#offers", CatalogID: "obmen-catalog", ClassifierID: "obmen-classifier", Name: "Пакет предложений", Owner: owner},
		[]PriceType{{ID: "r", Name: "Розничная", Currency: "RUB"}, {ID: "w", Name: "Оптовая", Currency: "RUB"}})
	if err != nil {
		t.Fatal(err)
	}
	q1, q2, q3 := "3", "120.5", "0"
	offers := []Offer{
		{ID: "p1#42", Article: "DR-1-42", Name: "Дрель (42)", Unit: pcs, Characteristics: []Requisite{{Name: "Размер", Value: "42"}},
			Prices: []Price{{TypeID: "r", PerUnit: "5990.00", Currency: "RUB"}, {TypeID: "w", PerUnit: "4990.00", Currency: "RUB"}}, Quantity: &q1,
			Stores: []StoreStock{{ID: "wh1", Quantity: "3"}}},
		{ID: "p2", Name: "Кабель ВВГ 3х2,5", Unit: metre, Prices: []Price{{TypeID: "r", PerUnit: "87.20", Currency: "RUB"}}, Quantity: &q2},
		{ID: "s1", Name: "Выезд мастера", Unit: hour, Prices: []Price{{TypeID: "r", PerUnit: "1500.00", Currency: "RUB"}}, Quantity: &q3},
	}
	for i := range offers {
		if err := ow.Offer(&offers[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := ow.Close(); err != nil {
		t.Fatal(err)
	}
	return ib.Bytes(), ob.Bytes()
}

var testOwner = Owner{ID: "obmen-account-1", Name: "Ромашка", OfficialName: `ООО "Ромашка" & Ко`, Address: "Москва, ул. Льва Толстого, 16",
	INN: "7736207543", KPP: "773601001", OKPO: "12345678"}

// The catalog and the offers a site exchange writes, for each version it
// may be set to: golden files, and valid against 1C's official schema
// (the 2.10 file for 2.10, the 2.08 one for 2.08 and before — with the
// price's unit a name before 2.08, see schematest.Official), with the
// company as <Владелец> of the classifier, the catalog and the package
// in the schema's place and order; a price's <Единица> is the unit's ОКЕИ
// code from 2.08 on (none for a unit without one) and its short name
// before; windows-1251 documents as valid as UTF-8 ones.
func TestSiteDocumentsPerVersion(t *testing.T) {
	t.Parallel()
	for _, v := range siteVersions {
		imp, off := writeSiteDocs(t, v, DefaultEncoding(v), testOwner)
		name := strings.ReplaceAll(v, ".", "")
		for _, d := range []struct {
			file string
			doc  []byte
		}{{"testdata/written/import_" + name + ".golden", imp}, {"testdata/written/offers_" + name + ".golden", off}} {
			if *update {
				_ = os.MkdirAll("testdata/written", 0o755)
				_ = os.WriteFile(d.file, d.doc, 0o644)
			}
			if want, _ := os.ReadFile(d.file); !bytes.Equal(d.doc, want) {
				t.Errorf("%s differs from what is written now (go test -update):\n%s", d.file, d.doc)
			}
			schematest.Validate(t, d.doc)
		}
		text := string(decodeAll(t, off))
		units := []string{"<Единица>шт</Единица>", "<Единица>м</Единица>"}
		if v >= "2.08" {
			units = []string{"<Единица>796</Единица>", "<Единица>006</Единица>"}
		}
		for _, u := range units {
			if !strings.Contains(text, u) {
				t.Errorf("%s: offers have no %s", v, u)
			}
		}
		if strings.Count(text, "<Владелец>") != 1 || strings.Count(string(decodeAll(t, imp)), "<Владелец>") != 2 {
			t.Errorf("%s: <Владелец> is not in the classifier, the catalog and the package once each", v)
		}
		// What the site modules read of it back: the reader skips it.
		if got := readAll(t, bytes.NewReader(off)); !strings.Contains(got, "Offer{p1#42 variant=true") {
			t.Errorf("%s: offers read back: %s", v, got)
		}
	}
}

// decodeAll is a document's text in UTF-8.
func decodeAll(t *testing.T, doc []byte) []byte {
	t.Helper()
	if !bytes.Contains(doc[:min(len(doc), 100)], []byte("windows-1251")) {
		return doc
	}
	rd, err := charsetReader("windows-1251", bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(rd); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// An ИП is written with the schema's РеквизитыФизЛица, a company with no
// requisites but its name still valid; UTF-8 and windows-1251 alike.
func TestOwnerShapes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		owner Owner
		want  []string
	}{
		{"ИП", Owner{ID: "o", Name: "ИП Петров", OfficialName: "ИП Петров Пётр Петрович", Person: true, LastName: "Петров", FirstName: "Пётр", MiddleName: "Петрович", INN: "500100732259", Address: "Тверь"},
			[]string{"<ПолноеНаименование>ИП Петров Пётр Петрович</ПолноеНаименование>", "<Фамилия>Петров</Фамилия>", "<ИНН>500100732259</ИНН>", "<АдресРегистрации>"}},
		{"name only", Owner{ID: "o", Name: "shop.example.ru"}, []string{"<ОфициальноеНаименование>shop.example.ru</ОфициальноеНаименование>"}},
	} {
		for _, v := range []string{"2.05", "2.10"} {
			for _, enc := range []Encoding{UTF8, Windows1251} {
				imp, off := writeSiteDocs(t, v, enc, c.owner)
				for _, doc := range [][]byte{imp, off} {
					schematest.Validate(t, doc)
					text := string(decodeAll(t, doc))
					for _, w := range c.want {
						if !strings.Contains(text, w) {
							t.Errorf("%s %s %s: no %s in\n%s", c.name, v, enc, w, text)
						}
					}
				}
			}
		}
	}
}

// PriceUnit: the ОКЕИ code from 2.08, the short name before.
func TestPriceUnit(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		version string
		unit    Unit
		want    string
	}{
		{"2.10", Unit{Short: "шт"}, "796"},
		{"2.10", Unit{Short: "шт", Code: "796"}, "796"},
		{"2.08", Unit{Short: "кг"}, "166"},
		{"2.09", Unit{Short: "коробка", Code: "8751"}, "8751"},
		{"2.10", Unit{Short: "выезд"}, ""},
		{"2.10", Unit{Short: "шт", Code: "PCE"}, ""},
		{"2.07", Unit{Short: "шт", Code: "796"}, "шт"},
		{"2.05", Unit{Code: "166"}, "кг"},
		{"2.04", Unit{Short: "выезд"}, "выезд"},
		{"2.03", Unit{}, ""},
	} {
		if got := PriceUnit(c.version, c.unit); got != c.want {
			t.Errorf("PriceUnit(%s, %+v) = %q, want %q", c.version, c.unit, got, c.want)
		}
	}
}
