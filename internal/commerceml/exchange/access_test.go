package exchange_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// managers are two managers, each with an API key, an account with an
// INN and an order of that account.
type managers struct {
	a, b         crm.User
	keyA, keyB   string
	keyAID       int64
	orderA       crm.SalesOrder
	orderB       crm.SalesOrder
	innA, innB   string
	actorA, actB crm.Actor
}

func (e *env) managers() managers {
	e.t.Helper()
	s := e.app.Store
	m := managers{innA: "7701234560", innB: "7707083893"}
	var err error
	for _, x := range []struct {
		u     *crm.User
		key   *string
		login string
	}{{&m.a, &m.keyA, "manager-a"}, {&m.b, &m.keyB, "manager-b"}} {
		*x.u, err = s.CreateUser(e.ctx, e.admin, crm.User{Login: x.login, Role: crm.RoleManager, Active: true}, "a long password 12345")
		if err != nil {
			e.t.Fatal(err)
		}
		var k crm.APIKey
		k, *x.key, err = s.CreateAPIKey(e.ctx, e.admin, x.u.ID, "1c")
		if err != nil {
			e.t.Fatal(err)
		}
		if x.u == &m.a {
			m.keyAID = k.ID
		}
	}
	m.actorA, m.actB = crm.Actor{UserID: m.a.ID}, crm.Actor{UserID: m.b.ID}
	order := func(actor crm.Actor, owner int64, title, inn string) crm.SalesOrder {
		acc, err := s.CreateAccount(e.ctx, actor, crm.Account{Meta: crm.Meta{AssignedByID: owner}, Title: title, INN: inn})
		if err != nil {
			e.t.Fatal(err)
		}
		o, err := s.CreateSalesOrder(e.ctx, actor, crm.SalesOrder{Meta: crm.Meta{AssignedByID: owner}, AccountID: acc.ID,
			Items: []crm.LineItem{{Name: "Старая строка", Price: 100, Quantity: 1000}}})
		if err != nil {
			e.t.Fatal(err)
		}
		if o.AssignedByID != owner {
			e.t.Fatalf("order assigned to %d, want %d", o.AssignedByID, owner)
		}
		return o
	}
	m.orderA = order(m.actorA, m.a.ID, "ООО Альфа", m.innA)
	m.orderB = order(m.actB, m.b.ID, "ООО Бета", m.innB)
	return m
}

func (e *env) grant(userID int64, perms ...string) {
	e.t.Helper()
	if err := e.app.Store.SetUserPermissions(e.ctx, e.admin, userID, perms); err != nil {
		e.t.Fatal(err)
	}
}

// TestExchangeNeedsPermission: a manager's key alone no longer opens the
// exchange; the administrator's "1C exchange" permission does, and the
// catalog needs its own.
func TestExchangeNeedsPermission(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(*exchange.Settings) {})
		m := e.managers()
		c := &oneC{t: t, e: e, login: m.a.Login, key: m.keyA}
		out := c.must("sale", "checkauth", nil, nil, "failure\n")
		if !strings.Contains(out, "нет права «Обмен с 1С»") || !strings.Contains(out, m.a.Login) {
			t.Fatalf("refusal does not say why: %q", out)
		}
		refused := false
		for _, en := range e.entries() {
			if en.Status == exchange.StatusFailure && strings.Contains(en.Error, "нет права") {
				refused = true
			}
		}
		if !refused {
			t.Fatal("the refused sign-in is not in the journal")
		}
		e.grant(m.a.ID, store.PermExchange1C)
		c.checkauth("sale")
		c.must("sale", "init", nil, nil, "zip=")
		// The catalog is everyone's: it needs the catalog permission.
		out = c.must("catalog", "checkauth", nil, nil, "failure\n")
		if !strings.Contains(out, "Загрузка каталога из 1С") {
			t.Fatalf("catalog refusal: %q", out)
		}
		out = c.must("catalog", "init", nil, nil, "failure\n")
		if !strings.Contains(out, "Загрузка каталога из 1С") {
			t.Fatalf("catalog call in a sale session: %q", out)
		}
		e.grant(m.a.ID, store.PermExchange1C, store.PermCatalog1C)
		c.checkauth("catalog")
		c.must("catalog", "init", nil, nil, "zip=")
		// The administrator needs no grant.
		a := e.oneC()
		a.checkauth("catalog")
		a.must("catalog", "init", nil, nil, "zip=")
	})
}

