package calltouch

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/automation"
)

// Polling. The journals are read by window: from the end of the last
// window, less an overlap, to now. The overlap catches what the journals
// show late — a call enters the diary when it ends, dated when it began;
// a request is dated when the form was sent — and the engine's
// deduplication by item key (one run per key per bundle) makes the
// overlap cost nothing but a re-read. The cursor is the end of the
// last window, stored by the engine with the runs it queued: a crash
// between the read and the store reads the same window again, giving
// the same keys.
const (
	// DefaultOverlap is the overlap when the trigger's options set none.
	DefaultOverlap = time.Hour
	// MaxCatchUp bounds how far back a cursor left long ago is followed.
	MaxCatchUp = 31 * 24 * time.Hour
)

// A cursor is "<end of the last window> <start of the bundle>", both
// RFC 3339: a window never reaches before the bundle's first poll, so the
// overlap does not bring in what happened before the bundle was made.
func cursorOf(to, since time.Time) string {
	return to.UTC().Format(time.RFC3339Nano) + " " + since.UTC().Format(time.RFC3339Nano)
}

// window is the span to read after cursor, and the next cursor.
func (d Deps) window(cursor string, b *automation.Bundle) (from, to time.Time, next string, first bool, err error) {
	to = d.Now()
	if cursor == "" {
		// The first poll reads nothing: the bundle takes what happens
		// from its start on.
		return to, to, cursorOf(to, to), true, nil
	}
	endS, sinceS, _ := strings.Cut(cursor, " ")
	last, err := time.Parse(time.RFC3339Nano, endS)
	if err != nil {
		return to, to, cursor, false, fmt.Errorf("calltouch: cursor %q: %w", cursor, err)
	}
	since := time.Time{}
	if sinceS != "" {
		if since, err = time.Parse(time.RFC3339Nano, sinceS); err != nil {
			return to, to, cursor, false, fmt.Errorf("calltouch: cursor %q: %w", cursor, err)
		}
	}
	from = last.Add(-overlap(b))
	if from.Before(since) {
		from = since
	}
	if lim := to.Add(-MaxCatchUp); from.Before(lim) {
		from = lim
	}
	// The journals date to the second.
	return from.Truncate(time.Second), to, cursorOf(to, since), false, nil
}

func overlap(b *automation.Bundle) time.Duration {
	if b == nil {
		return DefaultOverlap
	}
	switch v := b.Trigger.Options["overlap_minutes"].(type) {
	case float64:
		if v > 0 {
			return time.Duration(v * float64(time.Minute))
		}
	case int64:
		if v > 0 {
			return time.Duration(v) * time.Minute
		}
	}
	return DefaultOverlap
}

// days splits [from, to] into the account's days: the calls diary reads
// one day by default, and the requests journal's times are of a day.
func days(from, to time.Time, loc *time.Location) [][2]time.Time {
	from, to = from.In(loc), to.In(loc)
	var out [][2]time.Time
	for start := from; !start.After(to); {
		y, m, dd := start.Date()
		end := time.Date(y, m, dd, 23, 59, 59, 0, loc)
		if end.After(to) {
			end = to
		}
		out = append(out, [2]time.Time{start, end})
		start = time.Date(y, m, dd+1, 0, 0, 0, 0, loc)
	}
	return out
}

// PollCalls reads the calls diary after cursor.
func (d Deps) PollCalls(ctx context.Context, b *automation.Bundle, cursor string) ([]automation.Item, string, error) {
	from, to, next, first, err := d.window(cursor, b)
	if err != nil || first {
		return nil, next, err
	}
	c, err := d.open(ctx, b.Trigger.Connection)
	if err != nil {
		return nil, cursor, err
	}
	loc := c.Account.location()
	var items []automation.Item
	for _, day := range days(from, to, loc) {
		calls, err := c.Calls(ctx, day[0], day[1])
		if err != nil {
			return nil, cursor, err
		}
		for _, call := range calls {
			data, at, err := call.Data(loc)
			if err != nil {
				return nil, cursor, err
			}
			if at.Before(from) {
				continue // the day's part before the window
			}
			items = append(items, automation.Item{Key: callKey(call.CallID), Data: data})
		}
	}
	return items, next, nil
}

// PollRequests reads the requests journal after cursor.
func (d Deps) PollRequests(ctx context.Context, b *automation.Bundle, cursor string) ([]automation.Item, string, error) {
	from, to, next, first, err := d.window(cursor, b)
	if err != nil || first {
		return nil, next, err
	}
	c, err := d.open(ctx, b.Trigger.Connection)
	if err != nil {
		return nil, cursor, err
	}
	loc := c.Account.location()
	var items []automation.Item
	for _, day := range days(from, to, loc) {
		reqs, err := c.Requests(ctx, day[0], day[1])
		if err != nil {
			return nil, cursor, err
		}
		for _, r := range reqs {
			data, at, err := r.Data(loc)
			if err != nil {
				return nil, cursor, err
			}
			if at.Before(from) {
				continue
			}
			items = append(items, automation.Item{Key: requestKey(r.RequestID), Data: data})
		}
	}
	return items, next, nil
}

