package action

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/store"
)

// OnlineWithin is how recent a user's last signed-in request must be for
// user.info to call him online (requests are recorded once a minute).
const OnlineWithin = 15 * time.Minute

type userIn struct {
	// ID is the user's id: a number, "user_5" as Bitrix24 writes one, or
	// a list of them (a multiple "user" field), of which the first.
	ID any `json:"id" auto:"required"`
}

// userInfo is seed 003's "Информация о пользователе": every field it
// lists; those Obmen does not keep are empty.
type userInfo struct {
	ID              int64    `json:"id"`
	Online          bool     `json:"online"`
	LastSeenAt      string   `json:"last_seen_at"`
	Active          bool     `json:"active"`
	Login           string   `json:"login"`
	Email           string   `json:"email"`
	Name            string   `json:"name"`
	LastName        string   `json:"last_name"`
	SecondName      string   `json:"second_name"`
	Gender          string   `json:"gender"`
	Profession      string   `json:"profession"`
	Website         string   `json:"website"`
	Birthday        string   `json:"birthday"`
	PhotoURL        string   `json:"photo_url"`
	ICQ             string   `json:"icq"`
	PersonalPhone   string   `json:"personal_phone"`
	Fax             string   `json:"fax"`
	PersonalMobile  string   `json:"personal_mobile"`
	Pager           string   `json:"pager"`
	Street          string   `json:"street"`
	City            string   `json:"city"`
	Region          string   `json:"region"`
	Zip             string   `json:"zip"`
	Country         string   `json:"country"`
	District        string   `json:"district"`
	Company         string   `json:"company"`
	Position        string   `json:"position"`
	CompanyPhone    string   `json:"company_phone"`
	WorkPhone       string   `json:"work_phone"`
	InternalPhone   string   `json:"internal_phone"`
	DepartmentIDs   []int64  `json:"department_ids"`
	DepartmentNames []string `json:"department_names"`
	Interests       string   `json:"interests"`
	Skills          string   `json:"skills"`
	OtherSites      string   `json:"other_sites"`
	Xing            string   `json:"xing"`
	LinkedIn        string   `json:"linkedin"`
	Facebook        string   `json:"facebook"`
	Twitter         string   `json:"twitter"`
	Skype           string   `json:"skype"`
	Telegram        string   `json:"telegram"`
	WhatsApp        string   `json:"whatsapp"`
	VK              string   `json:"vk"`
	// UserType is employee, extranet or email (the seed's portal,
	// extranet and e-mail users).
	UserType string `json:"user_type" auto:"enum=employee|extranet|email"`
}

// userInfoAction reads a user's profile.
func userInfoAction(d Deps) automation.Action {
	spec := automation.Spec{Name: "user.info", Group: GroupCRM}
	return define[userIn, userInfo](spec, func(ctx context.Context, c *automation.Call, in userIn) (any, error) {
		id, err := recordID("id", firstOf(in.ID))
		if err != nil {
			return nil, err
		}
		u, err := d.Store.GetUser(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, automation.InputErrorf("id", "no user with id %d", id)
		}
		if err != nil {
			return nil, fail(err)
		}
		p, err := d.Store.GetUserProfile(ctx, id)
		if err != nil {
			return nil, fail(err)
		}
		seen, err := d.Store.UserLastSeen(ctx, id)
		if err != nil {
			return nil, fail(err)
		}
		out := userInfo{ID: u.ID, Active: u.Active, Login: u.Login, Email: u.Email, Name: u.FirstName, LastName: u.LastName,
			SecondName: u.MiddleName, Position: u.Position,
			Gender: p.Gender, Profession: p.Profession, Website: p.Website, Birthday: p.Birthday, PhotoURL: p.PhotoURL,
			ICQ: p.ICQ, PersonalPhone: p.PersonalPhone, Fax: p.Fax, PersonalMobile: p.PersonalMobile, Pager: p.Pager,
			Street: p.Street, City: p.City, Region: p.Region, Zip: p.Zip, Country: p.Country, District: p.District,
			Company: p.Company, CompanyPhone: p.CompanyPhone, InternalPhone: p.InternalPhone, Interests: p.Interests,
			Skills: p.Skills, OtherSites: p.OtherSites, Xing: p.Xing, LinkedIn: p.LinkedIn, Facebook: p.Facebook,
			Twitter: p.Twitter, Skype: p.Skype, Telegram: p.Telegram, WhatsApp: p.WhatsApp, VK: p.VK, UserType: p.UserType,
			DepartmentIDs: []int64{}, DepartmentNames: []string{}}
		if len(u.Phones) > 0 {
			out.WorkPhone = u.Phones[0]
		}
		if !seen.IsZero() {
			out.LastSeenAt = seen.UTC().Format(time.RFC3339)
			out.Online = u.Active && nowOf(c, d).Sub(seen) < OnlineWithin
		}
		byUser, err := d.Store.UserDepartments(ctx)
		if err != nil {
			return nil, fail(err)
		}
		if ids := byUser[id]; len(ids) > 0 {
			deps, err := d.Store.ListDepartments(ctx)
			if err != nil {
				return nil, fail(err)
			}
			names := map[int64]string{}
			for _, dep := range deps {
				names[dep.ID] = dep.Name
			}
			for _, did := range ids {
				out.DepartmentIDs = append(out.DepartmentIDs, did)
				out.DepartmentNames = append(out.DepartmentNames, names[did])
			}
		}
		return out, nil
	})
}

// firstOf is the first of a list, or the value itself.
func firstOf(v any) any {
	if l, ok := v.([]any); ok {
		if len(l) == 0 {
			return nil
		}
		return firstOf(l[0])
	}
	if s, ok := v.(string); ok {
		var n int64
		if _, err := fmt.Sscanf(s, "user_%d", &n); err == nil {
			return n
		}
	}
	return v
}
