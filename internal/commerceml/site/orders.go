package site

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/crm"
)

// runOrders is seed 000's order exchange with the site: mode=query
// fetches its orders, each is matched by the site's number and updated,
// or created; mode=success confirms them; then the orders that came from
// the site and changed in Obmen since the last run (not the ones this
// run wrote) go back with their statuses through the status map.
// Orders made by hand in Obmen are never sent.
func (s *Service) runOrders(ctx context.Context, set Settings, dir string, res *RunResult) error {
	c := s.client(set)
	if err := c.Checkauth(ctx, "sale"); err != nil {
		return err
	}
	if _, _, err := c.Init(ctx, "sale"); err != nil {
		return err
	}
	body, err := c.Query(ctx)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "from-site.xml"), body, 0o600); err != nil {
		return fmt.Errorf("site exchange: %w", err)
	}
	res.Files = append(res.Files, "from-site.xml")
	actor, err := s.responsible(ctx, set)
	if err != nil {
		return err
	}
	touched := map[int64]bool{}
	rd := commerceml.NewReader(bytes.NewReader(body), "from-site.xml")
	for {
		v, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		d, ok := v.(*commerceml.Document)
		if !ok {
			continue
		}
		id, created, err := s.takeOrder(ctx, set, actor, d)
		if err != nil {
			res.of("sales_order").Failed++
			if res.Error == "" {
				res.Error = err.Error()
			}
			continue
		}
		touched[id] = true
		if created {
			res.of("sales_order").Created++
		} else {
			res.of("sales_order").Updated++
		}
	}
	if err := c.Mode(ctx, "sale", "success"); err != nil {
		return err
	}
	return s.sendBack(ctx, c, set, dir, touched, res)
}

// responsible is who the records created from the site are assigned to:
// the settings' user, else the first administrator.
func (s *Service) responsible(ctx context.Context, set Settings) (crm.Actor, error) {
	if set.ResponsibleUserID != 0 {
		return crm.Actor{UserID: set.ResponsibleUserID, Integration: "site"}, nil
	}
	var id int64
	err := s.db.Read.QueryRowContext(ctx, "SELECT id FROM users WHERE role = $1 ORDER BY id LIMIT 1", crm.RoleAdmin).Scan(&id)
	if err != nil {
		return crm.Actor{}, fmt.Errorf("site exchange: responsible_user_id is not set and no administrator was found: %w", err)
	}
	return crm.Actor{UserID: id, Integration: "site"}, nil
}

