package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// option is one choice of a select.
type option struct {
	Value, Label string
}

// lookups resolve ids and codes to names for one request, reading each
// dictionary at most once (the store caches them across requests).
type lookups struct {
	ctx      context.Context
	s        *store.Store
	users    map[int64]string
	userOpts []option
	statuses map[string][]crm.Status
	pipes    []crm.Pipeline
	lang     string
	err      error
	// loc is the time zone times are shown in.
	loc *time.Location
	// ents finds a linked record's entity; names caches their titles
	// ("account/3" → "ООО Ромашка").
	ents  map[string]*entity
	names map[string]string
}

func newLookups(ctx context.Context, s *store.Store, lang string) *lookups {
	return &lookups{ctx: ctx, s: s, statuses: map[string][]crm.Status{}, lang: lang, loc: time.Local}
}

// lookupsFor are the lookups of a request: its language and time zone,
// and linked records named.
func (u *UI) lookupsFor(ctx context.Context, rq *request) *lookups {
	l := newLookups(ctx, u.store, rq.Lang)
	if rq.Loc != nil {
		l.loc = rq.Loc
	}
	l.ents, l.names = u.byPath, map[string]string{}
	return l
}

// refEntity is the entity a kRef or kIDs field links to; an activity's
// owner_id links to the entity its owner_type names.
func refEntity(f field, rec record) string {
	if f.RefFrom != "" {
		return strOf(rec[f.RefFrom])
	}
	return f.Ref
}

// refName is a linked record's title, "№ 3" when it cannot be read (gone,
// or not the user's to see).
func (l *lookups) refName(ent string, id int64) string {
	key := ent + "/" + strconv.FormatInt(id, 10)
	if n, ok := l.names[key]; ok {
		return n
	}
	name := "№ " + strconv.FormatInt(id, 10)
	if e, ok := l.ents[ent]; ok {
		if rec, err := e.get(l.ctx, id); err == nil {
			name = titleOf(ent, rec)
		}
	}
	if l.names != nil {
		l.names[key] = name
	}
	return name
}

// refLinks are the records a kRef or kIDs field links to, as
// (URL, title) pairs.
func (l *lookups) refLinks(f field, rec record) []option {
	ent := refEntity(f, rec)
	if ent == "" || l.ents == nil {
		return nil
	}
	var ids []int64
	switch f.Kind {
	case kRef:
		if id := intOf(rec[f.Name]); id != 0 {
			ids = []int64{id}
		}
	case kIDs:
		items, _ := rec[f.Name].([]any)
		for _, it := range items {
			if id := intOf(it); id != 0 {
				ids = append(ids, id)
			}
		}
	}
	var out []option
	for _, id := range ids {
		out = append(out, option{"/e/" + ent + "/" + strconv.FormatInt(id, 10), l.refName(ent, id)})
	}
	return out
}

// show is a field's value as a person reads it in the UI: linked records
// by name, money as "45 000,50 ₽", numbers and dates in the user's
// format, yes/no spelled out, empty amounts empty. (display is the plain
// text of the CSV export.)
func (l *lookups) show(f field, rec record) string {
	if f.Custom != nil {
		return l.display(f, rec)
	}
	v := rec[f.Name]
	switch f.Kind {
	case kRef, kIDs:
		if links := l.refLinks(f, rec); links != nil {
			names := make([]string, len(links))
			for i, o := range links {
				names[i] = o.Label
			}
			return strings.Join(names, ", ")
		}
		return l.display(f, rec)
	case kAmount:
		a, err := crm.ParseAmount(strOf(v))
		if err != nil || a == 0 {
			return ""
		}
		return formatMoney(l.lang, strOf(v), strOf(rec["currency"]))
	case kQty:
		return formatNumber(l.lang, strOf(v))
	case kDate:
		return formatDate(strOf(v))
	case kBool:
		if v == true {
			return translate(l.lang, "yes")
		}
		return translate(l.lang, "no")
	}
	return l.display(f, rec)
}

