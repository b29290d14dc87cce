package action

import (
	"maps"
	"net/url"
	"strings"
)

// mask stands for a hidden secret.
const mask = "***"

// sensitiveName says whether a header, query or form field by this name
// likely carries a credential: Authorization, Cookie, X-Api-Key,
// X-Auth-Token, access_token, client_secret, password …
func sensitiveName(name string) bool {
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

// redactURL hides a URL's password and the values of its credential-like
// query parameters.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), mask)
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for k, vs := range q {
			if sensitiveName(k) {
				for i := range vs {
					vs[i] = mask
				}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	// "*" needs no escaping in user info or a query (RFC 3986).
	return strings.ReplaceAll(u.String(), "%2A%2A%2A", mask)
}

// redactFields masks the values of credential-like keys of an object.
func redactFields(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := maps.Clone(m)
	for k := range out {
		if sensitiveName(k) {
			out[k] = mask
		}
	}
	return out
}

// redactHTTPInput is http.request's input as the journal keeps it: the
// credentials in headers, query, URL and auth masked.
func redactHTTPInput(input any) any {
	m, ok := input.(map[string]any)
	if !ok {
		return input
	}
	out := maps.Clone(m)
	if s, ok := out["url"].(string); ok {
		out["url"] = redactURL(s)
	}
	for _, k := range []string{"headers", "query"} {
		if v, ok := out[k]; ok {
			out[k] = redactFields(v)
		}
	}
	if a, ok := out["auth"].(map[string]any); ok {
		a = maps.Clone(a)
		for _, k := range []string{"password", "token"} {
			if s, ok := a[k].(string); ok && s != "" {
				a[k] = mask
			}
		}
		out["auth"] = a
	}
	// A form body carries fields too (client_secret, password).
	if bt, _ := out["body_type"].(string); bt == "form" {
		out["body"] = redactFields(out["body"])
	}
	return out
}
