package delivery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
)

// Idle reports whether the dispatcher's last look (a second ago at most,
// plus a poll) found no webhook active and none was made here since: a
// change committed now has nobody to be delivered to, and the other
// instances need not be woken for it.
func (s *Service) Idle() bool { return s.idle.Is() }

// busy ends the dispatcher's idleness: a webhook was created, changed or
// bound here.
func (s *Service) busy() { s.idle.Busy() }

// cursorName is the dispatcher's row in outbox_cursors.
const cursorName = "delivery"

// deliverArgs is the job of sending one delivery.
type deliverArgs struct {
	DeliveryID int64 `json:"delivery_id"`
}

func (deliverArgs) Kind() string { return "delivery" }

// Dispatch reads the events after the cursor (up to 500) and, in one
// write transaction, inserts a delivery per matching active webhook,
// enqueues a job per new delivery and advances the cursor. It returns how
// many events it read.
//
// Several dispatchers (instances of Obmen on one PostgreSQL) may run at
// once without delivering twice, so no lock is needed: a delivery is
// unique per (webhook, event) and inserted ON CONFLICT DO NOTHING, and a
// job is enqueued only for a row this transaction inserted (RETURNING).
// On PostgreSQL a second dispatcher inserting the same pair waits on the
// unique index until the first commits, then inserts nothing; the cursor
// only moves forward (the upsert's WHERE). Deliveries, their jobs and the
// cursor commit together, so a crash between them loses and repeats
// nothing. Racing dispatchers only waste a little work.
func (s *Service) Dispatch(ctx context.Context) (int, error) {
	if s.runner == nil {
		return 0, errors.New("delivery: dispatch before Start")
	}
	// A cheap look from the read pool first: the dispatcher is woken after
	// every commit, and most wake-ups find nothing to send — they must not
	// cost a write transaction each. After a look that found no webhook
	// active it does not look again for a second (events.Idle), unless a
	// webhook is made or changed here meanwhile: a webhook is sent only
	// the changes logged after it was made or enabled (since_event), so
	// the cursor lagging behind the log a while sends nobody the past.
	// Under a stream of changes to a webhook the look is skipped: the last
	// dispatch found events and somebody to send them to, so the next one
	// almost surely does too, and the look would only add a round trip.
	if !s.flowing.Load() {
		if more, err := s.look(ctx); !more || err != nil {
			return 0, err
		}
	}
	var n int
	var fast []fastDelivery
	flowing := false
	defer func() { s.flowing.Store(flowing) }()
	// Begun, a dispatch is not cut off by stopping (Stop waits for it; it
	// takes milliseconds): cancelled while committing, it could be
	// committed by PostgreSQL yet fail here, and the first attempts of
	// its deliveries would then wait the rescue time instead of being
	// made.
	err := s.db.Write(context.WithoutCancel(ctx), func(ctx context.Context, tx *sql.Tx) error {
		n, flowing, fast = 0, false, nil
		// The cursor and the webhooks' version are read with the events
		// (one round trip): only the last event read is needed to advance
		// the cursor, and the active webhooks are read again only when
		// the version has moved since this process last read them.
		var version int64
		evs, err := events.Read(ctx, tx, events.Query{AfterCursor: cursorName, Limit: dispatchBatch, Raw: true,
			Alongside: "COALESCE((SELECT version FROM outbound_webhooks_version WHERE id = 1), 0)", AlongsideValue: &version})
		if err != nil {
			return err
		}
		n = len(evs)
		if n == 0 {
			return nil
		}
		hooks, err := s.activeWebhooks(ctx, tx, version)
		if err != nil {
			return err
		}
		if len(hooks) == 0 {
			// Nobody listens: skip to the end of the log, so that a
			// webhook created later does not receive the past.
			var last int64
			if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM events").Scan(&last); err != nil {
				return fmt.Errorf("delivery: read log end: %w", err)
			}
			return advance(ctx, tx, last)
		}
		var rows []pendingRow
		var aud *store.Audience // made on the first owned handler
		for i := range evs {
			ev := &evs[i]
			for j := range hooks {
				if !Matches(&hooks[j], ev) {
					continue
				}
				if owner := hooks[j].OwnerUserID; owner != 0 {
					// A user's handler is told only what the user may see,
					// and nothing while the user is disabled — judged
					// through this transaction, which may hold the
					// events' own writes uncommitted (SQLite's group
					// commit; store.AudienceIn).
					if aud == nil {
						aud = store.AudienceIn(tx)
					}
					ok, err := aud.Tells(ctx, owner, ev)
					if err != nil {
						return fmt.Errorf("delivery: dispatch event %d: %w", ev.ID, err)
					}
					if !ok {
						continue
					}
				}
				rows = append(rows, pendingRow{hooks[j].ID, ev.ID, ev.Entity, ev.RecordID})
			}
		}
		last := evs[n-1].ID
		now := s.now()
		ins, advanced, err := insertDeliveries(ctx, tx, rows, now.UnixMicro(), s.db.Dialect == db.Postgres, last)
		if err != nil {
			return err
		}
		// The first attempt of a delivery nothing earlier holds back is
		// made here at once, after the commit (sendFast); its job waits
		// the rescue time, the safety net should this process die with
		// the attempt unsettled.
		first := firstOfRecord(ins)
		jobs := make([]river.InsertManyParams, len(ins))
		for i, d := range ins {
			opts := &river.InsertOpts{MaxAttempts: maxAttempts}
			if first[i] {
				opts.ScheduledAt = now.Add(s.rescueAfter)
			}
			jobs[i] = river.InsertManyParams{Args: deliverArgs{DeliveryID: d.id}, InsertOpts: opts}
		}
		jobIDs, err := s.runner.InsertManyTxIDs(ctx, tx, jobs)
		if err != nil {
			return err
		}
		// The first attempts need nothing read again: this transaction
		// has the webhook (active), the event, the owner's audience and
		// the record's earlier deliveries in hand.
		var hookAt, evAt map[int64]int
		for i, d := range ins {
			if !first[i] {
				continue
			}
			if hookAt == nil {
				hookAt, evAt = make(map[int64]int, len(hooks)), make(map[int64]int, n)
				for j := range hooks {
					hookAt[hooks[j].ID] = j
				}
				for j := range evs {
					evAt[evs[j].ID] = j
				}
			}
			fast = append(fast, fastDelivery{id: d.id, job: jobIDs[i], enqueued: now,
				hook: &hooks[hookAt[d.webhookID]], ev: &evs[evAt[d.eventID]]})
		}
		flowing = true
		if advanced {
			return nil
		}
		return advance(ctx, tx, last)
	})
	if err != nil {
		flowing = false
		return n, err
	}
	for _, f := range fast {
		s.sendFast(f)
	}
	return n, nil
}

