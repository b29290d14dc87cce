package webform

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The minimum fill time: a form served by Obmen carries a stamp — the
// moment it was served, signed with the installation's key (the captcha's)
// for that form — and a submit sent sooner than the form's minimum after
// it, or with a stamp that is forged, of another form or expired, is
// spam: journaled as skipped and thanked, like the honeypot. Nothing is
// stored per stamp; a stamp stays good for stampTTL (a tab left open).
//
// Where stamps come from: the paste-in code's script fetches one with
// the captcha challenge (GET /f/{id}/captcha, "stamp") when the page
// loads and after each successful submit; Obmen's own pages (a plain
// form's confirmation, the captcha question, the form again after a
// mistake) carry one in a hidden field. A plain HTML submit without a
// stamp (no script ran) is not refused: Obmen shows its own page with the
// values kept and a stamp, and the visitor sends again. A script's (JSON)
// submit without a stamp is spam. The HTTP intake API (/api/v1/intake/…)
// has no forms and no stamps.

// fieldStamp is the hidden field that carries the stamp.
const fieldStamp = "obmen_ts"

// DefaultMinFillSeconds is a new form's minimum fill time; MaxMinFillSeconds
// bounds the setting.
const (
	DefaultMinFillSeconds = 3
	MaxMinFillSeconds     = 600
)

// stampTTL is how long a served form may be sent.
const stampTTL = 24 * time.Hour

// pageMinFill is the minimum after one of Obmen's own pages: the visitor
// has already filled the form and only confirms, answers the question or
// corrects a field.
const pageMinFill = time.Second

// Stamp kinds: served with the paste-in form (the form's minimum applies)
// or with one of Obmen's own pages (pageMinFill, at most the form's).
const (
	stampForm = "f"
	stampPage = "p"
)

// Why a stamp is refused (the journal says which).
var (
	errStampMissing   = errors.New("fill-time stamp missing")
	errStampMalformed = errors.New("fill-time stamp malformed")
	errStampSignature = errors.New("fill-time stamp not signed by this installation for this form")
	errStampExpired   = errors.New("fill-time stamp expired")
	errStampTooFast   = errors.New("sent faster than the form's minimum fill time")
)

func (c *captcha) stampMAC(form, kind string, issued int64) string {
	h := hmac.New(sha256.New, c.key)
	fmt.Fprintf(h, "ts|%s|%s|%d", form, kind, issued)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}

// stamp signs the moment form was served (kind: stampForm or stampPage).
func (c *captcha) stamp(form, kind string, now time.Time) string {
	ms := now.UnixMilli()
	return "t1." + kind + "." + strconv.FormatInt(ms, 10) + "." + c.stampMAC(form, kind, ms)
}

// checkStamp verifies a stamp of form against the minimum fill time least;
// the error says precisely why a submit is spam.
func (c *captcha) checkStamp(form, st string, least time.Duration, now time.Time) error {
	if st == "" {
		return errStampMissing
	}
	parts := strings.Split(st, ".")
	if len(parts) != 4 || parts[0] != "t1" || (parts[1] != stampForm && parts[1] != stampPage) {
		return errStampMalformed
	}
	ms, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return errStampMalformed
	}
	if !hmac.Equal([]byte(c.stampMAC(form, parts[1], ms)), []byte(parts[3])) {
		return errStampSignature
	}
	issued := time.UnixMilli(ms)
	if now.Sub(issued) > stampTTL {
		return fmt.Errorf("%w: served %s, good for %s", errStampExpired, issued.UTC().Format(time.RFC3339), stampTTL)
	}
	if parts[1] == stampPage {
		least = min(least, pageMinFill)
	}
	if took := now.Sub(issued); took < least {
		return fmt.Errorf("%w: sent %.1f s after the form was served, minimum %.0f s", errStampTooFast, max(took, 0).Seconds(), least.Seconds())
	}
	return nil
}

// minFill is a form's minimum fill time; 0: not checked.
func (f Form) minFill() time.Duration { return time.Duration(f.MinFillSeconds) * time.Second }
