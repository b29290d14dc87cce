package connection

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Mask stands in the API and the UI for a secret setting that is set; an
// update that sends it back (or leaves the field out) keeps the secret.
const Mask = "••••••••"

// Problem is one thing wrong with a connection as given.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// InvalidError is a connection that cannot be saved, with every problem.
type InvalidError struct{ Problems []Problem }

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		if p.Field == "" {
			parts[i] = p.Message
		} else {
			parts[i] = p.Field + ": " + p.Message
		}
	}
	return "connection: " + strings.Join(parts, "; ")
}

// Input is what the API takes to create or change a connection.
type Input struct {
	Type     string         `json:"type"`
	Name     string         `json:"name"`
	Settings map[string]any `json:"settings"`
}

// MaxName is the longest name, in characters.
const MaxName = 200

// normalize checks settings against the type's fields and returns them
// typed, with defaults applied, unknown fields refused and the secrets
// the input leaves out (or sends as Mask) taken from prev (open).
func normalize(t Type, in map[string]any, prev Settings) (Settings, []Problem) {
	var ps []Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, Problem{Field: "settings." + field, Message: fmt.Sprintf(format, args...)})
	}
	known := map[string]bool{}
	out := Settings{}
	for _, f := range t.Fields {
		known[f.Name] = true
		v, given := in[f.Name]
		if f.Secret {
			s, isString := v.(string)
			if given && v != nil && !isString {
				add(f.Name, "must be text")
				continue
			}
			if !given || v == nil || s == Mask || (s == "" && prev != nil) {
				if p, ok := prev[f.Name]; ok && p != "" {
					out[f.Name] = p
					continue
				}
				if s == Mask {
					add(f.Name, "the secret is not known: enter it again")
					continue
				}
				if f.Required {
					add(f.Name, "required")
				}
				continue
			}
			out[f.Name] = s
			continue
		}
		if !given || v == nil || v == "" {
			if f.Default != nil {
				out[f.Name] = f.Default
			} else if f.Required {
				add(f.Name, "required")
			}
			continue
		}
		nv, err := coerce(f, v)
		if err != "" {
			add(f.Name, "%s", err)
			continue
		}
		out[f.Name] = nv
	}
	for k := range in {
		if !known[k] {
			add(k, "unknown setting of a %s connection", t.Name)
		}
	}
	slices.SortFunc(ps, func(a, b Problem) int { return strings.Compare(a.Field, b.Field) })
	if len(ps) == 0 && t.Validate != nil {
		for _, p := range t.Validate(out) {
			if p.Field != "" {
				p.Field = "settings." + p.Field
			}
			ps = append(ps, p)
		}
	}
	return out, ps
}

// coerce turns a JSON value into the field's type; a message when it does
// not fit.
func coerce(f Field, v any) (any, string) {
	switch f.Type {
	case String:
		s, ok := v.(string)
		if !ok {
			return nil, "must be text"
		}
		s = strings.TrimSpace(s)
		if utf8.RuneCountInString(s) > 2000 {
			return nil, "longer than 2000 characters"
		}
		if len(f.Enum) > 0 && !slices.Contains(f.Enum, s) {
			return nil, fmt.Sprintf("%q is not one of %s", s, strings.Join(f.Enum, ", "))
		}
		return s, ""
	case Integer:
		var n float64
		switch x := v.(type) {
		case float64:
			n = x
		case int64:
			n = float64(x)
		case int:
			n = float64(x)
		case json.Number:
			f, err := x.Float64()
			if err != nil {
				return nil, "must be an integer"
			}
			n = f
		case string:
			i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return nil, "must be an integer"
			}
			n = float64(i)
		default:
			return nil, "must be an integer"
		}
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return nil, "must be an integer"
		}
		return int64(n), ""
	case Boolean:
		switch x := v.(type) {
		case bool:
			return x, ""
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "yes", "on", "1":
				return true, ""
			case "false", "no", "off", "0":
				return false, ""
			}
		}
		return nil, "must be true or false"
	}
	return nil, "unknown field type " + f.Type
}

// BaseURL is a connection's API address: the setting (trimmed, without a
// trailing slash), else the service's official one. Every type takes one
// as "url", which is how tests point a connection at a fake.
func BaseURL(set, official string) string {
	if u := strings.TrimRight(strings.TrimSpace(set), "/"); u != "" {
		return u
	}
	return official
}

// CheckBaseURL is the problem with a BaseURL, if any: it must be an
// http(s) address with a host and no query.
func CheckBaseURL(field, set, official string) []Problem {
	if u, err := url.Parse(BaseURL(set, official)); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return []Problem{{Field: field, Message: fmt.Sprintf("%q is not an http(s) address", set)}}
	}
	return nil
}
