package site

import (
	"context"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/crm"
)

// orderLines are an order's lines as the site's module rebuilds them:
// each under the Ид the catalog export gave its product or variant
// ("<good>#<characteristic>"), with its name, unit, quantity, price, sum,
// VAT and discount.
func (s *Service) orderLines(ctx context.Context, o *crm.SalesOrder) ([]commerceml.Item, error) {
	prodIDs, servIDs, varIDs := exchange.LineRefs(o.Items, nil, nil, nil)
	products := map[int64]crm.Product{}
	if len(prodIDs) > 0 {
		ps, err := s.st.ProductsByIDs(ctx, prodIDs)
		if err != nil {
			return nil, fmt.Errorf("site exchange: order %s: products: %w", o.Number, err)
		}
		for _, p := range ps {
			products[p.ID] = p
		}
	}
	services := map[int64]crm.Service{}
	if len(servIDs) > 0 {
		vs, err := s.st.ServicesByIDs(ctx, servIDs)
		if err != nil {
			return nil, fmt.Errorf("site exchange: order %s: services: %w", o.Number, err)
		}
		for _, v := range vs {
			services[v.ID] = v
		}
	}
	variants := map[int64]crm.ProductVariant{}
	if len(varIDs) > 0 {
		var err error
		if variants, err = s.st.VariantsByIDs(ctx, varIDs); err != nil {
			return nil, fmt.Errorf("site exchange: order %s: variants: %w", o.Number, err)
		}
	}
	units, err := s.unitCodes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]commerceml.Item, 0, len(o.Items))
	for i := range o.Items {
		it := &o.Items[i]
		kind, article := "Товар", ""
		var id string
		switch {
		case it.ServiceID != 0:
			kind = "Услуга"
			if v, ok := services[it.ServiceID]; ok {
				id = crm.FirstText(v.ExternalIDs[crm.IntegrationOneC], ownID("service", v.ID))
			}
		case it.ProductID != 0:
			if p, ok := products[it.ProductID]; ok {
				id, article = crm.FirstText(p.ExternalIDs[crm.IntegrationOneC], ownID("product", p.ID)), p.Article
				if v, ok := variants[it.VariantID]; ok && it.VariantID != 0 && v.ProductID == p.ID {
					id = variantID(id, &v)
					article = crm.FirstText(v.Article, article)
				}
			}
		}
		if id == "" {
			id = crm.FirstText(exchange.KeptLineID(it), exchange.NameLineID(it.Name))
		}
		chars := exchange.LineCharacteristics(it.Properties)
		if v, ok := variants[it.VariantID]; ok && it.VariantID != 0 {
			chars = exchange.VariantCharacteristics(chars, &v)
		}
		unit := crm.FirstText(it.Unit, "шт")
		code, _ := it.Properties["unit_code"].(string)
		out = append(out, exchange.DocumentLine(it, id, article, kind, unit, crm.FirstText(code, units[strings.ToLower(unit)]), chars))
	}
	return out, nil
}

// unitCodes are the ОКЕИ codes of the units Obmen knows, by lower-case
// name.
func (s *Service) unitCodes(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT name, okei FROM units")
	if err != nil {
		return nil, fmt.Errorf("site exchange: units: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, code string
		if err := rows.Scan(&n, &code); err != nil {
			return nil, fmt.Errorf("site exchange: units: %w", err)
		}
		out[strings.ToLower(n)] = code
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("site exchange: units: %w", err)
	}
	return out, nil
}
