package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestInvoiceLifecycle(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		acc := docAccount(t, s, admin, "ООО Ромашка")
		con := docContact(t, s, admin, "Иван")
		deal := docDeal(t, s, admin, "Баннеры", acc, "RUB")
		prod := docProduct(t, s, admin, "Баннер", "м2", 150050)

		before := time.Now().UTC().Format(time.DateOnly)
		v, err := s.CreateInvoice(ctx, admin, crm.Invoice{
			Number: "INV-777777", DealID: deal, AccountID: acc, ContactID: con, DueDate: "2099-01-31",
			PaymentURL: "https://pay.example.ru/i/1", Items: docItems(prod),
			Extra: crm.Extra{ExternalIDs: map[string]string{"1c": "СЧ-0001"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		after := time.Now().UTC().Format(time.DateOnly)
		if v.Number != "INV-000001" || v.Status != "N" || (v.InvoiceDate != before && v.InvoiceDate != after) || v.DueDate != "2099-01-31" {
			t.Fatalf("number %q status %q dates %q %q", v.Number, v.Status, v.InvoiceDate, v.DueDate)
		}
		if v.Totals != docTotals {
			t.Fatalf("totals %+v, want %+v", v.Totals, docTotals)
		}
		var sub, disc, tax, total int64
		if err := s.DB().Read.QueryRowContext(ctx, "SELECT subtotal, discount, tax, total FROM invoices WHERE id = $1", v.ID).
			Scan(&sub, &disc, &tax, &total); err != nil {
			t.Fatal(err)
		}
		if (crm.Totals{Subtotal: crm.Amount(sub), Discount: crm.Amount(disc), Tax: crm.Amount(tax), Total: crm.Amount(total)}) != docTotals {
			t.Fatalf("stored totals %d %d %d %d", sub, disc, tax, total)
		}
		got, err := s.GetInvoice(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Totals != docTotals || len(got.Items) != 3 || got.Items[0].Name != "Баннер" || got.Items[1].Tax != 180000 ||
			got.DealID != deal || got.AccountID != acc || got.ContactID != con || got.PaymentURL != "https://pay.example.ru/i/1" ||
			got.ExternalIDs["1c"] != "СЧ-0001" {
			t.Fatalf("read back: %+v", got)
		}
		if byNum, err := s.InvoiceByNumber(ctx, "INV-000001"); err != nil || byNum.ID != v.ID {
			t.Fatalf("by number: %v", err)
		}

		// Paid, with one more row: 12.34 × 1.5 = 18.51, VAT 10% on top 1.85.
		vat10 := crm.Amount(1000)
		up, err := s.UpdateInvoice(ctx, admin, v.ID, func(x *crm.Invoice) error {
			x.Status = "P"
			x.Items = append(x.Items, crm.LineItem{Name: "Упаковка", Price: 1234, Quantity: 1500, VATRate: &vat10})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := crm.Totals{Subtotal: 1406973, Discount: 100097, Tax: 242706, Total: 1487061}
		if up.Totals != want || up.Items[3].Tax != 185 || up.Items[3].Sum != 2036 {
			t.Fatalf("updated totals %+v items %+v", up.Totals, up.Items)
		}
		if got, _ := s.GetInvoice(ctx, v.ID); got.Totals != want || len(got.Items) != 4 || got.Status != "P" {
			t.Fatalf("update not stored: %+v", got)
		}
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityInvoice, RecordID: v.ID})
		if err != nil || len(evs) != 2 || evs[0].Action != events.Create || evs[1].Action != events.Update {
			t.Fatalf("events: %v %+v", err, evs)
		}
		for field, w := range map[string][2]string{
			"status": {`"N"`, `"P"`}, "subtotal": {"14051.22", "14069.73"}, "tax": {"2425.21", "2427.06"}, "total": {"14850.25", "14870.61"},
		} {
			ch, ok := evs[1].Changes[field]
			if !ok || string(ch.Old) != w[0] || string(ch.New) != w[1] {
				t.Fatalf("update event %s: %s → %s, want %s → %s", field, ch.Old, ch.New, w[0], w[1])
			}
		}
		if _, ok := evs[1].Changes["discount"]; ok {
			t.Fatalf("unchanged discount in the event: %+v", evs[1].Changes)
		}

		for _, tc := range []struct {
			name   string
			mutate func(*crm.Invoice)
			field  string
		}{
			{"order status", func(x *crm.Invoice) { x.Status = crm.OrderCreated }, "status"},
			{"number", func(x *crm.Invoice) { x.Number = "INV-000005" }, "number"},
			{"due before date", func(x *crm.Invoice) { x.InvoiceDate, x.DueDate = "2024-02-10", "2024-02-09" }, "due_date"},
			{"payment url", func(x *crm.Invoice) { x.PaymentURL = "javascript:alert(1)" }, "payment_url"},
			{"no deal", func(x *crm.Invoice) { x.DealID = 999 }, "deal_id"},
			{"no contact", func(x *crm.Invoice) { x.ContactID = 999 }, "contact_id"},
			{"bad row", func(x *crm.Invoice) { x.Items[2].DiscountRate = 10001 }, "items[2].discount_rate"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.UpdateInvoice(ctx, admin, v.ID, func(x *crm.Invoice) error { tc.mutate(x); return nil })
				if fieldOf(err) != tc.field {
					t.Fatalf("got %s, want %s", fieldOf(err), tc.field)
				}
			})
		}
		if _, err := s.CreateInvoice(ctx, admin, crm.Invoice{Status: "X"}); fieldOf(err) != "status" {
			t.Fatalf("create with bad status: %v", err)
		}

		// Delete and restore: rows stay.
		if err := s.Delete(ctx, admin, store.EntityInvoice, v.ID); err != nil {
			t.Fatal(err)
		}
		if l, _, _ := s.ListInvoices(ctx, store.ListParams{}); len(l) != 0 {
			t.Fatalf("deleted invoice still listed")
		}
		if _, err := s.UpdateInvoice(ctx, admin, v.ID, func(*crm.Invoice) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of deleted invoice: %v", err)
		}
		if err := s.Restore(ctx, admin, store.EntityInvoice, v.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetInvoice(ctx, v.ID); got.DeletedAt != nil || len(got.Items) != 4 || got.Totals != want {
			t.Fatalf("restore lost data: %+v", got)
		}

		docExec(t, s, "UPDATE settings SET value = 'СЧ/' WHERE key = 'invoice.prefix'")
		v2, err := s.CreateInvoice(ctx, admin, crm.Invoice{InvoiceDate: "2024-06-01"})
		if err != nil || v2.Number != "СЧ/000002" || v2.InvoiceDate != "2024-06-01" {
			t.Fatalf("second invoice: %v %+v", err, v2)
		}
		if byNum, err := s.InvoiceByNumber(ctx, "СЧ/000002"); err != nil || byNum.ID != v2.ID {
			t.Fatalf("by new number: %v", err)
		}
	})
}

func TestInvoiceFromDeal(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		acc := docAccount(t, s, admin, "ООО Ромашка")
		c1 := docContact(t, s, admin, "Первый")
		c2 := docContact(t, s, admin, "Основной")
		c3 := docContact(t, s, admin, "Третий")
		prod := docProduct(t, s, admin, "Баннер", "м2", 150050)
		deal := docDeal(t, s, admin, "Баннеры", acc, "USD")
		for _, dc := range []struct {
			id      int64
			sort    int
			primary bool
		}{{c1, 10, false}, {c2, 20, true}, {c3, 5, false}} {
			docExec(t, s, "INSERT INTO deal_contacts (deal_id, contact_id, sort, is_primary) VALUES ($1, $2, $3, $4)", deal, dc.id, dc.sort, dc.primary)
		}
		docExec(t, s, `INSERT INTO line_items (owner_type, owner_id, product_id, name, price, quantity, unit, vat_rate, vat_included, sum, tax, sort)
			VALUES ('deal', $1, $2, 'Баннер', 150050, 2500, 'м2', 2000, TRUE, 375125, 62521, 0)`, deal, prod)
		docExec(t, s, `INSERT INTO line_items (owner_type, owner_id, name, price, quantity, unit, discount_rate, discount, vat_rate, vat_included, sum, tax, sort)
			VALUES ('deal', $1, 'Монтаж', 1000000, 1000, 'усл', 1000, 100000, 2000, FALSE, 1080000, 180000, 1)`, deal)
		other := docDeal(t, s, admin, "Чужая", 0, "RUB")
		docExec(t, s, `INSERT INTO line_items (owner_type, owner_id, name, price, quantity, sum, tax) VALUES ('deal', $1, 'Чужое', 100, 1000, 100, 0)`, other)

		v, err := s.CreateInvoiceFromDeal(ctx, admin, deal)
		if err != nil {
			t.Fatal(err)
		}
		want := crm.Totals{Subtotal: 1375125, Discount: 100000, Tax: 242521, Total: 1455125}
		if v.Number != "INV-000001" || v.DealID != deal || v.AccountID != acc || v.ContactID != c2 || v.Currency != "USD" || v.Status != "N" {
			t.Fatalf("invoice from deal: %+v", v)
		}
		if v.Totals != want || len(v.Items) != 2 || v.Items[0].ProductID != prod || v.Items[0].Unit != "м2" || v.Items[1].Name != "Монтаж" ||
			v.Items[1].Discount != 100000 || v.AssignedByID != admin.UserID || v.InvoiceDate == "" {
			t.Fatalf("invoice from deal rows: %+v", v)
		}
		got, err := s.GetInvoice(ctx, v.ID)
		if err != nil || got.Totals != want || len(got.Items) != 2 || got.ContactID != c2 {
			t.Fatalf("read back: %v %+v", err, got)
		}
		var dealRows int
		if err := s.DB().Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM line_items WHERE owner_type = 'deal' AND owner_id = $1", deal).Scan(&dealRows); err != nil || dealRows != 2 {
			t.Fatalf("deal rows after copy: %v %d", err, dealRows)
		}
		var invRows int
		if err := s.DB().Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM line_items WHERE owner_type = 'invoice' AND owner_id = $1 AND sum IN (375125, 1080000)", v.ID).Scan(&invRows); err != nil || invRows != 2 {
			t.Fatalf("invoice rows: %v %d", err, invRows)
		}
		evs, err := s.Events(ctx, events.Query{Entity: store.EntityInvoice, RecordID: v.ID})
		if err != nil || len(evs) != 1 || evs[0].Action != events.Create || string(evs[0].Changes["deal_id"].New) != fmt.Sprint(deal) {
			t.Fatalf("events: %v %+v", err, evs)
		}

		// With the primary contact, the account and the product in the
		// recycle bin, the next live contact by sort is taken, the account
		// is left out and the product row becomes a free row.
		for _, del := range []struct {
			entity string
			id     int64
		}{{store.EntityContact, c2}, {store.EntityAccount, acc}, {store.EntityProduct, prod}} {
			if err := s.Delete(ctx, admin, del.entity, del.id); err != nil {
				t.Fatal(err)
			}
		}
		v2, err := s.CreateInvoiceFromDeal(ctx, admin, deal)
		if err != nil {
			t.Fatal(err)
		}
		if v2.Number != "INV-000002" || v2.ContactID != c3 || v2.AccountID != 0 || v2.Items[0].ProductID != 0 || v2.Items[0].Name != "Баннер" || v2.Totals != want {
			t.Fatalf("second invoice from deal: %+v", v2)
		}

		if _, err := s.CreateInvoiceFromDeal(ctx, admin, 9999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing deal: %v", err)
		}
		if err := s.Delete(ctx, admin, store.EntityDeal, deal); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateInvoiceFromDeal(ctx, admin, deal); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted deal: %v", err)
		}
		docExec(t, s, "UPDATE currencies SET active = FALSE WHERE code = 'RUB'")
		if _, err := s.CreateInvoiceFromDeal(ctx, admin, other); fieldOf(err) != "currency" {
			t.Fatalf("deal in an inactive currency: %v", err)
		}
		// Failures use up no numbers.
		docExec(t, s, "UPDATE currencies SET active = TRUE WHERE code = 'RUB'")
		v3, err := s.CreateInvoiceFromDeal(ctx, admin, other)
		if err != nil || v3.Number != "INV-000003" || len(v3.Items) != 1 || v3.Items[0].Name != "Чужое" || v3.ContactID != 0 {
			t.Fatalf("invoice from a deal without contacts: %v %+v", err, v3)
		}
	})
}

