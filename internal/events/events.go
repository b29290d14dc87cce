// Package events is the change-event log: every create, update, delete,
// restore and conversion of a CRM record appends an event in the same
// transaction, and readers page through the log by id.
//
// Ordering: ids are handed out in commit order, so a reader that has seen
// id N can never later see an id below N appear, and no event is skipped
// by a reader paging concurrently with writers. A plain sequence would
// not do: ids taken at insert become visible in commit order, leaving
// in-flight holes that a reader would step over. On SQLite, where one
// writer holds the whole database until it commits, the next id is simply
// MAX(id)+1, taken as the last statement of the transaction. On
// PostgreSQL events are inserted with provisional negative ids and a
// deferred trigger numbers them at COMMIT under an advisory lock that is
// released only after the commit is visible (migration 0002). A rolled
// back transaction takes no id on either engine.
package events

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obmen/obmen/internal/db"
)

// Actions.
const (
	Create  = "create"
	Update  = "update"
	Delete  = "delete"
	Restore = "restore"
	Purge   = "purge"
	Convert = "convert"
)

// Written counts events committed to the log.
var Written = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "obmen_events_written_total",
	Help: "Change events committed to the event log.",
})

// Change is one field's value before and after; null where absent.
type Change struct {
	Old json.RawMessage `json:"old"`
	New json.RawMessage `json:"new"`
}

