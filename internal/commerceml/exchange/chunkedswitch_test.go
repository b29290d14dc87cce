package exchange_test

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/bench"
	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// crashAt makes the switch stop after its n-th committed write of phase,
// as a crash would (the next write never begins), until the service is
// closed; the returned channel says it has stopped there.
func crashAt(e *env, phase string, n int) <-chan struct{} {
	reached := make(chan struct{})
	e.app.CommerceML.SetAfterChunk(func(ctx context.Context, p string, k int) error {
		if p == phase && k == n {
			close(reached)
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	return reached
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Minute):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// switchedState is what a switch leaves: every stored product, variant,
// price and stock (dumpSet), the change events by entity and action
// (how many, of how many records), and the journal's counts.
func switchedState(t *testing.T, e *env) string {
	t.Helper()
	var lines []string
	rows, err := e.d.Read.QueryContext(e.ctx, "SELECT entity, action, COUNT(*), COUNT(DISTINCT record_id) FROM events GROUP BY entity, action")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ent, act string
		var n, recs int
		if err := rows.Scan(&ent, &act, &n, &recs); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("events %s %s: %d of %d records", ent, act, n, recs))
	}
	rows.Close()
	for _, en := range e.entries() {
		var cs []string
		for k, v := range en.Counts {
			cs = append(cs, fmt.Sprintf("%s%+v", k, *v))
		}
		sort.Strings(cs)
		lines = append(lines, fmt.Sprintf("journal %s %s %s partly=%v skipped=%d %s", en.Filename, en.Status, en.Stage, en.PartlyFailed,
			len(en.Skipped), strings.Join(cs, " ")))
	}
	sort.Strings(lines)
	return dumpSet(t, e) + "\n" + strings.Join(lines, "\n")
}

// A switch is a series of short writes. A crash between two of them —
// among the products, or among the offers — leaves the batch
// "switching" and the catalog part switched; after the restart the
// switch goes on where it stopped (the new process has the default
// chunk size: chunking does not matter either) and ends with exactly the
// rows, change events and journal counts of a switch never stopped:
// nothing applied twice, nothing lost.
func TestCrashMidSwitch(t *testing.T) {
	const n = 200
	imp := gen(t, func(b *bytes.Buffer) error { return genCatalog(b, n) })
	off := gen(t, func(b *bytes.Buffer) error { return bench.WriteOffersVariants(b, n, 3) })
	run := func(t *testing.T, e *env, phase string) string {
		e.settings(func(s *exchange.Settings) { s.StepMillis = 1 })
		e.app.CommerceML.SetSwitchChunk(50)
		var stopped <-chan struct{}
		if phase != "" {
			stopped = crashAt(e, phase, 2)
		}
		c := e.oneC()
		c.checkauth("catalog")
		for name, b := range map[string][]byte{"import.xml": imp, "offers.xml": off} {
			if out := c.upload("catalog", name, b, 1<<20); out != "success\n" {
				t.Fatal(out)
			}
		}
		if out, _ := c.importAll("import.xml"); out != "success\n" {
			t.Fatalf("import.xml: %q", out)
		}
		if phase != "" {
			if _, out := c.call("catalog", "import", map[string][]string{"filename": {"offers.xml"}}, nil); !strings.HasPrefix(out, "progress") {
				t.Fatalf("offers.xml first step: %q", out)
			}
			waitFor(t, stopped, "the crash")
			// Part switched: two writes of products, or all products and
			// two writes of offers.
			ps := len(e.products())
			var nv int
			if err := e.d.Read.QueryRow("SELECT COUNT(*) FROM product_variants").Scan(&nv); err != nil {
				t.Fatal(err)
			}
			if phase == "products" && (ps == 0 || ps >= n || nv != 0) || phase == "offers" && (ps != n || nv == 0 || nv >= 3*n) {
				t.Fatalf("crashed in %s: %d products, %d variants visible", phase, ps, nv)
			}
			for _, name := range []string{"import.xml", "offers.xml"} {
				if en := e.entry(name); en.Stage != exchange.StageSwitching || en.Status != "running" {
					t.Fatalf("%s after the crash: %s %s", name, en.Stage, en.Status)
				}
			}
			e.restart()
		}
		if out, _ := c.importAll("offers.xml"); out != "success\n" {
			t.Fatalf("offers.xml: %q", out)
		}
		c.must("catalog", "complete", nil, nil, "success")
		return switchedState(t, e)
	}
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			want := run(t, newEnv(t, eng.Open(t)), "")
			if !strings.Contains(want, fmt.Sprintf("live products %d", n)) || !strings.Contains(want, fmt.Sprintf("events product create: %d of %d records", n, n)) {
				t.Fatalf("the switch never stopped:\n%s", want)
			}
			for _, phase := range []string{"products", "offers"} {
				t.Run("crash in "+phase, func(t *testing.T) {
					if got := run(t, newEnv(t, eng.Open(t)), phase); got != want {
						t.Errorf("after a crash in %s:\n%s", phase, diffLines(want, got))
					}
				})
			}
		})
	}
}

