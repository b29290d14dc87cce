package webform

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStamp checks the fill-time stamp at given moments: the minimum, the
// lower minimum of Obmen's own pages, expiry, and stamps forged, of
// another form or of another installation.
func TestStamp(t *testing.T) {
	c, other := newCaptcha([]byte("key of this installation"), nil), newCaptcha([]byte("key of another one"), nil)
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	form, page := c.stamp("form1", stampForm, at), c.stamp("form1", stampPage, at)
	for _, tc := range []struct {
		name, form, stamp string
		least, after      time.Duration
		want              error
	}{
		{"after the minimum", "form1", form, 3 * time.Second, 3 * time.Second, nil},
		{"too fast", "form1", form, 3 * time.Second, 2999 * time.Millisecond, errStampTooFast},
		{"sent before it was served", "form1", form, 3 * time.Second, -time.Minute, errStampTooFast},
		{"page: a second is enough", "form1", page, 30 * time.Second, time.Second, nil},
		{"page: faster than a second", "form1", page, 30 * time.Second, 900 * time.Millisecond, errStampTooFast},
		{"page: a form's lower minimum", "form1", page, 0, 0, nil},
		{"a day later", "form1", form, 3 * time.Second, 24 * time.Hour, nil},
		{"expired", "form1", form, 3 * time.Second, 24*time.Hour + time.Second, errStampExpired},
		{"another form", "form2", form, 3 * time.Second, time.Minute, errStampSignature},
		{"another installation", "form1", other.stamp("form1", stampForm, at), 3 * time.Second, time.Minute, errStampSignature},
		{"page stamp claimed a form's", "form1", "t1.f" + page[4:], 3 * time.Second, time.Minute, errStampSignature},
		{"earlier moment, same signature", "form1", "t1.f." + strconv.FormatInt(at.Add(-time.Hour).UnixMilli(), 10) + form[strings.LastIndex(form, "."):], 3 * time.Second, time.Minute, errStampSignature},
		{"missing", "form1", "", 3 * time.Second, time.Minute, errStampMissing},
		{"malformed", "form1", "t1.f.x.y", 3 * time.Second, time.Minute, errStampMalformed},
		{"unknown kind", "form1", "t1.z" + form[4:], 3 * time.Second, time.Minute, errStampMalformed},
		{"too many parts", "form1", form + ".x", 3 * time.Second, time.Minute, errStampMalformed},
	} {
		err := c.checkStamp(tc.form, tc.stamp, tc.least, at.Add(tc.after))
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
