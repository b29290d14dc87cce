// Package tmpl renders the templates and decides the conditions of
// automation bundles: a step's input is JSON whose strings may hold
// {{ … }} expressions over the run's environment, and filters compare
// rendered values.
//
// Expressions are github.com/expr-lang/expr; only the {{ … }} splitting
// is ours. This package imports nothing from Obmen but internal/crm (the
// CRM's phone rule).
//
// # Environment
//
// A render sees a map of roots, such as trigger (the record and the event)
// and steps (results of earlier steps): trigger.record.phones[0].value,
// trigger.event.changes.stage_id.new, steps.client.id. The roots are the
// caller's; Refs lists what an expression reads so the caller can refuse
// unknown roots or later steps. Values are JSON-like (map[string]any,
// []any, string, int64, float64, bool, nil; see FromJSON), and functions
// may return time.Time.
//
// Access is lenient: a missing key, a nil base or an index out of range is
// nil, never an error, so {{trigger.record.phones[0].value}} is empty text
// for a record without phones. Only maps and lists can be read: fields and
// methods of Go values are out of reach, and only named functions can be
// called. Calling an unknown function, wrong argument types, a division by
// zero and the like are errors.
//
// # Templates
//
// A string without "{{" is literal text. A template that is exactly one
// {{ … }}, with nothing but whitespace around it (users paste with
// spaces), renders to the expression's value with its type: {{trigger.record.id}}
// is int64 5, a list stays a list. Any other template renders to text:
// literal parts kept, each value written as
//
//	nil           nothing
//	int64         1500
//	float64       1500.5 (no exponent; at most 9 decimals, trailing zeros dropped)
//	bool          true, false
//	time.Time     05.12.2026 14:30 (TimeLayout, in the time's zone: the render's)
//	list          items joined with ", ", nil items skipped
//	map           JSON
//
// There is no escape for a literal "{{"; write {{ "{{" }}. Positions in
// errors ((line:column) after the message) are inside the trimmed
// expression, as expr reports them; Error.Offset locates the expression.
//
// # Functions
//
// Text: default(v, d) (d when v is nil, blank, an empty list or map; 0
// and false are values), upper, lower, trim(s[, chars]), replace(s, old,
// new), substr(s, start[, length]) in letters (negative start counts from
// the end, out of range is clipped), join(list[, sep]) (", " by default;
// nil items skipped), split(s[, sep]) ("," by default; items trimmed,
// empty ones dropped), phone(s) (E.164 by the CRM's rule, "" when s is
// not a phone number: a wrong number in a field is worse than none),
// digits(s), string(v) (v as text, as above), json(v) (compact JSON, keys
// sorted), len(v) (letters, items; 0 for nil), keys(m) and values(m)
// (sorted by key).
//
// Numbers: num(v) reads "1500.50", "1 500,50" or "1.234,56" (CRM decimals
// are text; nil and blank give nil; a single "," or "." is the decimal
// separator, thousands groups must have three digits), number(v[, decimals])
// writes "1 234 567,5" (NBSP between thousands, decimal comma),
// money(v[, currency]) writes "1 500,50 ₽" (RUB by default; USD "$", EUR
// "€", other codes after the number), round(v[, decimals]) rounds half
// away from zero. Functions that take numbers accept int64, float64 and
// numeric text; formatting functions give "" for nil. Arithmetic is
// expr's: + - * / % ** (/ always divides as a float; a float result that
// is whole becomes int64); "+" joins two texts; text and a number do not
// mix, use num() or string(). Two times subtract to the seconds between
// them: floor((now() - add_days(x, 0)) / 86400) is whole days since x.
//
// Dates: date(v[, layout[, tz]]) writes v, which may be a time, RFC 3339
// text, "2026-12-05", "2026-12-05 14:30[:00]", "05.12.2026[ 14:30]" or a
// unix time (seconds; milliseconds from 1e11), by a moment.js-like layout
// ("DD.MM.YYYY" by default; "D MMMM YYYY" is "5 декабря 2026", "MMMM YYYY"
// is "декабрь 2026", "dddd" is "суббота"; see dateTokens) in the IANA zone
// tz. Text without an offset is a time in the render's zone
// (Europe/Moscow unless WithLocation says otherwise); a calendar date is
// the same day in every zone. now() is the render's clock (WithNow).
// add_days(v, n) moves by calendar days, add_hours(v, n) by hours (n may
// be fractional); both return a time in the render's zone.
//
// expr's builtins for lists and numbers remain: all, any, none, one,
// filter, map, find, findIndex, findLast, findLastIndex, count, sum,
// groupBy, sortBy, reduce, first, last, take, max, min, mean, abs, ceil,
// floor, int, float, type, trimPrefix, trimSuffix, hasPrefix, hasSuffix,
// indexOf, lastIndexOf, repeat; also the operators ?? (nil default), ?:,
// if/else, let, in, contains, startsWith, endsWith, matches. Looping over
// nil loops over nothing. Other builtins are disabled (see keptBuiltins).
//
// # Bounds
//
// A template is at most MaxSourceLen bytes with at most 500 expressions,
// an expression at most 2000 AST nodes; a template renders to at most
// MaxTextLen bytes of text, and values nest at most MaxDepth levels. Each
// expression runs with expr's memory budget (ranges, literals, sortBy,
// repeat), and each render has a work budget shared by its expressions:
// text our functions and "+" produce or scan, values copied into results,
// and every iteration of a loop. Going over any bound is an error matching
// ErrLimit. Not bounded beyond that: expr's own linear operators (in,
// contains, ==, matches) on large environment values, repeated inside
// loops, cost CPU in proportion to iterations × size; both factors are
// bounded, and their product is large only for very large environments.
//
// # Conditions
//
// A Condition is a group (all and/or any, nestable, each non-empty; with
// both, both must hold) or a comparison {value, op, arg}; the empty
// Condition is always true. value and arg are templates or literals.
//
//	eq, ne              numbers when both sides are numbers or numeric text
//	                    ("10" eq 10); dates when both are dates or times (a
//	                    calendar date on either side compares days); else
//	                    text trimmed and compared exactly (nil is "")
//	contains,           case-insensitive text search; for a list value,
//	not_contains        whether an item equals arg (as eq)
//	starts_with         case-insensitive, leading spaces of value ignored
//	empty, not_empty    nil, blank text, empty list or map; 0 and false are
//	                    not empty; no arg
//	gt, gte, lt, lte    numbers or dates; an empty value is false (records
//	                    often lack optional fields), anything else that is
//	                    not comparable is an error
//	in, not_in          arg is a list, or text split on , | ; and newlines;
//	                    for a list value, whether any item is in arg
//	changed             value names a field ("stage_id", or a template like
//	                    "{{trigger.record.stage_id}}" whose reference ends
//	                    with it); true when trigger.event.changes.<field>
//	                    is present and does not record equal old and new
//	                    values; with arg, the new value must also eq arg
//
// Eval returns a Trace for the bundle's journal.
package tmpl
