package address_test

import (
	"context"
	"testing"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestMatch: addresses from imports are matched part by part, exactly
// and uniquely; the deepest unique part gives the ids.
func TestMatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		importDir(t, d, "testdata/gar")
		for _, c := range []struct {
			name  string
			in    address.Parts
			level address.Level
			guid  string
		}{
			{"house", address.Parts{City: "г. Казань", Street: "улица Карла Маркса", House: "д. 10"}, address.LevelHouse, guid(1704)},
			{"house without types, ё", address.Parts{Region: "Республика Татарстан", City: "Казань", Street: "Карла Маркса", House: "10"}, address.LevelHouse, guid(1704)},
			{"unknown house: the street", address.Parts{City: "Казань", Street: "ул Карла Маркса", House: "999"}, address.LevelStreet, guid(1604)},
			{"a prefix is no match", address.Parts{City: "Каза", Street: "Карла Маркса"}, "", ""},
			{"the city only", address.Parts{City: "Казань"}, address.LevelCity, guid(1602)},
			{"another region", address.Parts{Region: "Московская обл", City: "Казань"}, "", ""},
			{"nothing", address.Parts{}, "", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				m, err := address.Match(context.Background(), d, c.in)
				if err != nil {
					t.Fatal(err)
				}
				if m.Level != c.level || m.GUID != c.guid {
					t.Fatalf("got %s %s (%s), want %s %s", m.Level, m.GUID, m.Value, c.level, c.guid)
				}
			})
		}
	})
}
