package tmpl

import (
	"testing"
	"time"
)

func TestDate(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		// inputs
		{src: "{{ date(trigger.record.created) }}", want: "05.12.2026"},
		{src: "{{ date('2026-12-05T07:30:00Z', 'DD.MM.YYYY HH:mm') }}", want: "05.12.2026 10:30"},
		{src: "{{ date('2026-12-05T07:30:00.123Z', 'HH:mm:ss') }}", want: "10:30:00"},
		{src: "{{ date('2026-12-05 10:30:00+05:00', 'HH:mm') }}", want: "08:30"},
		{src: "{{ date('2026-12-05', 'DD.MM.YYYY HH:mm') }}", want: "05.12.2026 00:00"},
		{src: "{{ date('2026-12-05 14:30', 'HH:mm') }}", want: "14:30"},
		{src: "{{ date('2026-12-05 14:30:15', 'HH:mm:ss') }}", want: "14:30:15"},
		{src: "{{ date('2026-12-05T14:30', 'HH:mm') }}", want: "14:30"},
		{src: "{{ date('05.12.2026', 'YYYY-MM-DD') }}", want: "2026-12-05"},
		{src: "{{ date('5.12.2026 9:05', 'YYYY-MM-DD HH:mm') }}", want: "2026-12-05 09:05"},
		{src: "{{ date(1796455800, 'DD.MM.YYYY HH:mm') }}", want: "05.12.2026 10:30"},
		{src: "{{ date('1796455800', 'DD.MM.YYYY HH:mm') }}", want: "05.12.2026 10:30"},
		{src: "{{ date(1796455800000, 'DD.MM.YYYY HH:mm') }}", want: "05.12.2026 10:30"},
		{src: "{{ date(now(), 'DD.MM.YYYY HH:mm') }}", want: "05.12.2026 10:30"},
		{src: "{{ date(nil) }}", want: ""},
		{src: "{{ date('') }}", want: ""},
		// layouts
		{src: "{{ date(now(), 'D MMMM YYYY') }}", want: "5 декабря 2026"},
		{src: "{{ date(now(), 'MMMM YYYY') }}", want: "декабрь 2026"},
		{src: "{{ date(now(), 'LLLL') }}", want: "декабрь"},
		{src: "{{ date('2026-03-08', 'DD MMMM') }}", want: "08 марта"},
		{src: "{{ date('2026-05-01', 'D [мая и] MMMM') }}", want: "1 мая и мая"},
		{src: "{{ date(now(), 'dddd, D MMMM [в] H:mm') }}", want: "суббота, 5 декабря в 10:30"},
		{src: "{{ date(now(), 'ddd DD.MM.YY') }}", want: "сб 05.12.26"},
		{src: "{{ date(now(), 'YYYY-MM-DD') }}", want: "2026-12-05"},
		{src: "{{ date(now(), 'HH:mm:ss Z') }}", want: "10:30:00 +03:00"},
		{src: "{{ date(now(), 'D.M.YYYY H:m:s') }}", want: "5.12.2026 10:30:0"},
		{src: "{{ date(now(), '') }}", want: "05.12.2026"},
		// zones
		{src: "{{ date(now(), 'HH:mm', 'Asia/Yekaterinburg') }}", want: "12:30"},
		{src: "{{ date(now(), 'HH:mm', 'Europe/Moscow') }}", want: "10:30"},
		{src: "{{ date('2026-12-05T23:30:00+03:00', 'DD.MM HH:mm', 'Asia/Yekaterinburg') }}", want: "06.12 01:30"},
		{src: "{{ date('2026-12-05', 'DD.MM.YYYY', 'America/New_York') }}", want: "05.12.2026"},
		{src: "{{ date('2026-12-05 10:00', 'HH:mm', 'Asia/Yekaterinburg') }}", want: "12:00"},
		// errors
		{src: "{{ date('завтра') }}", err: `date: cannot read "завтра" as a date`},
		{src: "{{ date('2026-13-45') }}", err: `date: cannot read "2026-13-45" as a date`},
		{src: "{{ date(true) }}", err: "date: cannot read true as a date"},
		{src: "{{ date(now(), 'HH:mm', 'Mars/Base') }}", err: `date: unknown time zone "Mars/Base"`},
		{src: "{{ date(now(), 'HH:mm', 'Local') }}", err: `date: unknown time zone "Local"`},
		{src: "{{ date(now(), 5) }}", err: "date: layout must be text"},
		{src: "{{ date(now(), 'HH', 3) }}", err: "date: time zone must be a name"},
		{src: "{{ date() }}", err: "date: expected 1 to 3 arguments, got 0"},
	})
}

