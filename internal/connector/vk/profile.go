package vk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
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
	FieldPhoto     = "photo"
)

// ImportProfile fills the record's EMPTY fields from its client's VK
// profile (users.get): first and last name, birthday (when VK shows the
// year), city, site, the VK page's address and the photo (the picture
// itself); a field with a value is
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
	ext := func(m *map[string]string) { keepVKID(m, strconv.FormatInt(u.ID, 10)) }
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
	if s.importPhoto(ctx, actor, ownerType, ownerID, u) {
		filled = append(filled, FieldPhoto)
	}
	return filled, nil
}

// importPhoto keeps the profile's photo (photo_max_orig) as the record's
// when it has none: the picture itself, as VK's addresses expire. VK's
// drawing of a camera (no photo) or of a deleted page is not a photo. A
// photo that does not download or is not a picture leaves the record as
// it was: the fields are imported already, so it is logged, not failed.
func (s *Service) importPhoto(ctx context.Context, actor crm.Actor, ownerType string, ownerID int64, u User) bool {
	src := strings.TrimSpace(u.PhotoMaxOrig)
	if src == "" || placeholderPhoto(src) {
		return false
	}
	if _, _, err := s.d.Store.RecordPhoto(ctx, ownerType, ownerID, false); !errors.Is(err, store.ErrNotFound) {
		return false // it has one (or it cannot be read: nothing to do)
	}
	data, err := s.download(ctx, src, crm.MaxImageBytes)
	if err == nil {
		var ok bool
		_, ok, err = s.d.Store.SetRecordPhoto(ctx, actor, ownerType, ownerID, "vk"+strconv.FormatInt(u.ID, 10), data, store.PhotoVK, true)
		if err == nil {
			return ok
		}
	}
	s.d.Log.Warn("vk: profile photo not kept", "owner_type", ownerType, "owner_id", ownerID, "user", u.ID, "err", err)
	return false
}

// placeholderPhoto is VK's drawing shown for a profile without a photo
// (…/images/camera_400.png) or a deleted or banned one.
func placeholderPhoto(src string) bool {
	u, err := url.Parse(src)
	if err != nil {
		return true
	}
	for _, p := range []string{"/images/camera_", "/images/deactivated_", "/images/community_"} {
		if strings.Contains(u.Path, p) {
			return true
		}
	}
	return false
}

// download reads a file by its address (a profile photo VK serves, a
// reply's file to send as a VK document) through the SSRF-guarded client,
// refusing one over limit bytes; errors name the host only (a file's
// address may be signed).
func (s *Service) download(ctx context.Context, src string, limit int64) ([]byte, error) {
	u, err := url.Parse(src)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("vk: %q is not a file's address", crm.ClipText(src, 200))
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("vk: download %s: %w", u.Host, err)
	}
	res, err := s.d.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("vk: download from %s: %w", u.Host, err)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, fmt.Errorf("vk: download from %s: HTTP %d", u.Host, res.StatusCode)
	}
	if res.ContentLength > limit {
		res.Body.Close()
		return nil, fmt.Errorf("vk: download from %s: %d bytes, more than %d", u.Host, res.ContentLength, limit)
	}
	b, err := httpx.ReadLimited(res, limit)
	if err != nil {
		return nil, fmt.Errorf("vk: download from %s: %w", u.Host, err)
	}
	return b, nil
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

// keepVKID notes the client's VK user id among a record's external ids,
// unless it has one already.
func keepVKID(ext *map[string]string, id string) {
	if *ext == nil {
		*ext = map[string]string{}
	}
	if (*ext)[System] == "" {
		(*ext)[System] = id
	}
}
