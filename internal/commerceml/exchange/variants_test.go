package exchange_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/commerceml/schematest"
	"github.com/obmen/obmen/internal/crm"
)

// Order lines and product variants: a line 1C sends as
// "<good>#<characteristic>" names the variant with that 1C id when Obmen
// has it (else the good's product alone), and a line made in the CRM
// with a variant goes to 1C under the variant's Ид, article and
// characteristics, valid against the schema.
func TestOrderLineVariants(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.app.Store
		e.settings(func(*exchange.Settings) {})
		const good = "f1e2d3c4-0005-11e0-8000-000000000005"
		p, err := s.CreateProduct(e.ctx, e.admin, crm.Product{Name: "Кроссовки беговые", Article: "SN-RUN-01",
			Extra: crm.Extra{ExternalIDs: map[string]string{exchange.System: good}}})
		if err != nil {
			t.Fatal(err)
		}
		var v42, v44 int64
		err = e.d.Write(e.ctx, func(ctx context.Context, tx *sql.Tx) error {
			if err := tx.QueryRowContext(ctx, `INSERT INTO product_variants (product_id, id1c, name, article, characteristics, price, currency, stock)
				VALUES ($1, $2, 'Кроссовки беговые (42, синий)', 'SN-RUN-01', '[{"name":"Размер","value":"42"},{"name":"Цвет","value":"Синий"}]', 599000, 'RUB', 3000)
				RETURNING id`, p.ID, good+"#8a7b6c5d-0005-11e0-8000-0000000000a1").Scan(&v42); err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, `INSERT INTO product_variants (product_id, id1c, name, article, characteristics, price, currency, stock)
				VALUES ($1, $2, 'Кроссовки беговые (44, красный)', 'SN-RUN-01-44', '[{"name":"Размер","value":"44"},{"name":"Цвет","value":"Красный"}]', 619000, 'RUB', 1000)
				RETURNING id`, p.ID, good+"#8a7b6c5d-0005-11e0-8000-0000000000a4").Scan(&v44)
		})
		if err != nil {
			t.Fatal(err)
		}

		// In: the 42 is known, the 43 is not.
		in, err := s.CreateSalesOrder(e.ctx, e.admin, crm.SalesOrder{Items: []crm.LineItem{{Name: "Старая строка", Price: 100, Quantity: 1000}}})
		if err != nil {
			t.Fatal(err)
		}
		doc := strings.Replace(string(testdata(t, "orders_208_characteristics_bom.xml")), "<Номер>C-71</Номер>", "<Номер>"+in.Number+"</Номер>", 1)
		c := e.oneC()
		c.checkauth("sale")
		if out := c.upload("sale", "orders.xml", []byte(doc), 1<<20); out != "success\n" {
			t.Fatalf("upload: %q", out)
		}
		c.must("sale", "import", url.Values{"filename": {"orders.xml"}}, nil, "success")
		got, err := s.GetSalesOrder(e.ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Items) != 2 {
			t.Fatalf("imported order: %+v", got.Items)
		}
		if it := got.Items[0]; it.ProductID != p.ID || it.VariantID != v42 {
			t.Errorf("line 1 (known characteristic): product %d variant %d, want %d %d", it.ProductID, it.VariantID, p.ID, v42)
		}
		if it := got.Items[1]; it.ProductID != p.ID || it.VariantID != 0 {
			t.Errorf("line 2 (unknown characteristic): product %d variant %d, want %d 0", it.ProductID, it.VariantID, p.ID)
		}

		// Out: a line chosen in the CRM with the 44.
		out, err := s.CreateSalesOrder(e.ctx, e.admin, crm.SalesOrder{Items: []crm.LineItem{{ProductID: p.ID, VariantID: v44, Price: 619000, Quantity: 1000}}})
		if err != nil {
			t.Fatal(err)
		}
		_, body := c.call("sale", "query", nil, nil)
		schematest.Validate(t, []byte(body))
		var found bool
		for _, d := range parseOrders(t, body) {
			if d.Number != out.Number {
				continue
			}
			found = true
			if len(d.Items) != 1 {
				t.Fatalf("sent order %s: %+v", d.Number, d.Items)
			}
			it := d.Items[0]
			if it.ID != good+"#8a7b6c5d-0005-11e0-8000-0000000000a4" || it.Article != "SN-RUN-01-44" {
				t.Errorf("sent line: Ид %q article %q", it.ID, it.Article)
			}
			var chars []string
			for _, ch := range it.Characteristics {
				chars = append(chars, ch.Name+"="+ch.Value)
			}
			if strings.Join(chars, ",") != "Размер=44,Цвет=Красный" {
				t.Errorf("sent characteristics %v", chars)
			}
		}
		if !found {
			t.Fatalf("query did not send order %s:\n%s", out.Number, body)
		}
	})
}
