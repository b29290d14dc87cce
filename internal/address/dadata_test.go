package address_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store/storetest"
)

// fakeDaData is DaData's suggest method as documented: POST JSON with
// "Authorization: Token <key>", {"suggestions": [...]} back; 401 without
// a known key, 403 for a key that is not allowed, 429 over the rate.
type fakeDaData struct {
	srv  *httptest.Server
	reqs []map[string]any
}

func newFakeDaData(t *testing.T) *fakeDaData {
	f := &fakeDaData{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/suggestions/api/4_1/rs/suggest/address" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, `{"family":"CLIENT_ERROR","reason":"Bad Request"}`, http.StatusBadRequest)
			return
		}
		switch r.Header.Get("Authorization") {
		case "Token good":
		case "Token blocked":
			http.Error(w, `{"family":"CLIENT_ERROR","reason":"Forbidden","message":"Daily limit exceeded"}`, http.StatusForbidden)
			return
		case "Token busy":
			http.Error(w, `{"family":"CLIENT_ERROR","reason":"Too Many Requests"}`, http.StatusTooManyRequests)
			return
		default:
			http.Error(w, `{"family":"CLIENT_ERROR","reason":"Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		var req map[string]any
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.reqs = append(f.reqs, req)
		w.Header().Set("Content-Type", "application/json")
		bound := req["from_bound"].(map[string]any)["value"]
		switch bound {
		case "city":
			_, _ = w.Write([]byte(`{"suggestions":[{"value":"г Казань","unrestricted_value":"420000, Респ Татарстан, г Казань","data":{"postal_code":"420000","country":"Россия","region_with_type":"Респ Татарстан","region_kladr_id":"1600000000000","city_with_type":"г Казань","settlement_with_type":null,"street_with_type":null,"house":null,"fias_id":"93b3df57-4c89-44df-ac42-96f05e9cd3b9","fias_level":"4","kladr_id":"1600000100000"}}]}`))
		case "house":
			_, _ = w.Write([]byte(`{"suggestions":[{"value":"д 10 к 2","unrestricted_value":"420015, Респ Татарстан, г Казань, ул Карла Маркса, д 10 к 2","data":{"postal_code":"420015","region_with_type":"Респ Татарстан","region_kladr_id":"1600000000000","city_with_type":"г Казань","street_with_type":"ул Карла Маркса","house_type":"д","house":"10","block_type":"к","block":"2","fias_id":"a1b2c3d4-0000-4000-8000-000000000001","fias_level":"8","kladr_id":"1600000100005600021"}}]}`))
		default:
			_, _ = w.Write([]byte(`{"suggestions":[]}`))
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeDaData) client(key string) address.DaData {
	lo := netip.MustParsePrefix("127.0.0.0/8")
	return address.DaData{Key: key, URL: f.srv.URL + "/suggestions/api/4_1/rs/suggest/address",
		HTTP: httpx.NewOutboundClient(httpx.OutboundPolicy{AllowCIDRs: []netip.Prefix{lo}})}
}

// TestDaDataSuggest: the request has the documented shape (bounds per
// level, locations from the parent), the answer becomes suggestions with
// the parts, ФИАС id and КЛАДР code; refusals are DaDataErrors by status.
func TestDaDataSuggest(t *testing.T) {
	f := newFakeDaData(t)
	ctx := context.Background()
	got, err := f.client("good").Suggest(ctx, address.Query{Text: "каз", Level: address.LevelCity})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].City != "г Казань" || got[0].Region != "Респ Татарстан" || got[0].GUID != "93b3df57-4c89-44df-ac42-96f05e9cd3b9" ||
		got[0].KLADR != "1600000100000" || got[0].Postcode != "420000" || got[0].RegionCode != 16 || got[0].Value != "Респ Татарстан, г Казань" || got[0].Name != "г Казань" {
		t.Fatalf("city: %+v", got)
	}
	got, err = f.client("good").Suggest(ctx, address.Query{Text: "10", Level: address.LevelHouse, Parent: "street-guid"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].House != "д 10 к 2" || got[0].Street != "ул Карла Маркса" || got[0].KLADR != "1600000100005600021" {
		t.Fatalf("house: %+v", got)
	}
	req, _ := json.Marshal(f.reqs[1])
	if want := `{"count":10,"from_bound":{"value":"house"},"locations":[{"street_fias_id":"street-guid"},{"settlement_fias_id":"street-guid"}],"query":"10","restrict_value":true,"to_bound":{"value":"house"}}`; string(req) != want {
		t.Fatalf("house request:\n got %s\nwant %s", req, want)
	}
	for _, c := range []struct {
		key    string
		status int
	}{{"wrong", 401}, {"blocked", 403}, {"busy", 429}} {
		_, err := f.client(c.key).Suggest(ctx, address.Query{Text: "каз", Level: address.LevelCity})
		var de *address.DaDataError
		if !errors.As(err, &de) || de.Status != c.status {
			t.Errorf("key %s: %v, want HTTP %d", c.key, err, c.status)
		}
	}
}

// TestDaDataFallsBack: with DaData refusing, suggestions come from the
// imported base and the failure is reported.
func TestDaDataFallsBack(t *testing.T) {
	f := newFakeDaData(t)
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		importDir(t, d, "testdata/gar")
		var failed []error
		fb := address.Fallback{Primary: f.client("blocked"), Secondary: address.Local{DB: d}, Failed: func(err error) { failed = append(failed, err) }}
		got, err := fb.Suggest(context.Background(), address.Query{Text: "каз", Level: address.LevelCity})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || !strings.HasPrefix(got[0].Value, "Респ Татарстан, г Казань") || got[0].GUID != guid(1602) {
			t.Fatalf("fallback: %+v", got)
		}
		var de *address.DaDataError
		if len(failed) != 1 || !errors.As(failed[0], &de) || de.Status != 403 {
			t.Fatalf("failures reported: %v", failed)
		}
	})
}