func (l *lookups) loadUsers() {
	if l.users != nil {
		return
	}
	l.users = map[int64]string{}
	us, err := l.s.ListUsers(l.ctx)
	if err != nil {
		l.err = err
		return
	}
	for _, u := range us {
		name := joinNonEmpty(u.FirstName, u.LastName)
		if name == "" {
			name = u.Login
		}
		l.users[u.ID] = name
		l.userOpts = append(l.userOpts, option{strconv.FormatInt(u.ID, 10), name})
	}
}

func (l *lookups) userName(id int64) string {
	if id == 0 {
		return ""
	}
	l.loadUsers()
	if n, ok := l.users[id]; ok {
		return n
	}
	return fmt.Sprintf("#%d", id)
}

func (l *lookups) statusList(dict string) []crm.Status {
	if st, ok := l.statuses[dict]; ok {
		return st
	}
	st, err := l.s.ListStatuses(l.ctx, dict)
	if err != nil {
		l.err = err
	}
	l.statuses[dict] = st
	return st
}

func (l *lookups) statusName(dict, id string) string {
	for _, st := range l.statusList(dict) {
		if st.StatusID == id {
			return st.Name
		}
	}
	return id
}

func (l *lookups) pipelines() []crm.Pipeline {
	if l.pipes == nil {
		ps, err := l.s.ListPipelines(l.ctx)
		if err != nil {
			l.err = err
		}
		l.pipes = append([]crm.Pipeline{{ID: 0, Name: ""}}, ps...)
		for _, p := range ps {
			if p.ID == 0 {
				l.pipes = ps
				break
			}
		}
	}
	return l.pipes
}

// stageDict names the stage dictionary of a pipeline.
func stageDict(pipeline int64) string {
	if pipeline == 0 {
		return "DEAL_STAGE"
	}
	return "DEAL_STAGE_" + strconv.FormatInt(pipeline, 10)
}

// options lists a field's choices ("" first: none).
func (l *lookups) options(f field, rec record, t func(string) string) []option {
	out := []option{{"", "—"}}
	switch f.Kind {
	case kStatus:
		for _, st := range l.statusList(f.Dict) {
			out = append(out, option{st.StatusID, st.Name})
		}
	case kStage:
		for _, st := range l.statusList(stageDict(intOf(rec["category_id"]))) {
			out = append(out, option{st.StatusID, st.Name})
		}
	case kPipeline:
		out = out[:0]
		for _, p := range l.pipelines() {
			name := p.Name
			if name == "" {
				name = t("kanban.default_pipeline")
			}
			out = append(out, option{strconv.FormatInt(p.ID, 10), name})
		}
	case kUser:
		l.loadUsers()
		out = append(out, l.userOpts...)
	case kBool:
		out = append(out, option{"true", t("yes")}, option{"false", t("no")})
	case kChoice:
		for _, c := range f.Choices {
			label := c
			if f.Custom == nil {
				label = choiceLabel(c, t)
			}
			out = append(out, option{c, label})
		}
	}
	return out
}

// display is a field's value as text for lists, cards and CSV.
func (l *lookups) display(f field, rec record) string {
	if f.Custom != nil {
		values, _ := rec["custom"].(map[string]any)
		if f.Custom.Type == "booking" && values[f.Custom.Code] != nil {
			return l.bookingSummary(values[f.Custom.Code])
		}
		return customDisplay(*f.Custom, values[f.Custom.Code])
	}
	v := rec[f.Name]
	switch f.Kind {
	case kUser:
		return l.userName(intOf(v))
	case kStatus:
		return l.statusName(f.Dict, strOf(v))
	case kStage:
		return l.statusName(stageDict(intOf(rec["category_id"])), strOf(v))
	case kPipeline:
		id := intOf(v)
		for _, p := range l.pipelines() {
			if p.ID == id {
				return p.Name
			}
		}
		return strOf(v)
	case kRef, kInt:
		if intOf(v) == 0 {
			return ""
		}
		return strOf(v)
	case kComms:
		return commsText(v)
	case kSocial:
		return socialValue(f, rec)
	case kAddress:
		return addrText(v)
	case kIDs:
		return idsText(v)
	case kDateTime:
		s := strOf(v)
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil && !t.IsZero() {
			return formatTime(t, l.loc)
		}
		return ""
	case kBool:
		if v == true {
			return "✓"
		}
		return ""
	case kChoice:
		if s := strOf(v); s != "" {
			return choiceLabel(s, func(k string) string { return translate(l.lang, k) })
		}
		return ""
	}
	return strOf(v)
}

