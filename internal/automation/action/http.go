package action

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/httpx"
)

type httpIn struct {
	Method  string         `json:"method" auto:"enum=GET|POST|PUT|PATCH|DELETE|HEAD"`
	URL     string         `json:"url" auto:"required"`
	Headers map[string]any `json:"headers"`
	Query   map[string]any `json:"query"`
	Body    any            `json:"body"`
	// BodyType: json (the default for an object or a list), form
	// (URL-encoded fields of an object), raw (text as it is, the default
	// for text).
	BodyType       string    `json:"body_type" auto:"enum=json|form|raw"`
	Auth           *httpAuth `json:"auth"`
	TimeoutSeconds int       `json:"timeout_seconds"`
}

type httpAuth struct {
	Type     string `json:"type" auto:"enum=none|basic|bearer"`
	Username string `json:"username"`
	Password string `json:"password" auto:"secret"`
	Token    string `json:"token" auto:"secret"`
}

// Methods http.request sends.
var httpMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead}

// httpPreview is what test mode shows of a request.
type httpPreview struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    any               `json:"body,omitempty"`
}

// httpRequest sends an HTTP request to any address the outbound policy
// allows.
func httpRequest(d Deps) automation.Action {
	spec := automation.Spec{Name: "http.request", Group: GroupHTTP, Writes: true}
	a := define[httpIn, reply](spec, func(ctx context.Context, c *automation.Call, in httpIn) (any, error) {
		o, shown, err := buildRequest(in)
		if err != nil {
			return nil, err
		}
		if c.DryRun {
			return automation.Preview{DryRun: true, Would: o.method + " " + httpx.RedactURL(o.url), Send: shown}, nil
		}
		return send(ctx, d.HTTP, o)
	})
	return redacting{Action: a, redact: redactHTTPInput}
}