// siteOrder finds the order of the site's number: by site_orders, else
// by from_site for orders taken before the table knew their site.
func (s *Service) siteOrder(ctx context.Context, siteID int64, number string) (int64, error) {
	var id int64
	err := s.db.Read.QueryRowContext(ctx, "SELECT order_id FROM site_orders WHERE site_id = $1 AND number = $2", siteID, number).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.db.Read.QueryRowContext(ctx, `SELECT id FROM sales_orders WHERE from_site = $1 AND deleted_at = 0
			AND id NOT IN (SELECT order_id FROM site_orders) ORDER BY id LIMIT 1`, number).Scan(&id)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// takeOrder updates or creates the Obmen order of one site document.
func (s *Service) takeOrder(ctx context.Context, set Settings, actor crm.Actor, d *commerceml.Document) (int64, bool, error) {
	number := strings.TrimSpace(d.Number)
	if number == "" {
		return 0, false, fmt.Errorf("commerceml: from-site.xml line %d: <Документ> has no <Номер>", d.Line)
	}
	what := fmt.Sprintf("site order %s (line %d)", number, d.Line)
	id, err := s.siteOrder(ctx, set.ID, number)
	if err != nil {
		return 0, false, fmt.Errorf("site exchange: %s: %w", what, err)
	}
	account, err := s.counterparty(ctx, actor, d)
	if err != nil {
		return 0, false, fmt.Errorf("site exchange: %s: counterparty: %w", what, err)
	}
	items, err := s.lines(ctx, d)
	if err != nil {
		return 0, false, fmt.Errorf("site exchange: %s: %w", what, err)
	}
	status := exchange.OrderStatus(d, set.StatusMap)
	currency := strings.ToUpper(strings.TrimSpace(d.Currency))
	if currency == "" || currency == "РУБ" || currency == "RUR" || currency == "643" {
		currency = "RUB"
	}
	if id != 0 {
		_, err := s.st.UpdateSalesOrder(ctx, actor, id, func(o *crm.SalesOrder) error {
			o.Status = status
			if account != 0 {
				o.AccountID = account
			}
			if len(items) > 0 {
				o.Items = items
			}
			if c := strings.TrimSpace(d.Comment); c != "" {
				o.Comments = c
			}
			return nil
		})
		if err != nil {
			return 0, false, fmt.Errorf("site exchange: %s: %w", what, err)
		}
		if err := s.keepBuyer(ctx, id, d, account); err != nil {
			return 0, false, fmt.Errorf("site exchange: %s: %w", what, err)
		}
		return id, false, nil
	}
	o := crm.SalesOrder{Status: status, OrderDate: d.Date, AccountID: account, Currency: currency, Items: items, FromSite: number, Comments: strings.TrimSpace(d.Comment)}
	o.AssignedByID = actor.UserID
	got, err := s.st.CreateSalesOrder(ctx, actor, o)
	if err != nil {
		return 0, false, fmt.Errorf("site exchange: %s: %w", what, err)
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO site_orders (order_id, site_id, number, buyer_id, buyer_account_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id) DO NOTHING",
			got.ID, set.ID, number, buyerID(d), account)
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("site exchange: %s: %w", what, err)
	}
	return got.ID, true, nil
}

// buyerID is the site's own id of the document's buyer ("" when none).
func buyerID(d *commerceml.Document) string {
	if b := d.Buyer(); b != nil {
		return strings.TrimSpace(b.ID)
	}
	return ""
}

// keepBuyer records the site's id of an updated order's buyer and the
// account it names (a buyer the site now sends without an id keeps the
// one it had).
func (s *Service) keepBuyer(ctx context.Context, orderID int64, d *commerceml.Document, account int64) error {
	id := buyerID(d)
	if id == "" || account == 0 {
		return nil
	}
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE site_orders SET buyer_id = $1, buyer_account_id = $2 WHERE order_id = $3", id, account, orderID)
		return err
	})
}

// counterparty finds the buyer by ПолноеНаименование (seed 000's rule;
// a company's ОфициальноеНаименование, else its name) or creates it.
func (s *Service) counterparty(ctx context.Context, actor crm.Actor, d *commerceml.Document) (int64, error) {
	b := d.Buyer()
	if b == nil {
		return 0, nil
	}
	full := crm.FirstText(b.FullName, b.OfficialName, b.Name)
	if full == "" {
		return 0, nil
	}
	var id int64
	err := s.db.Read.QueryRowContext(ctx, "SELECT id FROM accounts WHERE deleted_at = 0 AND (full_name = $1 OR (full_name = '' AND title = $1)) ORDER BY id LIMIT 1", full).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	a := crm.Account{Title: crm.FirstText(b.Name, full), FullName: full, INN: strings.TrimSpace(b.INN), KPP: strings.TrimSpace(b.KPP)}
	if !b.IsLegal() {
		a.Kind = crm.AccountPerson
	}
	a.AssignedByID = actor.UserID
	got, err := s.st.CreateAccount(ctx, actor, a)
	if err != nil {
		return 0, err
	}
	return got.ID, nil
}

