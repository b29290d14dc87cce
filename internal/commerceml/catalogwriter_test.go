package commerceml

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// What the catalog and offers writers write, the reader reads back the
// same: nested groups, a good with unit, groups, VAT and requisites
// (escaped text), a service, a variant's offer with characteristics, two
// prices and stock per warehouse; in UTF-8 and in windows-1251.
func TestCatalogWritersRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for _, enc := range []Encoding{UTF8, Windows1251} {
		t.Run(string(enc), func(t *testing.T) {
			var imp, off bytes.Buffer
			groups := []Group{{ID: "g1", Name: "Обувь"}, {ID: "g2", Name: "Беговая & трейл", ParentID: "g1"}}
			cw, err := NewCatalogWriter(&imp, enc, "2.05", at, Catalog{ID: "cat", ClassifierID: "cls", Name: "Каталог"}, groups)
			if err != nil {
				t.Fatal(err)
			}
			goods := []Good{
				{ID: "p1", Article: "A-1", Name: "Кроссовки <бег>", Unit: Unit{Code: "796", Short: "шт"}, Description: "Лёгкие", Pictures: []string{"import_files/ab/ab12cd.jpg", "import_files/ef/ef34.png"}, GroupIDs: []string{"g2"},
					Taxes: []TaxRate{{Name: "НДС", Rate: "20"}}, Requisites: []Requisite{{Name: "ВидНоменклатуры", Value: "Товар"}}},
				{ID: "s1", Name: "Доставка", Unit: Unit{Short: "усл"}, Requisites: []Requisite{{Name: "ВидНоменклатуры", Value: "Услуга"}}},
			}
			for i := range goods {
				if err := cw.Good(&goods[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := cw.Close(); err != nil {
				t.Fatal(err)
			}
			qty := "3"
			ow, err := NewOffersWriter(&off, enc, "2.05", at, Offers{ID: "o", CatalogID: "cat", ClassifierID: "cls", Name: "Предложения"},
				[]PriceType{{ID: "r", Name: "Розничная", Currency: "RUB"}, {ID: "w", Name: "Оптовая", Currency: "RUB"}})
			if err != nil {
				t.Fatal(err)
			}
			o := Offer{ID: "p1#42", Name: "Кроссовки (42)", Characteristics: []Requisite{{Name: "Размер", Value: "42"}},
				Prices:   []Price{{TypeID: "r", PerUnit: "5990.00", Currency: "RUB", Unit: "шт"}, {TypeID: "w", PerUnit: "4990.00", Currency: "RUB", Unit: "шт"}},
				Quantity: &qty, Stores: []StoreStock{{ID: "wh1", Quantity: "1"}, {ID: "wh2", Quantity: "2"}}}
			if err := ow.Offer(&o); err != nil {
				t.Fatal(err)
			}
			if err := ow.Close(); err != nil {
				t.Fatal(err)
			}
			got := readAll(t, &imp) + "\n" + readAll(t, &off)
			for _, want := range []string{"Group{g1 Обувь }", "Group{g2 Беговая & трейл g1}", "Catalog{cat cls Каталог false}",
				"Good{p1 A-1 Кроссовки <бег> 796/шт Лёгкие [g2] НДС=20 service=false}", "Good{s1  Доставка /усл  [] НДС= service=true}",
				"PriceType{r Розничная RUB}", "PriceType{w Оптовая RUB}", "Offer{p1#42 variant=true [Размер=42] r=5990.00 w=4990.00 qty=3 wh1=1 wh2=2}"} {
				if !strings.Contains(got, want) {
					t.Errorf("missing %s in:\n%s", want, got)
				}
			}
		})
	}
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	rd := NewReader(r, "test.xml")
	var out []string
	for {
		v, err := rd.Next()
		if err == io.EOF {
			return strings.Join(out, "\n")
		}
		if err != nil {
			t.Fatal(err)
		}
		switch x := v.(type) {
		case *Group:
			out = append(out, fmt.Sprintf("Group{%s %s %s}", x.ID, x.Name, x.ParentID))
		case *Catalog:
			out = append(out, fmt.Sprintf("Catalog{%s %s %s %v}", x.ID, x.ClassifierID, x.Name, x.OnlyChanges))
		case *Good:
			out = append(out, fmt.Sprintf("Good{%s %s %s %s/%s %s %v НДС=%s service=%v}", x.ID, x.Article, x.Name, x.Unit.Code, x.Unit.Short, x.Description, x.GroupIDs, x.VAT(), x.IsService()))
		case *PriceType:
			out = append(out, fmt.Sprintf("PriceType{%s %s %s}", x.ID, x.Name, x.Currency))
		case *Offer:
			s := fmt.Sprintf("Offer{%s variant=%v %v", x.ID, x.IsVariant(), x.Characteristics)
			s = strings.Replace(s, "[{Размер 42}]", "[Размер=42]", 1)
			for _, p := range x.Prices {
				s += " " + p.TypeID + "=" + p.PerUnit
			}
			if x.Quantity != nil {
				s += " qty=" + *x.Quantity
			}
			for _, st := range x.Stores {
				s += " " + st.ID + "=" + st.Quantity
			}
			out = append(out, s+"}")
		default:
			out = append(out, fmt.Sprintf("%T", v))
		}
	}
}
