package caldav

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/obmen/obmen/internal/crm"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var moscow = mustZone("Europe/Moscow")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func decode(t testing.TB, b []byte) *ical.Calendar {
	t.Helper()
	cal, err := ical.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return cal
}

// stored is what the store gives back for an object written by a client.
func stored(o Object) crm.Activity {
	a := crm.Activity{Meta: crm.Meta{ID: 7,
		CreatedAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}}
	o.Apply(&a)
	if a.Done {
		c := time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC)
		a.CompletedAt = &c
	}
	return a
}

// TestGolden reads what real clients write, renders it back as the server
// serves it (testdata/*.golden), and reads that again: the second read
// must give the same object, so a round trip loses nothing.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.ics")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			o, err := Parse(decode(t, in), moscow)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			parts, err := Activity(stored(o), &o.ICal, moscow)
			if err != nil {
				t.Fatalf("Activity: %v", err)
			}
			out, err := Encode(NewCalendar(parts))
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(f, ".ics") + ".golden"
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("rendered:\n%s\nwant (%s):\n%s", out, golden, want)
			}
			again, err := Parse(decode(t, out), moscow)
			if err != nil {
				t.Fatalf("Parse of the rendered object: %v", err)
			}
			if !reflect.DeepEqual(again, o) {
				t.Errorf("round trip changed the object:\n got %+v\nwant %+v", again, o)
			}
		})
	}
}

func at(s string) *time.Time {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &v
}

