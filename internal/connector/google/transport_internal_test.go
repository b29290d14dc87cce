package google

import (
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", -1},
		{"0", 0},
		{"7", 7 * time.Second},
		{"Sun, 06 Dec 2026 07:00:30 GMT", 30 * time.Second},
		{"Sun, 06 Dec 2026 06:59:00 GMT", 0},
		{"soon", -1},
		{"-3", -1},
	} {
		if got := retryAfter(tc.in, now); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
		}
	}
}
