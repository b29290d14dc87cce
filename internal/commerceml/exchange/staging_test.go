package exchange_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store/storetest"
)

func gen(t testing.TB, fn func(*bytes.Buffer) error) []byte {
	var b bytes.Buffer
	if err := fn(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// uploadPackage signs in and uploads import.xml and offers.xml, as 1C
// does before it imports either.
func (e *env) uploadPackage(first, n int, onlyChanges bool) *oneC {
	e.t.Helper()
	c := e.oneC()
	c.checkauth("catalog")
	imp := gen(e.t, func(b *bytes.Buffer) error { return genGoods(b, first, n, onlyChanges) })
	if out := c.upload("catalog", "import.xml", imp, 1<<20); out != "success\n" {
		e.t.Fatal(out)
	}
	if first == 0 {
		off := gen(e.t, func(b *bytes.Buffer) error { return genOffers(b, n) })
		if out := c.upload("catalog", "offers.xml", off, 1<<20); out != "success\n" {
			e.t.Fatal(out)
		}
	}
	return c
}

func (e *env) eventCount() int64 {
	e.t.Helper()
	var n int64
	if err := e.d.Read.QueryRow("SELECT COUNT(*) FROM events").Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) entry(name string) exchange.Entry {
	e.t.Helper()
	for _, en := range e.entries() {
		if en.Filename == name {
			return en
		}
	}
	e.t.Fatalf("no journal entry of %s", name)
	return exchange.Entry{}
}

// import.xml and offers.xml of one session switch together: import.xml
// answers success once staged, nothing is visible until offers.xml is
// staged too, and then every product comes with its price, in one create
// event each.
func TestPackageSwitchesTogether(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(s *exchange.Settings) {})
		c := e.uploadPackage(0, 300, false)
		if out, _ := c.importAll("import.xml"); out != "success\n" {
			t.Fatalf("import.xml: %q", out)
		}
		if n := len(e.products()); n != 0 {
			t.Fatalf("%d products visible before offers.xml", n)
		}
		if en := e.entry("import.xml"); en.Status != "running" || en.Stage != exchange.StageStaged {
			t.Fatalf("import.xml waiting: %+v", en)
		}
		before := e.eventCount()
		if out, _ := c.importAll("offers.xml"); out != "success\n" {
			t.Fatalf("offers.xml: %q", out)
		}
		ps := e.products()
		if len(ps) != 300 {
			t.Fatalf("%d products", len(ps))
		}
		for _, p := range ps {
			if p.Price == 0 || len(p.CatalogIDs) != 2 || p.ExternalIDs["1c"] == "" {
				t.Fatalf("product switched in incomplete: %+v", p)
			}
		}
		evs, err := e.app.Store.Events(e.ctx, events.Query{After: before, Limit: 10000, Entity: "product"})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 300 {
			t.Fatalf("%d product events, want one create each", len(evs))
		}
		for _, ev := range evs {
			if ev.Action != events.Create || ev.Integration != "1c" || string(ev.Changes["price"].New) == "" || ev.Changes["price"].New == nil {
				t.Fatalf("event %+v", ev)
			}
		}
		for _, name := range []string{"import.xml", "offers.xml"} {
			if en := e.entry(name); en.Status != "success" || en.Stage != exchange.StageSwitched || en.Batch != e.entry("import.xml").ID {
				t.Fatalf("%s: %+v", name, en)
			}
		}
		if en := e.entry("import.xml"); en.Counts["product"].Created != 300 || en.Counts["catalog"].Created != 101 {
			t.Fatalf("import.xml counts %+v %+v", en.Counts["product"], en.Counts["catalog"])
		}
		// Again after the switch: still success, nothing twice.
		n := e.eventCount()
		if out, _ := c.importAll("import.xml"); out != "success\n" {
			t.Fatal(out)
		}
		c.must("catalog", "complete", nil, nil, "success")
		if e.eventCount() != n || len(e.products()) != 300 {
			t.Fatal("a second call changed the catalog")
		}
	})
}

