package crm

import "strconv"

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

// Requisite is one set of legal details of an account, with bank details.
type Requisite struct {
	ID          int64        `json:"id"`
	AccountID   int64        `json:"account_id"`
	Name        string       `json:"name"`
	FullName    string       `json:"full_name"`
	INN         string       `json:"inn"`
	KPP         string       `json:"kpp"`
	OGRN        string       `json:"ogrn"`
	Address     Address      `json:"address"`
	BankDetails []BankDetail `json:"bank_details"`
}

// BankDetail is a bank account of a requisite.
type BankDetail struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	BIK         string `json:"bik"`
	Bank        string `json:"bank"`
	Account     string `json:"account"`
	CorrAccount string `json:"corr_account"`
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

// Normalize validates a requisite and its bank details.
func (r *Requisite) Normalize() error {
	trimAll(&r.Name, &r.FullName, &r.INN, &r.KPP, &r.OGRN)
	if r.INN != "" {
		if err := ValidINN(r.INN); err != nil {
			return err
		}
	}
	if r.BankDetails == nil {
		r.BankDetails = []BankDetail{}
	}
	for i := range r.BankDetails {
		b := &r.BankDetails[i]
		trimAll(&b.Name, &b.BIK, &b.Bank, &b.Account, &b.CorrAccount)
		p := "bank_details[" + strconv.FormatInt(int64(i), 10) + "]"
		if err := firstErr(digitsField("bik", b.BIK, 9), digitsField("account", b.Account, 20), digitsField("corr_account", b.CorrAccount, 20)); err != nil {
			return Prefixed(p, err)
		}
	}
	return firstErr(digitsField("kpp", r.KPP, 9), digitsField("ogrn", r.OGRN, 13, 15))
}
