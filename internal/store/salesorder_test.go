package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The account, contact, deal and product stores are written elsewhere;
// these fixtures insert their rows with plain SQL.

func docExec(t *testing.T, s *store.Store, query string, args ...any) {
	t.Helper()
	err := s.DB().Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func docInsert(t *testing.T, s *store.Store, query string, args ...any) int64 {
	t.Helper()
	var id int64
	err := s.DB().Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, query+" RETURNING id", args...).Scan(&id)
	})
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return id
}

func docAccount(t *testing.T, s *store.Store, admin crm.Actor, title string) int64 {
	now := time.Now().UnixMicro()
	return docInsert(t, s, `INSERT INTO accounts (title, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES ($1, $2, $2, $2, $3, $3)`, title, admin.UserID, now)
}

func docContact(t *testing.T, s *store.Store, admin crm.Actor, name string) int64 {
	now := time.Now().UnixMicro()
	return docInsert(t, s, `INSERT INTO contacts (name, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES ($1, $1, $2, $2, $2, $3, $3)`, name, admin.UserID, now)
}

func docDeal(t *testing.T, s *store.Store, admin crm.Actor, title string, accountID int64, currency string) int64 {
	now := time.Now().UnixMicro()
	return docInsert(t, s, `INSERT INTO deals (title, account_id, currency, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4, $4, $5, $5)`, title, accountID, currency, admin.UserID, now)
}

func docProduct(t *testing.T, s *store.Store, admin crm.Actor, name, unit string, price crm.Amount) int64 {
	now := time.Now().UnixMicro()
	return docInsert(t, s, `INSERT INTO products (name, unit, price, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4, $4, $5, $5)`, name, unit, int64(price), admin.UserID, now)
}

// docItems are three rows whose totals are worked out by hand:
//
//	Баннер   1500.50 × 2.5 = 3751.25, VAT 20% inside: tax 625.21, sum 3751.25
//	Монтаж  10000.00 × 1   = 10000.00, −10% = 1000.00, net 9000.00, VAT 20% on top: tax 1800.00, sum 10800.00
//	Доставка   99.99 × 3   = 299.97, −0.97 flat, net 299.00, no VAT: sum 299.00
//
// subtotal 14051.22, discount 1000.97, tax 2425.21, total 14850.25.
func docItems(productID int64) []crm.LineItem {
	vat := crm.Amount(2000)
	return []crm.LineItem{
		{ProductID: productID, Price: 150050, Quantity: 2500, VATRate: &vat, VATIncluded: true},
		{Name: "Монтаж", Price: 1000000, Quantity: 1000, Unit: "усл", DiscountRate: 1000, VATRate: &vat, VATIncluded: false},
		{Name: "Доставка", Price: 9999, Quantity: 3000, Discount: 97},
	}
}

var docTotals = crm.Totals{Subtotal: 1405122, Discount: 100097, Tax: 242521, Total: 1485025}

