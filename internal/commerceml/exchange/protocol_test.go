package exchange_test

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/commerceml/schematest"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
)

// The whole protocol as 1C plays it: sign-in, catalog upload in chunks
// and as a zip, import until success, then orders both ways.
func TestProtocol(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		c := e.oneC()
		s := e.app.Store
		// Off by default.
		if _, out := c.call("catalog", "checkauth", nil, nil); out != "failure\nexchange disabled\n" {
			t.Fatalf("disabled: %q", out)
		}
		e.settings(func(s *exchange.Settings) { s.FileLimit = 4000 })
		// Wrong key, wrong login, no credentials.
		bad := e.oneC()
		bad.key = e.key[:len(e.key)-1] + "x"
		bad.must("catalog", "checkauth", nil, nil, "failure\nwrong user name or access key")
		bad = e.oneC()
		bad.login = "someone"
		bad.must("catalog", "checkauth", nil, nil, "failure\nwrong user name or access key")
		// Every later call needs the cookie.
		c.must("catalog", "init", nil, nil, "failure\nnot signed in")

		// What Obmen has before the first exchange.
		drill, _ := s.CreateProduct(e.ctx, e.admin, crm.Product{Name: "Дрель ударная", Article: "DR-500", Price: 100})
		other, _ := s.CreateProduct(e.ctx, e.admin, crm.Product{Name: "Дрель ударная", Article: "DR-100"})
		cable, _ := s.CreateProduct(e.ctx, e.admin, crm.Product{Name: "Кабель ВВГ 3х2,5"})
		mount, _ := s.CreateService(e.ctx, e.admin, crm.Service{Name: "Монтаж оборудования"})
		if _, err := s.UpsertCurrency(e.ctx, e.admin, crm.Currency{Code: "EUR", Name: "Евро", Active: false, Rate: "90"}); err != nil {
			t.Fatal(err)
		}

		c.checkauth("catalog")
		if out := c.must("catalog", "init", nil, nil, "zip=yes\n"); !strings.Contains(out, "file_limit=4000\n") {
			t.Fatalf("init: %q", out)
		}
		// import.xml in windows-1251, in chunks of at most file_limit.
		imp := testdata(t, "import_204_cp1251.xml")
		if out := c.upload("catalog", "import.xml", imp, 4000); out != "success\n" {
			t.Fatalf("upload: %q", out)
		}
		// A chunk over file_limit is refused.
		if out := c.upload("catalog", "big.xml", make([]byte, 4001), 4001); !strings.HasPrefix(out, "failure\nupload refused: a chunk of big.xml is larger than file_limit") {
			t.Fatalf("oversized chunk: %q", out)
		}
		if out, _ := c.importAll("import.xml"); out != "success\n" {
			t.Fatalf("import: %q", out)
		}
		// Products: by name AND article; equal name with another article is
		// new; empty article matches the product without one.
		if got := e.product("Дрель ударная", "DR-500"); got.ID != drill.ID || got.ExternalIDs["1c"] != "a1b2c3d4-0001-11e0-8000-000000000001" || got.Unit != "шт" || got.VATRate == nil || *got.VATRate != 2000 {
			t.Fatalf("DR-500 not updated in place: %+v", got)
		}
		if got := e.product("Дрель ударная", "DR-700"); got.ID == drill.ID || got.ID == other.ID {
			t.Fatalf("DR-700 should be a new product")
		}
		if got := e.product("Кабель ВВГ 3х2,5", ""); got.ID != cable.ID || got.Unit != "м" || got.VATRate != nil {
			t.Fatalf("cable: %+v", got)
		}
		tile := e.product("Плитка настенная", "")
		if tile.Unit != "м2" {
			t.Fatalf("tile unit %q", tile.Unit)
		}
		// Services by name; units created as sent.
		if sv, _ := s.GetService(e.ctx, mount.ID); sv.ExternalIDs["1c"] != "b0000000-0002-11e0-8000-000000000001" || sv.Unit != "ч" {
			t.Fatalf("service: %+v", sv)
		}
		units, _ := s.ListUnits(e.ctx)
		names := map[string]bool{}
		for _, u := range units {
			names[u.Name] = true
		}
		for _, u := range []string{"шт", "м", "м2", "ч"} {
			if !names[u] {
				t.Errorf("unit %q not created", u)
			}
		}
		// Catalogs by 1C id: the catalog, its groups, the nesting, the
		// membership.
		drills, err := s.FindByExternalID(e.ctx, "catalog", "1c", "grp-drills")
		if err != nil {
			t.Fatal(err)
		}
		tools, _ := s.FindByExternalID(e.ctx, "catalog", "1c", "grp-tools")
		if cat, _ := s.GetCatalog(e.ctx, drills); cat.ParentID != tools || cat.Name != "Дрели & шуруповёрты" {
			t.Fatalf("group: %+v", cat)
		}
		if got := e.product("Дрель ударная", "DR-500"); !containsID(got.CatalogIDs, drills) {
			t.Fatalf("membership %v", got.CatalogIDs)
		}

		// offers.xml inside a zip with a sub-path picture.
		z := zipOf(t, map[string][]byte{"offers.xml": testdata(t, "offers_204_cp1251.xml"), "import_files/ab/a.jpg": []byte("jpg")})
		if out := c.upload("catalog", "offers.zip", z, 4000); out != "success\n" {
			t.Fatalf("zip upload: %q", out)
		}
		if out, _ := c.importAll("offers.xml"); out != "success\n" {
			t.Fatalf("offers: %q", out)
		}
		if got := e.product("Дрель ударная", "DR-500"); got.Price != 450000 || got.Stock != 12000 || got.Currency != "RUB" {
			t.Fatalf("price/stock: %+v", got)
		}
		if got := e.product("Кабель ВВГ 3х2,5", ""); got.Price != 8720 || got.Stock != 1520500 || got.Currency != "RUB" {
			t.Fatalf("RUR alias: %+v", got)
		}
		// EUR is not active: the tile fails, named with its currency; the
		// rest went on.
		if got := e.product("Плитка настенная", ""); got.Price != 0 {
			t.Fatalf("inactive currency applied: %+v", got)
		}
		if sv, _ := s.GetService(e.ctx, mount.ID); sv.Price != 250000 {
			t.Fatalf("service price %v", sv.Price)
		}
		var offersEntry exchange.Entry
		for _, en := range e.entries() {
			if en.Filename == "offers.xml" {
				offersEntry = en
			}
		}
		if offersEntry.Status != "success" || offersEntry.Counts["offer"] == nil || offersEntry.Counts["offer"].Failed != 1 ||
			len(offersEntry.Problems) != 1 || !strings.Contains(offersEntry.Problems[0], "currency EUR") || !strings.Contains(offersEntry.Problems[0], "Плитка настенная") ||
			!strings.Contains(offersEntry.Problems[0], "offers.xml line") {
			t.Fatalf("offers journal: %+v", offersEntry)
		}
		c.must("catalog", "deactivate", nil, nil, "success")
		c.must("catalog", "complete", nil, nil, "success")

		// Orders: made in Obmen by hand.
		acc, _ := s.CreateAccount(e.ctx, e.admin, crm.Account{Title: "ООО \"Ромашка\""})
		var orders []crm.SalesOrder
		for i := 0; i < 5; i++ {
			o, err := s.CreateSalesOrder(e.ctx, e.admin, crm.SalesOrder{AccountID: acc.ID, Items: []crm.LineItem{{Name: "Старая строка", Price: 100, Quantity: 1000}}})
			if err != nil {
				t.Fatal(err)
			}
			orders = append(orders, o)
		}
		c = e.oneC()
		c.checkauth("sale")
		c.must("sale", "init", nil, nil, "zip=yes")
		_, body := c.call("sale", "query", nil, nil)
		docs := parseOrders(t, body)
		schematest.Validate(t, []byte(body))
		if len(docs) != 5 || docs[0].Number != orders[0].Number || docs[0].Buyer().Name != "ООО \"Ромашка\"" {
			t.Fatalf("query: %d documents\n%s", len(docs), body)
		}
		if st, _ := docs[0].Requisite("Статус заказа"); st != "Created" {
			t.Fatalf("status written %q", st)
		}
		c.must("sale", "success", nil, nil, "success")
		// Nothing changed since: an empty but valid document.
		_, body = c.call("sale", "query", nil, nil)
		schematest.Validate(t, []byte(body))
		if docs := parseOrders(t, body); len(docs) != 0 || !strings.Contains(body, `encoding="windows-1251"`) {
			t.Fatalf("second query: %s", body)
		}
		c.must("sale", "success", nil, nil, "success")

		// 1C sends its orders back: numbers of ours, and one it made up.
		doc := string(testdata(t, "orders_207.xml"))
		for i, n := range []string{"SO-1001", "SO-1002", "SO-1003", "SO-1004"} {
			doc = strings.ReplaceAll(doc, "<Номер>"+n+"</Номер>", "<Номер>"+orders[i].Number+"</Номер>")
		}
		doc = strings.Replace(doc, "<Валюта>руб</Валюта>", "<Валюта>RUR</Валюта>", 1)
		if out := c.upload("sale", "orders.xml", []byte(doc), 4000); out != "success\n" {
			t.Fatalf("sale file: %q", out)
		}
		// mode=import of the same file (newer 1C) is idempotent.
		c.must("sale", "import", url.Values{"filename": {"orders.xml"}}, nil, "success")
		want := []string{crm.OrderDelivered, crm.OrderApproved, crm.OrderCreated, crm.OrderCancelled, crm.OrderCreated}
		for i, o := range orders {
			got, _ := s.GetSalesOrder(e.ctx, o.ID)
			if got.Status != want[i] {
				t.Errorf("order %d: status %s, want %s", i, got.Status, want[i])
			}
			if i < 4 && (len(got.Items) != 3 || got.Items[0].ProductID != drill.ID || got.Items[2].ServiceID != mount.ID || got.Items[1].Name != "Дрель ударная") {
				t.Errorf("order %d items not replaced: %+v", i, got.Items)
			}
		}
		if _, err := s.SalesOrderByNumber(e.ctx, "SO-9999"); err == nil {
			t.Fatal("an order was created from 1C data")
		}
		// The account: by name on this first exchange, now with its 1C id.
		if a, _ := s.GetAccount(e.ctx, acc.ID); a.ExternalIDs["1c"] != "cp-0001" || a.FullName == "" {
			t.Fatalf("account %+v", a)
		}
		code, rb := e.api("GET", "/api/v1/exchanges/orders/"+strconv.FormatInt(orders[1].ID, 10)+"/requisites", nil)
		if code != 200 || !strings.Contains(string(rb), "Номер отгрузки по 1С") || strings.Contains(string(rb), "Проведен") {
			t.Fatalf("requisites: %d %s", code, rb)
		}
		// Changes made by the exchange are not sent back; manual ones are.
		_, body = c.call("sale", "query", nil, nil)
		if docs := parseOrders(t, body); len(docs) != 0 {
			t.Fatalf("the exchange's own changes were exported: %d", len(docs))
		}
		c.must("sale", "success", nil, nil, "success")
		if _, err := s.UpdateSalesOrder(e.ctx, e.admin, orders[2].ID, func(o *crm.SalesOrder) error { o.Comments = "позвонить"; return nil }); err != nil {
			t.Fatal(err)
		}
		e.settings(func(s *exchange.Settings) {
			s.StatusMap = map[string]string{"Created": "Новый"}
			s.Version = "2.08"
		})
		_, body = c.call("sale", "query", nil, nil)
		docs = parseOrders(t, body)
		schematest.Validate(t, []byte(body))
		if len(docs) != 1 || docs[0].Number != orders[2].Number || strings.Contains(body, "<Контейнер>") {
			t.Fatalf("manual change: %s", body)
		}
		if st, _ := docs[0].Requisite("Статус заказа"); st != "Новый" {
			t.Fatalf("status mapping: %q", st)
		}
		// A line names 1C's own item by its id, with the article.
		if it := docs[0].Items; len(it) != 3 || it[0].Article != "DR-500" || it[0].ID == "" ||
			it[0].ID != e.product("Дрель ударная", "DR-500").ExternalIDs["1c"] || it[1].Article != "DR-700" || it[2].Article != "" || it[2].ID == "" {
			t.Fatalf("order lines: %+v", it)
		}

		// The journal: every exchange, with counts, and its raw file.
		ents := e.entries()
		var imp1 exchange.Entry
		for _, en := range ents {
			if en.Filename == "import.xml" {
				imp1 = e.journal(strconv.FormatInt(en.ID, 10))
			}
		}
		if imp1.Status != "success" || imp1.Direction != exchange.DirIn || imp1.Counts["product"].Created != 2 || imp1.Counts["product"].Updated != 2 ||
			imp1.Counts["service"].Updated != 1 || imp1.Counts["catalog"].Created != 4 || imp1.FinishedAt == nil || !imp1.FileKept {
			t.Fatalf("import journal: %+v %+v", imp1, imp1.Counts["product"])
		}
		code, raw := e.api("GET", fmt.Sprintf("/api/v1/exchanges/%d/file", imp1.ID), nil)
		if code != 200 || string(raw) != string(imp) {
			t.Fatalf("download: %d, %d bytes", code, len(raw))
		}
		var outs int
		for _, en := range ents {
			if en.Direction == exchange.DirOut {
				outs++
			}
		}
		if outs != 4 {
			t.Fatalf("%d outgoing entries", outs)
		}
	})
}

