package telephony_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connector/telephony"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// post sends a notification as the provider does: a form, and headers.
func post(t testing.TB, u string, form url.Values, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if e, ok := m["error"].(map[string]any); ok {
		m = e // the error's code, field and message
	}
	return res.StatusCode, m
}

type activity struct {
	ID           int64  `json:"id"`
	Kind         string `json:"kind"`
	Subject      string `json:"subject"`
	Direction    string `json:"direction"`
	CommValue    string `json:"comm_value"`
	OwnerType    string `json:"owner_type"`
	OwnerID      int64  `json:"owner_id"`
	AssignedByID int64  `json:"assigned_by_id"`
	Done         bool   `json:"done"`
	CallStatus   string `json:"call_status"`
	CallFrom     string `json:"call_from"`
	CallTo       string `json:"call_to"`
	CallLine     string `json:"call_line"`
	CallDuration int64  `json:"call_duration"`
	RecordingURL string `json:"recording_url"`
	StartAt      string `json:"start_at"`
	EndAt        string `json:"end_at"`
}

func (s *server) activity(id int64) activity {
	var a activity
	s.do("GET", fmt.Sprintf("/api/v1/activities/%d", id), nil, http.StatusOK, &a)
	return a
}

func (s *server) hookInfo(connID int64) telephony.HookInfo {
	var h telephony.HookInfo
	s.do("GET", fmt.Sprintf("/api/v1/telephony/connections/%d", connID), nil, http.StatusOK, &h)
	return h
}

