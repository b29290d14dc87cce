package bitrix

import (
	"context"
	"regexp"
	"strings"
)

// maxBatch is how many commands one batch runs; the rest fail with
// ERROR_BATCH_LENGTH_EXCEEDED, as in Bitrix24.
const maxBatch = 50

// batch runs up to 50 commands in order, each "method?query" (or, as the
// SDKs may send, {method, params}). A command's parameters may refer to
// the answers of earlier ones: $result[name][FIELD], $result_total[name]
// and so on. With halt the batch stops at the first failing command. The
// batch itself answers 200; each command's error goes to result_error.
// Commands are not one transaction: each write commits on its own, as in
// Bitrix24.
func (h *Handler) batch(ctx context.Context, c *call) (reply, error) {
	if c.inBatch {
		return reply{}, errBatchNotAllowed
	}
	cmds, err := c.paramArray("cmd")
	if err != nil {
		return reply{}, err
	}
	halt, _ := c.param("halt")
	out := batchResults{result: NewArray(), errors: NewArray(), total: NewArray(), next: NewArray(), time: NewArray()}
	for i, key := range orEmpty(cmds).Keys() {
		raw, _ := cmds.Get(key)
		if i >= maxBatch {
			out.errors.Set(key, errorBody(errBatchLength))
			continue
		}
		start := h.now()
		name, params, e := parseCommand(raw)
		if e == nil {
			substitute(params, out)
			sub := &call{hook: c.hook, user: c.user, params: params, inBatch: true}
			var rep reply
			rep, e = h.invoke(ctx, sub, name)
			if e == nil {
				out.result.Set(key, rep.result)
				if rep.total != nil {
					out.total.Set(key, *rep.total)
				}
				if rep.next != nil {
					out.next.Set(key, *rep.next)
				}
				finish := h.now()
				out.time.Set(key, timing{start: start, finish: finish, processing: finish.Sub(start)}.array(h.loc))
			}
		}
		if e != nil {
			out.errors.Set(key, errorBody(e))
			if truthy(halt) {
				break
			}
		}
	}
	return reply{result: NewArray().Set("result", out.result).Set("result_error", out.errors).
		Set("result_total", out.total).Set("result_next", out.next).Set("result_time", out.time)}, nil
}

type batchResults struct {
	result, errors, total, next, time *Array
}

// parseCommand reads one command: "crm.lead.get?id=5" or {method, params}.
func parseCommand(raw any) (string, *Array, *Error) {
	if a, ok := raw.(*Array); ok {
		m, _ := lookupFold(a, "method")
		name, ok := scalarText(m)
		if !ok || name == "" {
			return "", nil, errMethodNotFound
		}
		params := NewArray()
		if p, ok := lookupFold(a, "params"); ok {
			if pa, ok := p.(*Array); ok {
				params = pa
			}
		}
		return methodName(name), params, nil
	}
	s, ok := scalarText(raw)
	if !ok || strings.TrimSpace(s) == "" {
		return "", nil, errMethodNotFound
	}
	name, query, _ := strings.Cut(strings.TrimSpace(s), "?")
	return methodName(name), ParseQuery(query), nil
}

func methodName(s string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), ".json"))
}

// reference is $result[name][FIELD]… and its siblings.
var reference = regexp.MustCompile(`\$(result|result_error|result_total|result_next|result_time)((?:\[[^\[\]]*\])+)`)

// substitute replaces references to earlier answers in every value of
// params. A value that is one reference to an array takes the array; a
// reference inside text takes the value's text. A reference to nothing
// stays as written, so that the method names the odd value.
func substitute(params *Array, out batchResults) {
	for _, k := range params.Keys() {
		v, _ := params.Get(k)
		switch x := v.(type) {
		case *Array:
			substitute(x, out)
		case string:
			if strings.Contains(x, "$result") {
				params.Set(k, substituteText(x, out))
			}
		}
	}
}

func substituteText(s string, out batchResults) any {
	resolve := func(m []string) (any, bool) {
		src := map[string]*Array{"result": out.result, "result_error": out.errors, "result_total": out.total,
			"result_next": out.next, "result_time": out.time}[m[1]]
		path := strings.Split(strings.TrimSuffix(strings.TrimPrefix(m[2], "["), "]"), "][")
		return src.Lookup(path...)
	}
	if m := reference.FindStringSubmatch(s); m != nil && m[0] == s {
		if v, ok := resolve(m); ok {
			if _, isArray := v.(*Array); isArray {
				return v
			}
		}
	}
	return reference.ReplaceAllStringFunc(s, func(ref string) string {
		v, ok := resolve(reference.FindStringSubmatch(ref))
		if !ok {
			return ref
		}
		text, ok := phpString(v)
		if !ok {
			return ref
		}
		return text
	})
}
