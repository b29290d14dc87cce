package exchange

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
)

// Offers carry more than a product's one price and stock: variants (1C's
// characteristics, offers with "<good>#<characteristic>" ids), a price
// per price type and stock per warehouse. The stager keeps them in
// cml_stage_offers and its two child tables; the switch applies them
// set-based once the goods' products exist (applyOffers), so that an
// offer lands on its good's product whichever file or chunk brought the
// good, and the same files give the same rows however they were uploaded.

// stagedOffer is an offer to stage, with its place in the file.
type stagedOffer struct {
	seq int64
	v   *offerVals
}

type preparedOffer struct {
	seq         int64
	v           *offerVals
	chars       string
	price       int64
	stock       int64
	hasStock    bool
	hasPrice    bool
	goodID1C    string
	ownerID1C   string
	name, artic string
	pictures    string
}

func prepareOffers(rows []stagedOffer) ([]preparedOffer, error) {
	out := make([]preparedOffer, 0, len(rows))
	for _, r := range rows {
		p := preparedOffer{seq: r.seq, v: r.v, goodID1C: r.v.ID1C, ownerID1C: r.v.OfferID, name: r.v.Name, artic: r.v.Article}
		if r.v.HasChars {
			b, err := json.Marshal(r.v.Chars)
			if err != nil {
				return nil, err
			}
			p.chars = string(b)
		}
		if len(r.v.Pictures) > 0 {
			b, err := json.Marshal(r.v.Pictures)
			if err != nil {
				return nil, err
			}
			p.pictures = string(b)
		}
		if r.v.Price != nil {
			p.price, p.hasPrice = int64(*r.v.Price), true
		}
		if r.v.Stock != nil {
			p.stock, p.hasStock = int64(*r.v.Stock), true
		}
		out = append(out, p)
	}
	return out, nil
}

// stageOffers writes prepared offers in the stager's write, in
// multi-row statements.
func stageOffers(ctx context.Context, tx *sql.Tx, sqlite bool, batch, file int64, offers []preparedOffer) error {
	if len(offers) == 0 {
		return nil
	}
	ins := newMultiInsert(ctx, tx, sqlite, "cml_stage_offers", []string{"batch_id", "file_id", "seq", "ord", "owner_id1c", "good_id1c", "variant",
		"name", "article", "chars", "has_chars", "price", "currency", "has_price", "stock", "has_stock", "line", "pictures"}, "")
	goods := newMultiInsert(ctx, tx, sqlite, "cml_stage_goods", []string{"batch_id", "good_id1c"}, " ON CONFLICT DO NOTHING")
	price := newMultiInsert(ctx, tx, sqlite, "cml_stage_offer_prices", []string{"batch_id", "file_id", "seq", "price_type", "type_id1c", "price", "currency"},
		" ON CONFLICT DO NOTHING")
	stock := newMultiInsert(ctx, tx, sqlite, "cml_stage_offer_stocks", []string{"batch_id", "file_id", "seq", "warehouse", "quantity"}, " ON CONFLICT DO NOTHING")
	fail := func(what string, err error) error { return fmt.Errorf("stage %s: %w", what, err) }
	lastGood := ""
	for _, o := range offers {
		v := o.v
		if o.goodID1C != lastGood {
			if err := goods.add(batch, o.goodID1C); err != nil {
				return fail("goods", err)
			}
			lastGood = o.goodID1C
		}
		if err := ins.add(batch, file, o.seq, file<<32|o.seq, o.ownerID1C, o.goodID1C, v.Variant, o.name, o.artic,
			o.chars, v.HasChars, o.price, v.Currency, o.hasPrice, o.stock, o.hasStock, v.Line, o.pictures); err != nil {
			return fail("offers", err)
		}
		for _, p := range v.Prices {
			if err := price.add(batch, file, o.seq, p.Type, p.TypeID1C, int64(p.Price), p.Currency); err != nil {
				return fail("prices of offers", err)
			}
		}
		for _, w := range v.Stocks {
			if err := stock.add(batch, file, o.seq, w.Warehouse, int64(w.Quantity)); err != nil {
				return fail("stock of offers", err)
			}
		}
	}
	for _, m := range []struct {
		what string
		m    *multiInsert
	}{{"goods", goods}, {"offers", ins}, {"prices of offers", price}, {"stock of offers", stock}} {
		if err := m.m.flush(); err != nil {
			return fail(m.what, err)
		}
	}
	return nil
}

