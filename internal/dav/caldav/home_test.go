package caldav_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dav/davtest"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

const homeProps = `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/">
<d:prop><d:resourcetype/><d:displayname/><cs:getctag/><d:sync-token/><d:current-user-privilege-set/></d:prop></d:propfind>`

// TestHomeSetDepth1: a PROPFIND of Depth 1 on the calendar home set —
// how DAVx⁵ and Thunderbird list calendars — answers every calendar's
// getctag, sync-token and privileges, a colleague's calendar and the
// bookings read only.
func TestHomeSetDepth1(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		alice, bob := davtest.Manager(t, s, admin, "alice"), davtest.Manager(t, s, admin, "bob")
		if err := s.SetGrants(bg, admin, alice.ID, []store.Grant{{OwnerID: bob.ID}}); err != nil {
			t.Fatal(err)
		}
		srv := server(t, s)
		c := call{t: t, base: srv.URL, login: "alice", password: "alice-Secret-1"}
		home := "/dav/principals/alice/calendars/"
		resp, body := c.do("PROPFIND", home, "application/xml", homeProps, "Depth", "1")
		if resp.StatusCode != http.StatusMultiStatus {
			t.Fatalf("PROPFIND: %d %s", resp.StatusCode, body)
		}
		got := map[string]string{}
		for _, r := range strings.Split(body, "<d:response>")[1:] {
			href := r[strings.Index(r, "<d:href>")+len("<d:href>") : strings.Index(r, "</d:href>")]
			got[href] = r
		}
		for cal, writable := range map[string]bool{"activities/": true, "bookings/": false, "user-" + strconv.FormatInt(bob.ID, 10) + "/": false} {
			r, ok := got[home+cal]
			if !ok {
				t.Errorf("%s not listed: %s", cal, body)
				continue
			}
			ok200 := r[:strings.Index(r+"404 Not Found", "404 Not Found")]
			for _, want := range []string{"getctag>", "urn:obmen:sync:", "current-user-privilege-set>", "<d:read/>"} {
				if !strings.Contains(ok200, want) {
					t.Errorf("%s: no %s in %s", cal, want, r)
				}
			}
			if strings.Contains(r, "<d:write/>") != writable {
				t.Errorf("%s: write privilege %t, want %t: %s", cal, !writable, writable, r)
			}
		}
	})
}