// TestExchangeRevokedStopsSession: taking the permission back, disabling
// the user or revoking the key stops a session already open.
func TestExchangeRevokedStopsSession(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(*exchange.Settings) {})
		m := e.managers()
		s := e.app.Store
		e.grant(m.a.ID, store.PermExchange1C)
		c := &oneC{t: t, e: e, login: m.a.Login, key: m.keyA}
		c.checkauth("sale")
		c.must("sale", "query", nil, nil, "<?xml")
		e.grant(m.a.ID)
		for _, mode := range []string{"init", "query", "success", "file", "import", "complete"} {
			var body []byte
			if mode == "file" {
				body = []byte("<x/>")
			}
			out := c.must("sale", mode, url.Values{"filename": {"orders.xml"}}, body, "failure\n")
			if !strings.Contains(out, "нет права «Обмен с 1С»") {
				t.Errorf("mode=%s after the permission was taken back: %q", mode, out)
			}
		}
		e.grant(m.a.ID, store.PermExchange1C)
		c.must("sale", "init", nil, nil, "zip=")
		if err := s.RevokeAPIKey(e.ctx, e.admin, m.keyAID); err != nil {
			t.Fatal(err)
		}
		if out := c.must("sale", "init", nil, nil, "failure\n"); !strings.Contains(out, "отозван") {
			t.Fatalf("after the key was revoked: %q", out)
		}
	})
}

// TestExchangeQueryScoped: a manager's query sends their own orders, not
// another manager's order nor its counterparty.
func TestExchangeQueryScoped(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(*exchange.Settings) {})
		m := e.managers()
		e.grant(m.a.ID, store.PermExchange1C)
		c := &oneC{t: t, e: e, login: m.a.Login, key: m.keyA}
		c.checkauth("sale")
		_, body := c.call("sale", "query", nil, nil)
		docs := parseOrders(t, body)
		if len(docs) != 1 || docs[0].Number != m.orderA.Number {
			t.Fatalf("manager A's query sent %d documents, want only %s:\n%s", len(docs), m.orderA.Number, body)
		}
		if strings.Contains(body, m.innB) || strings.Contains(body, "ООО Бета") || strings.Contains(body, m.orderB.Number) {
			t.Fatalf("manager A was sent manager B's order or counterparty:\n%s", body)
		}
		if !strings.Contains(body, m.innA) {
			t.Fatalf("own counterparty's INN missing:\n%s", body)
		}
		c.must("sale", "success", nil, nil, "success")
		// The manager's confirmation does not move the mark of the
		// integration user (here the administrator): it is still sent both.
		a := e.oneC()
		a.checkauth("sale")
		_, body = a.call("sale", "query", nil, nil)
		if docs := parseOrders(t, body); len(docs) != 2 {
			t.Fatalf("administrator's query after a manager's: %d documents\n%s", len(docs), body)
		}
		// Granted B's records to read, A is sent them too.
		if err := e.app.Store.SetGrants(e.ctx, e.admin, m.a.ID, []store.Grant{{OwnerID: m.b.ID}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.Store.UpdateSalesOrder(e.ctx, m.actB, m.orderB.ID, func(o *crm.SalesOrder) error { o.Comments = "x"; return nil }); err != nil {
			t.Fatal(err)
		}
		_, body = c.call("sale", "query", nil, nil)
		if docs := parseOrders(t, body); len(docs) != 1 || docs[0].Number != m.orderB.Number || !strings.Contains(body, m.innB) {
			t.Fatalf("granted B's records, A's query: %d documents\n%s", len(docs), body)
		}
	})
}

