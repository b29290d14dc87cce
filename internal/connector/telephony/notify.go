package telephony

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// BadNotification is a notification refused: Field names what is at
// fault; Auth is a signature that does not match.
type BadNotification struct {
	Field   string
	Message string
	Auth    bool
}

func (e *BadNotification) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func bad(field, format string, args ...any) *BadNotification {
	return &BadNotification{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Zadarma's notifications (https://zadarma.com/en/support/api/#api_webhooks,
// and the official client github.com/zadarma/user-api-v1, lib/Webhook/*.php):
// form posts with an event, signed in the Signature header by base64 of
// the hex HMAC-SHA1, under the API secret, of some of their fields.
const (
	ZadarmaStart    = "NOTIFY_START"
	ZadarmaInternal = "NOTIFY_INTERNAL"
	ZadarmaAnswer   = "NOTIFY_ANSWER"
	ZadarmaEnd      = "NOTIFY_END"
	ZadarmaOutStart = "NOTIFY_OUT_START"
	ZadarmaOutEnd   = "NOTIFY_OUT_END"
	ZadarmaRecord   = "NOTIFY_RECORD"
)

// zadarmaSigned are the fields each event's signature covers, in order.
var zadarmaSigned = map[string][]string{
	ZadarmaStart:    {"caller_id", "called_did", "call_start"},
	ZadarmaInternal: {"caller_id", "called_did", "call_start"},
	ZadarmaAnswer:   {"caller_id", "destination", "call_start"},
	ZadarmaEnd:      {"caller_id", "called_did", "call_start"},
	ZadarmaOutStart: {"internal", "destination", "call_start"},
	ZadarmaOutEnd:   {"internal", "destination", "call_start"},
	ZadarmaRecord:   {"pbx_call_id", "call_id_with_rec"},
}

// ZadarmaNotifySign is the Signature of a notification (the event read as
// ParseZadarma reads it, spaces around it ignored).
func ZadarmaNotifySign(secret, event string, f url.Values) string {
	var b strings.Builder
	for _, k := range zadarmaSigned[strings.TrimSpace(event)] {
		b.WriteString(f.Get(k))
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(m.Sum(nil))))
}

// ZadarmaNotification is a parsed notification: the call it tells of and,
// for NOTIFY_RECORD, the id of the recording (whose link the API gives).
type ZadarmaNotification struct {
	Event       string
	Call        Call
	RecordingID string
}

// ParseZadarma checks and reads a notification; an event Obmen does not
// use (NOTIFY_IVR, SMS …) is Event with an empty Call.ID.
func ParseZadarma(f url.Values, signature, secret string, loc *time.Location) (ZadarmaNotification, error) {
	ev := strings.TrimSpace(f.Get("event"))
	n := ZadarmaNotification{Event: ev}
	if ev == "" {
		return n, bad("event", "missing")
	}
	if _, ok := zadarmaSigned[ev]; !ok {
		return n, nil
	}
	want := ZadarmaNotifySign(secret, ev, f)
	if signature == "" {
		return n, &BadNotification{Field: "Signature", Message: "missing", Auth: true}
	}
	if subtle.ConstantTimeCompare([]byte(signature), []byte(want)) != 1 {
		return n, &BadNotification{Field: "Signature", Message: "does not match the API secret", Auth: true}
	}
	c := Call{ID: strings.TrimSpace(f.Get("pbx_call_id"))}
	if c.ID == "" {
		return n, bad("pbx_call_id", "missing")
	}
	if ev != ZadarmaRecord {
		st, err := zadarmaTime(f.Get("call_start"), loc)
		if err != nil {
			return n, bad("call_start", "%v", err)
		}
		c.Start = st
	}
	end := func() error {
		d, err := seconds(f.Get("duration"))
		if err != nil {
			return bad("duration", "%v", err)
		}
		c.Duration = d
		switch disp := strings.TrimSpace(f.Get("disposition")); {
		case disp == "answered":
			c.Status = crm.CallAnswered
		case disp == "":
			return bad("disposition", "missing")
		default:
			c.Status = crm.CallMissed
			c.Duration = 0
		}
		return nil
	}
	switch ev {
	case ZadarmaStart, ZadarmaInternal:
		c.Direction, c.From, c.To, c.Line, c.Status = DirectionIn, f.Get("caller_id"), f.Get("called_did"), f.Get("internal"), crm.CallRinging
	case ZadarmaAnswer:
		c.Direction, c.From, c.Status = DirectionIn, f.Get("caller_id"), crm.CallTalking
		c.Line = f.Get("internal")
		if c.Line == "" {
			c.Line = f.Get("destination")
		}
	case ZadarmaEnd:
		c.Direction, c.From, c.To, c.Line = DirectionIn, f.Get("caller_id"), f.Get("called_did"), f.Get("internal")
		if err := end(); err != nil {
			return n, err
		}
	case ZadarmaOutStart:
		c.Direction, c.From, c.To, c.Line, c.Status = DirectionOut, f.Get("internal"), f.Get("destination"), f.Get("internal"), crm.CallRinging
	case ZadarmaOutEnd:
		c.Direction, c.From, c.To, c.Line = DirectionOut, f.Get("caller_id"), f.Get("destination"), f.Get("internal")
		if c.From == "" {
			c.From = c.Line
		}
		if err := end(); err != nil {
			return n, err
		}
	case ZadarmaRecord:
		n.RecordingID = strings.TrimSpace(f.Get("call_id_with_rec"))
		if n.RecordingID == "" {
			return n, bad("call_id_with_rec", "missing")
		}
	}
	for name, v := range map[string]string{"from": c.From, "to": c.To, "line": c.Line} {
		if len(v) > 64 || strings.ContainsAny(v, "\r\n\x00") {
			return n, bad(name, "%q is not a number", v)
		}
	}
	n.Call = c
	return n, nil
}

// zadarmaTime reads "2024-12-05 14:03:11", in the account's time zone.
func zadarmaTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("missing")
	}
	t, err := time.ParseInLocation(time.DateTime, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a time like 2024-12-05 14:03:11", s)
	}
	return t.UTC(), nil
}

