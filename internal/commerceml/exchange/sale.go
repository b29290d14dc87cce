package exchange

import (
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// importSale imports 1C's orders document (or the documents of an
// uploaded archive) in one transaction: orders are found by number only
// and updated, never created; an order that fails (an inactive currency)
// is journaled and skipped while the others go on.
func (s *Service) importSale(w http.ResponseWriter, r *http.Request, sess session, set Settings, name string) {
	ctx := r.Context()
	if e, ok, err := s.openEntry(ctx, sess.ID, "sale", name); err == nil && ok {
		if e.Status == StatusFailure {
			fail(w, e.Error)
		} else {
			answer(w, "success")
		}
		return
	}
	clean, err := CleanName(name)
	if err != nil {
		fail(w, s.failed(ctx, sess.ID, "sale", name, err))
		return
	}
	dir := s.sessionDir(sess.ID)
	p := filepath.Join(dir, filepath.FromSlash(clean))
	files := []string{p}
	if IsZip(p) {
		out := p + ".d"
		names, err := Unzip(p, out, ZipLimits{MaxFiles: 1000, MaxUnpacked: set.MaxUnpackedBytes, MaxRatio: set.MaxZipRatio})
		if err != nil {
			fail(w, s.failed(ctx, sess.ID, "sale", clean, err))
			return
		}
		files = files[:0]
		for _, n := range names {
			if strings.HasSuffix(strings.ToLower(n), ".xml") {
				files = append(files, filepath.Join(out, filepath.FromSlash(n)))
			}
		}
	} else if _, err := os.Stat(p); err != nil {
		fail(w, s.failed(ctx, sess.ID, "sale", clean, fmt.Errorf("%s was not uploaded in this session (mode=file first)", clean)))
		return
	}
	st, _ := os.Stat(p)
	e, err := s.newEntry(ctx, Entry{sessionID: sess.ID, Type: "sale", Direction: DirIn, Filename: clean, Status: StatusRunning,
		filePath: p, FileSize: st.Size()})
	if err != nil {
		s.log.Error("exchange: sale import", "err", err)
		fail(w, "internal error")
		return
	}
	err = s.store.Write(ctx, actor(sess, set), func(t *store.Tx) error {
		c := &catalogTx{t: t, counts: Counts{}, active: map[string]bool{}, units: map[string]bool{}}
		for _, f := range files {
			c.file = filepath.Base(f)
			if err := c.orders(ctx, f, set.StatusMap); err != nil {
				return err
			}
		}
		_, err := t.Exec(finishSQL, finishArgs(e.ID, StatusSuccess, s.now(), c.counts, c.problems, "")...)
		return err
	})
	if err != nil {
		if ferr := s.finish(context.Background(), e.ID, StatusFailure, nil, nil, err.Error()); ferr != nil {
			s.log.Error("exchange: journal", "err", ferr)
		}
		s.log.Warn("exchange: sale import failed", "file", clean, "err", err)
		fail(w, err.Error())
		return
	}
	answer(w, "success")
}

func (c *catalogTx) orders(ctx context.Context, path string, statuses map[string]string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("exchange: %s: %w", c.file, err)
	}
	defer f.Close()
	rd := commerceml.NewReader(f, c.file)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		d, ok := v.(*commerceml.Document)
		if !ok {
			return fmt.Errorf("commerceml: %s: a catalog belongs to type=catalog, not sale", c.file)
		}
		if err := c.order(d, statuses); err != nil {
			return err
		}
	}
}

