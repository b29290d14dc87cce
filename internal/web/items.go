package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
)

// itemsField names the line-item list of the entities that have one.
var itemsField = map[string]string{
	"sales_order": "items", "invoice": "items", "deal": "product_rows", "lead": "product_rows",
}

type itemRow struct {
	Index                           int
	ProductID, ServiceID, VariantID string
	// PrevProductID and PrevVariantID are what the row was shown with:
	// a refresh that finds them changed fills the row from the product or
	// variant chosen since.
	PrevProductID, PrevVariantID string
	// ProductChosen is the product picker's chosen record (JSON);
	// Variants the product's variants to pick from (none: no picker).
	ProductChosen                                  string
	Variants                                       []variantOption
	Name, Price, Quantity, Unit, DiscountRate, VAT string
	VATIncluded                                    bool
	Sum                                            string
	ErrField, Error                                string
}

// itemsView is the line-items editor of a card.
type itemsView struct {
	Field                          string
	Action                         string
	Rows                           []itemRow
	Subtotal, Discount, Tax, Total string
	Error                          string
	Lang, CSRF                     string
	// OOB: the answer to a live recalculation, which also carries each
	// row's sum out of band (on the page itself they are in the rows).
	OOB bool
	// ReadOnly shows the rows without letting them be changed.
	ReadOnly bool
	// Current is the record's amount as saved (a deal's or lead's
	// opportunity); Replaces says that saving the rows will replace it
	// with their total.
	Current  string
	Replaces string
}

// T translates a message key.
func (iv *itemsView) T(key string) string { return translate(iv.Lang, key) }

// itemRows turns stored line items into editor rows.
func itemRows(v any) []itemRow {
	b, _ := json.Marshal(v)
	var items []crm.LineItem
	_ = json.Unmarshal(b, &items)
	var rows []itemRow
	for i, li := range items {
		r := itemRow{Index: i, Name: li.Name, Price: li.Price.String(), Quantity: li.Quantity.String(), Unit: li.Unit,
			DiscountRate: li.DiscountRate.String(), VATIncluded: li.VATIncluded, Sum: li.Sum.String()}
		if li.ProductID != 0 {
			r.ProductID = strconv.FormatInt(li.ProductID, 10)
		}
		if li.ServiceID != 0 {
			r.ServiceID = strconv.FormatInt(li.ServiceID, 10)
		}
		if li.VariantID != 0 {
			r.VariantID = strconv.FormatInt(li.VariantID, 10)
		}
		if li.VATRate != nil {
			r.VAT = li.VATRate.String()
		}
		rows = append(rows, r)
	}
	return rows
}

// parseItems reads the editor's rows (parallel form lists) into line items,
// skipping rows left blank. A value that does not parse is reported
// against its row and column.
func parseItems(f url.Values, field string, t func(string) string) ([]crm.LineItem, []itemRow, *crm.FieldError) {
	names := f["item_name"]
	col := func(k string, i int) string {
		if vs := f[k]; i < len(vs) {
			return strings.TrimSpace(vs[i])
		}
		return ""
	}
	var items []crm.LineItem
	var rows []itemRow
	var first *crm.FieldError
	for i := range names {
		r := itemRow{Index: len(rows), ProductID: col("item_product_id", i), ServiceID: col("item_service_id", i), VariantID: col("item_variant_id", i),
			PrevProductID: col("item_prev_product_id", i), PrevVariantID: col("item_prev_variant_id", i), Name: col("item_name", i),
			Price: col("item_price", i), Quantity: col("item_quantity", i), Unit: col("item_unit", i),
			DiscountRate: col("item_discount_rate", i), VAT: col("item_vat_rate", i), VATIncluded: col("item_vat_included", i) == "true"}
		if r.Name == "" && r.Price == "" && r.ProductID == "" && r.ServiceID == "" {
			continue
		}
		li := crm.LineItem{Name: r.Name, Unit: r.Unit, VATIncluded: r.VATIncluded}
		bad := func(name, key string) {
			r.ErrField, r.Error = name, t(key)
			if first == nil {
				first = &crm.FieldError{Field: fmt.Sprintf("%s[%d].%s", field, r.Index, name), Message: t(key)}
			}
		}
		li.ProductID, _ = strconv.ParseInt(r.ProductID, 10, 64)
		li.ServiceID, _ = strconv.ParseInt(r.ServiceID, 10, 64)
		li.VariantID, _ = strconv.ParseInt(r.VariantID, 10, 64)
		num := func(s string) string { return strings.ReplaceAll(s, ",", ".") }
		if a, err := crm.ParseAmount(num(orZero(r.Price))); err != nil {
			bad("price", "err.amount")
		} else {
			li.Price = a
		}
		if r.Quantity == "" {
			r.Quantity = "1"
		}
		if q, err := crm.ParseQuantity(num(r.Quantity)); err != nil {
			bad("quantity", "err.amount")
		} else {
			li.Quantity = q
		}
		if a, err := crm.ParseAmount(num(orZero(r.DiscountRate))); err != nil {
			bad("discount_rate", "err.amount")
		} else {
			li.DiscountRate = a
		}
		if r.VAT != "" {
			if a, err := crm.ParseAmount(num(r.VAT)); err != nil {
				bad("vat_rate", "err.amount")
			} else {
				li.VATRate = &a
			}
		}
		items = append(items, li)
		rows = append(rows, r)
	}
	return items, rows, first
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// computeView computes sums and totals of parsed rows, placing a
// validation error on its row.
func computeView(iv *itemsView, items []crm.LineItem, fe *crm.FieldError) {
	rq := &request{Lang: iv.Lang}
	if fe != nil {
		iv.Error = fieldMessage(rq, fe)
		return
	}
	tot, err := crm.ComputeItems(iv.Field, items)
	if err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			placeItemError(iv, fe)
			return
		}
		iv.Error = err.Error()
		return
	}
	num := func(a crm.Amount) string { return groupDigits(iv.Lang, a.String()) }
	for i := range items {
		iv.Rows[i].Sum = num(items[i].Sum)
	}
	iv.Subtotal, iv.Discount, iv.Tax, iv.Total = num(tot.Subtotal), num(tot.Discount), num(tot.Tax), num(tot.Total)
	if cur, err := crm.ParseAmount(iv.Current); err == nil && cur != 0 && len(items) > 0 && cur != tot.Total {
		iv.Replaces = fmt.Sprintf(translate(iv.Lang, "items.replaces"), num(cur), num(tot.Total))
	}
}

