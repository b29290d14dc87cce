package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/secret"
)

// dadataKeySetting holds the DaData API key an admin entered, sealed by
// the secrets box; "" or unset: suggestions from the imported base only.
const dadataKeySetting = "address.dadata_key"

// addrDaData is what the address blocks need of DaData (SetAddressDaData).
type addrDaData struct {
	box  *secret.Box
	http *http.Client
	url  string // address.DaDataURL unless a test's fake

	mu       sync.Mutex
	failedAt time.Time
	failure  error
}

// SetAddressDaData lets an admin set a DaData API key on the settings
// page; the key is sealed with box and DaData is asked through client
// (the SSRF-guarded outbound one) at url ("" for DaData's own).
func (u *UI) SetAddressDaData(box *secret.Box, client *http.Client, url string) {
	u.dadata = &addrDaData{box: box, http: client, url: url}
}

// addrSuggester is the suggest source of a request: DaData when an admin
// set a key (falling back to the imported base when it fails), else the
// imported base.
func (u *UI) addrSuggester(ctx context.Context) address.Suggester {
	local := u.suggester()
	dd := u.dadata
	if dd == nil {
		return local
	}
	sealed, err := u.store.GetSetting(ctx, dadataKeySetting)
	if err != nil || sealed == "" {
		return local
	}
	key, err := dd.box.Open(sealed)
	if err != nil {
		u.log.Warn("web: the DaData key cannot be opened (secret key changed?)", "err", err)
		return local
	}
	return address.Fallback{Primary: address.DaData{Key: key, URL: dd.url, HTTP: dd.http}, Secondary: local,
		Failed: func(err error) {
			u.log.Warn("web: DaData refused suggestions, the imported base answers", "err", err)
			dd.mu.Lock()
			dd.failedAt, dd.failure = time.Now(), err
			dd.mu.Unlock()
		}}
}

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
	dd := u.dadata
	if dd == nil || !rq.IsAdmin() {
		return dadataView{}
	}
	v := dadataView{On: true}
	if s, err := u.store.GetSetting(ctx, dadataKeySetting); err == nil && s != "" {
		v.KeySet = true
	}
	dd.mu.Lock()
	if dd.failure != nil && v.KeySet {
		v.Failure, v.FailedAt = dadataMessage(rq.T, dd.failure), dd.failedAt
	}
	dd.mu.Unlock()
	return v
}

// dadataSave stores (sealed) or removes the DaData key. The key is never
// shown again: the page only says whether one is saved.
func (u *UI) dadataSave(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Settings) {
		return
	}
	dd := u.dadata
	if dd == nil {
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
		sealed, err := dd.box.Seal(key)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		value = sealed
	}
	if err := u.store.SetSetting(ctx, rq.Actor(), dadataKeySetting, value); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	dd.mu.Lock()
	dd.failure = nil
	dd.mu.Unlock()
	back(w, r, "/settings?flash=settings.saved")
}