func TestDateArithmetic(t *testing.T) {
	t.Parallel()
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	runRender(t, []renderCase{
		{src: "{{ add_days(now(), 1) }}", want: time.Date(2026, 12, 6, 10, 30, 0, 0, msk)},
		{src: "{{ date(add_days(now(), -5)) }}", want: "30.11.2026"},
		{src: "{{ date(add_days('2026-12-31', 1)) }}", want: "01.01.2027"},
		{src: "{{ date(add_days(trigger.record.birthday, '2'), 'D MMMM YYYY') }}", want: "10 марта 1990"},
		{src: "{{ add_hours(now(), 1.5) }}", want: time.Date(2026, 12, 5, 12, 0, 0, 0, msk)},
		{src: "{{ date(add_hours('2026-12-05 23:00', 2), 'DD.MM HH:mm') }}", want: "06.12 01:00"},
		{src: "{{ add_days(nil, 1) }}", want: nil},
		{src: "{{ add_days(now(), 1.5) }}", err: "add_days: days must be a whole number, got 1.5"},
		{src: "{{ add_days(now(), 10000000) }}", err: "add_days: days 10000000 is out of range"},
		{src: "{{ add_days('вчера', 1) }}", err: `add_days: cannot read "вчера" as a date`},
		{src: "{{ add_hours(now(), 'x') }}", err: `add_hours: hours must be a number, got "x"`},
		{src: "{{ add_hours(now(), 1e9) }}", err: "add_hours: hours 1000000000 is out of range"},
		{src: "{{ now(1) }}", err: "now: expected 0 arguments, got 1"},
	})
}

// Moscow and Yekaterinburg differ by two hours all year (neither has
// daylight saving since 2014); a naive time belongs to the render's zone.
func TestZones(t *testing.T) {
	t.Parallel()
	ekb, err := time.LoadLocation("Asia/Yekaterinburg")
	if err != nil {
		t.Fatal(err)
	}
	tp := MustCompile(`{{ date('2026-07-01 09:00', 'HH:mm', 'Europe/Moscow') }}/{{ date('2026-07-01 09:00', 'HH:mm') }}/{{ date(now(), 'D MMMM HH:mm') }}`)
	for _, c := range []struct {
		opts []Option
		want string
	}{
		{testOpts(), "09:00/09:00/5 декабря 10:30"},
		{append(testOpts(), WithLocation(ekb)), "07:00/09:00/5 декабря 12:30"},
	} {
		got, err := tp.Render(nil, c.opts...)
		if err != nil || got != c.want {
			t.Errorf("got %q, %v; want %q", got, err, c.want)
		}
	}
}

func TestFormatDateMonths(t *testing.T) {
	t.Parallel()
	genitive := []string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}
	nominative := []string{"январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь"}
	for m := 1; m <= 12; m++ {
		d := time.Date(2026, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		if got, want := formatDate(d, "D MMMM"), "1 "+genitive[m-1]; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		if got, want := formatDate(d, "MMMM"), nominative[m-1]; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	week := []string{"понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье"}
	for i, want := range week {
		d := time.Date(2026, 11, 30+i, 0, 0, 0, 0, time.UTC) // Monday, 30 November 2026
		if got := formatDate(d, "dddd"); got != want {
			t.Errorf("%v: got %q, want %q", d, got, want)
		}
	}
	if got := formatDate(testNow, "[YYYY] YYYY [x"); got != "YYYY 2026 [x" {
		t.Errorf("got %q", got)
	}
}
