package bitrix

// crm.requisite.* and crm.requisite.bankdetail.* over the requisites of
// accounts (ENTITY_TYPE_ID 4, Bitrix24's companies) and contacts
// (ENTITY_TYPE_ID 3), and crm.requisite.preset.list with Bitrix24's three
// standard Russian presets. Obmen keeps the RQ_* fields Russian
// companies use; others (RQ_ADDR, RQ_OKVED, foreign registries, CODE,
// ORIGINATOR_ID, UF_*) are not kept and are ignored on write, as Bitrix24
// ignores fields it does not know. A bad INN, KPP, OGRN, BIK or account
// number is refused naming the Bitrix24 field.

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// rqField is one Bitrix24 field of a requisite or a bank detail (T).
type rqField[T any] struct {
	name, typ, title string
	// json is Obmen's name of the field, for naming it in errors.
	json string
	// col is the SQL expression (over the table as r) to filter and sort
	// on, "" for none; kind how filter values are read.
	col, kind string
	// required on add; immutable: written on add only.
	required, immutable bool
	out                 func(v *recView, r *T) any
	in                  func(r *T, val any, name string) error // nil: read-only
}

func rqText[T any](name, title, json, col string, get func(r *T) *string) rqField[T] {
	return rqField[T]{name: name, typ: "string", title: title, json: json, col: col, kind: kText,
		out: func(_ *recView, r *T) any { return nullText(*get(r)) },
		in: func(r *T, v any, name string) error {
			s, ok := scalarText(v)
			if !ok {
				return crmError("Field %s: must be a string", name)
			}
			*get(r) = strings.TrimSpace(s)
			return nil
		}}
}

func rqInt[T any](name, title, json, col string, get func(r *T) *int64) rqField[T] {
	return rqField[T]{name: name, typ: "integer", title: title, json: json, col: col, kind: kInt,
		out: func(_ *recView, r *T) any { return strconv.FormatInt(*get(r), 10) },
		in: func(r *T, v any, name string) error {
			n, err := parseInt(name, v)
			*get(r) = n
			return err
		}}
}

// rqActive is ACTIVE over an Inactive flag.
func rqActive[T any](get func(r *T) *bool) rqField[T] {
	return rqField[T]{name: "ACTIVE", typ: "char", title: "Active", json: "inactive", col: "r.active", kind: "bool",
		out: func(_ *recView, r *T) any { return yn(!*get(r)) },
		in:  func(r *T, v any, _ string) error { *get(r) = !truthy(v); return nil }}
}

// rqStamps are DATE_CREATE, DATE_MODIFY, CREATED_BY_ID and MODIFY_BY_ID.
func rqStamps[T any](get func(r *T) *crm.RecordTimes) []rqField[T] {
	return []rqField[T]{
		{name: "DATE_CREATE", typ: "datetime", title: "Created on", col: "r.created_at", kind: kTime,
			out: func(v *recView, r *T) any { return bitrixTime(get(r).CreatedAt, v.loc) }},
		{name: "DATE_MODIFY", typ: "datetime", title: "Modified on", col: "r.updated_at", kind: kTime,
			out: func(v *recView, r *T) any { return bitrixTime(get(r).UpdatedAt, v.loc) }},
		{name: "CREATED_BY_ID", typ: "user", title: "Created by", col: "r.created_by_id", kind: kInt,
			out: func(_ *recView, r *T) any { return idText(get(r).CreatedByID) }},
		{name: "MODIFY_BY_ID", typ: "user", title: "Modified by", col: "r.updated_by_id", kind: kInt,
			out: func(_ *recView, r *T) any { return idText(get(r).UpdatedByID) }},
	}
}

// rqTable is the fields of T in the order Bitrix24 answers them.
type rqTable[T any] struct {
	fields []rqField[T]
	byName map[string]*rqField[T]
	byJSON map[string]string
}

func newRqTable[T any](fields []rqField[T]) *rqTable[T] {
	t := &rqTable[T]{fields: fields, byName: map[string]*rqField[T]{}, byJSON: map[string]string{}}
	for i := range fields {
		f := &t.fields[i]
		t.byName[f.name] = f
		if f.json != "" {
			t.byJSON[f.json] = f.name
		}
	}
	return t
}

