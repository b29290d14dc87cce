package crm

import "testing"

// The call fields the telephony providers fill: only on a call, a known
// state, no negative talk, an http(s) recording.
func TestActivityCallFields(t *testing.T) {
	for _, tc := range []struct {
		name  string
		a     Activity
		field string
	}{
		{"ok", Activity{Kind: "call", Subject: "s", CallStatus: CallMissed, CallDuration: 0, RecordingURL: "https://r.example/1.mp3"}, ""},
		{"not a call", Activity{Kind: "task", Subject: "s", CallStatus: CallMissed}, "kind"},
		{"unknown state", Activity{Kind: "call", Subject: "s", CallStatus: "lost"}, "call_status"},
		{"negative", Activity{Kind: "call", Subject: "s", CallStatus: CallAnswered, CallDuration: -1}, "call_duration"},
		{"recording", Activity{Kind: "call", Subject: "s", RecordingURL: "javascript:alert(1)"}, "recording_url"},
	} {
		err := tc.a.Normalize()
		fe, _ := err.(*FieldError)
		if (tc.field == "") != (err == nil) || (fe != nil && fe.Field != tc.field) {
			t.Errorf("%s: %v, want field %q", tc.name, err, tc.field)
		}
	}
}
