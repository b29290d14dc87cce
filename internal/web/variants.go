package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
)

// variantOption is one variant of a row's product in the variant picker:
// its characteristics, the price of the exchange's price type and stock.
type variantOption struct {
	ID       string
	Label    string
	Selected bool
}

// rowIDs are the products and variants the rows name.
func rowIDs(rows []itemRow) (products, variants []int64) {
	for _, r := range rows {
		if id, err := strconv.ParseInt(r.ProductID, 10, 64); err == nil && id > 0 {
			products = append(products, id)
		}
		if id, err := strconv.ParseInt(r.VariantID, 10, 64); err == nil && id > 0 {
			variants = append(variants, id)
		}
	}
	return products, variants
}

// fillPicked fills the rows whose product or variant was picked since
// they were shown: a new product gives its name, unit and price (and
// drops the variant of the old one), a new variant its name and price.
func (u *UI) fillPicked(ctx context.Context, rq *request, rows []itemRow) error {
	pids, vids := rowIDs(rows)
	products, err := u.store.ProductsByIDs(ctx, pids)
	if err != nil {
		return err
	}
	byID := make(map[string]crm.Product, len(products))
	for _, p := range products {
		byID[strconv.FormatInt(p.ID, 10)] = p
	}
	variants, err := u.store.VariantsByIDs(ctx, vids)
	if err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		if r.ProductID != r.PrevProductID {
			r.VariantID = ""
			if p, ok := byID[r.ProductID]; ok {
				r.Name, r.Unit, r.Price = p.Name, p.Unit, p.Price.String()
			}
			continue
		}
		if r.VariantID == r.PrevVariantID || r.VariantID == "" {
			continue
		}
		id, _ := strconv.ParseInt(r.VariantID, 10, 64)
		if v, ok := variants[id]; ok && strconv.FormatInt(v.ProductID, 10) == r.ProductID {
			if v.Name != "" {
				r.Name = v.Name
			}
			r.Price = v.Price.String()
		}
	}
	return nil
}

// itemPickers prepares the rows' product and variant pickers: the chosen
// product's name, and the variants of each row's product.
func (u *UI) itemPickers(ctx context.Context, rq *request, iv *itemsView) error {
	pids, _ := rowIDs(iv.Rows)
	products, err := u.store.ProductsByIDs(ctx, pids)
	if err != nil {
		return err
	}
	names := make(map[string]string, len(products))
	for _, p := range products {
		names[strconv.FormatInt(p.ID, 10)] = p.Name
	}
	variants, err := u.store.VariantsOfProducts(ctx, pids)
	if err != nil {
		return err
	}
	for i := range iv.Rows {
		r := &iv.Rows[i]
		r.PrevProductID, r.PrevVariantID = r.ProductID, r.VariantID
		r.Variants, r.ProductChosen = nil, "[]"
		id, err := strconv.ParseInt(r.ProductID, 10, 64)
		if err != nil || id <= 0 {
			continue
		}
		name, ok := names[r.ProductID]
		if !ok {
			name = "№ " + r.ProductID
		}
		b, _ := json.Marshal([]map[string]any{{"id": id, "title": name, "entity": "product"}})
		r.ProductChosen = string(b)
		for _, v := range variants[id] {
			vid := strconv.FormatInt(v.ID, 10)
			if !v.Active && vid != r.VariantID {
				continue
			}
			label := fmt.Sprintf("%s — %s %s, %s %s", v.CharacteristicsText(), groupDigits(rq.Lang, v.Price.String()), v.Currency,
				rq.T("items.stock"), groupDigits(rq.Lang, v.Stock.String()))
			r.Variants = append(r.Variants, variantOption{ID: vid, Label: label, Selected: vid == r.VariantID})
		}
	}
	return nil
}