// rqNone are fields Bitrix24 has and Obmen does not keep (other
// countries' codes, identity documents …): answered as null, as a fresh
// portal answers an empty field; writes to them are ignored.
func rqNone[T any](names ...string) []rqField[T] {
	out := make([]rqField[T], len(names))
	for i, n := range names {
		out[i] = rqField[T]{name: n, typ: "string", title: n, out: func(*recView, *T) any { return nil }}
	}
	return out
}

// apply writes Bitrix24 fields into r; immutable fields only when adding.
func (t *rqTable[T]) apply(r *T, fields *Array, adding bool) error {
	for _, key := range fields.Keys() {
		val, _ := fields.Get(key)
		name := strings.ToUpper(strings.TrimSpace(key))
		f := t.byName[name]
		if f == nil || f.in == nil || (f.immutable && !adding) {
			continue
		}
		if err := f.in(r, val, name); err != nil {
			return err
		}
	}
	return nil
}

func (t *rqTable[T]) render(v *recView, r *T, sel *selection) *Array {
	out := NewArray()
	for i := range t.fields {
		f := &t.fields[i]
		if f.name == "ID" || sel.has(f.name) {
			out.Set(f.name, f.out(v, r))
		}
	}
	return out
}

func (t *rqTable[T]) describe() *Array {
	descs := make([]fieldDesc, 0, len(t.fields))
	for _, f := range t.fields {
		descs = append(descs, fieldDesc{name: f.name, typ: f.typ, title: f.title, readOnly: f.in == nil})
	}
	out := describeFields(descs, false, nil)
	for _, f := range t.fields {
		if d, ok := out.Get(f.name); ok && (f.required || f.immutable) {
			d.(*Array).Set("isRequired", f.required).Set("isImmutable", f.immutable)
		}
	}
	return out
}

func (t *rqTable[T]) condition(h *Handler, what string) func(q *sqlQuery, field, op string, vals []any) (string, error) {
	return func(q *sqlQuery, field, op string, vals []any) (string, error) {
		f := t.byName[field]
		if f == nil || f.col == "" {
			return "", crmError("Field %s: cannot filter %s by this field", field, what)
		}
		if f.kind == "bool" {
			return flagCondition(field, op, vals, f.col)
		}
		return columnCondition(q, f.col, field, f.kind, op, vals, func(v any) (any, error) { return h.filterValue(field, f.kind, v) })
	}
}

func (t *rqTable[T]) order(order *Array) string {
	return orderClause(order, func(field string) string {
		if f := t.byName[field]; f != nil && f.kind != "bool" {
			return f.col
		}
		return ""
	})
}

// fieldError names the field of a store error as Bitrix24 does
// ("bank_details[0].bik" is RQ_BIK).
func (t *rqTable[T]) fieldError(err error) error {
	fe, ok := crm.AsFieldError(err)
	if !ok {
		return err
	}
	field := fe.Field
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		field = field[i+1:]
	}
	if n, ok := t.byJSON[field]; ok {
		field = n
	}
	return crmError("Field %s: %s", field, fe.Message)
}

// Bitrix24's owner types of requisites.
const (
	ownerContact = 3
	ownerCompany = 4
)

