package exchange

import (
	"reflect"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/crm"
)

// fakeLookup is the CRM as maps.
type fakeLookup struct {
	products map[[2]string][]Named
	services map[string]int64
	accounts map[string]int64
	orders   map[string]int64
	ext      map[string]int64 // "entity/id"
}

func (f fakeLookup) ProductsByNameArticle(n, a string) ([]Named, error) {
	return f.products[[2]string{n, a}], nil
}
func (f fakeLookup) ServiceByName(n string) (int64, error)  { return f.services[n], nil }
func (f fakeLookup) AccountByName(n string) (int64, error)  { return f.accounts[n], nil }
func (f fakeLookup) OrderByNumber(n string) (int64, error)  { return f.orders[n], nil }
func (f fakeLookup) ByExternal(e, id string) (int64, error) { return f.ext[e+"/"+id], nil }

var crmNow = fakeLookup{
	products: map[[2]string][]Named{{"Дрель", "DR-1"}: {{1, "g-1"}}, {"Кабель", ""}: {{2, ""}}, {"Дрель", "DR-2"}: {{3, ""}},
		{"Пила", "P-1"}: {{4, "g-4"}, {5, ""}}},
	services: map[string]int64{"Монтаж": 10},
	accounts: map[string]int64{"ООО Ромашка": 20},
	orders:   map[string]int64{"SO-1": 30},
	ext: map[string]int64{"product/g-1": 1, "product/g-9": 9, "product/g-4": 4, "service/s-1": 11, "catalog/c-1": 40,
		"account/a-1": 21},
}

// TestMatchProduct: a product carrying a 1C id is only ever matched by
// that id; name and article link goods to products made by hand only.
func TestMatchProduct(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                string
		good, article, id1c string
		want                ProductMatch
	}{
		{"by 1C id", "Дрель", "DR-1", "g-1", ProductMatch{Match: Match{1, ByExternalID}}},
		{"1C id wins over name and article", "Дрель", "DR-2", "g-1", ProductMatch{Match: Match{1, ByExternalID}}},
		{"renamed in 1C, found by 1C id", "Дрель новая", "DR-9", "g-9", ProductMatch{Match: Match{9, ByExternalID}}},
		{"hand-made product linked by name and article", "Дрель", "DR-2", "g-new", ProductMatch{Match: Match{3, ByNameArticle}, Link: true}},
		{"a product with another 1C id is never shared", "Дрель", "DR-1", "g-2",
			ProductMatch{Match: Match{0, NoMatch}, Link: true, Collisions: []Named{{1, "g-1"}}}},
		{"hand-made twin of a 1C product is linked, the collision named", "Пила", "P-1", "g-5",
			ProductMatch{Match: Match{5, ByNameArticle}, Link: true, Collisions: []Named{{4, "g-4"}}}},
		{"a good without a 1C id does not take a product with one", "Дрель", "DR-1", "",
			ProductMatch{Match: Match{0, NoMatch}, Collisions: []Named{{1, "g-1"}}}},
		{"empty article matches the product without one", "Кабель", "", "", ProductMatch{Match: Match{2, ByNameArticle}}},
		{"empty article does not match one with an article", "Дрель", "", "", ProductMatch{Match: Match{0, NoMatch}}},
		{"same name, other article → new", "Дрель", "DR-3", "", ProductMatch{Match: Match{0, NoMatch}}},
		{"nothing → new, carrying the 1C id", "Пила", "P-2", "g-404", ProductMatch{Match: Match{0, NoMatch}, Link: true}},
		{"offer without a name: by 1C id", "", "", "g-1", ProductMatch{Match: Match{1, ByExternalID}}},
		{"offer without a name: never by name", " ", "", "g-404", ProductMatch{Match: Match{0, NoMatch}, Link: true}},
	}
	for _, c := range cases {
		got, err := MatchProduct(crmNow, c.good, c.article, c.id1c)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
}

func TestMatchRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		got  func() (Match, error)
		want Match
	}{
		{"service by name", func() (Match, error) { return MatchService(crmNow, " Монтаж ", "s-404") }, Match{10, ByName}},
		{"service by 1C id", func() (Match, error) { return MatchService(crmNow, "Монтаж (новое)", "s-1") }, Match{11, ByExternalID}},
		{"service: nothing → new", func() (Match, error) { return MatchService(crmNow, "Доставка", "") }, Match{0, NoMatch}},
		{"catalog by 1C id", func() (Match, error) { return MatchCatalog(crmNow, "c-1") }, Match{40, ByExternalID}},
		{"catalog: never by name", func() (Match, error) { return MatchCatalog(crmNow, "") }, Match{0, NoMatch}},
		{"account by 1C id first", func() (Match, error) { return MatchAccount(crmNow, "a-1", "ООО Ромашка") }, Match{21, ByExternalID}},
		{"account by name on the first exchange", func() (Match, error) { return MatchAccount(crmNow, "a-new", "ООО Ромашка") }, Match{20, ByName}},
		{"account: nothing → new", func() (Match, error) { return MatchAccount(crmNow, "a-new", "ИП Иванов") }, Match{0, NoMatch}},
		{"order by number", func() (Match, error) { return MatchOrder(crmNow, "SO-1") }, Match{30, ByNumber}},
		{"order: unknown number is never created", func() (Match, error) { return MatchOrder(crmNow, "SO-404") }, Match{0, NoMatch}},
		{"order: no number", func() (Match, error) { return MatchOrder(crmNow, " ") }, Match{0, NoMatch}},
	}
	for _, c := range cases {
		got, err := c.got()
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
}

func doc(reqs ...string) *commerceml.Document {
	d := &commerceml.Document{}
	for i := 0; i+1 < len(reqs); i += 2 {
		d.Requisites = append(d.Requisites, commerceml.Requisite{Name: reqs[i], Value: reqs[i+1]})
	}
	return d
}

func TestDeriveStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		d    *commerceml.Document
		want string
	}{
		{"no requisites: not posted", doc(), crm.OrderCreated},
		{"posted false", doc("Проведен", "false"), crm.OrderCreated},
		{"posted, no payment", doc("Проведен", "true", "Номер отгрузки по 1С", "РТУ-1"), crm.OrderApproved},
		{"posted, empty payment number", doc("Проведен", "true", "Номер оплаты по 1С", ""), crm.OrderApproved},
		{"posted with payment number", doc("Проведен", "true", "Номер оплаты по 1С", "ПП-7"), crm.OrderDelivered},
		{"posted with payment date only", doc("Проведен", "true", "Дата оплаты по 1С", "2026-11-19"), crm.OrderDelivered},
		{"not posted with payment: still Created", doc("Проведен", "false", "Номер оплаты по 1С", "ПП-7"), crm.OrderCreated},
		{"marked for deletion", doc("Проведен", "true", "ПометкаУдаления", "true"), crm.OrderCancelled},
		{"deletion mark false", doc("ПометкаУдаления", "false", "Проведен", "true"), crm.OrderApproved},
	}
	for _, c := range cases {
		if got := DeriveStatus(c.d); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	kept := KeptRequisites(doc("Проведен", "true", "Номер отгрузки по 1С", "РТУ-1", "Дата по 1С", "2026-11-18", "ПометкаУдаления", "false"))
	if len(kept) != 2 || kept[0].Name != "Номер отгрузки по 1С" || kept[1].Value != "2026-11-18" {
		t.Errorf("kept %+v", kept)
	}
}

func TestCurrencyRules(t *testing.T) {
	t.Parallel()
	active := func(c string) bool { return c == "RUB" || c == "USD" }
	cases := []struct{ code, fallback, want, err string }{
		{"руб", "", "RUB", ""},
		{"RUR", "", "RUB", ""},
		{"643", "", "RUB", ""},
		{"", "", "RUB", ""},
		{"", "USD", "USD", ""},
		{"usd", "", "USD", ""},
		{"EUR", "", "", "currency EUR (\"EUR\") of order SO-1 is not active"},
	}
	for _, c := range cases {
		got, err := Currency(c.code, c.fallback, active, "order SO-1")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.code, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %q %v, want %q", c.code, got, err, c.want)
		}
	}
	if StatusTo1C("Approved", map[string]string{"Approved": "Согласован"}) != "Согласован" || StatusTo1C("Created", nil) != "Created" {
		t.Error("StatusTo1C")
	}
}

func TestNumbers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want crm.Amount
	}{{"87.2000", 8720}, {"1 290,50", 129050}, {"0", 0}, {"4500.00", 450000}} {
		got, err := ParseAmount(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseAmount(%q) = %d, %v", c.in, got, err)
		}
	}
	if v, err := ParseVAT("без НДС"); v != nil || err != nil {
		t.Error("без НДС")
	}
	if v, err := ParseVAT("20%"); err != nil || *v != 2000 {
		t.Error("20%")
	}
	if _, err := ParseVAT("двадцать"); err == nil {
		t.Error("bad VAT accepted")
	}
}
