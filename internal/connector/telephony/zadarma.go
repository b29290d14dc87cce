package telephony

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/connection"
)

// ZadarmaURL is Zadarma's API.
const ZadarmaURL = "https://api.zadarma.com"

// ZadarmaAccount is a zadarma connection's settings: the API key and
// secret of the personal account (Settings → API).
type ZadarmaAccount struct {
	Key    string
	Secret string
	URL    string
}

// ZadarmaOf reads a saved zadarma connection's settings.
func ZadarmaOf(s connection.Settings) ZadarmaAccount {
	return ZadarmaAccount{Key: s.String("key"), Secret: s.String("secret"), URL: s.String("url")}
}

func (a ZadarmaAccount) url() string { return connection.BaseURL(a.URL, ZadarmaURL) }

// Problems checks the settings beyond what the type's fields say (key and
// secret are required fields).
func (a ZadarmaAccount) Problems() []connection.Problem {
	return connection.CheckBaseURL("url", a.URL, ZadarmaURL)
}

// zoneProblems checks the time zone Zadarma's times are in.
func zoneProblems(s connection.Settings) []connection.Problem {
	if name := strings.TrimSpace(s.String("time_zone")); name != "" {
		if _, err := time.LoadLocation(name); err != nil {
			return []connection.Problem{{Field: "time_zone", Message: fmt.Sprintf("%q is not a time zone such as Europe/Moscow", name)}}
		}
	}
	return nil
}

// ZadarmaSign is the Authorization header of a request to method (the
// path, "/v1/request/callback/") with params, as Zadarma's own clients
// compute it: the parameters sorted by name and URL-encoded (spaces as
// "+"), then key ":" base64 of the hex HMAC-SHA1, under the secret, of
// method + parameters + hex MD5 of the parameters.
func ZadarmaSign(key, secret, method string, params url.Values) string {
	q := params.Encode() // sorted by key
	sum := md5.Sum([]byte(q))
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(method + q + hex.EncodeToString(sum[:])))
	return key + ":" + base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(m.Sum(nil))))
}

// Zadarma orders callbacks through Zadarma's API.
type Zadarma struct {
	Account ZadarmaAccount
	HTTP    *http.Client
}

// zadarmaAnswer is Zadarma's envelope.
type zadarmaAnswer struct {
	Status  string          `json:"status"`
	Message string          `json:"message"`
	From    json.RawMessage `json:"from"`
	To      json.RawMessage `json:"to"`
	Time    json.Number     `json:"time"`
}

// get calls a GET method and decodes the envelope; a status other than
// success is a *Refused with Zadarma's message.
func (z Zadarma) get(ctx context.Context, method string, params url.Values) (zadarmaAnswer, error) {
	var ans zadarmaAnswer
	body, err := z.getRaw(ctx, method, params)
	if len(body) > 0 {
		_ = json.Unmarshal(body, &ans)
	}
	return ans, err
}

// decodeJSON decodes an answer getRaw accepted.
func decodeJSON(b []byte, v any) error { return json.Unmarshal(b, v) }

// getRaw is get's answer as it came.
func (z Zadarma) getRaw(ctx context.Context, method string, params url.Values) ([]byte, error) {
	var ans zadarmaAnswer
	if params == nil {
		params = url.Values{}
	}
	params.Set("format", "json")
	u := z.Account.url() + method + "?" + params.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("zadarma: %w", err)
	}
	req.Header.Set("Authorization", ZadarmaSign(z.Account.Key, z.Account.Secret, method, params))
	resp, err := z.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("zadarma %s: %w", method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("zadarma %s: %w", method, err)
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.Status == "" {
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return body, fmt.Errorf("zadarma %s: HTTP %d", method, resp.StatusCode)
		}
		return body, &Refused{Provider: "zadarma", Class: classOfStatus(resp.StatusCode),
			Message: fmt.Sprintf("HTTP %d: %s", resp.StatusCode, snippet(body))}
	}
	if ans.Status != "success" {
		msg := ans.Message
		if msg == "" {
			msg = fmt.Sprintf("status %s, HTTP %d", ans.Status, resp.StatusCode)
		}
		if resp.StatusCode >= 500 {
			return body, fmt.Errorf("zadarma %s: HTTP %d: %s", method, resp.StatusCode, msg)
		}
		return body, &Refused{Provider: "zadarma", Message: msg, Class: classOfStatus(resp.StatusCode)}
	}
	return body, nil
}

func classOfStatus(code int) string {
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden:
		return connection.ClassCredentials
	case http.StatusTooManyRequests:
		return connection.ClassRateLimited
	case http.StatusNotFound:
		return connection.ClassAccount
	}
	return connection.ClassOther
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Callback asks Zadarma to ring Line, then Phone. Zadarma answers no id
// of the call: the id is "<from>-<to>-<time>" of its answer.
func (z Zadarma) Callback(ctx context.Context, r Request) (string, error) {
	ans, err := z.get(ctx, "/v1/request/callback/", url.Values{"from": {r.Line}, "to": {r.Phone}})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s-%s-%s", unquote(ans.From), unquote(ans.To), ans.Time), nil
}

func unquote(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// Check asks for the balance: a signed call that orders nothing.
func (z Zadarma) Check(ctx context.Context) error {
	_, err := z.get(ctx, "/v1/info/balance/", nil)
	if r, ok := err.(*Refused); ok {
		return connection.Fail(r.Class, err)
	}
	return err
}

// ZadarmaType is the zadarma connection type.
func ZadarmaType(hc *http.Client) connection.Type {
	return connection.Type{
		Journal: "activity",
		Name:    TypeZadarma,
		Fields: []connection.Field{
			{Name: "key", Type: connection.String, Required: true},
			{Name: "secret", Type: connection.String, Required: true, Secret: true},
			{Name: "url", Type: connection.String, Default: ZadarmaURL},
			{Name: "create_leads", Type: connection.Boolean, Default: true},
			{Name: "time_zone", Type: connection.String},
		},
		Validate: func(s connection.Settings) []connection.Problem {
			return append(ZadarmaOf(s).Problems(), zoneProblems(s)...)
		},
		Check: func(ctx context.Context, s connection.Settings) error {
			return Zadarma{Account: ZadarmaOf(s), HTTP: hc}.Check(ctx)
		},
	}
}