var requisiteTable = newRqTable(slices.Concat([]rqField[crm.Requisite]{
	{name: "ID", typ: "integer", title: "ID", col: "r.id", kind: kInt,
		out: func(_ *recView, r *crm.Requisite) any { return strconv.FormatInt(r.ID, 10) }},
	{name: "ENTITY_TYPE_ID", typ: "integer", title: "Entity type ID", kind: kInt, required: true, immutable: true,
		col: "CASE WHEN r.entity = 'contact' THEN 3 ELSE 4 END",
		out: func(_ *recView, r *crm.Requisite) any {
			if r.ContactID != 0 {
				return strconv.Itoa(ownerContact)
			}
			return strconv.Itoa(ownerCompany)
		},
		in: func(r *crm.Requisite, v any, _ string) error {
			n, err := parseInt("ENTITY_TYPE_ID", v)
			owner := r.AccountID + r.ContactID
			switch {
			case err == nil && n == ownerCompany:
				r.AccountID, r.ContactID = owner, 0
			case err == nil && n == ownerContact:
				r.AccountID, r.ContactID = 0, owner
				if owner == 0 {
					r.ContactID = -1 // a contact, id to come
				}
			default:
				return crmError("ENTITY_TYPE_ID is not defined or invalid.")
			}
			return nil
		}},
	{name: "ENTITY_ID", typ: "integer", title: "Entity ID", col: "r.record_id", kind: kInt, required: true, immutable: true,
		out: func(_ *recView, r *crm.Requisite) any { return strconv.FormatInt(r.AccountID+r.ContactID, 10) },
		in: func(r *crm.Requisite, v any, _ string) error {
			n, err := parseInt("ENTITY_ID", v)
			if err != nil || n <= 0 {
				return crmError("ENTITY_ID is not defined or invalid.")
			}
			if r.ContactID != 0 {
				r.ContactID = n
			} else {
				r.AccountID = n
			}
			return nil
		}},
	func() rqField[crm.Requisite] {
		f := rqInt("PRESET_ID", "Preset ID", "preset_id", "r.preset_id", func(r *crm.Requisite) *int64 { return &r.PresetID })
		f.required, f.immutable = true, true
		return f
	}(),
}, rqStamps(func(r *crm.Requisite) *crm.RecordTimes { return &r.RecordTimes }), []rqField[crm.Requisite]{
	rqText("NAME", "Name", "name", "r.name", func(r *crm.Requisite) *string { return &r.Name }),
	rqText("XML_ID", "External code", "xml_id", "r.xml_id", func(r *crm.Requisite) *string { return &r.XMLID }),
	rqActive(func(r *crm.Requisite) *bool { return &r.Inactive }),
	rqInt("SORT", "Sort order", "sort", "r.sort", func(r *crm.Requisite) *int64 { return &r.Sort }),
	rqText("RQ_FIRST_NAME", "First Name", "first_name", "r.first_name", func(r *crm.Requisite) *string { return &r.FirstName }),
	rqText("RQ_LAST_NAME", "Last Name", "last_name", "r.last_name", func(r *crm.Requisite) *string { return &r.LastName }),
	rqText("RQ_SECOND_NAME", "Middle Name", "second_name", "r.second_name", func(r *crm.Requisite) *string { return &r.SecondName }),
	rqText("RQ_COMPANY_NAME", "Short organization name", "short_name", "r.company_name", func(r *crm.Requisite) *string { return &r.ShortName }),
	rqText("RQ_COMPANY_FULL_NAME", "Full organization name", "full_name", "r.company_full_name", func(r *crm.Requisite) *string { return &r.FullName }),
	rqText("RQ_DIRECTOR", "CEO", "director", "r.director", func(r *crm.Requisite) *string { return &r.Director }),
	rqText("RQ_ACCOUNTANT", "Chief Accountant", "accountant", "r.accountant", func(r *crm.Requisite) *string { return &r.Accountant }),
	rqText("RQ_INN", "INN", "inn", "r.inn", func(r *crm.Requisite) *string { return &r.INN }),
	rqText("RQ_KPP", "KPP", "kpp", "r.kpp", func(r *crm.Requisite) *string { return &r.KPP }),
	rqText("RQ_OGRN", "OGRN", "ogrn", "r.ogrn", func(r *crm.Requisite) *string { return &r.OGRN }),
	rqText("RQ_OGRNIP", "OGRNIP", "ogrnip", "r.ogrnip", func(r *crm.Requisite) *string { return &r.OGRNIP }),
	rqText("RQ_OKPO", "OKPO", "okpo", "r.okpo", func(r *crm.Requisite) *string { return &r.OKPO }),
	{name: "ADDRESS_ONLY", typ: "char", title: "Address only", out: func(*recView, *crm.Requisite) any { return "N" }},
}, rqNone[crm.Requisite]("CODE", "ORIGINATOR_ID", "RQ_NAME", "RQ_COMPANY_ID", "RQ_COMPANY_REG_DATE", "RQ_CEO_NAME",
	"RQ_CEO_WORK_POS", "RQ_CONTACT", "RQ_EMAIL", "RQ_PHONE", "RQ_FAX", "RQ_IDENT_TYPE", "RQ_IDENT_DOC", "RQ_IDENT_DOC_SER",
	"RQ_IDENT_DOC_NUM", "RQ_IDENT_DOC_PERS_NUM", "RQ_IDENT_DOC_DATE", "RQ_IDENT_DOC_ISSUED_BY", "RQ_IDENT_DOC_DEP_CODE",
	"RQ_OKTMO", "RQ_OKVED", "RQ_IFNS", "RQ_LEGAL_FORM", "RQ_CAPITAL", "RQ_BASE_DOC", "RQ_VAT_PAYER", "RQ_VAT_ID",
	"RQ_VAT_CERT_SER", "RQ_VAT_CERT_NUM", "RQ_VAT_CERT_DATE", "RQ_RESIDENCE_COUNTRY", "RQ_ST_CERT_SER", "RQ_ST_CERT_NUM",
	"RQ_ST_CERT_DATE", "RQ_EDRPOU", "RQ_DRFO", "RQ_BIN", "RQ_IIN", "RQ_KBE", "RQ_USRLE", "RQ_STATE_REG", "RQ_MNPL_REG",
	"RQ_KRS", "RQ_PESEL", "RQ_REGON", "RQ_SIREN", "RQ_SIRET", "RQ_RCS", "RQ_CNPJ", "RQ_CPF")))