// buildRequest checks the input and makes the request, and what test
// mode shows of it (secrets masked).
func buildRequest(in httpIn) (outgoing, httpPreview, error) {
	o := outgoing{method: strings.ToUpper(strings.TrimSpace(in.Method)), header: http.Header{}}
	if o.method == "" {
		o.method = http.MethodGet
	}
	if !slices.Contains(httpMethods, o.method) {
		return o, httpPreview{}, automation.InputErrorf("method", "%q is not one of %s", in.Method, strings.Join(httpMethods, ", "))
	}
	u, err := checkURL("url", in.URL)
	if err != nil {
		return o, httpPreview{}, err
	}
	if len(in.Query) > 0 {
		q := u.Query()
		for _, k := range slices.Sorted(maps.Keys(in.Query)) {
			vs, err := formValues("query."+k, in.Query[k])
			if err != nil {
				return o, httpPreview{}, err
			}
			q[k] = vs
		}
		u.RawQuery = q.Encode()
	}
	o.url = u.String()

	switch {
	case in.TimeoutSeconds == 0:
		o.timeout = defaultTimeout
	case in.TimeoutSeconds < 1 || in.TimeoutSeconds > 120:
		return o, httpPreview{}, automation.InputErrorf("timeout_seconds", "must be between 1 and 120")
	default:
		o.timeout = time.Duration(in.TimeoutSeconds) * time.Second
	}

	for _, k := range slices.Sorted(maps.Keys(in.Headers)) {
		if !validHeaderName(k) {
			return o, httpPreview{}, automation.InputErrorf("headers."+k, "is not a valid header name")
		}
		vs, err := formValues("headers."+k, in.Headers[k])
		if err != nil {
			return o, httpPreview{}, err
		}
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n\x00") {
				return o, httpPreview{}, automation.InputErrorf("headers."+k, "must not hold line breaks")
			}
			if http.CanonicalHeaderKey(k) == "Host" {
				o.host = v
				continue
			}
			o.header.Add(k, v)
		}
	}

	var shownBody any
	bodyType := strings.ToLower(strings.TrimSpace(in.BodyType))
	if bodyType == "" && in.Body != nil {
		bodyType = "json"
		if _, ok := in.Body.(string); ok {
			bodyType = "raw"
		}
	}
	ctype := ""
	switch bodyType {
	case "":
	case "json":
		if o.body, err = json.Marshal(in.Body); err != nil {
			return o, httpPreview{}, automation.InputErrorf("body", "%v", err)
		}
		ctype, shownBody = "application/json", in.Body
	case "form":
		m, ok := in.Body.(map[string]any)
		if !ok && in.Body != nil {
			return o, httpPreview{}, automation.InputErrorf("body", "a form body is an object of fields")
		}
		form := url.Values{}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			vs, err := formValues("body."+k, m[k])
			if err != nil {
				return o, httpPreview{}, err
			}
			form[k] = vs
		}
		enc := form.Encode()
		o.body, ctype, shownBody = []byte(enc), "application/x-www-form-urlencoded", enc
	case "raw":
		s, ok := in.Body.(string)
		if !ok && in.Body != nil {
			return o, httpPreview{}, automation.InputErrorf("body", "a raw body is text; send an object or a list as json")
		}
		o.body, ctype, shownBody = []byte(s), "text/plain; charset=utf-8", s
	default:
		return o, httpPreview{}, automation.InputErrorf("body_type", "%q is not one of json, form, raw", in.BodyType)
	}
	if ctype != "" && o.header.Get("Content-Type") == "" {
		o.header.Set("Content-Type", ctype)
	}
	if o.header.Get("User-Agent") == "" {
		o.header.Set("User-Agent", "Obmen-Automation/1")
	}

	if in.Auth != nil {
		switch strings.ToLower(strings.TrimSpace(in.Auth.Type)) {
		case "", "none":
		case "basic":
			if in.Auth.Username == "" {
				return o, httpPreview{}, automation.InputErrorf("auth.username", "required for basic authentication")
			}
			r := http.Request{Header: http.Header{}}
			r.SetBasicAuth(in.Auth.Username, in.Auth.Password)
			o.header.Set("Authorization", r.Header.Get("Authorization"))
		case "bearer":
			if in.Auth.Token == "" {
				return o, httpPreview{}, automation.InputErrorf("auth.token", "required for bearer authentication")
			}
			o.header.Set("Authorization", "Bearer "+in.Auth.Token)
		default:
			return o, httpPreview{}, automation.InputErrorf("auth.type", "%q is not one of none, basic, bearer", in.Auth.Type)
		}
	}

	shown := httpPreview{Method: o.method, URL: httpx.RedactURL(o.url), Headers: map[string]string{}, Body: shownBody}
	for k, vs := range o.header {
		v := strings.Join(vs, ", ")
		if httpx.SensitiveName(k) {
			v = mask
		}
		shown.Headers[k] = v
	}
	if o.host != "" {
		shown.Headers["Host"] = o.host
	}
	return o, shown, nil
}

// checkURL accepts an absolute http or https URL.
func checkURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, automation.InputErrorf(field, "%q is not a URL", raw)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, automation.InputErrorf(field, "%q is not an absolute http or https URL", httpx.RedactURL(raw))
	}
	return u, nil
}

// formValues are the texts of a query, form or header value: a text, a
// number, true/false or a list of them.
func formValues(field string, v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return []string{""}, nil
	case string:
		return []string{x}, nil
	case bool:
		return []string{strconv.FormatBool(x)}, nil
	case int64:
		return []string{strconv.FormatInt(x, 10)}, nil
	case int:
		return []string{strconv.Itoa(x)}, nil
	case float64:
		return []string{strconv.FormatFloat(x, 'f', -1, 64)}, nil
	case json.Number:
		return []string{x.String()}, nil
	case []any:
		var out []string
		for i, e := range x {
			if _, nested := e.([]any); nested {
				return nil, automation.InputErrorf(fmt.Sprintf("%s[%d]", field, i), "must be a text or a number")
			}
			vs, err := formValues(fmt.Sprintf("%s[%d]", field, i), e)
			if err != nil {
				return nil, err
			}
			out = append(out, vs...)
		}
		return out, nil
	}
	return nil, automation.InputErrorf(field, "must be a text, a number or a list of them")
}

// validHeaderName is an HTTP token (RFC 9110).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
