package bitrix

// crm.address.* over the typed addresses of requisites (ENTITY_TYPE_ID 8,
// b24restdocs api-reference/crm/requisites/addresses): one address of
// each type a requisite, named by TYPE_ID, ENTITY_TYPE_ID and ENTITY_ID
// (the requisite). The legal address (TYPE_ID 6) is the requisite's
// address of Obmen's REST API too; the store keeps the two equal.
// Addresses of leads (ENTITY_TYPE_ID 1) and the old mode's addresses of
// contacts and companies (3, 4) are not served: a lead's address is its
// ADDRESS_* fields, a company's its ADDRESS_* and REG_ADDRESS_* fields,
// apart from its requisites' addresses. The error texts are Bitrix24's.

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// ownerRequisite is Bitrix24's owner type of requisites' rows.
const ownerRequisite = 8

// addressRow is a typed address with the requisite it belongs to.
type addressRow struct {
	crm.RequisiteAddress
	requisite crm.Requisite
}

var (
	errAddressExists   = crmError("TypeAddress exists.")
	errAddressNotFound = crmError("TypeAddress not found.")
	errAddressAccess   = crmError("Access denied.")
)

// addressKeyField is one of the three fields that name an address: they
// are read before the others and never changed.
func addressKeyField(name, col string, out func(r *addressRow) any) rqField[addressRow] {
	return rqField[addressRow]{name: name, typ: "integer", title: name, col: col, kind: kInt, required: true, immutable: true,
		out: func(_ *recView, r *addressRow) any { return out(r) },
		in:  func(*addressRow, any, string) error { return nil }}
}

func addrText(name, title, json string, get func(r *addressRow) *string) rqField[addressRow] {
	return rqText(name, title, json, "r."+strings.ToLower(name), get)
}

// anchorSQL reads a column of an address's requisite.
func anchorSQL(expr string) string {
	return "(SELECT " + expr + " FROM requisites q WHERE q.id = r.requisite_id)"
}

var addressTable = newRqTable([]rqField[addressRow]{
	addressKeyField("TYPE_ID", "r.type_id", func(r *addressRow) any { return strconv.FormatInt(r.TypeID, 10) }),
	addressKeyField("ENTITY_TYPE_ID", strconv.Itoa(ownerRequisite), func(*addressRow) any { return strconv.Itoa(ownerRequisite) }),
	addressKeyField("ENTITY_ID", "r.requisite_id", func(r *addressRow) any { return strconv.FormatInt(r.requisite.ID, 10) }),
	addrText("ADDRESS_1", "Street, house, building, structure", "address_1", func(r *addressRow) *string { return &r.Address1 }),
	addrText("ADDRESS_2", "Apartment / office", "address_2", func(r *addressRow) *string { return &r.Address2 }),
	addrText("CITY", "City", "city", func(r *addressRow) *string { return &r.City }),
	addrText("POSTAL_CODE", "Postal code", "postal_code", func(r *addressRow) *string { return &r.PostalCode }),
	addrText("REGION", "Region", "region", func(r *addressRow) *string { return &r.Region }),
	addrText("PROVINCE", "Province", "province", func(r *addressRow) *string { return &r.Province }),
	addrText("COUNTRY", "Country", "country", func(r *addressRow) *string { return &r.Country }),
	addrText("COUNTRY_CODE", "COUNTRY_CODE", "country_code", func(r *addressRow) *string { return &r.CountryCode }),
	func() rqField[addressRow] {
		f := rqInt("LOC_ADDR_ID", "Location address identifier", "loc_addr_id", "r.loc_addr_id", func(r *addressRow) *int64 { return &r.LocAddrID })
		f.out = func(_ *recView, r *addressRow) any { return idText(r.LocAddrID) }
		return f
	}(),
	{name: "ANCHOR_TYPE_ID", typ: "integer", title: "ANCHOR_TYPE_ID", kind: kInt,
		col: anchorSQL("CASE WHEN q.entity = 'contact' THEN 3 ELSE 4 END"),
		out: func(_ *recView, r *addressRow) any {
			if r.requisite.ContactID != 0 {
				return strconv.Itoa(ownerContact)
			}
			return strconv.Itoa(ownerCompany)
		}},
	{name: "ANCHOR_ID", typ: "integer", title: "ANCHOR_ID", kind: kInt, col: anchorSQL("q.record_id"),
		out: func(_ *recView, r *addressRow) any {
			return strconv.FormatInt(r.requisite.AccountID+r.requisite.ContactID, 10)
		}},
})