// TestExchangeImportScoped: an orders file changes the manager's own
// order and refuses, per document and with the reason, another's.
func TestExchangeImportScoped(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(*exchange.Settings) {})
		m := e.managers()
		s := e.app.Store
		e.grant(m.a.ID, store.PermExchange1C)
		doc := string(testdata(t, "orders_209_price_unit.xml"))
		doc = strings.Replace(doc, "<Номер>P-310</Номер>", "<Номер>"+m.orderB.Number+"</Номер>", 1)
		doc = strings.Replace(doc, "<Номер>P-311</Номер>", "<Номер>"+m.orderA.Number+"</Номер>", 1)
		c := &oneC{t: t, e: e, login: m.a.Login, key: m.keyA}
		c.checkauth("sale")
		if out := c.upload("sale", "orders.xml", []byte(doc), 4000); out != "success\n" {
			t.Fatalf("upload: %q", out)
		}
		if o, _ := s.GetSalesOrder(e.ctx, m.orderB.ID); len(o.Items) != 1 || o.Items[0].Name != "Старая строка" || o.Status != m.orderB.Status || o.UpdatedByID != m.orderB.UpdatedByID {
			t.Errorf("manager A's file changed manager B's order: %+v", o)
		}
		if o, _ := s.GetSalesOrder(e.ctx, m.orderA.ID); len(o.Items) == 0 || o.Items[0].Name == "Старая строка" {
			t.Errorf("manager A's own order was not updated: %+v", o.Items)
		}
		var en exchange.Entry
		for _, x := range e.entries() {
			if x.Filename == "orders.xml" {
				en = x
			}
		}
		if en.Status != exchange.StatusSuccess || en.Counts["sales_order"] == nil || en.Counts["sales_order"].Failed != 1 || en.Counts["sales_order"].Updated != 1 {
			t.Fatalf("journal: %s %+v %+v", en.Status, en.Problems, en.Counts["sales_order"])
		}
		if len(en.Problems) != 1 || !strings.Contains(en.Problems[0], "order "+m.orderB.Number) || !strings.Contains(en.Problems[0], "responsible") {
			t.Fatalf("problem does not name the order and the reason: %+v", en.Problems)
		}
	})
}

// TestExchangeSessionQuota: a session uploads at most its quota in all,
// however many files it spreads it over.
func TestExchangeSessionQuota(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.settings(func(s *exchange.Settings) { s.MaxSessionBytes = 10000; s.FileLimit = 4000 })
		c := e.oneC()
		c.checkauth("catalog")
		chunk := []byte(strings.Repeat("x", 3000))
		for i, name := range []string{"a.jpg", "b.jpg", "c.jpg"} {
			if out := c.upload("catalog", "import_files/"+name, chunk, 3000); out != "success\n" {
				t.Fatalf("file %d: %q", i, out)
			}
		}
		out := c.upload("catalog", "import_files/d.jpg", chunk, 3000)
		if !strings.HasPrefix(out, "failure\n") || !strings.Contains(out, "10000 bytes in all") {
			t.Fatalf("the fourth file passed the quota: %q", out)
		}
		// What fits still goes.
		if out := c.upload("catalog", "import_files/e.jpg", chunk[:1000], 1000); out != "success\n" {
			t.Fatalf("a file within the quota: %q", out)
		}
		if out := c.upload("catalog", "import_files/f.jpg", chunk[:1], 1); !strings.HasPrefix(out, "failure\n") {
			t.Fatalf("past the quota: %q", out)
		}
		// A new session has its own.
		c.checkauth("catalog")
		if out := c.upload("catalog", "import_files/d.jpg", chunk, 3000); out != "success\n" {
			t.Fatalf("a new session: %q", out)
		}
	})
}
