package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/authz"
)

// dadataMessage is a DaData failure in the user's words.
func dadataMessage(t func(string) string, err error) string {
	var de *address.DaDataError
	if errors.As(err, &de) {
		switch de.Status {
		case http.StatusUnauthorized:
			return t("addr.dadata_401")
		case http.StatusForbidden:
			return t("addr.dadata_403")
		case http.StatusTooManyRequests:
			return t("addr.dadata_429")
		}
		return t("addr.dadata_other")
	}
	return t("addr.dadata_net")
}

// dadataView is the settings page's DaData part.
type dadataView struct {
	On       bool   // the page offers it
	KeySet   bool   // a key is saved
	Failure  string // the last failure, in the user's words
	FailedAt time.Time
}

func (u *UI) dadataView(ctx context.Context, rq *request) dadataView {
	src := u.addr
	if src == nil || src.Box == nil || !rq.IsAdmin() {
		return dadataView{}
	}
	v := dadataView{On: true, KeySet: src.KeySet(ctx)}
	if at, err := src.LastFailure(); err != nil && v.KeySet {
		v.Failure, v.FailedAt = dadataMessage(rq.T, err), at
	}
	return v
}

// dadataSave stores (sealed) or removes the DaData key. The key is never
// shown again: the page only says whether one is saved.
func (u *UI) dadataSave(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Settings) {
		return
	}
	src := u.addr
	if src == nil || src.Box == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	ctx := r.Context()
	value := ""
	if r.PostFormValue("remove") == "" {
		key := strings.TrimSpace(r.PostFormValue("dadata_key"))
		if key == "" || len(key) > 200 || strings.ContainsAny(key, " \t\r\n") {
			u.fail(w, r, rq, http.StatusUnprocessableEntity, rq.T("addr.dadata_key")+": "+rq.T("addr.dadata_bad_key"))
			return
		}
		sealed, err := src.Box.Seal(key)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		value = sealed
	}
	if err := u.store.SetSetting(ctx, rq.Actor(), address.DaDataKeySetting, value); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	src.KeyChanged()
	back(w, r, "/settings?flash=settings.saved")
}
