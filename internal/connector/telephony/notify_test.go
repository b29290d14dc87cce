package telephony_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connector/telephony"
	"github.com/obmen/obmen/internal/crm"
)

var msk = time.FixedZone("MSK", 3*3600)

// Each Zadarma event signs its own fields (the official client's
// getSignatureString); what it tells of the call.
func TestParseZadarma(t *testing.T) {
	base := map[string]string{"call_start": "2026-12-05 12:00:00", "pbx_call_id": "in_1", "caller_id": "79256424295",
		"called_did": "74951234567", "internal": "101", "destination": "101", "duration": "42", "disposition": "answered",
		"call_id_with_rec": "1733.1"}
	for _, tc := range []struct {
		event, status, dir, from, to, line string
		dur                                int64
	}{
		{"NOTIFY_START", crm.CallRinging, "in", "79256424295", "74951234567", "101", 0},
		{"NOTIFY_INTERNAL", crm.CallRinging, "in", "79256424295", "74951234567", "101", 0},
		{"NOTIFY_ANSWER", crm.CallTalking, "in", "79256424295", "", "101", 0},
		{"NOTIFY_END", crm.CallAnswered, "in", "79256424295", "74951234567", "101", 42},
		{"NOTIFY_OUT_START", crm.CallRinging, "out", "101", "101", "101", 0},
		{"NOTIFY_OUT_END", crm.CallAnswered, "out", "79256424295", "101", "101", 42},
	} {
		f := url.Values{"event": {tc.event}}
		for k, v := range base {
			f.Set(k, v)
		}
		sig := telephony.ZadarmaNotifySign("sec", tc.event, f)
		n, err := telephony.ParseZadarma(f, sig, "sec", msk)
		c := n.Call
		if err != nil || c.ID != "in_1" || c.Status != tc.status || c.Direction != tc.dir || c.From != tc.from || c.To != tc.to ||
			c.Line != tc.line || c.Duration != tc.dur || !c.Start.Equal(time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: %+v %v", tc.event, c, err)
		}
		// Any signed field changed breaks the signature.
		f.Set("call_start", "2026-12-05 12:00:01")
		if _, err := telephony.ParseZadarma(f, sig, "sec", msk); !isAuth(err) {
			t.Errorf("%s: a changed field passed: %v", tc.event, err)
		}
	}
	f := url.Values{"event": {"NOTIFY_RECORD"}, "pbx_call_id": {"in_1"}, "call_id_with_rec": {"1733.1"}}
	n, err := telephony.ParseZadarma(f, telephony.ZadarmaNotifySign("sec", "NOTIFY_RECORD", f), "sec", msk)
	if err != nil || n.RecordingID != "1733.1" || n.Call.ID != "in_1" {
		t.Errorf("record: %+v %v", n, err)
	}
	// Precise errors.
	for _, tc := range []struct {
		set   map[string]string
		field string
	}{
		{map[string]string{"event": "NOTIFY_END", "pbx_call_id": "x", "call_start": "2026-12-05 12:00:00", "disposition": "", "duration": "1"}, "disposition"},
		{map[string]string{"event": "NOTIFY_END", "pbx_call_id": "x", "call_start": "2026-12-05 12:00:00", "disposition": "busy", "duration": "-1"}, "duration"},
		{map[string]string{"event": "NOTIFY_START", "pbx_call_id": "", "call_start": "2026-12-05 12:00:00"}, "pbx_call_id"},
		{map[string]string{"event": "NOTIFY_START", "pbx_call_id": "x", "call_start": "12/05/2026"}, "call_start"},
		{map[string]string{"event": ""}, "event"},
	} {
		f := url.Values{}
		for k, v := range tc.set {
			f.Set(k, v)
		}
		_, err := telephony.ParseZadarma(f, telephony.ZadarmaNotifySign("sec", f.Get("event"), f), "sec", msk)
		var b *telephony.BadNotification
		if !errors.As(err, &b) || b.Field != tc.field {
			t.Errorf("%v: %v, want field %s", tc.set, err, tc.field)
		}
	}
	// An event Obmen does not use passes unsigned and tells nothing.
	if n, err := telephony.ParseZadarma(url.Values{"event": {"NOTIFY_IVR"}}, "", "sec", msk); err != nil || n.Call.ID != "" {
		t.Errorf("ivr: %+v %v", n, err)
	}
}