// bankRow is a bank detail with the requisite it belongs to.
type bankRow struct {
	crm.BankDetail
	requisiteID int64
}

var bankDetailTable = newRqTable(slices.Concat([]rqField[bankRow]{
	{name: "ID", typ: "integer", title: "ID", col: "r.id", kind: kInt,
		out: func(_ *recView, r *bankRow) any { return strconv.FormatInt(r.ID, 10) }},
	{name: "ENTITY_ID", typ: "integer", title: "Requisite ID", col: "r.requisite_id", kind: kInt, required: true, immutable: true,
		out: func(_ *recView, r *bankRow) any { return strconv.FormatInt(r.requisiteID, 10) },
		in: func(r *bankRow, v any, _ string) error {
			n, err := parseInt("ENTITY_ID", v)
			if err != nil || n <= 0 {
				return crmError("ENTITY_ID is not defined or invalid.")
			}
			r.requisiteID = n
			return nil
		}},
	{name: "COUNTRY_ID", typ: "integer", title: "Country ID", out: func(*recView, *bankRow) any { return "1" }},
}, rqStamps(func(r *bankRow) *crm.RecordTimes { return &r.RecordTimes }), []rqField[bankRow]{
	rqText("NAME", "Name", "name", "r.name", func(r *bankRow) *string { return &r.Name }),
	rqText("XML_ID", "External code", "xml_id", "r.xml_id", func(r *bankRow) *string { return &r.XMLID }),
	rqActive(func(r *bankRow) *bool { return &r.Inactive }),
	rqInt("SORT", "Sort order", "sort", "r.sort", func(r *bankRow) *int64 { return &r.Sort }),
	rqText("RQ_BANK_NAME", "Bank name", "bank", "r.bank", func(r *bankRow) *string { return &r.Bank }),
	rqText("RQ_BANK_ADDR", "Bank address", "bank_address", "r.bank_address", func(r *bankRow) *string { return &r.BankAddress }),
	rqText("RQ_BIK", "BIK", "bik", "r.bik", func(r *bankRow) *string { return &r.BIK }),
	rqText("RQ_ACC_NUM", "Account number", "account", "r.account", func(r *bankRow) *string { return &r.Account }),
	rqText("RQ_ACC_CURRENCY", "Account currency", "currency", "r.currency", func(r *bankRow) *string { return &r.Currency }),
	rqText("RQ_COR_ACC_NUM", "Correspondent account", "corr_account", "r.corr_account", func(r *bankRow) *string { return &r.CorrAccount }),
	rqText("COMMENTS", "Comment", "comments", "r.comments", func(r *bankRow) *string { return &r.Comments }),
}, rqNone[bankRow]("CODE", "ORIGINATOR_ID", "RQ_BANK_CODE", "RQ_BANK_ROUTE_NUM", "RQ_MFO", "RQ_ACC_NAME", "RQ_ACC_TYPE",
	"RQ_IIK", "RQ_IBAN", "RQ_SWIFT", "RQ_BIC", "RQ_CODEB", "RQ_CODEG", "RQ_RIB", "RQ_AGENCY_NAME")))

func (h *Handler) view() *recView { return &recView{loc: h.loc} }

func requisiteNotFound(id int64) *Error {
	return crmError("The Requisite with ID '%d' is not found", id)
}

func bankDetailNotFound(id int64) *Error {
	return crmError("The RequisiteBankDetail with ID '%d' is not found", id)
}