func (c *catalogTx) order(d *commerceml.Document, statuses map[string]string) error {
	what := fmt.Sprintf("order %s", d.Number)
	m, err := MatchOrder(c, d.Number)
	if err != nil {
		return err
	}
	if m.ID == 0 {
		// Never created from 1C data (seed 000, item 4).
		c.counts.of("sales_order").Skipped++
		return nil
	}
	// Only an order the exchange's user may change (issue 25): another
	// manager's order is refused, the document's others go on.
	if err := c.mayChange(store.EntitySalesOrder, "sales_orders", m.ID); err != nil {
		return c.problem("sales_order", d.Line, what, err)
	}
	currency, err := Currency(d.Currency, "", c.isActive, what)
	if err != nil {
		return c.problem("sales_order", d.Line, what, fmt.Errorf("%w: %w", errEntity, err))
	}
	var accountID int64
	if b := d.Buyer(); b != nil {
		if accountID, err = c.account(b, d.Line); err != nil {
			return err
		}
	}
	items := make([]crm.LineItem, 0, len(d.Items))
	for i := range d.Items {
		it, err := c.item(&d.Items[i])
		if err != nil {
			return c.problem("sales_order", d.Line, fmt.Sprintf("%s, line item %d", what, i+1), err)
		}
		items = append(items, it)
	}
	status := OrderStatus(d, statuses)
	if _, err := c.t.UpdateSalesOrder(m.ID, func(o *crm.SalesOrder) error {
		o.Status = status
		o.Currency = currency
		// A document without lines (a cancellation, a status) says
		// nothing of them: they stay as they were.
		if len(d.Items) > 0 {
			o.Items = items
		}
		if accountID != 0 {
			o.AccountID = accountID
		}
		return nil
	}); err != nil {
		return c.problem("sales_order", d.Line, what, err)
	}
	if _, err := c.t.Exec("DELETE FROM cml_order_requisites WHERE order_id = $1", m.ID); err != nil {
		return fmt.Errorf("exchange: %s: requisites: %w", what, err)
	}
	for _, r := range KeptRequisites(d) {
		if _, err := c.t.Exec(`INSERT INTO cml_order_requisites (order_id, name, value) VALUES ($1, $2, $3)
			ON CONFLICT (order_id, name) DO UPDATE SET value = excluded.value`, m.ID, r.Name, r.Value); err != nil {
			return fmt.Errorf("exchange: %s: requisites: %w", what, err)
		}
	}
	c.counts.of("sales_order").Updated++
	return nil
}

// mayChange refuses (errEntity) a record of entity, in table, that the
// write's user may not change: one another user is responsible for and
// that was not granted to the user with edit.
func (c *catalogTx) mayChange(entity, table string, id int64) error {
	sc := store.ScopeOf(c.t.Ctx())
	if sc == nil {
		return nil
	}
	var owner int64
	if err := c.t.QueryRow("SELECT assigned_by_id FROM "+table+" WHERE id = $1", id).Scan(&owner); err != nil {
		return fmt.Errorf("exchange: %s %d: %w", entity, id, err)
	}
	if sc.Edits(owner) {
		return nil
	}
	how := "may not see it"
	if sc.Sees(owner) {
		how = "may only view it"
	}
	return fmt.Errorf("%w: another user (id %d) is responsible for it, and user %d, whom 1C signed in as, %s; ask an administrator to grant access or exchange as the integration user",
		errEntity, owner, sc.UserID, how)
}

