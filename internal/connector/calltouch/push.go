package calltouch

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
)

// Calltouch's webhooks are GET or POST requests whose parameters —
// URL-encoded, in the query or an application/x-www-form-urlencoded
// body — are the ones chosen in the account (Интеграции → Вебхуки). The
// parsers take Calltouch's own parameter names, in any letter case, and
// the names of the journals' JSON where they differ, so that a webhook
// set up with the journal's names works too. A pushed call or request
// gives the same item key and the same data as the same one polled.

// MaxPushBody bounds a webhook's body.
const MaxPushBody = 1 << 20

// pushValues reads the parameters of a webhook request.
func pushValues(r *http.Request) (url.Values, error) {
	vals := url.Values{}
	for k, v := range r.URL.Query() {
		vals[strings.ToLower(k)] = append(vals[strings.ToLower(k)], v...)
	}
	if r.Body == nil || r.Method == http.MethodGet {
		return vals, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPushBody+1))
	if err != nil {
		return nil, fmt.Errorf("calltouch webhook: read the body: %w", err)
	}
	if len(body) > MaxPushBody {
		return nil, fmt.Errorf("calltouch webhook: the body is over %d bytes", MaxPushBody)
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "" && ct != "application/x-www-form-urlencoded" && ct != "text/plain" {
		return nil, fmt.Errorf("calltouch webhook: Content-Type %q: Calltouch sends URL-encoded parameters", ct)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("calltouch webhook: the body is not URL-encoded: %w", err)
	}
	for k, v := range form {
		vals[strings.ToLower(k)] = append(vals[strings.ToLower(k)], v...)
	}
	return vals, nil
}

// lower is v with its names in lower case: Calltouch's parameters are
// matched in any letter case.
func lower(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, xs := range v {
		out[strings.ToLower(k)] = append(out[strings.ToLower(k)], xs...)
	}
	return out
}

// get is the first non-empty value of the names.
func get(v url.Values, names ...string) string {
	for _, n := range names {
		if s := strings.TrimSpace(v.Get(strings.ToLower(n))); s != "" {
			return s
		}
	}
	return ""
}

func flag(v url.Values, names ...string) (bool, error) {
	s := strings.ToLower(get(v, names...))
	switch s {
	case "", "false", "0", "no", "unsuccessful", "missed":
		return false, nil
	case "true", "1", "yes", "successful":
		return true, nil
	}
	return false, fmt.Errorf("%s: %q is not true or false", names[0], s)
}