// Each write of the switch checks its products against what users
// changed since the staging began, as it is applied: a product changed,
// deleted or created (with a staged name and article) while earlier
// chunks were being written is respected as if it had been changed
// before the switch (TestChangedBeforeSwitch).
func TestChangedDuringSwitch(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(s *exchange.Settings) { s.StepMillis = 1 })
		const n = 400
		c := e.oneC()
		c.checkauth("catalog")
		if out := c.upload("catalog", "import.xml", gen(t, func(b *bytes.Buffer) error { return genGoods(b, 0, n-10, false) }), 1<<20); out != "success\n" {
			t.Fatal(out)
		}
		if out, _ := c.importAll("import.xml"); out != "success\n" {
			t.Fatal(out)
		}
		changed, deleted := e.product("Товар номер 350", "ART-350"), e.product("Товар номер 351", "ART-351")
		e.app.CommerceML.SetSwitchChunk(100)
		var mine crm.Product
		e.app.CommerceML.SetAfterChunk(func(ctx context.Context, phase string, k int) error {
			if phase != "products" || k != 1 {
				return nil
			}
			// Between the first write of products and the next.
			if _, err := e.app.Store.UpdateProduct(ctx, e.admin, changed.ID, func(p *crm.Product) error { p.Description = "от менеджера"; return nil }); err != nil {
				return err
			}
			if err := e.app.Store.Delete(ctx, e.admin, "product", deleted.ID); err != nil {
				return err
			}
			var err error
			mine, err = e.app.Store.CreateProduct(ctx, e.admin, crm.Product{Name: "Товар номер 395", Article: "ART-395", Unit: "шт"})
			return err
		})
		c = e.uploadPackage(0, n, false)
		for _, f := range []string{"import.xml", "offers.xml"} {
			if out, _ := c.importAll(f); out != "success\n" {
				t.Fatalf("%s: %q", f, out)
			}
		}
		if mine.ID == 0 {
			t.Fatal("the switch did not stop between two writes of products")
		}
		count, live := map[string]int{}, 0
		for _, p := range e.products() {
			if p.DeletedAt == nil {
				live++
				count[p.Name]++
			}
		}
		if live != n || count["Товар номер 395"] != 1 || count["Товар номер 351"] != 1 {
			t.Fatalf("%d live products (want %d), doubled: %v", live, n, count["Товар номер 395"])
		}
		if got := e.product("Товар номер 350", "ART-350"); got.Description != "от менеджера" || got.Price != offerPrice(350) {
			t.Fatalf("product changed during the switch: %+v", got)
		}
		if got := e.product("Товар номер 351", "ART-351"); got.ID == deleted.ID || got.Price != offerPrice(351) {
			t.Fatalf("product deleted during the switch: %+v", got)
		}
		if got := e.product("Товар номер 395", "ART-395"); got.ID != mine.ID || got.ExternalIDs["1c"] != "gen-00000395" || got.Price != offerPrice(395) {
			t.Fatalf("product created during the switch: %+v", got)
		}
	})
}

// offerPrice is the price genOffers gives good i.
func offerPrice(i int) crm.Amount { return crm.Amount(10000 + 100*i + i%100) }