// account finds or creates the order's counterparty.
func (c *catalogTx) account(b *commerceml.Counterparty, line int) (int64, error) {
	// A company's full name is its ОфициальноеНаименование, a person's
	// the ПолноеНаименование.
	full := strings.TrimSpace(b.FullName)
	if full == "" {
		full = strings.TrimSpace(b.OfficialName)
	}
	name := strings.TrimSpace(b.Name)
	if name == "" {
		name = full
	}
	m, err := MatchAccount(c, b.ID, name)
	if err != nil {
		return 0, err
	}
	id1c := strings.TrimSpace(b.ID)
	if m.ID == 0 {
		if name == "" {
			c.counts.of("account").Skipped++
			return 0, nil
		}
		a := crm.Account{Title: name, FullName: full, INN: strings.TrimSpace(b.INN), KPP: strings.TrimSpace(b.KPP),
			Extra: crm.Extra{ExternalIDs: map[string]string{}}}
		if id1c != "" {
			a.ExternalIDs[System] = id1c
		}
		got, err := c.t.CreateAccount(a)
		if err != nil {
			return 0, c.problem("account", line, fmt.Sprintf("counterparty %q", name), err)
		}
		c.counts.of("account").Created++
		return got.ID, nil
	}
	if err := c.mayChange(store.EntityAccount, "accounts", m.ID); err != nil {
		// The order keeps the account it has.
		return 0, c.problem("account", line, fmt.Sprintf("counterparty %q", name), err)
	}
	_, err = c.t.UpdateAccount(m.ID, func(a *crm.Account) error {
		if full != "" {
			a.FullName = full
		}
		if v := strings.TrimSpace(b.INN); v != "" && a.INN == "" {
			a.INN = v
		}
		if v := strings.TrimSpace(b.KPP); v != "" && a.KPP == "" {
			a.KPP = v
		}
		return c.setExternal("account", a.ID, &a.ExternalIDs, id1c)
	})
	if err != nil {
		return 0, c.problem("account", line, fmt.Sprintf("counterparty %q", name), err)
	}
	c.counts.of("account").Updated++
	return m.ID, nil
}

// item is an order line as 1C sent it, linked to the product or service
// it names when Obmen has one. Whatever the line carries that a line
// item has no column for — 1C's own id of the line's good (with its
// characteristic after "#"), the characteristics, the unit's ОКЕИ code —
// is kept in its properties, so that nothing 1C sent is lost and the line
// is written back the same.
func (c *catalogTx) item(it *commerceml.Item) (crm.LineItem, error) {
	qty, err := ParseQuantity(it.Quantity)
	if err != nil {
		return crm.LineItem{}, fmt.Errorf("%w: <Количество> %q: %w", errEntity, it.Quantity, err)
	}
	price, err := linePrice(it, qty)
	if err != nil {
		return crm.LineItem{}, err
	}
	vat, err := ParseVAT(it.VAT())
	if err != nil {
		return crm.LineItem{}, fmt.Errorf("%w: %w", errEntity, err)
	}
	li := crm.LineItem{Name: strings.TrimSpace(it.Name), Price: price, Quantity: qty, Unit: strings.TrimSpace(it.Unit), VATRate: vat, VATIncluded: true,
		Properties: lineProperties(it)}
	for _, t := range it.Taxes {
		if strings.EqualFold(strings.TrimSpace(t.Name), "НДС") && strings.TrimSpace(t.Included) == "false" {
			li.VATIncluded = false
		}
	}
	if err := lineDiscount(it, &li); err != nil {
		return li, err
	}
	if err := c.unit(li.Unit); err != nil {
		return li, err
	}
	if it.IsService() {
		m, err := MatchService(c, it.Name, it.GoodID())
		if err != nil {
			return li, err
		}
		li.ServiceID = m.ID
		return li, nil
	}
	// The product is the good's; a line whose id is
	// "<good>#<characteristic>" names the variant with that 1C id when
	// Obmen has it (the characteristics stay in the properties as sent).
	m, err := MatchProduct(c, it.Name, it.Article, it.GoodID())
	if err != nil {
		return li, err
	}
	li.ProductID = m.ID
	if id := strings.TrimSpace(it.ID); strings.Contains(id, "#") {
		var variantID, productID int64
		err := c.t.QueryRow("SELECT id, product_id FROM product_variants WHERE id1c = $1", id).Scan(&variantID, &productID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return li, fmt.Errorf("exchange: variant %q: %w", id, err)
		case li.ProductID == 0 || li.ProductID == productID:
			li.ProductID, li.VariantID = productID, variantID
		}
	}
	return li, nil
}

