package action

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dedup"
	"github.com/obmen/obmen/internal/store"
)

// maxScan bounds the records read to find and count the matches of one
// key; a count past it is reported as maxScan.
const maxScan = 5000

// matches are the live records one key found, by id.
type matches[T any] struct {
	by      string
	records map[int64]T
}

// first is the oldest match (the lowest id) and how many there are.
func (m matches[T]) first() (T, int64, int) {
	ids := slices.Sorted(maps.Keys(m.records))
	if len(ids) == 0 {
		var zero T
		return zero, 0, 0
	}
	return m.records[ids[0]], ids[0], len(ids)
}

// collect adds the live records of a list that same accepts (nil: all).
func (e *entity[T, P]) collect(ctx context.Context, p store.ListParams, same func(*T) bool, into map[int64]T) error {
	p.Limit = 500
	for read := 0; read < maxScan; read += p.Limit {
		items, next, err := e.list(ctx, p)
		if err != nil {
			return fail(err)
		}
		for i := range items {
			if same == nil || same(&items[i]) {
				into[e.meta(&items[i]).ID] = items[i]
			}
		}
		if next == "" {
			return nil
		}
		p.Cursor = next
	}
	return nil
}

// byExternalID adds the live record that has id in system.
func (e *entity[T, P]) byExternalID(ctx context.Context, system, id string, into map[int64]T) error {
	rid, err := e.st.FindByExternalID(ctx, e.name, system, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fail(err)
	}
	v, err := e.get(ctx, rid)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fail(err)
	}
	if e.meta(&v).DeletedAt == nil {
		into[rid] = v
	}
	return nil
}

// duplicates looks for live records like v by each key in turn: the
// first key that finds any decides.
func (e *entity[T, P]) duplicates(ctx context.Context, by []string, v *T) (matches[T], error) {
	for i, key := range by {
		if !slices.Contains(e.dupKeys, key) {
			return matches[T]{}, automation.InputErrorf(fmt.Sprintf("duplicates.by[%d]", i), "%q is not one of %s", key, strings.Join(e.dupKeys, ", "))
		}
		m := matches[T]{by: key, records: map[int64]T{}}
		var err error
		switch key {
		case ByPhone:
			for _, c := range e.comms(v).Phones {
				if err = e.collect(ctx, store.ListParams{Phone: c.Value}, nil, m.records); err != nil {
					break
				}
			}
		case ByEmail:
			for _, c := range e.comms(v).Emails {
				if err = e.collect(ctx, store.ListParams{Email: c.Value}, nil, m.records); err != nil {
					break
				}
			}
		case ByINN:
			if inn := strings.TrimSpace(e.inn(v)); inn != "" {
				err = e.collect(ctx, store.ListParams{INN: inn}, nil, m.records)
			}
		case ByExternalID:
			ext := P(v).RecordExtra().ExternalIDs
			for _, sys := range slices.Sorted(maps.Keys(ext)) {
				if ext[sys] == "" {
					continue
				}
				if err = e.byExternalID(ctx, sys, ext[sys], m.records); err != nil {
					break
				}
			}
		case ByName:
			if p, same, ok := e.dupName(v); ok {
				err = e.collect(ctx, p, same, m.records)
			}
		}
		if err != nil {
			return matches[T]{}, err
		}
		if len(m.records) > 0 {
			return m, nil
		}
	}
	return matches[T]{}, nil
}

// find looks for live records by one key and a typed value.
func (e *entity[T, P]) find(ctx context.Context, by, value, system string) (matches[T], error) {
	if !slices.Contains(e.findKeys, by) {
		return matches[T]{}, automation.InputErrorf("by", "%q is not one of %s", by, strings.Join(e.findKeys, ", "))
	}
	value = strings.TrimSpace(value)
	m := matches[T]{by: by, records: map[int64]T{}}
	var err error
	switch by {
	case ByID:
		id, perr := strconv.ParseInt(value, 10, 64)
		if perr != nil || id <= 0 {
			return m, automation.InputErrorf("value", "%q is not a record id", value)
		}
		v, gerr := e.get(ctx, id)
		switch {
		case errors.Is(gerr, store.ErrNotFound):
		case gerr != nil:
			err = fail(gerr)
		case e.meta(&v).DeletedAt == nil:
			m.records[id] = v
		}
	case ByPhone:
		err = e.collect(ctx, store.ListParams{Phone: value}, nil, m.records)
	case ByEmail:
		err = e.collect(ctx, store.ListParams{Email: value}, nil, m.records)
	case ByINN:
		err = e.collect(ctx, store.ListParams{INN: value}, nil, m.records)
	case ByExternalID:
		if strings.TrimSpace(system) == "" {
			return m, automation.InputErrorf("system", "required when by is external_id: the system the id belongs to")
		}
		err = e.byExternalID(ctx, strings.TrimSpace(system), value, m.records)
	case ByName:
		p, same := e.findName(value)
		err = e.collect(ctx, p, same, m.records)
	}
	return m, err
}

// titleKeys finds namesakes by a one-line name: the text search narrows,
// the exact comparison decides.
func titleKeys[T any](title func(*T) string) (
	dup func(v *T) (store.ListParams, func(*T) bool, bool),
	find func(value string) (store.ListParams, func(*T) bool),
) {
	find = func(value string) (store.ListParams, func(*T) bool) {
		return store.ListParams{Q: value}, func(r *T) bool { return dedup.SameText(title(r), value) }
	}
	dup = func(v *T) (store.ListParams, func(*T) bool, bool) {
		t := strings.TrimSpace(title(v))
		if t == "" {
			return store.ListParams{}, nil, false
		}
		p, same := find(t)
		return p, same, true
	}
	return dup, find
}

// lockKeys are the keys a find-or-create by these duplicate keys holds
// while it looks and creates (db.LockKeys): two runs creating the same
// client at once must not both find nothing and both create. A name
// locks the entity's whole name space: names are matched loosely.
func (e *entity[T, P]) lockKeys(by []string, v *T) []string {
	var keys []string
	add := func(k string) { keys = append(keys, "automation/"+e.name+"/"+k) }
	for _, key := range by {
		switch key {
		case ByPhone:
			if e.comms != nil {
				for _, c := range e.comms(v).Phones {
					if strings.TrimSpace(c.Value) != "" {
						add("phone:" + crm.PhoneKey(c.Value))
					}
				}
			}
		case ByEmail:
			if e.comms != nil {
				for _, c := range e.comms(v).Emails {
					if n, ok := crm.NormalizeEmail(c.Value); ok {
						add("email:" + n)
					} else if s := strings.TrimSpace(c.Value); s != "" {
						add("email:" + strings.ToLower(s))
					}
				}
			}
		case ByINN:
			if e.inn != nil {
				if inn := strings.TrimSpace(e.inn(v)); inn != "" {
					add("inn:" + inn)
				}
			}
		case ByExternalID:
			for sys, id := range P(v).RecordExtra().ExternalIDs {
				if id != "" {
					add("external:" + sys + ":" + id)
				}
			}
		case ByName:
			add("name")
		}
	}
	return keys
}
