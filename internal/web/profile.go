package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
)

// A user's profile (seed 003's "user info" fields): the user edits his
// own at /account/profile (less the company, profession and user type),
// an administrator anyone's at /admin/users/{id}/profile.

// profileField is one input of the profile form.
type profileField struct {
	Name, Value string
	// AdminOnly: what the company says of the user, not his contacts.
	AdminOnly bool
	Options   []string // a select's values ("" first); none: a text input
}

type profileData struct {
	UserID   int64
	Login    string
	Action   string
	Fields   []profileField
	CanAdmin bool
	Error    string
	// DAV is the CardDAV/CalDAV block of the user's own profile.
	DAV *davInfo
	// Feed is the user's own iCalendar feed (own profile only).
	Feed *feedData
}

// davInfo is what a mail client or a phone needs to reach the user's
// contacts and calendars over CardDAV/CalDAV (internal/dav).
type davInfo struct {
	Server, Login, Contacts, People, Calendar string
}

// davBase is the server's public address: the configured one, else the
// one the browser used.
func (u *UI) davBase(r *http.Request) string {
	if u.baseURL != "" {
		return u.baseURL
	}
	scheme := "http"
	if secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// profileFields are the form's inputs in order, with the values of p.
func profileFields(p crm.UserProfile) []profileField {
	return []profileField{
		{Name: "gender", Value: p.Gender, Options: []string{"", "M", "F"}},
		{Name: "birthday", Value: p.Birthday},
		{Name: "profession", Value: p.Profession, AdminOnly: true},
		{Name: "company", Value: p.Company, AdminOnly: true},
		{Name: "company_phone", Value: p.CompanyPhone, AdminOnly: true},
		{Name: "user_type", Value: p.UserType, AdminOnly: true, Options: []string{crm.UserTypeEmployee, crm.UserTypeExtranet, crm.UserTypeEmail}},
		{Name: "personal_phone", Value: p.PersonalPhone}, {Name: "personal_mobile", Value: p.PersonalMobile},
		{Name: "internal_phone", Value: p.InternalPhone}, {Name: "fax", Value: p.Fax}, {Name: "pager", Value: p.Pager},
		{Name: "street", Value: p.Street}, {Name: "city", Value: p.City}, {Name: "district", Value: p.District},
		{Name: "region", Value: p.Region}, {Name: "zip", Value: p.Zip}, {Name: "country", Value: p.Country},
		{Name: "photo_url", Value: p.PhotoURL}, {Name: "website", Value: p.Website}, {Name: "other_sites", Value: p.OtherSites},
		{Name: "interests", Value: p.Interests}, {Name: "skills", Value: p.Skills},
		{Name: "telegram", Value: p.Telegram}, {Name: "whatsapp", Value: p.WhatsApp}, {Name: "skype", Value: p.Skype},
		{Name: "vk", Value: p.VK}, {Name: "icq", Value: p.ICQ}, {Name: "linkedin", Value: p.LinkedIn},
		{Name: "facebook", Value: p.Facebook}, {Name: "twitter", Value: p.Twitter}, {Name: "xing", Value: p.Xing},
	}
}

// profileFromForm reads the form into a profile.
func profileFromForm(r *http.Request) crm.UserProfile {
	f := r.PostForm.Get
	return crm.UserProfile{Gender: f("gender"), Birthday: f("birthday"), Profession: f("profession"), Company: f("company"),
		CompanyPhone: f("company_phone"), UserType: f("user_type"), PersonalPhone: f("personal_phone"), PersonalMobile: f("personal_mobile"),
		InternalPhone: f("internal_phone"), Fax: f("fax"), Pager: f("pager"), Street: f("street"), City: f("city"), District: f("district"),
		Region: f("region"), Zip: f("zip"), Country: f("country"), PhotoURL: f("photo_url"), Website: f("website"), OtherSites: f("other_sites"),
		Interests: f("interests"), Skills: f("skills"), Telegram: f("telegram"), WhatsApp: f("whatsapp"), Skype: f("skype"), VK: f("vk"),
		ICQ: f("icq"), LinkedIn: f("linkedin"), Facebook: f("facebook"), Twitter: f("twitter"), Xing: f("xing")}
}

func (u *UI) ownProfile(w http.ResponseWriter, r *http.Request, rq *request) {
	u.profilePage(w, r, rq, rq.User.ID, "/account/profile")
}

func (u *UI) adminProfile(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allowAs(w, r, rq, authz.Users, authz.Write, 0) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	u.profilePage(w, r, rq, id, "/admin/users/"+strconv.FormatInt(id, 10)+"/profile")
}

func (u *UI) profilePage(w http.ResponseWriter, r *http.Request, rq *request, id int64, action string) {
	u.profileView(w, r, rq, id, action, r.Method == http.MethodPost, "")
}

// profileView shows the profile (submit: saves the form first); feedURL,
// when set, is a feed link just made, shown this once.
func (u *UI) profileView(w http.ResponseWriter, r *http.Request, rq *request, id int64, action string, submit bool, feedURL string) {
	user, err := u.store.GetUser(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	p, err := u.store.GetUserProfile(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	status := http.StatusOK
	d := profileData{UserID: id, Login: user.Login, Action: action, CanAdmin: rq.User.Role == crm.RoleAdmin}
	if id == rq.User.ID {
		principal := u.davBase(r) + "/dav/principals/" + url.PathEscape(user.Login) + "/"
		home := principal + "addressbooks/"
		d.DAV = &davInfo{Server: u.davBase(r) + "/dav/", Login: user.Login, Contacts: home + "contacts/", People: home + "people/",
			Calendar: principal + "calendars/activities/"}
	}
	if submit {
		in := profileFromForm(r)
		if !d.CanAdmin {
			in.KeepAdminFields(p)
		}
		if _, err := u.store.SetUserProfile(r.Context(), rq.Actor(), id, in); err != nil {
			fe, ok := crm.AsFieldError(err)
			if !ok {
				u.failErr(w, r, rq, err)
				return
			}
			status, p = http.StatusUnprocessableEntity, in
			d.Error = rq.T("prof."+fe.Field) + ": " + fieldMessage(rq, fe)
		} else {
			back(w, r, action+"?flash=card.saved")
			return
		}
	}
	d.Fields = profileFields(p)
	if id == rq.User.ID && action == "/account/profile" {
		if d.Feed, err = u.feedData(r, rq, feedURL); err != nil {
			u.failErr(w, r, rq, err)
			return
		}
	}
	u.render(w, r, rq, status, "profile", rq.T("prof.title")+": "+user.Login, "", d)
}