func (h *Handler) requisiteAdd(ctx context.Context, c *call) (reply, error) {
	fields, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	fields = orEmpty(fields)
	for _, name := range []string{"ENTITY_TYPE_ID", "ENTITY_ID", "PRESET_ID"} {
		if v, ok := lookupFold(fields, name); !ok || v == nil || v == "" {
			return reply{}, crmError("%s is not defined or invalid.", name)
		}
	}
	var r crm.Requisite
	// ENTITY_TYPE_ID first: it says which owner ENTITY_ID names.
	typ, _ := lookupFold(fields, "ENTITY_TYPE_ID")
	if err := requisiteTable.byName["ENTITY_TYPE_ID"].in(&r, typ, "ENTITY_TYPE_ID"); err != nil {
		return reply{}, err
	}
	if err := requisiteTable.apply(&r, fields, true); err != nil {
		return reply{}, err
	}
	if r.PresetID < crm.PresetCompany || r.PresetID > crm.PresetPerson {
		return reply{}, crmError("PRESET_ID is not defined or invalid.")
	}
	created, err := h.store.AddRequisite(ctx, c.actor(), r)
	if errors.Is(err, store.ErrNotFound) {
		return reply{}, crmError("Entity not found.")
	}
	if err != nil {
		return reply{}, requisiteTable.fieldError(err)
	}
	return reply{result: created.ID}, nil
}

func (h *Handler) requisiteGet(ctx context.Context, c *call) (reply, error) {
	id, err := c.recordID()
	if err != nil {
		return reply{}, err
	}
	r, err := h.store.GetRequisite(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return reply{}, requisiteNotFound(id)
	}
	if err != nil {
		return reply{}, err
	}
	return reply{result: requisiteTable.render(h.view(), &r, everything)}, nil
}

func (h *Handler) requisiteUpdate(ctx context.Context, c *call) (reply, error) {
	return updateRow(c, requisiteNotFound, requisiteTable.fieldError, func(id int64, fields *Array) error {
		_, err := h.store.ChangeRequisite(ctx, c.actor(), id, func(r *crm.Requisite) error {
			return requisiteTable.apply(r, fields, false)
		})
		return err
	})
}

// updateRow is the .update of a requisite or a bank detail: the id and
// the fields from the call, change applies them, a missing row answers
// notFound and a refused field fieldError.
func updateRow(c *call, notFound func(int64) *Error, fieldError func(error) error, change func(id int64, fields *Array) error) (reply, error) {
	id, err := c.recordID()
	if err != nil {
		return reply{}, err
	}
	fields, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	err = change(id, orEmpty(fields))
	if errors.Is(err, store.ErrNotFound) {
		return reply{}, notFound(id)
	}
	if err != nil {
		return reply{}, fieldError(err)
	}
	return reply{result: true}, nil
}

func (h *Handler) requisiteDelete(ctx context.Context, c *call) (reply, error) {
	return deleteRow(ctx, c, h.store.DeleteRequisite, requisiteNotFound)
}

// deleteRow answers a *.delete of a row without a recycle bin: del removes
// the call's id, and a missing one is answered notFound.
func deleteRow(ctx context.Context, c *call, del func(context.Context, crm.Actor, int64) error, notFound func(int64) *Error) (reply, error) {
	id, err := c.recordID()
	if err != nil {
		return reply{}, err
	}
	if err := del(ctx, c.actor(), id); errors.Is(err, store.ErrNotFound) {
		return reply{}, notFound(id)
	} else if err != nil {
		return reply{}, err
	}
	return reply{result: true}, nil
}

func (h *Handler) requisiteList(ctx context.Context, c *call) (reply, error) {
	return listRows(ctx, h, c, "requisites", "requisite", "requisites", requisiteTable, func(id int64) (crm.Requisite, error) {
		return h.store.GetRequisite(ctx, id)
	})
}

// listRows answers the *.list of a table of requisites' rows (requisites,
// bank_details, requisite_addresses; entity names it for the caller's
// scope): the page of ids, each row loaded and rendered.
func listRows[T any](ctx context.Context, h *Handler, c *call, table, entity, what string, t *rqTable[T], load func(id int64) (T, error)) (reply, error) {
	la, err := c.listArgs()
	if err != nil {
		return reply{}, err
	}
	ids, sel, start, total, err := h.listPageWhere(ctx, la, table, "1 = 1", entity, nil, t.condition(h, what), t.order)
	if err != nil {
		return reply{}, err
	}
	v := h.view()
	result := NewArray()
	for _, id := range ids {
		row, err := load(id)
		if err != nil {
			return reply{}, err
		}
		result.Append(t.render(v, &row, sel))
	}
	return listReply(result, start, total), nil
}

