package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/obmen/obmen/internal/dav/caldav"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// The read-only iCalendar feed (issue 22) for calendar apps that only
// subscribe: GET /ical/<token>.ics, public, the token its credential. A
// user makes, renews or switches off his link on his profile page; the
// link is shown once (only its hash is kept).

// SetICalFeedLimit makes the feed count requests against perIP (the
// shared buckets of the public endpoints).
func (u *UI) SetICalFeedLimit(perIP *httpx.Limiter) { u.feedPerIP = perIP }

type feedData struct {
	URL   string // a link just made, shown once
	Since string // when the current link was made; "" none
}

func (u *UI) feedData(r *http.Request, rq *request, url string) (*feedData, error) {
	since, err := u.store.ICalFeedSince(r.Context(), rq.User.ID)
	if err != nil {
		return nil, err
	}
	d := &feedData{URL: url}
	if !since.IsZero() {
		d.Since = formatTime(since, rq.Loc)
	}
	return d, nil
}

// icalToken makes a new feed link (do=new, the old one stops working) or
// switches the feed off (do=off).
func (u *UI) icalToken(w http.ResponseWriter, r *http.Request, rq *request) {
	switch r.PostFormValue("do") {
	case "off":
		if err := u.store.DropICalFeed(r.Context(), rq.Actor(), rq.User.ID); err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		back(w, r, "/account/profile?flash=ical.dropped")
	default:
		tok, err := u.store.NewICalFeed(r.Context(), rq.Actor(), rq.User.ID)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		u.profileView(w, r, rq, rq.User.ID, "/account/profile", false, u.davBase(r)+"/ical/"+tok+".ics")
	}
}

// icalFeed serves a user's feed. A wrong or revoked token is a plain 404,
// the same as a missing page.
func (u *UI) icalFeed(w http.ResponseWriter, r *http.Request) {
	if ok, wait := u.feedPerIP.Allow(r.Context(), "ip:"+httpx.ClientIP(r)); !ok {
		httpx.TooManyRequests(w, wait)
		return
	}
	tok, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
	if !ok {
		http.NotFound(w, r)
		return
	}
	user, err := u.store.ICalFeedUser(r.Context(), tok)
	if errors.Is(err, store.ErrBadCredentials) || errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		u.log.Error("web: iCalendar feed", "err", err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	ctx, err := u.store.ScopeFor(r.Context(), user)
	if err != nil {
		u.log.Error("web: iCalendar feed scope", "user", user.ID, "err", err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	body, err := caldav.Feed(ctx, u.store, u.zone(ctx), user)
	if err != nil {
		u.log.Error("web: iCalendar feed", "user", user.ID, "err", err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	h := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(h[:12]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="obmen.ics"`)
	_, _ = w.Write(body)
}
