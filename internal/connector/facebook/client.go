package facebook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/obmen/obmen/internal/connector"
)

// DefaultBase is the Graph API's address; Version the API version the
// connector was written against (a versioned path: Meta keeps a version
// working for two years after the next one ships).
const (
	DefaultBase = "https://graph.facebook.com"
	Version     = "v21.0"
)

// maxAnswer bounds a Graph API answer: a send's answer is a few dozen
// bytes, an error object a few hundred.
const maxAnswer = 1 << 20

// Messaging types of the Send API.
const (
	TypeResponse = "RESPONSE"
	TypeTag      = "MESSAGE_TAG"
)

// Tags lets a Page write outside the 24-hour window, each for its own
// purpose only (Meta's policy; promotions are never allowed).
// HUMAN_AGENT needs the Human Agent permission (App Review) and allows 7
// days after the client's last message.
var Tags = []string{"ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "HUMAN_AGENT"}

// Client is a thin client of the two Graph API calls the connector
// needs (the Send API and the Page's own id), over the SSRF-guarded
// client. No SDK: Meta publishes none for Go, and the calls are two.
type Client struct {
	Base  string // DefaultBase when ""
	Token string // the Page access token
	// AppSecret, when set, signs each call (appsecret_proof): a Page
	// token stolen without it is useless to an app that requires it.
	AppSecret string
	HTTP      *http.Client
}

// APIError is the Graph API's error object: {"error":{"message","type",
// "code","error_subcode","fbtrace_id"}}.
type APIError struct {
	Status    int    `json:"-"`
	Message   string `json:"message"`
	Type      string `json:"type"`
	Code      int    `json:"code"`
	Subcode   int    `json:"error_subcode"`
	FBTraceID string `json:"fbtrace_id"`
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("facebook: HTTP %d: %s (code %d", e.Status, e.Message, e.Code)
	if e.Subcode != 0 {
		s += fmt.Sprintf(", subcode %d", e.Subcode)
	}
	if e.FBTraceID != "" {
		s += ", fbtrace_id " + e.FBTraceID
	}
	return s + ")"
}

// Error kinds of the Graph API's codes (developers.facebook.com/docs/
// graph-api/guides/error-handling, messenger-platform/error-codes).
const (
	KindToken       = "token"       // 190: the token expired or was revoked
	KindRate        = "rate"        // 4, 17, 32, 613: a rate limit
	KindPermission  = "permission"  // 10, 200–299: a permission missing
	KindWindow      = "window"      // 10/2018278: outside the 24-hour window
	KindUnavailable = "unavailable" // 551: the person is not available
	KindNoUser      = "no_user"     // 100/2018001: no such person for this Page
	KindOther       = "other"
)

// Kind sorts the error by what the user can do about it.
func (e *APIError) Kind() string {
	switch {
	case e.Subcode == 2018278:
		return KindWindow
	case e.Code == 190 || e.Type == "OAuthException" && e.Code == 102:
		return KindToken
	case e.Code == 4 || e.Code == 17 || e.Code == 32 || e.Code == 613 || e.Code == 80006:
		return KindRate
	case e.Code == 551:
		return KindUnavailable
	case e.Code == 100 && e.Subcode == 2018001:
		return KindNoUser
	case e.Code == 10 || e.Code >= 200 && e.Code <= 299:
		return KindPermission
	}
	return KindOther
}

// Sent is the Send API's answer.
type Sent struct {
	RecipientID string `json:"recipient_id"`
	MessageID   string `json:"message_id"`
}

// Page is the Page the token belongs to.
type Page struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (c *Client) base() string {
	if c.Base == "" {
		return DefaultBase
	}
	return strings.TrimRight(c.Base, "/")
}

// Proof is appsecret_proof: HMAC-SHA256 of the token keyed by the App
// Secret, in hex.
func Proof(token, appSecret string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

// do calls path (after the version) with the token in the query, body
// as JSON when not nil, and decodes the answer into out.
func (c *Client) do(ctx context.Context, method, path string, body any, out any) error {
	q := url.Values{"access_token": {c.Token}}
	if c.AppSecret != "" {
		q.Set("appsecret_proof", Proof(c.Token, c.AppSecret))
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("facebook: %s: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base()+"/"+Version+"/"+path+sep+q.Encode(), rd)
	if err != nil {
		return fmt.Errorf("facebook: %s: %s", path, c.hide(err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, b, err := connector.Call(c.HTTP, req, maxAnswer, "facebook: "+path, c.hide)
	if err != nil {
		return err
	}
	return DecodeAnswer(res.StatusCode, b, out)
}

func (c *Client) hide(err error) string {
	s := err.Error()
	for _, v := range []string{c.Token, url.QueryEscape(c.Token), c.AppSecret} {
		if v != "" {
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return s
}

// DecodeAnswer reads a Graph API answer: the error object as an
// *APIError (whatever the HTTP status), else a 2xx body into out.
func DecodeAnswer(status int, b []byte, out any) error {
	var env struct {
		Error *APIError `json:"error"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("facebook: HTTP %d, not the Graph API's answer", status)
	}
	if env.Error != nil {
		env.Error.Status = status
		return env.Error
	}
	if status < 200 || status > 299 {
		return &APIError{Status: status, Message: fmt.Sprintf("HTTP %d without an error object", status)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("facebook: the answer does not decode: %w", err)
	}
	return nil
}

// SendText sends text to the person of psid from the Page (pageID, or
// "me": the token's Page). tag "" sends a RESPONSE (within 24 hours of
// the person's last message), else a MESSAGE_TAG with that tag.
func (c *Client) SendText(ctx context.Context, pageID, psid, text, tag string) (Sent, error) {
	if pageID == "" {
		pageID = "me"
	}
	body := map[string]any{"recipient": map[string]string{"id": psid}, "messaging_type": TypeResponse,
		"message": map[string]string{"text": text}}
	if tag != "" {
		body["messaging_type"], body["tag"] = TypeTag, tag
	}
	var s Sent
	err := c.do(ctx, http.MethodPost, url.PathEscape(pageID)+"/messages", body, &s)
	if err == nil && s.MessageID == "" {
		err = errors.New("facebook: the Send API answered without a message_id")
	}
	return s, err
}

// Me returns the token's Page: the connection's check.
func (c *Client) Me(ctx context.Context) (Page, error) {
	var p Page
	return p, c.do(ctx, http.MethodGet, "me?fields=id,name", nil, &p)
}

// Profile is what the User Profile API tells of a person who wrote to
// the Page.
type Profile struct {
	ID        string `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// Profile returns the name of the person of psid (the Page's token may
// read it for people who wrote to the Page).
func (c *Client) Profile(ctx context.Context, psid string) (Profile, error) {
	var p Profile
	return p, c.do(ctx, http.MethodGet, url.PathEscape(psid)+"?fields=first_name,last_name", nil, &p)
}
