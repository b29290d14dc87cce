package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/obmen/obmen/internal/crm"
)

// ProductOffers returns a product's variants, prices per type and stock
// per warehouse (written by the 1C exchange).
func (s *Store) ProductOffers(ctx context.Context, productID int64) (crm.ProductOffers, error) {
	out := crm.ProductOffers{Variants: []crm.ProductVariant{}, Prices: []crm.ProductPrice{}, Stocks: []crm.ProductStock{}}
	if _, err := s.GetProduct(ctx, productID); err != nil {
		return out, err
	}
	byProduct, err := s.variantsWhere(ctx, "product_id", []int64{productID})
	if err != nil {
		return out, err
	}
	if vs := byProduct[productID]; vs != nil {
		out.Variants = vs
	}
	prows, err := s.db.Read.QueryContext(ctx, `SELECT variant_id, price_type, type_id1c, price, currency FROM product_prices
		WHERE product_id = $1 ORDER BY variant_id, price_type`, productID)
	if err != nil {
		return out, fmt.Errorf("store: prices of product %d: %w", productID, err)
	}
	defer prows.Close()
	for prows.Next() {
		var p crm.ProductPrice
		var price int64
		if err := prows.Scan(&p.VariantID, &p.PriceType, &p.TypeID1C, &price, &p.Currency); err != nil {
			return out, fmt.Errorf("store: prices of product %d: %w", productID, err)
		}
		p.Price = crm.Amount(price)
		out.Prices = append(out.Prices, p)
	}
	if err := prows.Err(); err != nil {
		return out, err
	}
	srows, err := s.db.Read.QueryContext(ctx, `SELECT variant_id, warehouse, quantity FROM product_stocks WHERE product_id = $1 ORDER BY variant_id, warehouse`, productID)
	if err != nil {
		return out, fmt.Errorf("store: stocks of product %d: %w", productID, err)
	}
	defer srows.Close()
	for srows.Next() {
		var st crm.ProductStock
		var q int64
		if err := srows.Scan(&st.VariantID, &st.Warehouse, &q); err != nil {
			return out, fmt.Errorf("store: stocks of product %d: %w", productID, err)
		}
		st.Quantity = crm.Quantity(q)
		out.Stocks = append(out.Stocks, st)
	}
	return out, srows.Err()
}

// VariantsOfProducts returns the variants of the given products, by
// product, in the order 1C sent them (the line-item editor's pickers).
func (s *Store) VariantsOfProducts(ctx context.Context, productIDs []int64) (map[int64][]crm.ProductVariant, error) {
	return s.variantsWhere(ctx, "product_id", productIDs)
}

// VariantsByIDs returns the given variants by id (missing ones are left
// out).
func (s *Store) VariantsByIDs(ctx context.Context, ids []int64) (map[int64]crm.ProductVariant, error) {
	byProduct, err := s.variantsWhere(ctx, "id", ids)
	out := map[int64]crm.ProductVariant{}
	for _, vs := range byProduct {
		for _, v := range vs {
			out[v.ID] = v
		}
	}
	return out, err
}

// variantsWhere loads the variants whose column (id or product_id) is
// one of ids, by product.
func (s *Store) variantsWhere(ctx context.Context, column string, ids []int64) (map[int64][]crm.ProductVariant, error) {
	out := map[int64][]crm.ProductVariant{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT id, product_id, id1c, name, article, characteristics, price, currency, stock, active
		FROM product_variants WHERE `+column+` IN (`+placeholders(1, len(ids))+`) ORDER BY product_id, id`, int64Args(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: variants by %s: %w", column, err)
	}
	defer rows.Close()
	for rows.Next() {
		var v crm.ProductVariant
		var chars string
		var price, stock int64
		if err := rows.Scan(&v.ID, &v.ProductID, &v.ID1C, &v.Name, &v.Article, &chars, &price, &v.Currency, &stock, &v.Active); err != nil {
			return nil, fmt.Errorf("store: variants by %s: %w", column, err)
		}
		v.Price, v.Stock = crm.Amount(price), crm.Quantity(stock)
		if err := json.Unmarshal([]byte(chars), &v.Characteristics); err != nil || v.Characteristics == nil {
			v.Characteristics = []crm.VariantCharacteristic{}
		}
		out[v.ProductID] = append(out[v.ProductID], v)
	}
	return out, rows.Err()
}
