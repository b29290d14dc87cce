package calltouch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Date formats. The calls diary takes its days as dd/mm/yyyy and writes a
// call's date as "dd/mm/yyyy hh:mm:ss"; the requests journal takes its
// days the American way, mm/dd/yyyy, its times as HH:mm:ss, and writes a
// request's date as milliseconds since 1970 (date) and dd/mm/yyyy
// hh:mm:ss (dateStr). All without an offset, in the account's zone.
const (
	callsDay    = "02/01/2006"
	requestsDay = "01/02/2006"
	clock       = "15:04:05"
	callsTime   = "02/01/2006 15:04:05"
	// dealTime is how Obmen writes the deals API's dates.
	dealTime = "2006-01-02 15:04:05"
)

// ID is an identifier Calltouch writes as a number or as text.
type ID string

func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*id = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("an id must be a number or text, not %s", b)
	}
	*id = ID(n.String())
	return nil
}

// Tag is a tag group of a call or a request: its type and category say
// where the tags came from (set by hand, by tone signals, by the called
// number…).
type Tag struct {
	Category string   `json:"category"`
	Type     string   `json:"type"`
	Names    []string `json:"names"`
}

// Call is a record of the calls diary, the fields Obmen uses.
type Call struct {
	CallID         ID      `json:"callId"`
	Date           string  `json:"date"`
	CallerNumber   string  `json:"callerNumber"`
	PhoneNumber    string  `json:"phoneNumber"`
	Duration       int64   `json:"duration"`
	WaitingConnect int64   `json:"waitingConnect"`
	Successful     bool    `json:"successful"`
	UniqueCall     bool    `json:"uniqueCall"`
	TargetCall     bool    `json:"targetCall"`
	UniqTargetCall bool    `json:"uniqTargetCall"`
	CallbackCall   bool    `json:"callbackCall"`
	City           string  `json:"city"`
	Source         string  `json:"source"`
	Medium         string  `json:"medium"`
	Keyword        string  `json:"keyword"`
	URL            string  `json:"url"`
	CallURL        string  `json:"callUrl"`
	Ref            string  `json:"ref"`
	UtmSource      string  `json:"utmSource"`
	UtmMedium      string  `json:"utmMedium"`
	UtmCampaign    string  `json:"utmCampaign"`
	UtmContent     string  `json:"utmContent"`
	UtmTerm        string  `json:"utmTerm"`
	SessionID      ID      `json:"sessionId"`
	ClientID       *string `json:"clientId"` // Google Analytics
	YaClientID     *string `json:"yaClientId"`
	CtClientID     ID      `json:"ctClientId"`
	Manager        string  `json:"manager"`
	CallTags       []Tag   `json:"callTags"`
}

// Request is a record of the requests journal.
type Request struct {
	RequestID     ID     `json:"requestId"`
	RequestNumber string `json:"requestNumber"`
	Subject       string `json:"subject"`
	Date          int64  `json:"date"` // ms since 1970
	DateStr       string `json:"dateStr"`
	Manager       string `json:"manager"`
	Client        struct {
		ClientID ID     `json:"clientId"`
		Fio      string `json:"fio"`
		Phones   []struct {
			PhoneNumber string `json:"phoneNumber"`
			PhoneType   string `json:"phoneType"`
		} `json:"phones"`
		Contacts []struct {
			ContactType  string `json:"contactType"`
			ContactValue string `json:"contactValue"`
		} `json:"contacts"`
	} `json:"client"`
	Session struct {
		SessionID   ID     `json:"sessionId"`
		Source      string `json:"source"`
		Medium      string `json:"medium"`
		Keywords    string `json:"keywords"`
		City        string `json:"city"`
		URL         string `json:"url"`
		Ref         string `json:"ref"`
		UtmSource   string `json:"utmSource"`
		UtmMedium   string `json:"utmMedium"`
		UtmCampaign string `json:"utmCampaign"`
		UtmContent  string `json:"utmContent"`
		UtmTerm     string `json:"utmTerm"`
		GuaClientID string `json:"guaClientId"`
		YaClientID  string `json:"yaClientId"`
	} `json:"session"`
	CtClientID  ID    `json:"ctClientId"`
	RequestTags []Tag `json:"requestTags"`
}

// ParseTime reads a date as Calltouch writes it, in loc when it has no
// offset: "dd/mm/yyyy hh:mm:ss" (the journals), "yyyy-mm-dd hh:mm:ss"
// (webhooks), RFC 3339, or seconds or milliseconds since 1970.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("calltouch: empty date")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		if n > 1e11 { // milliseconds
			return time.UnixMilli(n).In(loc), nil
		}
		return time.Unix(n, 0).In(loc), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), nil
	}
	for _, f := range []string{callsTime, dealTime, "02/01/2006 15:04", "2006-01-02T15:04:05", "02.01.2006 15:04:05", "02/01/2006", "2006-01-02"} {
		if t, err := time.ParseInLocation(f, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("calltouch: %q is not a date Calltouch writes (dd/mm/yyyy hh:mm:ss, yyyy-mm-dd hh:mm:ss, RFC 3339 or Unix time)", s)
}

func tagNames(ts []Tag) []any {
	out := []any{}
	for _, t := range ts {
		for _, n := range t.Names {
			if n = strings.TrimSpace(n); n != "" {
				out = append(out, n)
			}
		}
	}
	return out
}

func joined(names []any) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, "|")
}

