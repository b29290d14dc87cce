// Package i18n holds the interface's texts in message files, one JSON
// object per language (messages/ru.json, messages/en.json: key → text),
// instead of Go maps. Packages with texts of their own (a connector's
// actions) add their files to a Catalog.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
)

// Languages of the interface; Russian is the default.
const (
	Ru = "ru"
	En = "en"
)

//go:embed messages/*.json
var builtin embed.FS

// Catalog is a set of messages by language and key.
type Catalog struct {
	mu sync.RWMutex
	m  map[string]map[string]string
}

// New returns a catalog of the built-in messages.
func New() *Catalog {
	c := &Catalog{m: map[string]map[string]string{}}
	if err := c.Add(builtin, "messages"); err != nil {
		panic(err) // the embedded files are checked by the tests
	}
	return c
}

// Add reads every <lang>.json of dir in fsys. A key defined twice for one
// language is an error: two packages must not fight over a text.
func (c *Catalog) Add(fsys fs.FS, dir string) error {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return fmt.Errorf("i18n: read %s: %w", dir, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range entries {
		lang, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return fmt.Errorf("i18n: read %s: %w", e.Name(), err)
		}
		var msgs map[string]string
		if err := json.Unmarshal(b, &msgs); err != nil {
			return fmt.Errorf("i18n: %s/%s: %w", dir, e.Name(), err)
		}
		dst := c.m[lang]
		if dst == nil {
			dst = map[string]string{}
			c.m[lang] = dst
		}
		for k, v := range msgs {
			if old, dup := dst[k]; dup && old != v {
				return fmt.Errorf("i18n: %s/%s: key %q is already defined", dir, e.Name(), k)
			}
			dst[k] = v
		}
	}
	return nil
}

// Lookup returns the text of key in lang, if there is one.
func (c *Catalog) Lookup(lang, key string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.m[lang][key]
	return s, ok
}

// T returns the text of key in lang, else in Russian, else the key
// itself (a gap shows rather than hides).
func (c *Catalog) T(lang, key string) string {
	if s, ok := c.Lookup(lang, key); ok {
		return s
	}
	if s, ok := c.Lookup(Ru, key); ok {
		return s
	}
	return key
}

// Tf is T formatted with args (fmt.Sprintf) when there are any.
func (c *Catalog) Tf(lang, key string, args ...any) string {
	if len(args) == 0 {
		return c.T(lang, key)
	}
	return fmt.Sprintf(c.T(lang, key), args...)
}

// Keys lists the keys of lang.
func (c *Catalog) Keys(lang string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]string, 0, len(c.m[lang]))
	for k := range c.m[lang] {
		out = append(out, k)
	}
	return out
}
