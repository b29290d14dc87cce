package action

import (
	"maps"

	"github.com/obmen/obmen/internal/httpx"
)

// mask stands for a hidden secret.
const mask = httpx.Mask

// redactFields masks the values of credential-like keys of an object.
func redactFields(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := maps.Clone(m)
	for k := range out {
		if httpx.SensitiveName(k) {
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
		out["url"] = httpx.RedactURL(s)
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
