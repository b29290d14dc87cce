package vk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
)

// DefaultBase is the VK API's address: POST <base>/method/<name>.
const DefaultBase = "https://api.vk.com"

// Version is the VK API version every call asks for.
const Version = "5.199"

// maxAnswer bounds an API answer (200 messages of history fit).
const maxAnswer = 8 << 20

// VK error codes the connector tells apart (dev.vk.com/ru/reference/errors).
const (
	ErrUnknown       = 1
	ErrAuth          = 5   // user authorization failed: the token is invalid or expired
	ErrTooMany       = 6   // too many requests per second
	ErrDenied        = 7   // permission to perform this action is denied
	ErrFlood         = 9   // flood control: too many identical actions
	ErrInternal      = 10  // internal server error
	ErrCaptcha       = 14  // captcha needed
	ErrAccess        = 15  // access denied
	ErrParam         = 100 // one of the parameters is missing or invalid
	ErrUserID        = 113 // invalid user id
	ErrNoPermission  = 901 // can't send messages to a user without their permission
	ErrPrivacy       = 902 // can't send messages to this user due to their privacy settings
	ErrBlacklisted   = 900 // can't send messages to a user who blacklisted the community
	ErrKeyboard      = 911
	ErrTooLong       = 914 // the message is too long
	ErrNoConvAccess  = 917 // no access to the conversation
	ErrChatNotExists = 927
)

// Client is a thin client of the VK API: the four methods the connector
// needs, over the SSRF-guarded client. The access token goes in the POST
// form, never in the URL. Limiter, when set, spaces the calls of one
// token (VK allows 20 a second to a community token, 3 to a user's);
// error 6 (too many requests) is retried a few times with a growing
// pause — VK did not perform the call, so repeating it is safe.
type Client struct {
	Base    string // DefaultBase when ""
	Token   string
	HTTP    *http.Client
	Limiter *httpx.Limiter
	// Backoff is the first pause after error 6 (doubling after each);
	// 0: half a second.
	Backoff time.Duration
}

// APIError is VK's refusal: {"error":{"error_code":…,"error_msg":…,
// "request_params":[{"key":…,"value":…}]}} (a captcha adds captcha_sid
// and captcha_img).
type APIError struct {
	Method     string
	Code       int
	Msg        string
	CaptchaImg string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("vk: %s: error %d: %s", e.Method, e.Code, e.Msg)
}

func (c *Client) base() string {
	if c.Base == "" {
		return DefaultBase
	}
	return strings.TrimRight(c.Base, "/")
}

// limitKey is the token's key in the limiter: a hash, so that the token
// itself is never kept beside the buckets (the shared ones are rows).
func (c *Client) limitKey() string {
	h := sha256.Sum256([]byte(c.Token))
	return hex.EncodeToString(h[:8])
}