// linePrice is the line's price: <ЦенаЗаЕдиницу> (or <Цена>) as written;
// when 1C left it out, the sum over the quantity (what the line costs is
// what 1C charged); when it wrote neither, 0.
func linePrice(it *commerceml.Item, qty crm.Quantity) (crm.Amount, error) {
	if it.Price != "" {
		p, err := ParseAmount(it.Price)
		if err != nil {
			return 0, fmt.Errorf("%w: <ЦенаЗаЕдиницу> %q: %w", errEntity, it.Price, err)
		}
		return p, nil
	}
	if strings.TrimSpace(it.Sum) == "" {
		return 0, nil
	}
	sum, err := ParseAmount(it.Sum)
	if err != nil {
		return 0, fmt.Errorf("%w: <Сумма> %q: %w", errEntity, it.Sum, err)
	}
	if qty == 0 {
		return sum, nil
	}
	return crm.Amount(divRound(int64(sum)*1000, int64(qty))), nil
}

// lineDiscount takes the line's <Скидки>: the sum of their <Сумма> as
// the line's discount; a percent alone (no sum written) as its rate. 1C
// and the shop modules write ЦенаЗаЕдиницу before the discount and Сумма
// after it, which is what a line item computes from these.
func lineDiscount(it *commerceml.Item, li *crm.LineItem) error {
	var sum crm.Amount
	var rate string
	for i, d := range it.Discounts {
		if v := strings.TrimSpace(d.Sum); v != "" {
			a, err := ParseAmount(v)
			if err != nil || a < 0 {
				return fmt.Errorf("%w: <Скидка> %d: <Сумма> %q: not a sum of money", errEntity, i+1, d.Sum)
			}
			sum += a
		} else if v := strings.TrimSpace(d.Percent); v != "" && rate == "" {
			rate = v
		}
	}
	switch {
	case sum != 0:
		li.Discount = sum
	case rate != "":
		r, err := ParseAmount(rate)
		if err != nil || r < 0 || r > 100*100 {
			return fmt.Errorf("%w: <Скидка>: <Процент> %q: not a percent from 0 to 100", errEntity, rate)
		}
		li.DiscountRate = r
	}
	return nil
}

