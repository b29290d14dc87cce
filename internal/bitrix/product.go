package bitrix

import (
	"context"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// Bitrix24 keeps a product's VAT as a reference to a rate (crm.vat.list)
// and its unit as a reference to a measure (catalog.measure.list); Obmen
// keeps the rate and the unit's name. These tables are the rates and
// measures of a new Bitrix24 portal, in its order; a rate or unit not in
// them is answered as null.
var (
	vatIDs = []struct {
		id   string
		rate *crm.Amount // nil: without VAT
	}{{"1", nil}, {"2", amountPtr(0)}, {"3", amountPtr(1000)}, {"4", amountPtr(2000)}}
	measureIDs = []struct{ id, unit, title, okei, intl string }{
		{"1", "м", "Метр", "006", "m"}, {"2", "л", "Литр", "112", "l"}, {"3", "г", "Грамм", "163", "g"},
		{"4", "кг", "Килограмм", "166", "kg"}, {"5", "шт", "Штука", "796", "pc. 1"}}
)

// vatList is crm.vat.list: the rates VAT_ID refers to, so that a client
// maps rates to ids as on a portal rather than assuming them.
func (h *Handler) vatList(context.Context, *call) (reply, error) {
	out := NewArray()
	for i, v := range vatIDs {
		name, rate := any("Без НДС"), any(nil)
		if v.rate != nil {
			name, rate = "НДС "+strings.TrimSuffix(v.rate.String(), ".00")+"%", v.rate.String()
		}
		out.Append(NewArray().Set("ID", v.id).Set("ACTIVE", "Y").Set("C_SORT", strconv.Itoa((i+1)*100)).
			Set("NAME", name).Set("RATE", rate))
	}
	n := int64(out.Len())
	return reply{result: out, total: &n}, nil
}

// measureList is crm.measure.list: the units MEASURE refers to.
func (h *Handler) measureList(context.Context, *call) (reply, error) {
	out := NewArray()
	for _, m := range measureIDs {
		out.Append(NewArray().Set("ID", m.id).Set("CODE", m.okei).Set("MEASURE_TITLE", m.title).
			Set("SYMBOL_RUS", m.unit).Set("SYMBOL_INTL", m.intl).Set("SYMBOL_LETTER_INTL", strings.ToUpper(m.intl)).
			Set("IS_DEFAULT", yn(m.unit == "шт")))
	}
	n := int64(out.Len())
	return reply{result: out, total: &n}, nil
}

func amountPtr(a crm.Amount) *crm.Amount { return &a }

// productFields are in the order Bitrix24 answers crm.product.get.
// XML_ID ("external code") is Obmen's article: Bitrix24 has no article
// field of its own (it is a catalog property, whose id differs between
// portals), and the external ids Obmen keeps for 1C and the other
// connectors stay out of reach of this API. SECTION_ID is the product's
// first catalog; writing it makes that catalog the only one. SORT is not
// kept: it is answered as Bitrix24's default, 500.
var productFields = func() []recField[crm.Product] {
	type P = crm.Product
	fs := []recField[P]{
		rRead("ID", "integer", "ID", "r.id", kInt, func(_ *recView, r *P) any { return strconv.FormatInt(r.ID, 10) }),
		{name: "PRICE", typ: "double", title: "Price", col: "r.price", kind: kAmount,
			out: func(_ *recView, r *P) any { return r.Price.String() },
			in: func(r *P, val any, name string) error {
				a, err := parseMoney(name, val)
				if err == nil && a < 0 {
					err = crmError("Field %s: must not be negative", name)
				}
				r.Price = a
				return err
			}},
		func() recField[P] {
			f := rText("CURRENCY_ID", "Currency", "r.currency", func(r *P) *string { return &r.Currency })
			f.typ = "string"
			return f
		}(),
		rText("NAME", "Name", "r.name", func(r *P) *string { return &r.Name }),
		rText("DESCRIPTION", "Description", "r.description", func(r *P) *string { return &r.Description }),
		rRead("DESCRIPTION_TYPE", "string", "Description type", "", "", func(*recView, *P) any { return "text" }),
		{name: "ACTIVE", typ: "char", title: "Active", col: "r.active", kind: "bool",
			out: func(_ *recView, r *P) any { return yn(r.Active) },
			in:  func(r *P, val any, _ string) error { r.Active = truthy(val); return nil }},
		{name: "SECTION_ID", typ: "integer", title: "Section", kind: kInt,
			col: "(SELECT MIN(ci.catalog_id) FROM catalog_items ci JOIN catalogs cs ON cs.id = ci.catalog_id WHERE ci.item_type = 'product' AND ci.item_id = r.id AND cs.deleted_at = 0)",
			out: func(_ *recView, r *P) any {
				if len(r.CatalogIDs) == 0 {
					return nil
				}
				return strconv.FormatInt(r.CatalogIDs[0], 10)
			},
			in: func(r *P, val any, name string) error {
				n, err := parseInt(name, val)
				if err != nil || n < 0 {
					return crmError("Field %s: not a section id", name)
				}
				r.CatalogIDs = []int64{}
				if n > 0 {
					r.CatalogIDs = append(r.CatalogIDs, n)
				}
				return nil
			}},
		rRead("SORT", "integer", "Sort", "", "", func(*recView, *P) any { return "500" }),
		{name: "VAT_ID", typ: "integer", title: "VAT rate",
			out: func(_ *recView, r *P) any {
				for _, v := range vatIDs {
					if (v.rate == nil) == (r.VATRate == nil) && (v.rate == nil || *v.rate == *r.VATRate) {
						return v.id
					}
				}
				return nil
			},
			in: func(r *P, val any, name string) error {
				s, _ := scalarText(val)
				if s = strings.TrimSpace(s); s == "" {
					r.VATRate = nil
					return nil
				}
				for _, v := range vatIDs {
					if v.id == s {
						r.VATRate = v.rate
						return nil
					}
				}
				return crmError("Field %s: %q is not a VAT rate id", name, s)
			}},
		{name: "VAT_INCLUDED", typ: "char", title: "VAT included", col: "r.vat_included", kind: "bool",
			out: func(_ *recView, r *P) any { return yn(r.VATIncluded) },
			in:  func(r *P, val any, _ string) error { r.VATIncluded = truthy(val); return nil }},
		{name: "MEASURE", typ: "integer", title: "Unit of measurement",
			out: func(_ *recView, r *P) any {
				u := strings.TrimSuffix(strings.ToLower(r.Unit), ".")
				for _, m := range measureIDs {
					if m.unit == u {
						return m.id
					}
				}
				return nil
			},
			in: func(r *P, val any, name string) error {
				s, _ := scalarText(val)
				if s = strings.TrimSpace(s); s == "" {
					r.Unit = ""
					return nil
				}
				for _, m := range measureIDs {
					if m.id == s {
						r.Unit = m.unit
						return nil
					}
				}
				return crmError("Field %s: %q is not a measure id", name, s)
			}},
		rText("XML_ID", "External code", "r.article", func(r *P) *string { return &r.Article }),
		rRead("PREVIEW_PICTURE", "product_file", "Preview image", "", "", func(*recView, *P) any { return nil }),
		rRead("DETAIL_PICTURE", "product_file", "Full image", "", "", func(*recView, *P) any { return nil }),
		rRead("DATE_CREATE", "datetime", "Created", "r.created_at", kTime, func(v *recView, r *P) any { return bitrixTime(r.CreatedAt, v.loc) }),
		rRead("TIMESTAMP_X", "datetime", "Modified", "r.updated_at", kTime, func(v *recView, r *P) any { return bitrixTime(r.UpdatedAt, v.loc) }),
		rRead("MODIFIED_BY", "integer", "Modified by", "r.updated_by_id", kInt, func(_ *recView, r *P) any { return idText(r.UpdatedByID) }),
		rRead("CREATED_BY", "integer", "Created by", "r.created_by_id", kInt, func(_ *recView, r *P) any { return idText(r.CreatedByID) }),
	}
	return fs
}()

var productEntity = newEntity(store.EntityProduct, "products", productFields, nil, func(r *crm.Product) *crm.Extra { return &r.Extra })

// productFieldNames are Bitrix24's names of the product's fields that
// Obmen's validation names.
var productFieldNames = map[string]string{"name": "NAME", "article": "XML_ID", "unit": "MEASURE", "price": "PRICE",
	"currency": "CURRENCY_ID", "vat_rate": "VAT_ID", "catalog_ids": "SECTION_ID", "description": "DESCRIPTION"}

// productError names a field error with Bitrix24's field name.
func productError(err error) error {
	fe, ok := crm.AsFieldError(err)
	if !ok {
		return err
	}
	head := fe.Field
	if i := strings.IndexAny(head, "[."); i >= 0 {
		head = head[:i]
	}
	if name, ok := productFieldNames[head]; ok {
		return crmError("Field %s: %s", name, fe.Message)
	}
	return err
}

func (h *Handler) productCRUD() *crud[crm.Product] {
	return &crud[crm.Product]{h: h, def: productEntity, meta: func(r *crm.Product) *crm.Meta { return &r.Meta },
		get: h.store.GetProduct,
		// A new product is active, its price without VAT, as in Bitrix24.
		init: func(p *crm.Product) { p.Active = true },
		create: func(ctx context.Context, a crm.Actor, p crm.Product) (crm.Product, error) {
			p, err := h.store.CreateProduct(ctx, a, p)
			return p, productError(err)
		},
		update: func(ctx context.Context, a crm.Actor, id int64, mutate func(*crm.Product) error) (crm.Product, error) {
			p, err := h.store.UpdateProduct(ctx, a, id, mutate)
			return p, productError(err)
		}}
}