// Event is one entry of the log.
type Event struct {
	ID          int64             `json:"id"`
	Entity      string            `json:"entity"`
	RecordID    int64             `json:"record_id"`
	Action      string            `json:"action"`
	Changes     map[string]Change `json:"changes"`
	Actor       string            `json:"actor"`
	ActorUserID int64             `json:"actor_user_id"`
	Integration string            `json:"integration,omitempty"`
	// RunID is the automation run whose step made the change, 0 when no
	// bundle did: a run it triggers is one deeper in the chain.
	RunID     int64     `json:"run_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Encoded, when set, is Changes already in JSON; writers fill it
	// outside the shared write transaction to keep that short.
	Encoded json.RawMessage `json:"-"`
}

func (ev *Event) encode() (string, error) {
	if ev.Encoded != nil {
		return string(ev.Encoded), nil
	}
	b, err := json.Marshal(ev.Changes)
	if err != nil {
		return "", fmt.Errorf("events: encode changes of %s %d: %w", ev.Entity, ev.RecordID, err)
	}
	return string(b), nil
}

// Execer is what Append needs of a transaction.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Append writes evs with fresh ids, setting each ID. It must be the last
// statement of the transaction before commit (see the package comment).
//
// The one dialect difference of the log lives here. On SQLite a single
// writer holds the database lock for the whole transaction, so the next
// id is simply MAX(id)+1, read in the same statement. PostgreSQL runs
// writers concurrently: events get provisional ids and are numbered at
// commit (see the package comment); ev.ID stays 0 there.
func Append(ctx context.Context, tx Execer, serialWriter bool, evs []*Event) error {
	if len(evs) == 0 {
		return nil
	}
	if serialWriter && len(evs) == 1 {
		ev := evs[0]
		ch, err := ev.encode()
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO events (id, entity, record_id, action, changes, actor, actor_user_id, integration, created_at, run_id)
			VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM events), $1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			ev.Entity, ev.RecordID, ev.Action, ch, ev.Actor, ev.ActorUserID, ev.Integration, ev.CreatedAt.UnixMicro(), ev.RunID).Scan(&ev.ID)
		if err != nil {
			return fmt.Errorf("events: insert: %w", err)
		}
		return nil
	}
	if serialWriter {
		var last int64
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) + $1 FROM events", len(evs)).Scan(&last); err != nil {
			return fmt.Errorf("events: take ids: %w", err)
		}
		first := last - int64(len(evs)) + 1
		var sb strings.Builder
		sb.WriteString("INSERT INTO events (id, entity, record_id, action, changes, actor, actor_user_id, integration, created_at, run_id) VALUES ")
		args := make([]any, 0, 10*len(evs))
		for i, ev := range evs {
			ev.ID = first + int64(i)
			ch, err := ev.encode()
			if err != nil {
				return err
			}
			args = append(args, ev.ID, ev.Entity, ev.RecordID, ev.Action, ch, ev.Actor, ev.ActorUserID, ev.Integration, ev.CreatedAt.UnixMicro(), ev.RunID)
		}
		db.WriteValueRows(&sb, db.SQLite, len(evs), 10, 0)
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("events: insert: %w", err)
		}
		return nil
	}
	// PostgreSQL: provisional negative ids now; the real ids are given at
	// COMMIT by the trigger of migration 0002 (see the package comment),
	// so they are not known here.
	var sb strings.Builder
	sb.WriteString("INSERT INTO events (id, entity, record_id, action, changes, actor, actor_user_id, integration, created_at, run_id) VALUES ")
	args := make([]any, 0, 9*len(evs))
	for i, ev := range evs {
		ch, err := ev.encode()
		if err != nil {
			return err
		}
		if i > 0 {
			sb.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&sb, "(-nextval('event_provisional'), $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9)
		args = append(args, ev.Entity, ev.RecordID, ev.Action, ch, ev.Actor, ev.ActorUserID, ev.Integration, ev.CreatedAt.UnixMicro(), ev.RunID)
		ev.ID = 0
	}
	if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
		return fmt.Errorf("events: insert: %w", err)
	}
	return nil
}

// PostgresInsertFrom is the statement that logs ev on PostgreSQL as one
// part of a larger one (issue 21: a lead's create in one statement): an
// INSERT … SELECT FROM from, whose record id is the SQL expression
// recordID over from (ev.RecordID is not used), its parameters numbered
// after n. The id is provisional, as Append's on PostgreSQL: the trigger
// of migration 0002 numbers the event at commit.
func PostgresInsertFrom(ev *Event, recordID, from string, n int) (string, []any, error) {
	ch, err := ev.encode()
	if err != nil {
		return "", nil, err
	}
	q := fmt.Sprintf(`INSERT INTO events (id, entity, record_id, action, changes, actor, actor_user_id, integration, created_at, run_id)
		SELECT -nextval('event_provisional'), $%d, %s, $%d, $%d, $%d, $%d, $%d, $%d, $%d FROM %s`,
		n+1, recordID, n+2, n+3, n+4, n+5, n+6, n+7, n+8, from)
	return q, []any{ev.Entity, ev.Action, ch, ev.Actor, ev.ActorUserID, ev.Integration, ev.CreatedAt.UnixMicro(), ev.RunID}, nil
}

// Query selects a page of the log.
type Query struct {
	After int64 // return events with id > After
	// AfterCursor, when set, replaces After by the outbox_cursors row of
	// that name (0 while it has none), read in the same statement: a
	// dispatcher's cursor and its events in one round trip.
	AfterCursor string
	Limit       int    // at most this many (1..10000; default 100)
	Entity      string // only this entity, when set
	// RecordID, with Entity, selects one record's history; RecordIDs
	// several records' (at most a few hundred).
	RecordID  int64
	RecordIDs []int64
	// Raw leaves Changes undecoded, in Encoded: for passing events on as
	// JSON without building maps.
	Raw bool
	// Newest reads backwards from the end (or from before Before, when
	// set): a record's latest history without paging through all of it.
	// The result is still in descending id order.
	Newest bool
	Before int64
	// SkipAction leaves out events with this action.
	SkipAction string
	// ExcludeIntegration skips events written by that integration, so a
	// sync does not read back its own changes.
	ExcludeIntegration string
	// Alongside, when set, is a scalar SQL expression (an integer) read in
	// the same statement as the events — one round trip for both; Read
	// stores its value in *AlongsideValue when it reads an event, and
	// leaves it alone when it reads none.
	Alongside      string
	AlongsideValue *int64
}

// Querier is what Read needs: a pool or a transaction.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Read returns events in id order.
func Read(ctx context.Context, q Querier, p Query) ([]Event, error) {
	if p.Limit <= 0 {
		p.Limit = 100
	}
	if p.Limit > 10000 {
		p.Limit = 10000
	}
	where := []string{"id > $1"}
	args := []any{p.After}
	if p.AfterCursor != "" {
		where[0] = "id > COALESCE((SELECT last_id FROM outbox_cursors WHERE name = $1), 0)"
		args[0] = p.AfterCursor
	}
	if p.Before > 0 {
		args = append(args, p.Before)
		where = append(where, fmt.Sprintf("id < $%d", len(args)))
	}
	if p.SkipAction != "" {
		args = append(args, p.SkipAction)
		where = append(where, fmt.Sprintf("action <> $%d", len(args)))
	}
	order := "id"
	if p.Newest {
		order = "id DESC"
	}
	if p.Entity != "" {
		args = append(args, p.Entity)
		where = append(where, fmt.Sprintf("entity = $%d", len(args)))
	}
	if p.RecordID != 0 {
		args = append(args, p.RecordID)
		where = append(where, fmt.Sprintf("record_id = $%d", len(args)))
	}
	if len(p.RecordIDs) > 0 {
		ph := make([]string, len(p.RecordIDs))
		for i, id := range p.RecordIDs {
			args = append(args, id)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		where = append(where, "record_id IN ("+strings.Join(ph, ", ")+")")
	}
	if p.ExcludeIntegration != "" {
		args = append(args, p.ExcludeIntegration)
		where = append(where, fmt.Sprintf("integration <> $%d", len(args)))
	}
	args = append(args, p.Limit)
	columns := "id, entity, record_id, action, changes, actor, actor_user_id, integration, created_at, run_id"
	if p.Alongside != "" {
		columns += ", " + p.Alongside
	}
	rows, err := q.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM events WHERE %s ORDER BY %s LIMIT $%d",
		columns, strings.Join(where, " AND "), order, len(args)), args...)
	if err != nil {
		if p.AfterCursor != "" {
			return nil, fmt.Errorf("events: read after cursor %s: %w", p.AfterCursor, err)
		}
		return nil, fmt.Errorf("events: read after %d: %w", p.After, err)
	}
	defer rows.Close()
	out := make([]Event, 0, min(p.Limit, 1024))
	for rows.Next() {
		var ev Event
		var changes string
		var at int64
		dest := []any{&ev.ID, &ev.Entity, &ev.RecordID, &ev.Action, &changes, &ev.Actor, &ev.ActorUserID, &ev.Integration, &at, &ev.RunID}
		if p.Alongside != "" {
			dest = append(dest, p.AlongsideValue)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("events: scan: %w", err)
		}
		if p.Raw {
			ev.Encoded = json.RawMessage(changes)
		} else if err := json.Unmarshal([]byte(changes), &ev.Changes); err != nil {
			return nil, fmt.Errorf("events: event %d: decode changes: %w", ev.ID, err)
		}
		ev.CreatedAt = time.UnixMicro(at).UTC()
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: read after %d: %w", p.After, err)
	}
	return out, nil
}

// AppendJSON appends the event as JSON, the same document encoding/json
// would write, without reflection; the log is read in bulk by every sync.
func (ev *Event) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, ev.ID, 10)
	b = append(b, `,"entity":`...)
	b = appendString(b, ev.Entity)
	b = append(b, `,"record_id":`...)
	b = strconv.AppendInt(b, ev.RecordID, 10)
	b = append(b, `,"action":`...)
	b = appendString(b, ev.Action)
	b = append(b, `,"changes":`...)
	if ev.Encoded != nil {
		b = append(b, ev.Encoded...)
	} else {
		c, err := json.Marshal(ev.Changes)
		if err != nil {
			c = []byte("{}")
		}
		b = append(b, c...)
	}
	b = append(b, `,"actor":`...)
	b = appendString(b, ev.Actor)
	b = append(b, `,"actor_user_id":`...)
	b = strconv.AppendInt(b, ev.ActorUserID, 10)
	if ev.Integration != "" {
		b = append(b, `,"integration":`...)
		b = appendString(b, ev.Integration)
	}
	if ev.RunID != 0 {
		b = append(b, `,"run_id":`...)
		b = strconv.AppendInt(b, ev.RunID, 10)
	}
	b = append(b, `,"created_at":"`...)
	b = ev.CreatedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `"}`...)
	return b
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// ignored fields change on every write and say nothing about what changed.
var ignored = map[string]bool{"id": true, "created_at": true, "created_by_id": true, "updated_at": true, "updated_by_id": true}

