package automation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
)

// dispatchBatch is how many change events one dispatch reads; busyBatch
// while the server is busy with requests (once a second: see pause).
const (
	dispatchBatch = 500
	busyBatch     = 100
)

func (s *Service) batchSize() int {
	if s.isBusy() {
		return busyBatch
	}
	return dispatchBatch
}

// Dispatch reads the change events after the cursors of the active
// crm.event bundles and makes a run of each event a bundle's trigger
// takes, moving each bundle's cursor past what it has seen. It returns
// how many events it read.
//
// The reading is done outside any write: the events, the record of each
// event that a trigger takes (as it was right after the change), the
// filters. The write then inserts the runs — a queued run with its job
// when the filters pass, a "filtered" run without one when they do not —
// and moves the cursors, in one transaction: nothing is missed or run
// twice across restarts and instances. A run is unique per (bundle,
// "event:<id>"), so two dispatchers racing on PostgreSQL insert it once;
// each locks the bundles it moves (FOR UPDATE SKIP LOCKED) and leaves a
// bundle whose cursor moved since it read to the one that moved it.
func (s *Service) Dispatch(ctx context.Context) (int, error) {
	if _, err := s.started(); err != nil {
		return 0, err
	}
	// A cheap look first: the dispatcher wakes after every commit, and
	// most wake-ups find nothing new. With no event bundle active (the
	// last look saw none) it does not look again for a second, unless a
	// bundle is saved here.
	gen, idle := s.idle.Look(time.Now())
	if idle {
		return 0, nil
	}
	var low, last sql.NullInt64
	var active int
	types, args := s.eventTriggerTypes(1)
	if err := s.db.Reader().QueryRowContext(ctx, `SELECT
		(SELECT MIN(cursor) FROM automation_bundles WHERE active = TRUE AND trigger_type IN (`+types+`)),
		(SELECT COUNT(*) FROM automation_bundles WHERE active = TRUE AND trigger_type IN (`+types+`)),
		(SELECT MAX(id) FROM events)`, args...).Scan(&low, &active, &last); err != nil {
		return 0, fmt.Errorf("automation: look for new events: %w", err)
	}
	if active == 0 {
		s.idle.Nobody(gen, time.Now(), time.Second)
		return 0, nil
	}
	s.idle.Somebody()
	if !last.Valid || last.Int64 <= low.Int64 {
		return 0, nil
	}
	ls, err := s.listeners(ctx, s.db.Reader(), "")
	if err != nil || len(ls) == 0 {
		return 0, err
	}
	from := ls[0].cursor
	for _, l := range ls {
		from = min(from, l.cursor)
	}
	evs, err := events.Read(ctx, s.db.Reader(), events.Query{After: from, Limit: s.batchSize()})
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	depths, err := s.chainDepths(ctx, s.db.Reader(), evs)
	if err != nil {
		return 0, err
	}
	// Which bundle takes which event; then the trigger data of those
	// events, read for the whole batch at once.
	type taken struct {
		c      *Compiled
		run    newRun
		ev     *events.Event
		judged bool // the filters passed already
	}
	var items []taken
	for _, l := range ls {
		c, err := s.compiledVersion(ctx, l.id, l.version)
		if err != nil {
			s.log.Error("automation: dispatch: a bundle does not compile; it is skipped", "bundle", l.id, "err", err)
			continue
		}
		self := "bundle:" + strconv.FormatInt(l.id, 10)
		spec := s.eventSpec(&c.Def.Trigger)
		maxDepth := c.Def.MaxDepth
		if maxDepth == 0 {
			maxDepth = DefaultMaxDepth
		}
		for i := range evs {
			ev := &evs[i]
			if ev.ID <= l.cursor || !matchEvent(spec, ev) {
				continue
			}
			if ev.Actor == self && !c.Def.SelfTrigger {
				continue
			}
			r := newRun{bundleID: l.id, version: l.version, status: StatusQueued, triggerType: TriggerCRMEvent,
				key: "event:" + strconv.FormatInt(ev.ID, 10), eventID: ev.ID, entity: ev.Entity, recordID: ev.RecordID}
			// A run started by a person's or a system's change is the
			// first of its chain; one started by a bundle's change is one
			// deeper than the run that made it.
			r.depth = 1
			if ev.RunID != 0 {
				r.depth = max(depths[ev.RunID], 1) + 1
			}
			if r.depth > maxDepth {
				r.status = StatusError
				r.err = fmt.Sprintf("stopped: a chain of bundles reached depth %d (the bundle's limit is %d); the change was made by run %d",
					r.depth, maxDepth, ev.RunID)
			}
			items = append(items, taken{c: c, run: r, ev: ev})
		}
	}
	// The filters of a creation are judged on the record as the event
	// describes it (every field it was made with), without reading it:
	// where most creations are refused (a bundle on calls only, among
	// every lead), that is most of the dispatcher's reading saved. The
	// records of what passes are then read in one go.
	zeros, _ := s.records.(ZeroRecords)
	for i := range items {
		it := &items[i]
		r, c := &it.run, it.c
		if r.status != StatusQueued || c.Filters == nil || it.ev.Action != events.Create || zeros == nil {
			continue
		}
		zero, ok := zeros.Zero(it.ev.Entity)
		if !ok {
			continue
		}
		env := map[string]any{"trigger": map[string]any{"event": eventMap(it.ev), "record": createdRecord(zero, it.ev), "old": nil}}
		pass, trace, err := c.Filters.Eval(env)
		switch {
		case err != nil:
			r.status, r.err = StatusError, "filters: "+err.Error()
		case !pass:
			r.status, r.trace = StatusFiltered, mustJSON(trace)
		default:
			it.judged = true
		}
	}
	needs := map[int64]*events.Event{}
	for _, it := range items {
		if it.run.status == StatusQueued {
			needs[it.ev.ID] = it.ev
		}
	}
	list := make([]*events.Event, 0, len(needs))
	for i := range evs {
		if ev := needs[evs[i].ID]; ev != nil {
			list = append(list, ev)
		}
	}
	trigs, err := s.eventDataBatch(ctx, list, evs)
	if err != nil {
		return 0, err
	}
	runs := map[int64][]newRun{} // by bundle
	for _, it := range items {
		r, c := it.run, it.c
		if r.status == StatusQueued {
			trig := trigs[it.ev.ID]
			// Stored: the record as it was after the change, which the
			// log alone cannot give back once the record is purged; the
			// event and the record before it are read again from the
			// log (completeTrigger). A third of the bytes, written by
			// SQLite's single writer.
			r.trigger = mustJSON(map[string]any{"record": trig["record"]})
			env := map[string]any{"trigger": trig}
			if c.OrderKey != nil {
				k, err := c.OrderKey.Render(env)
				if err != nil {
					r.status, r.err = StatusError, "order_key: "+err.Error()
				} else {
					r.orderKey = textOf(k)
				}
			}
			if c.Filters != nil && r.status == StatusQueued && !it.judged {
				pass, trace, err := c.Filters.Eval(env)
				switch {
				case err != nil:
					r.status, r.err = StatusError, "filters: "+err.Error()
				case !pass:
					// Why is kept (the trace holds the values compared),
					// the data is not: refused items can be many.
					r.status, r.trace, r.trigger = StatusFiltered, mustJSON(trace), nil
				}
			}
		}
		runs[r.bundleID] = append(runs[r.bundleID], r)
	}
	end := evs[len(evs)-1].ID
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		lock := ""
		if s.db.Dialect == db.Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		now, err := s.listeners(ctx, tx, lock)
		if err != nil {
			return err
		}
		read := map[int64]listener{}
		for _, l := range ls {
			read[l.id] = l
		}
		var all []newRun
		for _, l := range now {
			if was, ok := read[l.id]; !ok || was.cursor != l.cursor || was.version != l.version {
				continue // moved on by another dispatcher, or changed since the read: next time
			}
			all = append(all, runs[l.id]...)
			if l.cursor < end {
				if _, err := tx.ExecContext(ctx, "UPDATE automation_bundles SET cursor = $2 WHERE id = $1 AND cursor < $2", l.id, end); err != nil {
					return fmt.Errorf("automation: dispatch: advance bundle %d: %w", l.id, err)
				}
			}
		}
		_, err = s.insertRuns(ctx, tx, all)
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(evs), nil
}

