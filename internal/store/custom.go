package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
)

// CustomFields lists the declared custom fields of an entity ("" for all).
func (s *Store) CustomFields(ctx context.Context, entity string) ([]crm.CustomField, error) {
	return customDefs(s.rq(ctx), entity)
}

func customDefs(t txq, entity string) ([]crm.CustomField, error) {
	if t.cache != nil {
		if v, ok := t.cache.get("customdefs:" + entity); ok {
			return v.([]crm.CustomField), nil
		}
	}
	defs, err := readCustomDefs(t, entity)
	if err == nil && t.cache != nil {
		t.cache.put("customdefs:"+entity, defs)
	}
	return defs, err
}

func readCustomDefs(t txq, entity string) ([]crm.CustomField, error) {
	q := "SELECT id, entity, code, label, type, options, required, sort, user_type FROM custom_fields"
	var args []any
	if entity != "" {
		q += " WHERE entity = $1"
		args = append(args, entity)
	}
	rows, err := t.q.QueryContext(t.ctx, q+" ORDER BY entity, sort, id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: custom fields: %w", err)
	}
	defer rows.Close()
	out := []crm.CustomField{}
	for rows.Next() {
		var f crm.CustomField
		var opts string
		if err := rows.Scan(&f.ID, &f.Entity, &f.Code, &f.Label, &f.Type, &opts, &f.Required, &f.Sort, &f.UserType); err != nil {
			return nil, fmt.Errorf("store: custom fields: %w", err)
		}
		if err := json.Unmarshal([]byte(opts), &f.Options); err != nil {
			return nil, fmt.Errorf("store: custom field %s options: %w", f.Code, err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// CreateCustomField declares a custom field.
func (s *Store) CreateCustomField(ctx context.Context, actor crm.Actor, f crm.CustomField) (crm.CustomField, error) {
	if err := f.Normalize(); err != nil {
		return f, err
	}
	if _, ok := entityTables[f.Entity]; !ok {
		return f, crm.Invalid("entity", "%q is not a CRM entity", f.Entity)
	}
	err := s.Write(ctx, actor, func(t *Tx) error {
		opts, _ := json.Marshal(f.Options)
		err := t.tx.QueryRowContext(t.ctx, "INSERT INTO custom_fields (entity, code, label, type, options, required, sort, user_type, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
			f.Entity, f.Code, f.Label, f.Type, string(opts), f.Required, f.Sort, f.UserType, micro(t.now)).Scan(&f.ID)
		if db.IsUniqueViolation(err) {
			return crm.Invalid("code", "%s already exists on %s", f.Code, f.Entity)
		}
		if err != nil {
			return fmt.Errorf("store: create custom field: %w", err)
		}
		return nil
	})
	return f, err
}

// UpdateCustomField changes a declaration's label, options, required
// flag and sort; its entity, code and type stay (values are kept in the
// type's form).
func (s *Store) UpdateCustomField(ctx context.Context, actor crm.Actor, id int64, mutate func(f *crm.CustomField) error) (crm.CustomField, error) {
	var out crm.CustomField
	err := s.Write(ctx, actor, func(t *Tx) error {
		defs, err := readCustomDefs(txq{q: t.tx, ctx: t.ctx}, "")
		if err != nil {
			return err
		}
		var cur *crm.CustomField
		for i := range defs {
			if defs[i].ID == id {
				cur = &defs[i]
			}
		}
		if cur == nil {
			return NotFound("custom field", id)
		}
		f := *cur
		f.Options = append([]string(nil), cur.Options...)
		if err := mutate(&f); err != nil {
			return err
		}
		f.ID, f.Entity, f.Code, f.Type, f.UserType = cur.ID, cur.Entity, cur.Code, cur.Type, cur.UserType
		if err := f.Normalize(); err != nil {
			return err
		}
		opts, _ := json.Marshal(f.Options)
		if _, err := t.tx.ExecContext(t.ctx, "UPDATE custom_fields SET label = $1, options = $2, required = $3, sort = $4 WHERE id = $5",
			f.Label, string(opts), f.Required, f.Sort, id); err != nil {
			return fmt.Errorf("store: update custom field %d: %w", id, err)
		}
		out = f
		return nil
	})
	return out, err
}

// DeleteCustomField removes a declaration and its values.
func (s *Store) DeleteCustomField(ctx context.Context, actor crm.Actor, id int64) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		var entity, code string
		if err := t.tx.QueryRowContext(t.ctx, "SELECT entity, code FROM custom_fields WHERE id = $1", id).Scan(&entity, &code); err != nil {
			return NotFound("custom field", id)
		}
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM custom_values WHERE entity = $1 AND code = $2", entity, code); err != nil {
			return fmt.Errorf("store: delete custom values: %w", err)
		}
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM custom_fields WHERE id = $1", id); err != nil {
			return fmt.Errorf("store: delete custom field: %w", err)
		}
		return nil
	})
}

