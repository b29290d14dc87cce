package bitrix

import (
	"context"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
)

// rowOwner is an entity with product rows — a deal or a lead — to the
// crm.{deal,lead}.productrows.* methods, which are one implementation.
type rowOwner struct {
	typ  string // OWNER_TYPE: D or L
	rows func(ctx context.Context, id int64) ([]crm.LineItem, error)
	set  func(ctx context.Context, a crm.Actor, id int64, rows []crm.LineItem) error
}

func (h *Handler) dealRows() rowOwner {
	return rowOwner{typ: "D",
		rows: func(ctx context.Context, id int64) ([]crm.LineItem, error) {
			d, err := h.dealCRUD().load(ctx, id)
			return d.ProductRows, err
		},
		set: func(ctx context.Context, a crm.Actor, id int64, rows []crm.LineItem) error {
			_, err := h.store.UpdateDeal(ctx, a, id, func(d *crm.Deal) error { d.ProductRows = rows; return nil })
			return err
		}}
}

func (h *Handler) leadRows() rowOwner {
	return rowOwner{typ: "L",
		rows: func(ctx context.Context, id int64) ([]crm.LineItem, error) {
			l, err := h.store.GetLead(ctx, id)
			if err == nil && l.DeletedAt != nil {
				err = errNotFound
			}
			return l.ProductRows, err
		},
		set: func(ctx context.Context, a crm.Actor, id int64, rows []crm.LineItem) error {
			_, err := h.store.UpdateLead(ctx, a, id, func(l *crm.Lead) error { l.ProductRows = rows; return nil })
			return err
		}}
}

// get is crm.{deal,lead}.productrows.get. PRICE is the unit price after
// the discount, with the tax when it is included, as in Bitrix24.
func (o rowOwner) get(ctx context.Context, c *call) (reply, error) {
	id, err := c.recordID()
	if err != nil {
		return reply{}, err
	}
	rows, err := o.rows(ctx, id)
	if err != nil {
		return reply{}, err
	}
	out := NewArray()
	for _, row := range o.render(id, rows) {
		out.Append(row)
	}
	return reply{result: out}, nil
}

// render answers an owner's rows in Bitrix24's legacy names.
func (o rowOwner) render(id int64, rows []crm.LineItem) []*Array {
	out := make([]*Array, 0, len(rows))
	for i, li := range rows {
		qty := float64(li.Quantity) / 1000
		price := float64(li.Price) / 100
		discount := 0.0
		if qty > 0 {
			discount = float64(li.Discount) / 100 / qty
		}
		final := price - discount
		exclusive := final
		rate := any(nil)
		if li.VATRate != nil {
			r := float64(*li.VATRate) / 100
			rate = r
			if li.VATIncluded {
				exclusive = final / (1 + r/100)
			} else {
				final = final * (1 + r/100)
			}
		}
		name := li.Name
		out = append(out, NewArray().Set("ID", strconv.FormatInt(li.ID, 10)).Set("OWNER_ID", strconv.FormatInt(id, 10)).
			Set("OWNER_TYPE", o.typ).Set("PRODUCT_ID", li.ProductID).Set("PRODUCT_NAME", name).
			Set("ORIGINAL_PRODUCT_NAME", name).Set("PRODUCT_DESCRIPTION", "").
			Set("PRICE", round2(final)).Set("PRICE_EXCLUSIVE", round2(exclusive)).Set("PRICE_NETTO", round2(price)).
			Set("PRICE_BRUTTO", round2(final)).Set("PRICE_ACCOUNT", strconv.FormatFloat(round2(final), 'f', 2, 64)).
			Set("QUANTITY", qty).Set("DISCOUNT_TYPE_ID", discountType(li)).
			Set("DISCOUNT_RATE", float64(li.DiscountRate)/100).Set("DISCOUNT_SUM", round2(discount)).
			Set("TAX_RATE", rate).Set("TAX_INCLUDED", yn(li.VATIncluded)).Set("CUSTOMIZED", "Y").
			Set("MEASURE_CODE", 0).Set("MEASURE_NAME", li.Unit).Set("SORT", (i+1)*10).Set("TYPE", 1).Set("STORE_ID", nil).
			// Obmen reserves no stock and keeps no basket ids.
			Set("XML_ID", nil).Set("RESERVE_ID", nil).Set("DATE_RESERVE_END", nil).Set("RESERVE_QUANTITY", nil))
	}
	return out
}

func round2(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 2, 64), 64)
	return v
}

// discountType is Bitrix24's DISCOUNT_TYPE_ID: 1 a sum, 2 a percentage.
func discountType(li crm.LineItem) int {
	if li.DiscountRate != 0 {
		return 2
	}
	return 1
}

