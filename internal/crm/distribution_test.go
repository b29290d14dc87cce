package crm

import (
	"testing"
	"time"
)

func TestDistributionRuleMatches(t *testing.T) {
	msk, _ := time.LoadLocation("Europe/Moscow")
	// Monday 1 December 2025.
	at := func(day, h, m int) time.Time { return time.Date(2025, 12, day, h, m, 0, 0, msk) }
	for _, tc := range []struct {
		name string
		r    DistributionRule
		ch   string
		form int64
		src  string
		now  time.Time
		want bool
	}{
		{"any", DistributionRule{Active: true}, ChannelForm, 1, "WEB", at(1, 3, 0), true},
		{"inactive", DistributionRule{}, ChannelForm, 1, "WEB", at(1, 3, 0), false},
		{"channel", DistributionRule{Active: true, Channel: ChannelMail}, ChannelForm, 1, "", at(1, 12, 0), false},
		{"form", DistributionRule{Active: true, Channel: ChannelForm, FormID: 2}, ChannelForm, 1, "", at(1, 12, 0), false},
		{"form matches", DistributionRule{Active: true, Channel: ChannelForm, FormID: 2}, ChannelForm, 2, "", at(1, 12, 0), true},
		{"source", DistributionRule{Active: true, SourceID: "CALL"}, ChannelHTTP, 0, "WEB", at(1, 12, 0), false},
		{"day hours in", DistributionRule{Active: true, HoursFrom: 9 * 60, HoursTo: 18 * 60}, ChannelForm, 0, "", at(1, 9, 0), true},
		{"day hours end", DistributionRule{Active: true, HoursFrom: 9 * 60, HoursTo: 18 * 60}, ChannelForm, 0, "", at(1, 18, 0), false},
		{"day hours UTC", DistributionRule{Active: true, HoursFrom: 9 * 60, HoursTo: 18 * 60}, ChannelForm, 0, "", time.Date(2025, 12, 1, 5, 59, 0, 0, time.UTC), false},
		{"night in", DistributionRule{Active: true, HoursFrom: 18 * 60, HoursTo: 9 * 60}, ChannelForm, 0, "", at(1, 23, 30), true},
		{"night early", DistributionRule{Active: true, HoursFrom: 18 * 60, HoursTo: 9 * 60}, ChannelForm, 0, "", at(2, 8, 59), true},
		{"night out", DistributionRule{Active: true, HoursFrom: 18 * 60, HoursTo: 9 * 60}, ChannelForm, 0, "", at(2, 12, 0), false},
		{"weekdays Monday", DistributionRule{Active: true, Weekdays: 31}, ChannelForm, 0, "", at(1, 12, 0), true},
		{"weekdays Saturday", DistributionRule{Active: true, Weekdays: 31}, ChannelForm, 0, "", at(6, 12, 0), false},
		{"weekend Sunday", DistributionRule{Active: true, Weekdays: 64 | 32}, ChannelForm, 0, "", at(7, 12, 0), true},
	} {
		if tc.r.TZ == "" {
			tc.r.TZ = "Europe/Moscow"
		}
		if got := tc.r.Matches(tc.ch, tc.form, tc.src, tc.now); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDistributionRuleNormalize(t *testing.T) {
	for _, tc := range []struct {
		r     DistributionRule
		field string
	}{
		{DistributionRule{UserIDs: []int64{1}}, "name"},
		{DistributionRule{Name: "x"}, "user_ids"},
		{DistributionRule{Name: "x", UserIDs: []int64{1, 1}}, "user_ids"},
		{DistributionRule{Name: "x", UserIDs: []int64{1}, Channel: "fax"}, "channel"},
		{DistributionRule{Name: "x", UserIDs: []int64{1}, HoursTo: 24 * 60}, "hours_to"},
		{DistributionRule{Name: "x", UserIDs: []int64{1}, TZ: "Mars/Olympus"}, "tz"},
		{DistributionRule{Name: "x", UserIDs: []int64{1}, Weekdays: 128}, "weekdays"},
		{DistributionRule{Name: "x", FallbackUserID: 3}, ""},
	} {
		err := tc.r.Normalize()
		got := ""
		if fe, ok := AsFieldError(err); ok {
			got = fe.Field
		} else if err != nil {
			got = err.Error()
		}
		if got != tc.field {
			t.Errorf("%+v: error on %q, want %q", tc.r, got, tc.field)
		}
	}
}