// validateTrigger checks the range of overlap_minutes; the engine checks
// the connection, the option names and types, and the interval.
func validateTrigger(spec automation.TriggerSpec) []automation.Problem {
	v, ok := spec.Options["overlap_minutes"]
	if !ok || v == nil {
		return nil
	}
	var n float64
	switch x := v.(type) {
	case float64:
		n = x
	case int64:
		n = float64(x)
	case int:
		n = float64(x)
	}
	if n <= 0 || n > 24*60 {
		return []automation.Problem{{Field: "trigger.options.overlap_minutes", Message: "must be a number of minutes from 1 to 1440"}}
	}
	return nil
}

// options are the options both triggers take (besides the interval).
var options = []automation.Field{{Name: "overlap_minutes", Type: "integer"}}

// pushKind says what a webhook carries: Calltouch sends calls and
// requests to the same address, with their own parameters; "?event=call"
// or "?event=request" in the address set up in Calltouch says it
// outright.
func pushKind(v url.Values) (string, error) {
	switch e := strings.ToLower(get(v, "event")); e {
	case "call", "request":
		return e, nil
	case "":
	default:
		return "", fmt.Errorf("calltouch webhook: event: %q is not call or request", e)
	}
	switch {
	case get(v, "requestId", "request_id", "requestNumber", "request_number", "requestDate", "subject") != "":
		return "request", nil
	case get(v, "callId", "call_id", "callerphone", "callerNumber", "calltime", "callTime") != "":
		return "call", nil
	}
	return "", errors.New("calltouch webhook: neither a call (callId, callerphone) nor a request (requestId, requestNumber)")
}

// push is the Push of the kind for event ("call" or "request"): the other
// event's webhooks give it nothing, and one that is neither is an error
// (reported once, by the call kind).
func push(event string, items func(url.Values, Account) ([]automation.Item, error)) func(context.Context, *automation.PushRequest) ([]automation.Item, error) {
	return func(_ context.Context, req *automation.PushRequest) ([]automation.Item, error) {
		v, err := pushValues(req.Request)
		if err != nil {
			if event == "call" {
				return nil, err
			}
			return nil, nil
		}
		v = lower(v)
		got, err := pushKind(v)
		switch {
		case err != nil && event == "call":
			return nil, err
		case err != nil || got != event:
			return nil, nil
		}
		return items(v, AccountOf(req.Settings))
	}
}

func str(name string) automation.Field { return automation.Field{Name: name, Type: "string"} }

func boolean(name string) automation.Field { return automation.Field{Name: name, Type: "boolean"} }

var (
	tagGroupField = automation.Field{Name: "tag_groups", Type: "list", Item: &automation.Field{Type: "object",
		Fields: []automation.Field{str("type"), str("category"), {Name: "names", Type: "list", Item: &automation.Field{Type: "string"}}}}}
	sessionFields = []automation.Field{str("session_id"), str("source"), str("medium"), str("keyword"), str("city"), str("url"), str("ref"),
		str("utm_source"), str("utm_medium"), str("utm_campaign"), str("utm_content"), str("utm_term"),
		str("google_client_id"), str("yandex_client_id"), str("ct_client_id"), str("manager"),
		{Name: "tags", Type: "list", Item: &automation.Field{Type: "string"}}, str("tags_text"), tagGroupField}
)

// CallData describes calltouch.call's data.
func CallData() []automation.Field {
	return append([]automation.Field{str("call_id"), {Name: "date", Type: "datetime"}, str("caller_number"), str("phone_number"),
		{Name: "duration", Type: "integer"}, {Name: "waiting", Type: "integer"},
		boolean("successful"), boolean("unique"), boolean("target"), boolean("unique_target"), boolean("callback"), str("call_url")},
		sessionFields...)
}

// RequestData describes calltouch.request's data.
func RequestData() []automation.Field {
	return append([]automation.Field{str("request_id"), str("request_number"), {Name: "date", Type: "datetime"}, str("subject"), str("name"),
		{Name: "phones", Type: "list", Item: &automation.Field{Type: "string"}}, str("phone"),
		{Name: "emails", Type: "list", Item: &automation.Field{Type: "string"}}, str("email")},
		sessionFields...)
}

// CallTrigger is calltouch.call: a call in the calls diary.
func CallTrigger(d Deps) automation.TriggerKind {
	d = d.withDefaults()
	return automation.TriggerKind{Type: TriggerCall, Group: Group, Data: CallData(), Validate: validateTrigger, Poll: d.PollCalls, Every: d.Every,
		Connection: Type, Options: options, Push: push("call", CallItems)}
}

// RequestTrigger is calltouch.request: a request in the requests journal.
func RequestTrigger(d Deps) automation.TriggerKind {
	d = d.withDefaults()
	return automation.TriggerKind{Type: TriggerReq, Group: Group, Data: RequestData(), Validate: validateTrigger, Poll: d.PollRequests, Every: d.Every,
		Connection: Type, Options: options, Push: push("request", RequestItems)}
}
