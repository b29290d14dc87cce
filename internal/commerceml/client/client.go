// Package client plays 1C's side of the CommerceML 2 exchange protocol
// (the "1c_exchange.php" one) over HTTP: sign in, ask the parameters,
// upload files in chunks, import them step by step, ask for orders and
// confirm them. "obmen bench" drives a server with it, and it is what
// Obmen needs to play 1C toward a web shop.
package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Client is one exchange session with a site. Its zero value is not
// usable: set URL (ending in /1c_exchange.php), Login and Password.
type Client struct {
	URL      string
	Login    string
	Password string
	HTTP     *http.Client // nil: http.DefaultClient

	cookie    *http.Cookie
	fileLimit int64
}

// Error is a "failure" the site answered, with its reason.
type Error struct {
	Type, Mode string
	Reason     string
}

func (e *Error) Error() string {
	return fmt.Sprintf("1c exchange: type=%s mode=%s: failure: %s", e.Type, e.Mode, e.Reason)
}

// MaxSteps bounds how many "progress" answers Import accepts for one file.
const MaxSteps = 100000

// call makes one request and returns the body; a non-2xx status is an
// error naming it.
func (c *Client) call(ctx context.Context, typ, mode string, params url.Values, body io.Reader) ([]byte, error) {
	if params == nil {
		params = url.Values{}
	}
	params.Set("type", typ)
	params.Set("mode", mode)
	method := http.MethodGet
	if body != nil {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+"?"+params.Encode(), body)
	if err != nil {
		return nil, fmt.Errorf("1c exchange: %w", err)
	}
	if mode == "checkauth" {
		req.SetBasicAuth(c.Login, c.Password)
	} else if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("1c exchange: type=%s mode=%s: %w", typ, mode, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("1c exchange: type=%s mode=%s: reading the answer: %w", typ, mode, err)
	}
	if res.StatusCode/100 != 2 {
		return b, fmt.Errorf("1c exchange: type=%s mode=%s: HTTP %d: %s", typ, mode, res.StatusCode, firstLine(b))
	}
	return b, nil
}

// answer splits a text answer into its lines and turns "failure" into an
// *Error.
func answer(typ, mode string, b []byte) ([]string, error) {
	lines := strings.Split(strings.ReplaceAll(strings.TrimPrefix(text(b), "\ufeff"), "\r\n", "\n"), "\n")
	switch strings.TrimSpace(lines[0]) {
	case "success", "progress":
		return lines, nil
	case "failure":
		return nil, &Error{Type: typ, Mode: mode, Reason: strings.TrimSpace(strings.Join(lines[1:], " "))}
	}
	return nil, fmt.Errorf("1c exchange: type=%s mode=%s: unexpected answer %q", typ, mode, firstLine(b))
}

// text is an answer as text: sites on windows-1251 (Bitrix's older
// installs, modules that copy it) answer in it, so a body that is not
// UTF-8 is read as windows-1251.
func text(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	s, err := charmap.Windows1251.NewDecoder().Bytes(b)
	if err != nil {
		return string(b)
	}
	return string(s)
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(text(b), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// Checkauth signs in and keeps the session cookie for the later calls.
func (c *Client) Checkauth(ctx context.Context, typ string) error {
	b, err := c.call(ctx, typ, "checkauth", nil, nil)
	if err != nil {
		return err
	}
	lines, err := answer(typ, "checkauth", b)
	if err != nil {
		return err
	}
	if len(lines) < 3 || strings.TrimSpace(lines[1]) == "" {
		return fmt.Errorf("1c exchange: checkauth: no cookie in the answer %q", b)
	}
	c.cookie = &http.Cookie{Name: strings.TrimSpace(lines[1]), Value: strings.TrimSpace(lines[2])}
	return nil
}

// Init asks whether the site takes zip archives and the largest chunk.
func (c *Client) Init(ctx context.Context, typ string) (zip bool, fileLimit int64, err error) {
	b, err := c.call(ctx, typ, "init", nil, nil)
	if err != nil {
		return false, 0, err
	}
	sc := bufio.NewScanner(strings.NewReader(text(b)))
	for sc.Scan() {
		k, v, _ := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		switch k {
		case "zip":
			zip = v == "yes"
		case "file_limit":
			if fileLimit, err = strconv.ParseInt(v, 10, 64); err != nil {
				return false, 0, fmt.Errorf("1c exchange: init: file_limit %q: %w", v, err)
			}
		case "failure":
			return false, 0, &Error{Type: typ, Mode: "init", Reason: strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text(b)), "failure"))}
		}
	}
	if fileLimit <= 0 {
		return false, 0, fmt.Errorf("1c exchange: init: no file_limit in %q", b)
	}
	c.fileLimit = fileLimit
	return zip, fileLimit, nil
}

// Upload sends r as the file name, in chunks no larger than the site's
// file_limit (Init must have been called).
func (c *Client) Upload(ctx context.Context, typ, name string, r io.Reader) error {
	if c.fileLimit <= 0 {
		return errors.New("1c exchange: upload before init")
	}
	buf := make([]byte, min(c.fileLimit, 8<<20))
	sent := false
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 || !sent {
			b, err := c.call(ctx, typ, "file", url.Values{"filename": {name}}, bytes.NewReader(buf[:n]))
			if err != nil {
				return err
			}
			if _, err := answer(typ, "file", b); err != nil {
				return err
			}
			sent = true
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("1c exchange: upload %s: %w", name, rerr)
		}
	}
}

// Import asks the site to import the file, again while it answers
// "progress"; each progress line goes to step when it is not nil. It
// returns the number of calls made.
func (c *Client) Import(ctx context.Context, typ, name string, step func(string)) (int, error) {
	for i := 1; i <= MaxSteps; i++ {
		b, err := c.call(ctx, typ, "import", url.Values{"filename": {name}}, nil)
		if err != nil {
			return i, err
		}
		lines, err := answer(typ, "import", b)
		if err != nil {
			return i, err
		}
		if strings.TrimSpace(lines[0]) == "success" {
			return i, nil
		}
		if step != nil && len(lines) > 1 {
			step(strings.TrimSpace(lines[1]))
		}
	}
	return MaxSteps, fmt.Errorf("1c exchange: import %s: still in progress after %d calls", name, MaxSteps)
}

// Mode makes a call that answers success or failure (deactivate,
// complete, success).
func (c *Client) Mode(ctx context.Context, typ, mode string) error {
	b, err := c.call(ctx, typ, mode, nil, nil)
	if err != nil {
		return err
	}
	_, err = answer(typ, mode, b)
	return err
}

// Query asks for the orders document; the caller reads and closes it.
func (c *Client) Query(ctx context.Context) ([]byte, error) {
	b, err := c.call(ctx, "sale", "query", nil, nil)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(string(b), "failure") {
		_, err := answer("sale", "query", b)
		return nil, err
	}
	return b, nil
}
