package crm

import (
	"testing"
	"time"
)

func TestWorkHoursOnDuty(t *testing.T) {
	msk, _ := time.LoadLocation("Europe/Moscow")
	vvo, _ := time.LoadLocation("Asia/Vladivostok")
	day := WorkHours{Days: 31, From: 9 * 60, To: 18 * 60}
	night := WorkHours{Days: 1 | 16, From: 22 * 60, To: 6 * 60} // Monday and Friday nights
	cases := []struct {
		name string
		w    WorkHours
		at   time.Time
		loc  *time.Location
		want bool
	}{
		{"no hours: always", WorkHours{}, time.Date(2025, 12, 7, 3, 0, 0, 0, time.UTC), msk, true},
		{"mon 09:00 msk opens", day, time.Date(2025, 12, 1, 6, 0, 0, 0, time.UTC), msk, true},
		{"mon 08:59 msk", day, time.Date(2025, 12, 1, 5, 59, 0, 0, time.UTC), msk, false},
		{"mon 18:00 msk closes", day, time.Date(2025, 12, 1, 15, 0, 0, 0, time.UTC), msk, false},
		{"same instant in vladivostok is tue 01:00", day, time.Date(2025, 12, 1, 15, 0, 0, 0, time.UTC), vvo, false},
		{"sun 23:00 utc is mon 09:00 vladivostok", day, time.Date(2025, 11, 30, 23, 0, 0, 0, time.UTC), vvo, true},
		{"sat", day, time.Date(2025, 12, 6, 9, 0, 0, 0, time.UTC), msk, false},
		{"mon 22:00 night starts", night, time.Date(2025, 12, 1, 19, 0, 0, 0, time.UTC), msk, true},
		{"tue 05:59 monday's night", night, time.Date(2025, 12, 2, 2, 59, 0, 0, time.UTC), msk, true},
		{"tue 06:00 night over", night, time.Date(2025, 12, 2, 3, 0, 0, 0, time.UTC), msk, false},
		{"tue 23:00 no tuesday night", night, time.Date(2025, 12, 2, 20, 0, 0, 0, time.UTC), msk, false},
		{"sat 03:00 friday's night", night, time.Date(2025, 12, 6, 0, 0, 0, 0, time.UTC), msk, true},
		{"mon 03:00 no sunday night", night, time.Date(2025, 12, 8, 0, 0, 0, 0, time.UTC), msk, false},
		{"whole day", WorkHours{Days: 64}, time.Date(2025, 12, 7, 20, 59, 0, 0, time.UTC), msk, true},
	}
	for _, c := range cases {
		if got := c.w.OnDuty(c.at, c.loc); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