func tagGroups(ts []Tag) []any {
	out := []any{}
	for _, t := range ts {
		names := make([]any, 0, len(t.Names))
		for _, n := range t.Names {
			names = append(names, n)
		}
		out = append(out, map[string]any{"type": t.Type, "category": t.Category, "names": names})
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Key is the item key of a call or request, the same polled and pushed.
func callKey(id ID) string    { return "calltouch:call:" + string(id) }
func requestKey(id ID) string { return "calltouch:request:" + string(id) }

// Data is the call as trigger data (trigger.* in templates).
func (c Call) Data(loc *time.Location) (map[string]any, time.Time, error) {
	if c.CallID == "" {
		return nil, time.Time{}, fmt.Errorf("calltouch: a call without callId")
	}
	t, err := ParseTime(c.Date, loc)
	if err != nil {
		return nil, t, fmt.Errorf("calltouch: call %s: date: %w", c.CallID, err)
	}
	tags := tagNames(c.CallTags)
	return map[string]any{
		"call_id": string(c.CallID), "date": t.Format(time.RFC3339),
		"caller_number": c.CallerNumber, "phone_number": c.PhoneNumber,
		"duration": c.Duration, "waiting": c.WaitingConnect,
		"successful": c.Successful, "unique": c.UniqueCall, "target": c.TargetCall, "unique_target": c.UniqTargetCall, "callback": c.CallbackCall,
		"source": c.Source, "medium": c.Medium, "keyword": c.Keyword, "city": c.City, "url": c.URL, "call_url": c.CallURL, "ref": c.Ref,
		"utm_source": c.UtmSource, "utm_medium": c.UtmMedium, "utm_campaign": c.UtmCampaign, "utm_content": c.UtmContent, "utm_term": c.UtmTerm,
		"google_client_id": deref(c.ClientID), "yandex_client_id": deref(c.YaClientID), "ct_client_id": string(c.CtClientID),
		"session_id": string(c.SessionID), "manager": c.Manager,
		"tags": tags, "tags_text": joined(tags), "tag_groups": tagGroups(c.CallTags),
	}, t, nil
}

// Data is the request as trigger data.
func (r Request) Data(loc *time.Location) (map[string]any, time.Time, error) {
	if r.RequestID == "" {
		return nil, time.Time{}, fmt.Errorf("calltouch: a request without requestId")
	}
	var t time.Time
	switch {
	case r.Date > 0:
		t = time.UnixMilli(r.Date).In(loc)
	default:
		var err error
		if t, err = ParseTime(r.DateStr, loc); err != nil {
			return nil, t, fmt.Errorf("calltouch: request %s: date: %w", r.RequestID, err)
		}
	}
	phones, emails := []any{}, []any{}
	for _, p := range r.Client.Phones {
		if v := strings.TrimSpace(p.PhoneNumber); v != "" {
			phones = append(phones, v)
		}
	}
	for _, c := range r.Client.Contacts {
		if v := strings.TrimSpace(c.ContactValue); v != "" && (strings.EqualFold(c.ContactType, "email") || strings.Contains(v, "@")) {
			emails = append(emails, v)
		}
	}
	tags := tagNames(r.RequestTags)
	s := r.Session
	return map[string]any{
		"request_id": string(r.RequestID), "request_number": r.RequestNumber, "date": t.Format(time.RFC3339), "subject": r.Subject,
		"name": r.Client.Fio, "phones": phones, "phone": first(phones), "emails": emails, "email": first(emails),
		"session_id": string(s.SessionID), "source": s.Source, "medium": s.Medium, "keyword": s.Keywords, "city": s.City, "url": s.URL, "ref": s.Ref,
		"utm_source": s.UtmSource, "utm_medium": s.UtmMedium, "utm_campaign": s.UtmCampaign, "utm_content": s.UtmContent, "utm_term": s.UtmTerm,
		"google_client_id": s.GuaClientID, "yandex_client_id": s.YaClientID, "ct_client_id": string(r.CtClientID), "manager": r.Manager,
		"tags": tags, "tags_text": joined(tags), "tag_groups": tagGroups(r.RequestTags),
	}, t, nil
}

func first(xs []any) string {
	if len(xs) == 0 {
		return ""
	}
	return fmt.Sprint(xs[0])
}

// Number is an integer input written as a number or as text (a
// template's "{{trigger.call_id}}").
type Number int64

func (n *Number) UnmarshalJSON(b []byte) error {
	var id ID
	if err := id.UnmarshalJSON(b); err != nil {
		return err
	}
	if id == "" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(string(id), 10, 64)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "string", Type: reflect.TypeFor[int64]()}
	}
	*n = Number(v)
	return nil
}

// Amount is a sum written as a number or as text ("1500.50", "1 500,50").
type Amount float64

func (a *Amount) UnmarshalJSON(b []byte) error {
	var id ID
	if err := id.UnmarshalJSON(b); err != nil {
		return err
	}
	s := strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(string(id)), " ", ""), ",", ".")
	if s == "" {
		*a = 0
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "string", Type: reflect.TypeFor[float64]()}
	}
	*a = Amount(v)
	return nil
}
