// Package connection keeps the named, saved accounts of external systems
// ("подключения") that every connector shares: an SMTP server, a
// retailCRM account, a МойСклад login. A connection has a type; a type
// describes its settings once (fields, labels from the message files,
// which are secret), and that description drives validation, the REST API
// and the form in the UI. Secret settings are sealed by secret.Box at rest
// and write-only: they are never returned, a Mask stands in their place,
// and an update that omits one (or sends the Mask) keeps the stored value.
//
// A type also knows how to check a connection (a cheap authenticated call
// answered with a clear message for each kind of failure) and, optionally,
// to refresh the remote dictionaries a user maps to, which are stored with
// the connection. Connectors (internal/connector/<name>) register their
// types explicitly at start-up; this package knows none of them.
package connection

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"sync"

	"github.com/obmen/obmen/internal/i18n"
)

//go:embed messages/*.json
var messages embed.FS

// Field types.
const (
	String  = "string"
	Integer = "integer"
	Boolean = "boolean"
)

// Field is one setting of a connection type.
type Field struct {
	Name string `json:"name"`
	// Type is string, integer or boolean.
	Type     string   `json:"type"`
	Required bool     `json:"required,omitempty"`
	Enum     []string `json:"enum,omitempty"`
	Default  any      `json:"default,omitempty"`
	// Secret: a password or a token, sealed at rest, never shown.
	Secret bool `json:"secret,omitempty"`
	Label  Text `json:"label"`
	Hint   Text `json:"hint,omitzero"`
}

// Text is a label in each language of the interface.
type Text = i18n.Text

// Settings are a connection's settings with the secrets open, as a type's
// Check and Refresh and a connector's actions see them.
type Settings map[string]any

// String returns a string setting ("" when absent).
func (s Settings) String(name string) string {
	v, _ := s[name].(string)
	return v
}

// Int returns an integer setting (0 when absent).
func (s Settings) Int(name string) int64 {
	switch v := s[name].(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	case int:
		return int64(v)
	}
	return 0
}

// Bool returns a boolean setting.
func (s Settings) Bool(name string) bool {
	v, _ := s[name].(bool)
	return v
}

// Type is a kind of connection.
type Type struct {
	Name   string
	Fields []Field
	// Validate checks what the field description cannot say (a field
	// required only when another is set, an address's form); it sees the
	// settings with defaults applied and secrets open.
	Validate func(s Settings) []Problem
	// Check makes a cheap authenticated call with the settings; a
	// *CheckError (or an error Classify recognises) says what failed.
	Check func(ctx context.Context, s Settings) error
	// Refresh loads the remote dictionaries (sites, statuses, custom
	// fields); nil when the type has none.
	Refresh func(ctx context.Context, s Settings) (map[string]any, error)
	// System names the external-id system under which Obmen's records
	// keep the ids of their twins in this connection's remote account
	// (crm.Record.ExternalIDs; "bitrix24:portal.example.ru"); nil or ""
	// when the type links no records. It sees the settings with secrets
	// masked: it may read addresses and accounts, not keys.
	System func(s Settings) string
	// BrokenClasses are the classes of a failed check, beyond
	// ClassCredentials, that mean the remote side refuses the connection
	// until a person acts (a deleted webhook, a refused token): the
	// connection is marked broken (Store.MarkBroken).
	BrokenClasses []string
	// Journal is the entity its journal entries' RecordID names
	// (WriteJournal: "message", "activity"); "" when the type keeps no
	// journal, and its page shows none.
	Journal string
}

// Breaks says a check failing with class marks the connection broken.
func (t Type) Breaks(class string) bool {
	return class == ClassCredentials || slices.Contains(t.BrokenClasses, class)
}

// TypeInfo is what the API and the UI know of a type.
type TypeInfo struct {
	Name       string  `json:"name"`
	Label      Text    `json:"label"`
	Hint       Text    `json:"hint,omitzero"`
	Fields     []Field `json:"fields"`
	CanRefresh bool    `json:"can_refresh"`
}

// Registry knows the connection types by name.
type Registry struct {
	mu    sync.RWMutex
	types map[string]Type
	msgs  *i18n.Catalog
}

// NewRegistry returns an empty registry whose labels come from msgs (nil:
// the built-in message files).
func NewRegistry(msgs *i18n.Catalog) *Registry {
	if msgs == nil {
		msgs = i18n.New()
	}
	if err := msgs.Add(messages, "messages"); err != nil {
		panic(err) // the embedded files are checked by the tests
	}
	return &Registry{types: map[string]Type{}, msgs: msgs}
}

// Messages is the catalogue labels and check messages are read from.
func (r *Registry) Messages() *i18n.Catalog { return r.msgs }

// AddMessages adds a connector's message files (dir of fsys holds
// ru.json, en.json): "connection.<type>" names the type,
// "connection.<type>.<field>" labels a field, ".hint" adds a hint.
func (r *Registry) AddMessages(fsys fs.FS, dir string) error { return r.msgs.Add(fsys, dir) }

// Add registers a type; a name registered twice is an error.
func (r *Registry) Add(t Type) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t.Name == "" {
		return fmt.Errorf("connection: a type without a name")
	}
	if _, dup := r.types[t.Name]; dup {
		return fmt.Errorf("connection: type %q registered twice", t.Name)
	}
	if t.Check == nil {
		return fmt.Errorf("connection: type %q has no Check", t.Name)
	}
	seen := map[string]bool{}
	for _, f := range t.Fields {
		switch f.Type {
		case String, Integer, Boolean:
		default:
			return fmt.Errorf("connection: type %q field %q: unknown field type %q", t.Name, f.Name, f.Type)
		}
		if seen[f.Name] {
			return fmt.Errorf("connection: type %q field %q described twice", t.Name, f.Name)
		}
		seen[f.Name] = true
	}
	r.types[t.Name] = t
	return nil
}

// Type returns the type named name.
func (r *Registry) Type(name string) (Type, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[name]
	return t, ok
}

// Info describes a type with its labels.
func (r *Registry) Info(name string) (TypeInfo, bool) {
	t, ok := r.Type(name)
	if !ok {
		return TypeInfo{}, false
	}
	info := TypeInfo{Name: t.Name, Label: r.text("connection."+t.Name, t.Name), Hint: r.optText("connection." + t.Name + ".hint"),
		CanRefresh: t.Refresh != nil}
	for _, f := range t.Fields {
		key := "connection." + t.Name + "." + f.Name
		f.Label = r.text(key, f.Name)
		f.Hint = r.optText(key + ".hint")
		info.Fields = append(info.Fields, f)
	}
	return info, true
}

// Types lists every type with its labels, by name.
func (r *Registry) Types() []TypeInfo {
	r.mu.RLock()
	names := make([]string, 0, len(r.types))
	for n := range r.types {
		names = append(names, n)
	}
	r.mu.RUnlock()
	sort.Strings(names)
	out := make([]TypeInfo, 0, len(names))
	for _, n := range names {
		info, _ := r.Info(n)
		out = append(out, info)
	}
	return out
}

func (r *Registry) text(key, def string) Text { return r.msgs.Text(key, def) }

func (r *Registry) optText(key string) Text { return r.msgs.OptText(key) }
