package automation

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// OptionInterval is the polling kinds' option: seconds between polls.
const OptionInterval = "interval"

// Polling intervals.
const (
	// DefaultEvery is a polling kind's interval when it gives no Every.
	DefaultEvery = time.Minute
	// MinEvery is the shortest interval a bundle may ask for, unless the
	// kind says otherwise (TriggerKind.MinEvery).
	MinEvery = 10 * time.Second
)

// itemKeyPrefix is the namespace of the keys of connectors' items: the
// same for an item pushed and polled, so that it makes one run (the
// polls' runs of old have it already).
const itemKeyPrefix = "poll:"

func (k TriggerKind) every() time.Duration {
	if k.Every > 0 {
		return k.Every
	}
	return DefaultEvery
}

func (k TriggerKind) minEvery() time.Duration {
	if k.MinEvery > 0 {
		return k.MinEvery
	}
	return MinEvery
}

// pollEvery is how often a bundle's trigger is polled: its option
// "interval" (checked on save), else the kind's Every.
func (k TriggerKind) pollEvery(spec TriggerSpec) time.Duration {
	if n, ok := intOption(spec.Options[OptionInterval]); ok && n > 0 {
		return max(time.Duration(n)*time.Second, k.minEvery())
	}
	return k.every()
}

// intOption reads a whole number as JSON and the API give it.
func intOption(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// checkOptions checks a connector trigger's options against its kind:
// no option it does not take, the required ones given, each of its type
// and enum, the interval not under the kind's minimum.
func checkOptions(k TriggerKind, opts map[string]any) []Problem {
	var ps []Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, Problem{Field: "trigger.options." + field, Message: fmt.Sprintf(format, args...)})
	}
	// A kind that describes no options of its own (only the interval the
	// engine adds) checks the others itself, in Validate.
	if k.optionsDescribed {
		names := make([]string, 0, len(opts))
		for n := range opts {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			if !slices.ContainsFunc(k.Options, func(f Field) bool { return f.Name == n }) {
				add(n, "trigger %s has no option %q", k.Type, n)
			}
		}
	}
	for _, f := range k.Options {
		v, given := opts[f.Name]
		if !given || v == nil || v == "" {
			if f.Required {
				add(f.Name, "required")
			}
			continue
		}
		switch f.Type {
		case "integer":
			n, ok := intOption(v)
			if !ok {
				add(f.Name, "must be a whole number, not %s", describeOption(v))
				continue
			}
			if f.Name == OptionInterval && k.Poll != nil {
				if min := int64(k.minEvery() / time.Second); n < min {
					add(f.Name, "must be at least %d seconds", min)
				}
			}
		case "number":
			switch v.(type) {
			case float64, int64, int, json.Number:
			default:
				add(f.Name, "must be a number, not %s", describeOption(v))
			}
		case "boolean":
			if _, ok := v.(bool); !ok {
				add(f.Name, "must be true or false, not %s", describeOption(v))
			}
		case "string", "date", "datetime", "decimal":
			s, ok := v.(string)
			if !ok {
				add(f.Name, "must be a string, not %s", describeOption(v))
				continue
			}
			if len(f.Enum) > 0 && !slices.Contains(f.Enum, s) {
				add(f.Name, "%q is not one of %s", s, strings.Join(f.Enum, ", "))
			}
		case "list":
			if _, ok := v.([]any); !ok {
				add(f.Name, "must be a list, not %s", describeOption(v))
			}
		}
	}
	return ps
}

func describeOption(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%T", v)
	}
	return string(b)
}

// itemRuns are the runs of items for one bundle: keyed in the items'
// namespace, ordered by the item's order key, else the bundle's; an item
// given twice makes one.
func itemRuns(c *Compiled, bundleID int64, version int, typ string, items []Item) []newRun {
	runs := make([]newRun, 0, len(items))
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if seen[it.Key] {
			continue // the same item twice in one batch: the first counts
		}
		seen[it.Key] = true
		r := newRun{bundleID: bundleID, version: version, status: StatusQueued, triggerType: typ, key: itemKeyPrefix + it.Key,
			trigger: mustJSON(it.Data), orderKey: it.OrderKey}
		if r.orderKey == "" && c != nil && c.OrderKey != nil {
			if k, err := c.OrderKey.Render(map[string]any{"trigger": it.Data}); err == nil {
				r.orderKey = textOf(k)
			}
		}
		runs = append(runs, r)
	}
	return runs
}