// listener is a crm.event bundle and how far it has read the log.
type listener struct {
	id, cursor int64
	version    int
}

func (s *Service) listeners(ctx context.Context, q queryer, lock string) ([]listener, error) {
	types, args := s.eventTriggerTypes(1)
	rows, err := q.QueryContext(ctx, `SELECT id, version, cursor FROM automation_bundles
		WHERE active = TRUE AND trigger_type IN (`+types+`) ORDER BY id`+lock, args...)
	if err != nil {
		return nil, fmt.Errorf("automation: dispatch: bundles: %w", err)
	}
	defer rows.Close()
	var ls []listener
	for rows.Next() {
		var l listener
		if err := rows.Scan(&l.id, &l.version, &l.cursor); err != nil {
			return nil, fmt.Errorf("automation: dispatch: bundles: %w", err)
		}
		ls = append(ls, l)
	}
	return ls, rows.Err()
}

// chainDepths reads how deep in a chain of bundles each run that made
// one of evs is.
func (s *Service) chainDepths(ctx context.Context, tx queryer, evs []events.Event) (map[int64]int, error) {
	seen := map[int64]bool{}
	var ids []string
	for i := range evs {
		if id := evs[i].RunID; id != 0 && !seen[id] {
			seen[id] = true
			ids = append(ids, strconv.FormatInt(id, 10))
		}
	}
	out := map[int64]int{}
	if len(ids) == 0 {
		return out, nil
	}
	// The ids are numbers we formatted: safe in the statement's text.
	rows, err := tx.QueryContext(ctx, "SELECT id, depth FROM automation_runs WHERE id IN ("+strings.Join(ids, ",")+")")
	if err != nil {
		return nil, fmt.Errorf("automation: dispatch: chain depths: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var d int
		if err := rows.Scan(&id, &d); err != nil {
			return nil, fmt.Errorf("automation: dispatch: chain depths: %w", err)
		}
		out[id] = d
	}
	return out, rows.Err()
}

// dispatchLoop dispatches after every poke (a commit) and every poll.
func (s *Service) dispatchLoop(ctx context.Context) {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		last := time.Now()
		n, err := s.Dispatch(ctx)
		if err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("automation: dispatch", "err", err)
		}
		if n >= busyBatch && err == nil {
			s.pause(ctx)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.pokeCh:
			// Under a stream of commits pokes come thousands of times a
			// second: at most one dispatch a pokeGather, so that one
			// serves many changes; but a change after a quiet spell goes
			// at once (issue 21).
			if wait := pokeGather - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
			s.pause(ctx)
		}
	}
}

// pokeGather is the shortest time between two dispatches woken by
// pokes.
const pokeGather = 5 * time.Millisecond

// textOf is a rendered template as text.
func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return strings.TrimSpace(string(mustJSON(x)))
	}
}

// eventTriggerTypes are the trigger types the change-event log serves —
// crm.event and the kinds that stand for one (TriggerKind.Events) — as
// placeholders from $first and their arguments.
func (s *Service) eventTriggerTypes(first int) (string, []any) {
	args := []any{TriggerCRMEvent}
	for _, k := range s.reg.eventKinds() {
		args = append(args, k)
	}
	ph := make([]string, len(args))
	for i := range args {
		ph[i] = "$" + strconv.Itoa(first+i)
	}
	return strings.Join(ph, ", "), args
}

// eventSpec is the crm.event trigger a bundle's trigger stands for:
// itself, or what its kind's Events makes of it.
func (s *Service) eventSpec(t *TriggerSpec) *TriggerSpec {
	if t.Type == TriggerCRMEvent {
		return t
	}
	if k, ok := s.reg.Trigger(t.Type); ok && k.Events != nil {
		spec := k.Events(*t)
		return &spec
	}
	return t
}
