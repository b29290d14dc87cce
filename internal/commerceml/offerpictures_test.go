package commerceml

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/commerceml/schematest"
)

// offerOrder is the order of a <Предложение>'s elements in 1C's official
// schema (commerceml.xsd of 2.05 and of 2.10, the same here): the offer
// extends Товар — Ид, Штрихкод, Артикул, Наименование, БазоваяЕдиница,
// ИдТовараУКонтрагента, Группы, Описание, Картинка, (Изготовитель),
// ЗначенияСвойств, СтавкиНалогов, Акцизы, Комплектующие, Аналоги,
// ХарактеристикиТовара, ЗначенияРеквизитов — with Цены, Количество and
// Склад after them. So a variant's pictures go after its unit and before
// its characteristics, as 1C (УТ 11) writes a characteristic's pictures.
var offerOrder = []string{"Ид", "Штрихкод", "Артикул", "Наименование", "БазоваяЕдиница", "ИдТовараУКонтрагента", "Группы", "Описание",
	"Картинка", "Изготовитель", "ЗначенияСвойств", "СтавкиНалогов", "Акцизы", "Комплектующие", "Аналоги", "ХарактеристикиТовара",
	"ЗначенияРеквизитов", "Цены", "Количество", "Склад"}

// The offers document with a variant's pictures: golden (2.10 and 2.05),
// each <Предложение>'s elements in the official order, valid against the
// schema (1C's own file too when OBMEN_CML_XSD_DIR holds it), and read
// back with the pictures on their offers.
func TestOffersVariantPictures(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	for _, version := range []string{"2.10", "2.05"} {
		var buf bytes.Buffer
		ow, err := NewOffersWriter(&buf, UTF8, version, at, Offers{ID: "cat#offers", CatalogID: "cat", ClassifierID: "cls", Name: "Пакет предложений",
			Owner: Owner{ID: "org", Name: "ООО Ромашка", OfficialName: "ООО «Ромашка»"}},
			[]PriceType{{ID: "r", Name: "Розничная", Currency: "RUB"}})
		if err != nil {
			t.Fatal(err)
		}
		qty, q2 := "5", "2"
		offers := []Offer{
			{ID: "p1", Article: "TS-1", Name: "Футболка", Unit: Unit{Code: "796", Short: "шт"},
				Prices: []Price{{TypeID: "r", PerUnit: "990.00", Currency: "RUB"}}, Quantity: &qty},
			{ID: "p1#c1", Article: "TS-1-XL", Name: "Футболка (XL, красная)", Unit: Unit{Code: "796", Short: "шт"},
				Pictures:        []string{"import_files/c1/c1_front.jpg", "import_files/c1/c1_back.jpg"},
				Characteristics: []Requisite{{Name: "Размер", Value: "XL"}, {Name: "Цвет", Value: "Красный"}},
				Prices:          []Price{{TypeID: "r", PerUnit: "1090.00", Currency: "RUB"}}, Quantity: &q2,
				Stores: []StoreStock{{ID: "wh1", Quantity: "2"}}},
		}
		for i := range offers {
			if err := ow.Offer(&offers[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := ow.Close(); err != nil {
			t.Fatal(err)
		}
		golden := "testdata/offers_variant_pictures_" + version[:1] + version[2:] + ".golden"
		if *update {
			_ = os.WriteFile(golden, buf.Bytes(), 0o644)
		}
		if want, _ := os.ReadFile(golden); buf.String() != string(want) {
			t.Errorf("%s: got\n%s", version, buf.String())
		}
		schematest.Validate(t, buf.Bytes())
		for i, names := range offerChildren(t, buf.Bytes()) {
			last := -1
			for _, n := range names {
				at := slices.Index(offerOrder, n)
				if at < 0 || at < last {
					t.Errorf("%s: offer %d: <%s> out of the schema's order in %v", version, i, n, names)
				}
				last = at
			}
		}
		rd := NewReader(bytes.NewReader(buf.Bytes()), "offers.xml")
		var got [][]string
		for {
			v, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if o, ok := v.(*Offer); ok {
				got = append(got, o.Pictures)
			}
		}
		if len(got) != 2 || len(got[0]) != 0 || !slices.Equal(got[1], offers[1].Pictures) {
			t.Errorf("%s: pictures read back: %q", version, got)
		}
	}
}

// offerChildren lists the element names directly under each <Предложение>.
func offerChildren(t *testing.T, doc []byte) [][]string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var out [][]string
	depth, in := 0, -1
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			depth++
			if x.Name.Local == "Предложение" && in < 0 {
				in = depth
				out = append(out, nil)
			} else if in >= 0 && depth == in+1 {
				out[len(out)-1] = append(out[len(out)-1], x.Name.Local)
			}
		case xml.EndElement:
			if depth == in {
				in = -1
			}
			depth--
		}
	}
}
