package bitrix

// crm.item.productrow.* (b24restdocs api-reference/crm/universal/
// product-rows) over the same rows as crm.{deal,lead}.productrows.*
// (rowOwner): rows are read and written through their owner, answered by
// rowOwner.render and read by parseRow in the legacy names, which map to
// camelCase plainly (PRICE_EXCLUSIVE ↔ priceExclusive). A row keeps its id
// while its owner keeps it (store.saveItems).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
)

// rowOwnerOf resolves ownerType: D (deal), L (lead), SI (smart invoice).
func (h *Handler) rowOwnerOf(ownerType string) (rowOwner, error) {
	switch strings.ToUpper(strings.TrimSpace(ownerType)) {
	case "D":
		return h.dealRows(), nil
	case "L":
		return h.leadRows(), nil
	case "SI":
		return h.invoiceRows(), nil
	case "":
		return rowOwner{}, invalidArg("Required parameter ownerType is missing")
	}
	return rowOwner{}, invalidArg("Owner type %q is not supported (D, L, SI)", ownerType)
}

// rowTypes are the owner types of line_items rows by Bitrix24's letters.
var rowTypes = map[string]string{"deal": "D", "lead": "L", "invoice": "SI"}

// rowByID finds a row's owner.
func (h *Handler) rowByID(ctx context.Context, id int64) (rowOwner, int64, error) {
	var ownerType string
	var ownerID int64
	err := h.db.Read.QueryRowContext(ctx, "SELECT owner_type, owner_id FROM line_items WHERE id = $1", id).Scan(&ownerType, &ownerID)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && rowTypes[ownerType] == "") {
		return rowOwner{}, 0, rowNotFound
	}
	if err != nil {
		return rowOwner{}, 0, fmt.Errorf("bitrix: product row %d: %w", id, err)
	}
	o, err := h.rowOwnerOf(rowTypes[ownerType])
	return o, ownerID, err
}

var rowNotFound = &Error{Status: http.StatusBadRequest, Code: "NOT_FOUND", Description: "Product row not found"}

