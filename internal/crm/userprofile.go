package crm

import (
	"net/url"
	"strings"
	"time"
)

// User types of seed 003's "user info" (Bitrix24's portal, extranet and
// e-mail users).
const (
	UserTypeEmployee = "employee"
	UserTypeExtranet = "extranet"
	UserTypeEmail    = "email"
)

// UserProfile is what Obmen keeps of a user beyond the sign-in record:
// the fields of seed 003's "Информация о пользователе" (Bitrix24's
// PERSONAL_* and WORK_* fields). All optional.
type UserProfile struct {
	Gender     string `json:"gender"` // M, F or ""
	Birthday   string `json:"birthday"`
	Profession string `json:"profession"`
	PhotoURL   string `json:"photo_url"`
	Website    string `json:"website"`
	OtherSites string `json:"other_sites"`

	PersonalPhone  string `json:"personal_phone"`
	PersonalMobile string `json:"personal_mobile"`
	Fax            string `json:"fax"`
	Pager          string `json:"pager"`
	InternalPhone  string `json:"internal_phone"`

	Street   string `json:"street"`
	City     string `json:"city"`
	Region   string `json:"region"`
	Zip      string `json:"zip"`
	Country  string `json:"country"`
	District string `json:"district"`

	Company      string `json:"company"`
	CompanyPhone string `json:"company_phone"`

	Interests string `json:"interests"`
	Skills    string `json:"skills"`

	ICQ      string `json:"icq"`
	Skype    string `json:"skype"`
	Telegram string `json:"telegram"`
	WhatsApp string `json:"whatsapp"`
	VK       string `json:"vk"`
	Xing     string `json:"xing"`
	LinkedIn string `json:"linkedin"`
	Facebook string `json:"facebook"`
	Twitter  string `json:"twitter"`

	// UserType is employee (the default), extranet or email.
	UserType string `json:"user_type"`
}

// Normalize trims and validates.
func (p *UserProfile) Normalize() error {
	trimAll(&p.Gender, &p.Birthday, &p.Profession, &p.PhotoURL, &p.Website, &p.OtherSites,
		&p.PersonalPhone, &p.PersonalMobile, &p.Fax, &p.Pager, &p.InternalPhone,
		&p.Street, &p.City, &p.Region, &p.Zip, &p.Country, &p.District, &p.Company, &p.CompanyPhone,
		&p.Interests, &p.Skills, &p.ICQ, &p.Skype, &p.Telegram, &p.WhatsApp, &p.VK, &p.Xing, &p.LinkedIn,
		&p.Facebook, &p.Twitter, &p.UserType)
	switch strings.ToUpper(p.Gender) {
	case "":
	case "M", "F":
		p.Gender = strings.ToUpper(p.Gender)
	default:
		return Invalid("gender", "%q is not one of %s", p.Gender, "M, F")
	}
	if p.Birthday != "" {
		if _, err := time.Parse(time.DateOnly, p.Birthday); err != nil {
			return Invalid("birthday", "%q is not a date in YYYY-MM-DD form", p.Birthday)
		}
	}
	for _, f := range []struct{ field, v string }{{"photo_url", p.PhotoURL}, {"website", p.Website}} {
		field, v := f.field, f.v
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Invalid(field, "must be an http(s) URL")
		}
	}
	switch p.UserType {
	case "":
		p.UserType = UserTypeEmployee
	case UserTypeEmployee, UserTypeExtranet, UserTypeEmail:
	default:
		return Invalid("user_type", "%q is not one of %s", p.UserType, "employee, extranet, email")
	}
	return nil
}

// KeepAdminFields keeps what only an administrator changes (the company,
// the user type, the profession) as prev has them: a user edits his own
// contact details, not what the company says of him.
func (p *UserProfile) KeepAdminFields(prev UserProfile) {
	p.Company, p.UserType, p.Profession = prev.Company, prev.UserType, prev.Profession
}