// addressKey reads TYPE_ID, ENTITY_TYPE_ID and ENTITY_ID from fields, in
// Bitrix24's order of checks.
func addressKey(fields *Array) (typeID, requisiteID int64, err error) {
	num := func(name string) (int64, bool) {
		v, ok := lookupFold(fields, name)
		if !ok {
			return 0, false
		}
		s, _ := scalarText(v)
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		return n, err == nil
	}
	typeID, ok := num("TYPE_ID")
	if !ok || !slices.Contains(crm.AddressTypes, typeID) {
		return 0, 0, crmError("TYPE_ID is not defined or invalid.")
	}
	if t, ok := num("ENTITY_TYPE_ID"); !ok || t != ownerRequisite {
		return 0, 0, crmError("ENTITY_TYPE_ID is not defined or invalid.")
	}
	requisiteID, ok = num("ENTITY_ID")
	if !ok || requisiteID <= 0 {
		return 0, 0, crmError("ENTITY_ID is not defined or invalid.")
	}
	return typeID, requisiteID, nil
}

// changeAddress runs a crm.address.add, .update or .delete: change edits
// the requisite's typed addresses (i is the index of the address of the
// call's type, -1 for none) with the call's fields.
func (h *Handler) changeAddress(ctx context.Context, c *call, change func(r *crm.Requisite, i int, typeID int64, fields *Array) error) (reply, error) {
	fields, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	fields = orEmpty(fields)
	typeID, rid, err := addressKey(fields)
	if err != nil {
		return reply{}, err
	}
	_, err = h.store.ChangeRequisite(ctx, c.actor(), rid, func(r *crm.Requisite) error {
		i := slices.IndexFunc(r.Addresses, func(a crm.RequisiteAddress) bool { return a.TypeID == typeID })
		return change(r, i, typeID, fields)
	})
	var be *Error
	switch {
	case err == nil:
		return reply{result: true}, nil
	case errors.As(err, &be):
		return reply{}, be
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrForbidden):
		// Bitrix24 checks the right to change the requisite's owner; a
		// requisite that is not there fails that check.
		return reply{}, errAddressAccess
	}
	return reply{}, addressTable.fieldError(err)
}

// applyAddress writes the call's fields into the address at i.
func applyAddress(r *crm.Requisite, i int, fields *Array, adding bool) error {
	row := addressRow{RequisiteAddress: r.Addresses[i]}
	if err := addressTable.apply(&row, fields, adding); err != nil {
		return err
	}
	r.Addresses[i] = row.RequisiteAddress
	return nil
}

func (h *Handler) addressAdd(ctx context.Context, c *call) (reply, error) {
	return h.changeAddress(ctx, c, func(r *crm.Requisite, i int, typeID int64, fields *Array) error {
		if i >= 0 {
			return errAddressExists
		}
		r.Addresses = append(r.Addresses, crm.RequisiteAddress{TypeID: typeID})
		return applyAddress(r, len(r.Addresses)-1, fields, true)
	})
}

func (h *Handler) addressUpdate(ctx context.Context, c *call) (reply, error) {
	return h.changeAddress(ctx, c, func(r *crm.Requisite, i int, _ int64, fields *Array) error {
		if i < 0 {
			return errAddressNotFound
		}
		return applyAddress(r, i, fields, false)
	})
}

func (h *Handler) addressDelete(ctx context.Context, c *call) (reply, error) {
	return h.changeAddress(ctx, c, func(r *crm.Requisite, i int, _ int64, _ *Array) error {
		if i < 0 {
			return errAddressNotFound
		}
		r.Addresses = slices.Delete(r.Addresses, i, i+1)
		return nil
	})
}

func (h *Handler) addressList(ctx context.Context, c *call) (reply, error) {
	return listRows(ctx, h, c, "requisite_addresses", "requisite_address", "addresses", addressTable, func(id int64) (addressRow, error) {
		a, r, err := h.store.GetRequisiteAddress(ctx, id)
		return addressRow{RequisiteAddress: a, requisite: r}, err
	})
}

func (h *Handler) addressFields(context.Context, *call) (reply, error) {
	return reply{result: addressTable.describe()}, nil
}

// addressTypeEnum is crm.enum.addresstype's, in Bitrix24's order.
var addressTypeEnum = []enumItem{
	{crm.AddressDelivery, "Shipping address", nil, nil}, {crm.AddressActual, "Physical address", nil, nil},
	{crm.AddressLegal, "Legal address", nil, nil}, {crm.AddressRegistration, "Registered address", nil, nil},
	{crm.AddressPostal, "Mailing address", nil, nil}, {crm.AddressBeneficiary, "Beneficiary address", nil, nil},
}

func (h *Handler) enumAddressType(context.Context, *call) (reply, error) {
	return enumReply(addressTypeEnum), nil
}