func isAuth(err error) bool {
	var b *telephony.BadNotification
	return errors.As(err, &b) && b.Auth
}

// A missed call stays missed whatever comes late; a repeat changes
// nothing; fields once told stay.
func TestMerge(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	start := telephony.Call{ID: "1", Direction: "in", From: "7925", Start: t0, Status: crm.CallRinging}
	end := telephony.Call{ID: "1", Status: crm.CallMissed, Line: "101"}
	c := start.Merge(end)
	if c.Status != crm.CallMissed || c.Line != "101" || c.From != "7925" || !c.Ended() {
		t.Fatalf("%+v", c)
	}
	if c.Merge(start) != c || c.Merge(end) != c {
		t.Fatal("a repeat changed the call")
	}
	// The end first, then the start (out of order): still missed.
	if d := end.Merge(start); d.Status != crm.CallMissed || d.From != "7925" {
		t.Fatalf("out of order: %+v", d)
	}
}

func FuzzParseZadarma(f *testing.F) {
	f.Add("NOTIFY_END", "2026-12-05 12:00:00", "in_1", "79256424295", "74951234567", "101", "42", "answered", "1733.1")
	f.Add("NOTIFY_RECORD", "", "in_1", "", "", "", "", "", "1733.1")
	f.Add("NOTIFY_OUT_END", "2026-12-05 12:00:00", "out_1", "", "79256424295", "101", "x", "busy", "")
	f.Fuzz(func(t *testing.T, event, start, id, caller, called, internal, dur, disp, rec string) {
		v := url.Values{"event": {event}, "call_start": {start}, "pbx_call_id": {id}, "caller_id": {caller}, "called_did": {called},
			"destination": {called}, "internal": {internal}, "duration": {dur}, "disposition": {disp}, "call_id_with_rec": {rec}}
		n, err := telephony.ParseZadarma(v, telephony.ZadarmaNotifySign("s", event, v), "s", msk)
		if err != nil {
			var b *telephony.BadNotification
			if !errors.As(err, &b) || b.Auth {
				t.Fatalf("not a precise refusal: %v", err)
			}
			return
		}
		if n.Call.ID != "" && (n.Call.ID != strings.TrimSpace(id) || n.Call.Duration < 0) {
			t.Fatalf("%+v", n)
		}
		// A wrong secret never passes.
		if _, err := telephony.ParseZadarma(v, telephony.ZadarmaNotifySign("s", event, v), "other", msk); n.Call.ID != "" && !isAuth(err) {
			t.Fatalf("wrong secret: %v", err)
		}
	})
}

func FuzzParseMango(f *testing.F) {
	f.Add("events/summary", `{"entry_id":"MjU=","call_direction":1,"from":{"number":"79256424295"},"to":{"extension":"101"},"create_time":1733400000,"talk_time":1733400010,"end_time":1733400100,"entry_result":1}`)
	f.Add("events/call", `{"entry_id":"MjU=","call_state":"Appeared","timestamp":1733400000,"from":{"extension":"102"},"to":{"number":"79031234567"}}`)
	f.Add("events/recording", `{"entry_id":"MjU=","recording_id":"MToxMDE=","recording_state":"Completed"}`)
	f.Fuzz(func(t *testing.T, event, js string) {
		v := url.Values{"vpbx_api_key": {"k"}, "sign": {telephony.MangoSign("k", "s", js)}, "json": {js}}
		n, err := telephony.ParseMango(event, v, "k", "s")
		if err != nil {
			var b *telephony.BadNotification
			if !errors.As(err, &b) || b.Auth {
				t.Fatalf("not a precise refusal: %v", err)
			}
			return
		}
		if n.Call.ID != "" && n.Call.Duration < 0 {
			t.Fatalf("%+v", n)
		}
		if _, err := telephony.ParseMango(event, v, "k", "other"); !isAuth(err) {
			t.Fatalf("wrong salt: %v", err)
		}
	})
}