// waitRuns waits for n finished runs of a bundle and returns them.
func (s *server) waitRuns(bundleID int64, n int) []automation.Run {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var l automation.RunList
		s.do("GET", fmt.Sprintf("/api/v1/bundles/%d/runs", bundleID), nil, http.StatusOK, &l)
		done := 0
		for _, r := range l.Items {
			if r.Finished() {
				done++
			}
		}
		if done >= n {
			return l.Items
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("bundle %d: %d finished runs, want %d: %+v", bundleID, done, n, l.Items)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func zadarmaForm(secret string, kv ...string) (url.Values, map[string]string) {
	f := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f, map[string]string{"Signature": telephony.ZadarmaNotifySign(secret, f.Get("event"), f)}
}

// Zadarma's notifications of a missed call from a known contact: the
// address answers zd_echo, the call becomes one activity on the contact
// assigned to the user whose internal number answered, retries change
// nothing, a bad signature is refused and journaled, the recording's link
// arrives on the same activity, and a bundle on call.missed runs once.
func TestZadarmaNotifications(t *testing.T) {
	z := newZadarmaFake(t, "key1", "secret1")
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		s := newServer(t, d)
		var conn struct {
			ID int64 `json:"id"`
		}
		s.do("POST", "/api/v1/connections", map[string]any{"type": "zadarma", "name": "Zadarma", "settings": map[string]any{
			"key": "key1", "secret": "secret1", "url": z.URL}}, http.StatusCreated, &conn)
		var contact struct {
			ID int64 `json:"id"`
		}
		s.do("POST", "/api/v1/contacts", map[string]any{"name": "Пётр", "last_name": "Иванов", "phones": []any{map[string]any{"value": "8 (925) 642-42-95"}}},
			http.StatusCreated, &contact)
		var user struct {
			ID int64 `json:"id"`
		}
		s.do("POST", "/api/v1/users", map[string]any{"login": "manager1", "password": "Manager-password-1", "first_name": "Анна", "role": "manager"},
			http.StatusCreated, &user)
		s.do("PUT", fmt.Sprintf("/api/v1/users/%d/profile", user.ID), map[string]any{"internal_phone": "101"}, http.StatusOK, nil)

		var b automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "пропущенный", "active": true, "max_attempts": 1,
			"trigger": map[string]any{"type": "call.missed"},
			"steps": []any{map[string]any{"id": "post", "action": "crm.timeline.add",
				"input": map[string]any{"entity": "{{trigger.record.owner_type}}", "id": "{{trigger.record.owner_id}}",
					"text": "Пропущен звонок с {{trigger.record.comm_value}}"}}}},
			http.StatusCreated, &b)

		if info := s.hookInfo(conn.ID); info.HookAt != nil {
			t.Fatalf("a hook before one was made: %+v", info)
		}
		hook := s.hook(conn.ID)
		if info := s.hookInfo(conn.ID); info.HookAt == nil {
			t.Fatalf("no hook_at after the hook was made: %+v", info)
		}
		// The address check.
		res, err := http.Get(hook + "?zd_echo=d41d8cd98f")
		if err != nil {
			t.Fatal(err)
		}
		echo, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(echo) != "d41d8cd98f" {
			t.Fatalf("zd_echo: %d %q", res.StatusCode, echo)
		}
		// Zadarma posts to the URL itself: nothing below it.
		if code, _ := post(t, hook+"/events/call", url.Values{"event": {"NOTIFY_START"}}, nil); code != 404 {
			t.Fatalf("a path below Zadarma's hook: %d", code)
		}
		// A guessed token is nobody's.
		if code, _ := post(t, hook[:len(hook)-3]+"AAA", url.Values{"event": {"NOTIFY_START"}}, nil); code != 404 {
			t.Fatalf("guessed token: %d", code)
		}

		start, sig := zadarmaForm("secret1", "event", "NOTIFY_START", "call_start", "2026-12-05 12:00:00", "pbx_call_id", "in_1c2d",
			"caller_id", "79256424295", "called_did", "74951234567")
		code, body := post(t, hook, start, sig)
		if code != 200 || body["result"] != "created" {
			t.Fatalf("NOTIFY_START: %d %v", code, body)
		}
		actID := int64(body["activity_id"].(float64))
		a := s.activity(actID)
		if a.Kind != "call" || a.Direction != "in" || a.CallStatus != "ringing" || a.OwnerType != "contact" || a.OwnerID != contact.ID ||
			a.CommValue != "+79256424295" || a.Done || !strings.HasPrefix(a.StartAt, "2026-12-05T09:00:00") {
			t.Fatalf("after start: %+v", a)
		}
		// Zadarma sends it again: nothing new.
		if code, body := post(t, hook, start, sig); code != 200 || body["result"] != "repeat" || int64(body["activity_id"].(float64)) != actID {
			t.Fatalf("repeat: %d %v", code, body)
		}
		// A forged one.
		forged, _ := zadarmaForm("secret1", "event", "NOTIFY_END", "call_start", "2026-12-05 12:00:00", "pbx_call_id", "in_1c2d",
			"caller_id", "79256424295", "called_did", "74951234567", "disposition", "answered", "duration", "600")
		if code, body := post(t, hook, forged, map[string]string{"Signature": "bm90IGl0"}); code != 401 || body["field"] != "Signature" {
			t.Fatalf("forged: %d %v", code, body)
		}
		internal, sig := zadarmaForm("secret1", "event", "NOTIFY_INTERNAL", "call_start", "2026-12-05 12:00:00", "pbx_call_id", "in_1c2d",
			"caller_id", "79256424295", "called_did", "74951234567", "internal", "101")
		if code, body := post(t, hook, internal, sig); code != 200 || body["result"] != "updated" {
			t.Fatalf("NOTIFY_INTERNAL: %d %v", code, body)
		}
		end, sig := zadarmaForm("secret1", "event", "NOTIFY_END", "call_start", "2026-12-05 12:00:00", "pbx_call_id", "in_1c2d",
			"caller_id", "79256424295", "called_did", "74951234567", "internal", "101", "disposition", "no answer", "duration", "0",
			"status_code", "19", "is_recorded", "0")
		for i, want := range []string{"updated", "repeat", "repeat"} {
			if code, body := post(t, hook, end, sig); code != 200 || body["result"] != want {
				t.Fatalf("NOTIFY_END %d: %d %v", i, code, body)
			}
		}
		a = s.activity(actID)
		if a.CallStatus != "missed" || !a.Done || a.CallLine != "101" || a.Subject != "Пропущенный звонок +79256424295" || a.AssignedByID != user.ID {
			t.Fatalf("after end: %+v", a)
		}
		// A call told first at its end goes to the line's user too.
		start2, sig := zadarmaForm("secret1", "event", "NOTIFY_END", "call_start", "2026-12-05 13:00:00", "pbx_call_id", "in_77",
			"caller_id", "+7 925 642-42-95", "called_did", "74951234567", "internal", "101", "disposition", "answered", "duration", "95",
			"is_recorded", "1", "call_id_with_rec", "1733400000.12345")
		code, body = post(t, hook, start2, sig)
		if code != 200 || body["result"] != "created" {
			t.Fatalf("answered: %d %v", code, body)
		}
		act2 := int64(body["activity_id"].(float64))
		a2 := s.activity(act2)
		if a2.AssignedByID != user.ID || a2.CallStatus != "answered" || a2.CallDuration != 95 || !a2.Done ||
			!strings.HasPrefix(a2.EndAt, "2026-12-05T10:01:35") {
			t.Fatalf("answered call: %+v", a2)
		}
		rec, sig := zadarmaForm("secret1", "event", "NOTIFY_RECORD", "pbx_call_id", "in_77", "call_id_with_rec", "1733400000.12345")
		if code, body := post(t, hook, rec, sig); code != 200 || body["result"] != "updated" {
			t.Fatalf("NOTIFY_RECORD: %d %v", code, body)
		}
		if a2 = s.activity(act2); a2.RecordingURL != "https://api.zadarma.com/v1/pbx/record/download/1733400000.12345/rec.mp3" {
			t.Fatalf("recording: %+v", a2)
		}
		// Bad input: a precise error.
		badTime, sig := zadarmaForm("secret1", "event", "NOTIFY_START", "call_start", "вчера", "pbx_call_id", "x1",
			"caller_id", "79256424295", "called_did", "74951234567")
		if code, body := post(t, hook, badTime, sig); code != 400 || body["field"] != "call_start" {
			t.Fatalf("bad time: %d %v", code, body)
		}

		// One run for the missed call, however often it was told.
		runs := s.waitRuns(b.ID, 1)
		time.Sleep(200 * time.Millisecond)
		var l automation.RunList
		s.do("GET", fmt.Sprintf("/api/v1/bundles/%d/runs", b.ID), nil, http.StatusOK, &l)
		if len(l.Items) != 1 || runs[0].Status != automation.StatusOK {
			t.Fatalf("runs: %+v", l.Items)
		}
		var tl struct {
			Items []map[string]any `json:"items"`
		}
		s.do("GET", fmt.Sprintf("/api/v1/contacts/%d/timeline", contact.ID), nil, http.StatusOK, &tl)
		if !strings.Contains(fmt.Sprint(tl.Items), "Пропущен звонок с +79256424295") {
			t.Fatalf("timeline: %v", tl.Items)
		}

		// The journal tells what came and what became of it.
		info := s.hookInfo(conn.ID)
		outcomes := map[string]int{}
		for _, e := range info.Journal {
			outcomes[e.Outcome]++
			if e.Outcome == "failed" && e.Error == "" {
				t.Fatalf("failed without a reason: %+v", e)
			}
		}
		if outcomes["created"] != 2 || outcomes["repeat"] != 3 || outcomes["failed"] != 2 || outcomes["updated"] != 3 {
			t.Fatalf("journal: %v %+v", outcomes, info.Journal)
		}
	})
}

