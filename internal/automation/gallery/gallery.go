// Package gallery holds every ready bundle as data, in embedded JSON: the
// ones that span connectors (seed 001: Calltouch with retailCRM or
// МойСклад), the built-in syncs of a connection (issue 16: Bitrix24), and
// the ones that need no connection (seed 003's business processes), which
// a user copies into the editor (Copyable). A template declares the
// connections it needs by role and type and the few values a user maps
// from those connections' dictionaries; installing one fills the
// placeholders and saves the bundle switched off. A connector never
// imports another, so the templates live here, and a test where every
// connector is registered (internal/app) compiles them.
package gallery

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/store"
)

//go:embed templates/*.json
var files embed.FS

// Need is a connection a template works through, by role.
type Need struct {
	Type  string          `json:"type"`
	Label automation.Text `json:"label"`
}

// Param is a value the user gives at install. From names the connection
// role and the dictionary its "refresh fields" loads (the UI offers that
// dictionary's entries); Default is used when the user gives none.
type Param struct {
	Name    string          `json:"name"`
	Label   automation.Text `json:"label"`
	Type    string          `json:"type"` // string or boolean
	From    *From           `json:"from,omitempty"`
	Default any             `json:"default,omitempty"`
}

// From points a parameter at a connection's dictionary.
type From struct {
	Connection string `json:"connection"`
	Dictionary string `json:"dictionary"`
}

// Template is one gallery entry. Definition is a bundle definition with
// placeholders: a string "<<connection:role>>" becomes the chosen
// connection's id, "<<param:name>>" the parameter's value (its type kept
// when the placeholder is the whole string); a step with "only_if": name
// is left out when that boolean parameter is false.
type Template struct {
	Name        string          `json:"name"`
	Title       automation.Text `json:"title"`
	Description automation.Text `json:"description"`
	// Sync marks a part of a connection type's built-in sync: a
	// template with one connection and no parameters that "switch the
	// sync on" on a connection's page installs, switched on, bound to
	// that connection (sync.go).
	Sync bool `json:"sync,omitempty"`
	// Hook says the trigger is pushed to the connection's hook URL:
	// switching the sync on makes one when the connection has none.
	Hook        bool            `json:"hook,omitempty"`
	Connections map[string]Need `json:"connections"`
	Params      []Param         `json:"params"`
	Definition  json.RawMessage `json:"definition"`
}

// List is the API's envelope.
type List struct {
	Items []Template `json:"items"`
}

// Install is the body of POST /api/v1/templates/{name}/install.
type Install struct {
	Connections map[string]int64 `json:"connections"`
	Params      map[string]any   `json:"params"`
	// Name, when given, names the bundle instead of the template's.
	Name string `json:"name,omitempty"`
}

