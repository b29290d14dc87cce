package site

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// owner is the <Владелец> of the classifier, the catalog and the offers
// written to the site: the company of the setting owner_account_id, else
// "our company" of the invoices (invoice.seller_account_id) — its first
// requisite by id, as an invoice takes the seller's, with the company's
// own card filling what the requisite leaves out. With no company (or a
// deleted one) the site's name stands in, so that the documents stay
// valid against 1C's schema; a warning then says how to set it.
func (s *Service) owner(ctx context.Context, set Settings) (commerceml.Owner, string, error) {
	id := set.OwnerAccountID
	if id == 0 {
		v, err := s.st.GetSetting(ctx, store.SellerSetting)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return commerceml.Owner{}, "", fmt.Errorf("site exchange: setting %s: %w", store.SellerSetting, err)
		}
		id, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	}
	stand := commerceml.Owner{ID: "obmen-owner", Name: clipName(set.Name), OfficialName: clipName(set.Name)}
	if id <= 0 {
		return stand, "no company is set as the catalog's owner (the site's owner_account_id, or our company of the invoices): the site's name is written as <Владелец>", nil
	}
	a, err := s.st.GetAccount(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && a.DeletedAt != nil) {
		return stand, fmt.Sprintf("the owner company %d is not found: the site's name is written as <Владелец>", id), nil
	}
	if err != nil {
		return commerceml.Owner{}, "", fmt.Errorf("site exchange: owner company %d: %w", id, err)
	}
	var rq *crm.Requisite
	for i := range a.Requisites {
		if rq == nil || a.Requisites[i].ID < rq.ID {
			rq = &a.Requisites[i]
		}
	}
	ext := a.ExternalIDs[crm.IntegrationOneC]
	if ext == "" || len(ext) > 40 { // ИдентификаторГлобальныйТип
		ext = ownID("account", id)
	}
	return ownerOf(ext, &a, rq), "", nil
}

// ownerOf builds the owner from a company and its requisite (nil: none):
// names within the schema's 255 characters, an ИНН of 10 or 12 digits and
// a КПП of 9 only (the schema's lengths; another value is left out rather
// than make the document invalid).
func ownerOf(id string, a *crm.Account, rq *crm.Requisite) commerceml.Owner {
	o := commerceml.Owner{ID: id, Name: a.Title, OfficialName: a.FullName, INN: a.INN, KPP: a.KPP, Address: a.LegalAddress.String()}
	if rq != nil {
		o.Name = crm.FirstText(rq.ShortName, o.Name, rq.FullName)
		o.OfficialName = crm.FirstText(rq.FullName, rq.ShortName, o.OfficialName)
		o.INN, o.KPP, o.OKPO = crm.FirstText(rq.INN, o.INN), crm.FirstText(rq.KPP, o.KPP), rq.OKPO
		o.Address = crm.FirstText(rq.Address.String(), o.Address)
		if rq.PresetID == crm.PresetIP || (rq.FullName == "" && rq.ShortName == "" && rq.LastName != "") {
			o.Person, o.KPP = true, ""
			o.LastName, o.FirstName, o.MiddleName = rq.LastName, rq.FirstName, rq.SecondName
			person := strings.Join(strings.Fields(rq.LastName+" "+rq.FirstName+" "+rq.SecondName), " ")
			if rq.FullName == "" && person != "" {
				o.OfficialName = "ИП " + person
			}
		}
	}
	o.Name = clipName(crm.FirstText(o.Name, o.OfficialName))
	o.OfficialName = clipName(crm.FirstText(o.OfficialName, o.Name))
	o.Address = clipName(o.Address)
	// The schema's lengths (cards stored before the checks existed may
	// hold other values).
	if n := len(o.INN); (n != 10 && n != 12) || strings.Trim(o.INN, "0123456789") != "" {
		o.INN = ""
	}
	if len(o.KPP) != 9 || strings.Trim(o.KPP, "0123456789") != "" {
		o.KPP = ""
	}
	return o
}

// clipName keeps a name within НаименованиеТип's 255 characters.
func clipName(s string) string { return crm.ClipRunes(strings.TrimSpace(s), 255) }