// An unknown caller makes a lead by default; a connection set not to
// leaves the call unbound.
func TestUnknownCallerLead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		s := newServer(t, d)
		for _, tc := range []struct {
			create   any
			phone    string
			wantLead bool
		}{{nil, "79161112233", true}, {false, "79161112244", false}} {
			set := map[string]any{"key": "k", "secret": "s"}
			if tc.create != nil {
				set["create_leads"] = tc.create
			}
			var conn struct {
				ID int64 `json:"id"`
			}
			s.do("POST", "/api/v1/connections", map[string]any{"type": "zadarma", "name": fmt.Sprint("Z", tc.create), "settings": set}, http.StatusCreated, &conn)
			f, sig := zadarmaForm("s", "event", "NOTIFY_START", "call_start", "2026-12-05 12:00:00", "pbx_call_id", fmt.Sprint("c", conn.ID),
				"caller_id", tc.phone, "called_did", "74951234567")
			code, body := post(t, s.hook(conn.ID), f, sig)
			if code != 200 {
				t.Fatalf("%d %v", code, body)
			}
			a := s.activity(int64(body["activity_id"].(float64)))
			if tc.wantLead != (a.OwnerType == "lead") || (!tc.wantLead && a.OwnerID != 0) {
				t.Fatalf("create_leads %v: %+v", tc.create, a)
			}
			if tc.wantLead {
				var l struct {
					Title    string `json:"title"`
					SourceID string `json:"source_id"`
				}
				s.do("GET", fmt.Sprintf("/api/v1/leads/%d", a.OwnerID), nil, http.StatusOK, &l)
				if l.SourceID != "CALL" || !strings.Contains(l.Title, tc.phone) {
					t.Fatalf("lead %+v", l)
				}
			}
		}
	})
}

