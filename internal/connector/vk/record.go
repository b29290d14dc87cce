package vk

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// client is what a record knows of its client in VK.
type client struct {
	// ID is the VK user id (from external ids), 0 when unknown.
	ID int64
	// Ref is the VK profile field's id or screen name ("" when empty).
	Ref string
	// Assigned is the record's responsible user.
	Assigned int64
}

// clientOf reads a lead's, account's or contact's VK user: its external
// id, else its VK profile field. The store's scope in ctx decides whether
// the caller may see the record.
func (s *Service) clientOf(ctx context.Context, ownerType string, ownerID int64) (client, error) {
	var ext map[string]string
	var webs []crm.Comm
	var assigned int64
	switch ownerType {
	case store.EntityLead:
		l, err := s.d.Store.GetLead(ctx, ownerID)
		if err != nil {
			return client{}, err
		}
		ext, webs, assigned = l.ExternalIDs, l.Webs, l.AssignedByID
	case store.EntityContact:
		c, err := s.d.Store.GetContact(ctx, ownerID)
		if err != nil {
			return client{}, err
		}
		ext, webs, assigned = c.ExternalIDs, c.Webs, c.AssignedByID
	case store.EntityAccount:
		a, err := s.d.Store.GetAccount(ctx, ownerID)
		if err != nil {
			return client{}, err
		}
		ext, webs, assigned = a.ExternalIDs, a.Webs, a.AssignedByID
	default:
		return client{}, crm.Invalid("owner_type", "%q is not one of %s", ownerType, strings.Join(crm.MessageOwnerTypes, ", "))
	}
	c := client{Assigned: assigned}
	if id, err := strconv.ParseInt(ext[System], 10, 64); err == nil && id > 0 {
		c.ID = id
	}
	for _, w := range webs {
		if w.ValueType == "VK" {
			if ref := ProfileRef(w.Value); ref != "" {
				c.Ref = ref
				break
			}
		}
	}
	if c.ID == 0 && strings.HasPrefix(c.Ref, "id") {
		if id, err := strconv.ParseInt(c.Ref[2:], 10, 64); err == nil && id > 0 {
			c.ID = id
		}
	}
	return c, nil
}

// ProfileRef is the id ("id123") or screen name ("durov") of a VK profile
// address: https://vk.com/id123, vk.com/durov, m.vk.ru/durov, @durov or
// the bare name; "" when it is not a VK profile.
func ProfileRef(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if strings.HasPrefix(v, "@") {
		v = v[1:]
	} else if strings.Contains(v, "/") || strings.Contains(v, ".") {
		if !strings.Contains(v, "://") {
			v = "https://" + v
		}
		u, err := url.Parse(v)
		if err != nil {
			return ""
		}
		host := strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(u.Hostname()), "www."), "m.")
		if host != "vk.com" && host != "vk.ru" {
			return ""
		}
		v = strings.Trim(u.Path, "/")
		if u.Path == "/" || u.Path == "" {
			// vk.com/?id=… is not a profile.
			return ""
		}
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return ""
		}
	}
	if len(v) > 100 {
		return ""
	}
	return v
}

// ProfileURL is the VK profile address of a user id.
func ProfileURL(id int64) string { return "https://vk.com/id" + strconv.FormatInt(id, 10) }