// webhookCache is the active webhooks as this process last read them, at
// the version of the webhooks they were read at. Its Webhooks are never
// changed: first attempts in flight hold pointers to them.
type webhookCache struct {
	version int64
	hooks   []Webhook
}

// activeWebhooks returns the active webhooks, from memory when the
// webhooks' version (read in this transaction) is the one they were read
// at. Every write to outbound_webhooks moves the version in its own
// transaction (migration 0064's trigger), so an unchanged version means
// the list read now would be the same. The list read again is kept at
// the version read before it: a write committed in between makes the
// next dispatch read it once more, never keeps a stale list.
func (s *Service) activeWebhooks(ctx context.Context, tx *sql.Tx, version int64) ([]Webhook, error) {
	if c := s.webhooks.Load(); c != nil && version != 0 && c.version == version {
		return c.hooks, nil
	}
	hooks, err := s.listWebhooks(ctx, tx, "SELECT "+webhookColumns+" FROM outbound_webhooks WHERE active = TRUE ORDER BY id")
	if err != nil {
		return nil, err
	}
	s.webhooks.Store(&webhookCache{version: version, hooks: hooks})
	return hooks, nil
}

// look reads, from the read pool, whether the log has events after the
// cursor; not at all within a second of a look that found no webhook
// active.
func (s *Service) look(ctx context.Context) (bool, error) {
	gen, skip := s.idle.Look(time.Now())
	if skip {
		return false, nil
	}
	var cursor, last int64
	var active int
	if err := s.db.Reader().QueryRowContext(ctx, `SELECT
		COALESCE((SELECT last_id FROM outbox_cursors WHERE name = $1), 0),
		COALESCE((SELECT MAX(id) FROM events), 0),
		(SELECT COUNT(*) FROM outbound_webhooks WHERE active = TRUE)`, cursorName).Scan(&cursor, &last, &active); err != nil {
		return false, fmt.Errorf("delivery: look for new events: %w", err)
	}
	if active == 0 {
		// Nobody listens: the cursor still follows the log (a webhook made
		// later would otherwise read the whole past to skip it), once a
		// second.
		s.idle.Nobody(gen, time.Now(), time.Second)
	} else {
		s.idle.Somebody()
	}
	return last > cursor, nil
}

func (s *Service) enqueue(ctx context.Context, tx *sql.Tx, deliveryID int64) error {
	return s.runner.InsertTx(ctx, tx, deliverArgs{DeliveryID: deliveryID}, &river.InsertOpts{MaxAttempts: maxAttempts})
}