var null = json.RawMessage("null")

// Diff compares two records field by field through their JSON form and
// returns the changed top-level fields. old may be nil (a creation: every
// field that is set appears with old null).
func Diff(old, cur any) (map[string]Change, error) {
	if old != nil {
		if out, ok, err := diffFields(old, cur); ok || err != nil {
			return out, err
		}
	}
	return diffJSON(old, cur)
}

// diffJSON is Diff through each record's whole JSON form.
func diffJSON(old, cur any) (map[string]Change, error) {
	var a, b map[string]json.RawMessage
	if old != nil {
		ob, err := json.Marshal(old)
		if err != nil {
			return nil, fmt.Errorf("events: diff: %w", err)
		}
		if err := json.Unmarshal(ob, &a); err != nil {
			return nil, fmt.Errorf("events: diff: %w", err)
		}
	}
	nb, err := json.Marshal(cur)
	if err != nil {
		return nil, fmt.Errorf("events: diff: %w", err)
	}
	if err := json.Unmarshal(nb, &b); err != nil {
		return nil, fmt.Errorf("events: diff: %w", err)
	}
	out := map[string]Change{}
	for k, nv := range b {
		if ignored[k] {
			continue
		}
		ov, had := a[k]
		if !had {
			if old == nil && isEmpty(nv) {
				continue
			}
			ov = null
		}
		if !bytes.Equal(ov, nv) {
			out[k] = Change{Old: ov, New: nv}
		}
	}
	for k, ov := range a {
		if _, ok := b[k]; !ok && !ignored[k] {
			out[k] = Change{Old: ov, New: null}
		}
	}
	return out, nil
}

