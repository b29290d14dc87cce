package bitrix24_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// Twelve new orders sent at once under a small bucket (2 a second, a
// burst of 2) to a second Obmen playing the portal: the batches waiting
// for the bucket go packed, in fewer requests than two an order, and
// each order still gets its own deal — its sum, its contact found or made
// by its own phone — the references between commands kept within each
// order's part of the packed batch. On both engines.
func TestPackedBatchesKeepOrdersApart(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			p := newPair(t, e)
			u, _ := url.Parse(p.portal.Srv.URL)
			var requests atomic.Int64
			proxy := httputil.NewSingleHostReverseProxy(u)
			counter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/batch.json") {
					requests.Add(1)
				}
				proxy.ServeHTTP(w, r)
			}))
			t.Cleanup(counter.Close)
			p.shop.Do(t, "PUT", fmt.Sprintf("/api/v1/connections/%d", p.conn.ID), map[string]any{"name": "Портал", "settings": map[string]any{
				"portal_url": counter.URL, "user_id": p.portalAdmin}}, http.StatusOK, nil)
			sys := "bitrix24:" + counter.Listener.Addr().String()
			act := dealAction(t, p.shop, &bitrix24.Limiters{Rate: 2, Burst: 2})

			const n = 12
			s := p.shop.App.Store
			orders := make([]crm.SalesOrder, n)
			phones := make([]string, n)
			for i := range orders {
				phones[i] = fmt.Sprintf("+7 901 %07d", i+1)
				c, err := s.CreateContact(ctx, p.shopActor, crm.Contact{Name: fmt.Sprint("Клиент ", i), Comms: crm.Comms{
					Phones: []crm.Comm{{Value: phones[i], ValueType: "MOBILE"}}}})
				if err != nil {
					t.Fatal(err)
				}
				if orders[i], err = s.CreateSalesOrder(ctx, p.shopActor, crm.SalesOrder{ContactID: c.ID,
					Items: []crm.LineItem{{Name: "Фотокнига", Price: crm.Amount(1000 * (i + 1)), Quantity: 1000}}}); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range orders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = act.Run(ctx, &automation.Call{Connection: p.conn.ID, Actor: p.shopActor}, map[string]any{"sales_order_id": orders[i].ID})
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("order %d: %v", i, err)
				}
			}
			if got := requests.Load(); got >= 2*n {
				t.Fatalf("%d batch requests for %d new orders: nothing packed", got, n)
			}
			seen := map[int64]bool{}
			for i, o := range orders {
				o, err := s.GetSalesOrder(ctx, o.ID)
				if err != nil {
					t.Fatal(err)
				}
				dealID := id(o.ExternalIDs[sys])
				if dealID == 0 || seen[dealID] {
					t.Fatalf("order %d: deal %d (external ids %v)", i, dealID, o.ExternalIDs)
				}
				seen[dealID] = true
				deal, err := p.portal.App.Store.GetDeal(ctx, dealID)
				if err != nil || deal.Opportunity != crm.Amount(1000*(i+1)) || len(deal.ContactIDs) != 1 {
					t.Fatalf("order %d's deal: %+v, %v", i, deal, err)
				}
				pc, err := p.portal.App.Store.GetContact(ctx, deal.ContactIDs[0])
				if err != nil || len(pc.Phones) != 1 || !strings.HasSuffix(digits(pc.Phones[0].Value), digits(phones[i])[1:]) {
					t.Fatalf("order %d's deal's contact: %+v, %v", i, pc.Phones, err)
				}
			}
			t.Logf("%d new orders in %d batch requests", n, requests.Load())
		})
	}
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// A batch whose caller gives up while it waits for the bucket is not
// sent: the portal never sees it.
func TestPackedBatchGivenUpIsNotSent(t *testing.T) {
	var batches atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		batches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"result":{"result":{"a":1},"result_error":[],"result_total":[],"result_next":[]},"time":{}}`)
	}))
	t.Cleanup(srv.Close)
	lim := &bitrix24.Limiters{Rate: 0.5, Burst: 2} // one token: the first batch takes it
	c := &bitrix24.Client{Portal: srv.URL, UserID: 1, Code: "x", HTTP: srv.Client(), Limit: lim.For(srv.URL, false), Pack: lim.PackerFor("k")}
	if _, err := c.Batch(context.Background(), []bitrix24.Cmd{{Key: "a", Method: "profile"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := c.Batch(ctx, []bitrix24.Cmd{{Key: "a", Method: "profile"}})
		done <- err
	}()
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("the given-up batch: %v", err)
	}
	// The next batch waits out the bucket (2 s) and goes alone.
	if _, err := c.Batch(context.Background(), []bitrix24.Cmd{{Key: "a", Method: "profile"}}); err != nil {
		t.Fatal(err)
	}
	if n := batches.Load(); n != 2 {
		t.Fatalf("%d batches sent, want 2: the given-up one went", n)
	}
}
