package exchange

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
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

// stageOffers writes prepared offers in the stager's write.
func stageOffers(ctx context.Context, tx *sql.Tx, batch, file int64, offers []preparedOffer) error {
	if len(offers) == 0 {
		return nil
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO cml_stage_offers (batch_id, file_id, seq, ord, owner_id1c, good_id1c, variant, name, article,
		chars, has_chars, price, currency, has_price, stock, has_stock, line) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	goods, err := tx.PrepareContext(ctx, "INSERT INTO cml_stage_goods (batch_id, good_id1c) VALUES ($1, $2) ON CONFLICT DO NOTHING")
	if err != nil {
		return err
	}
	defer goods.Close()
	var price, stock *sql.Stmt
	lastGood := ""
	for _, o := range offers {
		v := o.v
		if o.goodID1C != lastGood {
			if _, err := goods.ExecContext(ctx, batch, o.goodID1C); err != nil {
				return fmt.Errorf("stage offer %q: %w", o.ownerID1C, err)
			}
			lastGood = o.goodID1C
		}
		if _, err := ins.ExecContext(ctx, batch, file, o.seq, file<<32|o.seq, o.ownerID1C, o.goodID1C, v.Variant, o.name, o.artic,
			o.chars, v.HasChars, o.price, v.Currency, o.hasPrice, o.stock, o.hasStock, v.Line); err != nil {
			return fmt.Errorf("stage offer %q: %w", o.ownerID1C, err)
		}
		for _, p := range v.Prices {
			if price == nil {
				if price, err = tx.PrepareContext(ctx, `INSERT INTO cml_stage_offer_prices (batch_id, file_id, seq, price_type, type_id1c, price, currency)
					VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`); err != nil {
					return err
				}
				defer price.Close()
			}
			if _, err := price.ExecContext(ctx, batch, file, o.seq, p.Type, p.TypeID1C, int64(p.Price), p.Currency); err != nil {
				return fmt.Errorf("stage prices of offer %q: %w", o.ownerID1C, err)
			}
		}
		for _, w := range v.Stocks {
			if stock == nil {
				if stock, err = tx.PrepareContext(ctx, `INSERT INTO cml_stage_offer_stocks (batch_id, file_id, seq, warehouse, quantity)
					VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`); err != nil {
					return err
				}
				defer stock.Close()
			}
			if _, err := stock.ExecContext(ctx, batch, file, o.seq, w.Warehouse, int64(w.Quantity)); err != nil {
				return fmt.Errorf("stage stock of offer %q: %w", o.ownerID1C, err)
			}
		}
	}
	return nil
}

// applyOffers writes the batch's staged variants, prices per type and
// stocks per warehouse, then the totals of the products with variants
// (stock: the sum; price: the lowest variant price). Variant offers whose
// good is no product are skipped and listed. It returns the variants
// created and updated. Each step is one statement whatever the number of
// offers.
func (c *catalogTx) applyOffers(batch int64, now int64) (created, updated int64, skipped []SkippedItem, err error) {
	t := c.t
	exec := func(what, q string, args ...any) (int64, error) {
		res, err := t.Exec(q, append([]any{batch}, args...)...)
		if err != nil {
			return 0, fmt.Errorf("exchange: apply offers: %s: %w", what, err)
		}
		n, _ := res.RowsAffected()
		return n, nil
	}
	// The product of each good, and which row of an offer's 1C id applies
	// (the last in the batch; duplicates are rare, and only they are
	// looked at).
	if _, err := exec("goods", `UPDATE cml_stage_goods SET product_id = COALESCE((SELECT x.record_id FROM external_ids x
		JOIN products p ON p.id = x.record_id AND p.deleted_at = 0
		WHERE x.entity = 'product' AND x.system = $2 AND x.external_id = cml_stage_goods.good_id1c), 0) WHERE batch_id = $1`, System); err != nil {
		return 0, 0, nil, err
	}
	if _, err := exec("duplicates", `UPDATE cml_stage_offers SET live = FALSE WHERE batch_id = $1 AND owner_id1c IN
		(SELECT owner_id1c FROM cml_stage_offers WHERE batch_id = $1 GROUP BY owner_id1c HAVING COUNT(*) > 1)
		AND ord < (SELECT MAX(t.ord) FROM cml_stage_offers t WHERE t.batch_id = $1 AND t.owner_id1c = cml_stage_offers.owner_id1c)`); err != nil {
		return 0, 0, nil, err
	}
	rows, err := t.Query(`SELECT s.owner_id1c, s.name, s.line, s.file_id FROM cml_stage_goods g CROSS JOIN cml_stage_offers s
		WHERE g.batch_id = $1 AND g.product_id = 0 AND s.batch_id = $1 AND s.good_id1c = g.good_id1c AND s.variant ORDER BY s.ord`, batch)
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
	// The batch's offers that apply, with their product (g.product_id)
	// and variant (v.id, 0 for a product's own offer): SQLite reads the
	// staged offers first and finds the rest by key.
	const (
		from = `cml_stage_offers s CROSS JOIN cml_stage_goods g`
		vj   = ` LEFT JOIN product_variants v ON s.variant AND v.id1c = s.owner_id1c`
		live = ` s.batch_id = $1 AND s.live AND g.batch_id = $1 AND g.good_id1c = s.good_id1c AND g.product_id <> 0`
	)
	if updated, err = exec("variants", `UPDATE product_variants SET product_id = g.product_id,
		name = CASE WHEN s.name <> '' THEN s.name ELSE product_variants.name END,
		article = CASE WHEN s.name <> '' THEN s.article ELSE product_variants.article END,
		characteristics = CASE WHEN s.has_chars THEN s.chars ELSE product_variants.characteristics END,
		price = CASE WHEN s.has_price THEN s.price ELSE product_variants.price END,
		currency = CASE WHEN s.has_price AND s.currency <> '' THEN s.currency ELSE product_variants.currency END,
		stock = CASE WHEN s.has_stock THEN s.stock ELSE product_variants.stock END,
		active = TRUE, updated_at = $2
		FROM cml_stage_offers s CROSS JOIN cml_stage_goods g
		WHERE s.batch_id = $1 AND s.owner_id1c = product_variants.id1c AND s.live AND s.variant
		AND g.batch_id = $1 AND g.good_id1c = s.good_id1c AND g.product_id <> 0`, now); err != nil {
		return 0, 0, nil, err
	}
	if created, err = exec("variants", `INSERT INTO product_variants (product_id, id1c, name, article, characteristics, price, currency, stock, active, updated_at)
		SELECT g.product_id, s.owner_id1c, s.name, s.article, CASE WHEN s.has_chars THEN s.chars ELSE '[]' END, s.price,
		CASE WHEN s.currency <> '' THEN s.currency ELSE 'RUB' END, s.stock, TRUE, $2
		FROM `+from+vj+` WHERE`+live+` AND s.variant AND v.id IS NULL`, now); err != nil {
		return 0, 0, nil, err
	}
	if _, err := exec("prices", `INSERT INTO product_prices (product_id, variant_id, price_type, type_id1c, price, currency)
		SELECT g.product_id, COALESCE(v.id, 0), sp.price_type, sp.type_id1c, sp.price, sp.currency
		FROM `+from+` CROSS JOIN cml_stage_offer_prices sp`+vj+`
		WHERE`+live+` AND sp.batch_id = $1 AND sp.file_id = s.file_id AND sp.seq = s.seq
		ON CONFLICT (product_id, variant_id, price_type) DO UPDATE SET type_id1c = excluded.type_id1c, price = excluded.price, currency = excluded.currency`); err != nil {
		return 0, 0, nil, err
	}
	// Stock per warehouse: an offer that has stock replaces its rows.
	if _, err := exec("stocks", `DELETE FROM product_stocks WHERE (product_id, variant_id) IN
		(SELECT g.product_id, COALESCE(v.id, 0) FROM `+from+vj+` WHERE`+live+` AND s.has_stock)`); err != nil {
		return 0, 0, nil, err
	}
	if _, err := exec("stocks", `INSERT INTO product_stocks (product_id, variant_id, warehouse, quantity)
		SELECT g.product_id, COALESCE(v.id, 0), ss.warehouse, ss.quantity FROM `+from+` CROSS JOIN cml_stage_offer_stocks ss`+vj+`
		WHERE`+live+` AND s.has_stock AND ss.batch_id = $1 AND ss.file_id = s.file_id AND ss.seq = s.seq`); err != nil {
		return 0, 0, nil, err
	}
	// Totals of the products whose variants changed.
	if _, err := exec("totals", `UPDATE products SET
		stock = (SELECT COALESCE(SUM(v.stock), 0) FROM product_variants v WHERE v.product_id = products.id AND v.active),
		price = COALESCE((SELECT MIN(v.price) FROM product_variants v WHERE v.product_id = products.id AND v.active AND v.price > 0), products.price),
		updated_at = $2
		WHERE id IN (SELECT g.product_id FROM `+from+` WHERE`+live+` AND s.variant)`, now); err != nil {
		return 0, 0, nil, err
	}
	return created, updated, skipped, nil
}