// divRound is a/b rounded half away from zero (b > 0).
func divRound(a, b int64) int64 {
	q, r := a/b, a%b
	if 2*abs(r) >= b {
		if a < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// Properties of a line item the exchange reads and writes.
const (
	propID1C            = "1c_id"
	propCharacteristics = "1c_characteristics"
	propUnitCode        = "unit_code"
)

// LineProperties is what a line item keeps of a document's line that it
// has no column for (the good's id as the other side sent it, with its
// characteristic after "#"; the characteristics; the unit's ОКЕИ code).
// The site exchange keeps the same for the lines a web shop sends.
func LineProperties(it *commerceml.Item) map[string]any { return lineProperties(it) }

// LineDiscount sets a line item's discount from the line's <Скидки>.
func LineDiscount(it *commerceml.Item, li *crm.LineItem) error { return lineDiscount(it, li) }

// LineRefs appends the products, services and variants the line items
// name to the three lists (to read them in one query each).
func LineRefs(items []crm.LineItem, prodIDs, servIDs, varIDs []int64) ([]int64, []int64, []int64) {
	for _, it := range items {
		switch {
		case it.ProductID != 0:
			prodIDs = append(prodIDs, it.ProductID)
		case it.ServiceID != 0:
			servIDs = append(servIDs, it.ServiceID)
		}
		if it.VariantID != 0 {
			varIDs = append(varIDs, it.VariantID)
		}
	}
	return prodIDs, servIDs, varIDs
}

// LineDiscounts is a line item's discount as <Скидки>: its sum, taken
// off the line's Сумма, and its percent when it was given as one.
func LineDiscounts(it *crm.LineItem) []commerceml.Discount {
	if it.Discount == 0 {
		return nil
	}
	d := commerceml.Discount{Name: "Скидка", Sum: it.Discount.String(), Included: "true"}
	if it.DiscountRate != 0 {
		d.Percent = it.DiscountRate.String()
	}
	return []commerceml.Discount{d}
}

func lineProperties(it *commerceml.Item) map[string]any {
	p := map[string]any{}
	if id := strings.TrimSpace(it.ID); id != "" {
		p[propID1C] = id
	}
	if code := it.UnitCode(); code != "" {
		p[propUnitCode] = code
	}
	if len(it.Characteristics) > 0 {
		cs := make([]any, 0, len(it.Characteristics))
		for _, ch := range it.Characteristics {
			m := map[string]any{"name": strings.TrimSpace(ch.Name), "value": strings.TrimSpace(ch.Value)}
			if id := strings.TrimSpace(ch.ID); id != "" {
				m["id"] = id
			}
			cs = append(cs, m)
		}
		p[propCharacteristics] = cs
	}
	if len(p) == 0 {
		return nil
	}
	return p
}

// LineCharacteristics reads back what lineProperties kept (a JSON
// round trip turns it into []any of map[string]any).
func LineCharacteristics(props map[string]any) []commerceml.Characteristic {
	list, _ := props[propCharacteristics].([]any)
	var out []commerceml.Characteristic
	for _, v := range list {
		m, _ := v.(map[string]any)
		if m == nil {
			continue
		}
		str := func(k string) string { s, _ := m[k].(string); return s }
		out = append(out, commerceml.Characteristic{ID: str("id"), Name: str("name"), Value: str("value")})
	}
	return out
}

// VariantCharacteristics are a line's characteristics: those the other
// side sent (kept), else the variant's own.
func VariantCharacteristics(kept []commerceml.Characteristic, v *crm.ProductVariant) []commerceml.Characteristic {
	if len(kept) > 0 {
		return kept
	}
	for _, ch := range v.Characteristics {
		kept = append(kept, commerceml.Characteristic{Name: ch.Name, Value: ch.Value})
	}
	return kept
}

// KeptLineID is the good's id the other side sent for a line, with its
// characteristic after "#" ("" when none was kept).
func KeptLineID(it *crm.LineItem) string { return propString(it.Properties, propID1C) }

// NameLineID is a stable id for a line that names no good either side
// knows: the same text is one good.
func NameLineID(name string) string {
	h := sha1.Sum([]byte(strings.ToLower(strings.Join(strings.Fields(name), " "))))
	return "obmen-line-" + hex.EncodeToString(h[:10])
}

// DocumentLine is a line item as a document's <Товар> — the 1C sale
// query's and the site's orders documents write the same: id, article,
// name, unit with its ОКЕИ code, characteristics, price, quantity, sum,
// kind (Товар or Услуга), VAT and discount.
func DocumentLine(it *crm.LineItem, id, article, kind, unit, unitCode string, chars []commerceml.Characteristic) commerceml.Item {
	li := commerceml.Item{ID: id, Article: crm.ClipRunes(article, 255), Name: crm.ClipRunes(it.Name, 255), Unit: crm.ClipRunes(unit, 255),
		BaseUnit:        commerceml.UnitRef{Code: unitCode},
		Characteristics: chars,
		Price:           it.Price.String(), Quantity: it.Quantity.String(), Sum: it.Sum.String(),
		Requisites: []commerceml.Requisite{{Name: "ВидНоменклатуры", Value: kind}, {Name: "ТипНоменклатуры", Value: kind}},
		Discounts:  LineDiscounts(it)}
	if it.VATRate != nil {
		li.Taxes = []commerceml.ItemTax{{Name: "НДС", Included: strconv.FormatBool(it.VATIncluded), Sum: it.Tax.String(), Rate: it.VATRate.String()}}
	}
	return li
}

func propString(props map[string]any, k string) string {
	s, _ := props[k].(string)
	return strings.TrimSpace(s)
}

// query answers mode=query: the orders changed since the last confirmed
// exchange by anything but the exchange itself, as one orders document —
// never an empty body (1C takes that for an error), so an empty document
// when nothing changed.
func (s *Service) query(w http.ResponseWriter, r *http.Request, sess session, set Settings) {
	ctx := r.Context()
	var mark int64
	if v, err := s.store.GetSetting(ctx, cursorOf(ctx)); err == nil {
		mark, _ = strconv.ParseInt(v, 10, 64)
	}
	e, err := s.newEntry(ctx, Entry{sessionID: sess.ID, Type: "sale", Direction: DirOut, Filename: "orders.xml", Status: StatusRunning})
	if err != nil {
		s.log.Error("exchange: query", "err", err)
		fail(w, "internal error")
		return
	}
	failQuery := func(err error) {
		s.log.Error("exchange: query", "err", err)
		_ = s.finish(context.Background(), e.ID, StatusFailure, nil, nil, err.Error())
	}
	// Events up to top are complete: ids are handed out in commit order.
	var top int64
	if err := s.db.Read.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM events").Scan(&top); err != nil {
		failQuery(err)
		fail(w, "internal error")
		return
	}
	// Only the orders the user may see (issue 25): another manager's
	// orders, and so their counterparties, are not sent.
	args := []any{store.EntitySalesOrder, mark, top, System}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	visible := ""
	if c := store.ScopeCondition(ctx, store.EntitySalesOrder, "so", arg); c != "" {
		visible = " AND record_id IN (SELECT so.id FROM sales_orders so WHERE " + c + ")"
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT DISTINCT record_id FROM events WHERE entity = $1 AND id > $2 AND id <= $3 AND integration <> $4`+visible+`
		ORDER BY record_id`, args...)
	if err != nil {
		failQuery(err)
		fail(w, "internal error")
		return
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			failQuery(err)
			fail(w, "internal error")
			return
		}
		ids = append(ids, id)
	}
	rows.Close()
	// Written to a file first: what is sent is kept for the journal, and a
	// failure half-way is still a clean "failure" answer.
	dir := filepath.Join(s.dir, "sent")
	_ = os.MkdirAll(dir, 0o700)
	p := filepath.Join(dir, fmt.Sprintf("orders-%d.xml", e.ID))
	n, err := s.writeOrders(ctx, p, ids, set)
	if err != nil {
		failQuery(err)
		fail(w, "cannot write the orders document: "+err.Error())
		return
	}
	st, _ := os.Stat(p)
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE cml_sessions SET cursor = $1, query_exchange_id = $2 WHERE id = $3", top, e.ID, sess.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE cml_exchanges SET file_path = $1, file_size = $2 WHERE id = $3", p, st.Size(), e.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, finishSQL, finishArgs(e.ID, StatusSuccess, s.now(), Counts{"sales_order": {Updated: n}}, nil, "")...)
		return err
	})
	if err != nil {
		failQuery(err)
		fail(w, "internal error")
		return
	}
	f, err := os.Open(p)
	if err != nil {
		fail(w, "internal error")
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/xml; charset="+string(set.WriteEncoding()))
	w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	_, _ = io.Copy(w, f)
}

// cursorOf is the setting that holds the sale cursor of the request's
// user: one for everyone who sees every order (the integration user,
// administrators; the cursor there was before issue 25), and one per user
// for a user limited to some orders, so that a manager's confirmed query
// does not move the mark past orders the integration user has not been
// sent.
func cursorOf(ctx context.Context) string {
	if sc := store.ScopeOf(ctx); sc != nil {
		return cursorKey + ".user." + strconv.FormatInt(sc.UserID, 10)
	}
	return cursorKey
}

// writeOrders writes the orders document of ids to p; it returns how
// many orders it holds (deleted ones are left out).
func (s *Service) writeOrders(ctx context.Context, p string, ids []int64, set Settings) (int, error) {
	f, err := os.Create(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	ow, err := commerceml.NewOrdersWriter(f, set.WriteEncoding(), set.Version, s.now())
	if err != nil {
		return 0, err
	}
	n := 0
	const batch = 500
	for i := 0; i < len(ids); i += batch {
		part := ids[i:min(i+batch, len(ids))]
		orders, err := s.store.SalesOrdersByIDs(ctx, part)
		if err != nil {
			return n, err
		}
		ref, err := s.references(ctx, orders)
		if err != nil {
			return n, err
		}
		for _, o := range orders {
			if o.DeletedAt != nil {
				continue
			}
			if err := ow.Write(orderDocument(&o, ref, set)); err != nil {
				return n, err
			}
			n++
		}
	}
	if err := ow.Close(); err != nil {
		return n, err
	}
	return n, f.Sync()
}

// orderRefs are the records a page of orders refers to.
type orderRefs struct {
	accounts map[int64]*crm.Account
	goods    map[int64]good // products
	services map[int64]good
	variants map[int64]crm.ProductVariant
}

// good is what an order line says of its product or service: 1C's id,
// so that 1C finds its own item, and the article.
type good struct{ id1c, article string }

// references loads the accounts, products and services of orders.
func (s *Service) references(ctx context.Context, orders []crm.SalesOrder) (orderRefs, error) {
	ref := orderRefs{accounts: map[int64]*crm.Account{}, goods: map[int64]good{}, services: map[int64]good{}}
	var accIDs, prodIDs, servIDs, varIDs []int64
	for _, o := range orders {
		if o.AccountID != 0 {
			accIDs = append(accIDs, o.AccountID)
		}
		prodIDs, servIDs, varIDs = LineRefs(o.Items, prodIDs, servIDs, varIDs)
	}
	var err error
	if ref.variants, err = s.store.VariantsByIDs(ctx, slices.Compact(slices.Sorted(slices.Values(varIDs)))); err != nil {
		return ref, err
	}
	accs, err := s.store.AccountsByIDs(ctx, accIDs)
	if err != nil {
		return ref, err
	}
	sc := store.ScopeOf(ctx)
	for i := range accs {
		// An account the user may not see is not sent: the order goes
		// with the retail buyer rather than reveal another manager's
		// counterparty.
		if sc != nil && !sc.Sees(accs[i].AssignedByID) {
			continue
		}
		ref.accounts[accs[i].ID] = &accs[i]
	}
	ps, err := s.store.ProductsByIDs(ctx, slices.Compact(slices.Sorted(slices.Values(prodIDs))))
	if err != nil {
		return ref, err
	}
	for _, p := range ps {
		ref.goods[p.ID] = good{id1c: p.ExternalIDs[System], article: p.Article}
	}
	vs, err := s.store.ServicesByIDs(ctx, slices.Compact(slices.Sorted(slices.Values(servIDs))))
	if err != nil {
		return ref, err
	}
	for _, v := range vs {
		ref.services[v.ID] = good{id1c: v.ExternalIDs[System]}
	}
	return ref, nil
}

// orderDocument is a sales order as 1C reads it, valid against the
// official schema of every version 2.03–2.10 (see the schema tests).
func orderDocument(o *crm.SalesOrder, ref orderRefs, set Settings) *commerceml.Document {
	d := &commerceml.Document{
		ID: strconv.FormatInt(o.ID, 10), Number: o.Number, Date: o.OrderDate, Time: o.CreatedAt.Format("15:04:05"),
		Operation: "Заказ товара", Role: "Продавец", Currency: o.Currency, Rate: "1", Sum: o.Total.String(), Comment: crm.ClipRunes(o.Comments, 3000),
		Requisites: []commerceml.Requisite{
			{Name: "Статус заказа", Value: StatusTo1C(o.Status, set.StatusMap)},
			{Name: "ПометкаУдаления", Value: strconv.FormatBool(o.Status == crm.OrderCancelled)},
		},
	}
	if d.Date == "" {
		d.Date = o.CreatedAt.Format("2006-01-02")
	}
	d.Counterparties = []commerceml.Counterparty{buyer(o, ref)}
	for _, it := range o.Items {
		kind, g := "Товар", ref.goods[it.ProductID]
		if it.ServiceID != 0 {
			kind, g = "Услуга", ref.services[it.ServiceID]
		}
		chars := LineCharacteristics(it.Properties)
		// A line that names a variant is 1C's characteristic of the good:
		// its own Ид ("<good>#<characteristic>"), article and
		// characteristics.
		if v, ok := ref.variants[it.VariantID]; ok && it.VariantID != 0 && v.ID1C != "" {
			g.id1c = v.ID1C
			if v.Article != "" {
				g.article = v.Article
			}
			chars = VariantCharacteristics(chars, &v)
		}
		d.Items = append(d.Items, DocumentLine(&it, lineID(&it, g), g.article, kind, it.Unit, propString(it.Properties, propUnitCode), chars))
	}
	return d
}

// retailBuyer stands for the buyer of an order that names no account:
// the schema requires a counterparty, and 1C files such sales under one
// retail customer.
var retailBuyer = commerceml.Counterparty{ID: "obmen-retail-buyer", Name: "Розничный покупатель", FullName: "Розничный покупатель", Role: "Покупатель"}

// buyer is the order's account as a counterparty: by 1C's id when 1C
// knows it, else Obmen's own stable id.
func buyer(o *crm.SalesOrder, ref orderRefs) commerceml.Counterparty {
	a := ref.accounts[o.AccountID]
	if a == nil {
		return retailBuyer
	}
	id := a.ExternalIDs[System]
	if id == "" {
		id = "obmen-account-" + strconv.FormatInt(a.ID, 10)
	}
	c := commerceml.Counterparty{ID: id, Name: crm.ClipRunes(a.Title, 255), FullName: crm.ClipRunes(a.FullName, 255), Role: "Покупатель", INN: validINN(a.INN), KPP: validKPP(a.KPP)}
	if c.FullName == "" {
		c.FullName = c.Name
	}
	if c.KPP != "" || len(c.INN) == 10 {
		// A company: ИНН of 10 digits, or a КПП.
		c.OfficialName, c.LegalAddress = c.FullName, crm.ClipRunes(a.LegalAddress.String(), 255)
	} else {
		c.Address = crm.ClipRunes(a.LegalAddress.String(), 255)
	}
	return c
}

// validINN and validKPP leave out what the schema would refuse (ИНН of
// 10 or 12 characters, КПП of 9): 1C refuses the whole document for one
// such value, and Obmen keeps the account's value as it is.
func validINN(v string) string {
	if v = strings.TrimSpace(v); len(v) == 10 || len(v) == 12 {
		return v
	}
	return ""
}

func validKPP(v string) string {
	if v = strings.TrimSpace(v); len(v) == 9 {
		return v
	}
	return ""
}

// lineID is the <Ид> of an order line: the 1C id of its product or
// service; else the id 1C sent for the line (kept in its properties);
// else Obmen's own stable id — of the product or service, or for a line
// that names neither, of its name (the same text is one good to 1C).
func lineID(it *crm.LineItem, g good) string {
	kept := KeptLineID(it)
	if g.id1c != "" {
		// "<good>#<characteristic>" as 1C sent it names the variant.
		if good, _, _ := strings.Cut(kept, "#"); good == g.id1c {
			return kept
		}
		return g.id1c
	}
	if kept != "" {
		return kept
	}
	switch {
	case it.ProductID != 0:
		return "obmen-product-" + strconv.FormatInt(it.ProductID, 10)
	case it.ServiceID != 0:
		return "obmen-service-" + strconv.FormatInt(it.ServiceID, 10)
	}
	return NameLineID(it.Name)
}

// confirm answers mode=success: what the session's query sent is now
// known to 1C, so the next query starts after it.
func (s *Service) confirm(w http.ResponseWriter, r *http.Request, sess session) {
	if sess.Cursor == 0 {
		answer(w, "success")
		return
	}
	err := s.store.SetSetting(r.Context(), crm.Actor{Integration: System}, cursorOf(r.Context()), strconv.FormatInt(sess.Cursor, 10))
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.Error("exchange: success", "err", err)
		fail(w, "internal error")
		return
	}
	answer(w, "success")
}
