package bitrix

import (
	"strconv"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// companyFields are in the order Bitrix24 answers crm.company.get. The
// address is the actual address, REG_ADDRESS_* the legal one. RQ_INN,
// RQ_KPP and RQ_OGRN are not Bitrix24's company fields (it keeps them on
// requisites): Obmen keeps them on the account and serves them here too.
var companyFields = func() []recField[crm.Account] {
	type A = crm.Account
	fs := []recField[A]{
		rRead("ID", "integer", "ID", "r.id", kInt, func(_ *recView, r *A) any { return strconv.FormatInt(r.ID, 10) }),
		rStatus("COMPANY_TYPE", "Company type", "COMPANY_TYPE", "r.company_type", func(r *A) *string { return &r.CompanyType }),
		rText("TITLE", "Company name", "r.title", func(r *A) *string { return &r.Title }),
	}
	fs = append(fs, rHas("account", func(r *A) *crm.Comms { return &r.Comms })...)
	fs = append(fs,
		rStatus("INDUSTRY", "Industry", "INDUSTRY", "r.industry", func(r *A) *string { return &r.Industry }),
		rStatus("SOURCE_ID", "Source", "SOURCE", "r.source_id", func(r *A) *string { return &r.SourceID }),
		rText("COMMENTS", "Comment", "r.comments", func(r *A) *string { return &r.Comments }),
	)
	fs = append(fs, rMeta(func(r *A) *crm.Meta { return &r.Meta })...)
	fs = append(fs, rRead("IS_MY_COMPANY", "char", "My Company", "", "", func(*recView, *A) any { return "N" }))
	fs = append(fs, rOrigin(store.EntityAccount, func(r *A) *crm.Extra { return &r.Extra })...)
	fs = append(fs, rAddress("", func(r *A) *crm.Address { return &r.ActualAddress })...)
	fs = append(fs, rAddress("REG_", func(r *A) *crm.Address { return &r.LegalAddress })...)
	fs = append(fs,
		rText("RQ_INN", "INN", "r.inn", func(r *A) *string { return &r.INN }),
		rText("RQ_KPP", "KPP", "r.kpp", func(r *A) *string { return &r.KPP }),
		rText("RQ_OGRN", "OGRN", "r.ogrn", func(r *A) *string { return &r.OGRN }),
	)
	fs = append(fs, rActivity(func(r *A) *crm.Meta { return &r.Meta })...)
	fs = append(fs, rNoUTM[A]()...)
	fs = append(fs,
		// The legal address as one line, as Bitrix24's old ADDRESS_LEGAL.
		rRead("ADDRESS_LEGAL", "string", "Legal address", "", "", func(_ *recView, r *A) any { return nullText(r.LegalAddress.String()) }),
		rNone[A]("BANKING_DETAILS", "string", "Payment details", nil),
		rNone[A]("CURRENCY_ID", "crm_currency", "Currency", nil),
		rNone[A]("REVENUE", "double", "Annual revenue", nil),
		rNone[A]("EMPLOYEES", "crm_status", "Employees", nil),
		rNone[A]("LEAD_ID", "crm_lead", "Lead", nil),
		rPhoto("LOGO", "Logo", func(r *A) *crm.Meta { return &r.Meta }),
		rNone[A]("LAST_COMMUNICATION_TIME", "string", "Last communication", nil),
		rNone[A]("ORIGIN_VERSION", "string", "Origin version", nil),
		rNone[A]("ADDRESS_LOC_ADDR_ID", "integer", "Location address ID", nil),
		rNone[A]("REG_ADDRESS_LOC_ADDR_ID", "integer", "Legal location address ID", nil),
	)
	return fs
}()

var companyEntity = newEntity(store.EntityAccount, "accounts", companyFields,
	func(r *crm.Account) *crm.Comms { return &r.Comms }, func(r *crm.Account) *crm.Extra { return &r.Extra })

func (h *Handler) companyCRUD() *crud[crm.Account] {
	return &crud[crm.Account]{h: h, def: companyEntity, meta: func(r *crm.Account) *crm.Meta { return &r.Meta },
		get: h.store.GetAccount, create: h.store.CreateAccount, update: h.store.UpdateAccount}
}
