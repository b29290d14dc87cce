package vk

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// Profile fields the import may fill (their names on the card).
const (
	FieldName      = "name"
	FieldLastName  = "last_name"
	FieldBirthdate = "birthdate"
	FieldCity      = "city"
	FieldSite      = "site"
	FieldVK        = "vk_url"
)

// ImportProfile fills the record's EMPTY fields from its client's VK
// profile (users.get): first and last name, birthday (when VK shows the
// year), city, site and the VK page's address; a field with a value is
// never overwritten (seed 000). Only a saved record: on a new one it is
// refused. It returns the fields it filled. Access is the caller's: the
// store's scope in ctx decides whether it may change the record.
func (s *Service) ImportProfile(ctx context.Context, actor crm.Actor, ownerType string, ownerID int64) ([]string, error) {
	if ownerID == 0 {
		return nil, s.refuse("vk.error.new_record")
	}
	c, err := s.clientOf(ctx, ownerType, ownerID)
	if err != nil {
		return nil, err
	}
	ref := c.Ref
	if c.ID != 0 {
		ref = strconv.FormatInt(c.ID, 10)
	}
	if ref == "" {
		return nil, s.refuse("vk.error.no_client")
	}
	cm, err := s.firstCommunity(ctx)
	if errors.Is(err, ErrNoChat) {
		return nil, s.refuse("vk.error.no_community")
	}
	if err != nil {
		return nil, err
	}
	us, err := s.reader(cm.set).UsersGet(ctx, []string{ref}, ProfileFields)
	var ae *APIError
	if errors.As(err, &ae) && (ae.Code == ErrParam || ae.Code == ErrUserID) {
		return nil, s.refuse("vk.error.no_profile", ref)
	}
	if err != nil {
		text, _ := s.Explain(err)
		return nil, &UserError{Key: "vk.error", Text: text}
	}
	if len(us) == 0 || us[0].ID <= 0 || us[0].Deactivated != "" {
		return nil, s.refuse("vk.error.no_profile", ref)
	}
	u := us[0]
	var filled []string
	fill := func(field string, dst *string, v string) {
		if strings.TrimSpace(*dst) == "" && v != "" {
			*dst, filled = v, append(filled, field)
		}
	}
	webs := func(ws *[]crm.Comm) {
		if !hasVK(*ws) {
			page := ProfileURL(u.ID)
			if u.ScreenName != "" {
				page = "https://vk.com/" + u.ScreenName
			}
			*ws = append(*ws, crm.Comm{Value: page, ValueType: "VK"})
			filled = append(filled, FieldVK)
		}
		site := siteOf(u.Site)
		if site == "" {
			return
		}
		for _, w := range *ws {
			if w.ValueType != "VK" {
				return // a site of the client's is there already
			}
		}
		*ws = append(*ws, crm.Comm{Value: site, ValueType: "WORK"})
		filled = append(filled, FieldSite)
	}
	ext := func(m *map[string]string) {
		if *m == nil {
			*m = map[string]string{}
		}
		if (*m)[System] == "" {
			(*m)[System] = strconv.FormatInt(u.ID, 10)
		}
	}
	city := ""
	if u.City != nil {
		city = u.City.Title
	}
	bdate := birthdate(u.BDate)
	switch ownerType {
	case store.EntityLead:
		_, err = s.d.Store.UpdateLead(ctx, actor, ownerID, func(l *crm.Lead) error {
			filled = nil
			fill(FieldName, &l.Name, u.FirstName)
			fill(FieldLastName, &l.LastName, u.LastName)
			fill(FieldBirthdate, &l.Birthdate, bdate)
			fill(FieldCity, &l.Address.City, city)
			webs(&l.Webs)
			ext(&l.ExternalIDs)
			return nil
		})
	case store.EntityContact:
		_, err = s.d.Store.UpdateContact(ctx, actor, ownerID, func(c *crm.Contact) error {
			filled = nil
			fill(FieldName, &c.Name, u.FirstName)
			fill(FieldLastName, &c.LastName, u.LastName)
			fill(FieldBirthdate, &c.Birthdate, bdate)
			fill(FieldCity, &c.Address.City, city)
			webs(&c.Webs)
			ext(&c.ExternalIDs)
			return nil
		})
	case store.EntityAccount:
		// A company has no person's name or birthday: its page and site.
		_, err = s.d.Store.UpdateAccount(ctx, actor, ownerID, func(a *crm.Account) error {
			filled = nil
			webs(&a.Webs)
			return nil
		})
	default:
		return nil, crm.Invalid("owner_type", "%q is not one of %s", ownerType, strings.Join(crm.MessageOwnerTypes, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("vk: profile %s into %s %d: %w", ref, ownerType, ownerID, err)
	}
	return filled, nil
}

// birthdate is VK's bdate "D.M.YYYY" as YYYY-MM-DD; "" when VK hides the
// year ("D.M") or the date does not read.
func birthdate(v string) string {
	t, err := time.Parse("2.1.2006", strings.TrimSpace(v))
	if err != nil {
		return ""
	}
	return t.Format(time.DateOnly)
}

// siteOf is a profile's site as an http(s) address ("" when it is not
// one): VK keeps what the person typed, often without the scheme, and
// sometimes several separated by spaces.
func siteOf(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, " ,;\n"); i >= 0 {
		v = v[:i]
	}
	if v == "" || len(v) > 500 {
		return ""
	}
	if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
		v = "https://" + v
	}
	if !strings.Contains(v[strings.Index(v, "://")+3:], ".") {
		return ""
	}
	return v
}
