package crm

import (
	"strconv"
	"strings"
	"time"
)

// Account kinds: a legal entity, a sole proprietor (ИП) or a private person.
const (
	AccountLegal  = "legal"
	AccountIP     = "ip"
	AccountPerson = "person"
)

// Account is a counterparty: Bitrix24's crm.company.
type Account struct {
	Meta
	Title       string `json:"title"`
	FullName    string `json:"full_name"`
	Kind        string `json:"kind"`
	CompanyType string `json:"company_type"`
	Industry    string `json:"industry"`
	INN         string `json:"inn"`
	KPP         string `json:"kpp"`
	OGRN        string `json:"ogrn"`
	Comms
	LegalAddress  Address `json:"legal_address"`
	ActualAddress Address `json:"actual_address"`
	SourceID      string  `json:"source_id"`
	Comments      string  `json:"comments"`
	// Requisites are read-only here; they are managed under
	// /accounts/{id}/requisites. The first by id is the default.
	Requisites []Requisite `json:"requisites"`
	Extra
}

// Requisite presets: Bitrix24's standard templates for Russia.
const (
	PresetCompany = 1 // Организация
	PresetIP      = 2 // ИП
	PresetPerson  = 3 // Физ. лицо
)

// Requisite is one set of legal details of an account or a contact
// (exactly one of AccountID and ContactID is set), with bank details.
// The JSON names of the RQ_* fields are Obmen's; internal/bitrix maps them
// to Bitrix24's.
type Requisite struct {
	ID        int64  `json:"id"`
	AccountID int64  `json:"account_id"`
	ContactID int64  `json:"contact_id"`
	PresetID  int64  `json:"preset_id"`
	Name      string `json:"name"`
	Inactive  bool   `json:"inactive"`
	Sort      int64  `json:"sort"`
	XMLID     string `json:"xml_id"`
	// FullName is the organisation's full name (RQ_COMPANY_FULL_NAME),
	// ShortName its short one (RQ_COMPANY_NAME).
	FullName   string `json:"full_name"`
	ShortName  string `json:"short_name"`
	INN        string `json:"inn"`
	KPP        string `json:"kpp"`
	OGRN       string `json:"ogrn"`
	OGRNIP     string `json:"ogrnip"`
	OKPO       string `json:"okpo"`
	Director   string `json:"director"`
	Accountant string `json:"accountant"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	SecondName string `json:"second_name"`
	// Address is the legal address, the same as the typed address of
	// type AddressLegal in Addresses (the store keeps them equal).
	Address     Address      `json:"address"`
	BankDetails []BankDetail `json:"bank_details"`
	// Addresses are the typed addresses (Bitrix24's crm.address.*), one
	// of each type, ordered by type.
	Addresses []RequisiteAddress `json:"addresses"`
	RecordTimes
}

// RecordTimes are who made a child record and when, and who changed it
// last; the store sets them.
type RecordTimes struct {
	CreatedByID int64     `json:"created_by_id"`
	UpdatedByID int64     `json:"updated_by_id"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// BankDetail is a bank account of a requisite.
type BankDetail struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Inactive    bool   `json:"inactive"`
	Sort        int64  `json:"sort"`
	XMLID       string `json:"xml_id"`
	BIK         string `json:"bik"`
	Bank        string `json:"bank"`
	BankAddress string `json:"bank_address"`
	Account     string `json:"account"`
	CorrAccount string `json:"corr_account"`
	Currency    string `json:"currency"`
	Comments    string `json:"comments"`
	RecordTimes
}

func digitsField(field, v string, lengths ...int) error {
	if v == "" {
		return nil
	}
	for _, r := range v {
		if r < '0' || r > '9' {
			return Invalid(field, "must hold digits only, got %q", v)
		}
	}
	for _, n := range lengths {
		if len(v) == n {
			return nil
		}
	}
	return Invalid(field, "%q has a wrong number of digits", v)
}