// applyOffers writes the staged variants, prices per type and stocks
// per warehouse of the batch's goods after lo up to hi (1C ids, in
// order: one chunk of the switch), then the totals of the products with
// variants (stock: the sum; price: the lowest variant price), and a
// change event for each product whose offers changed something
// (offerEvents). Variant offers whose good is no product are skipped and
// listed. It returns the variants created and changed. Each step is one
// statement whatever the number of offers, reading the chunk's goods
// first (cml_stage_goods' key, then cml_stage_offers by good), and only
// rows that differ from what is stored are written: the goods whose
// variants, prices or stocks differ are marked first (cml_stage_goods),
// which also says what each event names.
func (c *catalogTx) applyOffers(batch int64, lo, hi string, now int64) (created, updated int64, skipped []SkippedItem, err error) {
	t := c.t
	exec := func(what, q string, args ...any) (int64, error) {
		res, err := t.Exec(q, append([]any{batch, lo, hi}, args...)...)
		if err != nil {
			return 0, fmt.Errorf("exchange: apply offers: %s: %w", what, err)
		}
		n, _ := res.RowsAffected()
		c.steps.done("offers: " + what)
		return n, nil
	}
	const goods = ` batch_id = $1 AND good_id1c > $2 AND good_id1c <= $3`
	// The product of each good, with its price and stock before the
	// offers (for the events), and which row of an offer's 1C id applies
	// (the last in the batch; duplicates are rare, and only they are
	// looked at).
	if _, err := exec("goods", `UPDATE cml_stage_goods SET product_id = x.record_id, old_price = p.price, old_stock = p.stock
		FROM external_ids x JOIN products p ON p.id = x.record_id AND p.deleted_at = 0
		WHERE cml_stage_goods.batch_id = $1 AND cml_stage_goods.good_id1c > $2 AND cml_stage_goods.good_id1c <= $3
		AND x.entity = 'product' AND x.system = $4 AND x.external_id = cml_stage_goods.good_id1c`, System); err != nil {
		return 0, 0, nil, err
	}
	// A product the batch creates has no rows of its own yet: all its
	// offers' rows are written, without looking for what differs.
	if _, err := exec("new products", `UPDATE cml_stage_goods SET variants_changed = TRUE, prices_changed = TRUE, stocks_changed = TRUE
		WHERE`+goods+` AND product_id <> 0 AND EXISTS (SELECT 1 FROM cml_stage_products n
		WHERE n.batch_id = $1 AND n.record_id = cml_stage_goods.product_id AND n.op = 'create')`); err != nil {
		return 0, 0, nil, err
	}
	if _, err := exec("duplicates", `UPDATE cml_stage_offers SET live = FALSE WHERE`+goods+` AND live
		AND ord < (SELECT MAX(t.ord) FROM cml_stage_offers t WHERE t.batch_id = $1 AND t.owner_id1c = cml_stage_offers.owner_id1c)`); err != nil {
		return 0, 0, nil, err
	}
	rows, err := t.Query(`SELECT s.owner_id1c, s.name, s.line, s.file_id FROM cml_stage_goods g CROSS JOIN cml_stage_offers s
		WHERE g.batch_id = $1 AND g.good_id1c > $2 AND g.good_id1c <= $3 AND g.product_id = 0
		AND s.batch_id = $1 AND s.good_id1c = g.good_id1c || '' AND s.variant ORDER BY s.ord`, batch, lo, hi)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("exchange: apply offers: %w", err)
	}
	for rows.Next() {
		var it SkippedItem
		var file int64
		if err := rows.Scan(&it.ID, &it.Name, &it.Line, &file); err != nil {
			rows.Close()
			return 0, 0, nil, err
		}
		it.File = fmt.Sprint(file)
		it.Reason = "variant skipped: its good is not a product in Obmen (not in this catalog nor an earlier one)"
		skipped = append(skipped, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, nil, err
	}
	// The chunk's offers that apply, with their product (g.product_id)
	// and variant (v.id, 0 for a product's own offer): SQLite reads the
	// chunk's goods first and finds the rest by key. (|| '': else SQLite
	// carries the range of g.good_id1c over to s.good_id1c and reads all
	// the chunk's offers for each good.)
	const (
		from = `cml_stage_goods g CROSS JOIN cml_stage_offers s`
		// In UPDATE … FROM SQLite places the target after both with a
		// plain join, before s (a scan of it per good) with CROSS JOIN.
		fromU = `cml_stage_goods g, cml_stage_offers s`
		vj    = ` LEFT JOIN product_variants v ON s.variant AND v.id1c = s.owner_id1c`
		live  = ` g.batch_id = $1 AND g.good_id1c > $2 AND g.good_id1c <= $3 AND g.product_id <> 0
			AND s.batch_id = $1 AND s.good_id1c = g.good_id1c || '' AND s.live`
		mark = `UPDATE cml_stage_goods SET %s = TRUE WHERE` + goods + ` AND good_id1c IN (SELECT s.good_id1c FROM `
	)
	// differs: variant v is not what offer s of good g makes it.
	differs := func(v string) string {
		return strings.NewReplacer("v.", v+".").Replace(`(v.product_id <> g.product_id OR NOT v.active
			OR (s.name <> '' AND (v.name <> s.name OR v.article <> s.article))
			OR (s.has_chars AND v.characteristics <> s.chars)
			OR (s.has_price AND (v.price <> s.price OR (s.currency <> '' AND v.currency <> s.currency)))
			OR (s.has_stock AND v.stock <> s.stock))`)
	}
	if _, err := exec("variants changed", fmt.Sprintf(mark, "variants_changed")+from+vj+` WHERE`+live+` AND NOT g.variants_changed AND s.variant
		AND (v.id IS NULL OR `+differs("v")+`))`); err != nil {
		return 0, 0, nil, err
	}
	if updated, err = exec("variants", `UPDATE product_variants SET product_id = g.product_id,
		name = CASE WHEN s.name <> '' THEN s.name ELSE product_variants.name END,
		article = CASE WHEN s.name <> '' THEN s.article ELSE product_variants.article END,
		characteristics = CASE WHEN s.has_chars THEN s.chars ELSE product_variants.characteristics END,
		price = CASE WHEN s.has_price THEN s.price ELSE product_variants.price END,
		currency = CASE WHEN s.has_price AND s.currency <> '' THEN s.currency ELSE product_variants.currency END,
		stock = CASE WHEN s.has_stock THEN s.stock ELSE product_variants.stock END,
		active = TRUE, updated_at = $4
		FROM `+fromU+` WHERE`+live+` AND s.owner_id1c = product_variants.id1c AND s.variant
		AND g.variants_changed AND `+differs("product_variants"), now); err != nil {
		return 0, 0, nil, err
	}
	if created, err = exec("variants created", `INSERT INTO product_variants (product_id, id1c, name, article, characteristics, price, currency, stock, active, updated_at)
		SELECT g.product_id, s.owner_id1c, s.name, s.article, CASE WHEN s.has_chars THEN s.chars ELSE '[]' END, s.price,
		CASE WHEN s.currency <> '' THEN s.currency ELSE 'RUB' END, s.stock, TRUE, $4
		FROM `+from+vj+` WHERE`+live+` AND s.variant AND g.variants_changed AND v.id IS NULL`, now); err != nil {
		return 0, 0, nil, err
	}
	// Prices per type: an offer's price of a type replaces the stored one.
	if _, err := exec("prices changed", fmt.Sprintf(mark, "prices_changed")+from+` CROSS JOIN cml_stage_offer_prices sp`+vj+`
		LEFT JOIN product_prices pp ON pp.product_id = g.product_id AND pp.variant_id = COALESCE(v.id, 0) AND pp.price_type = sp.price_type
		WHERE`+live+` AND NOT g.prices_changed AND sp.batch_id = $1 AND sp.file_id = s.file_id AND sp.seq = s.seq
		AND (pp.product_id IS NULL OR pp.price <> sp.price OR pp.currency <> sp.currency OR pp.type_id1c <> sp.type_id1c))`); err != nil {
		return 0, 0, nil, err
	}
	if _, err := exec("prices", `INSERT INTO product_prices (product_id, variant_id, price_type, type_id1c, price, currency)
		SELECT g.product_id, COALESCE(v.id, 0), sp.price_type, sp.type_id1c, sp.price, sp.currency
		FROM `+from+` CROSS JOIN cml_stage_offer_prices sp`+vj+`
		WHERE`+live+` AND g.prices_changed AND sp.batch_id = $1 AND sp.file_id = s.file_id AND sp.seq = s.seq
		ON CONFLICT (product_id, variant_id, price_type) DO UPDATE SET type_id1c = excluded.type_id1c, price = excluded.price, currency = excluded.currency
		WHERE product_prices.price <> excluded.price OR product_prices.currency <> excluded.currency OR product_prices.type_id1c <> excluded.type_id1c`); err != nil {
		return 0, 0, nil, err
	}
	// Stock per warehouse: an offer that has stock replaces its rows;
	// they differ when a warehouse's quantity differs or a warehouse is
	// new or gone.
	if _, err := exec("stocks changed", fmt.Sprintf(mark, "stocks_changed")+from+` CROSS JOIN cml_stage_offer_stocks ss`+vj+`
		LEFT JOIN product_stocks ps ON ps.product_id = g.product_id AND ps.variant_id = COALESCE(v.id, 0) AND ps.warehouse = ss.warehouse
		WHERE`+live+` AND NOT g.stocks_changed AND s.has_stock AND ss.batch_id = $1 AND ss.file_id = s.file_id AND ss.seq = s.seq
		AND (ps.product_id IS NULL OR ps.quantity <> ss.quantity))`); err != nil {
		return 0, 0, nil, err
	}
	if _, err := exec("stocks gone", fmt.Sprintf(mark, "stocks_changed")+from+vj+` CROSS JOIN product_stocks ps
		LEFT JOIN cml_stage_offer_stocks ss ON ss.batch_id = $1 AND ss.file_id = s.file_id AND ss.seq = s.seq AND ss.warehouse = ps.warehouse
		WHERE`+live+` AND s.has_stock AND NOT g.stocks_changed AND ps.product_id = g.product_id AND ps.variant_id = COALESCE(v.id, 0)
		AND ss.seq IS NULL)`); err != nil {
		return 0, 0, nil, err
	}
	if _, err := exec("stocks", `DELETE FROM product_stocks WHERE (product_id, variant_id) IN
		(SELECT g.product_id, COALESCE(v.id, 0) FROM `+from+vj+` WHERE`+live+` AND s.has_stock AND g.stocks_changed)`); err != nil {
		return 0, 0, nil, err
	}
	if _, err := exec("stocks", `INSERT INTO product_stocks (product_id, variant_id, warehouse, quantity)
		SELECT g.product_id, COALESCE(v.id, 0), ss.warehouse, ss.quantity FROM `+from+` CROSS JOIN cml_stage_offer_stocks ss`+vj+`
		WHERE`+live+` AND s.has_stock AND g.stocks_changed AND ss.batch_id = $1 AND ss.file_id = s.file_id AND ss.seq = s.seq`); err != nil {
		return 0, 0, nil, err
	}
	// Totals of the products with variants, where they differ.
	if _, err := exec("totals", `UPDATE products SET stock = t.stock, price = COALESCE(t.price, products.price), updated_at = $4
		FROM (SELECT v.product_id, SUM(CASE WHEN v.active THEN v.stock ELSE 0 END) AS stock,
			MIN(CASE WHEN v.active AND v.price > 0 THEN v.price END) AS price
			FROM product_variants v WHERE v.product_id IN (SELECT g.product_id FROM `+from+` WHERE`+live+` AND s.variant)
			GROUP BY v.product_id) t
		WHERE products.id = t.product_id AND (products.stock <> t.stock OR products.price <> COALESCE(t.price, products.price))`, now); err != nil {
		return 0, 0, nil, err
	}
	if err := c.offerEvents(batch, lo, hi); err != nil {
		return 0, 0, nil, err
	}
	c.steps.done("offers: events")
	return created, updated, skipped, nil
}

