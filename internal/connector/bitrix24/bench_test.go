package bitrix24_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/app/apptest"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/connector/bitrix24/bitrix24test"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// dealAction is deal.upsert of a Deps of the benchmark's own (its own
// buckets) over the shop's store and connections.
func dealAction(b testing.TB, shop *apptest.Server, lim *bitrix24.Limiters) automation.Action {
	box := testBox(b)
	d := bitrix24.Deps{HTTP: http.DefaultClient, Conns: shop.App.Connections, Store: shop.App.Store, DB: shop.App.DB, Box: box, Limiters: lim}
	for _, a := range bitrix24.Actions(d) {
		if a.Describe().Name == bitrix24.ActionDealUpsert {
			return a
		}
	}
	b.Fatal("no deal.upsert")
	return nil
}

func newOrder(b testing.TB, shop *apptest.Server, actor crm.Actor, i int) int64 {
	ctx := context.Background()
	c, err := shop.App.Store.CreateContact(ctx, actor, crm.Contact{Name: fmt.Sprint("Клиент ", i), Comms: crm.Comms{
		Phones: []crm.Comm{{Value: fmt.Sprintf("+7 900 %07d", i), ValueType: "WORK"}}}})
	if err != nil {
		b.Fatal(err)
	}
	o, err := shop.App.Store.CreateSalesOrder(ctx, actor, crm.SalesOrder{ContactID: c.ID, Items: []crm.LineItem{
		{Name: "Фотокнига", Price: 150000, Quantity: 1000}, {Name: "Доставка", Price: 30000, Quantity: 1000}}})
	if err != nil {
		b.Fatal(err)
	}
	return o.ID
}

