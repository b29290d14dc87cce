package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

var feedURLRe = regexp.MustCompile(`id="ical-url" readonly value="[^"]*(/ical/[0-9a-f]+_[0-9a-f]+\.ics)"`)

// TestICalFeed: a manager gets a feed link on his profile page, shown
// once; the link serves his activities and bookings (not a colleague's),
// a new link retires the old one, and switching off retires it too.
func TestICalFeed(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		st := e.app.Store
		anna, err := st.CreateUser(ctx, e.admin, crm.User{Login: "anna", FirstName: "Анна", Role: crm.RoleManager}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC)
		end := start.Add(time.Hour)
		for _, a := range []crm.Activity{
			{Kind: crm.ActivityMeeting, Subject: "Встреча с Ромашкой", StartAt: &start, EndAt: &end, Meta: crm.Meta{AssignedByID: anna.ID}},
			{Kind: crm.ActivityTask, Subject: "Счёт, срочно", EndAt: &end, Meta: crm.Meta{AssignedByID: anna.ID}},
			{Kind: crm.ActivityMeeting, Subject: "Админская встреча", StartAt: &start, Meta: crm.Meta{AssignedByID: e.admin.UserID}},
		} {
			if _, err := st.CreateActivity(ctx, e.admin, a); err != nil {
				t.Fatal(err)
			}
		}
		b := e.browser()
		if p := b.login(url.Values{"login": {"anna"}, "password": {"anna-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("sign in: %d", p.Status)
		}
		p := b.get("/account/profile")
		if p.Status != 200 || !strings.Contains(p.Body, `id="ical-none"`) || !strings.Contains(p.Body, "/dav/principals/anna/calendars/activities/") {
			t.Fatalf("profile without a link: %d", p.Status)
		}
		p = b.post("/account/ical", url.Values{"do": {"new"}})
		m := feedURLRe.FindStringSubmatch(p.Body)
		if p.Status != 200 || m == nil {
			t.Fatalf("new link: %d %s", p.Status, errorsOf(p.Body))
		}
		first := m[1]
		if p := b.get("/account/profile"); strings.Contains(p.Body, first) || !strings.Contains(p.Body, `id="ical-since"`) {
			t.Errorf("the link is shown again, or its date is not")
		}

		anon := e.browser()
		f := anon.get(first)
		if f.Status != 200 || !strings.HasPrefix(f.Header.Get("Content-Type"), "text/calendar") ||
			!strings.Contains(f.Body, "SUMMARY:Встреча с Ромашкой") || !strings.Contains(f.Body, "SUMMARY:Счёт\\, срочно") ||
			!strings.Contains(f.Body, "BEGIN:VTODO") || strings.Contains(f.Body, "Админская") || !strings.Contains(f.Body, "X-WR-CALNAME:Obmen: Анна") {
			t.Fatalf("feed: %d %s\n%s", f.Status, f.Header.Get("Content-Type"), f.Body)
		}
		req, _ := http.NewRequest("GET", e.srv.URL+first, nil)
		req.Header.Set("If-None-Match", f.Header.Get("ETag"))
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		bad := first[:len(first)-5] + "0.ics"
		if strings.HasSuffix(first, "0.ics") {
			bad = first[:len(first)-5] + "1.ics"
		}
		for _, u := range []string{bad, "/ical/nothing.ics", "/ical/" + strings.TrimPrefix(first, "/ical/")[:10]} {
			if p := anon.get(u); p.Status != http.StatusNotFound {
				t.Errorf("%s: %d", u, p.Status)
			}
		}

		p = b.post("/account/ical", url.Values{"do": {"new"}})
		m = feedURLRe.FindStringSubmatch(p.Body)
		if m == nil || m[1] == first {
			t.Fatalf("renewed link: %d", p.Status)
		}
		if p := anon.get(first); p.Status != http.StatusNotFound {
			t.Errorf("the old link still works: %d", p.Status)
		}
		if p := anon.get(m[1]); p.Status != 200 {
			t.Errorf("the new link: %d", p.Status)
		}
		if p := b.post("/account/ical", url.Values{"do": {"off"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("off: %d", p.Status)
		}
		if p := anon.get(m[1]); p.Status != http.StatusNotFound {
			t.Errorf("a switched-off link: %d", p.Status)
		}
	})
}