// Templates reads the embedded templates, sorted by name.
func Templates() ([]Template, error) {
	names, err := fs.Glob(files, "templates/*.json")
	if err != nil {
		return nil, fmt.Errorf("gallery: %w", err)
	}
	out := make([]Template, 0, len(names))
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("gallery: %w", err)
		}
		var t Template
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("gallery: %s: %w", path.Base(n), err)
		}
		if t.Name+".json" != path.Base(n) {
			return nil, fmt.Errorf("gallery: %s: name %q differs from the file's", path.Base(n), t.Name)
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Copyable are the templates that need no connection and no value,
// decoded as bundle definitions: the editor opens a copy of one.
func Copyable() ([]automation.Template, error) {
	ts, err := Templates()
	if err != nil {
		return nil, err
	}
	out := []automation.Template{}
	for _, t := range ts {
		if !t.Plain() {
			continue
		}
		var d automation.Definition
		dec := json.NewDecoder(strings.NewReader(string(t.Definition)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			return nil, fmt.Errorf("gallery: %s: definition: %w", t.Name, err)
		}
		out = append(out, automation.Template{Name: t.Name, Title: t.Title, Description: t.Description, Definition: d})
	}
	return out, nil
}

// Plain says the template needs no connection and no value.
func (t Template) Plain() bool { return len(t.Connections) == 0 && len(t.Params) == 0 }

// Find is the template named name, store.ErrNotFound without one.
func Find(name string) (Template, error) {
	ts, err := Templates()
	if err != nil {
		return Template{}, err
	}
	i := slices.IndexFunc(ts, func(t Template) bool { return t.Name == name })
	if i < 0 {
		return Template{}, fmt.Errorf("gallery: template %q: %w", name, store.ErrNotFound)
	}
	return ts[i], nil
}

// Types tells a saved connection's type (connection.Store.TypeOf).
type Types interface {
	TypeOf(ctx context.Context, id int64) (string, error)
}

var placeholder = regexp.MustCompile(`<<(connection|param):([a-z_]+)>>`)

// Fill fills t's placeholders from in: every connection role must
// be given a saved connection of its type, every parameter a value of
// its type (or have a default), and nothing else may be given. The
// bundle is switched off: the user switches it on after a look.
func (t Template) Fill(ctx context.Context, types Types, in Install) (automation.Definition, error) {
	var ps []automation.Problem
	for role, need := range t.Connections {
		id, ok := in.Connections[role]
		if !ok || id <= 0 {
			ps = append(ps, automation.Problem{Field: "connections." + role, Message: "required: a saved " + need.Type + " connection"})
			continue
		}
		typ, err := types.TypeOf(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			ps = append(ps, automation.Problem{Field: "connections." + role, Message: fmt.Sprintf("no connection %d", id)})
			continue
		}
		if err != nil {
			return automation.Definition{}, err
		}
		if typ != need.Type {
			ps = append(ps, automation.Problem{Field: "connections." + role, Message: fmt.Sprintf("connection %d is a %s connection; %s is needed", id, typ, need.Type)})
		}
	}
	for role := range in.Connections {
		if _, ok := t.Connections[role]; !ok {
			ps = append(ps, automation.Problem{Field: "connections." + role, Message: "the template has no such connection"})
		}
	}
	values := map[string]any{}
	for _, p := range t.Params {
		v, ok := in.Params[p.Name]
		if !ok || v == nil || v == "" {
			v = p.Default
		}
		switch p.Type {
		case "boolean":
			b, ok := v.(bool)
			if !ok {
				ps = append(ps, automation.Problem{Field: "params." + p.Name, Message: "must be true or false"})
			}
			values[p.Name] = b
		default:
			s, ok := v.(string)
			if !ok || strings.TrimSpace(s) == "" {
				ps = append(ps, automation.Problem{Field: "params." + p.Name, Message: "required: a text value"})
			}
			values[p.Name] = s
		}
	}
	for name := range in.Params {
		if !slices.ContainsFunc(t.Params, func(p Param) bool { return p.Name == name }) {
			ps = append(ps, automation.Problem{Field: "params." + name, Message: "the template has no such parameter"})
		}
	}
	if len(ps) > 0 {
		sort.Slice(ps, func(i, j int) bool { return ps[i].Field < ps[j].Field })
		return automation.Definition{}, &automation.InvalidError{Problems: ps}
	}
	var raw any
	if err := json.Unmarshal(t.Definition, &raw); err != nil {
		return automation.Definition{}, fmt.Errorf("gallery: %s: definition: %w", t.Name, err)
	}
	if m, ok := raw.(map[string]any); ok {
		if steps, ok := m["steps"].([]any); ok {
			kept := steps[:0]
			for _, s := range steps {
				if sm, ok := s.(map[string]any); ok {
					if opt, ok := sm["only_if"].(string); ok {
						delete(sm, "only_if")
						if on, _ := values[opt].(bool); !on {
							continue
						}
					}
				}
				kept = append(kept, s)
			}
			m["steps"] = kept
		}
	}
	filled, err := fill(raw, in.Connections, values)
	if err != nil {
		return automation.Definition{}, fmt.Errorf("gallery: %s: %w", t.Name, err)
	}
	b, err := json.Marshal(filled)
	if err != nil {
		return automation.Definition{}, fmt.Errorf("gallery: %s: %w", t.Name, err)
	}
	var d automation.Definition
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return automation.Definition{}, fmt.Errorf("gallery: %s: definition: %w", t.Name, err)
	}
	d.Active = false
	if in.Name != "" {
		d.Name = in.Name
	}
	return d, nil
}

// fill replaces the placeholders in v.
func fill(v any, conns map[string]int64, params map[string]any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			f, err := fill(e, conns, params)
			if err != nil {
				return nil, err
			}
			x[k] = f
		}
		return x, nil
	case []any:
		for i, e := range x {
			f, err := fill(e, conns, params)
			if err != nil {
				return nil, err
			}
			x[i] = f
		}
		return x, nil
	case string:
		if m := placeholder.FindStringSubmatch(x); m != nil && m[0] == x {
			return value(m[1], m[2], conns, params)
		}
		var bad error
		out := placeholder.ReplaceAllStringFunc(x, func(s string) string {
			m := placeholder.FindStringSubmatch(s)
			v, err := value(m[1], m[2], conns, params)
			if err != nil {
				bad = err
				return s
			}
			return fmt.Sprint(v)
		})
		return out, bad
	}
	return v, nil
}

func value(kind, name string, conns map[string]int64, params map[string]any) (any, error) {
	if kind == "connection" {
		id, ok := conns[name]
		if !ok {
			return nil, fmt.Errorf("placeholder <<connection:%s>>: the template declares no such connection", name)
		}
		return id, nil
	}
	v, ok := params[name]
	if !ok {
		return nil, fmt.Errorf("placeholder <<param:%s>>: the template declares no such parameter", name)
	}
	return v, nil
}