func TestInvoiceList(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		deal := docDeal(t, s, admin, "Сделка", 0, "RUB")
		dues := []string{"2024-07-20", "2024-07-05", "2024-07-15", "2024-07-10", "2024-07-01"}
		ids := make([]int64, len(dues))
		for i, due := range dues {
			v := crm.Invoice{InvoiceDate: "2024-06-30", DueDate: due, Items: []crm.LineItem{{Name: "Услуга", Price: crm.Amount(10000 * (i + 1)), Quantity: 1000}}}
			if i%2 == 1 {
				v.Status, v.DealID = "P", deal
			}
			got, err := s.CreateInvoice(ctx, admin, v)
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = got.ID
		}
		var order []int64
		cursor := ""
		for page := 0; page < 5; page++ {
			l, next, err := s.ListInvoices(ctx, store.ListParams{Sort: "due_date", Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range l {
				order = append(order, v.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if want := []int64{ids[4], ids[1], ids[3], ids[2], ids[0]}; fmt.Sprint(order) != fmt.Sprint(want) {
			t.Fatalf("by due date: %v, want %v", order, want)
		}
		for _, tc := range []struct {
			p    store.ListParams
			want []int64
		}{
			{store.ListParams{Filters: []store.Filter{{Field: "status", Value: "P"}}, Sort: "-total"}, []int64{ids[3], ids[1]}},
			{store.ListParams{Filters: []store.Filter{{Field: "deal_id", Value: fmt.Sprint(deal)}, {Field: "due_date", Op: "gt", Value: "2024-07-05"}}}, []int64{ids[3]}},
			{store.ListParams{Filters: []store.Filter{{Field: "total", Op: "lte", Value: "200.00"}}}, []int64{ids[0], ids[1]}},
			{store.ListParams{Q: "inv-000005"}, []int64{ids[4]}},
		} {
			l, _, err := s.ListInvoices(ctx, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, v := range l {
				got = append(got, v.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("%+v: got %v, want %v", tc.p, got, tc.want)
			}
		}
		if _, _, err := s.ListInvoices(ctx, store.ListParams{Filters: []store.Filter{{Field: "payment_url", Value: "x"}}}); fieldOf(err) != "payment_url" {
			t.Fatalf("filter on a column that is not filterable: %v", err)
		}
	})
}

func TestInvoiceExternalIDs(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		a, err := s.CreateInvoice(ctx, admin, crm.Invoice{Extra: crm.Extra{ExternalIDs: map[string]string{"1c": "СЧ-1"}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateInvoice(ctx, admin, crm.Invoice{Extra: crm.Extra{ExternalIDs: map[string]string{"1c": "СЧ-1"}}}); fieldOf(err) != "external_ids.1c" {
			t.Fatalf("duplicate 1c id: %v", err)
		}
		// The same external id on another entity is no conflict.
		o, err := s.CreateSalesOrder(ctx, admin, crm.SalesOrder{Extra: crm.Extra{ExternalIDs: map[string]string{"1c": "СЧ-1"}}})
		if err != nil {
			t.Fatal(err)
		}
		if id, err := s.FindByExternalID(ctx, store.EntityInvoice, "1c", "СЧ-1"); err != nil || id != a.ID {
			t.Fatalf("find invoice: %v %d", err, id)
		}
		if id, err := s.FindByExternalID(ctx, store.EntitySalesOrder, "1c", "СЧ-1"); err != nil || id != o.ID {
			t.Fatalf("find order: %v %d", err, id)
		}
		b, err := s.CreateInvoice(ctx, admin, crm.Invoice{})
		if err != nil || b.Number != "INV-000002" {
			t.Fatalf("after a failed create: %v %q", err, b.Number)
		}
		if _, err := s.UpdateInvoice(ctx, admin, b.ID, func(x *crm.Invoice) error { x.ExternalIDs["1c"] = "СЧ-1"; return nil }); fieldOf(err) != "external_ids.1c" {
			t.Fatalf("update to a taken id: %v", err)
		}
	})
}

func TestInvoiceConcurrentNumbers(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		deal := docDeal(t, s, admin, "Сделка", 0, "RUB")
		docExec(t, s, `INSERT INTO line_items (owner_type, owner_id, name, price, quantity, sum, tax) VALUES ('deal', $1, 'Услуга', 100, 1000, 100, 0)`, deal)
		docConcurrentNumbers(t, 20, "INV-", func(i int) (string, error) {
			// Half through CreateInvoice, half from the deal.
			if i%2 == 0 {
				v, err := s.CreateInvoiceFromDeal(ctx, admin, deal)
				return v.Number, err
			}
			v, err := s.CreateInvoice(ctx, admin, crm.Invoice{DealID: deal})
			return v.Number, err
		})
	})
}