func TestSalesOrderLifecycle(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		acc := docAccount(t, s, admin, "ООО Ромашка")
		con := docContact(t, s, admin, "Иван")
		deal := docDeal(t, s, admin, "Баннеры", acc, "RUB")
		prod := docProduct(t, s, admin, "Баннер", "м2", 150050)

		before := time.Now().UTC().Format(time.DateOnly)
		o, err := s.CreateSalesOrder(ctx, admin, crm.SalesOrder{
			Number: "HACK-1", AccountID: acc, ContactID: con, DealID: deal, FromSite: "W-1001",
			Items: docItems(prod), Extra: crm.Extra{ExternalIDs: map[string]string{"1c": "ЗК-001"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		after := time.Now().UTC().Format(time.DateOnly)
		if o.Number != "SO-000001" || o.Status != crm.OrderCreated || (o.OrderDate != before && o.OrderDate != after) {
			t.Fatalf("number %q status %q date %q", o.Number, o.Status, o.OrderDate)
		}
		if o.Totals != docTotals {
			t.Fatalf("totals %+v, want %+v", o.Totals, docTotals)
		}
		var sub, disc, tax, total int64
		if err := s.DB().Read.QueryRowContext(ctx, "SELECT subtotal, discount, tax, total FROM sales_orders WHERE id = $1", o.ID).
			Scan(&sub, &disc, &tax, &total); err != nil {
			t.Fatal(err)
		}
		if (crm.Totals{Subtotal: crm.Amount(sub), Discount: crm.Amount(disc), Tax: crm.Amount(tax), Total: crm.Amount(total)}) != docTotals {
			t.Fatalf("stored totals %d %d %d %d", sub, disc, tax, total)
		}

		got, err := s.GetSalesOrder(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Totals != docTotals || len(got.Items) != 3 || got.Items[0].Name != "Баннер" || got.Items[0].Unit != "м2" ||
			got.Items[0].Tax != 62521 || got.Items[1].Discount != 100000 || got.Items[1].Sum != 1080000 || got.Items[2].Sum != 29900 {
			t.Fatalf("read back: %+v", got)
		}
		if got.AccountID != acc || got.ContactID != con || got.DealID != deal || got.ExternalIDs["1c"] != "ЗК-001" || got.CreatedByID != admin.UserID {
			t.Fatalf("links read back: %+v", got)
		}
		if byNum, err := s.SalesOrderByNumber(ctx, " SO-000001 "); err != nil || byNum.ID != o.ID {
			t.Fatalf("by number: %v %+v", err, byNum)
		}
		if _, err := s.SalesOrderByNumber(ctx, "SO-999999"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing number: %v", err)
		}
		if id, err := s.FindByExternalID(ctx, store.EntitySalesOrder, "1c", "ЗК-001"); err != nil || id != o.ID {
			t.Fatalf("by 1c id: %v %d", err, id)
		}
		for _, p := range []store.ListParams{
			{Q: "w-1001"}, {Q: "so-000001"}, {Filters: []store.Filter{{Field: "from_site", Value: "W-1001"}}},
		} {
			if l, _, err := s.ListSalesOrders(ctx, p); err != nil || len(l) != 1 || l[0].ID != o.ID {
				t.Fatalf("find %+v: %v %d", p, err, len(l))
			}
		}

		// Twice the Монтаж: 20000.00 − 2000.00 = 18000.00 + 3600.00 VAT.
		up, err := s.UpdateSalesOrder(ctx, admin, o.ID, func(x *crm.SalesOrder) error {
			x.Status = crm.OrderApproved
			x.Items[1].Quantity = 2000
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := crm.Totals{Subtotal: 2405122, Discount: 200097, Tax: 422521, Total: 2565025}
		if up.Totals != want || up.Number != "SO-000001" {
			t.Fatalf("updated totals %+v", up.Totals)
		}
		if got, _ := s.GetSalesOrder(ctx, o.ID); got.Totals != want || got.Items[1].Quantity != 2000 || got.Status != crm.OrderApproved {
			t.Fatalf("update not stored: %+v", got)
		}
		evs, err := s.Events(ctx, events.Query{Entity: store.EntitySalesOrder, RecordID: o.ID})
		if err != nil || len(evs) != 2 || evs[0].Action != events.Create || evs[1].Action != events.Update {
			t.Fatalf("events: %v %+v", err, evs)
		}
		if ch := evs[0].Changes["number"]; string(ch.Old) != "null" || string(ch.New) != `"SO-000001"` {
			t.Fatalf("create event number: %+v", ch)
		}
		for field, w := range map[string][2]string{
			"status":   {`"Created"`, `"Approved"`},
			"subtotal": {"14051.22", "24051.22"},
			"discount": {"1000.97", "2000.97"},
			"tax":      {"2425.21", "4225.21"},
			"total":    {"14850.25", "25650.25"},
		} {
			ch, ok := evs[1].Changes[field]
			if !ok || string(ch.Old) != w[0] || string(ch.New) != w[1] {
				t.Fatalf("update event %s: %s → %s, want %s → %s", field, ch.Old, ch.New, w[0], w[1])
			}
		}
		if _, ok := evs[1].Changes["number"]; ok {
			t.Fatalf("number reported as changed")
		}

		// A number is the system's; a status must be in ORDER_STATUS.
		if _, err := s.UpdateSalesOrder(ctx, admin, o.ID, func(x *crm.SalesOrder) error { x.Number = "SO-000777"; return nil }); fieldOf(err) != "number" {
			t.Fatalf("number change: %v", err)
		}
		docExec(t, s, "INSERT INTO statuses (entity_id, status_id, name, sort) VALUES ('ORDER_STATUS', 'Packed', 'Собран', 25)")
		if up, err := s.UpdateSalesOrder(ctx, admin, o.ID, func(x *crm.SalesOrder) error { x.Status = "Packed"; return nil }); err != nil || up.Status != "Packed" {
			t.Fatalf("configured status: %v %q", err, up.Status)
		}

		// An order keeps its link to an account in the recycle bin, can
		// still change, and shows the account again once restored.
		if err := s.Delete(ctx, admin, store.EntityAccount, acc); err != nil {
			t.Fatal(err)
		}
		if up, err := s.UpdateSalesOrder(ctx, admin, o.ID, func(x *crm.SalesOrder) error { x.Status = crm.OrderDelivered; return nil }); err != nil || up.AccountID != acc {
			t.Fatalf("update with deleted account: %v %+v", err, up)
		}
		if _, err := s.CreateSalesOrder(ctx, admin, crm.SalesOrder{AccountID: acc}); fieldOf(err) != "account_id" {
			t.Fatalf("deleted account accepted: %v", err)
		}
		if err := s.Restore(ctx, admin, store.EntityAccount, acc); err != nil {
			t.Fatal(err)
		}
		if l, _, err := s.ListSalesOrders(ctx, store.ListParams{Filters: []store.Filter{{Field: "account_id", Value: fmt.Sprint(acc)}}}); err != nil || len(l) != 1 {
			t.Fatalf("by account after restore: %v %d", err, len(l))
		}

		// Delete and restore the order itself: items and external ids stay.
		if err := s.Delete(ctx, admin, store.EntitySalesOrder, o.ID); err != nil {
			t.Fatal(err)
		}
		if l, _, _ := s.ListSalesOrders(ctx, store.ListParams{}); len(l) != 0 {
			t.Fatalf("deleted order still listed")
		}
		if _, err := s.UpdateSalesOrder(ctx, admin, o.ID, func(*crm.SalesOrder) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of deleted order: %v", err)
		}
		if err := s.Restore(ctx, admin, store.EntitySalesOrder, o.ID); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetSalesOrder(ctx, o.ID)
		if got.DeletedAt != nil || len(got.Items) != 3 || got.Totals != want || got.ExternalIDs["1c"] != "ЗК-001" {
			t.Fatalf("restore lost data: %+v", got)
		}

		// The prefix comes from settings at the time of each create.
		docExec(t, s, "UPDATE settings SET value = 'ORD-' WHERE key = 'sales_order.prefix'")
		o2, err := s.CreateSalesOrder(ctx, admin, crm.SalesOrder{OrderDate: "2024-03-08", Currency: "usd"})
		if err != nil {
			t.Fatal(err)
		}
		if o2.Number != "ORD-000002" || o2.OrderDate != "2024-03-08" || o2.Currency != "USD" || o2.Totals != (crm.Totals{}) || len(o2.Items) != 0 {
			t.Fatalf("second order: %+v", o2)
		}
	})
}

func TestSalesOrderValidation(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		con := docContact(t, s, admin, "Пётр")
		deal := docDeal(t, s, admin, "Сделка", 0, "RUB")
		if err := s.Delete(ctx, admin, store.EntityContact, con); err != nil {
			t.Fatal(err)
		}
		docExec(t, s, "UPDATE currencies SET active = FALSE WHERE code = 'EUR'")
		vat := crm.Amount(12000)
		for _, tc := range []struct {
			name  string
			order crm.SalesOrder
			field string
		}{
			{"unknown status", crm.SalesOrder{Status: "Lost"}, "status"},
			{"invoice status", crm.SalesOrder{Status: "P"}, "status"},
			{"no account", crm.SalesOrder{AccountID: 999}, "account_id"},
			{"deleted contact", crm.SalesOrder{ContactID: con}, "contact_id"},
			{"no deal", crm.SalesOrder{DealID: deal + 100}, "deal_id"},
			{"inactive currency", crm.SalesOrder{Currency: "EUR"}, "currency"},
			{"unknown currency", crm.SalesOrder{Currency: "XYZ"}, "currency"},
			{"bad date", crm.SalesOrder{OrderDate: "2024-13-01"}, "order_date"},
			{"no user", crm.SalesOrder{Meta: crm.Meta{AssignedByID: 999}}, "assigned_by_id"},
			{"no product", crm.SalesOrder{Items: []crm.LineItem{{Name: "x", Quantity: 1000}, {ProductID: 999, Quantity: 1000}}}, "items[1].product_id"},
			{"zero quantity", crm.SalesOrder{Items: []crm.LineItem{{Name: "x", Price: 100}}}, "items[0].quantity"},
			{"discount over amount", crm.SalesOrder{Items: []crm.LineItem{{Name: "x", Price: 100, Quantity: 1000, Discount: 101}}}, "items[0].discount"},
			{"VAT over 100", crm.SalesOrder{Items: []crm.LineItem{{Name: "x", Price: 100, Quantity: 1000, VATRate: &vat}}}, "items[0].vat_rate"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := s.CreateSalesOrder(ctx, admin, tc.order); fieldOf(err) != tc.field {
					t.Fatalf("got %s, want %s", fieldOf(err), tc.field)
				}
			})
		}
		// Nothing was written, and no number was used up.
		o, err := s.CreateSalesOrder(ctx, admin, crm.SalesOrder{DealID: deal})
		if err != nil || o.Number != "SO-000001" {
			t.Fatalf("valid order after failures: %v %q", err, o.Number)
		}
		if _, err := s.UpdateSalesOrder(ctx, admin, o.ID, func(x *crm.SalesOrder) error { x.Status = "Nope"; return nil }); fieldOf(err) != "status" {
			t.Fatalf("update with bad status: %v", err)
		}
		if _, err := s.UpdateSalesOrder(ctx, admin, o.ID, func(x *crm.SalesOrder) error { x.ContactID = con; return nil }); fieldOf(err) != "contact_id" {
			t.Fatalf("update to deleted contact: %v", err)
		}
		if _, err := s.UpdateSalesOrder(ctx, admin, 9999, func(*crm.SalesOrder) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of missing order: %v", err)
		}
	})
}

func TestSalesOrderList(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		acc := docAccount(t, s, admin, "ООО Лютик")
		// Prices 500, 100, 300, 200, 400 (×1), the first three Created.
		prices := []crm.Amount{50000, 10000, 30000, 20000, 40000}
		ids := make([]int64, len(prices))
		for i, p := range prices {
			o := crm.SalesOrder{FromSite: fmt.Sprintf("WEB-%d", i), OrderDate: fmt.Sprintf("2024-05-0%d", i+1),
				Items: []crm.LineItem{{Name: "Товар", Price: p, Quantity: 1000}}}
			if i >= 3 {
				o.Status, o.AccountID = crm.OrderApproved, acc
			}
			got, err := s.CreateSalesOrder(ctx, admin, o)
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = got.ID
		}
		// All orders by total descending, two a page.
		var seen []crm.Amount
		cursor := ""
		for page := 0; ; page++ {
			l, next, err := s.ListSalesOrders(ctx, store.ListParams{Sort: "-total", Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			if page < 2 && (len(l) != 2 || next == "") || page == 2 && (len(l) != 1 || next != "") {
				t.Fatalf("page %d: %d orders, next %q", page, len(l), next)
			}
			for _, o := range l {
				seen = append(seen, o.Total)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if fmt.Sprint(seen) != "[500.00 400.00 300.00 200.00 100.00]" {
			t.Fatalf("order by total: %v", seen)
		}
		for _, tc := range []struct {
			p    store.ListParams
			want []int64
		}{
			{store.ListParams{Filters: []store.Filter{{Field: "status", Value: crm.OrderCreated}}, Sort: "total"}, []int64{ids[1], ids[2], ids[0]}},
			{store.ListParams{Filters: []store.Filter{{Field: "total", Op: "gte", Value: "300"}}, Sort: "-order_date"}, []int64{ids[4], ids[2], ids[0]}},
			{store.ListParams{Filters: []store.Filter{{Field: "order_date", Op: "lt", Value: "2024-05-03"}}}, []int64{ids[0], ids[1]}},
			{store.ListParams{Filters: []store.Filter{{Field: "account_id", Value: fmt.Sprint(acc)}}, Sort: "-number"}, []int64{ids[4], ids[3]}},
			{store.ListParams{Filters: []store.Filter{{Field: "from_site", Op: "in", Value: "WEB-1, WEB-3"}}}, []int64{ids[1], ids[3]}},
			{store.ListParams{Filters: []store.Filter{{Field: "number", Value: "SO-000003"}}}, []int64{ids[2]}},
		} {
			l, _, err := s.ListSalesOrders(ctx, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, o := range l {
				got = append(got, o.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("%+v: got %v, want %v", tc.p, got, tc.want)
			}
		}
		if _, _, err := s.ListSalesOrders(ctx, store.ListParams{Phone: "+79250000000"}); fieldOf(err) != "phone" {
			t.Fatalf("phone lookup on orders: %v", err)
		}
	})
}

func TestSalesOrderExternalIDs(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		a, err := s.CreateSalesOrder(ctx, admin, crm.SalesOrder{Extra: crm.Extra{ExternalIDs: map[string]string{"1c": "A-1", "retailcrm": "77"}}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateSalesOrder(ctx, admin, crm.SalesOrder{Extra: crm.Extra{ExternalIDs: map[string]string{"1c": "A-1"}}})
		if fieldOf(err) != "external_ids.1c" {
			t.Fatalf("duplicate 1c id: %v", err)
		}
		b, err := s.CreateSalesOrder(ctx, admin, crm.SalesOrder{Extra: crm.Extra{ExternalIDs: map[string]string{"1c": "B-1"}}})
		if err != nil {
			t.Fatal(err)
		}
		// The failed create gave its number back.
		if b.Number != "SO-000002" {
			t.Fatalf("number after a failed create: %s", b.Number)
		}
		if _, err := s.UpdateSalesOrder(ctx, admin, b.ID, func(x *crm.SalesOrder) error { x.ExternalIDs["1c"] = "A-1"; return nil }); fieldOf(err) != "external_ids.1c" {
			t.Fatalf("update to a taken 1c id: %v", err)
		}
		if _, err := s.UpdateSalesOrder(ctx, admin, a.ID, func(x *crm.SalesOrder) error { x.ExternalIDs["1c"] = "A-2"; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateSalesOrder(ctx, admin, b.ID, func(x *crm.SalesOrder) error { x.ExternalIDs["1c"] = "A-1"; return nil }); err != nil {
			t.Fatalf("freed 1c id: %v", err)
		}
		got, _ := s.GetSalesOrder(ctx, a.ID)
		if got.ExternalIDs["1c"] != "A-2" || got.ExternalIDs["retailcrm"] != "77" {
			t.Fatalf("external ids: %v", got.ExternalIDs)
		}
		if id, err := s.FindByExternalID(ctx, store.EntitySalesOrder, "1c", "A-1"); err != nil || id != b.ID {
			t.Fatalf("find A-1: %v %d", err, id)
		}
	})
}

// docConcurrentNumbers creates n documents at once and checks that their
// numbers are distinct and run from prefix000001 without a gap.
func docConcurrentNumbers(t *testing.T, n int, prefix string, create func(i int) (string, error)) {
	t.Helper()
	var wg sync.WaitGroup
	numbers := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			numbers[i], errs[i] = create(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(numbers)
	for i, num := range numbers {
		if want := fmt.Sprintf("%s%06d", prefix, i+1); num != want {
			t.Fatalf("numbers %v: #%d is %s, want %s", numbers, i, num, want)
		}
	}
}

func TestSalesOrderConcurrentNumbers(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		docConcurrentNumbers(t, 20, "SO-", func(int) (string, error) {
			o, err := s.CreateSalesOrder(ctx, admin, crm.SalesOrder{Items: []crm.LineItem{{Name: "x", Price: 100, Quantity: 1000}}})
			return o.Number, err
		})
		var last int64
		if err := s.DB().Read.QueryRowContext(ctx, "SELECT value FROM counters WHERE name = 'sales_order'").Scan(&last); err != nil || last != 20 {
			t.Fatalf("counter: %v %d", err, last)
		}
	})
}
