package api_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/obmen/obmen/internal/address"
)

// TestAddressSuggest asks the suggest endpoint for a city, a street within
// it and a house, as a manager, over HTTP, after importing the ГАР fixture.
func TestAddressSuggest(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		if _, err := (&address.Importer{DB: e.app.Store.DB()}).Import(context.Background(), "../address/testdata/gar"); err != nil {
			t.Fatal(err)
		}
		_, managerKey := e.newUser("anna", "manager")
		get := func(query string) []address.Suggestion {
			t.Helper()
			r := must(t, e.doKey(managerKey, "GET", "/api/v1/address/suggest?"+query, nil), 200)
			return decode[struct {
				Items []address.Suggestion `json:"items"`
			}](t, r).Items
		}
		cities := get("q=" + url.QueryEscape("г. каз") + "&level=city")
		if len(cities) != 1 || cities[0].Value != "Респ Татарстан, г Казань" || cities[0].KLADR != "1600000100000" {
			t.Fatalf("cities %+v", cities)
		}
		streets := get("q=" + url.QueryEscape("ул бау") + "&level=street&parent=" + cities[0].GUID)
		if len(streets) != 1 || streets[0].Street != "ул Баумана" {
			t.Fatalf("streets %+v", streets)
		}
		houses := get("q=19&level=house&limit=1&parent=" + streets[0].GUID)
		want := address.Suggestion{Value: "Респ Татарстан, г Казань, ул Баумана, д 19", Name: "д 19", Level: "house", GARLevel: 10,
			Postcode: "420111", Region: "Респ Татарстан", RegionCode: 16, City: "г Казань", Street: "ул Баумана", House: "д 19",
			GUID: fmt.Sprintf("%08x-0000-4000-8000-%012x", 1701, 1701)}
		if len(houses) != 1 || houses[0] != want {
			t.Fatalf("houses %+v\nwant %+v", houses, want)
		}
		if got := get("q=" + url.QueryEscape("нет такого") + "&level=city"); len(got) != 0 {
			t.Errorf("nothing matches, got %+v", got)
		}

		checkErr(t, e.doKey(managerKey, "GET", "/api/v1/address/suggest?q=1&level=flat", nil), 400, "bad_request", "level", "city, street or house")
		checkErr(t, e.doKey(managerKey, "GET", "/api/v1/address/suggest?q=1&level=house", nil), 400, "bad_request", "parent", "fias_id of the chosen street")
		checkErr(t, e.doKey(managerKey, "GET", "/api/v1/address/suggest?q=1&level=house&parent=00000000-0000-0000-0000-000000000000", nil), 400, "bad_request", "parent", "not an imported")
		checkErr(t, e.doKey(managerKey, "GET", "/api/v1/address/suggest?q=1&level=city&limit=500", nil), 400, "bad_request", "limit", "1–50")
		if r := e.doKey("", "GET", "/api/v1/address/suggest?q=kaz", nil); r.Status != 401 {
			t.Errorf("without a key: %d, want 401", r.Status)
		}
	})
}
