package tmpl

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// How two values compare in conditions; see the package comment.

// equal is eq: as numbers when both are numbers or numeric text ("10" eq
// 10), as dates when both are dates or times (a calendar date on either
// side compares days), else as text trimmed and compared exactly.
func equal(r *run, a, b any) (bool, error) {
	if x, ok := toNumber(a); ok {
		if y, ok := toNumber(b); ok {
			return x.cmp(y) == 0, nil
		}
	}
	if c, ok := compareMoments(r, a, b); ok {
		return c == 0, nil
	}
	ta, err := textOf(r, a)
	if err != nil {
		return false, err
	}
	tb, err := textOf(r, b)
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(ta) == strings.TrimSpace(tb), nil
}

// compareMoments orders a and b when both read as dates or times.
func compareMoments(r *run, a, b any) (int, bool) {
	ma, ok := parseMoment(a, r.loc, false)
	if !ok {
		return 0, false
	}
	mb, ok := parseMoment(b, r.loc, false)
	if !ok {
		return 0, false
	}
	var ta, tb time.Time
	if ma.dateOnly || mb.dateOnly {
		ta, tb = dayOf(ma.in(r.loc)), dayOf(mb.in(r.loc))
	} else {
		ta, tb = ma.t, mb.t
	}
	return ta.Compare(tb), true
}

// dayOf is midnight of t's calendar day, in UTC so days compare by date.
func dayOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// order is gt, gte, lt and lte: numbers or dates, else an error.
func order(r *run, a, b any) (int, error) {
	if x, ok := toNumber(a); ok {
		if y, ok := toNumber(b); ok {
			return x.cmp(y), nil
		}
	}
	if c, ok := compareMoments(r, a, b); ok {
		return c, nil
	}
	return 0, fmt.Errorf("cannot compare %s with %s (need two numbers or two dates)", quoteValue(a), quoteValue(b))
}

// contains is case-insensitive text search; for a list value, whether an
// item equals arg.
func contains(r *run, value, arg any) (bool, error) {
	if isList(value) {
		rv := reflect.ValueOf(value)
		for i := 0; i < rv.Len(); i++ {
			if err := r.charge(tickCost); err != nil {
				return false, err
			}
			eq, err := equal(r, rv.Index(i).Interface(), arg)
			if err != nil || eq {
				return eq, err
			}
		}
		return false, nil
	}
	hay, needle, err := texts(r, value, arg)
	if err != nil {
		return false, err
	}
	return strings.Contains(strings.ToLower(hay), strings.ToLower(needle)), nil
}

// startsWith is case-insensitive; leading spaces of the value are ignored.
func startsWith(r *run, value, arg any) (bool, error) {
	s, prefix, err := texts(r, value, arg)
	if err != nil {
		return false, err
	}
	return strings.HasPrefix(strings.ToLower(strings.TrimLeftFunc(s, isSpace)), strings.ToLower(prefix)), nil
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0' }

func texts(r *run, a, b any) (string, string, error) {
	ta, err := textOf(r, a)
	if err != nil {
		return "", "", err
	}
	tb, err := textOf(r, b)
	if err != nil {
		return "", "", err
	}
	if err := r.charge(2 * (len(ta) + len(tb))); err != nil {
		return "", "", err
	}
	return ta, tb, nil
}

// listSeparators split an in/not_in argument written as text:
// "new, in_work | won; lost" or one item per line.
const listSeparators = ",|;\n\r"

// inList is in: whether value equals an item of arg (a list, or text split
// on listSeparators); for a list value, whether any of its items does.
func inList(r *run, value, arg any) (bool, error) {
	var items []any
	switch {
	case arg == nil:
	case isList(arg):
		rv := reflect.ValueOf(arg)
		for i := 0; i < rv.Len(); i++ {
			items = append(items, rv.Index(i).Interface())
		}
	default:
		s, err := textOf(r, arg)
		if err != nil {
			return false, err
		}
		for _, p := range strings.FieldsFunc(s, func(c rune) bool { return strings.ContainsRune(listSeparators, c) }) {
			if p = strings.TrimSpace(p); p != "" {
				items = append(items, p)
			}
		}
	}
	values := []any{value}
	if isList(value) {
		values = values[:0]
		rv := reflect.ValueOf(value)
		for i := 0; i < rv.Len(); i++ {
			values = append(values, rv.Index(i).Interface())
		}
	}
	for _, v := range values {
		for _, item := range items {
			if err := r.charge(tickCost); err != nil {
				return false, err
			}
			eq, err := equal(r, v, item)
			if err != nil || eq {
				return eq, err
			}
		}
	}
	return false, nil
}