func (h *Handler) requisiteFields(context.Context, *call) (reply, error) {
	return reply{result: requisiteTable.describe()}, nil
}

func (h *Handler) bankDetailAdd(ctx context.Context, c *call) (reply, error) {
	fields, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	fields = orEmpty(fields)
	if v, ok := lookupFold(fields, "ENTITY_ID"); !ok || v == nil || v == "" {
		return reply{}, crmError("ENTITY_ID is not defined or invalid.")
	}
	var b bankRow
	if err := bankDetailTable.apply(&b, fields, true); err != nil {
		return reply{}, err
	}
	created, err := h.store.AddBankDetail(ctx, c.actor(), b.requisiteID, b.BankDetail)
	if errors.Is(err, store.ErrNotFound) {
		return reply{}, requisiteNotFound(b.requisiteID)
	}
	if err != nil {
		return reply{}, bankDetailTable.fieldError(err)
	}
	return reply{result: created.ID}, nil
}

func (h *Handler) bankDetailGet(ctx context.Context, c *call) (reply, error) {
	id, err := c.recordID()
	if err != nil {
		return reply{}, err
	}
	b, rid, err := h.store.GetBankDetail(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return reply{}, bankDetailNotFound(id)
	}
	if err != nil {
		return reply{}, err
	}
	row := bankRow{BankDetail: b, requisiteID: rid}
	return reply{result: bankDetailTable.render(h.view(), &row, everything)}, nil
}

func (h *Handler) bankDetailUpdate(ctx context.Context, c *call) (reply, error) {
	return updateRow(c, bankDetailNotFound, bankDetailTable.fieldError, func(id int64, fields *Array) error {
		_, err := h.store.ChangeBankDetail(ctx, c.actor(), id, func(b *crm.BankDetail) error {
			row := bankRow{BankDetail: *b}
			if err := bankDetailTable.apply(&row, fields, false); err != nil {
				return err
			}
			*b = row.BankDetail
			return nil
		})
		return err
	})
}

func (h *Handler) bankDetailDelete(ctx context.Context, c *call) (reply, error) {
	return deleteRow(ctx, c, h.store.DeleteBankDetail, bankDetailNotFound)
}

func (h *Handler) bankDetailList(ctx context.Context, c *call) (reply, error) {
	return listRows(ctx, h, c, "bank_details", "bank_detail", "bank details", bankDetailTable, func(id int64) (bankRow, error) {
		b, rid, err := h.store.GetBankDetail(ctx, id)
		return bankRow{BankDetail: b, requisiteID: rid}, err
	})
}

func (h *Handler) bankDetailFields(context.Context, *call) (reply, error) {
	return reply{result: bankDetailTable.describe()}, nil
}

// requisitePresets are Bitrix24's standard presets for Russia, with the
// ids and XML_IDs a Russian portal has.
var requisitePresets = []struct{ id, name, xmlID string }{
	{"1", "Организация", "#CRM_REQUISITE_PRESET_DEF_RU_COMPANY#"},
	{"2", "ИП", "#CRM_REQUISITE_PRESET_DEF_RU_INDIVIDUAL#"},
	{"3", "Физ. лицо", "#CRM_REQUISITE_PRESET_DEF_RU_PERSON#"},
}

// requisitePresetList answers crm.requisite.preset.list: the fixed
// presets (filter, order and select are not applied; there are three).
func (h *Handler) requisitePresetList(context.Context, *call) (reply, error) {
	result := NewArray()
	for _, p := range requisitePresets {
		result.Append(NewArray().Set("ID", p.id).Set("ENTITY_TYPE_ID", "8").Set("COUNTRY_ID", "1").Set("NAME", p.name).
			Set("DATE_CREATE", "").Set("DATE_MODIFY", "").Set("CREATED_BY_ID", "0").Set("MODIFY_BY_ID", "0").
			Set("ACTIVE", "Y").Set("SORT", "500").Set("XML_ID", p.xmlID))
	}
	total := int64(len(requisitePresets))
	return reply{result: result, total: &total}, nil
}
