package caldav_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dav/davtest"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// BenchmarkCalDAVSync reports, for a calendar of 2,000 activities on
// SQLite over loopback: a first sync-collection (every object's ETag), a
// sync-collection with nothing changed (the round trip a client makes
// every few minutes), and getctag.
func BenchmarkCalDAVSync(b *testing.B) {
	s := store.New(storetest.OpenSQLite(b))
	admin := storetest.Admin(b, s)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, admin, crm.User{Login: "alice", Role: crm.RoleManager}, "alice-Secret-1")
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)
	for i := range 2000 {
		at := start.Add(time.Duration(i) * time.Hour)
		end := at.Add(30 * time.Minute)
		kind := crm.ActivityMeeting
		if i%3 == 0 {
			kind = crm.ActivityTask
		}
		if _, err := s.CreateActivity(ctx, admin, crm.Activity{Kind: kind, Subject: "Дело " + strconv.Itoa(i), StartAt: &at, EndAt: &end,
			Meta: crm.Meta{AssignedByID: u.ID}}); err != nil {
			b.Fatal(err)
		}
	}
	srv := server(b, s)
	c := call{b, srv.URL, "alice", "alice-Secret-1"}
	mine := "/dav/principals/alice/calendars/activities/"
	_, body := c.do("REPORT", mine, "application/xml", davtest.SyncBody(""), "Depth", "1")
	tok := tokenRE.FindStringSubmatch(body)[1]
	if n := strings.Count(body, "<getetag") + strings.Count(body, ":getetag>"); n == 0 {
		b.Fatalf("first sync has no ETags:\n%.500s", body)
	}
	b.Run("first", func(b *testing.B) {
		for range b.N {
			if resp, _ := c.do("REPORT", mine, "application/xml", davtest.SyncBody(""), "Depth", "1"); resp.StatusCode != http.StatusMultiStatus {
				b.Fatal(resp.Status)
			}
		}
	})
	b.Run("nochange", func(b *testing.B) {
		for range b.N {
			if resp, body := c.do("REPORT", mine, "application/xml", davtest.SyncBody(tok), "Depth", "1"); resp.StatusCode != http.StatusMultiStatus ||
				strings.Contains(body, ".ics") {
				b.Fatal(resp.Status, body)
			}
		}
	})
	b.Run("getctag", func(b *testing.B) {
		q := `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><cs:getctag/></d:prop></d:propfind>`
		for range b.N {
			if resp, _ := c.do("PROPFIND", mine, "application/xml", q, "Depth", "0"); resp.StatusCode != http.StatusMultiStatus {
				b.Fatal(resp.Status)
			}
		}
	})
}