// lines turns the document's goods into line items: a good Obmen
// exported ("obmen-product-N", a 1C id it keeps, "<good>#<variant>")
// names its product and variant; any other is a line by name. The VAT
// and discounts go with the line, and the site's own id of the good is
// kept in its properties so that the line goes back under it.
func (s *Service) lines(ctx context.Context, d *commerceml.Document) ([]crm.LineItem, error) {
	var out []crm.LineItem
	for i, it := range d.Items {
		price, err := crm.ParseAmount(strings.TrimSpace(it.Price))
		if err != nil {
			return nil, fmt.Errorf("line %d (%s): ЦенаЗаЕдиницу %q: %w", i+1, it.Name, it.Price, err)
		}
		qty, err := crm.ParseQuantity(strings.TrimSpace(it.Quantity))
		if err != nil {
			return nil, fmt.Errorf("line %d (%s): Количество %q: %w", i+1, it.Name, it.Quantity, err)
		}
		vat, err := exchange.ParseVAT(it.VAT())
		if err != nil {
			return nil, fmt.Errorf("line %d (%s): %w", i+1, it.Name, err)
		}
		li := crm.LineItem{Name: crm.FirstText(it.Name, it.Article, it.ID), Price: price, Quantity: qty, Unit: it.Unit, VATRate: vat, VATIncluded: true,
			Properties: exchange.LineProperties(&it)}
		for _, t := range it.Taxes {
			if strings.EqualFold(strings.TrimSpace(t.Name), "НДС") && strings.TrimSpace(t.Included) == "false" {
				li.VATIncluded = false
			}
		}
		if err := exchange.LineDiscount(&it, &li); err != nil {
			return nil, fmt.Errorf("line %d (%s): %w", i+1, it.Name, err)
		}
		good, char, _ := strings.Cut(strings.TrimSpace(it.ID), "#")
		if it.IsService() {
			li.ServiceID = s.goodID(ctx, "service", good)
		} else if li.ProductID = s.goodID(ctx, "product", good); li.ProductID != 0 && char != "" {
			li.VariantID = s.variantID(ctx, li.ProductID, char)
		}
		out = append(out, li)
	}
	return out, nil
}

// goodID is the product or service a good's Ид names, 0 if none.
func (s *Service) goodID(ctx context.Context, entity, id string) int64 {
	if n, ok := strings.CutPrefix(id, "obmen-"+entity+"-"); ok {
		v, err := strconv.ParseInt(n, 10, 64)
		if err == nil {
			return v
		}
	}
	var v int64
	if err := s.db.Read.QueryRowContext(ctx, "SELECT record_id FROM external_ids WHERE entity = $1 AND system = $2 AND external_id = $3", entity, crm.IntegrationOneC, id).Scan(&v); err != nil {
		return 0
	}
	return v
}

func (s *Service) variantID(ctx context.Context, product int64, char string) int64 {
	var v int64
	err := s.db.Read.QueryRowContext(ctx, `SELECT id FROM product_variants WHERE product_id = $1 AND (id1c = $2 OR id1c LIKE $3 OR id = $4) ORDER BY id LIMIT 1`,
		product, char, "%#"+char, variantNumber(char)).Scan(&v)
	if err != nil {
		return 0
	}
	return v
}

func variantNumber(char string) int64 {
	n, _ := strconv.ParseInt(strings.TrimPrefix(char, "obmen-variant-"), 10, 64)
	if !strings.HasPrefix(char, "obmen-variant-") {
		return -1
	}
	return n
}

// sent is an order to send back under the site's number.
type sent struct {
	id     int64
	number string
	// buyerID is the site's id of the order's buyer, for buyerAccount.
	buyerID      string
	buyerAccount int64
}