// TestParse checks the fields read from each client's object.
func TestParse(t *testing.T) {
	tests := []struct {
		file       string
		kind       string
		subject    string
		start, end *time.Time
		priority   string
		done       bool
		ical       func(x crm.ActivityICal) bool
	}{
		{"thunderbird-weekly.ics", crm.ActivityMeeting, "Планёрка отдела продаж", at("2026-12-07T07:00:00Z"), at("2026-12-07T08:00:00Z"), "normal", false,
			func(x crm.ActivityICal) bool {
				return x.TZID == "Europe/Moscow" && x.RRule == "FREQ=WEEKLY;BYDAY=MO" && len(x.ExDates) == 1 &&
					x.ExDates[0].Equal(*at("2026-12-14T07:00:00Z")) && strings.Contains(x.Extra, "VALARM") &&
					strings.Contains(x.Extra, "RECURRENCE-ID") && strings.Contains(x.Extra, "LOCATION") && strings.Contains(x.Timezones, "MSK")
			}},
		{"outlook-windows-zone.ics", crm.ActivityMeeting, "Звонок клиенту", at("2026-12-08T12:30:00Z"), at("2026-12-08T13:00:00Z"), "high", false,
			func(x crm.ActivityICal) bool { return x.TZID == "Russian Standard Time" && x.Timezones != "" }},
		{"ios-all-day.ics", crm.ActivityMeeting, "Выставка", at("2026-12-09T21:00:00Z"), at("2026-12-11T21:00:00Z"), "normal", false,
			func(x crm.ActivityICal) bool { return x.AllDay && !x.Floating && x.TZID == "" }},
		{"khal-floating.ics", crm.ActivityMeeting, "Обед", at("2026-12-09T10:00:00Z"), at("2026-12-09T11:00:00Z"), "normal", false,
			func(x crm.ActivityICal) bool { return x.Floating && !x.AllDay && x.UID == "khal-floating-1" }},
		{"evolution-todo-done.ics", crm.ActivityTask, "Отправить КП", nil, at("2026-12-11T15:00:00Z"), "low", true,
			func(x crm.ActivityICal) bool {
				return !strings.Contains(x.Extra, "PERCENT") && strings.Contains(x.Extra, "CATEGORIES")
			}},
		{"tasks-open-no-due.ics", crm.ActivityTask, "Позвонить в банк", nil, nil, "normal", false,
			func(x crm.ActivityICal) bool {
				return strings.Contains(x.Extra, "IN-PROCESS") && strings.Contains(x.Extra, "PERCENT-COMPLETE")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			o, err := Parse(decode(t, in), moscow)
			if err != nil {
				t.Fatal(err)
			}
			a := stored(o)
			if a.Kind != tt.kind || a.Subject != tt.subject || a.Priority != tt.priority || a.Done != tt.done {
				t.Errorf("kind %q subject %q priority %q done %v, want %q %q %q %v", a.Kind, a.Subject, a.Priority, a.Done, tt.kind, tt.subject, tt.priority, tt.done)
			}
			if !sameTime(a.StartAt, tt.start) || !sameTime(a.EndAt, tt.end) {
				t.Errorf("start %v end %v, want %v %v", a.StartAt, a.EndAt, tt.start, tt.end)
			}
			if !tt.ical(o.ICal) {
				t.Errorf("kept %+v", o.ICal)
			}
		})
	}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// TestParseErrors: each refused object names the component and property
// at fault.
func TestParseErrors(t *testing.T) {
	wrap := func(lines ...string) string {
		return strings.Join(append(append([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:x"}, lines...), "END:VCALENDAR", ""), "\r\n")
	}
	tests := []struct{ name, in, want string }{
		{"empty", wrap("BEGIN:VJOURNAL", "UID:j", "END:VJOURNAL"), "no VEVENT or VTODO"},
		{"no uid", wrap("BEGIN:VEVENT", "DTSTART:20261207T100000Z", "END:VEVENT"), "VEVENT: UID is missing"},
		{"no start", wrap("BEGIN:VEVENT", "UID:a", "SUMMARY:x", "END:VEVENT"), "VEVENT: DTSTART is missing"},
		{"bad start", wrap("BEGIN:VEVENT", "UID:a", "DTSTART:2026-12-07", "END:VEVENT"), `VEVENT: DTSTART "2026-12-07"`},
		{"unknown zone", wrap("BEGIN:VEVENT", "UID:a", "DTSTART;TZID=Mars/Olympus:20261207T100000", "END:VEVENT"), `TZID "Mars/Olympus" is neither`},
		{"end first", wrap("BEGIN:VEVENT", "UID:a", "DTSTART:20261207T100000Z", "DTEND:20261207T090000Z", "END:VEVENT"), "DTEND is before DTSTART"},
		{"bad rrule", wrap("BEGIN:VEVENT", "UID:a", "DTSTART:20261207T100000Z", "RRULE:FREQ=SOMETIMES", "END:VEVENT"), "RRULE \"FREQ=SOMETIMES\""},
		{"bad priority", wrap("BEGIN:VTODO", "UID:a", "PRIORITY:12", "END:VTODO"), "PRIORITY \"12\" is not 0–9"},
		{"two masters", wrap("BEGIN:VEVENT", "UID:a", "DTSTART:20261207T100000Z", "END:VEVENT", "BEGIN:VEVENT", "UID:b", "DTSTART:20261207T100000Z", "END:VEVENT"), "more than one VEVENT"},
		{"foreign override", wrap("BEGIN:VEVENT", "UID:a", "DTSTART:20261207T100000Z", "END:VEVENT", "BEGIN:VEVENT", "UID:b", "RECURRENCE-ID:20261214T100000Z", "DTSTART:20261214T100000Z", "END:VEVENT"), `UID "b" is not the master's "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(decode(t, []byte(tt.in)), moscow)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

// TestCRMActivity renders activities made in the CRM, with no client
// data: UTC times, a call marked as such, a task reopened.
func TestCRMActivity(t *testing.T) {
	base := crm.Activity{Meta: crm.Meta{ID: 12, UpdatedAt: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)}, Subject: "Звонок", Kind: crm.ActivityCall,
		StartAt: at("2026-12-04T09:00:00Z"), Priority: "normal"}
	parts, err := Activity(base, nil, moscow)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Encode(NewCalendar(parts))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"UID:obmen-activity-12\r\n", "DTSTART;TZID=Europe/Moscow:20261204T120000\r\n", "X-OBMEN-KIND:call\r\n",
		"BEGIN:VTIMEZONE\r\nTZID:Europe/Moscow\r\n", "TZOFFSETTO:+0300\r\n"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if bytes.Contains(out, []byte("DTEND")) {
		t.Errorf("an instant has a DTEND:\n%s", out)
	}
	o, err := Parse(decode(t, out), moscow)
	if err != nil {
		t.Fatal(err)
	}
	a := crm.Activity{Kind: crm.ActivityCall}
	o.Apply(&a)
	if a.Kind != crm.ActivityCall || !sameTime(a.StartAt, base.StartAt) {
		t.Errorf("read back %+v", a)
	}

	// A completed task reopened in the CRM is NEEDS-ACTION again.
	in, _ := os.ReadFile("testdata/evolution-todo-done.ics")
	o, err = Parse(decode(t, in), moscow)
	if err != nil {
		t.Fatal(err)
	}
	task := stored(o)
	task.Done, task.CompletedAt = false, nil
	parts, err = Activity(task, &o.ICal, moscow)
	if err != nil {
		t.Fatal(err)
	}
	out, _ = Encode(NewCalendar(parts))
	if !bytes.Contains(out, []byte("STATUS:NEEDS-ACTION")) || bytes.Contains(out, []byte("COMPLETED:")) {
		t.Errorf("reopened task:\n%s", out)
	}
}

func TestBooking(t *testing.T) {
	b := crm.Booking{ID: 5, StartAt: time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC), EndAt: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC),
		Service: "Консультация", Resources: []crm.BookedResource{{ID: 1, Name: "Переговорная 1"}, {ID: 2, Name: "Проектор"}},
		Users: []crm.BookingUser{{UserID: 3, Title: "Встреча с ООО Ромашка"}}}
	for _, tt := range []struct {
		user int64
		want string
	}{{3, "SUMMARY:Встреча с ООО Ромашка"}, {4, "SUMMARY:Консультация"}} {
		out, err := Encode(NewCalendar(Booking(b, tt.user)))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{tt.want, "LOCATION:Переговорная 1\\, Проектор", "UID:obmen-booking-5", "DTSTART:20261207T070000Z", "DTEND:20261207T080000Z"} {
			if !bytes.Contains(out, []byte(w)) {
				t.Errorf("user %d: no %q in\n%s", tt.user, w, out)
			}
		}
	}
}

// FuzzParse: whatever a client sends, Parse does not panic, and what it
// accepts renders, and reads back as the same object.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.ics")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cal, err := Decode(bytes.NewReader(b))
		if err != nil {
			return
		}
		o, err := Parse(cal, moscow)
		if err != nil {
			return
		}
		parts, err := Activity(stored(o), &o.ICal, moscow)
		if err != nil {
			t.Fatalf("accepted but not rendered: %v", err)
		}
		out, err := Encode(NewCalendar(parts))
		if err != nil {
			t.Fatalf("accepted but not encoded: %v", err)
		}
		back, err := Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("rendered object does not decode: %v\n%s", err, out)
		}
		again, err := Parse(back, moscow)
		if err != nil {
			t.Fatalf("rendered object refused: %v\n%s", err, out)
		}
		if again.Subject != o.Subject || !sameTime(again.Start, o.Start) || again.ICal.RRule != o.ICal.RRule || again.Todo != o.Todo {
			t.Fatalf("round trip changed the object:\n got %+v\nwant %+v", again, o)
		}
	})
}
