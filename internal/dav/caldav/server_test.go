package caldav_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	gocaldav "github.com/emersion/go-webdav/caldav"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dav"
	"github.com/obmen/obmen/internal/dav/caldav"
	"github.com/obmen/obmen/internal/dav/davtest"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

var msk, _ = time.LoadLocation("Europe/Moscow")

// server is Obmen's /dav/ with the CalDAV service, over loopback.
func server(t testing.TB, s *store.Store) *httptest.Server {
	t.Helper()
	h := dav.New(s, slog.New(slog.DiscardHandler))
	h.Add(caldav.NewService(s, msk, nil))
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type call struct {
	t        testing.TB
	base     string
	login    string
	password string
}

func (c call) do(method, path, ctype, body string, hdr ...string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.SetBasicAuth(c.login, c.password)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

const icsType = "text/calendar; charset=utf-8"

const propPrivileges = `<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:current-user-privilege-set/></d:prop></d:propfind>`

var tokenRE = regexp.MustCompile(`<(?:\w+:)?sync-token[^>]*>([^<]+)<`)

// TestCalDAV drives the server as a client would: discovery, the calendar
// list the access rules give, a weekly meeting written and read back, the
// ETag preconditions, a read-only colleague's calendar, a refused object,
// sync-collection after CRM changes, and delete.
func TestCalDAV(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		mk := func(login, name string) crm.User {
			u, err := s.CreateUser(bg, admin, crm.User{Login: login, FirstName: name, Role: crm.RoleManager}, login+"-Secret-1")
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		alice, bob, carol := mk("alice", "Алиса"), mk("bob", "Борис"), mk("carol", "Карина")
		if err := s.SetGrants(bg, admin, alice.ID, []store.Grant{{OwnerID: bob.ID}}); err != nil {
			t.Fatal(err)
		}
		srv := server(t, s)
		a := call{t, srv.URL, "alice", "alice-Secret-1"}
		home := "/dav/principals/alice/calendars/"
		mine := home + "activities/"

		// Discovery with go-webdav's own client.
		hc := webdav.HTTPClientWithBasicAuth(nil, "alice", "alice-Secret-1")
		cl, err := gocaldav.NewClient(hc, srv.URL+"/dav/")
		if err != nil {
			t.Fatal(err)
		}
		principal, err := cl.FindCurrentUserPrincipal(bg)
		if err != nil || principal != "/dav/principals/alice/" {
			t.Fatalf("principal %q: %v", principal, err)
		}
		hs, err := cl.FindCalendarHomeSet(bg, principal)
		if err != nil || hs != home {
			t.Fatalf("home set %q: %v", hs, err)
		}
		cals, err := cl.FindCalendars(bg, hs)
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, c := range cals {
			paths = append(paths, c.Path)
		}
		bobCal := home + "user-" + strconv.FormatInt(bob.ID, 10) + "/"
		carolCal := home + "user-" + strconv.FormatInt(carol.ID, 10) + "/"
		if strings.Join(paths, " ") != mine+" "+home+"bookings/ "+bobCal {
			t.Fatalf("calendars %v", paths)
		}

		// A Thunderbird weekly meeting: one activity with its rule.
		in, err := os.ReadFile("testdata/thunderbird-weekly.ics")
		if err != nil {
			t.Fatal(err)
		}
		resp, body := a.do("PUT", mine+"tb-1.ics", icsType, string(in), "If-None-Match", "*")
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT: %d %s", resp.StatusCode, body)
		}
		etag := resp.Header.Get("ETag")
		as, xs, err := s.CalendarActivities(bg, alice.ID)
		if err != nil || len(as) != 1 || as[0].Kind != crm.ActivityMeeting || as[0].Subject != "Планёрка отдела продаж" ||
			xs[as[0].ID].RRule != "FREQ=WEEKLY;BYDAY=MO" || as[0].AssignedByID != alice.ID {
			t.Fatalf("stored: %v %+v %+v", err, as, xs)
		}
		id := as[0].ID
		resp, body = a.do("GET", mine+"tb-1.ics", "", "")
		if resp.StatusCode != 200 || !strings.Contains(body, "RRULE:FREQ=WEEKLY;BYDAY=MO") || !strings.Contains(body, "BEGIN:VALARM") ||
			!strings.Contains(body, "DTSTART;TZID=Europe/Moscow:20261207T100000") || resp.Header.Get("ETag") != etag {
			t.Fatalf("GET: %d etag %s (PUT gave %s)\n%s", resp.StatusCode, resp.Header.Get("ETag"), etag, body)
		}

		// Preconditions.
		if resp, _ := a.do("PUT", mine+"tb-1.ics", icsType, string(in), "If-None-Match", "*"); resp.StatusCode != http.StatusPreconditionFailed {
			t.Errorf("If-None-Match * on an existing object: %d", resp.StatusCode)
		}
		if _, err := s.UpdateActivity(bg, admin, id, func(a *crm.Activity) error { a.Subject = "Планёрка (CRM)"; return nil }); err != nil {
			t.Fatal(err)
		}
		if resp, body := a.do("PUT", mine+"tb-1.ics", icsType, string(in), "If-Match", etag); resp.StatusCode != http.StatusPreconditionFailed ||
			!strings.Contains(body, "синхронизируйте") {
			t.Errorf("If-Match of a stale ETag: %d %s", resp.StatusCode, body)
		}
		resp, body = a.do("GET", mine+"tb-1.ics", "", "")
		if !strings.Contains(body, "SUMMARY:Планёрка (CRM)") {
			t.Errorf("the CRM's change is not served:\n%s", body)
		}
		etag = resp.Header.Get("ETag")
		changed := strings.Replace(string(in), "TRIGGER;VALUE=DURATION:-PT15M", "TRIGGER;VALUE=DURATION:-PT30M", 1)
		if resp, body := a.do("PUT", mine+"tb-1.ics", icsType, changed, "If-Match", etag); resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT with the current ETag: %d %s", resp.StatusCode, body)
		}
		if _, body := a.do("GET", mine+"tb-1.ics", "", ""); !strings.Contains(body, "-PT30M") {
			t.Errorf("the changed alarm is not kept:\n%s", body)
		}

		// A colleague's calendar: read, never written; another's unseen.
		bobsTask, err := s.CreateActivity(bg, crm.Actor{UserID: bob.ID}, crm.Activity{Kind: crm.ActivityTask, Subject: "Счёт Ромашке",
			Meta: crm.Meta{AssignedByID: bob.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateActivity(bg, admin, crm.Activity{Kind: crm.ActivityTask, Subject: "Карины", Meta: crm.Meta{AssignedByID: carol.ID}}); err != nil {
			t.Fatal(err)
		}
		objs, err := cl.QueryCalendar(bg, bobCal, &gocaldav.CalendarQuery{CompFilter: gocaldav.CompFilter{Name: "VCALENDAR"}})
		if err != nil || len(objs) != 1 || !strings.HasSuffix(objs[0].Path, "/"+strconv.FormatInt(bobsTask.ID, 10)+".ics") {
			t.Fatalf("bob's calendar: %v %+v", err, objs)
		}
		if resp, body := a.do("PUT", bobCal+"x.ics", icsType, string(in)); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "только для чтения") {
			t.Errorf("PUT to a colleague's calendar: %d %s", resp.StatusCode, body)
		}
		if resp, _ := a.do("DELETE", objs[0].Path, "", ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("DELETE in a colleague's calendar: %d", resp.StatusCode)
		}
		for _, p := range []string{carolCal, carolCal + "1.ics"} {
			if resp, _ := a.do("PROPFIND", p, "application/xml", propPrivileges, "Depth", "0"); resp.StatusCode != http.StatusNotFound {
				t.Errorf("PROPFIND %s of an ungranted colleague: %d", p, resp.StatusCode)
			}
		}
		_, body = a.do("PROPFIND", bobCal, "application/xml", propPrivileges, "Depth", "0")
		if strings.Contains(body, "write") || !strings.Contains(body, "read") {
			t.Errorf("a colleague's calendar is not read-only in its privileges:\n%s", body)
		}

		// A refused object names what is wrong.
		bad := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:no-start\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		if resp, body := a.do("PUT", mine+"bad.ics", icsType, bad); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "DTSTART is missing") {
			t.Errorf("an event without DTSTART: %d %s", resp.StatusCode, body)
		}
		if resp, body := a.do("PUT", mine+"crash.ics", icsType, "0;0=\r\n"); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a line that crashes go-ical: %d %s", resp.StatusCode, body)
		}

		// sync-collection: a first sync, then only what changed.
		_, body = a.do("REPORT", mine, "application/xml", davtest.SyncBody(""), "Depth", "1")
		m := tokenRE.FindStringSubmatch(body)
		if m == nil || !strings.Contains(body, mine+"tb-1.ics") {
			t.Fatalf("first sync:\n%s", body)
		}
		tok := m[1]
		_, body = a.do("REPORT", mine, "application/xml", davtest.SyncBody(tok), "Depth", "1")
		if strings.Contains(body, "tb-1.ics") {
			t.Errorf("nothing changed, yet:\n%s", body)
		}
		crmTask, err := s.CreateActivity(bg, crm.Actor{UserID: alice.ID}, crm.Activity{Kind: crm.ActivityTask, Subject: "Позвонить",
			Meta: crm.Meta{AssignedByID: alice.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(bg, admin, store.EntityActivity, id); err != nil {
			t.Fatal(err)
		}
		_, body = a.do("REPORT", mine, "application/xml", davtest.SyncBody(tok), "Depth", "1")
		taskPath := mine + strconv.FormatInt(crmTask.ID, 10) + ".ics"
		if !strings.Contains(body, taskPath) || !regexp.MustCompile(`tb-1\.ics</[^>]*href>\s*<[^>]*status>HTTP/1.1 404`).MatchString(body) {
			t.Errorf("sync after a CRM create and delete:\n%s", body)
		}

		// The task from the CRM is completed in the client.
		resp, body = a.do("GET", taskPath, "", "")
		if resp.StatusCode != 200 || !strings.Contains(body, "STATUS:NEEDS-ACTION") {
			t.Fatalf("task: %d\n%s", resp.StatusCode, body)
		}
		cal, err := ical.NewDecoder(strings.NewReader(body)).Decode()
		if err != nil {
			t.Fatal(err)
		}
		todo := cal.Children[0]
		todo.Props.SetText(ical.PropStatus, "COMPLETED")
		var buf bytes.Buffer
		if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
			t.Fatal(err)
		}
		if resp, body := a.do("PUT", taskPath, icsType, buf.String(), "If-Match", resp.Header.Get("ETag")); resp.StatusCode != http.StatusCreated {
			t.Fatalf("complete the task: %d %s", resp.StatusCode, body)
		}
		if got, err := s.GetActivity(bg, crmTask.ID); err != nil || !got.Done || got.Subject != "Позвонить" {
			t.Errorf("the task in the CRM: %+v %v", got, err)
		}
		if x, _ := s.ActivityICal(bg, crmTask.ID); x.Href != "" {
			t.Errorf("a CRM task written back keeps its <id>.ics name, got href %q", x.Href)
		}

		// Delete from the client: the recycle bin.
		if resp, body := a.do("DELETE", taskPath, "", "", "If-Match", `"stale"`); resp.StatusCode != http.StatusPreconditionFailed {
			t.Errorf("DELETE with a stale ETag: %d %s", resp.StatusCode, body)
		}
		if resp, body := a.do("DELETE", taskPath, "", ""); resp.StatusCode/100 != 2 {
			t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
		}
		if got, err := s.GetActivity(bg, crmTask.ID); err != nil || got.DeletedAt == nil {
			t.Errorf("deleted task: %+v %v", got, err)
		}
		if resp, _ := a.do("GET", taskPath, "", ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET of a deleted object: %d", resp.StatusCode)
		}
	})
}

// TestBookingsCalendar: the bookings a user takes part in, under his own
// title for them, read-only, and in sync-collection; an activity
// reassigned away from a colleague leaves that colleague's calendar.
func TestBookingsCalendar(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		alice, err := s.CreateUser(bg, admin, crm.User{Login: "alice", Role: crm.RoleManager}, "alice-Secret-1")
		if err != nil {
			t.Fatal(err)
		}
		bob, err := s.CreateUser(bg, admin, crm.User{Login: "bob", Role: crm.RoleManager}, "bob-Secret-1")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetGrants(bg, admin, alice.ID, []store.Grant{{OwnerID: bob.ID}}); err != nil {
			t.Fatal(err)
		}
		room, err := s.CreateResource(bg, admin, crm.Resource{Kind: "room", Name: "Переговорная 1", Active: true})
		if err != nil {
			t.Fatal(err)
		}
		srv := server(t, s)
		a := call{t, srv.URL, "alice", "alice-Secret-1"}
		cal := "/dav/principals/alice/calendars/bookings/"
		_, body := a.do("REPORT", cal, "application/xml", davtest.SyncBody(""), "Depth", "1")
		tok := tokenRE.FindStringSubmatch(body)
		if tok == nil {
			t.Fatalf("first sync:\n%s", body)
		}
		start := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
		bk, err := s.CreateBooking(bg, admin, crm.Booking{ResourceIDs: []int64{room.ID}, StartAt: start, EndAt: start.Add(time.Hour),
			Service: "Консультация", AssignedByID: alice.ID, Users: []crm.BookingUser{{UserID: alice.ID, Title: "Встреча с Ромашкой"}}})
		if err != nil {
			t.Fatal(err)
		}
		path := cal + strconv.FormatInt(bk.ID, 10) + ".ics"
		_, body = a.do("REPORT", cal, "application/xml", davtest.SyncBody(tok[1]), "Depth", "1")
		if !strings.Contains(body, path) {
			t.Errorf("the new booking is not in the sync:\n%s", body)
		}
		resp, body := a.do("GET", path, "", "")
		if resp.StatusCode != 200 || !strings.Contains(body, "SUMMARY:Встреча с Ромашкой") || !strings.Contains(body, "LOCATION:Переговорная 1") {
			t.Errorf("booking: %d\n%s", resp.StatusCode, body)
		}
		if resp, body := a.do("PUT", path, icsType, body); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "только для чтения") {
			t.Errorf("PUT to the bookings calendar: %d %s", resp.StatusCode, body)
		}

		// bob's meeting given to the admin leaves alice's view of bob.
		at := start.Add(2 * time.Hour)
		m, err := s.CreateActivity(bg, admin, crm.Activity{Kind: crm.ActivityMeeting, Subject: "Бобина", StartAt: &at, Meta: crm.Meta{AssignedByID: bob.ID}})
		if err != nil {
			t.Fatal(err)
		}
		bobCal := "/dav/principals/alice/calendars/user-" + strconv.FormatInt(bob.ID, 10) + "/"
		_, body = a.do("REPORT", bobCal, "application/xml", davtest.SyncBody(""), "Depth", "1")
		tok = tokenRE.FindStringSubmatch(body)
		mPath := bobCal + strconv.FormatInt(m.ID, 10) + ".ics"
		if tok == nil || !strings.Contains(body, mPath) {
			t.Fatalf("bob's calendar:\n%s", body)
		}
		if _, err := s.UpdateActivity(bg, admin, m.ID, func(a *crm.Activity) error { a.AssignedByID = admin.UserID; return nil }); err != nil {
			t.Fatal(err)
		}
		_, body = a.do("REPORT", bobCal, "application/xml", davtest.SyncBody(tok[1]), "Depth", "1")
		if !regexp.MustCompile(regexp.QuoteMeta(mPath) + `</[^>]*href>\s*<[^>]*status>HTTP/1.1 404`).MatchString(body) {
			t.Errorf("a reassigned meeting is not gone from bob's calendar:\n%s", body)
		}
	})
}