// sendBack sends the site's orders changed in Obmen since the last run
// (and not written by this one) with their statuses.
func (s *Service) sendBack(ctx context.Context, c interface {
	Upload(ctx context.Context, typ, name string, r io.Reader) error
	Import(ctx context.Context, typ, name string, step func(string)) (int, error)
}, set Settings, dir string, touched map[int64]bool, res *RunResult) error {
	var since int64
	if err := s.db.Read.QueryRowContext(ctx, "SELECT orders_cursor FROM site_exchanges WHERE id = $1", set.ID).Scan(&since); err != nil {
		return fmt.Errorf("site exchange: %w", err)
	}
	upto := s.now().UnixMicro()
	rows, err := s.db.Read.QueryContext(ctx, `SELECT o.id, so.number, so.buyer_id, so.buyer_account_id FROM sales_orders o JOIN site_orders so ON so.order_id = o.id
		WHERE so.site_id = $1 AND o.deleted_at = 0 AND o.from_site <> '' AND o.updated_at > $2 AND o.updated_at <= $3 ORDER BY o.id`, set.ID, since, upto)
	if err != nil {
		return fmt.Errorf("site exchange: changed orders: %w", err)
	}
	var list []sent
	for rows.Next() {
		var o sent
		if err := rows.Scan(&o.id, &o.number, &o.buyerID, &o.buyerAccount); err != nil {
			rows.Close()
			return fmt.Errorf("site exchange: changed orders: %w", err)
		}
		if !touched[o.id] {
			list = append(list, o)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("site exchange: changed orders: %w", err)
	}
	if len(list) > 0 {
		if err := s.writeBack(ctx, set, dir, list, res); err != nil {
			return err
		}
		f, err := os.Open(filepath.Join(dir, "to-site.xml"))
		if err != nil {
			return fmt.Errorf("site exchange: %w", err)
		}
		err = c.Upload(ctx, "sale", "to-site.xml", f)
		f.Close()
		if err != nil {
			return err
		}
		if _, err := c.Import(ctx, "sale", "to-site.xml", nil); err != nil {
			return err
		}
	}
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE site_exchanges SET orders_cursor = $1 WHERE id = $2", upto, set.ID)
		return err
	})
}

// writeBack writes dir/to-site.xml: each order under the site's number
// with its status through the map and its lines (see orderLines).
func (s *Service) writeBack(ctx context.Context, set Settings, dir string, list []sent, res *RunResult) error {
	f, err := os.Create(filepath.Join(dir, "to-site.xml"))
	if err != nil {
		return fmt.Errorf("site exchange: %w", err)
	}
	defer f.Close()
	w, err := commerceml.NewOrdersWriter(f, set.WriteEncoding(), set.Version, s.now())
	if err != nil {
		return err
	}
	for _, it := range list {
		o, err := s.st.GetSalesOrder(ctx, it.id)
		if err != nil {
			return fmt.Errorf("site exchange: order %d: %w", it.id, err)
		}
		d := &commerceml.Document{ID: it.number, Number: it.number, Date: o.OrderDate, Operation: "Заказ товара", Role: "Продавец",
			Currency: o.Currency, Rate: "1", Sum: o.Total.String(), Comment: o.Comments,
			Requisites: []commerceml.Requisite{
				{Name: "Статус заказа", Value: set.siteStatus(o.Status)},
				{Name: "Отменен", Value: strconv.FormatBool(o.Status == crm.OrderCancelled)},
			}}
		if d.Date == "" {
			d.Date = o.CreatedAt.Format("2006-01-02")
		}
		if d.Items, err = s.orderLines(ctx, &o); err != nil {
			return err
		}
		if o.AccountID != 0 {
			if a, err := s.st.GetAccount(ctx, o.AccountID); err == nil {
				// The site's own id of its buyer while the order is still
				// theirs; Obmen's id for an account changed in Obmen.
				id := "obmen-account-" + strconv.FormatInt(a.ID, 10)
				if it.buyerID != "" && it.buyerAccount == a.ID {
					id = it.buyerID
				}
				d.Counterparties = []commerceml.Counterparty{{ID: id, Name: a.Title, FullName: crm.FirstText(a.FullName, a.Title), Role: "Покупатель"}}
			}
		}
		if err := w.Write(d); err != nil {
			return fmt.Errorf("site exchange: to-site.xml: %w", err)
		}
		res.of("sales_order").Sent++
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("site exchange: to-site.xml: %w", err)
	}
	res.Files = append(res.Files, "to-site.xml")
	return nil
}