// CreateChanges is Diff(nil, cur) already encoded: every field of a new
// record that is set, as {"field":{"old":null,"new":value}}. It builds the
// JSON directly, which matters on the hottest write, creating a lead.
func CreateChanges(cur any) (json.RawMessage, error) {
	nb, err := json.Marshal(cur)
	if err != nil {
		return nil, fmt.Errorf("events: diff: %w", err)
	}
	// A member's key is kept as json.Marshal wrote it (quoted, escapes
	// and all) and sorted by what it says, as json.Marshal sorts a map's
	// keys.
	type member struct{ key, quoted, val []byte }
	var ms []member
	if !members(nb, func(k, v []byte) {
		if name := k[1 : len(k)-1]; !ignored[string(name)] && !isEmpty(v) {
			ms = append(ms, member{name, k, v})
		}
	}) {
		// Not an object of plain keys (not a struct's): decoded.
		var b map[string]json.RawMessage
		if err := json.Unmarshal(nb, &b); err != nil {
			return nil, fmt.Errorf("events: diff: %w", err)
		}
		ms = ms[:0]
		for k, v := range b {
			if !ignored[k] && !isEmpty(v) {
				quoted, _ := json.Marshal(k)
				ms = append(ms, member{[]byte(k), quoted, v})
			}
		}
	}
	slices.SortFunc(ms, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	var out bytes.Buffer
	out.Grow(len(nb) + 24*len(ms))
	out.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			out.WriteByte(',')
		}
		out.Write(m.quoted)
		out.WriteString(`:{"old":null,"new":`)
		out.Write(m.val)
		out.WriteByte('}')
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// members calls fn with each member of the JSON object b, as json.Marshal
// writes one (valid, no spaces): its key with its quotes and its value
// as written — where decoding it into a map was a tenth of the server's
// CPU on the lead-create path (issue 21). False when b is not such an
// object or a key has an escape (fn may have been called for some
// members).
func members(b []byte, fn func(key, val []byte)) bool {
	if len(b) < 2 || b[0] != '{' {
		return false
	}
	i := 1
	for i < len(b)-1 {
		if b[i] != '"' {
			return false
		}
		j := bytes.IndexByte(b[i+1:], '"')
		if j < 0 {
			return false
		}
		key := b[i : i+j+2]
		if bytes.IndexByte(key, '\\') >= 0 {
			return false
		}
		i += j + 2
		if i >= len(b) || b[i] != ':' {
			return false
		}
		end, ok := valueEnd(b, i+1)
		if !ok {
			return false
		}
		fn(key, b[i+1:end])
		i = end
		if b[i] == ',' {
			i++
		} else if i != len(b)-1 {
			return false
		}
	}
	return i == len(b)-1 && b[i] == '}'
}

// valueEnd is the index just past the JSON value that starts at b[i],
// inside an object: at the comma or brace that follows it.
func valueEnd(b []byte, i int) (int, bool) {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i, true
			}
			depth--
		case ',':
			if depth == 0 {
				return i, true
			}
		}
	}
	return 0, false
}