func list(v url.Values, names ...string) []string {
	var out []string
	for _, n := range names {
		for _, s := range v[strings.ToLower(n)] {
			for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '|' }) {
				if p := strings.TrimSpace(part); p != "" {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// checkSite refuses a webhook of another site when it names one.
func checkSite(v url.Values, a Account) error {
	if s := get(v, "siteId", "site_id"); s != "" && a.SiteID != "" && s != a.SiteID {
		return fmt.Errorf("calltouch webhook: siteId %s is not the connection's site %s", s, a.SiteID)
	}
	return nil
}

// CallFromValues reads a call webhook's parameters as a diary record.
func CallFromValues(v url.Values) (Call, error) {
	v = lower(v)
	var c Call
	c.CallID = ID(get(v, "callId", "call_id", "id"))
	if c.CallID == "" {
		return c, fmt.Errorf("calltouch webhook: callId: required")
	}
	if _, err := strconv.ParseInt(string(c.CallID), 10, 64); err != nil {
		return c, fmt.Errorf("calltouch webhook: callId: %q is not a call id", c.CallID)
	}
	c.Date = get(v, "calltime", "callTime", "date", "timestamp")
	if c.Date == "" {
		return c, fmt.Errorf("calltouch webhook: call %s: calltime: required", c.CallID)
	}
	c.CallerNumber = get(v, "callerphone", "callerNumber", "caller_number")
	c.PhoneNumber = get(v, "phonenumber", "phoneNumber")
	var err error
	if s := get(v, "duration"); s != "" {
		if c.Duration, err = strconv.ParseInt(s, 10, 64); err != nil || c.Duration < 0 {
			return c, fmt.Errorf("calltouch webhook: call %s: duration: %q is not a number of seconds", c.CallID, s)
		}
	}
	if s := get(v, "waitingConnect", "waiting_connect"); s != "" {
		if c.WaitingConnect, err = strconv.ParseInt(s, 10, 64); err != nil || c.WaitingConnect < 0 {
			return c, fmt.Errorf("calltouch webhook: call %s: waitingConnect: %q is not a number of seconds", c.CallID, s)
		}
	}
	// status=successful is the webhook's form of the diary's successful.
	for _, f := range []struct {
		dst   *bool
		names []string
	}{
		{&c.Successful, []string{"status", "successful"}},
		{&c.UniqueCall, []string{"unique", "uniqueCall"}},
		{&c.TargetCall, []string{"targetcall", "target", "targetCall"}},
		{&c.UniqTargetCall, []string{"uniqtargetcall", "uniqueTargetCall", "uniqTargetCall"}},
		{&c.CallbackCall, []string{"callbackcall", "callback", "callbackCall"}},
	} {
		if *f.dst, err = flag(v, f.names...); err != nil {
			return c, fmt.Errorf("calltouch webhook: call %s: %w", c.CallID, err)
		}
	}
	c.City = get(v, "city")
	c.Source = get(v, "source")
	c.Medium = get(v, "medium")
	c.Keyword = get(v, "keyword")
	c.URL = get(v, "url")
	c.CallURL = get(v, "callUrl", "call_url")
	c.Ref = get(v, "ref")
	c.UtmSource = get(v, "utm_source", "utmSource")
	c.UtmMedium = get(v, "utm_medium", "utmMedium")
	c.UtmCampaign = get(v, "utm_campaign", "utmCampaign")
	c.UtmContent = get(v, "utm_content", "utmContent")
	c.UtmTerm = get(v, "utm_term", "utmTerm")
	c.SessionID = ID(get(v, "sessionId", "session_id"))
	if s := get(v, "gcid", "clientId", "client_id", "guaClientId"); s != "" {
		c.ClientID = &s
	}
	if s := get(v, "yaClientId", "ya_client_id"); s != "" {
		c.YaClientID = &s
	}
	c.CtClientID = ID(get(v, "ctClientId", "ct_client_id"))
	c.Manager = get(v, "manager")
	if names := list(v, "callTags", "tags"); len(names) > 0 {
		c.CallTags = []Tag{{Names: names}}
	}
	return c, nil
}

// RequestFromValues reads a request webhook's parameters as a journal
// record.
func RequestFromValues(v url.Values) (Request, error) {
	v = lower(v)
	var r Request
	r.RequestID = ID(get(v, "requestId", "request_id", "id"))
	if r.RequestID == "" {
		return r, fmt.Errorf("calltouch webhook: requestId: required")
	}
	if _, err := strconv.ParseInt(string(r.RequestID), 10, 64); err != nil {
		return r, fmt.Errorf("calltouch webhook: requestId: %q is not a request id", r.RequestID)
	}
	r.DateStr = get(v, "requestDate", "date", "calltime", "timestamp")
	if r.DateStr == "" {
		return r, fmt.Errorf("calltouch webhook: request %s: requestDate: required", r.RequestID)
	}
	r.RequestNumber = get(v, "requestNumber", "request_number")
	r.Subject = get(v, "subject")
	r.Client.Fio = get(v, "fio", "name", "clientName")
	for _, p := range list(v, "phoneNumber", "phone", "callerphone") {
		r.Client.Phones = append(r.Client.Phones, struct {
			PhoneNumber string `json:"phoneNumber"`
			PhoneType   string `json:"phoneType"`
		}{PhoneNumber: p})
	}
	for _, e := range list(v, "email") {
		r.Client.Contacts = append(r.Client.Contacts, struct {
			ContactType  string `json:"contactType"`
			ContactValue string `json:"contactValue"`
		}{ContactType: "email", ContactValue: e})
	}
	s := &r.Session
	s.SessionID = ID(get(v, "sessionId", "session_id"))
	s.Source = get(v, "source")
	s.Medium = get(v, "medium")
	s.Keywords = get(v, "keyword", "keywords")
	s.City = get(v, "city")
	s.URL = get(v, "url")
	s.Ref = get(v, "ref")
	s.UtmSource = get(v, "utm_source", "utmSource")
	s.UtmMedium = get(v, "utm_medium", "utmMedium")
	s.UtmCampaign = get(v, "utm_campaign", "utmCampaign")
	s.UtmContent = get(v, "utm_content", "utmContent")
	s.UtmTerm = get(v, "utm_term", "utmTerm")
	s.GuaClientID = get(v, "gcid", "clientId", "guaClientId")
	s.YaClientID = get(v, "yaClientId")
	r.CtClientID = ID(get(v, "ctClientId"))
	r.Manager = get(v, "manager")
	if names := list(v, "requestTags", "tags"); len(names) > 0 {
		r.RequestTags = []Tag{{Names: names}}
	}
	return r, nil
}

// ParseCallPush reads Calltouch's call webhook: one item, keyed and
// shaped as calltouch.call's polled ones.
func ParseCallPush(r *http.Request, s connection.Settings) ([]automation.Item, error) {
	v, err := pushValues(r)
	if err != nil {
		return nil, err
	}
	return CallItems(v, AccountOf(s))
}

// CallItems is ParseCallPush of parameters already read.
func CallItems(v url.Values, a Account) ([]automation.Item, error) {
	v = lower(v)
	if err := checkSite(v, a); err != nil {
		return nil, err
	}
	c, err := CallFromValues(v)
	if err != nil {
		return nil, err
	}
	data, _, err := c.Data(a.location())
	if err != nil {
		return nil, fmt.Errorf("calltouch webhook: %w", err)
	}
	return []automation.Item{{Key: callKey(c.CallID), Data: data}}, nil
}

// ParseRequestPush reads Calltouch's request webhook.
func ParseRequestPush(r *http.Request, s connection.Settings) ([]automation.Item, error) {
	v, err := pushValues(r)
	if err != nil {
		return nil, err
	}
	return RequestItems(v, AccountOf(s))
}

// RequestItems is ParseRequestPush of parameters already read.
func RequestItems(v url.Values, a Account) ([]automation.Item, error) {
	v = lower(v)
	if err := checkSite(v, a); err != nil {
		return nil, err
	}
	req, err := RequestFromValues(v)
	if err != nil {
		return nil, err
	}
	data, _, err := req.Data(a.location())
	if err != nil {
		return nil, fmt.Errorf("calltouch webhook: %w", err)
	}
	return []automation.Item{{Key: requestKey(req.RequestID), Data: data}}, nil
}
