package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
)

// Social is what the cards of leads, accounts and contacts do with the
// client's VK profile (seed 000): load the newest messages not yet
// stored, and fill the record's empty fields from the profile.
type Social struct {
	ImportHistory func(ctx context.Context, a crm.Actor, ownerType string, ownerID int64) (int, error)
	ImportProfile func(ctx context.Context, a crm.Actor, ownerType string, ownerID int64) ([]string, error)
}

// SetSocial adds the cards' "Загрузить историю из VK" and "Заполнить из
// профиля VK".
func (u *UI) SetSocial(s Social) { u.social = &s }

// userText is a connector's refusal the user can act on (its words are
// already in Russian): no VK page, a new record, VK's error.
type userText interface{ UserText() string }

// socialAction runs one of the card's VK actions on a record the user
// may change, then shows the card with what it did.
func (u *UI) socialAction(w http.ResponseWriter, r *http.Request, rq *request, run func(ctx context.Context, ownerType string, id int64) (string, error)) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	if u.social == nil || !slices.Contains(crm.MessageOwnerTypes, e.Name) {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	// The record must be one the user sees (the store's scope says);
	// changing it is the store's check too.
	if _, err := e.get(r.Context(), id); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	flash, err := run(r.Context(), e.Name, id)
	var ut userText
	if errors.As(err, &ut) {
		u.showCard(w, r, rq, e, id, http.StatusUnprocessableEntity, nil, formErrs{"": ut.UserText()})
		return
	}
	if err != nil {
		u.cardRefused(w, r, rq, e, id, err)
		return
	}
	back(w, r, "/e/"+e.Name+"/"+strconv.FormatInt(id, 10)+flash+"#social")
}

// vkHistory is the card's "Загрузить историю из VK".
func (u *UI) vkHistory(w http.ResponseWriter, r *http.Request, rq *request) {
	u.socialAction(w, r, rq, func(ctx context.Context, ownerType string, id int64) (string, error) {
		n, err := u.social.ImportHistory(ctx, rq.Actor(), ownerType, id)
		return "?flash=msg.vk_history_done&n=" + strconv.Itoa(n), err
	})
}

// vkProfile is the card's "Заполнить из профиля VK".
func (u *UI) vkProfile(w http.ResponseWriter, r *http.Request, rq *request) {
	u.socialAction(w, r, rq, func(ctx context.Context, ownerType string, id int64) (string, error) {
		filled, err := u.social.ImportProfile(ctx, rq.Actor(), ownerType, id)
		if len(filled) == 0 {
			return "?flash=msg.vk_profile_nothing", err
		}
		return "?flash=msg.vk_profile_done&n=" + strconv.Itoa(len(filled)), err
	})
}
