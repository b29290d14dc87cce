package automation

import (
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/obmen/obmen/internal/i18n"
)

// Registry knows every action and trigger kind by name. Packages register
// theirs explicitly at start-up (internal/app); nothing registers itself.
type Registry struct {
	mu       sync.RWMutex
	actions  map[string]Action
	triggers map[string]TriggerKind
	msgs     *i18n.Catalog
	conns    Connections
	// receivers take pushes that are no kind's items (receiver.go).
	receivers []PushReceiver
}

// NewRegistry returns an empty registry whose labels come from msgs (nil:
// the built-in message files).
func NewRegistry(msgs *i18n.Catalog) *Registry {
	if msgs == nil {
		msgs = i18n.New()
	}
	return &Registry{actions: map[string]Action{}, triggers: map[string]TriggerKind{}, msgs: msgs}
}

// Messages is the catalogue labels are read from.
func (r *Registry) Messages() *i18n.Catalog { return r.msgs }

// AddMessages adds a package's message files (dir of fsys holds ru.json,
// en.json) for the labels of the actions it registers.
func (r *Registry) AddMessages(fsys fs.FS, dir string) error { return r.msgs.Add(fsys, dir) }

// Add registers actions; a name registered twice is an error.
func (r *Registry) Add(actions ...Action) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range actions {
		name := a.Describe().Name
		if name == "" {
			return fmt.Errorf("automation: an action without a name (%T)", a)
		}
		if _, dup := r.actions[name]; dup {
			return fmt.Errorf("automation: action %q is registered twice", name)
		}
		r.actions[name] = a
	}
	return nil
}

// MustAdd is Add for start-up code, where a clash is a programming error.
func (r *Registry) MustAdd(actions ...Action) {
	if err := r.Add(actions...); err != nil {
		panic(err)
	}
}

// Action returns the action of that name.
func (r *Registry) Action(name string) (Action, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.actions[name]
	return a, ok
}

// Describe is the action's description with its labels.
func (r *Registry) Describe(a Action) Description {
	d := a.Describe()
	d.Label = r.text("action."+d.Name, d.Name)
	d.Hint = r.optText("action." + d.Name + ".hint")
	d.Input = r.label("action."+d.Name+".in.", d.Input)
	d.Output = r.label("action."+d.Name+".out.", d.Output)
	return d
}

// Actions lists every action's description, by group and name.
func (r *Registry) Actions() []Description {
	r.mu.RLock()
	list := make([]Action, 0, len(r.actions))
	for _, a := range r.actions {
		list = append(list, a)
	}
	r.mu.RUnlock()
	out := make([]Description, len(list))
	for i, a := range list {
		out[i] = r.Describe(a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// AddTrigger registers a trigger kind.
func (r *Registry) AddTrigger(k TriggerKind) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.triggers[k.Type]; dup {
		return fmt.Errorf("automation: trigger %q is registered twice", k.Type)
	}
	k.optionsDescribed = len(k.Options) > 0
	if k.Poll != nil && !slices.ContainsFunc(k.Options, func(f Field) bool { return f.Name == OptionInterval }) {
		k.Options = append(slices.Clip(k.Options), Field{Name: OptionInterval, Type: "integer"})
	}
	r.triggers[k.Type] = k
	return nil
}

// Trigger returns the trigger kind of that type.
func (r *Registry) Trigger(typ string) (TriggerKind, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.triggers[typ]
	return k, ok
}

// TriggerInfo is a trigger kind as the API describes it.
type TriggerInfo struct {
	Type  string  `json:"type"`
	Group string  `json:"group"`
	Label Text    `json:"label"`
	Hint  Text    `json:"hint,omitzero"`
	Data  []Field `json:"data"`
	// Connection is the connection types the trigger takes ("a|b"), and
	// Options its settings (trigger.options), described as inputs are.
	Connection string  `json:"connection,omitempty"`
	Options    []Field `json:"options,omitempty"`
	// Poll and Push say how its items come: polled every Every seconds
	// (the option "interval", at least MinEvery), pushed to the
	// connection's hook URL.
	Poll     bool `json:"poll,omitempty"`
	Push     bool `json:"push,omitempty"`
	Every    int  `json:"every,omitempty"`
	MinEvery int  `json:"min_every,omitempty"`
}

// Triggers lists the trigger kinds.
func (r *Registry) Triggers() []TriggerInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]TriggerInfo, 0, len(r.triggers))
	for _, k := range r.triggers {
		info := TriggerInfo{Type: k.Type, Group: k.Group,
			Label: r.text("trigger."+k.Type, k.Type), Hint: r.optText("trigger." + k.Type + ".hint"),
			Data: r.label("trigger."+k.Type+".data.", k.Data), Connection: k.Connection, Options: r.optionLabels(k),
			Poll: k.Poll != nil, Push: k.Push != nil}
		if k.Poll != nil {
			info.Every, info.MinEvery = int(k.every()/time.Second), int(k.minEvery()/time.Second)
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

// optionLabels labels a kind's options: "trigger.<type>.options.<name>",
// else the options every kind shares ("trigger.options.interval").
func (r *Registry) optionLabels(k TriggerKind) []Field {
	out := r.label("trigger."+k.Type+".options.", k.Options)
	for i := range out {
		if r.optText("trigger."+k.Type+".options."+out[i].Name).IsZero() && !r.optText("trigger.options."+out[i].Name).IsZero() {
			out[i].Label = r.text("trigger.options."+out[i].Name, out[i].Name)
			out[i].Hint = r.optText("trigger.options." + out[i].Name + ".hint")
		}
	}
	return out
}

// text is the label of key in both languages; fallback when missing.
func (r *Registry) text(key, fallback string) Text { return r.msgs.Text(key, fallback) }

func (r *Registry) optText(key string) Text { return r.msgs.OptText(key) }

// label fills the labels of fields: "<prefix><path>" (the action's own
// wording), else "field.<path>", else "field.<name>" — CRM field names
// mean the same in every action.
func (r *Registry) label(prefix string, fs []Field) []Field {
	return r.labelAt(prefix, "", fs)
}

func (r *Registry) labelAt(prefix, path string, fs []Field) []Field {
	if fs == nil {
		return nil
	}
	out := make([]Field, len(fs))
	for i, f := range fs {
		p := f.Name
		if path != "" {
			p = path + "." + f.Name
		}
		f.Label = r.fieldText(prefix, p, f.Name)
		f.Hint = r.optText(prefix + p + ".hint")
		f.Fields = r.labelAt(prefix, p, f.Fields)
		if f.Item != nil {
			item := *f.Item
			item.Fields = r.labelAt(prefix, p, item.Fields)
			f.Item = &item
		}
		out[i] = f
	}
	return out
}

func (r *Registry) fieldText(prefix, path, name string) Text {
	for _, k := range []string{prefix + path, "field." + path, "field." + name} {
		if t := r.optText(k); !t.IsZero() {
			if t.En == "" {
				t.En = t.Ru
			}
			if t.Ru == "" {
				t.Ru = t.En
			}
			return t
		}
	}
	n := strings.ReplaceAll(name, "_", " ")
	return Text{Ru: n, En: n}
}

// eventKinds are the types of the trigger kinds served by the change-event
// log (TriggerKind.Events), sorted.
func (r *Registry) eventKinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for t, k := range r.triggers {
		if k.Events != nil {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}