// A restart while import.xml waits for offers.xml, and one in the middle
// of staging offers.xml: the package still switches in whole, once.
func TestRestartAtSwitch(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(s *exchange.Settings) { s.StepMillis = 1 })
		c := e.uploadPackage(0, 2500, false)
		if out, _ := c.importAll("import.xml"); out != "success\n" {
			t.Fatalf("import.xml: %q", out)
		}
		e.restart()
		if out, _ := c.importAll("import.xml"); out != "success\n" {
			t.Fatalf("import.xml after restart: %q", out)
		}
		if n := len(e.products()); n != 0 {
			t.Fatalf("%d products visible before offers.xml", n)
		}
		_, out := c.call("catalog", "import", map[string][]string{"filename": {"offers.xml"}}, nil)
		if !strings.HasPrefix(out, "progress") {
			t.Fatalf("offers.xml first step: %q", out)
		}
		e.restart()
		if n := len(e.products()); n != 0 {
			t.Fatalf("%d products visible mid-offers", n)
		}
		if out, _ := c.importAll("offers.xml"); out != "success\n" {
			t.Fatalf("offers.xml: %q", out)
		}
		ps := e.products()
		if len(ps) != 2500 {
			t.Fatalf("%d products, want 2500 exactly once", len(ps))
		}
		for _, p := range ps {
			if p.Price == 0 {
				t.Fatalf("without price: %+v", p)
			}
		}
		n := e.eventCount()
		e.restart()
		c.must("catalog", "complete", nil, nil, "success")
		if e.eventCount() != n {
			t.Fatal("switched twice")
		}
	})
}

// A lead (any store write) is written while a large catalog is being
// staged: the write does not wait for the whole file.
func TestWriteWhileStaging(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	e.settings(func(s *exchange.Settings) { s.StepMillis = 1 })
	c := e.uploadPackage(10000, 8000, false) // no offers: switched right after staging
	_, out := c.call("catalog", "import", map[string][]string{"filename": {"import.xml"}}, nil)
	if !strings.HasPrefix(out, "progress") {
		t.Fatalf("first step: %q", out)
	}
	if _, err := e.app.Store.CreateLead(e.ctx, e.admin, crm.Lead{Title: "Заявка с сайта", Name: "Иван"}); err != nil {
		t.Fatal(err)
	}
	// The lead is committed; the catalog is not even staged yet.
	if en := e.entry("import.xml"); en.Stage != exchange.StageStaging || en.Status != "running" {
		t.Fatalf("the write waited for the staging: %+v", en)
	}
	if out, _ := c.importAll("import.xml"); out != "success\n" {
		t.Fatal(out)
	}
	if n := len(e.products()); n != 8000 {
		t.Fatalf("%d products", n)
	}
}

// What users change between the staging and the switch is respected: a
// product a user creates with the name and article of a staged new one
// is updated, not doubled; a product changed since it was staged keeps
// the change where 1C does not set the field; a product deleted since is
// created anew (as a fresh import would, matching only live products).
func TestChangedBeforeSwitch(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(s *exchange.Settings) {})
		c := e.oneC()
		c.checkauth("catalog")
		if out := c.upload("catalog", "import.xml", gen(t, func(b *bytes.Buffer) error { return genGoods(b, 0, 50, false) }), 1<<20); out != "success\n" {
			t.Fatal(out)
		}
		if out, _ := c.importAll("import.xml"); out != "success\n" {
			t.Fatal(out)
		}
		c = e.uploadPackage(0, 60, false)
		if out, _ := c.importAll("import.xml"); out != "success\n" {
			t.Fatal(out)
		}
		changed, deleted := e.product("Товар номер 1", "ART-1"), e.product("Товар номер 2", "ART-2")
		if _, err := e.app.Store.UpdateProduct(e.ctx, e.admin, changed.ID, func(p *crm.Product) error { p.Description = "от менеджера"; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := e.app.Store.Delete(e.ctx, e.admin, "product", deleted.ID); err != nil {
			t.Fatal(err)
		}
		mine, err := e.app.Store.CreateProduct(e.ctx, e.admin, crm.Product{Name: "Товар номер 55", Article: "ART-55", Unit: "шт"})
		if err != nil {
			t.Fatal(err)
		}
		if out, _ := c.importAll("offers.xml"); out != "success\n" {
			t.Fatalf("offers.xml: %q", out)
		}
		count, live := map[string]int{}, 0
		for _, p := range e.products() {
			if p.DeletedAt == nil {
				live++
				count[p.Name]++
				if p.Price == 0 {
					t.Fatalf("without price: %+v", p)
				}
			}
		}
		if live != 60 {
			t.Fatalf("%d live products, want 60", live)
		}
		if count["Товар номер 55"] != 1 || count["Товар номер 2"] != 1 {
			t.Fatalf("counts %v", count)
		}
		got := e.product("Товар номер 55", "ART-55")
		if got.ID != mine.ID || got.ExternalIDs["1c"] != "gen-00000055" || got.Price != 15555 {
			t.Fatalf("user's product not updated by the package: %+v", got)
		}
		if got := e.product("Товар номер 1", "ART-1"); got.Description != "от менеджера" || got.Price != 10101 {
			t.Fatalf("changed product: %+v", got)
		}
		if got := e.product("Товар номер 2", "ART-2"); got.ID == deleted.ID || got.Price != 10202 {
			t.Fatalf("deleted product: %+v", got)
		}
	})
}