func seconds(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 7*24*3600 {
		return 0, fmt.Errorf("%q is not a number of seconds", s)
	}
	return n, nil
}

// Mango Office's API events (API Mango Office v1.9, §3.1 "API Realtime":
// 3.1.2 events/call, 3.1.4 events/recording, 3.1.6 events/summary): form
// posts of vpbx_api_key, sign and json to <the address given to Mango>
// followed by /events/<kind> (§2.1.1), the sign being hex SHA-256 of
// vpbx_api_key + json + vpbx_api_salt (§2.4.3).
const (
	MangoCall      = "events/call"
	MangoSummary   = "events/summary"
	MangoRecording = "events/recording"
)

// MangoNotification is a parsed event; RecordingID is set by a completed
// recording (its link is signed, not fetched).
type MangoNotification struct {
	Event       string
	Call        Call
	RecordingID string
}

type mangoParty struct {
	Extension  mangoText `json:"extension"`
	Number     string    `json:"number"`
	LineNumber string    `json:"line_number"`
}

// mangoText is a value Mango types integer in its tables and sends as a
// string in its examples (an extension: "extension": 29 or "29"; a code:
// "completion_code": 1000 or "1000").
type mangoText string

func (t *mangoText) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*t = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = mangoText(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("%s is neither a number nor a string", b)
	}
	*t = mangoText(n)
	return nil
}

