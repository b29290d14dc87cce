package exchange

import (
	"testing"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/crm"
)

func TestOrderStatus(t *testing.T) {
	t.Parallel()
	doc := func(kv ...string) *commerceml.Document {
		d := &commerceml.Document{}
		for i := 0; i < len(kv); i += 2 {
			d.Requisites = append(d.Requisites, commerceml.Requisite{Name: kv[i], Value: kv[i+1]})
		}
		return d
	}
	table := map[string]string{crm.OrderApproved: "В работе", crm.OrderDelivered: "[F] Выполнен", crm.OrderCancelled: "Отменён покупателем"}
	cases := []struct {
		name    string
		d       *commerceml.Document
		mapping map[string]string
		want    string
	}{
		{"1C: not posted", doc("Проведен", "false"), nil, crm.OrderCreated},
		{"1C: posted, paid", doc("Проведен", "true", "Номер оплаты по 1С", "ПП-1"), nil, crm.OrderDelivered},
		{"1C: posted", doc("Проведен", "true"), nil, crm.OrderApproved},
		{"1C: deleted wins", doc("Проведен", "true", "ПометкаУдаления", "true", "Статус заказа", "В работе"), table, crm.OrderCancelled},
		{"Bitrix: cancelled wins over the status", doc("Статус заказа", "[N] Принят", "Отменен", "true"), nil, crm.OrderCancelled},
		{"Bitrix: [F] Доставлен by its name", doc("Статус заказа", "[F] Доставлен"), nil, crm.OrderDelivered},
		{"Bitrix: [N] Принят by its name", doc("Статус заказа", "[N] Принят", "Заказ оплачен", "false"), nil, crm.OrderCreated},
		{"table: exact text", doc("Статус заказа", "в работе"), table, crm.OrderApproved},
		{"table: Bitrix code", doc("Статус заказа", "[F] Отгружен клиенту"), table, crm.OrderDelivered},
		{"table: text without the code", doc("Статус заказа", "Выполнен"), table, crm.OrderDelivered},
		{"table wins over flags", doc("Статус заказа", "В работе", "Заказ оплачен", "true"), table, crm.OrderApproved},
		{"table: a cancelled status", doc("Статус заказа", "Отменён покупателем"), table, crm.OrderCancelled},
		{"unknown status, paid", doc("Статус заказа", "processing", "Заказ оплачен", "true"), nil, crm.OrderDelivered},
		{"unknown status, payment date", doc("Статус заказа", "processing", "Дата оплаты", "2026-11-20"), nil, crm.OrderDelivered},
		{"shipped", doc("Отгружен", "true"), nil, crm.OrderDelivered},
		{"final", doc("Финальный статус", "true"), nil, crm.OrderDelivered},
		{"delivery allowed", doc("Доставка разрешена", "true"), nil, crm.OrderApproved},
		{"nothing", doc(), nil, crm.OrderCreated},
		{"empty payment date", doc("Дата оплаты", "", "Заказ оплачен", "false"), nil, crm.OrderCreated},
		{"Obmen's own English name back", doc("Статус заказа", "Approved"), nil, crm.OrderApproved},
	}
	for _, c := range cases {
		if got := OrderStatus(c.d, c.mapping); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestLinePrice(t *testing.T) {
	t.Parallel()
	cases := []struct {
		price, sum, qty string
		want            crm.Amount
		err             bool
	}{
		{"1 250,50", "", "1", 125050, false},
		{"", "1049.70", "3", 34990, false},
		{"", "100", "3", 3333, false},
		{"", "200", "3", 6667, false},
		{"", "499.90", "1.25", 39992, false},
		{"", "", "2", 0, false},
		{"", "15", "0", 1500, false},
		{"abc", "", "1", 0, true},
		{"", "x", "1", 0, true},
	}
	for _, c := range cases {
		it := &commerceml.Item{Price: c.price, Sum: c.sum, Quantity: c.qty}
		q, err := ParseQuantity(c.qty)
		if err != nil {
			t.Fatal(err)
		}
		got, err := linePrice(it, q)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("price %q sum %q qty %q: %v %v, want %v", c.price, c.sum, c.qty, got, err, c.want)
		}
	}
}

func TestLineID(t *testing.T) {
	t.Parallel()
	props := func(id string) map[string]any { return map[string]any{propID1C: id} }
	cases := []struct {
		name string
		it   crm.LineItem
		g    good
		want string
	}{
		{"1C's good", crm.LineItem{ProductID: 5}, good{id1c: "g-1"}, "g-1"},
		{"1C's variant as sent", crm.LineItem{ProductID: 5, Properties: props("g-1#c-2")}, good{id1c: "g-1"}, "g-1#c-2"},
		{"another good's id sent: the product's wins", crm.LineItem{ProductID: 5, Properties: props("g-9#c-2")}, good{id1c: "g-1"}, "g-1"},
		{"unlinked line keeps 1C's id", crm.LineItem{Properties: props("ORDER_DELIVERY")}, good{}, "ORDER_DELIVERY"},
		{"product without a 1C id", crm.LineItem{ProductID: 5}, good{}, "obmen-product-5"},
		{"service without a 1C id", crm.LineItem{ServiceID: 7}, good{}, "obmen-service-7"},
	}
	for _, c := range cases {
		if got := lineID(&c.it, c.g); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	// A free line: stable, the same for the same text, within the schema's 80.
	a := lineID(&crm.LineItem{Name: "Упаковка  подарочная"}, good{})
	b := lineID(&crm.LineItem{Name: "упаковка подарочная"}, good{})
	c := lineID(&crm.LineItem{Name: "Доставка"}, good{})
	if a != b || a == c || len(a) > 80 || a[:11] != "obmen-line-" {
		t.Errorf("free lines: %q %q %q", a, b, c)
	}
}