// choiceLabel names a choice: "choice.call", then an entity's name, then
// the value itself.
func choiceLabel(v string, t func(string) string) string {
	if s := t("choice." + v); s != "choice."+v {
		return s
	}
	if s := t("e1." + v); s != "e1."+v {
		return s
	}
	return v
}

// inputValue is a field's value as an input holds it.
func inputValue(f field, rec record, loc *time.Location) string {
	v := rec[f.Name]
	switch f.Kind {
	case kComms:
		return commsText(v)
	case kSocial:
		return socialValue(f, rec)
	case kAddress:
		return addrText(v)
	case kIDs:
		return idsText(v)
	case kRef, kUser:
		if intOf(v) == 0 {
			return ""
		}
	case kDateTime:
		if t, err := time.Parse(time.RFC3339Nano, strOf(v)); err == nil && !t.IsZero() {
			return t.In(loc).Format("2006-01-02T15:04")
		}
		return ""
	}
	return strOf(v)
}

// socialValue is the value of a kSocial field: its item in the
// multi-field.
func socialValue(f field, rec record) string {
	items, _ := rec[f.Comm].([]any)
	for _, it := range items {
		if m, ok := it.(map[string]any); ok && strOf(m["value_type"]) == f.VT {
			return strOf(m["value"])
		}
	}
	return ""
}

func commsText(v any) string {
	items, _ := v.([]any)
	var parts []string
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			if s := strOf(m["value"]); s != "" {
				parts = append(parts, s)
			}
		}
	}
	return strings.Join(parts, ", ")
}