// ParseMango checks and reads an event; one Obmen does not use is Event
// with an empty Call.ID.
func ParseMango(event string, f url.Values, key, salt string) (MangoNotification, error) {
	n := MangoNotification{Event: event}
	gotKey, sign, js := f.Get("vpbx_api_key"), f.Get("sign"), f.Get("json")
	if gotKey == "" {
		return n, &BadNotification{Field: "vpbx_api_key", Message: "missing", Auth: true}
	}
	if subtle.ConstantTimeCompare([]byte(gotKey), []byte(key)) != 1 {
		return n, &BadNotification{Field: "vpbx_api_key", Message: "is not this connection's PBX code", Auth: true}
	}
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(sign)), []byte(MangoSign(key, salt, js))) != 1 {
		return n, &BadNotification{Field: "sign", Message: "does not match the signing key (salt)", Auth: true}
	}
	var m struct {
		EntryID         string          `json:"entry_id"`
		CallState       string          `json:"call_state"`
		Timestamp       json.Number     `json:"timestamp"`
		From            mangoParty      `json:"from"`
		To              mangoParty      `json:"to"`
		LineNumber      string          `json:"line_number"`
		CallDirection   json.Number     `json:"call_direction"`
		CreateTime      json.Number     `json:"create_time"`
		TalkTime        json.Number     `json:"talk_time"`
		EndTime         json.Number     `json:"end_time"`
		EntryResult     json.Number     `json:"entry_result"`
		RecordingID     string          `json:"recording_id"`
		RecordingState  string          `json:"recording_state"`
		CompletionCode  mangoText       `json:"completion_code"`
		Recipient       string          `json:"recipient"`
		DisconnectCause json.RawMessage `json:"disconnect_reason"`
	}
	switch event {
	case MangoCall, MangoSummary, MangoRecording:
	default:
		return n, nil
	}
	if js == "" {
		return n, bad("json", "missing")
	}
	d := json.NewDecoder(strings.NewReader(js))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return n, bad("json", "does not parse: %v", err)
	}
	c := Call{ID: strings.TrimSpace(m.EntryID)}
	if c.ID == "" {
		return n, bad("json.entry_id", "missing")
	}
	unix := func(field string, v json.Number) (time.Time, error) {
		if v == "" {
			return time.Time{}, nil
		}
		s, err := v.Int64()
		if err != nil || s < 0 || s > 1<<40 {
			return time.Time{}, bad("json."+field, "%q is not a Unix time", v)
		}
		if s == 0 {
			return time.Time{}, nil
		}
		return time.Unix(s, 0).UTC(), nil
	}
	switch event {
	case MangoCall:
		// Who rings whom: a call from an employee's extension is outgoing;
		// one between two extensions is internal, no customer's.
		if m.From.Extension != "" && m.To.Extension != "" {
			n.Call = Call{}
			return n, nil
		}
		c.Direction, c.From, c.To = DirectionIn, m.From.Number, m.To.Number
		c.Line = string(m.To.Extension)
		if m.From.Extension != "" {
			c.Direction, c.Line = DirectionOut, string(m.From.Extension)
			if c.From == "" {
				c.From = string(m.From.Extension)
			}
		}
		if c.Direction == DirectionIn && c.To == "" {
			c.To = m.To.LineNumber
		}
		st, err := unix("timestamp", m.Timestamp)
		if err != nil {
			return n, err
		}
		c.Start = st
		switch m.CallState {
		case "Appeared":
			c.Status = crm.CallRinging
		case "Connected", "OnHold":
			c.Status = crm.CallTalking
		case "Disconnected":
			// The summary that follows says how it ended.
		case "":
			return n, bad("json.call_state", "missing")
		default:
			return n, bad("json.call_state", "%q is not one of Appeared, Connected, OnHold, Disconnected", m.CallState)
		}
	case MangoSummary:
		switch m.CallDirection {
		case "1", "":
			c.Direction, c.Line = DirectionIn, string(m.To.Extension)
		case "2":
			c.Direction, c.Line = DirectionOut, string(m.From.Extension)
		case "0":
			// Internal: between two employees, no customer's call.
			n.Call = Call{}
			return n, nil
		default:
			return n, bad("json.call_direction", "%q is not 0, 1 or 2", m.CallDirection)
		}
		c.From, c.To = m.From.Number, m.To.Number
		if c.From == "" {
			c.From = string(m.From.Extension)
		}
		if c.To == "" {
			c.To = m.LineNumber
		}
		created, err := unix("create_time", m.CreateTime)
		if err != nil {
			return n, err
		}
		talk, err := unix("talk_time", m.TalkTime)
		if err != nil {
			return n, err
		}
		ended, err := unix("end_time", m.EndTime)
		if err != nil {
			return n, err
		}
		c.Start = created
		switch m.EntryResult {
		case "1":
			// 1 is "the call succeeded and a talk took place", yet a call
			// that ended in the voice menu comes as 1 with talk_time 0
			// (§3.1.6, example 2): nobody answered it.
			c.Status = crm.CallMissed
			if !talk.IsZero() {
				c.Status = crm.CallAnswered
				if ended.After(talk) {
					c.Duration = int64(ended.Sub(talk) / time.Second)
				}
			}
		case "0":
			c.Status = crm.CallMissed
		default:
			return n, bad("json.entry_result", "%q is not 0 or 1", m.EntryResult)
		}
	case MangoRecording:
		// Started and Continued tell of a recording under way; a
		// completed one was kept only with code 1000 (4002: too short,
		// 22xx: the account is blocked), and only in the cloud can a link
		// play it (recipient Mail: sent by e-mail only).
		if m.RecordingState != "Completed" || (m.CompletionCode != "" && m.CompletionCode != "1000") || m.Recipient == "Mail" {
			n.Call = Call{}
			return n, nil
		}
		n.RecordingID = strings.TrimSpace(m.RecordingID)
		if n.RecordingID == "" || strings.ContainsAny(n.RecordingID, "/?#") {
			return n, bad("json.recording_id", "%q is not a recording's id", m.RecordingID)
		}
	}
	for name, v := range map[string]string{"from": c.From, "to": c.To, "line": c.Line} {
		if len(v) > 64 || strings.ContainsAny(v, "\r\n\x00") {
			return n, bad("json."+name, "%q is not a number", v)
		}
	}
	n.Call = c
	return n, nil
}

// MangoRecordingLink is the signed link that plays a recording until
// expires (API ВАТС, "Получение ссылки на запись разговора":
// /queries/recording/link/{recording_id}/play/{key}/{timestamp}/{sign},
// sign = sha256(key + timestamp + recording_id + salt)).
func MangoRecordingLink(base, key, salt, recordingID string, expires time.Time) string {
	ts := strconv.FormatInt(expires.Unix(), 10)
	h := sha256.Sum256([]byte(key + ts + recordingID + salt))
	return strings.TrimRight(base, "/") + "/queries/recording/link/" + url.PathEscape(recordingID) + "/play/" +
		url.PathEscape(key) + "/" + ts + "/" + hex.EncodeToString(h[:])
}