// call posts params (plus access_token and v) to method and decodes the
// answer's "response" into out.
func (c *Client) call(ctx context.Context, method string, params url.Values, out any) error {
	pause := c.Backoff
	if pause <= 0 {
		pause = 500 * time.Millisecond
	}
	for attempt := 0; ; attempt++ {
		err := c.once(ctx, method, params, out)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != ErrTooMany || attempt >= 3 {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		pause *= 2
	}
}

func (c *Client) once(ctx context.Context, method string, params url.Values, out any) error {
	if c.Limiter != nil {
		if err := c.Limiter.Wait(ctx, c.limitKey()); err != nil {
			return &connector.NotSent{Err: fmt.Errorf("vk: %s: waiting for the rate limit: %w", method, err)}
		}
	}
	form := url.Values{}
	for k, v := range params {
		form[k] = v
	}
	form.Set("access_token", c.Token)
	form.Set("v", Version)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base()+"/method/"+method, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("vk: %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, b, err := connector.Call(c.HTTP, req, maxAnswer, "vk: "+method, c.hide)
	if err != nil {
		return err
	}
	return DecodeAnswer(method, res.StatusCode, b, out)
}

// DecodeAnswer reads the VK API's envelope: {"response":…} into out, or
// {"error":{…}} as an *APIError.
func DecodeAnswer(method string, status int, b []byte, out any) error {
	var ans struct {
		Response json.RawMessage `json:"response"`
		Error    *struct {
			Code       int    `json:"error_code"`
			Msg        string `json:"error_msg"`
			CaptchaImg string `json:"captcha_img"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &ans); err != nil {
		return fmt.Errorf("vk: %s: HTTP %d, not the VK API's answer", method, status)
	}
	if ans.Error != nil {
		return &APIError{Method: method, Code: ans.Error.Code, Msg: ans.Error.Msg, CaptchaImg: ans.Error.CaptchaImg}
	}
	if len(ans.Response) == 0 {
		return fmt.Errorf("vk: %s: HTTP %d, an answer with neither response nor error", method, status)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(ans.Response, out); err != nil {
		return fmt.Errorf("vk: %s: the response does not decode: %w", method, err)
	}
	return nil
}

func (c *Client) hide(err error) string {
	if c.Token == "" {
		return err.Error()
	}
	return strings.ReplaceAll(err.Error(), c.Token, "***")
}

// City is a profile's city.
type City struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
}

// User is users.get's profile.
type User struct {
	ID           int64  `json:"id"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	ScreenName   string `json:"screen_name"`
	BDate        string `json:"bdate"`
	City         *City  `json:"city"`
	Site         string `json:"site"`
	PhotoMaxOrig string `json:"photo_max_orig"`
	Deactivated  string `json:"deactivated"`
}

// ProfileFields are the fields users.get is asked for.
const ProfileFields = "screen_name,bdate,city,site,photo_max_orig"

// UsersGet returns the profiles of ids (numeric ids or screen names).
func (c *Client) UsersGet(ctx context.Context, ids []string, fields string) ([]User, error) {
	var us []User
	p := url.Values{"user_ids": {strings.Join(ids, ",")}}
	if fields != "" {
		p.Set("fields", fields)
	}
	return us, c.call(ctx, "users.get", p, &us)
}

// Resolved is what utils.resolveScreenName says a screen name is:
// Type "user", "group", "application", "page"…, and its id.
type Resolved struct {
	Type     string `json:"type"`
	ObjectID int64  `json:"object_id"`
}

// ResolveScreenName asks VK whose a screen name ("durov") is; ok is false
// when it is no one's (VK answers an empty array).
func (c *Client) ResolveScreenName(ctx context.Context, name string) (Resolved, bool, error) {
	var raw json.RawMessage
	if err := c.call(ctx, "utils.resolveScreenName", url.Values{"screen_name": {name}}, &raw); err != nil {
		return Resolved{}, false, err
	}
	if t := strings.TrimSpace(string(raw)); t == "[]" || t == "null" || t == "{}" {
		return Resolved{}, false, nil
	}
	var r Resolved
	if err := json.Unmarshal(raw, &r); err != nil {
		return Resolved{}, false, fmt.Errorf("vk: utils.resolveScreenName: the response does not decode: %w", err)
	}
	return r, r.ObjectID > 0, nil
}

// Group is groups.getById's community.
type Group struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	ScreenName string `json:"screen_name"`
}

// GroupsGetByID returns the community the token is of (the
// connection's check).
func (c *Client) GroupsGetByID(ctx context.Context, groupID string) (Group, error) {
	p := url.Values{}
	if groupID != "" {
		p.Set("group_id", groupID)
	}
	// 5.199 answers {"groups":[…],"profiles":[]}.
	var ans struct {
		Groups []Group `json:"groups"`
	}
	if err := c.call(ctx, "groups.getById", p, &ans); err != nil {
		return Group{}, err
	}
	if len(ans.Groups) == 0 {
		return Group{}, &APIError{Method: "groups.getById", Code: ErrParam, Msg: "no community in the answer"}
	}
	return ans.Groups[0], nil
}

// Attachment is a message's attachment, as far as the connector keeps it.
type Attachment struct {
	Type string `json:"type"`
	Doc  *struct {
		ID      int64  `json:"id"`
		OwnerID int64  `json:"owner_id"`
		Title   string `json:"title"`
		Size    int64  `json:"size"`
		Ext     string `json:"ext"`
		URL     string `json:"url"`
	} `json:"doc,omitempty"`
	Photo *struct {
		ID    int64 `json:"id"`
		Sizes []struct {
			Type   string `json:"type"`
			URL    string `json:"url"`
			Width  int    `json:"width"`
			Height int    `json:"height"`
		} `json:"sizes"`
	} `json:"photo,omitempty"`
}

// Message is a private message (messages.getHistory's item, the Callback
// API's message_new object.message).
type Message struct {
	ID          int64        `json:"id"`
	Date        int64        `json:"date"`
	PeerID      int64        `json:"peer_id"`
	FromID      int64        `json:"from_id"`
	Out         int          `json:"out"`
	Text        string       `json:"text"`
	Attachments []Attachment `json:"attachments"`
	RandomID    int64        `json:"random_id"`
}

// History is messages.getHistory's answer.
type History struct {
	Count int64     `json:"count"`
	Items []Message `json:"items"`
}

// GetHistory returns the count newest messages with peer, newest first.
func (c *Client) GetHistory(ctx context.Context, peerID int64, count int) (History, error) {
	var h History
	return h, c.call(ctx, "messages.getHistory", url.Values{"peer_id": {strconv.FormatInt(peerID, 10)},
		"count": {strconv.Itoa(count)}, "offset": {"0"}}, &h)
}

// Send sends text (and attachments, VK's "doc123_456" form) to peer
// under randomID: VK sends a message once per random_id and peer, so a
// repeat of the same call after a timeout does not deliver it twice. It
// returns the sent message's id.
func (c *Client) Send(ctx context.Context, peerID int64, randomID int32, text string, attachments []string) (int64, error) {
	p := url.Values{"peer_id": {strconv.FormatInt(peerID, 10)}, "random_id": {strconv.FormatInt(int64(randomID), 10)}}
	if text != "" {
		p.Set("message", text)
	}
	if len(attachments) > 0 {
		p.Set("attachment", strings.Join(attachments, ","))
	}
	var id int64
	return id, c.call(ctx, "messages.send", p, &id)
}

// maxDoc bounds a file sent as a VK document (VK takes up to 200 MB; a
// reply's file is far smaller, and it passes through memory).
const maxDoc = 20 << 20

// DocUploadServer is where a document for a message to peer is uploaded
// (docs.getMessagesUploadServer).
func (c *Client) DocUploadServer(ctx context.Context, peerID int64) (string, error) {
	var ans struct {
		UploadURL string `json:"upload_url"`
	}
	err := c.call(ctx, "docs.getMessagesUploadServer", url.Values{"type": {"doc"}, "peer_id": {strconv.FormatInt(peerID, 10)}}, &ans)
	if err == nil && ans.UploadURL == "" {
		err = fmt.Errorf("vk: docs.getMessagesUploadServer: no upload_url in the answer")
	}
	return ans.UploadURL, err
}

// UploadDoc posts a file to the upload address as multipart field
// "file"; VK answers {"file":"…"} (or {"error":"…"}), what docs.save takes.
func (c *Client) UploadDoc(ctx context.Context, uploadURL, name string, data []byte) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		return "", fmt.Errorf("vk: upload: %w", err)
	}
	_, _ = fw.Write(data)
	if err := mw.Close(); err != nil {
		return "", fmt.Errorf("vk: upload: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uploadURL, &body)
	if err != nil {
		return "", fmt.Errorf("vk: upload: %w", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, b, err := connector.Call(c.HTTP, req, 1<<20, "vk: upload", c.hide)
	if err != nil {
		return "", err
	}
	var ans struct {
		File  string `json:"file"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &ans); err != nil || ans.File == "" {
		return "", fmt.Errorf("vk: upload: HTTP %d, no file in the answer %q", res.StatusCode, crm.ClipText(string(b), 200))
	}
	return ans.File, nil
}

// SaveDoc saves an uploaded file as a document and returns it as a
// messages.send attachment: "doc<owner_id>_<id>".
func (c *Client) SaveDoc(ctx context.Context, file, title string) (string, error) {
	var ans struct {
		Type string `json:"type"`
		Doc  struct {
			ID      int64 `json:"id"`
			OwnerID int64 `json:"owner_id"`
		} `json:"doc"`
	}
	p := url.Values{"file": {file}}
	if title != "" {
		p.Set("title", title)
	}
	if err := c.call(ctx, "docs.save", p, &ans); err != nil {
		return "", err
	}
	if ans.Doc.ID == 0 {
		return "", fmt.Errorf("vk: docs.save: no document in the answer")
	}
	return "doc" + strconv.FormatInt(ans.Doc.OwnerID, 10) + "_" + strconv.FormatInt(ans.Doc.ID, 10), nil
}