// placeItemError puts "items[2].price: …" beside row 2's price.
func placeItemError(iv *itemsView, fe *crm.FieldError) {
	rq := &request{Lang: iv.Lang}
	iv.Error = rq.T("f."+fe.Field) + ": " + fieldMessage(rq, fe)
	var idx int
	var name string
	if _, err := fmt.Sscanf(strings.TrimPrefix(fe.Field, iv.Field), "[%d].%s", &idx, &name); err == nil && idx >= 0 && idx < len(iv.Rows) {
		iv.Rows[idx].ErrField, iv.Rows[idx].Error = name, fieldMessage(rq, fe)
	}
}

// itemsPreview answers the editor's live recalculation (htmx): the totals,
// and each row's sum out of band.
func (u *UI) itemsPreview(w http.ResponseWriter, r *http.Request, rq *request) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	field, ok := itemsField[e.Name]
	if !ok {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	// The preview computes from the form alone, yet it is a route of one
	// record: a record the user does not see is not found, as on every
	// other route of it.
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	if _, err := e.get(r.Context(), id); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	items, rows, fe := parseItems(r.PostForm, field, rq.T)
	iv := &itemsView{Field: field, Rows: rows, Lang: rq.Lang, OOB: true, Current: r.PostFormValue("current_amount")}
	computeView(iv, items, fe)
	u.renderPart(w, r, rq, "items-totals", iv)
}

// saveItems replaces the record's line items; the store computes and
// checks them again.
func (u *UI) saveItems(w http.ResponseWriter, r *http.Request, rq *request) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	field, ok := itemsField[e.Name]
	if !ok {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	items, rows, fe := parseItems(r.PostForm, field, rq.T)
	base := "/e/" + e.Name + "/" + strconv.FormatInt(id, 10)
	iv := &itemsView{Field: field, Rows: rows, Action: base + "/items"}
	if r.PostForm.Has("add_row") || r.PostForm.Has("refresh") {
		if r.PostForm.Has("refresh") {
			// A product or variant was picked: the row takes its name,
			// unit and price.
			if err := u.fillPicked(r.Context(), rq, iv.Rows); err != nil {
				u.failErr(w, r, rq, err)
				return
			}
			items, _, fe = parseItems(itemsForm(iv.Rows), field, rq.T)
		}
		computeView(iv, items, fe)
		iv.Error = ""
		if r.PostForm.Has("add_row") {
			iv.Rows = append(iv.Rows, itemRow{Index: len(iv.Rows), Quantity: "1"})
		}
		u.showCardWith(w, r, rq, e, id, http.StatusOK, nil, nil, iv)
		return
	}
	if fe == nil {
		if items == nil {
			items = []crm.LineItem{}
		}
		err := e.update(r.Context(), rq.Actor(), id, record{field: items}, "")
		if err != nil {
			var ok bool
			if fe, ok = crm.AsFieldError(err); !ok {
				u.failErr(w, r, rq, err)
				return
			}
			placeItemError(iv, fe)
			u.showCardWith(w, r, rq, e, id, http.StatusUnprocessableEntity, nil, nil, iv)
			return
		}
	}
	if fe != nil {
		iv.Error = rq.T("f."+fe.Field) + ": " + fieldMessage(rq, fe)
		u.showCardWith(w, r, rq, e, id, http.StatusUnprocessableEntity, nil, nil, iv)
		return
	}
	back(w, r, base+"?flash=card.saved#items")
}

// itemsForm is rows as the editor would submit them.
func itemsForm(rows []itemRow) url.Values {
	f := url.Values{}
	for _, r := range rows {
		vi := "false"
		if r.VATIncluded {
			vi = "true"
		}
		for k, v := range map[string]string{"item_name": r.Name, "item_price": r.Price, "item_quantity": r.Quantity, "item_unit": r.Unit,
			"item_discount_rate": r.DiscountRate, "item_vat_rate": r.VAT, "item_vat_included": vi, "item_product_id": r.ProductID, "item_service_id": r.ServiceID,
			"item_variant_id": r.VariantID} {
			f[k] = append(f[k], v)
		}
	}
	return f
}
