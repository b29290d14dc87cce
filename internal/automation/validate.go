package automation

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"

	"github.com/obmen/obmen/internal/automation/tmpl"
)

// Problem is one thing wrong with a definition: where (the step's id, ""
// for the bundle itself, and the field's path) and what.
type Problem struct {
	Step    string `json:"step,omitempty"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Step != "" {
		return fmt.Sprintf("step %q: %s: %s", p.Step, p.Field, p.Message)
	}
	return p.Field + ": " + p.Message
}

// InvalidError is a definition refused, with every problem found.
type InvalidError struct{ Problems []Problem }

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "automation: bundle refused: " + strings.Join(parts, "; ")
}

// CRMEntities are the entities a crm.event trigger may name.
var CRMEntities = []string{"lead", "contact", "account", "deal", "sales_order", "invoice", "activity", "product", "service", "catalog", "ticket"}

// CRMEventActions are a crm.event trigger's actions.
var CRMEventActions = []string{"create", "update", "delete", "restore", "convert"}

var stepIDPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// cronParser reads five-field expressions and descriptors (@daily,
// @every 1h).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Compiled is a definition checked and compiled: what the engine runs.
type Compiled struct {
	Def      Definition
	Filters  *tmpl.Cond
	OrderKey *tmpl.Template
	Steps    []CompiledStep
	Schedule cron.Schedule
	Location *time.Location
}

// CompiledStep is a step with its action and templates.
type CompiledStep struct {
	Step
	Action Action
	Input  *tmpl.Value
	When   *tmpl.Cond
}

// Compile validates d against the registry and compiles its templates;
// the error is an *InvalidError listing every problem, each naming the
// step and the field.
func (r *Registry) Compile(d Definition) (*Compiled, error) {
	c := &Compiled{Def: d}
	var ps []Problem
	add := func(step, field, format string, args ...any) {
		ps = append(ps, Problem{Step: step, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(d.Name) == "" {
		add("", "name", "required")
	} else if utf8.RuneCountInString(d.Name) > 200 {
		add("", "name", "longer than 200 characters")
	}
	if d.MaxDepth < 0 || d.MaxDepth > 50 {
		add("", "max_depth", "must be between 1 and 50")
	}
	if d.MaxAttempts < 0 || d.MaxAttempts > 25 {
		add("", "max_attempts", "must be between 1 and 25")
	}
	if d.Concurrency < 0 {
		add("", "concurrency", "must not be negative")
	}
	ps = append(ps, r.checkTrigger(c, d.Trigger)...)

	// Templates may name the trigger and the steps before theirs: a step
	// joins known after its own templates are checked.
	known := map[string]bool{}
	checkRefs := func(step, group string, refs []tmpl.Ref) {
		for _, ref := range refs {
			// The template's own path ("input.phones[0].value"), so that
			// the editor shows the problem beside its field.
			field := refField(ref, group)
			switch ref.Root {
			case "trigger":
			case "steps":
				if len(ref.Path) == 0 {
					continue // steps as a whole
				}
				id := ref.Path[0]
				switch {
				case known[id]:
				case slices.ContainsFunc(d.Steps, func(s Step) bool { return s.ID == id }):
					add(step, field, "refers to step %q, which is not before it", id)
				default:
					add(step, field, "refers to unknown step %q", id)
				}
			default:
				add(step, field, "unknown name %q: templates see trigger and steps", ref.Root)
			}
		}
	}
	if !isEmptyCondition(d.Filters) {
		f, err := tmpl.CompileCondition("filters", d.Filters)
		if err != nil {
			add("", "filters", "%s", strings.TrimPrefix(err.Error(), "tmpl: "))
		} else {
			c.Filters = f
			for _, ref := range f.Refs() {
				if ref.Root == "steps" {
					add("", refField(ref, "filters"), "filters see only the trigger, not steps")
				} else if ref.Root != "trigger" {
					add("", refField(ref, "filters"), "unknown name %q: filters see trigger", ref.Root)
				}
			}
		}
	}
	if d.OrderKey != "" {
		t, err := tmpl.Compile(d.OrderKey)
		if err != nil {
			add("", "order_key", "%s", strings.TrimPrefix(err.Error(), "tmpl: "))
		} else {
			c.OrderKey = t
			for _, ref := range t.Refs() {
				if ref.Root != "trigger" {
					add("", "order_key", "the order key sees only the trigger")
				}
			}
		}
	}
	if len(d.Steps) == 0 {
		add("", "steps", "a bundle needs at least one step")
	}
	if len(d.Steps) > MaxSteps {
		add("", "steps", "at most %d steps", MaxSteps)
	}
	for i, s := range d.Steps {
		sid := s.ID
		name := s.ID
		if name == "" {
			name = "#" + strconv.Itoa(i+1)
		}
		cs := CompiledStep{Step: s}
		switch {
		case sid == "":
			add(name, "id", "required")
		case !stepIDPattern.MatchString(sid):
			add(name, "id", "%q: use Latin letters, digits and _, starting with a letter", sid)
		case known[sid]:
			add(name, "id", "%q is used by another step", sid)
		}
		a, ok := r.Action(s.Action)
		if !ok {
			if s.Action == "" {
				add(name, "action", "required")
			} else {
				add(name, "action", "unknown action %q", s.Action)
			}
		}
		cs.Action = a
		var desc Description
		if ok {
			desc = a.Describe()
		}
		if s.Input != nil {
			if v, err := tmpl.CompileValue("input", s.Input); err != nil {
				add(name, fieldOfErr(err, "input"), "%s", trimErr(err))
			} else {
				cs.Input = v
				checkRefs(name, "input", v.Refs())
			}
		}
		if ok {
			ps = append(ps, checkInputShape(name, desc, s.Input)...)
		}
		if s.When != nil && !isEmptyCondition(*s.When) {
			if w, err := tmpl.CompileCondition("when", *s.When); err != nil {
				add(name, "when", "%s", trimErr(err))
			} else {
				cs.When = w
				checkRefs(name, "when", w.Refs())
			}
		}
		switch s.OnError {
		case "", OnErrorStop, OnErrorContinue:
		default:
			add(name, "on_error", "%q is not stop or continue", s.OnError)
		}
		if s.Duplicates != nil && ok {
			if len(desc.Duplicates) == 0 {
				add(name, "duplicates", "action %s has no duplicate handling", s.Action)
			}
			if len(s.Duplicates.By) == 0 && len(desc.Duplicates) > 0 {
				add(name, "duplicates.by", "required: one or more of %s", strings.Join(desc.Duplicates, ", "))
			}
			for j, by := range s.Duplicates.By {
				if len(desc.Duplicates) > 0 && !slices.Contains(desc.Duplicates, by) {
					add(name, fmt.Sprintf("duplicates.by[%d]", j), "%q is not one of %s", by, strings.Join(desc.Duplicates, ", "))
				}
			}
			switch s.Duplicates.Then {
			case DupCreate, DupSkip, DupUpdate:
			case "":
				add(name, "duplicates.then", "required: create, skip or update")
			default:
				add(name, "duplicates.then", "%q is not create, skip or update", s.Duplicates.Then)
			}
		}
		if sid != "" {
			known[sid] = true
		}
		c.Steps = append(c.Steps, cs)
	}
	if len(ps) > 0 {
		return nil, &InvalidError{Problems: ps}
	}
	return c, nil
}

func (r *Registry) checkTrigger(c *Compiled, t TriggerSpec) []Problem {
	var ps []Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, Problem{Field: "trigger." + field, Message: fmt.Sprintf(format, args...)})
	}
	kind, ok := r.Trigger(t.Type)
	if !ok {
		if t.Type == "" {
			add("type", "required")
		} else {
			add("type", "unknown trigger %q", t.Type)
		}
		return ps
	}
	switch t.Type {
	case TriggerCRMEvent:
		if !slices.Contains(CRMEntities, t.Entity) {
			add("entity", "%q is not one of %s", t.Entity, strings.Join(CRMEntities, ", "))
		}
		for i, a := range t.Actions {
			if !slices.Contains(CRMEventActions, a) {
				add(fmt.Sprintf("actions[%d]", i), "%q is not one of %s", a, strings.Join(CRMEventActions, ", "))
			}
		}
	case TriggerManual:
		if t.Entity != "" && !slices.Contains(CRMEntities, t.Entity) {
			add("entity", "%q is not one of %s", t.Entity, strings.Join(CRMEntities, ", "))
		}
	case TriggerSchedule:
		tz := t.TZ
		if tz == "" {
			tz = DefaultTZ
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			add("tz", "%q is not a time zone", t.TZ)
		}
		c.Location = loc
		if strings.TrimSpace(t.Cron) == "" {
			add("cron", "required")
		} else if sch, err := cronParser.Parse(t.Cron); err != nil {
			add("cron", "%q: %v", t.Cron, err)
		} else {
			c.Schedule = sch
		}
	}
	switch {
	case kind.Connection != "" && t.Connection == 0:
		add("connection", "required: a saved %s connection", strings.ReplaceAll(kind.Connection, "|", " or "))
	case kind.Connection != "" && t.Connection < 0:
		add("connection", "must be a connection's id")
	case kind.Connection == "" && kind.Poll == nil && kind.Push == nil && t.Connection != 0:
		// The engine's own kinds; a connector's kind that does not name
		// its connection type checks the connection itself (Validate).
		add("connection", "trigger %s works without a saved connection", t.Type)
	}
	ps = append(ps, checkOptions(kind, t.Options)...)
	if kind.Validate != nil {
		ps = append(ps, kind.Validate(t)...)
	}
	return ps
}

// DefaultTZ is the time zone of schedules and dates unless a bundle says.
const DefaultTZ = "Europe/Moscow"

// checkInputShape refuses top-level input fields the action does not
// take, and required ones that are absent.
func checkInputShape(step string, d Description, input any) []Problem {
	var ps []Problem
	m, _ := input.(map[string]any)
	if input != nil && m == nil {
		return []Problem{{Step: step, Field: "input", Message: "must be an object"}}
	}
	fields := map[string]Field{}
	for _, f := range d.Input {
		fields[f.Name] = f
	}
	if !d.FreeInput {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if _, ok := fields[k]; !ok {
				ps = append(ps, Problem{Step: step, Field: "input." + k, Message: fmt.Sprintf("action %s has no field %q", d.Name, k)})
			}
		}
	}
	for _, f := range d.Input {
		if f.Required && isEmptyValue(m[f.Name]) {
			ps = append(ps, Problem{Step: step, Field: "input." + f.Name, Message: "required"})
		}
	}
	return ps
}

func isEmptyCondition(c tmpl.Condition) bool {
	return len(c.All) == 0 && len(c.Any) == 0 && c.Op == "" && c.Value == nil && c.Arg == nil
}

// fieldOfErr takes the JSON path a tmpl error starts with ("input.a.b:
// …"), else def.
func fieldOfErr(err error, def string) string {
	msg := err.Error()
	if p, _, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(p, def) && !strings.ContainsAny(p, " \"") {
		return p
	}
	return def
}

func trimErr(err error) string {
	msg := err.Error()
	if p, rest, ok := strings.Cut(msg, ": "); ok && !strings.ContainsAny(p, " \"") {
		msg = rest
	}
	return strings.TrimPrefix(msg, "tmpl: ")
}

// refField is the JSON path of a reference's template within group
// ("input", "when", "filters"), else the group.
func refField(ref tmpl.Ref, group string) string {
	if ref.Field == group || strings.HasPrefix(ref.Field, group+".") || strings.HasPrefix(ref.Field, group+"[") {
		return ref.Field
	}
	return group
}