// put is crm.{deal,lead}.productrows.set: rows replace the owner's
// product rows; its amount follows them.
func (o rowOwner) put(ctx context.Context, c *call) (reply, error) {
	id, err := c.recordID()
	if err != nil {
		return reply{}, err
	}
	rowsParam, err := c.paramArray("rows")
	if err != nil {
		return reply{}, err
	}
	items := []crm.LineItem{}
	for i, raw := range rowsParam.valuesOrNil() {
		row, ok := raw.(*Array)
		if !ok {
			return reply{}, crmError("Parameter rows[%d] must be an array", i)
		}
		li, err := parseRow(row, i)
		if err != nil {
			return reply{}, err
		}
		items = append(items, li)
	}
	if _, err := o.rows(ctx, id); err != nil {
		return reply{}, err
	}
	if err := o.set(ctx, c.actor(), id, items); err != nil {
		return reply{}, err
	}
	return reply{result: true}, nil
}

func (a *Array) valuesOrNil() []any {
	if a == nil {
		return nil
	}
	return a.Values()
}

// parseRow reads one product row. Bitrix24's PRICE is the unit price
// after the discount; Obmen keeps the price before it, so DISCOUNT_SUM
// (per unit) is added back. A row with DISCOUNT_RATE and no DISCOUNT_SUM
// takes PRICE as the price before the discount.
func parseRow(row *Array, i int) (crm.LineItem, error) {
	get := func(k string) (string, error) {
		v, _ := lookupFold(row, k)
		s, ok := scalarText(v)
		if !ok {
			return "", crmError("Field rows[%d][%s]: must be a single value", i, k)
		}
		return strings.TrimSpace(s), nil
	}
	name := func(k string) string { return "rows[" + strconv.Itoa(i) + "][" + k + "]" }
	var li crm.LineItem
	var err error
	s, err := get("PRODUCT_ID")
	if err != nil {
		return li, err
	}
	if li.ProductID, err = parseInt(name("PRODUCT_ID"), s); err != nil {
		return li, err
	}
	if li.Name, err = get("PRODUCT_NAME"); err != nil {
		return li, err
	}
	if li.Unit, err = get("MEASURE_NAME"); err != nil {
		return li, err
	}
	money := func(k string) (crm.Amount, error) {
		s, err := get(k)
		if err != nil {
			return 0, err
		}
		return parseMoney(name(k), s)
	}
	if li.Price, err = money("PRICE"); err != nil {
		return li, err
	}
	perUnit, err := money("DISCOUNT_SUM")
	if err != nil {
		return li, err
	}
	if li.DiscountRate, err = money("DISCOUNT_RATE"); err != nil {
		return li, err
	}
	q, err := get("QUANTITY")
	if err != nil {
		return li, err
	}
	if q == "" {
		q = "1"
	}
	qa, err := parseMoney(name("QUANTITY"), q) // hundredths
	if err != nil {
		return li, err
	}
	li.Quantity = crm.Quantity(int64(qa) * 10)
	if perUnit > 0 {
		li.Price += perUnit
		li.DiscountRate = 0
		// Bounded first: with the product within MaxAmount the
		// multiplication below cannot wrap.
		if _, ok := crm.MulDiv(int64(perUnit), int64(li.Quantity), 1000); !ok {
			return li, crmError("Field %s: the discount × quantity is too large", name("DISCOUNT_SUM"))
		}
		li.Discount = crm.Amount(int64(perUnit) * int64(li.Quantity) / 1000)
	}
	if s, err = get("TAX_RATE"); err != nil {
		return li, err
	}
	if s != "" {
		r, err := parseMoney(name("TAX_RATE"), s)
		if err != nil {
			return li, err
		}
		li.VATRate = &r
	}
	s, err = get("TAX_INCLUDED")
	if err != nil {
		return li, err
	}
	li.VATIncluded = s == "" || truthy(s)
	return li, nil
}

// invoiceRows are a smart invoice's rows (crm.item.productrow with
// ownerType SI) over Obmen's invoice items.
func (h *Handler) invoiceRows() rowOwner {
	c := h.invoiceCRUD()
	return rowOwner{typ: "SI",
		rows: func(ctx context.Context, id int64) ([]crm.LineItem, error) {
			v, err := c.load(ctx, id)
			return v.Items, err
		},
		set: func(ctx context.Context, a crm.Actor, id int64, rows []crm.LineItem) error {
			_, err := c.update(ctx, a, id, func(v *crm.Invoice) error { v.Items = rows; return nil })
			return err
		}}
}