func containsID(ids []int64, id int64) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// checkauth is rate-limited per client address and answers 429 with a
// failure once the burst is spent.
func TestCheckauthRateLimit(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(*exchange.Settings) {})
		e.app.CommerceML.SetAuthLimiter(httpx.NewLimiter(time.Hour, 3))
		bad := e.oneC()
		bad.key = "obmen_wrong"
		for i := 0; i < 3; i++ {
			bad.must("catalog", "checkauth", nil, nil, "failure\nwrong user name or access key")
		}
		code, out := e.oneC().call("catalog", "checkauth", nil, nil)
		if code != 429 || !strings.HasPrefix(out, "failure\ntoo many sign-in attempts") {
			t.Fatalf("%d %q", code, out)
		}
	})
}

// TestSessionTokenNotStored: the database keeps only a hash of the 1C
// session cookie — not in the sessions table, not in the journal — and
// the hash itself does not open a session.
func TestSessionTokenNotStored(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(s *exchange.Settings) {})
		c := e.oneC()
		c.checkauth("catalog")
		c.must("catalog", "init", nil, nil, "zip=")
		var n int
		if err := e.d.Read.QueryRowContext(e.ctx, "SELECT COUNT(*) FROM cml_sessions WHERE id = $1", c.cookie).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the cookie is stored in cml_sessions (%d, %v)", n, err)
		}
		var stored string
		if err := e.d.Read.QueryRowContext(e.ctx, "SELECT id FROM cml_sessions").Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, c.cookie) || len(stored) != 64 {
			t.Fatalf("stored session id %q", stored)
		}
		thief := e.oneC()
		thief.cookie = stored[:32]
		thief.must("catalog", "init", nil, nil, "failure\n")
		thief.cookie = stored
		thief.must("catalog", "init", nil, nil, "failure\n")
	})
}