// checkItems refuses items a kind should never give: without a key, or
// with a key too long to store.
func checkItems(typ string, items []Item) error {
	for i, it := range items {
		if it.Key == "" {
			return fmt.Errorf("automation: trigger %s: item %d has no key", typ, i)
		}
		if len(it.Key) > 400 {
			return fmt.Errorf("automation: trigger %s: item %d: key longer than 400 bytes", typ, i)
		}
	}
	return nil
}

// connectionBundle is an active bundle with a connector trigger.
type connectionBundle struct {
	id      int64
	version int
	c       *Compiled
}

// pollNow makes the polls of the active bundles with this trigger on
// this connection due at once, and wakes this instance's poll loop (the
// others see them due at their next look).
func (s *Service) pollNow(ctx context.Context, typ string, connectionID int64) error {
	bundles, err := s.connectionBundles(ctx, typ, connectionID)
	if err != nil || len(bundles) == 0 {
		return err
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, b := range bundles {
			if _, err := tx.ExecContext(ctx, "UPDATE automation_bundles SET poll_due_at = 0 WHERE id = $1", b.id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("automation: poll now %s on connection %d: %w", typ, connectionID, err)
	}
	s.pokeSchedules()
	return nil
}

// connectionBundles lists the active bundles whose trigger is of type
// typ on connection id.
func (s *Service) connectionBundles(ctx context.Context, typ string, connectionID int64) ([]connectionBundle, error) {
	rows, err := s.db.Reader().QueryContext(ctx, "SELECT id, version FROM automation_bundles WHERE active = TRUE AND trigger_type = $1 ORDER BY id", typ)
	if err != nil {
		return nil, fmt.Errorf("automation: bundles of trigger %s: %w", typ, err)
	}
	type idVersion struct {
		id      int64
		version int
	}
	var list []idVersion
	for rows.Next() {
		var b idVersion
		if err := rows.Scan(&b.id, &b.version); err != nil {
			rows.Close()
			return nil, fmt.Errorf("automation: bundles of trigger %s: %w", typ, err)
		}
		list = append(list, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("automation: bundles of trigger %s: %w", typ, err)
	}
	var out []connectionBundle
	for _, b := range list {
		c, err := s.compiledVersion(ctx, b.id, b.version)
		if err != nil {
			// A bundle that no longer compiles takes nothing; its page
			// says why.
			s.log.Warn("automation: connector trigger", "bundle", b.id, "err", err)
			continue
		}
		if c.Def.Trigger.Connection == connectionID {
			out = append(out, connectionBundle{id: b.id, version: b.version, c: c})
		}
	}
	return out, nil
}

// FireConnection gives items of a connector's trigger of type
// triggerType that connection connectionID received to every active
// bundle whose trigger is that type on that connection: one run per item
// key per bundle, however often the item comes (pushed again, pushed and
// polled), all in one transaction, durable when it returns. runs is the
// number of new runs.
func (s *Service) FireConnection(ctx context.Context, triggerType string, connectionID int64, items []Item) (runs int, err error) {
	if err := checkItems(triggerType, items); err != nil {
		return 0, err
	}
	if len(items) == 0 {
		return 0, nil
	}
	bundles, err := s.connectionBundles(ctx, triggerType, connectionID)
	if err != nil {
		return 0, err
	}
	var all []newRun
	for _, b := range bundles {
		all = append(all, itemRuns(b.c, b.id, b.version, triggerType, items)...)
	}
	if len(all) == 0 {
		return 0, nil
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		runs = 0
		ids, err := s.insertRuns(ctx, tx, all)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if id != 0 {
				runs++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("automation: fire %s of connection %d: %w", triggerType, connectionID, err)
	}
	return runs, nil
}

// Fire makes runs of one bundle from items of its connector trigger: one
// run per item key, however often the item comes, pushed or polled. It
// returns each item's run (the existing one for an item seen before), all
// made in one transaction.
func (s *Service) Fire(ctx context.Context, bundleID int64, items []Item) ([]int64, error) {
	var version int
	var typ string
	var active bool
	err := s.db.Read.QueryRowContext(ctx, "SELECT version, trigger_type, active FROM automation_bundles WHERE id = $1", bundleID).Scan(&version, &typ, &active)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.NotFound("bundle", bundleID)
	}
	if err != nil {
		return nil, fmt.Errorf("automation: fire bundle %d: %w", bundleID, err)
	}
	if !active {
		return nil, fmt.Errorf("automation: bundle %d is switched off", bundleID)
	}
	if err := checkItems(typ, items); err != nil {
		return nil, err
	}
	c, err := s.compiledVersion(ctx, bundleID, version)
	if err != nil {
		return nil, err
	}
	runs := itemRuns(c, bundleID, version, typ, items)
	byKey := make(map[string]int64, len(runs))
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		got, err := s.insertRuns(ctx, tx, runs)
		if err != nil {
			return err
		}
		for i, id := range got {
			if id == 0 {
				if err := tx.QueryRowContext(ctx, "SELECT id FROM automation_runs WHERE bundle_id = $1 AND trigger_key = $2", bundleID, runs[i].key).Scan(&id); err != nil {
					return err
				}
			}
			byKey[runs[i].key] = id
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("automation: fire bundle %d: %w", bundleID, err)
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = byKey[itemKeyPrefix+it.Key]
	}
	return ids, nil
}

// HookConnections finds a connection by the token of its hook URL
// (internal/connection's Store): the hash of the token is looked up, so
// the time taken tells nothing of the token.
type HookConnections interface {
	HookConnection(ctx context.Context, token string) (id int64, typ string, settings map[string]any, err error)
}

// pushKinds are the trigger kinds that take pushes for a connection type.
func (r *Registry) pushKinds(connType string) []TriggerKind {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []TriggerKind
	for _, k := range r.triggers {
		if k.Push != nil && k.Connection != "" && slices.Contains(strings.Split(k.Connection, "|"), connType) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b TriggerKind) int { return strings.Compare(a.Type, b.Type) })
	return out
}

// PushTriggers lists the labels of the trigger kinds that take pushes
// from a connection of type connType (its page offers the hook URL when
// there are any), in lang.
func (r *Registry) PushTriggers(connType, lang string) []string {
	var out []string
	if p, ok := r.pushReceiver(connType); ok {
		for _, typ := range p.Feeds {
			out = append(out, r.text("trigger."+typ, typ).In(lang))
		}
	}
	for _, k := range r.pushKinds(connType) {
		out = append(out, r.text("trigger."+k.Type, k.Type).In(lang))
	}
	return out
}

// serveConnectionHook takes a request to a connection's hook URL: the
// connection type's PushReceiver, if it has one, records it; each
// trigger kind that takes pushes for the connection's type reads it into
// items, which become runs of the bundles on that connection; the answer
// is 200 once they are durable. A request a kind cannot read is answered
// 400 with the kind's error and journalled as a failed run of each
// bundle on the connection.
func (s *Service) serveConnectionHook(w http.ResponseWriter, r *http.Request) {
	if ok, wait := s.ipLimiter.Allow(r.Context(), "ip:"+httpx.ClientIP(r)); !ok {
		httpx.TooManyRequests(w, wait)
		return
	}
	notFound := func() {
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "not_found", "", "no hook at this address"))
	}
	token := r.PathValue("token")
	if len(token) < 16 || len(token) > 128 {
		notFound()
		return
	}
	s.reg.mu.RLock()
	hc, _ := s.reg.conns.(HookConnections)
	s.reg.mu.RUnlock()
	if hc == nil {
		notFound()
		return
	}
	connID, connType, settings, err := hc.HookConnection(r.Context(), token)
	if errors.Is(err, store.ErrNotFound) {
		notFound()
		return
	}
	if err != nil {
		s.log.Error("automation: connection hook lookup", "err", err)
		httpx.WriteError(w, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "try again later"))
		return
	}
	if ok, wait := s.hookLimiter.Allow(r.Context(), "connection:"+strconv.FormatInt(connID, 10)); !ok {
		httpx.TooManyRequests(w, wait)
		return
	}
	kinds := s.reg.pushKinds(connType)
	receiver, hasReceiver := s.reg.pushReceiver(connType)
	if len(kinds) == 0 && !hasReceiver {
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "not_found", "", "no trigger takes pushes from a %s connection", connType))
		return
	}
	path := r.PathValue("path")
	if path != "" && !hasReceiver {
		notFound()
		return
	}
	body, herr := httpx.ReadBody(r, s.maxHookBody)
	if herr != nil {
		s.journalBadPush(r.Context(), kinds, connID, herr.Message)
		httpx.WriteError(w, herr)
		return
	}
	var reply *PushReply
	if hasReceiver {
		r.Body = io.NopCloser(bytes.NewReader(body))
		req := &PushRequest{Connection: connID, Type: connType, Settings: settings, Request: r, Body: body, Path: path}
		if err := receiver.Receive(r.Context(), req); err != nil {
			var he *httpx.Error
			if !errors.As(err, &he) {
				he = httpx.Errorf(http.StatusBadRequest, "bad_push", "", "%v", err)
			}
			httpx.WriteError(w, he)
			return
		}
		reply = req.Reply
	}
	total := 0
	for _, k := range kinds {
		// Each kind may read the body as the request's, too.
		r.Body = io.NopCloser(bytes.NewReader(body))
		req := &PushRequest{Connection: connID, Type: connType, Settings: settings, Request: r, Body: body}
		items, err := k.Push(r.Context(), req)
		if err == nil {
			err = checkItems(k.Type, items)
		}
		if err != nil {
			var he *httpx.Error
			if !errors.As(err, &he) {
				he = httpx.Errorf(http.StatusBadRequest, "bad_push", "", "%s: %v", k.Type, err)
			}
			s.journalBadPush(r.Context(), []TriggerKind{k}, connID, he.Message)
			httpx.WriteError(w, he)
			return
		}
		if req.Reply != nil && reply == nil {
			reply = req.Reply
		}
		if req.PollNow {
			if err := s.pollNow(r.Context(), k.Type, connID); err != nil {
				s.log.Error("automation: connection hook", "connection", connID, "trigger", k.Type, "err", err)
				httpx.WriteError(w, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "the polls could not be made due; try again"))
				return
			}
		}
		n, err := s.FireConnection(r.Context(), k.Type, connID, items)
		if err != nil {
			s.log.Error("automation: connection hook", "connection", connID, "trigger", k.Type, "err", err)
			httpx.WriteError(w, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "the runs could not be queued; try again"))
			return
		}
		total += n
	}
	if reply != nil {
		if reply.ContentType != "" {
			w.Header().Set("Content-Type", reply.ContentType)
		}
		status := reply.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = w.Write(reply.Body)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"runs": total})
}

// journalBadPush writes a failed run, with the error, into the journal of
// each bundle on the connection with one of the kinds, so that whoever
// looks at the bundle sees what the remote side sent wrong.
func (s *Service) journalBadPush(ctx context.Context, kinds []TriggerKind, connID int64, msg string) {
	s.log.Warn("automation: bad push", "connection", connID, "err", msg)
	var runs []newRun
	for _, k := range kinds {
		bundles, err := s.connectionBundles(ctx, k.Type, connID)
		if err != nil {
			s.log.Error("automation: journal a bad push", "err", err)
			return
		}
		for _, b := range bundles {
			runs = append(runs, newRun{bundleID: b.id, version: b.version, status: StatusError, triggerType: k.Type,
				key: "bad:" + randomKey(), trigger: mustJSON(map[string]any{}), err: "push: " + msg})
		}
	}
	if len(runs) == 0 {
		return
	}
	err := s.db.Write(context.WithoutCancel(ctx), func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.insertRuns(ctx, tx, runs)
		return err
	})
	if err != nil {
		s.log.Error("automation: journal a bad push", "err", err)
	}
}
