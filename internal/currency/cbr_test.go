package currency_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/currency"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestParseCBR(t *testing.T) {
	f, err := os.Open("testdata/XML_daily.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := currency.ParseCBR(f)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"USD": "92.5058", "EUR": "100.1234", "CNY": "12.715", "KZT": "0.1812"}
	if r.Date != "05.12.2026" || len(r.Rates) != len(want) {
		t.Fatalf("parsed %s %v", r.Date, r.Rates)
	}
	for code, w := range want {
		if got := currency.RateText(r.Rates[code]); got != w {
			t.Errorf("%s: %s, want %s", code, got, w)
		}
	}
	for _, c := range []struct{ doc, err string }{
		{`<ValCurs Date="05.12.2026"></ValCurs>`, "no Valute"},
		{`<ValCurs><Valute><CharCode>USD</CharCode><Nominal>0</Nominal><Value>1,0</Value></Valute></ValCurs>`, "USD: Nominal"},
		{`<ValCurs><Valute><CharCode>USD</CharCode><Nominal>1</Nominal><Value>много</Value></Valute></ValCurs>`, "USD: Value"},
		{`<ValCurs><Valute><CharCode>US</CharCode></Valute></ValCurs>`, "Valute 1: CharCode"},
		{`<?xml version="1.0" encoding="koi8-r"?><ValCurs/>`, "koi8-r"},
		{`<ValCurs><Valute>`, "EOF"},
	} {
		if _, err := currency.ParseCBR(strings.NewReader(c.doc)); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %v, want an error naming %q", c.doc, err, c.err)
		}
	}
}

func FuzzParseCBR(f *testing.F) {
	b, _ := os.ReadFile("testdata/XML_daily.xml")
	f.Add(b)
	f.Add([]byte(`<ValCurs><Valute><CharCode>USD</CharCode><Nominal>1</Nominal><Value>1,5</Value></Valute></ValCurs>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		r, err := currency.ParseCBR(strings.NewReader(string(doc)))
		if err == nil {
			for code, v := range r.Rates {
				if len(code) != 3 || v.Sign() <= 0 {
					t.Fatalf("accepted %s = %v", code, v)
				}
			}
		}
	})
}

// fakeCBR serves the bank's document as the bank does (windows-1251), or
// a failure.
func fakeCBR(t *testing.T, status *atomic.Int32) *httptest.Server {
	t.Helper()
	doc, err := os.ReadFile("testdata/XML_daily.xml")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/scripts/XML_daily.asp" {
			http.NotFound(w, r)
			return
		}
		if s := status.Load(); s != 0 {
			w.WriteHeader(int(s))
			return
		}
		w.Header().Set("Content-Type", "application/xml; charset=windows-1251")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestUpdateFromCBR(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		var status atomic.Int32
		srv := fakeCBR(t, &status)
		for _, c := range []crm.Currency{{Code: "USD", Name: "Доллар", Active: true, Rate: "90"}, {Code: "EUR", Name: "Евро", Active: true, Rate: "95"},
			{Code: "XAU", Name: "Золото", Active: true, Rate: "7000"}} {
			if _, err := s.UpsertCurrency(ctx, admin, c); err != nil {
				t.Fatal(err)
			}
		}
		// The SSRF guard refuses loopback unless allowed; the fake is on it.
		guarded := httpx.NewOutboundClient(httpx.OutboundPolicy{})
		svc := currency.New(s, guarded, srv.URL+"/scripts/XML_daily.asp", slog.New(slog.NewTextHandler(io.Discard, nil)))
		if _, err := svc.Update(ctx); err == nil {
			t.Fatal("the guarded client reached a loopback address")
		}
		client := httpx.NewOutboundClient(httpx.OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
		svc = currency.New(s, client, srv.URL+"/scripts/XML_daily.asp", slog.New(slog.NewTextHandler(io.Discard, nil)))
		done, err := svc.Update(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		cs, _ := s.ListCurrencies(ctx)
		for _, c := range cs {
			got[c.Code] = c.Rate
		}
		if len(done) != 2 || got["USD"] != "92.5058" || got["EUR"] != "100.1234" || got["XAU"] != "7000" || got["RUB"] != "1" {
			t.Fatalf("after the update %v: %v", done, got)
		}
		// The bank failing changes nothing and says so.
		status.Store(http.StatusServiceUnavailable)
		if _, err := svc.Update(ctx); err == nil || !strings.Contains(err.Error(), "503") {
			t.Fatalf("a 503: %v", err)
		}
		if c, _ := s.GetCurrency(ctx, "USD"); c.Rate != "92.5058" {
			t.Fatalf("USD after a failure: %s", c.Rate)
		}
	})
}
