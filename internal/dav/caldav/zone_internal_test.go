package caldav

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

// TestVTimezone: the VTIMEZONE written for a zone with summer time has
// its two yearly rules; one without, a single STANDARD block.
func TestVTimezone(t *testing.T) {
	for _, tc := range []struct {
		zone string
		want []string
	}{
		{"Europe/Berlin", []string{"TZID:Europe/Berlin",
			"BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZNAME:CEST\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT",
			"BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZNAME:CET\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD"}},
		{"America/New_York", []string{"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU", "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU", "TZOFFSETTO:-0400", "TZOFFSETTO:-0500"}},
		{"Asia/Yekaterinburg", []string{"BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0500\r\nTZOFFSETTO:+0500\r\nEND:STANDARD"}},
	} {
		loc := mustZone(tc.zone)
		cal := NewCalendar(Parts{Zones: []*ical.Component{vtimezone(loc, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))}})
		out, err := Encode(cal)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s: no %q in\n%s", tc.zone, w, out)
			}
		}
	}
}