// upperName is a camelCase name in the legacy form (priceExclusive →
// PRICE_EXCLUSIVE).
func upperName(camel string) string {
	var b strings.Builder
	for i, r := range camel {
		if r >= 'A' && r <= 'Z' && i > 0 {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// rowItem answers a legacy row in crm.item's names and types.
func rowItem(row *Array) *Array {
	out := NewArray()
	for _, k := range row.Keys() {
		v, _ := row.Get(k)
		switch k {
		case "ID", "OWNER_ID":
			v = toNumber(v, true)
		case "PRICE_ACCOUNT":
			v = toNumber(v, false)
		case "RESERVE_ID", "DATE_RESERVE_END", "RESERVE_QUANTITY", "ORIGINAL_PRODUCT_NAME", "PRODUCT_DESCRIPTION", "PRICE_NETTO_ACCOUNT":
			continue
		}
		if k == "XML_ID" && v == nil {
			v = ""
		}
		out.Set(camelName(k), v)
	}
	return out
}

// rowFields reads crm.item row fields as a legacy row.
func rowFields(fields *Array) *Array {
	out := NewArray()
	for _, k := range fields.Keys() {
		v, _ := fields.Get(k)
		if b, ok := v.(bool); ok {
			v = yn(b)
		}
		out.Set(upperName(strings.TrimSpace(k)), v)
	}
	return out
}

// ownerRows are the rows of the owner a call names (ownerType, ownerId,
// at the top or in fields or filter).
func (h *Handler) ownerRows(ctx context.Context, from *Array) (rowOwner, int64, []crm.LineItem, error) {
	get := func(k string) string {
		for _, key := range []string{k, "=" + k} {
			if v, ok := lookupFold(from, key); ok {
				s, _ := scalarText(v)
				return strings.TrimSpace(s)
			}
		}
		return ""
	}
	o, err := h.rowOwnerOf(get("ownerType"))
	if err != nil {
		return o, 0, nil, err
	}
	id, err := strconv.ParseInt(get("ownerId"), 10, 64)
	if err != nil || id <= 0 {
		return o, 0, nil, invalidArg("Required parameter ownerId is missing or not an id")
	}
	rows, err := o.rows(ctx, id)
	if err != nil {
		return o, 0, nil, itemError(err)
	}
	return o, id, rows, nil
}

func (h *Handler) productRowAdd(ctx context.Context, c *call) (reply, error) {
	fields, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	fields = orEmpty(fields)
	o, owner, rows, err := h.ownerRows(ctx, fields)
	if err != nil {
		return reply{}, err
	}
	li, err := parseRow(rowFields(fields), len(rows))
	if err != nil {
		return reply{}, err
	}
	before := map[int64]bool{}
	for _, r := range rows {
		before[r.ID] = true
	}
	if err := o.set(ctx, c.actor(), owner, append(rows, li)); err != nil {
		return reply{}, err
	}
	after, err := o.rows(ctx, owner)
	if err != nil {
		return reply{}, err
	}
	for i, r := range o.render(owner, after) {
		if !before[after[i].ID] {
			return reply{result: NewArray().Set("productRow", rowItem(r))}, nil
		}
	}
	return reply{}, fmt.Errorf("bitrix: product row added to %s %d is not among its rows", o.typ, owner)
}

// rowCall finds the row a call's id names: its owner, the owner's rows
// and the row's place among them.
func (h *Handler) rowCall(ctx context.Context, c *call) (rowOwner, int64, []crm.LineItem, int, error) {
	id, err := c.recordID()
	if err != nil {
		return rowOwner{}, 0, nil, 0, err
	}
	o, owner, err := h.rowByID(ctx, id)
	if err != nil {
		return o, 0, nil, 0, err
	}
	rows, err := o.rows(ctx, owner)
	if err != nil {
		return o, 0, nil, 0, itemError(err)
	}
	for i := range rows {
		if rows[i].ID == id {
			return o, owner, rows, i, nil
		}
	}
	return o, 0, nil, 0, rowNotFound
}

func (h *Handler) productRowGet(ctx context.Context, c *call) (reply, error) {
	o, owner, rows, i, err := h.rowCall(ctx, c)
	if err != nil {
		return reply{}, err
	}
	return reply{result: NewArray().Set("productRow", rowItem(o.render(owner, rows)[i]))}, nil
}

func (h *Handler) productRowUpdate(ctx context.Context, c *call) (reply, error) {
	o, owner, rows, i, err := h.rowCall(ctx, c)
	if err != nil {
		return reply{}, err
	}
	fields, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	// The row as it is, with the fields sent over it.
	cur := o.render(owner, rows)[i]
	for _, k := range orEmpty(fields).Keys() {
		v, _ := fields.Get(k)
		up := upperName(strings.TrimSpace(k))
		if up == "ID" || up == "OWNER_ID" || up == "OWNER_TYPE" {
			continue
		}
		if b, ok := v.(bool); ok {
			v = yn(b)
		}
		cur.Set(up, v)
		if up == "PRICE" || up == "DISCOUNT_RATE" {
			cur.Delete("DISCOUNT_SUM") // the new price or rate decides
		}
	}
	li, err := parseRow(cur, i)
	if err != nil {
		return reply{}, err
	}
	li.ID = rows[i].ID
	if li.ProductID == rows[i].ProductID {
		// Bitrix24's row has no variant: a row that keeps its product
		// keeps the variant chosen in Obmen.
		li.VariantID = rows[i].VariantID
	}
	rows[i] = li
	if err := o.set(ctx, c.actor(), owner, rows); err != nil {
		return reply{}, err
	}
	return h.productRowGet(ctx, c)
}

func (h *Handler) productRowDelete(ctx context.Context, c *call) (reply, error) {
	o, owner, rows, i, err := h.rowCall(ctx, c)
	if err != nil {
		return reply{}, err
	}
	if err := o.set(ctx, c.actor(), owner, append(rows[:i:i], rows[i+1:]...)); err != nil {
		return reply{}, err
	}
	return reply{result: nil}, nil
}

func (h *Handler) productRowList(ctx context.Context, c *call) (reply, error) {
	filter, err := c.paramArray("filter")
	if err != nil {
		return reply{}, err
	}
	o, owner, rows, err := h.ownerRows(ctx, orEmpty(filter))
	if err != nil {
		return reply{}, err
	}
	out := NewArray()
	for _, r := range o.render(owner, rows) {
		out.Append(rowItem(r))
	}
	total := int64(len(rows))
	return reply{result: NewArray().Set("productRows", out), total: &total}, nil
}

// productRowSet replaces an owner's rows: a row with the id of one of
// them keeps it, the others are new.
func (h *Handler) productRowSet(ctx context.Context, c *call) (reply, error) {
	o, owner, rows, err := h.ownerRows(ctx, c.params)
	if err != nil {
		return reply{}, err
	}
	list, err := c.paramArray("productRows")
	if err != nil {
		return reply{}, err
	}
	known := map[int64]crm.LineItem{}
	for _, r := range rows {
		known[r.ID] = r
	}
	items := []crm.LineItem{}
	for i, raw := range list.valuesOrNil() {
		row, ok := raw.(*Array)
		if !ok {
			return reply{}, crmError("Parameter productRows[%d] must be an object", i)
		}
		legacy := rowFields(row)
		li, err := parseRow(legacy, i)
		if err != nil {
			return reply{}, err
		}
		if v, ok := legacy.Get("ID"); ok {
			if id, _ := strconv.ParseInt(fmt.Sprint(v), 10, 64); id != 0 {
				if old, ok := known[id]; ok {
					li.ID = id
					if li.ProductID == old.ProductID {
						li.VariantID = old.VariantID // as in productRowUpdate
					}
				}
			}
		}
		items = append(items, li)
	}
	if err := o.set(ctx, c.actor(), owner, items); err != nil {
		return reply{}, err
	}
	after, err := o.rows(ctx, owner)
	if err != nil {
		return reply{}, err
	}
	out := NewArray()
	for _, r := range o.render(owner, after) {
		out.Append(rowItem(r))
	}
	return reply{result: NewArray().Set("productRows", out)}, nil
}

// productRowFields describes a row's fields.
func (h *Handler) productRowFields(context.Context, *call) (reply, error) {
	out := NewArray()
	field := func(name, typ, title string, required, readOnly bool) {
		out.Set(name, NewArray().Set("type", typ).Set("isRequired", required).Set("isReadOnly", readOnly).
			Set("isImmutable", name == "ownerId" || name == "ownerType").Set("isMultiple", false).Set("isDynamic", false).Set("title", title))
	}
	field("id", "integer", "ID", false, true)
	field("ownerId", "integer", "Owner ID", true, false)
	field("ownerType", "string", "Owner Type", true, false)
	field("productId", "integer", "Product ID", false, false)
	field("productName", "string", "Product Name", false, false)
	field("price", "double", "Price", false, false)
	field("priceAccount", "double", "Price in report currency", false, true)
	field("priceExclusive", "double", "Price without taxes, with discount", false, true)
	field("priceNetto", "double", "Price without taxes and discounts", false, true)
	field("priceBrutto", "double", "Price with taxes, without discounts", false, true)
	field("quantity", "double", "Quantity", false, false)
	field("discountTypeId", "integer", "Discount type", false, false)
	field("discountRate", "double", "Discount rate", false, false)
	field("discountSum", "double", "Discount amount", false, false)
	field("taxRate", "double", "Tax rate", false, false)
	field("taxIncluded", "char", "Tax included", false, false)
	field("customized", "char", "Customized", false, true)
	field("measureCode", "integer", "Unit of measurement code", false, false)
	field("measureName", "string", "Unit of measurement", false, false)
	field("sort", "integer", "Sort", false, false)
	field("xmlId", "string", "External ID", false, true)
	field("type", "integer", "Product type", false, true)
	field("storeId", "integer", "Warehouse ID", false, true)
	return reply{result: NewArray().Set("fields", out)}, nil
}