// pendingRow is a delivery to insert.
type pendingRow struct {
	webhookID, eventID int64
	entity             string
	recordID           int64
}

// insertChunk bounds the rows of one INSERT (5 parameters each).
const insertChunk = 200

// inserted is a delivery a dispatch inserted: its id and record, and
// whether an earlier delivery of the record to the webhook was pending
// already.
type inserted struct {
	id, webhookID, eventID, recordID int64
	entity                           string
	earlier                          bool
}

// insertDeliveries inserts the rows as pending deliveries, a few hundred
// per statement (uncached: its text varies with the rows), and returns
// those this transaction inserted; a pair another dispatcher has already
// inserted is skipped. With pg set the first statement also advances the
// cursor to last (a writable CTE: one round trip less), and advanced says
// so.
func insertDeliveries(ctx context.Context, tx *sql.Tx, rows []pendingRow, now int64, pg bool, last int64) (ins []inserted, advanced bool, err error) {
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), insertChunk)]
		rows = rows[len(chunk):]
		var q strings.Builder
		args := make([]any, 0, len(chunk)*4+2)
		args = append(args, now)
		if pg && !advanced {
			args = append(args, last)
			q.WriteString("WITH advance AS (" + advanceSQL("$2") + ") ")
			advanced = true
		}
		q.WriteString("INSERT INTO deliveries (webhook_id, event_id, entity, record_id, status, created_at, updated_at) VALUES ")
		for i, r := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, 'pending', $1, $1)", n+1, n+2, n+3, n+4)
			args = append(args, r.webhookID, r.eventID, r.entity, r.recordID)
		}
		q.WriteString(` ON CONFLICT (webhook_id, event_id) DO NOTHING RETURNING id, webhook_id, event_id, entity, record_id,
			EXISTS (SELECT 1 FROM deliveries p WHERE p.webhook_id = deliveries.webhook_id AND p.entity = deliveries.entity
				AND p.record_id = deliveries.record_id AND p.event_id < deliveries.event_id AND p.status = 'pending')`)
		res, err := tx.QueryContext(ctx, q.String(), args...)
		if err != nil {
			return nil, false, fmt.Errorf("delivery: insert deliveries of events %d–%d: %w", chunk[0].eventID, chunk[len(chunk)-1].eventID, err)
		}
		for res.Next() {
			var d inserted
			if err := res.Scan(&d.id, &d.webhookID, &d.eventID, &d.entity, &d.recordID, &d.earlier); err != nil {
				res.Close()
				return nil, false, fmt.Errorf("delivery: insert deliveries: %w", err)
			}
			ins = append(ins, d)
		}
		if err := res.Close(); err != nil {
			return nil, false, fmt.Errorf("delivery: insert deliveries: %w", err)
		}
		if err := res.Err(); err != nil {
			return nil, false, fmt.Errorf("delivery: insert deliveries: %w", err)
		}
	}
	return ins, advanced, nil
}

// firstOfRecord says of each inserted delivery whether it is the first
// one pending of its record to its webhook — nothing earlier pending
// before this dispatch (on SQLite the statement sees its own earlier
// rows; on PostgreSQL it does not) and none earlier in it. Only those are
// attempted at once: another would find the earlier one pending when it
// reads its delivery (deliver's guard of the per-record order) and go to
// River anyway.
func firstOfRecord(ins []inserted) []bool {
	type key struct {
		webhook, record int64
		entity          string
	}
	earliest := map[key]int64{}
	for _, d := range ins {
		k := key{d.webhookID, d.recordID, d.entity}
		if e, ok := earliest[k]; !ok || d.eventID < e {
			earliest[k] = d.eventID
		}
	}
	first := make([]bool, len(ins))
	for i, d := range ins {
		first[i] = !d.earlier && earliest[key{d.webhookID, d.recordID, d.entity}] == d.eventID
	}
	return first
}

// advanceSQL moves the cursor forward to the value of the placeholder
// last, never back.
func advanceSQL(last string) string {
	return "INSERT INTO outbox_cursors (name, last_id) VALUES ('" + cursorName + "', " + last + `)
		ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id WHERE outbox_cursors.last_id < excluded.last_id`
}

// advance moves the cursor forward to last, never back.
func advance(ctx context.Context, tx *sql.Tx, last int64) error {
	if _, err := tx.ExecContext(ctx, advanceSQL("$1"), last); err != nil {
		return fmt.Errorf("delivery: advance cursor: %w", err)
	}
	return nil
}
