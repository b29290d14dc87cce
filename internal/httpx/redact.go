package httpx

import (
	"errors"
	"net/url"
	"strings"
)

// Mask stands for a hidden secret in what is shown or logged.
const Mask = "***"

// SensitiveName says whether a header, query or form field by this name
// likely carries a credential: Authorization, Cookie, X-Api-Key,
// X-Auth-Token, access_token, client_secret, password …
func SensitiveName(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie", "set-cookie", "key", "sig", "signature", "pass", "pwd":
		return true
	}
	for _, part := range []string{"auth", "token", "secret", "password", "passwd", "api-key", "api_key", "apikey", "session", "signature", "cookie"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	return strings.HasSuffix(n, "-key") || strings.HasSuffix(n, "_key")
}

// RedactURL hides a URL's password and the values of its credential-like
// query parameters.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), Mask)
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for k, vs := range q {
			if SensitiveName(k) {
				for i := range vs {
					vs[i] = Mask
				}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	// "*" needs no escaping in user info or a query (RFC 3986).
	return strings.ReplaceAll(u.String(), "%2A%2A%2A", Mask)
}

// RedactError hides the secrets of the URL a *url.Error names (the
// net/http client's errors quote the whole URL, query and all). The
// result still unwraps to err, so errors.Is and errors.As see the cause.
func RedactError(err error) error {
	var ue *url.Error
	if err == nil || !errors.As(err, &ue) {
		return err
	}
	shown := RedactURL(ue.URL)
	if shown == ue.URL {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), ue.URL, shown), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