// offerEvents writes an update event for each product of the batch's
// offers whose variants, prices per type or stocks per warehouse
// differed from what was stored, or whose price or stock the totals
// changed: "price" and "stock" with their values before and after, and
// "variants", "prices", "stocks" (new: true) for the kinds of rows that
// changed — the rows themselves are the product's offers
// (store.ProductOffers). The events of the products' own fields (name,
// unit, a product's own offer's price...) were written with them
// (store.ApplyProducts). A product the exchange created has its create
// event, which says all its rows are new: it gets this one, with its
// price and stock only, when the totals of its variants changed them.
func (c *catalogTx) offerEvents(batch int64, lo, hi string) error {
	type changed struct {
		id                                int64
		variants, prices, stocks, created bool
		oldPrice, oldStock                int64
		price, stock                      int64
	}
	rows, err := c.t.Query(`SELECT g.product_id, MAX(CASE WHEN g.variants_changed THEN 1 ELSE 0 END), MAX(CASE WHEN g.prices_changed THEN 1 ELSE 0 END),
		MAX(CASE WHEN g.stocks_changed THEN 1 ELSE 0 END), MIN(g.old_price), MIN(g.old_stock), p.price, p.stock,
		MAX(CASE WHEN EXISTS (SELECT 1 FROM cml_stage_products c WHERE c.batch_id = $1 AND c.record_id = g.product_id AND c.op = 'create') THEN 1 ELSE 0 END)
		FROM cml_stage_goods g JOIN products p ON p.id = g.product_id
		WHERE g.batch_id = $1 AND g.good_id1c > $2 AND g.good_id1c <= $3 AND g.product_id <> 0
		AND (g.variants_changed OR g.prices_changed OR g.stocks_changed OR p.price <> g.old_price OR p.stock <> g.old_stock)
		GROUP BY g.product_id, p.price, p.stock ORDER BY g.product_id`, batch, lo, hi)
	if err != nil {
		return fmt.Errorf("exchange: offer events: %w", err)
	}
	var all []changed
	for rows.Next() {
		var r changed
		var v, p, s, cr int
		if err := rows.Scan(&r.id, &v, &p, &s, &r.oldPrice, &r.oldStock, &r.price, &r.stock, &cr); err != nil {
			rows.Close()
			return fmt.Errorf("exchange: offer events: %w", err)
		}
		r.variants, r.prices, r.stocks, r.created = v != 0, p != 0, s != 0, cr != 0
		if r.created {
			if r.price == r.oldPrice && r.stock == r.oldStock {
				continue
			}
			r.variants, r.prices, r.stocks = false, false, false
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("exchange: offer events: %w", err)
	}
	yes := events.Change{Old: json.RawMessage("null"), New: json.RawMessage("true")}
	for i, r := range all {
		ch := map[string]events.Change{}
		if r.price != r.oldPrice {
			ch["price"] = events.Change{Old: json.RawMessage(crm.Amount(r.oldPrice).String()), New: json.RawMessage(crm.Amount(r.price).String())}
		}
		if r.stock != r.oldStock {
			ch["stock"] = events.Change{Old: json.RawMessage(crm.Quantity(r.oldStock).String()), New: json.RawMessage(crm.Quantity(r.stock).String())}
		}
		if r.variants {
			ch["variants"] = yes
		}
		if r.prices {
			ch["prices"] = yes
		}
		if r.stocks {
			ch["stocks"] = yes
		}
		c.t.Emit(store.EntityProduct, r.id, events.Update, ch)
		if (i+1)%1000 == 0 { // events.Append writes them in one statement
			if err := c.t.FlushEvents(); err != nil {
				return err
			}
		}
	}
	return c.t.FlushEvents()
}
