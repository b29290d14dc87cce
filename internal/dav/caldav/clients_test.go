package caldav_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dav/davtest"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestPythonCalDAV: python3-caldav discovers the server from
// /.well-known, lists the calendars, syncs by token, and creates and
// completes a task that lands in the CRM.
func TestPythonCalDAV(t *testing.T) {
	py := davtest.Tool(t, "/usr/bin/python3", "-c", "import caldav")
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		alice, bob := davtest.Manager(t, s, admin, "alice"), davtest.Manager(t, s, admin, "bob")
		if err := s.SetGrants(bg, admin, alice.ID, []store.Grant{{OwnerID: bob.ID}}); err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 12, 8, 7, 0, 0, 0, time.UTC)
		if _, err := s.CreateActivity(bg, admin, crm.Activity{Kind: crm.ActivityMeeting, Subject: "Из CRM", StartAt: &start,
			Meta: crm.Meta{AssignedByID: alice.ID}}); err != nil {
			t.Fatal(err)
		}
		srv := server(t, s)
		script, err := filepath.Abs("testdata/clients/pycaldav.py")
		if err != nil {
			t.Fatal(err)
		}
		out := davtest.Run(t, t.TempDir(), "", py, script, srv.URL, "alice", "alice-Secret-1")
		got := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			k, v, _ := strings.Cut(line, " ")
			got[k] = v
		}
		home := "/dav/principals/alice/calendars/"
		want := map[string]string{
			"PRINCIPAL": "/dav/principals/alice/",
			"CALENDARS": home + "activities/|" + home + "bookings/|" + home + "user-" + strconv.FormatInt(bob.ID, 10) + "/",
			"NAME":      "Мои дела",
			"FIRST":     "1",
			"CHANGED":   got["TODO"],
			"COMPLETED": "yes",
			"STATUS":    "COMPLETED",
			"NOTHING":   "0",
			"TODOS":     "1",
		}
		if !strings.HasPrefix(got["TODO"], home+"activities/") || !strings.HasSuffix(got["TODO"], ".ics") {
			t.Errorf("the task's path %q\n%s", got["TODO"], out)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: got %q, want %q\n%s", k, got[k], v, out)
			}
		}
		as, _, err := s.CalendarActivities(bg, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		var task *crm.Activity
		for i := range as {
			if as[i].Kind == crm.ActivityTask {
				task = &as[i]
			}
		}
		if task == nil || task.Subject != "Задача из python-caldav" || !task.Done || task.EndAt == nil ||
			!task.EndAt.Equal(time.Date(2026, 12, 11, 15, 0, 0, 0, time.UTC)) || task.AssignedByID != alice.ID {
			t.Errorf("the task in the CRM: %+v", task)
		}
	})
}

// TestVdirsyncerKhal: khal and vdirsyncer two ways — an event made in
// khal reaches the CRM, a CRM change and a CRM event reach khal, a CRM
// delete removes it there, and a last sync has nothing left to do.
func TestVdirsyncerKhal(t *testing.T) {
	vds := davtest.Tool(t, "vdirsyncer", "--version")
	khal := davtest.Tool(t, "khal", "--version")
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		alice := davtest.Manager(t, s, admin, "alice")
		srv := server(t, s)
		home := t.TempDir()
		local := filepath.Join(home, "cal")
		if err := os.MkdirAll(local, 0o755); err != nil {
			t.Fatal(err)
		}
		vcfg := filepath.Join(home, "vdirsyncer.conf")
		write(t, vcfg, `[general]
status_path = "`+filepath.Join(home, "status")+`/"

[pair crm]
a = "crm_local"
b = "crm_remote"
collections = null
conflict_resolution = "b wins"

[storage crm_local]
type = "filesystem"
path = "`+local+`/"
fileext = ".ics"

[storage crm_remote]
type = "caldav"
url = "`+srv.URL+`/dav/principals/alice/calendars/activities/"
username = "alice"
password = "alice-Secret-1"
`)
		kcfg := filepath.Join(home, "khal.conf")
		write(t, kcfg, `[calendars]
[[crm]]
path = `+local+`/
type = calendar

[locale]
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M
local_timezone = Europe/Moscow
default_timezone = Europe/Moscow

[default]
default_calendar = crm
`)
		sync := func() string {
			t.Helper()
			return davtest.Run(t, home, "", vds, "-c", vcfg, "sync")
		}
		list := func() string {
			t.Helper()
			return davtest.Run(t, home, "", khal, "-c", kcfg, "list", "--format", "{start-time} {title}", "2026-12-08", "3d")
		}
		davtest.Run(t, home, "", vds, "-c", vcfg, "discover")
		sync()

		// khal → CRM.
		davtest.Run(t, home, "", khal, "-c", kcfg, "new", "2026-12-08", "10:00", "11:00", "Встреча из khal")
		sync()
		as, xs, err := s.CalendarActivities(bg, alice.ID)
		if err != nil || len(as) != 1 || as[0].Subject != "Встреча из khal" || as[0].Kind != crm.ActivityMeeting ||
			!as[0].StartAt.Equal(time.Date(2026, 12, 8, 7, 0, 0, 0, time.UTC)) || xs[as[0].ID].TZID != "Europe/Moscow" {
			t.Fatalf("khal's event in the CRM: %v %+v %+v", err, as, xs)
		}
		id := as[0].ID

		// CRM → khal: a change and a new event.
		if _, err := s.UpdateActivity(bg, admin, id, func(a *crm.Activity) error { a.Subject = "Встреча из khal (перенесена)"; return nil }); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 12, 9, 9, 30, 0, 0, time.UTC)
		crmCall, err := s.CreateActivity(bg, admin, crm.Activity{Kind: crm.ActivityCall, Subject: "Звонок из CRM", StartAt: &at,
			Meta: crm.Meta{AssignedByID: alice.ID}})
		if err != nil {
			t.Fatal(err)
		}
		sync()
		out := list()
		if !strings.Contains(out, "10:00 Встреча из khal (перенесена)") || !strings.Contains(out, "12:30 Звонок из CRM") {
			t.Fatalf("khal after the CRM's changes:\n%s", out)
		}

		// CRM delete → gone from khal.
		if err := s.Delete(bg, admin, store.EntityActivity, crmCall.ID); err != nil {
			t.Fatal(err)
		}
		sync()
		if out := list(); strings.Contains(out, "Звонок из CRM") || !strings.Contains(out, "перенесена") {
			t.Fatalf("khal after the CRM's delete:\n%s", out)
		}

		// Nothing left to sync: another run writes nothing.
		before, err := s.Events(bg, events.Query{Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		sync()
		after, _ := s.Events(bg, events.Query{Limit: 10000})
		if len(after) != len(before) {
			t.Errorf("a sync with nothing to do wrote %d events", len(after)-len(before))
		}
	})
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
