package crm

import (
	"slices"
	"strconv"
	"strings"
)

// Bitrix24's address types (crm.enum.addresstype) that a requisite's
// typed address may have.
const (
	AddressActual       = 1  // Фактический адрес
	AddressRegistration = 4  // Адрес регистрации (of a person)
	AddressLegal        = 6  // Юридический адрес
	AddressPostal       = 8  // Почтовый адрес
	AddressBeneficiary  = 9  // Адрес бенефициара
	AddressDelivery     = 11 // Адрес доставки
)

// AddressTypes are the address types in the order Bitrix24 lists them.
var AddressTypes = []int64{AddressDelivery, AddressActual, AddressLegal, AddressRegistration, AddressPostal, AddressBeneficiary}

// RequisiteAddress is one typed address of a requisite, in Bitrix24's
// parts (crm.address.*): a requisite has at most one of each type. The
// legal one is the requisite's Address too (see SyncLegalAddress).
type RequisiteAddress struct {
	TypeID int64 `json:"type_id"`
	// Address1 is the street, house and building, Address2 the flat or
	// office; Region is the district, Province the region (oblast).
	Address1    string `json:"address_1"`
	Address2    string `json:"address_2"`
	City        string `json:"city"`
	PostalCode  string `json:"postal_code"`
	Region      string `json:"region"`
	Province    string `json:"province"`
	Country     string `json:"country"`
	CountryCode string `json:"country_code"`
	// LocAddrID is the id of the address in Bitrix24's location module,
	// kept as given.
	LocAddrID int64 `json:"loc_addr_id"`
}

// typeList is AddressTypes as text, for messages.
func typeList() string {
	s := make([]string, len(AddressTypes))
	for i, t := range slices.Sorted(slices.Values(AddressTypes)) {
		s[i] = strconv.FormatInt(t, 10)
	}
	return strings.Join(s, ", ")
}

// normalizeAddresses trims the addresses, checks their types and sorts
// them by type.
func normalizeAddresses(as []RequisiteAddress) ([]RequisiteAddress, error) {
	if as == nil {
		return []RequisiteAddress{}, nil
	}
	seen := map[int64]bool{}
	for i := range as {
		a := &as[i]
		trimAll(&a.Address1, &a.Address2, &a.City, &a.PostalCode, &a.Region, &a.Province, &a.Country, &a.CountryCode)
		field := "addresses[" + strconv.Itoa(i) + "]"
		if !slices.Contains(AddressTypes, a.TypeID) {
			return nil, Invalid(field+".type_id", "%q is not one of %s", strconv.FormatInt(a.TypeID, 10), typeList())
		}
		if seen[a.TypeID] {
			return nil, Invalid(field+".type_id", "address type %d is listed twice", a.TypeID)
		}
		seen[a.TypeID] = true
		if a.LocAddrID < 0 {
			return nil, Invalid(field+".loc_addr_id", "%q is not a number", strconv.FormatInt(a.LocAddrID, 10))
		}
		if err := firstErr(checkLen(field+".address_1", a.Address1, 1024), checkLen(field+".address_2", a.Address2, 1024)); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(as, func(a, b RequisiteAddress) int { return int(a.TypeID - b.TypeID) })
	return as, nil
}

// AddressOf is a typed address of the requisite, and whether it has one.
func (r *Requisite) AddressOf(typeID int64) (RequisiteAddress, bool) {
	i := slices.IndexFunc(r.Addresses, func(a RequisiteAddress) bool { return a.TypeID == typeID })
	if i < 0 {
		return RequisiteAddress{}, false
	}
	return r.Addresses[i], true
}

// Plain is the typed address as Obmen's one-JSON address: the street line
// whole in Street, the province as the region (Obmen's Address has no
// district).
func (a RequisiteAddress) Plain() Address {
	return Address{Postcode: a.PostalCode, Country: a.Country, Region: a.Province, City: a.City, Street: a.Address1, Flat: a.Address2}
}

// withPlain is a (kept for its type, district, country code and location
// id) with the parts of p written over it; street and house make one
// line, as Bitrix24's ADDRESS_1.
func (a RequisiteAddress) withPlain(p Address) RequisiteAddress {
	a.Address1 = strings.TrimSpace(p.Street)
	if h := strings.TrimSpace(p.House); h != "" {
		if a.Address1 != "" {
			a.Address1 += ", "
		}
		a.Address1 += h
	}
	a.Address2, a.City, a.PostalCode, a.Province, a.Country = p.Flat, p.City, p.Postcode, p.Region, p.Country
	return a
}

// SyncLegalAddress keeps cur's Address (the requisite's one address of
// Obmen's REST API and UI) and its legal typed address (crm.address.*
// with TYPE_ID 6) one address: the one that changed from old is copied
// onto the other, the typed one when both changed. An empty Address is
// no legal address.
func SyncLegalAddress(old, cur *Requisite) {
	oldTyped, hadTyped := old.AddressOf(AddressLegal)
	typed, hasTyped := cur.AddressOf(AddressLegal)
	switch {
	case hadTyped != hasTyped || oldTyped != typed:
		if hasTyped {
			cur.Address = typed.Plain()
		} else {
			cur.Address = Address{}
		}
	case cur.Address != old.Address:
		cur.Addresses = slices.DeleteFunc(slices.Clone(cur.Addresses), func(a RequisiteAddress) bool { return a.TypeID == AddressLegal })
		if cur.Address.String() != "" {
			base := typed
			if !hasTyped {
				base = RequisiteAddress{TypeID: AddressLegal}
			}
			cur.Addresses = append(cur.Addresses, base.withPlain(cur.Address))
		}
	}
}
