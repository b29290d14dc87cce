package card

import (
	"strings"
	"testing"

	"github.com/emersion/go-vcard"

	"github.com/obmen/obmen/internal/crm"
)

// TestADRParts: the house and the flat are parts of their own both
// ways — the house at the end of the street component ("ул X, д 10"),
// the flat in the extended one ("оф 3") — and a card read back gives
// the address it was written from.
func TestADRParts(t *testing.T) {
	for _, tc := range []struct {
		adr  string // the ADR value a client sends
		want crm.Address
	}{
		{";оф 3;ул Карла Маркса\\, д 10;г Казань;Респ Татарстан;420015;Россия",
			crm.Address{Street: "ул Карла Маркса", House: "д 10", Flat: "оф 3", City: "г Казань", Region: "Респ Татарстан", Postcode: "420015", Country: "Россия"}},
		{";кв. 12;Невский пр.\\, 1;Санкт-Петербург;;191186;Россия",
			crm.Address{Street: "Невский пр.", House: "1", Flat: "кв. 12", City: "Санкт-Петербург", Postcode: "191186", Country: "Россия"}},
		{";;ул. Ленина\\, д. 5\\, корп. 2\\, кв. 7;Москва;;;",
			crm.Address{Street: "ул. Ленина", House: "д. 5, корп. 2", Flat: "кв. 7", City: "Москва"}},
		{";;1-я Тверская-Ямская ул.\\, 5/2 стр. 1;Москва;;;",
			crm.Address{Street: "1-я Тверская-Ямская ул.", House: "5/2 стр. 1", City: "Москва"}},
		{";;ул. 8 Марта;Екатеринбург;;;", crm.Address{Street: "ул. 8 Марта", City: "Екатеринбург"}},
		{"а/я 15;;;Тула;;300000;", crm.Address{Flat: "а/я 15", City: "Тула", Postcode: "300000"}},
	} {
		card := vcard.Card{}
		card.SetValue(vcard.FieldVersion, "3.0")
		card.Add(vcard.FieldAddress, &vcard.Field{Value: strings.ReplaceAll(tc.adr, "\\,", ",")})
		var c crm.Contact
		Apply(card, &c)
		if c.Address != tc.want {
			t.Errorf("%s:\n got %#v\nwant %#v", tc.adr, c.Address, tc.want)
			continue
		}
		// Written from the CRM alone (no card kept) and sent back as it
		// is: the parts stay as they are.
		out, err := Render(c, "", Stored{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		back := c
		Apply(out, &back)
		if back.Address != tc.want {
			t.Errorf("%s: rendered as %q, read back as %#v", tc.adr, out.Value(vcard.FieldAddress), back.Address)
		}
	}
	// A house typed as a bare number is written as «д 10», a flat in the
	// extended component.
	out, err := Render(crm.Contact{Address: crm.Address{City: "Казань", Street: "ул Баумана", House: "19", Flat: "оф 3"}}, "", Stored{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.Value(vcard.FieldAddress), ";оф 3;ул Баумана, д 19;Казань;;;"; got != want {
		t.Errorf("ADR of a typed address: %q, want %q", got, want)
	}
	// Read back, the unchanged address keeps its parts as the CRM has them.
	cur := crm.Contact{Address: crm.Address{City: "Казань", Street: "ул Баумана", House: "19", Flat: "оф 3", FIASID: "f"}}
	c := cur
	Apply(out, &c)
	if c.Address != cur.Address {
		t.Errorf("unchanged address read back: %#v", c.Address)
	}
}