func isEmpty(v json.RawMessage) bool {
	switch string(v) {
	case "null", `""`, "0", "0.00", "false", "[]", "{}":
		return true
	}
	if len(v) > 0 && v[0] == '{' {
		empty := true
		if members(v, func(_, x []byte) { empty = empty && isEmpty(x) }) {
			return empty
		}
		// Not as json.Marshal writes it: decoded.
		var m map[string]json.RawMessage
		if json.Unmarshal(v, &m) != nil {
			return false
		}
		for _, x := range m {
			if !isEmpty(x) {
				return false
			}
		}
		return true
	}
	return false
}

// AppendFrom appends one event per row of query, a SELECT (with its
// arguments args, numbered from $1) whose columns are entity, record_id,
// action, changes and ord, an integer unique among the rows: events are
// numbered in ord order (with gaps where ord has gaps: the log's readers
// need ids that grow in commit order, not dense ones). The actor,
// integration and time are the same for every row. It is Append for
// writes too large to pass through Go one event at a time (the switch of
// a staged 1C catalog): the rows go from table to table in one statement,
// without a sort. Like Append, it keeps the log's commit order on both
// engines; on SQLite it must run after any earlier event of the same
// transaction has been appended.
func AppendFrom(ctx context.Context, tx Execer, serialWriter bool, actor string, actorUserID int64, integration string, at time.Time,
	query string, args ...any) (int64, error) {
	n := len(args)
	tail := fmt.Sprintf("q.entity, q.record_id, q.action, q.changes, $%d, $%d, $%d, $%d FROM (%s) q", n+1, n+2, n+3, n+4, query)
	extra := []any{actor, actorUserID, integration, at.UnixMicro()}
	var stmt string
	if serialWriter {
		var base int64
		var low sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT (SELECT COALESCE(MAX(id), 0) FROM events), (SELECT MIN(q.ord) FROM ("+query+") q)", args...).Scan(&base, &low); err != nil {
			return 0, fmt.Errorf("events: take ids: %w", err)
		}
		if !low.Valid {
			return 0, nil
		}
		extra = append(extra, base-low.Int64+1)
		stmt = fmt.Sprintf("INSERT INTO events (id, entity, record_id, action, changes, actor, actor_user_id, integration, created_at) SELECT q.ord + $%d, %s",
			n+5, tail)
	} else {
		// The trigger of migration 0002 numbers them at commit.
		stmt = "INSERT INTO events (id, entity, record_id, action, changes, actor, actor_user_id, integration, created_at) SELECT -nextval('event_provisional'), " + tail
	}
	res, err := tx.ExecContext(ctx, stmt, append(args, extra...)...)
	if err != nil {
		return 0, fmt.Errorf("events: insert from query: %w", err)
	}
	k, _ := res.RowsAffected()
	return k, nil
}
