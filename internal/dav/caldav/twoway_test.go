package caldav_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dav/davtest"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// vdirsyncerPair writes a vdirsyncer configuration syncing alice's
// activities calendar into home/cal, and runs discover.
func vdirsyncerPair(t *testing.T, vds, home, url string) (local string, sync func()) {
	t.Helper()
	local = filepath.Join(home, "cal")
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
url = "`+url+`/dav/principals/alice/calendars/activities/"
username = "alice"
password = "alice-Secret-1"
`)
	davtest.Run(t, home, "", vds, "-c", vcfg, "discover")
	return local, func() {
		t.Helper()
		davtest.Run(t, home, "", vds, "-c", vcfg, "sync")
	}
}

// localEvent is the file of the event whose SUMMARY is subject, and its text.
func localEvent(t *testing.T, dir, subject string) (string, string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.ics"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "SUMMARY:"+subject+"\r\n") {
			return f, string(b)
		}
	}
	t.Fatalf("no event %q among %v", subject, files)
	return "", ""
}

// TestVdirsyncerTwoWay: with vdirsyncer, an event changed in the client
// (its title and its time moved) and an event deleted there reach the
// CRM, a CRM change reaches the client, and a last sync has nothing to do.
func TestVdirsyncerTwoWay(t *testing.T) {
	vds := davtest.Tool(t, "vdirsyncer", "--version")
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		alice := davtest.Manager(t, s, admin, "alice")
		mk := func(subject string, at time.Time) crm.Activity {
			end := at.Add(time.Hour)
			a, err := s.CreateActivity(bg, admin, crm.Activity{Kind: crm.ActivityMeeting, Subject: subject, StartAt: &at, EndAt: &end,
				Meta: crm.Meta{AssignedByID: alice.ID}})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		m1 := mk("Планёрка", time.Date(2026, 12, 8, 7, 0, 0, 0, time.UTC))
		m2 := mk("Обед с клиентом", time.Date(2026, 12, 9, 9, 0, 0, 0, time.UTC))
		srv := server(t, s)
		home := t.TempDir()
		local, sync := vdirsyncerPair(t, vds, home, srv.URL)
		sync()

		// Client → CRM: m1 renamed and moved to 15:00 Moscow time, m2 deleted.
		f1, ics := localEvent(t, local, "Планёрка")
		edited := strings.Replace(ics, "SUMMARY:Планёрка\r\n", "SUMMARY:Планёрка (перенесена)\r\n", 1)
		moved := regexp.MustCompile(`(?m)^(DT(?:START|END)[^:\r\n]*:)(\d{8}T\d{6}Z?)`).ReplaceAllStringFunc(edited, func(l string) string {
			m := regexp.MustCompile(`^(DT(?:START|END)[^:]*:)(\d{8}T\d{6})(Z?)$`).FindStringSubmatch(l)
			layout := "20060102T150405"
			loc := msk
			if m[3] == "Z" || !strings.Contains(m[1], "TZID") {
				loc = time.UTC
			}
			at, err := time.ParseInLocation(layout, m[2], loc)
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			return m[1] + at.Add(5*time.Hour).Format(layout) + m[3]
		})
		if moved == edited {
			t.Fatalf("no DTSTART to move in\n%s", ics)
		}
		write(t, f1, moved)
		f2, _ := localEvent(t, local, "Обед с клиентом")
		if err := os.Remove(f2); err != nil {
			t.Fatal(err)
		}
		sync()
		got, err := s.GetActivity(bg, m1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Subject != "Планёрка (перенесена)" || got.StartAt == nil || !got.StartAt.Equal(time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)) ||
			got.EndAt == nil || !got.EndAt.Equal(time.Date(2026, 12, 8, 13, 0, 0, 0, time.UTC)) {
			t.Errorf("the client's change in the CRM: %q %v–%v", got.Subject, got.StartAt, got.EndAt)
		}
		if got, err := s.GetActivity(bg, m2.ID); err != nil || got.DeletedAt == nil {
			t.Errorf("the client's delete in the CRM: %v %+v", err, got.DeletedAt)
		}

		// CRM → client.
		if _, err := s.UpdateActivity(bg, admin, m1.ID, func(a *crm.Activity) error { a.Subject = "Планёрка отдела"; return nil }); err != nil {
			t.Fatal(err)
		}
		sync()
		if _, ics := localEvent(t, local, "Планёрка отдела"); !strings.Contains(ics, "DTSTART") {
			t.Errorf("the CRM's change in the client:\n%s", ics)
		}
		if files, _ := filepath.Glob(filepath.Join(local, "*.ics")); len(files) != 1 {
			t.Errorf("the client has %d events, want 1: %v", len(files), files)
		}

		// Nothing left to sync.
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