// mode=deactivate after a full catalog makes the goods with a 1C id the
// catalog no longer has inactive, with an event each; after a
// changes-only catalog it deactivates nothing.
func TestDeactivate(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(s *exchange.Settings) {})
		run := func(first, n int, onlyChanges bool) {
			t.Helper()
			c := e.oneC()
			c.checkauth("catalog")
			if out := c.upload("catalog", "import.xml", gen(t, func(b *bytes.Buffer) error { return genGoods(b, first, n, onlyChanges) }), 1<<20); out != "success\n" {
				t.Fatal(out)
			}
			if out, _ := c.importAll("import.xml"); out != "success\n" {
				t.Fatal(out)
			}
			c.must("catalog", "deactivate", nil, nil, "success")
			c.must("catalog", "complete", nil, nil, "success")
		}
		inactive := func() []string {
			var out []string
			for _, p := range e.products() {
				if !p.Active {
					out = append(out, p.Article)
				}
			}
			return out
		}
		run(0, 20, false)
		mine, err := e.app.Store.CreateProduct(e.ctx, e.admin, crm.Product{Name: "Не из 1С", Unit: "шт", Active: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := inactive(); len(got) != 0 {
			t.Fatalf("inactive after the first full catalog: %v", got)
		}
		run(0, 10, true) // changes only
		if got := inactive(); len(got) != 0 {
			t.Fatalf("a changes-only catalog deactivated %v", got)
		}
		n := e.eventCount()
		run(5, 10, false) // full: 0–4 and 15–19 are gone
		if got := fmt.Sprint(inactive()); got != "[ART-0 ART-1 ART-2 ART-3 ART-4 ART-15 ART-16 ART-17 ART-18 ART-19]" {
			t.Fatalf("inactive %s", got)
		}
		evs, err := e.app.Store.Events(e.ctx, events.Query{After: n, Limit: 1000, Entity: "product"})
		if err != nil {
			t.Fatal(err)
		}
		off := 0
		for _, ev := range evs {
			if string(ev.Changes["active"].New) == "false" {
				off++
			}
		}
		if off != 10 {
			t.Fatalf("%d deactivation events, want 10", off)
		}
		if p, _ := e.app.Store.GetProduct(e.ctx, mine.ID); !p.Active {
			t.Fatal("a product without a 1C id was deactivated")
		}
		if en := e.entries()[0]; en.Counts["product"].Deactivated != 10 {
			t.Fatalf("journal %+v", en.Counts["product"])
		}
	})
}

// A package left waiting (1C uploaded offers.xml and never imported it,
// nor called mode=complete) is switched in by the sweeper, not lost:
// import.xml was answered success.
func TestSweeperSwitchesWaiting(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(s *exchange.Settings) {})
		c := e.uploadPackage(0, 40, false)
		if out, _ := c.importAll("import.xml"); out != "success\n" {
			t.Fatal(out)
		}
		svc := e.app.CommerceML
		if err := svc.Sweep(e.ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(e.products()); n != 0 {
			t.Fatalf("switched before its time: %d products", n)
		}
		svc.SetNow(func() time.Time { return time.Now().Add(2 * time.Hour) })
		if err := svc.Sweep(e.ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(e.products()); n != 40 {
			t.Fatalf("%d products after the sweep", n)
		}
		en := e.entry("import.xml")
		if en.Status != "success" || en.Stage != exchange.StageSwitched || !strings.Contains(strings.Join(en.Problems, " "), "sweeper") {
			t.Fatalf("journal %+v", en)
		}
		var staged int64
		_ = e.d.Read.QueryRow("SELECT COUNT(*) FROM cml_stage_products").Scan(&staged)
		if staged != 0 {
			t.Fatalf("%d staged rows left", staged)
		}
	})
}