// customValue converts one input value to its stored text and number.
func customValue(f crm.CustomField, v any) (string, *float64, error) {
	field := "custom." + f.Code
	str := func() (string, bool) {
		switch x := v.(type) {
		case string:
			return x, true
		case json.Number:
			return x.String(), true
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), true
		case bool:
			return strconv.FormatBool(x), true
		}
		return "", false
	}
	s, ok := str()
	if !ok {
		return "", nil, crm.Invalid(field, "must be a %s value", f.Type)
	}
	switch f.Type {
	case "string":
		if len([]rune(s)) > 255 {
			return "", nil, crm.Invalid(field, "longer than 255 characters")
		}
		return s, nil, nil
	case "text":
		return s, nil, nil
	case "number":
		n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return "", nil, crm.Invalid(field, "%q is not a number", s)
		}
		return strings.TrimSpace(s), &n, nil
	case "date":
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return "", nil, crm.Invalid(field, "%q is not a date in YYYY-MM-DD form", s)
		}
		n := float64(d.Year()*10000 + int(d.Month())*100 + d.Day())
		return s, &n, nil
	case "bool":
		switch strings.ToUpper(s) {
		case "TRUE", "Y", "1":
			n := 1.0
			return "true", &n, nil
		case "FALSE", "N", "0", "":
			n := 0.0
			return "false", &n, nil
		}
		return "", nil, crm.Invalid(field, "%q is not true or false", s)
	case "enum":
		for _, o := range f.Options {
			if o == s {
				return s, nil, nil
			}
		}
		return "", nil, crm.Invalid(field, "%q is not one of %s", s, strings.Join(f.Options, ", "))
	case "booking":
		id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || id <= 0 {
			return "", nil, crm.Invalid(field, "%q is not a booking id", s)
		}
		n := float64(id)
		return strconv.FormatInt(id, 10), &n, nil
	}
	return "", nil, crm.Invalid(field, "unknown type %s", f.Type)
}

// checkCustom validates the custom values of a record of entity and turns
// them into their canonical form (as they will read back).
func checkCustom(t txq, entity string, custom map[string]any) (map[string]any, error) {
	defs, err := customDefs(t, entity)
	if err != nil {
		return nil, err
	}
	byCode := map[string]crm.CustomField{}
	for _, d := range defs {
		byCode[d.Code] = d
	}
	out := map[string]any{}
	for code, v := range custom {
		d, ok := byCode[code]
		if !ok {
			return nil, crm.Invalid("custom."+code, "no such custom field on %s", entity)
		}
		if v == nil {
			continue
		}
		text, _, err := customValue(d, v)
		if err != nil {
			return nil, err
		}
		if d.Type == "booking" {
			// A booking the request may not see is as good as missing.
			id, _ := strconv.ParseInt(text, 10, 64)
			if b, err := getBooking(t, id); err != nil || !bookingSeen(ScopeOf(t.ctx), b) {
				if err != nil && !errors.Is(err, ErrNotFound) {
					return nil, err
				}
				return nil, crm.Invalid("custom."+code, "no %s with id %d", "booking", id)
			}
		}
		out[code] = typedCustom(d.Type, text)
	}
	for _, d := range defs {
		if _, ok := out[d.Code]; d.Required && !ok {
			return nil, crm.Invalid("custom."+d.Code, "required")
		}
	}
	return out, nil
}

// saveCustom replaces the custom values of a record; custom must have been
// through checkCustom.
func (t *Tx) saveCustom(entity string, id int64, custom map[string]any, creating bool) error {
	if !creating {
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM custom_values WHERE entity = $1 AND record_id = $2", entity, id); err != nil {
			return fmt.Errorf("store: %s %d: custom values: %w", entity, id, err)
		}
	}
	if len(custom) == 0 {
		return nil
	}
	defs, err := customDefs(t.rq(), entity)
	if err != nil {
		return err
	}
	codes := make([]string, 0, len(custom))
	for c := range custom {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, code := range codes {
		var def crm.CustomField
		for _, d := range defs {
			if d.Code == code {
				def = d
			}
		}
		text, num, err := customValue(def, custom[code])
		if err != nil {
			return err
		}
		if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO custom_values (entity, record_id, code, value, num) VALUES ($1, $2, $3, $4, $5)",
			entity, id, code, text, num); err != nil {
			return fmt.Errorf("store: %s %d: custom value %s: %w", entity, id, code, err)
		}
	}
	return nil
}

func typedCustom(typ, text string) any {
	switch typ {
	case "number", "booking":
		return json.Number(text)
	case "bool":
		return text == "true"
	}
	return text
}

// loadCustom returns the custom values of the given records, typed.
func loadCustom(t txq, entity string, ids []int64) (map[int64]map[string]any, error) {
	out := make(map[int64]map[string]any, len(ids))
	for _, id := range ids {
		out[id] = map[string]any{}
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.q.QueryContext(t.ctx, `SELECT v.record_id, v.code, v.value, f.type FROM custom_values v
		JOIN custom_fields f ON f.entity = v.entity AND f.code = v.code
		WHERE v.entity = $1 AND v.record_id IN (`+placeholders(2, len(ids))+`)`, append([]any{entity}, int64Args(ids)...)...)
	if err != nil {
		return nil, fmt.Errorf("store: load %s custom values: %w", entity, err)
	}
	defer rows.Close()
	for rows.Next() {
		var rid int64
		var code, val, typ string
		if err := rows.Scan(&rid, &code, &val, &typ); err != nil {
			return nil, fmt.Errorf("store: load %s custom values: %w", entity, err)
		}
		out[rid][code] = typedCustom(typ, val)
	}
	return out, rows.Err()
}

// customDef finds one declaration for filtering.
func customDef(t txq, entity, code string) (crm.CustomField, error) {
	defs, err := customDefs(t, entity)
	if err != nil {
		return crm.CustomField{}, err
	}
	for _, d := range defs {
		if d.Code == code {
			return d, nil
		}
	}
	return crm.CustomField{}, crm.Invalid("custom."+code, "no such custom field on %s", entity)
}