func FuzzParseCdr(f *testing.F) {
	f.Add("Cdr", "79256424297", "101", "PJSIP/101-00000012", "2026-12-05 12:00:00", "NO ANSWER", "0", "1733400000.17")
	f.Add("Cdr", "102", "79031234567", "PJSIP/trunk-1", "2026-12-05 12:10:00", "ANSWERED", "61", "1733400600.21")
	f.Fuzz(func(t *testing.T, event, src, dst, dstChan, start, disp, billable, id string) {
		m := map[string]string{"event": event, "source": src, "destination": dst, "destinationchannel": dstChan, "starttime": start,
			"disposition": disp, "billableseconds": billable, "uniqueid": id}
		c, ok, err := telephony.ParseCdr(m, msk)
		if err != nil {
			var b *telephony.BadNotification
			if !ok || !errors.As(err, &b) {
				t.Fatalf("not a precise refusal: %v", err)
			}
			return
		}
		if ok && c.ID != "" && (c.Duration < 0 || (c.Status != crm.CallAnswered && c.Status != crm.CallMissed)) {
			t.Fatalf("%+v", c)
		}
	})
}

// Mango's events in the shapes of API Mango Office v1.9 §3.1: its tables
// type extensions, timestamps and seq as integers, its examples send them
// as strings, so both are read; a call between two extensions (or a
// summary with call_direction 0) is internal and makes nothing; a summary
// with entry_result 1 but no talk (the call ended in the voice menu) is a
// missed call; a recording is linked only when completed with code 1000
// into the cloud.
func TestParseMango(t *testing.T) {
	for _, tc := range []struct {
		name, event, js               string
		id, dir, status, from, to, ln string
		start                         int64
		dur                           int64
		recording                     string
		field                         string
	}{
		{name: "IVR leg, strings", event: "events/call", js: `{"call_id":"100:500:256","entry_id":"E1","timestamp":"1399906976","seq":"1",
			"call_state":"Appeared","location":"ivr","from":{"number":"79000000000"},"to":{"number":"78001234567","line_number":"78001234567"}}`,
			id: "E1", dir: "in", status: crm.CallRinging, from: "79000000000", to: "78001234567", start: 1399906976},
		{name: "extension as an integer", event: "events/call", js: `{"entry_id":"E2","call_id":"c2","timestamp":1558422128,"seq":2,
			"call_state":"Disconnected","location":"abonent","from":{"number":"79001234567","taken_from_call_id":"c1"},
			"to":{"extension":29,"number":"sip:user1@example.mangosip.ru","line_number":"sip:line1@example.mangosip.ru","acd_group":303},
			"disconnect_reason":1131,"dct":{"number":"74001234567","type":1}}`,
			id: "E2", dir: "in", from: "79001234567", to: "sip:user1@example.mangosip.ru", ln: "29", start: 1558422128},
		{name: "outgoing", event: "events/call", js: `{"call_id":"c3","entry_id":"E3","timestamp":"1399906988","seq":"2","location":"abonent",
			"call_state":"Connected","from":{"extension":"1234","number":"74955404444"},"to":{"number":"12345678"}}`,
			id: "E3", dir: "out", status: crm.CallTalking, from: "74955404444", to: "12345678", ln: "1234", start: 1399906988},
		{name: "internal call", event: "events/call", js: `{"call_id":"c4","entry_id":"E4","timestamp":1399906971,"seq":"1","location":"abonent",
			"call_state":"Appeared","from":{"extension":"5555","number":"74955404444"},"to":{"extension":"1234","number":"12345678"}}`},
		{name: "summary answered", event: "events/summary", js: `{"entry_id":"E5","call_direction":1,"from":{"number":"78001236352"},
			"to":{"extension":"123","number":"78001234567"},"line_number":"78001234567","create_time":1399906976,"forward_time":1399906978,
			"talk_time":1399906980,"end_time":1399906990,"entry_result":1,"disconnect_reason":1100}`,
			id: "E5", dir: "in", status: crm.CallAnswered, from: "78001236352", to: "78001234567", ln: "123", start: 1399906976, dur: 10},
		{name: "summary ended in the voice menu", event: "events/summary", js: `{"entry_id":"E6","call_direction":1,"from":{"number":"79000000000"},
			"to":{},"line_number":"78001234567","create_time":1399906976,"forward_time":1399906978,"talk_time":0,"end_time":1399906990,
			"entry_result":1,"disconnect_reason":1170}`,
			id: "E6", dir: "in", status: crm.CallMissed, from: "79000000000", to: "78001234567", start: 1399906976},
		{name: "summary outgoing", event: "events/summary", js: `{"entry_id":"E7","call_direction":2,"from":{"extension":123,
			"number":"sip:user1@example.mangosip.ru"},"to":{"number":"78001234567"},"line_number":"74953333357","create_time":1399906976,
			"forward_time":1399906976,"talk_time":1399906980,"entry_result":1,"end_time":1399906990,"disconnect_reason":1100}`,
			id: "E7", dir: "out", status: crm.CallAnswered, from: "sip:user1@example.mangosip.ru", to: "78001234567", ln: "123", start: 1399906976, dur: 10},
		{name: "summary outgoing missed", event: "events/summary", js: `{"entry_id":"E8","call_direction":2,"from":{"extension":"123"},
			"to":{"number":"78001234567"},"line_number":"74953333357","create_time":1399906976,"forward_time":1399906976,"talk_time":0,
			"entry_result":0,"end_time":1399906990,"disconnect_reason":1100}`,
			id: "E8", dir: "out", status: crm.CallMissed, from: "123", to: "78001234567", ln: "123", start: 1399906976},
		{name: "summary internal", event: "events/summary", js: `{"entry_id":"E9","call_direction":0,"from":{"extension":"101"},"to":{"extension":"102"},
			"create_time":1399906976,"talk_time":1399906980,"end_time":1399906990,"entry_result":1}`},
		{name: "recording started", event: "events/recording", js: `{"recording_id":"r100:777:500:256","recording_state":"Started","seq":1,
			"call_id":"100:500:256","entry_id":"E10","extension":"1234","timestamp":"1399906976"}`},
		{name: "recording completed", event: "events/recording", js: `{"recording_id":"r100:777:500:256","recording_state":"Completed","seq":2,
			"call_id":"100:500:256","entry_id":"E11","extension":1234,"timestamp":1399907000,"completion_code":1000,"recipient":"Cloud"}`,
			id: "E11", recording: "r100:777:500:256"},
		{name: "recording too short", event: "events/recording", js: `{"recording_id":"r1","recording_state":"Completed","entry_id":"E12",
			"completion_code":"4002"}`},
		{name: "recording by e-mail only", event: "events/recording", js: `{"recording_id":"r2","recording_state":"Completed","entry_id":"E13",
			"completion_code":"1000","recipient":"Mail"}`},
		{name: "an extension that is neither", event: "events/call", js: `{"entry_id":"E14","call_state":"Appeared","to":{"extension":{"n":1}}}`,
			field: "json"},
		{name: "a timestamp that is no number", event: "events/call", js: `{"entry_id":"E15","call_state":"Appeared","timestamp":"вчера"}`,
			field: "json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := url.Values{"vpbx_api_key": {"k"}, "sign": {telephony.MangoSign("k", "s", tc.js)}, "json": {tc.js}}
			n, err := telephony.ParseMango(tc.event, v, "k", "s")
			if tc.field != "" {
				var b *telephony.BadNotification
				if !errors.As(err, &b) || b.Field != tc.field {
					t.Fatalf("got %+v, %v; want a refusal at %s", n, err, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := n.Call
			var start int64
			if !c.Start.IsZero() {
				start = c.Start.Unix()
			}
			if c.ID != tc.id || c.Direction != tc.dir || c.Status != tc.status || c.From != tc.from || c.To != tc.to || c.Line != tc.ln ||
				start != tc.start || c.Duration != tc.dur || n.RecordingID != tc.recording {
				t.Fatalf("got %+v (recording %q)", n.Call, n.RecordingID)
			}
		})
	}
}