// The latency of an order change to the deal's update when the bucket is
// free, against a second Obmen playing the portal (one batch a repeat),
// and of a new order (a lookup batch and a write batch).
//
// The "-alone" runs send without the per-portal packer: what packing
// costs a lone batch when nothing waits.
func BenchmarkDealUpsertSecondObmen(b *testing.B) {
	for _, name := range []string{"update", "new", "update-alone", "new-alone"} {
		mode, alone := strings.CutSuffix(name, "-alone")
		b.Run(name, func(b *testing.B) {
			p := newPairB(b)
			act := dealAction(b, p.shop, &bitrix24.Limiters{Rate: 1e6, Burst: 1e6, NoPack: alone})
			ctx := context.Background()
			first := newOrder(b, p.shop, p.shopActor, 0)
			call := &automation.Call{Connection: p.conn.ID, Actor: p.shopActor}
			if _, err := act.Run(ctx, call, map[string]any{"sales_order_id": first}); err != nil {
				b.Fatal(err)
			}
			orders := make([]int64, b.N)
			for i := range orders {
				if mode == "new" {
					orders[i] = newOrder(b, p.shop, p.shopActor, i+1)
				} else {
					orders[i] = first
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if mode == "update" {
					if _, err := p.shop.App.Store.UpdateSalesOrder(ctx, p.shopActor, first, func(x *crm.SalesOrder) error {
						x.Items[0].Quantity = crm.Quantity(1000 * (i%5 + 1))
						return nil
					}); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := act.Run(ctx, call, map[string]any{"sales_order_id": orders[i]}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func newPairB(b *testing.B) *pair {
	ctx := context.Background()
	p := &pair{shop: apptest.Start(b, storetest.OpenSQLite(b)), portal: apptest.Start(b, storetest.OpenSQLite(b))}
	u, err := p.portal.App.Store.UserByLogin(ctx, "admin")
	if err != nil {
		b.Fatal(err)
	}
	p.portalAdmin = u.ID
	if _, p.code, err = p.portal.App.Bitrix.CreateWebhook(ctx, u.ID, "bench", []string{"crm", "user"}); err != nil {
		b.Fatal(err)
	}
	su, _ := p.shop.App.Store.UserByLogin(ctx, "admin")
	p.shopActor = crm.Actor{UserID: su.ID}
	p.conn, err = p.shop.App.Connections.Create(ctx, su.ID, connection.Input{Type: bitrix24.Type, Name: "Портал", Settings: map[string]any{
		"portal_url": p.portal.Srv.URL, "user_id": u.ID, "webhook_code": p.code}})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// New orders pushed under the portal's real limit (2 requests a second,
// a burst of 50) against the fake portal: orders a minute, and the fake
// never refusing. Run with -benchtime=150x or more to see the sustained
// rate past the burst.
func BenchmarkPacedNewOrders(b *testing.B) {
	f := bitrix24test.New(b)
	f.Rate, f.Burst = bitrix24.Rate, bitrix24.Burst
	shop := apptest.Start(b, storetest.OpenSQLite(b))
	ctx := context.Background()
	su, _ := shop.App.Store.UserByLogin(ctx, "admin")
	actor := crm.Actor{UserID: su.ID}
	conn, err := shop.App.Connections.Create(ctx, su.ID, connection.Input{Type: bitrix24.Type, Name: "Fake", Settings: map[string]any{
		"portal_url": f.URL, "user_id": f.UserID, "webhook_code": f.Code}})
	if err != nil {
		b.Fatal(err)
	}
	act := dealAction(b, shop, &bitrix24.Limiters{})
	orders := make([]int64, b.N)
	for i := range orders {
		orders[i] = newOrder(b, shop, actor, i)
	}
	call := &automation.Call{Connection: conn.ID, Actor: actor}
	b.ResetTimer()
	start := time.Now()
	for _, o := range orders {
		if _, err := act.Run(ctx, call, map[string]any{"sales_order_id": o}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Minutes(), "orders/min")
	f.Mu.Lock()
	defer f.Mu.Unlock()
	b.ReportMetric(float64(len(f.Arrivals))/float64(b.N), "requests/order")
	if f.Limited != 0 {
		b.Fatalf("the fake refused %d requests for the rate", f.Limited)
	}
}

// New orders pushed by 20 runs at once, as the engine's workers send a
// burst of orders, under the portal's real limit against the fake
// portal: each batch alone ("alone", as before packing) and packed per
// portal ("packed": the batches waiting for the bucket share one
// request). Orders a minute, requests an order; the fake never refuses.
// Run with -benchtime=300x or more to see the sustained rate past the
// burst.
func BenchmarkPacedNewOrdersConcurrent(b *testing.B) {
	for _, mode := range []string{"alone", "packed"} {
		b.Run(mode, func(b *testing.B) {
			f := bitrix24test.New(b)
			f.Rate, f.Burst = bitrix24.Rate, bitrix24.Burst
			shop := apptest.Start(b, storetest.OpenSQLite(b))
			ctx := context.Background()
			su, _ := shop.App.Store.UserByLogin(ctx, "admin")
			actor := crm.Actor{UserID: su.ID}
			conn, err := shop.App.Connections.Create(ctx, su.ID, connection.Input{Type: bitrix24.Type, Name: "Fake", Settings: map[string]any{
				"portal_url": f.URL, "user_id": f.UserID, "webhook_code": f.Code}})
			if err != nil {
				b.Fatal(err)
			}
			act := dealAction(b, shop, &bitrix24.Limiters{NoPack: mode == "alone"})
			orders := make(chan int64, b.N)
			for i := 0; i < b.N; i++ {
				orders <- newOrder(b, shop, actor, i)
			}
			close(orders)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for o := range orders {
						call := &automation.Call{Connection: conn.ID, Actor: actor}
						if _, err := act.Run(ctx, call, map[string]any{"sales_order_id": o}); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Minutes(), "orders/min")
			f.Mu.Lock()
			defer f.Mu.Unlock()
			b.ReportMetric(float64(len(f.Arrivals))/float64(b.N), "requests/order")
			if f.Limited != 0 {
				b.Fatalf("the fake refused %d requests for the rate", f.Limited)
			}
		})
	}
}