// Normalize trims, validates and fills defaults.
func (a *Account) Normalize() error {
	trimAll(&a.Title, &a.FullName, &a.Kind, &a.INN, &a.KPP, &a.OGRN, &a.CompanyType, &a.SourceID)
	if a.Kind == "" {
		a.Kind = AccountLegal
	}
	if a.Title == "" {
		return Invalid("title", "required")
	}
	switch a.Kind {
	case AccountLegal, AccountIP, AccountPerson:
	default:
		return Invalid("kind", "%q is not one of legal, ip, person", a.Kind)
	}
	if a.INN != "" {
		if err := ValidINN(a.INN); err != nil {
			return err
		}
	}
	if err := a.Comms.Normalize(); err != nil {
		return err
	}
	if a.Requisites == nil {
		a.Requisites = []Requisite{}
	}
	return firstErr(
		checkLen("title", a.Title, 255),
		checkLen("full_name", a.FullName, 500),
		checkLen("comments", a.Comments, 65000),
		digitsField("kpp", a.KPP, 9),
		digitsField("ogrn", a.OGRN, 13, 15),
	)
}

// SearchText is what q= matches (the INN is matched exactly elsewhere, but
// a partial INN typed in the search box should find it too).
func (a *Account) SearchText() string {
	return SearchText(a.Title, a.FullName, a.INN)
}

// Normalize validates a requisite and its bank details: the INN by its
// check digits, the other numbers by their digits and lengths (KPP 9,
// OGRN 13 (15 kept from before), OGRNIP 15, OKPO 8 or 10; BIK 9, accounts 20). The owner is not
// checked here.
func (r *Requisite) Normalize() error {
	trimAll(&r.Name, &r.XMLID, &r.FullName, &r.ShortName, &r.INN, &r.KPP, &r.OGRN, &r.OGRNIP, &r.OKPO,
		&r.Director, &r.Accountant, &r.FirstName, &r.LastName, &r.SecondName)
	if r.PresetID == 0 {
		r.PresetID = PresetCompany
	}
	if r.PresetID < PresetCompany || r.PresetID > PresetPerson {
		return Invalid("preset_id", "%d is not one of 1 (organisation), 2 (sole proprietor), 3 (person)", r.PresetID)
	}
	if r.Sort == 0 {
		r.Sort = 500
	}
	if r.INN != "" {
		if err := ValidINN(r.INN); err != nil {
			return err
		}
	}
	if r.BankDetails == nil {
		r.BankDetails = []BankDetail{}
	}
	addrs, err := normalizeAddresses(r.Addresses)
	if err != nil {
		return err
	}
	r.Addresses = addrs
	for i := range r.BankDetails {
		if err := r.BankDetails[i].Normalize(); err != nil {
			return Prefixed("bank_details["+strconv.FormatInt(int64(i), 10)+"]", err)
		}
	}
	return firstErr(
		checkLen("name", r.Name, 255),
		checkLen("full_name", r.FullName, 500),
		digitsField("kpp", r.KPP, 9),
		digitsField("ogrn", r.OGRN, 13, 15),
		digitsField("ogrnip", r.OGRNIP, 15),
		digitsField("okpo", r.OKPO, 8, 10),
	)
}

// Normalize validates a bank detail.
func (b *BankDetail) Normalize() error {
	trimAll(&b.Name, &b.XMLID, &b.BIK, &b.Bank, &b.BankAddress, &b.Account, &b.CorrAccount, &b.Currency, &b.Comments)
	if b.Sort == 0 {
		b.Sort = 500
	}
	b.Currency = strings.ToUpper(b.Currency)
	if b.Currency != "" && !isCurrencyCode(b.Currency) {
		return Invalid("currency", "%q is not a three-letter currency code", b.Currency)
	}
	return firstErr(digitsField("bik", b.BIK, 9), digitsField("account", b.Account, 20), digitsField("corr_account", b.CorrAccount, 20))
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}
