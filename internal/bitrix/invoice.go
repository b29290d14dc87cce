package bitrix

import (
	"context"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// The invoice methods are Bitrix24's old crm.invoice.* (b24restdocs
// api-reference/crm/outdated/invoice) over Obmen's invoices: PRICE and
// TAX_VALUE are Obmen's totals, computed from the rows in minor units and
// read-only; ACCOUNT_NUMBER is given by Obmen's counter; ORDER_TOPIC, the
// subject, is kept in the invoice's comments, the one free text an
// Obmen invoice has.

// invoiceFields are in the order Bitrix24 answers crm.invoice.get;
// crm.invoice.list leaves PRODUCT_ROWS out unless selected by name.
var invoiceFields = func() []recField[crm.Invoice] {
	type V = crm.Invoice
	money := func(a crm.Amount) string { return a.String() }
	fs := []recField[V]{
		rRead("ID", "integer", "ID", "r.id", kInt, func(_ *recView, r *V) any { return strconv.FormatInt(r.ID, 10) }),
		rRead("ACCOUNT_NUMBER", "string", "Number", "r.number", kText, func(_ *recView, r *V) any { return r.Number }),
		rText("ORDER_TOPIC", "Subject", "r.comments", func(r *V) *string { return &r.Comments }),
		rStatus("STATUS_ID", "Status", "INVOICE_STATUS", "r.status", func(r *V) *string { return &r.Status }),
		rRead("PRICE", "double", "Amount", "r.total", kAmount, func(_ *recView, r *V) any { return money(r.Total) }),
		rRead("TAX_VALUE", "double", "Tax amount", "r.tax", kAmount, func(_ *recView, r *V) any { return money(r.Tax) }),
		func() recField[V] {
			f := rText("CURRENCY", "Currency", "r.currency", func(r *V) *string { return &r.Currency })
			f.typ, f.kind = "crm_currency", kCode
			return f
		}(),
		rRead("PAYED", "char", "Paid", "", "", func(_ *recView, r *V) any { return yn(r.Status == "P") }),
		rRead("DATE_INSERT", "datetime", "Created", "r.created_at", kTime, func(v *recView, r *V) any { return bitrixTime(r.CreatedAt, v.loc) }),
		rRead("DATE_UPDATE", "datetime", "Modified", "r.updated_at", kTime, func(v *recView, r *V) any { return bitrixTime(r.UpdatedAt, v.loc) }),
		rDate("DATE_BILL", "Billing date", "r.invoice_date", func(r *V) *string { return &r.InvoiceDate }),
		rDate("DATE_PAY_BEFORE", "Payment due date", "r.due_date", func(r *V) *string { return &r.DueDate }),
		rRead("CREATED_BY", "integer", "Created by", "r.created_by_id", kInt, func(_ *recView, r *V) any { return idText(r.CreatedByID) }),
		{name: "RESPONSIBLE_ID", typ: "integer", title: "Responsible", col: "r.assigned_by_id", kind: kInt,
			out: func(_ *recView, r *V) any { return idText(r.AssignedByID) },
			in: func(r *V, val any, name string) error {
				n, err := parseInt(name, val)
				if err == nil && n < 0 {
					err = crmError("Field %s: %d is not a user id", name, n)
				}
				r.AssignedByID = n
				return err
			}},
		rID("UF_DEAL_ID", "integer", "Deal", "r.deal_id", func(r *V) *int64 { return &r.DealID }),
		rID("UF_COMPANY_ID", "integer", "Company", "r.account_id", func(r *V) *int64 { return &r.AccountID }),
		rID("UF_CONTACT_ID", "integer", "Contact", "r.contact_id", func(r *V) *int64 { return &r.ContactID }),
		{name: "PRODUCT_ROWS", typ: "array", title: "Product rows", multiple: true, getOnly: true,
			out: func(_ *recView, r *V) any { return invoiceRowsOut(r) },
			in: func(r *V, val any, name string) error {
				items, err := invoiceRowsIn(val)
				r.Items = items
				return err
			}},
	}
	return fs
}()

// invoiceBuiltinUF are the UF_ names that are standard invoice fields,
// not custom ones.
var invoiceBuiltinUF = map[string]bool{"UF_DEAL_ID": true, "UF_COMPANY_ID": true, "UF_CONTACT_ID": true}

var invoiceEntity = newEntity(store.EntityInvoice, "invoices", invoiceFields, nil, func(r *crm.Invoice) *crm.Extra { return &r.Extra })

func (h *Handler) invoiceCRUD() *crud[crm.Invoice] {
	return &crud[crm.Invoice]{h: h, def: invoiceEntity, meta: func(r *crm.Invoice) *crm.Meta { return &r.Meta },
		get: h.store.GetInvoice,
		create: func(ctx context.Context, a crm.Actor, v crm.Invoice) (crm.Invoice, error) {
			out, err := h.store.CreateInvoice(ctx, a, v)
			return out, invoiceError(err)
		},
		update: func(ctx context.Context, a crm.Actor, id int64, mutate func(*crm.Invoice) error) (crm.Invoice, error) {
			out, err := h.store.UpdateInvoice(ctx, a, id, mutate)
			return out, invoiceError(err)
		},
		semPrefix: "INVOICE_STATUS"}
}

// registerInvoice adds crm.invoice.{add,get,update,delete,list,fields};
// delete moves the invoice to Obmen's recycle bin.
func (h *Handler) registerInvoice(scopes []string) {
	h.invoiceCRUD().register(h.methods, "invoice", scopes)
}

// invoiceNames maps Obmen's invoice field names to Bitrix24's.
var invoiceNames = map[string]string{
	"status": "STATUS_ID", "invoice_date": "DATE_BILL", "due_date": "DATE_PAY_BEFORE", "deal_id": "UF_DEAL_ID",
	"account_id": "UF_COMPANY_ID", "contact_id": "UF_CONTACT_ID", "currency": "CURRENCY", "comments": "ORDER_TOPIC",
	"assigned_by_id": "RESPONSIBLE_ID", "items": "PRODUCT_ROWS",
}

var itemPath = regexp.MustCompile(`^items\[(\d+)\]\.?(.*)$`)

// itemNames maps line item fields to the row fields of PRODUCT_ROWS.
var itemNames = map[string]string{
	"price": "PRICE", "quantity": "QUANTITY", "name": "PRODUCT_NAME", "product_id": "PRODUCT_ID",
	"vat_rate": "VAT_RATE", "discount": "DISCOUNT_PRICE", "unit": "MEASURE_NAME",
}

// invoiceError names the Bitrix24 field of a field error.
func invoiceError(err error) error {
	fe, ok := crm.AsFieldError(err)
	if !ok {
		return err
	}
	name, known := invoiceNames[fe.Field]
	if m := itemPath.FindStringSubmatch(fe.Field); m != nil {
		name, known = "PRODUCT_ROWS["+m[1]+"]", true
		if f := itemNames[m[2]]; f != "" {
			name += "[" + f + "]"
		} else if m[2] != "" {
			name += "[" + strings.ToUpper(m[2]) + "]"
		}
	}
	if !known {
		name = strings.ToUpper(fe.Field)
	}
	return crmError("Field %s: %s", name, fe.Message)
}

// invoiceRowsOut answers an invoice's rows as Bitrix24 does: PRICE is the
// unit price after the discount, DISCOUNT_PRICE the discount a unit,
// VAT_RATE a fraction (0.2 for 20 %).
func invoiceRowsOut(r *crm.Invoice) *Array {
	out := List()
	for _, li := range r.Items {
		qty := float64(li.Quantity) / 1000
		discount := 0.0
		if qty > 0 {
			discount = float64(li.Discount) / 100 / qty
		}
		var rate float64
		if li.VATRate != nil {
			rate = float64(*li.VATRate) / 10000
		}
		out.Append(NewArray().
			Set("ID", li.ID).
			Set("PRODUCT_ID", li.ProductID).
			Set("PRODUCT_NAME", li.Name).
			Set("QUANTITY", qty).
			Set("PRICE", round2(float64(li.Price)/100-discount)).
			Set("DISCOUNT_PRICE", round2(discount)).
			Set("VAT_RATE", rate).
			Set("VAT_INCLUDED", yn(li.VATIncluded)).
			Set("MEASURE_CODE", 0).
			Set("MEASURE_NAME", li.Unit).
			Set("SUM", li.Sum.String()))
	}
	return out
}

// invoiceRowsIn reads PRODUCT_ROWS: a list of rows, each with PRODUCT_NAME
// (or PRODUCT_ID), PRICE, QUANTITY and optional DISCOUNT_PRICE, VAT_RATE,
// VAT_INCLUDED, MEASURE_NAME. The rows replace the invoice's rows.
func invoiceRowsIn(val any) ([]crm.LineItem, error) {
	arr, ok := val.(*Array)
	if !ok && val != nil && val != "" {
		return nil, crmError("Field PRODUCT_ROWS: must be a list of rows")
	}
	items := []crm.LineItem{}
	for i, raw := range arr.valuesOrNil() {
		row, ok := raw.(*Array)
		if !ok {
			return nil, crmError("Field PRODUCT_ROWS[%d]: must be an array", i)
		}
		name := func(k string) string { return "PRODUCT_ROWS[" + strconv.Itoa(i) + "][" + k + "]" }
		get := func(k string) (string, error) {
			v, _ := lookupFold(row, k)
			s, ok := scalarText(v)
			if !ok {
				return "", crmError("Field %s: must be a single value", name(k))
			}
			return strings.TrimSpace(s), nil
		}
		money := func(k string) (crm.Amount, error) {
			s, err := get(k)
			if err != nil || s == "" {
				return 0, err
			}
			return parseMoney(name(k), s)
		}
		var li crm.LineItem
		s, err := get("PRODUCT_ID")
		if err != nil {
			return nil, err
		}
		if s != "" {
			if li.ProductID, err = parseInt(name("PRODUCT_ID"), s); err != nil {
				return nil, err
			}
		}
		if li.Name, err = get("PRODUCT_NAME"); err != nil {
			return nil, err
		}
		if li.Unit, err = get("MEASURE_NAME"); err != nil {
			return nil, err
		}
		if li.Price, err = money("PRICE"); err != nil {
			return nil, err
		}
		perUnit, err := money("DISCOUNT_PRICE")
		if err != nil {
			return nil, err
		}
		q, err := get("QUANTITY")
		if err != nil {
			return nil, err
		}
		if q == "" {
			q = "1"
		}
		f, perr := strconv.ParseFloat(strings.ReplaceAll(q, ",", "."), 64)
		if perr != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f*1000 > float64(crm.MaxQuantity) {
			return nil, crmError("Field %s: %q is not a quantity", name("QUANTITY"), q)
		}
		if perUnit != 0 && math.Abs(float64(perUnit)*f) > float64(crm.MaxAmount) {
			return nil, crmError("Field %s: the discount × quantity is too large", name("QUANTITY"))
		}
		li.Quantity = crm.Quantity(math.Round(f * 1000))
		if perUnit != 0 {
			// Obmen keeps the price before the discount.
			li.Price += perUnit
			li.Discount = crm.Amount(math.Round(float64(perUnit) * f))
		}
		if s, err = get("VAT_RATE"); err != nil {
			return nil, err
		}
		if s != "" {
			rf, perr := strconv.ParseFloat(strings.ReplaceAll(s, ",", "."), 64)
			if perr != nil || rf < 0 || rf >= 10 {
				return nil, crmError("Field %s: %q is not a rate (0.2 for 20%%)", name("VAT_RATE"), s)
			}
			r := crm.Amount(math.Round(rf * 10000))
			li.VATRate = &r
		}
		if s, err = get("VAT_INCLUDED"); err != nil {
			return nil, err
		}
		li.VATIncluded = s == "" || truthy(s)
		items = append(items, li)
	}
	return items, nil
}