func mangoForm(key, salt string, v any) url.Values {
	js := string(mustJSON(v))
	return url.Values{"vpbx_api_key": {key}, "sign": {telephony.MangoSign(key, salt, js)}, "json": {js}}
}

// Mango Office's events of an answered outgoing call and an incoming
// one that was missed: events/call, events/summary, events/recording,
// signed; a wrong salt or PBX code is refused.
func TestMangoEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		s := newServer(t, d)
		var conn struct {
			ID int64 `json:"id"`
		}
		s.do("POST", "/api/v1/connections", map[string]any{"type": "mango", "name": "Манго", "settings": map[string]any{
			"key": "vpbx-key", "salt": "vpbx-salt"}}, http.StatusCreated, &conn)
		var b automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "завершён", "active": true, "max_attempts": 1,
			"trigger": map[string]any{"type": "call.finished"},
			"steps":   []any{map[string]any{"id": "s", "action": "stop", "input": map[string]any{}}}}, http.StatusCreated, &b)
		var in automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "входящий", "active": true, "max_attempts": 1,
			"trigger": map[string]any{"type": "call.incoming"},
			"steps":   []any{map[string]any{"id": "s", "action": "stop", "input": map[string]any{}}}}, http.StatusCreated, &in)
		hook := s.hook(conn.ID)
		appeared := map[string]any{"entry_id": "MjU2NzI5OTU3MA==", "call_id": "MToxMDE3NjE0Njox", "timestamp": 1733400000, "seq": 1,
			"call_state": "Appeared", "location": "abonent", "from": map[string]any{"extension": "102", "number": "sip:102@vpbx.mangosip.ru"},
			"to": map[string]any{"number": "79031234567"}}
		code, body := post(t, hook+"/events/call", mangoForm("vpbx-key", "vpbx-salt", appeared), nil)
		if code != 200 || body["result"] != "created" {
			t.Fatalf("events/call: %d %v", code, body)
		}
		id := int64(body["activity_id"].(float64))
		if a := s.activity(id); a.Direction != "out" || a.CallLine != "102" || a.CommValue != "+79031234567" || a.CallStatus != "ringing" || a.OwnerID != 0 {
			t.Fatalf("outgoing: %+v", a)
		}
		summary := map[string]any{"entry_id": "MjU2NzI5OTU3MA==", "call_direction": 2, "from": map[string]any{"extension": "102", "number": "sip:102@vpbx.mangosip.ru"},
			"to": map[string]any{"number": "79031234567"}, "line_number": "74951234567", "create_time": 1733400000, "forward_time": 1733400002,
			"talk_time": 1733400010, "end_time": 1733400130, "entry_result": 1, "disconnect_reason": 1110}
		for i, want := range []string{"updated", "repeat"} {
			if code, body := post(t, hook+"/events/summary", mangoForm("vpbx-key", "vpbx-salt", summary), nil); code != 200 || body["result"] != want {
				t.Fatalf("summary %d: %d %v", i, code, body)
			}
		}
		if a := s.activity(id); a.CallStatus != "answered" || a.CallDuration != 120 || !a.Done {
			t.Fatalf("answered: %+v", a)
		}
		rec := map[string]any{"entry_id": "MjU2NzI5OTU3MA==", "call_id": "MToxMDE3NjE0Njox", "extension": "102", "recording_id": "MToxMDE3NjE0Njo0NTY=",
			"recording_state": "Completed", "seq": 3, "timestamp": 1733400131}
		if code, body := post(t, hook+"/events/recording", mangoForm("vpbx-key", "vpbx-salt", rec), nil); code != 200 || body["result"] != "updated" {
			t.Fatalf("recording: %d %v", code, body)
		}
		if a := s.activity(id); !strings.HasPrefix(a.RecordingURL, "https://app.mango-office.ru/vpbx/queries/recording/link/MToxMDE3NjE0Njo0NTY=/play/vpbx-key/") {
			t.Fatalf("recording link: %+v", a)
		}
		// A missed incoming call from an unknown number.
		missed := map[string]any{"entry_id": "OTk5", "call_direction": 1, "from": map[string]any{"number": "79995550011"},
			"to": map[string]any{"extension": "", "number": "74951234567"}, "line_number": "74951234567", "create_time": 1733401000,
			"forward_time": 0, "talk_time": 0, "end_time": 1733401030, "entry_result": 0, "disconnect_reason": 1100}
		code, body = post(t, hook+"/events/summary", mangoForm("vpbx-key", "vpbx-salt", missed), nil)
		if code != 200 || body["result"] != "created" {
			t.Fatalf("missed: %d %v", code, body)
		}
		if a := s.activity(int64(body["activity_id"].(float64))); a.CallStatus != "missed" || a.OwnerType != "lead" || a.Direction != "in" {
			t.Fatalf("missed: %+v", a)
		}
		// Forged: another salt, another PBX's code, no kind.
		for _, tc := range []struct {
			path  string
			form  url.Values
			field string
		}{
			{"/events/summary", mangoForm("vpbx-key", "other-salt", missed), "sign"},
			{"/events/summary", mangoForm("other-key", "vpbx-salt", missed), "vpbx_api_key"},
			{"", mangoForm("vpbx-key", "vpbx-salt", missed), "path"},
		} {
			if code, body := post(t, hook+tc.path, tc.form, nil); code/100 != 4 || body["field"] != tc.field {
				t.Fatalf("%s: %d %v", tc.field, code, body)
			}
		}
		// Bad JSON, well signed: the field at fault.
		bad := map[string]any{"entry_id": "X", "call_direction": 1, "entry_result": 7}
		if code, body := post(t, hook+"/events/summary", mangoForm("vpbx-key", "vpbx-salt", bad), nil); code != 400 || body["field"] != "json.entry_result" {
			t.Fatalf("bad entry_result: %d %v", code, body)
		}
		// An event Obmen does not use is taken and ignored.
		if code, body := post(t, hook+"/events/dtmf", mangoForm("vpbx-key", "vpbx-salt", map[string]any{"entry_id": "X"}), nil); code != 200 || body["result"] != "ignored" {
			t.Fatalf("dtmf: %d %v", code, body)
		}
		// Both calls finished: two runs; one of them was incoming.
		s.waitRuns(b.ID, 2)
		runs := s.waitRuns(in.ID, 1)
		if len(runs) != 1 {
			t.Fatalf("call.incoming runs: %+v", runs)
		}
		run := runs[0]
		s.do("GET", fmt.Sprintf("/api/v1/runs/%d", run.ID), nil, http.StatusOK, &run)
		trig, _ := run.Trigger.(map[string]any)
		if rec, _ := trig["record"].(map[string]any); rec["call_from"] != "79995550011" || rec["direction"] != "in" {
			t.Fatalf("call.incoming's record: %+v", run.Trigger)
		}
	})
}
