package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestAddressDaDataKey: an admin saves a DaData key on the settings page
// (sealed at rest, never shown again); the address blocks' suggestions
// then come from DaData (a fake of its suggest method checking the
// key); a refused key (403) falls back to the imported base and the
// settings page says why in Russian; removing the key goes back to the
// base. (TestCrawlAccess checks that only admins can set it.)
func TestAddressDaDataKey(t *testing.T) {
	d := storetest.OpenAny(t)
	e := newEnv(t, d)
	if _, err := (&address.Importer{DB: d}).Import(context.Background(), "../address/testdata/gar"); err != nil {
		t.Fatal(err)
	}
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Token good-key" {
			http.Error(w, `{"family":"CLIENT_ERROR","reason":"Forbidden"}`, http.StatusForbidden)
			return
		}
		var req struct {
			Query string `json:"query"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"suggestions":[{"value":"г Казань","unrestricted_value":"г Казань","data":{"region_with_type":"Респ Татарстан","city_with_type":"г Казань (DaData: ` + req.Query + `)","fias_id":"93b3df57-4c89-44df-ac42-96f05e9cd3b9","kladr_id":"1600000100000","fias_level":"4"}}]}`))
	}))
	defer fake.Close()
	box, err := secret.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	src := &address.Source{DB: d, Box: box, HTTP: httpx.NewOutboundClient(httpx.OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}), URL: fake.URL}
	e.app.UI.SetAddressSource(src)
	e.app.API.SetAddressSource(src)
	_, apiKey, err := e.app.Store.CreateAPIKey(context.Background(), e.admin, e.admin.UserID, "dadata")
	if err != nil {
		t.Fatal(err)
	}
	// The REST API answers from the same source as the address blocks.
	apiCity := func() string {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/address/suggest?level=city&q="+url.QueryEscape("каз"), nil)
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got struct {
			Items []address.Suggestion `json:"items"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || len(got.Items) == 0 {
			t.Fatalf("API suggest: %d %v %+v", resp.StatusCode, err, got)
		}
		return got.Items[0].City
	}
	b := e.browser()
	b.signIn()
	suggestCity := func() string {
		p := b.get("/address/suggest?level=city&q=" + url.QueryEscape("каз"))
		var got []address.Suggestion
		if err := json.Unmarshal([]byte(p.Body), &got); err != nil || len(got) == 0 {
			t.Fatalf("suggest: %d %s", p.Status, p.Body)
		}
		return got[0].City
	}
	if got := suggestCity(); got != "г Казань" {
		t.Fatalf("without a key: %q", got)
	}
	if p := b.get("/settings"); !strings.Contains(p.Body, `id="dadata-key"`) || !strings.Contains(p.Body, "Ключа DaData нет") {
		t.Fatalf("settings page without a key:\n%s", p.Body)
	}
	if p := b.post("/settings/address", url.Values{"dadata_key": {"bad key"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "без пробелов") {
		t.Fatalf("a key with a space: %d", p.Status)
	}
	if p := b.post("/settings/address", url.Values{"dadata_key": {"good-key"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("save the key: %d %s", p.Status, p.Body)
	}
	stored, err := e.app.Store.GetSetting(context.Background(), "address.dadata_key")
	if err != nil || stored == "" || strings.Contains(stored, "good-key") {
		t.Fatalf("stored key %q %v: want it sealed", stored, err)
	}
	if p := b.get("/settings"); strings.Contains(p.Body, "good-key") || !strings.Contains(p.Body, "Ключ DaData сохранён") {
		t.Fatalf("settings page with a key:\n%s", p.Body)
	}
	if got := suggestCity(); got != "г Казань (DaData: каз)" {
		t.Fatalf("with a key: %q", got)
	}
	if got := apiCity(); got != "г Казань (DaData: каз)" {
		t.Fatalf("API with a key: %q", got)
	}
	// A key DaData refuses: the imported base answers, the page says why.
	if p := b.post("/settings/address", url.Values{"dadata_key": {"blocked-key"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("save another key: %d", p.Status)
	}
	if got := suggestCity(); got != "г Казань" {
		t.Fatalf("with a refused key: %q", got)
	}
	if got := apiCity(); got != "г Казань" {
		t.Fatalf("API with a refused key: %q", got)
	}
	if p := b.get("/settings"); !strings.Contains(p.Body, `id="dadata-failure"`) || !strings.Contains(p.Body, "DaData отказал в доступе (403)") {
		t.Fatalf("settings page after a refusal:\n%s", p.Body)
	}
	if p := b.post("/settings/address", url.Values{"remove": {"1"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("remove the key: %d", p.Status)
	}
	if p := b.get("/settings"); !strings.Contains(p.Body, "Ключа DaData нет") || strings.Contains(p.Body, `id="dadata-failure"`) {
		t.Fatalf("settings page after removal:\n%s", p.Body)
	}
}

// TestAddressTypedIsMatched: an address typed by hand (no script, no
// ids) that names exactly one house of the imported base gets the
// house's ids and postcode, its text as typed; one that names no street
// of the city gets the city's; an unknown city none.
func TestAddressTypedIsMatched(t *testing.T) {
	d := storetest.OpenAny(t)
	e := newEnv(t, d)
	if _, err := (&address.Importer{DB: d}).Import(context.Background(), "../address/testdata/gar"); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn()
	form := url.Values{"title": {"ООО Набрано"}, "legal_address.shown": {"1"}, "legal_address.city": {"Казань"}, "legal_address.street": {"улица Карла Маркса"},
		"legal_address.house": {"10"}, "legal_address.flat": {"5"}, "actual_address.shown": {"1"}, "actual_address.city": {"Казань"},
		"actual_address.street": {"Несуществующая"}}
	if p := b.post("/e/account/new", form); p.Status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", p.Status, p.Body)
	}
	accs, _, err := e.app.Store.ListAccounts(context.Background(), store.ListParams{})
	if err != nil || len(accs) != 1 {
		t.Fatalf("accounts: %v %v", accs, err)
	}
	la, aa := accs[0].LegalAddress, accs[0].ActualAddress
	if la.FIASID != "000006a8-0000-4000-8000-0000000006a8" || la.Postcode != "420015" || la.City != "Казань" || la.Street != "улица Карла Маркса" || la.House != "10" || la.Flat != "5" {
		t.Fatalf("legal address: %+v", la)
	}
	if aa.FIASID != "00000642-0000-4000-8000-000000000642" || aa.KLADR != "1600000100000" || aa.Street != "Несуществующая" {
		t.Fatalf("actual address: %+v", aa)
	}
}
