package exchange_test

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/bench"
	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/events"
)

// The variants, prices per type and stocks per warehouse the switch
// writes set-based come with change events: one per product whose offers
// changed something, saying what; none when the same files come again.
func TestOfferEvents(t *testing.T) {
	const n = 40
	imp := gen(t, func(b *bytes.Buffer) error { return genGoods(b, 0, n, false) })
	off := gen(t, func(b *bytes.Buffer) error { return bench.WriteOffersVariants(b, n, 3) })
	// Good 1's first variant (retail price 101.01, the lowest of its
	// three) costs more in the third exchange: its product's price
	// becomes that of its second variant, 102.01.
	if bytes.Count(off, []byte(">101.01<")) != 1 {
		t.Fatal("the generated offers changed: pick another price to change")
	}
	changed := bytes.Replace(off, []byte(">101.01<"), []byte(">222.22<"), 1)
	each(t, func(t *testing.T, e *env) {
		e.settings(func(s *exchange.Settings) {})
		exchangeOnce := func(offers []byte) []events.Event {
			t.Helper()
			before := e.eventCount()
			c := e.oneC()
			c.checkauth("catalog")
			for _, f := range []struct {
				name string
				data []byte
			}{{"import.xml", imp}, {"offers.xml", offers}} {
				if out := c.upload("catalog", f.name, f.data, 1<<20); out != "success\n" {
					t.Fatal(out)
				}
			}
			for _, name := range []string{"import.xml", "offers.xml"} {
				if out, _ := c.importAll(name); out != "success\n" {
					t.Fatalf("%s: %q", name, out)
				}
			}
			c.must("catalog", "complete", nil, nil, "success")
			evs, err := e.app.Store.Events(e.ctx, events.Query{After: before, Limit: 10000, Entity: "product"})
			if err != nil {
				t.Fatal(err)
			}
			return evs
		}

		// First exchange: a create event per product (price and stock 0:
		// a good with variants has none of its own), then one update
		// with the totals of its variants (its rows are all new, as its
		// create says).
		evs := exchangeOnce(off)
		creates, updates := map[int64]bool{}, map[int64]events.Event{}
		for _, ev := range evs {
			switch ev.Action {
			case events.Create:
				creates[ev.RecordID] = true
			case events.Update:
				if _, dup := updates[ev.RecordID]; dup {
					t.Fatalf("two update events of product %d", ev.RecordID)
				}
				if !creates[ev.RecordID] {
					t.Fatalf("update event of product %d before its create event", ev.RecordID)
				}
				updates[ev.RecordID] = ev
			default:
				t.Fatalf("event %+v", ev)
			}
		}
		if len(creates) != n || len(updates) != n {
			t.Fatalf("%d create and %d update events, want %d each", len(creates), len(updates), n)
		}
		p := e.product("Товар номер 1", "ART-1")
		ev := updates[p.ID]
		if keys := slices.Sorted(maps.Keys(ev.Changes)); strings.Join(keys, ",") != "price,stock" {
			t.Errorf("changes %v of a product created by the exchange, want price and stock", keys)
		}
		// Variants' stock: 1+0, 2+0, 3+0 in the two warehouses is not
		// their total; the offers' <Количество> is: i%50+k for k = 0..2.
		if got := string(ev.Changes["price"].Old) + "→" + string(ev.Changes["price"].New); got != "0.00→101.01" || p.Price.String() != "101.01" {
			t.Errorf("price change %s, product's price %s", got, p.Price)
		}
		if got := string(ev.Changes["stock"].Old) + "→" + string(ev.Changes["stock"].New); got != "0→6" || p.Stock.String() != "6" {
			t.Errorf("stock change %s, product's stock %s", got, p.Stock)
		}

		// The same files again: nothing changes, no event.
		if evs := exchangeOnce(off); len(evs) != 0 {
			t.Fatalf("the same catalog again wrote %d product events, first %+v", len(evs), evs[0])
		}

		// One variant's price changes: one event, of its product.
		evs = exchangeOnce(changed)
		if len(evs) != 1 || evs[0].RecordID != p.ID || evs[0].Action != events.Update {
			t.Fatalf("events %+v, want one update of product %d", evs, p.ID)
		}
		keys := slices.Sorted(maps.Keys(evs[0].Changes))
		if got := strings.Join(keys, ","); got != "price,prices,variants" {
			t.Errorf("changes %s, want price, prices and variants", got)
		}
		if got := string(evs[0].Changes["price"].Old) + "→" + string(evs[0].Changes["price"].New); got != "101.01→102.01" {
			t.Errorf("price change %s", got)
		}
		if p := e.product("Товар номер 1", "ART-1"); p.Price.String() != "102.01" {
			t.Errorf("product's price %s", p.Price)
		}
	})
}