func idsText(v any) string {
	items, _ := v.([]any)
	var parts []string
	for _, it := range items {
		parts = append(parts, strOf(it))
	}
	return strings.Join(parts, ", ")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseForm turns the submitted editable fields into a JSON merge patch.
// A value that cannot be parsed is reported against its field, in the
// user's language, before the store sees anything.
func parseForm(e *entity, form func(string) string, has func(string) bool, cur record, t func(string) string, loc *time.Location) (record, *crm.FieldError) {
	patch, fes := parseFormAll(e, form, has, cur, t, loc)
	if len(fes) > 0 {
		return nil, fes[0]
	}
	return patch, nil
}

// parseFormAll is parseForm naming every field that cannot be parsed; the
// patch holds the others, so that they can be checked too.
func parseFormAll(e *entity, form func(string) string, has func(string) bool, cur record, t func(string) string, loc *time.Location) (record, []*crm.FieldError) {
	patch := record{}
	var fes []*crm.FieldError
	for _, f := range e.Fields {
		if f.RO || (f.Kind != kBool && f.Kind != kAddress && !has(f.Name)) {
			continue
		}
		raw := strings.TrimSpace(form(f.Name))
		bad := func(key string) { fes = append(fes, &crm.FieldError{Field: f.Name, Message: t(key)}) }
		switch f.Kind {
		case kBool:
			if !has(f.Name + ".shown") {
				continue // the form did not offer it
			}
			patch[f.Name] = raw == "on" || raw == "true"
		case kAddress:
			if !has(f.Name + ".shown") {
				continue // the form did not offer the block
			}
			patch[f.Name] = addrPatch(addrFromForm(f.Name, form), addrOf(cur[f.Name]))
		case kInt, kRef, kUser, kPipeline:
			if raw == "" {
				patch[f.Name] = 0
				continue
			}
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || n < 0 {
				bad("err.int")
				continue
			}
			patch[f.Name] = n
		case kAmount:
			if raw == "" {
				raw = "0"
			}
			if _, err := crm.ParseAmount(strings.ReplaceAll(raw, ",", ".")); err != nil {
				bad("err.amount")
				continue
			}
			patch[f.Name] = strings.ReplaceAll(raw, ",", ".")
		case kQty:
			if raw == "" {
				raw = "0"
			}
			if _, err := crm.ParseQuantity(strings.ReplaceAll(raw, ",", ".")); err != nil {
				bad("err.amount")
				continue
			}
			patch[f.Name] = strings.ReplaceAll(raw, ",", ".")
		case kDate:
			if raw != "" {
				if _, err := time.Parse(time.DateOnly, raw); err != nil {
					bad("err.date")
					continue
				}
			}
			patch[f.Name] = raw
		case kDateTime:
			if raw == "" {
				patch[f.Name] = nil
				continue
			}
			tm, err := time.ParseInLocation("2006-01-02T15:04", raw, loc)
			if err != nil {
				bad("err.date")
				continue
			}
			patch[f.Name] = tm.UTC().Format(time.RFC3339)
		case kIDs:
			ids := []int64{}
			for _, p := range splitList(raw) {
				n, err := strconv.ParseInt(strings.TrimPrefix(p, "#"), 10, 64)
				if err != nil || n <= 0 {
					ids = nil
					break
				}
				ids = append(ids, n)
			}
			if ids == nil {
				bad("err.int")
				continue
			}
			patch[f.Name] = ids
		case kSocial:
			// The other items of the multi-field stay as they are (with
			// what another social field of this form put there).
			base, ok := patch[f.Comm].([]map[string]any)
			if !ok {
				base = []map[string]any{}
				if items, ok := cur[f.Comm].([]any); ok {
					for _, it := range items {
						if m, ok := it.(map[string]any); ok {
							base = append(base, m)
						}
					}
				}
			}
			items := []map[string]any{}
			for _, m := range base {
				if strOf(m["value_type"]) != f.VT {
					items = append(items, m)
				}
			}
			if raw != "" {
				items = append(items, map[string]any{"value": raw, "value_type": f.VT})
			}
			patch[f.Comm] = items
		case kComms:
			// Items that stay keep their id and value type, so that an
			// unchanged list is no change.
			old := map[string]map[string]any{}
			if items, ok := cur[f.Name].([]any); ok {
				for _, it := range items {
					if m, ok := it.(map[string]any); ok {
						old[strOf(m["value"])] = m
					}
				}
			}
			items := []map[string]any{}
			for _, p := range splitList(raw) {
				it := map[string]any{"value": p}
				if m, ok := old[p]; ok {
					it["id"], it["value_type"] = m["id"], m["value_type"]
				}
				items = append(items, it)
			}
			patch[f.Name] = items
		default:
			patch[f.Name] = raw
		}
	}
	return patch, fes
}

// fieldOfError maps a store field error ("phones[1].value") to the form
// field it belongs to ("phones").
func fieldOfError(e *entity, fe *crm.FieldError) string {
	if strings.HasPrefix(fe.Field, "custom.") {
		return fe.Field
	}
	name := fe.Field
	if i := strings.IndexAny(name, "[."); i > 0 {
		name = name[:i]
	}
	if _, ok := e.Field(name); ok {
		return name
	}
	return ""
}

// changeText is a value of a change in a card's history as the card
// shows it: a status or stage by its name, a user or a linked record by
// name, money and dates in the user's format, product rows by their
// names; rec gives the context (the deal's pipeline, the currency).
func (l *lookups) changeText(e *entity, name string, raw json.RawMessage, rec record) string {
	f, ok := e.Field(name)
	if !ok || len(raw) == 0 || string(raw) == "null" || f.Kind == kText || f.Kind == kLong {
		return jsonText(raw)
	}
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return jsonText(raw)
	}
	r := record{name: v, "currency": rec["currency"], "category_id": rec["category_id"]}
	if f.RefFrom != "" {
		r[f.RefFrom] = rec[f.RefFrom]
	}
	if s := l.show(f, r); s != "" {
		return s
	}
	return "—"
}

// jsonText renders an event change value (JSON) for people.
func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "—"
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return "«»"
		}
		return s
	}
	var items []map[string]any
	if json.Unmarshal(raw, &items) == nil {
		var parts []string
		for _, it := range items {
			if v, ok := it["value"]; ok {
				parts = append(parts, strOf(v))
			} else if v, ok := it["name"]; ok {
				parts = append(parts, strOf(v))
			}
		}
		if len(items) == 0 {
			return "—"
		}
		if len(parts) > 0 {
			return strings.Join(parts, ", ")
		}
	}
	const max = 200
	if len(raw) > max {
		return string(raw[:max]) + "…"
	}
	return string(raw)
}
