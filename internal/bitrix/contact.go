package bitrix

import (
	"strconv"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// contactFields are in the order Bitrix24 answers crm.contact.get.
var contactFields = func() []recField[crm.Contact] {
	type C = crm.Contact
	fs := []recField[C]{
		rRead("ID", "integer", "ID", "r.id", kInt, func(_ *recView, r *C) any { return strconv.FormatInt(r.ID, 10) }),
		rStatus("HONORIFIC", "Salutation", "HONORIFIC", "r.honorific", func(r *C) *string { return &r.Honorific }),
		rText("NAME", "Name", "r.name", func(r *C) *string { return &r.Name }),
		rText("SECOND_NAME", "Second name", "r.second_name", func(r *C) *string { return &r.SecondName }),
		rText("LAST_NAME", "Last name", "r.last_name", func(r *C) *string { return &r.LastName }),
		rDate("BIRTHDATE", "Date of birth", "r.birthdate", func(r *C) *string { return &r.Birthdate }),
		rStatus("SOURCE_ID", "Source", "SOURCE", "r.source_id", func(r *C) *string { return &r.SourceID }),
		rText("SOURCE_DESCRIPTION", "Source information", "r.source_description", func(r *C) *string { return &r.SourceDescription }),
		rText("POST", "Position", "r.position", func(r *C) *string { return &r.Position }),
		rText("COMMENTS", "Comment", "r.comments", func(r *C) *string { return &r.Comments }),
	}
	fs = append(fs, rHas("contact", func(r *C) *crm.Comms { return &r.Comms })...)
	fs = append(fs, rMeta(func(r *C) *crm.Meta { return &r.Meta })...)
	fs = append(fs,
		// COMPANY_ID is the first of the contact's companies; writing it
		// makes that company the first.
		recField[C]{name: "COMPANY_ID", typ: "crm_company", title: "Company", kind: kInt,
			col: "(SELECT ca.account_id FROM contact_accounts ca WHERE ca.contact_id = r.id ORDER BY ca.sort, ca.account_id LIMIT 1)",
			out: func(_ *recView, r *C) any {
				if len(r.AccountIDs) == 0 {
					return nil
				}
				return strconv.FormatInt(r.AccountIDs[0], 10)
			},
			in: func(r *C, val any, name string) error {
				n, err := parseInt(name, val)
				if err != nil || n < 0 {
					return crmError("Field %s: not a company id", name)
				}
				ids := []int64{}
				if n > 0 {
					ids = append(ids, n)
				}
				for _, id := range r.AccountIDs {
					if id != n {
						ids = append(ids, id)
					}
				}
				r.AccountIDs = ids
				return nil
			}},
		recField[C]{name: "COMPANY_IDS", typ: "crm_company", title: "Company", multiple: true,
			out: func(_ *recView, r *C) any { return idList(r.AccountIDs) },
			in: func(r *C, val any, name string) error {
				ids, err := parseIDList(name, val)
				r.AccountIDs = ids
				return err
			}},
		rID("LEAD_ID", "crm_lead", "Lead", "r.lead_id", func(r *C) *int64 { return &r.LeadID }),
	)
	fs = append(fs, rOrigin(store.EntityContact, func(r *C) *crm.Extra { return &r.Extra })...)
	fs = append(fs, rAddress("", func(r *C) *crm.Address { return &r.Address })...)
	fs = append(fs, rActivity(func(r *C) *crm.Meta { return &r.Meta })...)
	fs = append(fs, rNoUTM[C]()...)
	fs = append(fs,
		rNone[C]("TYPE_ID", "crm_status", "Contact type", nil),
		rNone[C]("EXPORT", "char", "Included in export", "Y"),
		rPhoto("PHOTO", "Photo", func(r *C) *crm.Meta { return &r.Meta }),
		rNone[C]("FACE_ID", "integer", "Face ID", nil),
		rNone[C]("ORIGIN_VERSION", "string", "Origin version", nil),
		rNone[C]("ADDRESS_LOC_ADDR_ID", "integer", "Location address ID", nil),
	)
	return fs
}()

var contactEntity = newEntity(store.EntityContact, "contacts", contactFields,
	func(r *crm.Contact) *crm.Comms { return &r.Comms }, func(r *crm.Contact) *crm.Extra { return &r.Extra })

func (h *Handler) contactCRUD() *crud[crm.Contact] {
	return &crud[crm.Contact]{h: h, def: contactEntity, meta: func(r *crm.Contact) *crm.Meta { return &r.Meta },
		get: h.store.GetContact, create: h.store.CreateContact, update: h.store.UpdateContact}
}

// idList answers a list of ids as strings.
func idList(ids []int64) *Array {
	out := NewArray()
	for _, id := range ids {
		out.Append(strconv.FormatInt(id, 10))
	}
	return out
}

// parseIDList reads a list of ids (an array or one value).
func parseIDList(name string, val any) ([]int64, error) {
	ids := []int64{}
	for _, v := range itemsOf(val) {
		n, err := parseInt(name, v)
		if err != nil {
			return ids, err
		}
		if n < 0 {
			return ids, crmError("Field %s: %d is not an id", name, n)
		}
		if n > 0 {
			ids = append(ids, n)
		}
	}
	return ids, nil
}
