package crm

import (
	"strings"
	"time"
)

// Lead is a request that has not yet become a deal: Bitrix24's crm.lead.
type Lead struct {
	Meta
	Title        string `json:"title"`
	Honorific    string `json:"honorific"`
	Name         string `json:"name"`
	SecondName   string `json:"second_name"`
	LastName     string `json:"last_name"`
	CompanyTitle string `json:"company_title"`
	Position     string `json:"position"`
	Birthdate    string `json:"birthdate"`
	Comms
	SourceID          string `json:"source_id"`
	SourceDescription string `json:"source_description"`
	StatusID          string `json:"status_id"`
	StatusDescription string `json:"status_description"`
	Opportunity       Amount `json:"opportunity"`
	Currency          string `json:"currency"`
	Comments          string `json:"comments"`
	UTM
	GAClientID  string     `json:"ga_client_id"`
	YMClientID  string     `json:"ym_client_id"`
	Address     Address    `json:"address"`
	ProductRows []LineItem `json:"product_rows"`
	ContactID   int64      `json:"contact_id"`
	AccountID   int64      `json:"account_id"`
	DealID      int64      `json:"deal_id"`
	ConvertedAt *time.Time `json:"converted_at,omitempty"`
	Extra
}

// Normalize trims, validates and fills defaults. It names every field at
// fault (a FieldErrors when there are several), so that the lead form
// marks them all at once.
func (l *Lead) Normalize() error {
	trimAll(&l.Title, &l.Honorific, &l.Name, &l.SecondName, &l.LastName, &l.CompanyTitle, &l.Position,
		&l.SourceID, &l.StatusID, &l.Currency, &l.GAClientID, &l.YMClientID)
	if l.StatusID == "" {
		l.StatusID = "NEW"
	}
	if l.Currency == "" {
		l.Currency = "RUB"
	}
	l.Currency = strings.ToUpper(l.Currency)
	var errs []error
	if err := l.Comms.Normalize(); err != nil {
		if _, ok := AsFieldError(err); !ok {
			return err
		}
		errs = append(errs, err)
	}
	if l.Title == "" {
		l.Title = strings.TrimSpace(strings.Join([]string{l.LastName, l.Name, l.SecondName}, " "))
		if l.Title == "" {
			l.Title = l.CompanyTitle
		}
		if l.Title == "" && len(l.Phones) > 0 {
			l.Title = l.Phones[0].Value
		}
		if l.Title == "" && len(l.Emails) > 0 {
			l.Title = l.Emails[0].Value
		}
		if l.Title == "" && len(errs) == 0 {
			// With a bad phone or e-mail, the title would have come from
			// it: that error is the one to fix.
			errs = append(errs, Invalid("title", "required: give a title, a name, a company, a phone or an e-mail"))
		}
	}
	if l.Opportunity < 0 {
		errs = append(errs, Invalid("opportunity", "must not be negative"))
	}
	if len(l.ProductRows) > 0 {
		t, err := ComputeItems("product_rows", l.ProductRows)
		if err != nil {
			errs = append(errs, err)
		} else {
			l.Opportunity = t.Total
		}
	}
	if l.ProductRows == nil {
		l.ProductRows = []LineItem{}
	}
	errs = append(errs,
		checkLen("title", l.Title, 255),
		checkLen("name", l.Name, 100),
		checkLen("second_name", l.SecondName, 100),
		checkLen("last_name", l.LastName, 100),
		checkLen("company_title", l.CompanyTitle, 255),
		checkLen("comments", l.Comments, 65000),
		checkDate("birthdate", l.Birthdate),
		checkCurrency("currency", l.Currency),
		checkLen("utm_source", l.UTMSource, 255),
		checkLen("utm_medium", l.UTMMedium, 255),
		checkLen("utm_campaign", l.UTMCampaign, 255),
		checkLen("utm_content", l.UTMContent, 255),
		checkLen("utm_term", l.UTMTerm, 255),
	)
	return JoinFields(errs...)
}

// SearchText is what q= matches.
func (l *Lead) SearchText() string {
	return SearchText(l.Title, l.Name, l.SecondName, l.LastName, l.CompanyTitle)
}
