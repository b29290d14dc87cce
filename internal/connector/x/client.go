package x

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/connector"
)

// DefaultBase is the X API's address.
const DefaultBase = "https://api.x.com"

// maxAnswer bounds an answer: a post's is a few hundred bytes, a page of
// ten posts a few kilobytes.
const maxAnswer = 1 << 20

// Client is a thin client of the three X API v2 calls the connector
// needs (POST /2/tweets, GET /2/users/me, GET /2/users/:id/tweets),
// signed with OAuth 1.0a user context, over the SSRF-guarded client.
type Client struct {
	Base string // DefaultBase when ""
	Keys Keys
	HTTP *http.Client
	Now  func() time.Time
}

// APIError is the X API's refusal: an RFC 7807 problem ({"title",
// "detail","type","status"}) or an {"errors":[…]} list, with the
// x-rate-limit-reset of a 429.
type APIError struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Type   string `json:"type"`
	Reason string `json:"reason"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
	// Reset is when a 429's window ends (zero: not said).
	Reset time.Time `json:"-"`
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("x: HTTP %d %s", e.Status, e.Title)
	if d := e.Text(); d != "" {
		s += ": " + d
	}
	return s
}

// Text is what the error says.
func (e *APIError) Text() string {
	if e.Detail != "" {
		return e.Detail
	}
	if len(e.Errors) > 0 {
		return e.Errors[0].Message
	}
	return ""
}

// Duplicate says X refused the post as a repeat of a recent one of the
// account ("You are not allowed to create a Tweet with duplicate
// content.").
func (e *APIError) Duplicate() bool {
	return e.Status == http.StatusForbidden && strings.Contains(strings.ToLower(e.Text()), "duplicate")
}

// Tweet is a post.
type Tweet struct {
	ID        string `json:"id"`
	Text      string `json:"text"`
	CreatedAt string `json:"created_at"`
}

// User is the account the keys post as.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

func (c *Client) base() string {
	if c.Base == "" {
		return DefaultBase
	}
	return strings.TrimRight(c.Base, "/")
}

func (c *Client) do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("x: %s: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	u := c.base() + path
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("x: %s: %w", path, err)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	auth, err := c.Keys.Authorization(method, u, now(), nonce())
	if err != nil {
		return fmt.Errorf("x: %s: %w", path, err)
	}
	req.Header.Set("Authorization", auth)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, b, err := connector.Call(c.HTTP, req, maxAnswer, "x: "+path, nil)
	if err != nil {
		return err
	}
	return DecodeAnswer(res.StatusCode, res.Header, b, out)
}

// DecodeAnswer reads an X API answer: a 2xx's {"data":…} into out, or
// the refusal as an *APIError.
func DecodeAnswer(status int, h http.Header, b []byte, out any) error {
	if status < 200 || status > 299 {
		e := &APIError{}
		if json.Unmarshal(b, e) != nil {
			e = &APIError{Title: http.StatusText(status)}
		}
		e.Status = status
		if v, err := strconv.ParseInt(h.Get("x-rate-limit-reset"), 10, 64); err == nil && v > 0 && v < 1<<40 {
			e.Reset = time.Unix(v, 0).UTC()
		}
		return e
	}
	var env struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("x: HTTP %d, not the X API's answer", status)
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		if len(env.Errors) > 0 {
			e := &APIError{Status: status, Title: "Error"}
			e.Errors = env.Errors
			return e
		}
		// A list with nothing in it: {"meta":{"result_count":0}}.
		return nil
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("x: the answer's data does not decode: %w", err)
	}
	return nil
}

// Post publishes text as a post of the keys' account.
func (c *Client) Post(ctx context.Context, text string) (Tweet, error) {
	var t Tweet
	err := c.do(ctx, http.MethodPost, "/2/tweets", map[string]string{"text": text}, &t)
	if err == nil && t.ID == "" {
		err = errors.New("x: POST /2/tweets answered without an id")
	}
	return t, err
}

// Me returns the keys' account: the connection's check.
func (c *Client) Me(ctx context.Context) (User, error) {
	var u User
	err := c.do(ctx, http.MethodGet, "/2/users/me", nil, &u)
	if err == nil && u.ID == "" {
		err = errors.New("x: GET /2/users/me answered without an id")
	}
	return u, err
}

// Recent lists the account's posts since a time, newest first (at most
// 100): how a send whose answer was lost is looked for.
func (c *Client) Recent(ctx context.Context, userID string, since time.Time) ([]Tweet, error) {
	q := url.Values{"max_results": {"100"}, "start_time": {since.UTC().Format(time.RFC3339)}, "tweet.fields": {"created_at"}}
	var ts []Tweet
	return ts, c.do(ctx, http.MethodGet, "/2/users/"+url.PathEscape(userID)+"/tweets?"+q.Encode(), nil, &ts)
}
