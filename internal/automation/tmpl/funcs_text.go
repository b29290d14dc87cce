package tmpl

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/obmen/obmen/internal/crm"
)

// textFunc builds a one-argument text function; nil gives "".
func textFunc(f func(string) string) fn {
	return func(r *run, args []any) (any, error) {
		if err := arity(args, 1, 1); err != nil {
			return nil, err
		}
		s, err := textArg(r, args[0])
		if err != nil {
			return nil, err
		}
		if err := r.charge(2 * len(s)); err != nil {
			return nil, err
		}
		return f(s), nil
	}
}

var (
	fnUpper = textFunc(strings.ToUpper)
	fnLower = textFunc(strings.ToLower)
)

// fnTrim is trim(s) (Unicode spaces, NBSP included) or trim(s, chars).
func fnTrim(r *run, args []any) (any, error) {
	if err := arity(args, 1, 2); err != nil {
		return nil, err
	}
	s, err := textArg(r, args[0])
	if err != nil {
		return nil, err
	}
	if err := r.charge(len(s)); err != nil {
		return nil, err
	}
	if len(args) == 1 {
		return strings.TrimSpace(s), nil
	}
	cut, err := textArg(r, args[1])
	if err != nil {
		return nil, err
	}
	return strings.Trim(s, cut), nil
}

// fnReplace is replace(s, old, new): every occurrence. An empty old
// leaves s as it is (Go would insert new between every letter).
func fnReplace(r *run, args []any) (any, error) {
	if err := arity(args, 3, 3); err != nil {
		return nil, err
	}
	var parts [3]string
	for i, a := range args {
		s, err := textArg(r, a)
		if err != nil {
			return nil, err
		}
		parts[i] = s
	}
	s, old, repl := parts[0], parts[1], parts[2]
	if old == "" {
		return s, nil
	}
	n := strings.Count(s, old)
	size := len(s) + n*(len(repl)-len(old))
	if size > MaxTextLen {
		return nil, limitError(fmt.Sprintf("text longer than %d bytes", MaxTextLen))
	}
	if err := r.charge(len(s) + size); err != nil {
		return nil, err
	}
	return strings.ReplaceAll(s, old, repl), nil
}

// fnSubstr is substr(s, start[, length]) in runes. A negative start counts
// from the end; a range past either end is clipped; a negative length is
// an empty result.
func fnSubstr(r *run, args []any) (any, error) {
	if err := arity(args, 2, 3); err != nil {
		return nil, err
	}
	s, err := textArg(r, args[0])
	if err != nil {
		return nil, err
	}
	if err := r.charge(len(s)); err != nil {
		return nil, err
	}
	start, err := intArg(args[1], "start")
	if err != nil {
		return nil, err
	}
	n := utf8.RuneCountInString(s)
	if start < 0 {
		start = max(0, n+start)
	}
	start = min(start, n)
	end := n
	if len(args) == 3 {
		length, err := intArg(args[2], "length")
		if err != nil {
			return nil, err
		}
		end = start + max(0, min(length, n-start))
	}
	return runeSlice(s, start, end), nil
}

// fnJoin is join(list[, sep]): items as text (see formatText), nil items
// skipped; sep defaults to ", ". Text is returned as it is, nil as "".
func fnJoin(r *run, args []any) (any, error) {
	if err := arity(args, 1, 2); err != nil {
		return nil, err
	}
	sep := ", "
	if len(args) == 2 {
		s, err := textArg(r, args[1])
		if err != nil {
			return nil, err
		}
		sep = s
	}
	list := args[0]
	if !isList(list) {
		if isMap(list) {
			return nil, fmt.Errorf("expected a list, got object")
		}
		return textArg(r, list)
	}
	w := newTextWriter(r)
	rv := reflect.ValueOf(list)
	first := true
	for i := 0; i < rv.Len(); i++ {
		item := rv.Index(i).Interface()
		if item == nil {
			continue
		}
		if !first {
			if err := w.WriteString(sep); err != nil {
				return nil, err
			}
		}
		first = false
		var err error
		if s, ok := scalarText(item); ok {
			err = w.WriteString(s)
		} else {
			err = writeJSON(w, item)
		}
		if err != nil {
			return nil, err
		}
	}
	return w.String(), nil
}

// fnSplit is split(s[, sep]): items trimmed, empty items dropped, so
// "a, b,,c " is ["a", "b", "c"]; sep defaults to ",". nil gives [].
func fnSplit(r *run, args []any) (any, error) {
	if err := arity(args, 1, 2); err != nil {
		return nil, err
	}
	s, err := textArg(r, args[0])
	if err != nil {
		return nil, err
	}
	sep := ","
	if len(args) == 2 {
		if sep, err = textArg(r, args[1]); err != nil {
			return nil, err
		}
		if sep == "" {
			return nil, errors.New("empty separator")
		}
	}
	if err := r.charge(2 * len(s)); err != nil {
		return nil, err
	}
	out := []any{}
	for _, part := range strings.Split(s, sep) {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	if err := r.charge(16 * len(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// fnPhone is phone(s): E.164 by the CRM's rule (crm.NormalizePhone,
// Russia by default). nil, blank text and text that is no phone number
// give "": a template fills fields, and a wrong number in a field is
// worse than an empty one (the CRM keeps the raw value on the record).
func fnPhone(r *run, args []any) (any, error) {
	if err := arity(args, 1, 1); err != nil {
		return nil, err
	}
	s, err := textArg(r, args[0])
	if err != nil {
		return nil, err
	}
	if len(s) > 256 { // no phone is written in more; spares the parser
		return "", nil
	}
	// libphonenumber takes microseconds a number; a loop over thousands
	// of them is not what a template is for.
	if err := r.charge(phoneCost); err != nil {
		return nil, err
	}
	e164, ok := crm.NormalizePhone(s)
	if !ok {
		return "", nil
	}
	return e164, nil
}

// fnDigits is digits(s): only the characters 0-9.
func fnDigits(r *run, args []any) (any, error) {
	if err := arity(args, 1, 1); err != nil {
		return nil, err
	}
	s, err := textArg(r, args[0])
	if err != nil {
		return nil, err
	}
	if err := r.charge(len(s)); err != nil {
		return nil, err
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
