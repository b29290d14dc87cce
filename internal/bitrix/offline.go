package bitrix

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/delivery"
)

// Offline events (b24restdocs api-reference/events/offline-events.md):
// event.bind with event_type=offline queues changes instead of calling a
// handler; event.offline.get takes them (clear=1, the default) or reserves
// them under a process_id (clear=0) until event.offline.clear;
// event.offline.list reads the queue without changing it;
// event.offline.error gives reserved records back marked as failed (a
// later change of the record queues it afresh, unmarked). The queue is
// filled from the change log on each read, one row per record and event
// name holding the latest change, as Bitrix24 keeps the current state
// rather than every change. A binding with an auth_connector leaves out
// the changes its own webhook made, so that an integration does not read
// back its own writes (Bitrix24's way of breaking sync cycles).

var errOfflineAccess = &Error{Status: http.StatusForbidden, Code: "ACCESS_DENIED", Description: "Access denied!"}

// offlineBatch is how many change events one pass over the log reads.
const offlineBatch = 1000

func isOffline(c *call) bool {
	t, _ := c.paramText("event_type")
	return strings.EqualFold(t, "offline")
}

func connectorArg(c *call) (string, error) {
	s, err := c.paramText("auth_connector")
	if err != nil {
		return "", err
	}
	if len(s) > 255 {
		return "", crmError("Field auth_connector: longer than 255 characters")
	}
	return s, nil
}

// offlineBind is event.bind with event_type=offline: no handler; changes
// after now are queued. As in Bitrix24 (event-bind.md: "offline events
// are not available" to a user who is not an administrator), only an
// administrator's webhook binds them — reading the queue asks the same —
// so a queue never holds a change its reader may not see. A webhook has
// at most delivery.MaxBindings offline bindings, as many as handlers.
func (h *Handler) offlineBind(ctx context.Context, c *call) (reply, error) {
	if err := requireAdmin(c); err != nil {
		return reply{}, err
	}
	event, err := c.paramText("event")
	if err != nil {
		return reply{}, err
	}
	event = strings.ToUpper(event)
	if event == "" {
		return reply{}, errArgumentNull("EVENT")
	}
	if !slices.Contains(delivery.BitrixEventNames(), event) {
		return reply{}, errEventNotFound
	}
	conn, err := connectorArg(c)
	if err != nil {
		return reply{}, err
	}
	owner := bindingOwner(c)
	err = h.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var since int64
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0), (SELECT COUNT(*) FROM bitrix_offline_bindings WHERE owner = $1) FROM events",
			owner).Scan(&since, &n); err != nil {
			return fmt.Errorf("bitrix: offline bind: %w", err)
		}
		if n >= delivery.MaxBindings {
			return errTooManyBindings
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO bitrix_offline_bindings (owner, event, connector, since_event_id, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (owner, event, connector) DO NOTHING`, owner, event, conn, since, h.now().UnixMicro())
		if err != nil {
			return fmt.Errorf("bitrix: offline bind: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errAlreadyBound
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO bitrix_offline_cursors (owner, last_event_id) VALUES ($1, $2)
			ON CONFLICT (owner) DO NOTHING`, owner, since); err != nil {
			return fmt.Errorf("bitrix: offline bind: %w", err)
		}
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	return reply{result: true}, nil
}

// offlineUnbind is event.unbind with event_type=offline.
func (h *Handler) offlineUnbind(ctx context.Context, c *call) (reply, error) {
	event, err := c.paramText("event")
	if err != nil {
		return reply{}, err
	}
	if event == "" {
		return reply{}, errArgumentNull("EVENT")
	}
	conn, err := connectorArg(c)
	if err != nil {
		return reply{}, err
	}
	var n int64
	err = h.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM bitrix_offline_bindings WHERE owner = $1 AND event = $2 AND connector = $3",
			bindingOwner(c), strings.ToUpper(event), conn)
		if err != nil {
			return fmt.Errorf("bitrix: offline unbind: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	return reply{result: NewArray().Set("count", n)}, nil
}

// offlineBindings lists the owner's offline bindings for event.get.
func (h *Handler) offlineBindings(ctx context.Context, owner string) ([]*Array, error) {
	rows, err := h.db.Read.QueryContext(ctx, "SELECT event, connector FROM bitrix_offline_bindings WHERE owner = $1 ORDER BY event, connector", owner)
	if err != nil {
		return nil, fmt.Errorf("bitrix: offline bindings: %w", err)
	}
	defer rows.Close()
	var out []*Array
	for rows.Next() {
		var ev, conn string
		if err := rows.Scan(&ev, &conn); err != nil {
			return nil, fmt.Errorf("bitrix: offline bindings: %w", err)
		}
		a := NewArray().Set("event", ev).Set("handler", "").Set("auth_type", "0").Set("offline", 1)
		if conn != "" {
			a.Set("auth_connector", conn)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// messageID identifies a record in the queue: the same record and event
// name keep one row.
func messageID(entity string, id int64) string {
	sum := sha256.Sum256([]byte(entity + ":" + strconv.FormatInt(id, 10)))
	return hex.EncodeToString(sum[:16])
}

// pumpOffline moves the change events after the owner's cursor into its
// queue, for its offline bindings.
func (h *Handler) pumpOffline(ctx context.Context, owner string) error {
	type binding struct {
		event, connector string
		since            int64
	}
	for {
		more := false
		err := h.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			var cursor int64
			err := tx.QueryRowContext(ctx, "SELECT last_event_id FROM bitrix_offline_cursors WHERE owner = $1", owner).Scan(&cursor)
			if err == sql.ErrNoRows {
				return nil // never bound offline
			}
			if err != nil {
				return fmt.Errorf("bitrix: offline cursor: %w", err)
			}
			brows, err := tx.QueryContext(ctx, "SELECT event, connector, since_event_id FROM bitrix_offline_bindings WHERE owner = $1", owner)
			if err != nil {
				return fmt.Errorf("bitrix: offline bindings: %w", err)
			}
			var bs []binding
			for brows.Next() {
				var b binding
				if err := brows.Scan(&b.event, &b.connector, &b.since); err != nil {
					brows.Close()
					return fmt.Errorf("bitrix: offline bindings: %w", err)
				}
				bs = append(bs, b)
			}
			brows.Close()
			if err := brows.Err(); err != nil {
				return fmt.Errorf("bitrix: offline bindings: %w", err)
			}
			type change struct {
				id, record, at      int64
				entity, action, who string
			}
			rows, err := tx.QueryContext(ctx, "SELECT id, entity, record_id, action, integration, created_at FROM events WHERE id > $1 ORDER BY id LIMIT $2",
				cursor, offlineBatch)
			if err != nil {
				return fmt.Errorf("bitrix: read change log: %w", err)
			}
			var chs []change
			for rows.Next() {
				var ch change
				if err := rows.Scan(&ch.id, &ch.entity, &ch.record, &ch.action, &ch.who, &ch.at); err != nil {
					rows.Close()
					return fmt.Errorf("bitrix: read change log: %w", err)
				}
				chs = append(chs, ch)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("bitrix: read change log: %w", err)
			}
			for _, ch := range chs {
				name := delivery.BitrixEventName(ch.entity, ch.action)
				if name == "" {
					continue
				}
				for _, b := range bs {
					if b.event != name || ch.id <= b.since || (b.connector != "" && ch.who == owner) {
						continue
					}
					if _, err := tx.ExecContext(ctx, `INSERT INTO bitrix_offline_queue
						(owner, connector, event_name, message_id, entity, record_id, event_id, process_id, error, changed_at)
						VALUES ($1, $2, $3, $4, $5, $6, $7, '', FALSE, $8)
						ON CONFLICT (owner, connector, event_name, message_id, process_id)
						DO UPDATE SET event_id = excluded.event_id, changed_at = excluded.changed_at, error = FALSE`,
						owner, b.connector, name, messageID(ch.entity, ch.record), ch.entity, ch.record, ch.id, ch.at); err != nil {
						return fmt.Errorf("bitrix: queue offline event: %w", err)
					}
				}
			}
			if len(chs) > 0 {
				if _, err := tx.ExecContext(ctx, "UPDATE bitrix_offline_cursors SET last_event_id = $1 WHERE owner = $2", chs[len(chs)-1].id, owner); err != nil {
					return fmt.Errorf("bitrix: offline cursor: %w", err)
				}
			}
			more = len(chs) == offlineBatch
			return nil
		})
		if err != nil || !more {
			return err
		}
	}
}

// offlineRow is one queued event.
type offlineRow struct {
	id, record, eventID, at int64
	name, messageID, entity string
	processID               string
	isError                 bool
}

func (r offlineRow) array(loc *time.Location, full bool) *Array {
	a := NewArray().Set("ID", strconv.FormatInt(r.id, 10)).
		Set("TIMESTAMP_X", bitrixTime(time.UnixMicro(r.at), loc)).
		Set("EVENT_NAME", r.name).
		Set("EVENT_DATA", NewArray().Set("FIELDS", NewArray().Set("ID", r.record))).
		Set("EVENT_ADDITIONAL", false).
		Set("MESSAGE_ID", r.messageID)
	if full {
		e := "0"
		if r.isError {
			e = "1"
		}
		a.Set("PROCESS_ID", r.processID).Set("ERROR", e)
	}
	return a
}

// offlineColumns are the fields filter and order may name.
var offlineColumns = map[string]string{
	"ID": "id", "TIMESTAMP_X": "changed_at", "EVENT_NAME": "event_name", "MESSAGE_ID": "message_id",
	"PROCESS_ID": "process_id", "ERROR": "error",
}

// offlineWhere turns filter into SQL conditions after the given ones;
// fields limits the filter's fields.
func (h *Handler) offlineWhere(filter *Array, fields []string, args []any) (string, []any, error) {
	var conds []string
	for _, key := range orEmpty(filter).Keys() {
		v, _ := filter.Get(key)
		op, field := "=", key
		for _, p := range []string{">=", "<=", "!=", "=", ">", "<", "!"} {
			if rest, ok := strings.CutPrefix(key, p); ok {
				op, field = p, rest
				break
			}
		}
		if op == "!" {
			op = "!="
		}
		field = strings.ToUpper(strings.TrimSpace(field))
		col, ok := offlineColumns[field]
		if !ok || !slices.Contains(fields, field) {
			return "", nil, crmError("Filter field %s is not one of %s", field, strings.Join(fields, ", "))
		}
		s, sok := scalarText(v)
		if !sok {
			return "", nil, crmError("Filter field %s must not be an array", field)
		}
		var arg any = s
		switch field {
		case "ID":
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return "", nil, crmError("Filter field ID: %q is not a number", s)
			}
			arg = n
		case "TIMESTAMP_X":
			t, ok := parseBitrixTime(s, h.loc)
			if !ok {
				return "", nil, crmError("Filter field TIMESTAMP_X: %q is not a date and time", s)
			}
			arg = t.UnixMicro()
		case "ERROR":
			arg = truthy(v)
		}
		args = append(args, arg)
		if op == "!=" {
			op = "<>"
		}
		conds = append(conds, fmt.Sprintf("%s %s $%d", col, op, len(args)))
	}
	if len(conds) == 0 {
		return "", args, nil
	}
	return " AND " + strings.Join(conds, " AND "), args, nil
}

// offlineOrder is ORDER BY from order, def when none.
func offlineOrder(order *Array, def string) string {
	var parts []string
	for _, key := range orEmpty(order).Keys() {
		col := offlineColumns[strings.ToUpper(strings.TrimSpace(key))]
		if col == "" {
			continue
		}
		v, _ := order.Get(key)
		dir := "ASC"
		if s, _ := scalarText(v); strings.EqualFold(strings.TrimSpace(s), "DESC") {
			dir = "DESC"
		}
		parts = append(parts, col+" "+dir)
	}
	if len(parts) == 0 {
		return " ORDER BY " + def
	}
	return " ORDER BY " + strings.Join(parts, ", ") + ", id"
}

func (h *Handler) offlineQuery(ctx context.Context, q execQuerier, query string, args ...any) ([]offlineRow, error) {
	rows, err := q.QueryContext(ctx, "SELECT id, event_name, message_id, entity, record_id, event_id, process_id, error, changed_at FROM bitrix_offline_queue WHERE "+query, args...)
	if err != nil {
		return nil, fmt.Errorf("bitrix: offline queue: %w", err)
	}
	defer rows.Close()
	var out []offlineRow
	for rows.Next() {
		var r offlineRow
		if err := rows.Scan(&r.id, &r.name, &r.messageID, &r.entity, &r.record, &r.eventID, &r.processID, &r.isError, &r.at); err != nil {
			return nil, fmt.Errorf("bitrix: offline queue: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

type execQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func requireAdmin(c *call) error {
	if c.user.Role != crm.RoleAdmin {
		return errOfflineAccess
	}
	return nil
}

// offlineArgs are what event.offline.get and .list read the queue by.
type offlineArgs struct {
	owner, conn   string
	filter, order *Array
}

// offlineRead begins event.offline.get and .list: an administrator's
// call, its connector, filter and order, and the queue filled from the
// change log up to now.
func (h *Handler) offlineRead(ctx context.Context, c *call) (offlineArgs, error) {
	var a offlineArgs
	if err := requireAdmin(c); err != nil {
		return a, err
	}
	var err error
	if a.conn, err = connectorArg(c); err != nil {
		return a, err
	}
	if a.filter, err = c.paramArray("filter"); err != nil {
		return a, err
	}
	if a.order, err = c.paramArray("order"); err != nil {
		return a, err
	}
	a.owner = bindingOwner(c)
	return a, h.pumpOffline(ctx, a.owner)
}

// eventOfflineGet is event.offline.get.
func (h *Handler) eventOfflineGet(ctx context.Context, c *call) (reply, error) {
	a, err := h.offlineRead(ctx, c)
	if err != nil {
		return reply{}, err
	}
	limit := int64(50)
	if s, _ := c.paramText("limit"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return reply{}, crmError("Parameter limit: %q is not a positive number", s)
		}
		limit = min(n, 1000)
	}
	clear := true
	if v, ok := c.param("clear"); ok {
		s, _ := scalarText(v)
		clear = truthy(v) || strings.TrimSpace(s) == ""
	}
	withErrors := false
	if v, ok := c.param("error"); ok {
		withErrors = truthy(v)
	}
	pid, err := c.paramText("process_id")
	if err != nil {
		return reply{}, err
	}
	base := "owner = $1 AND connector = $2 AND process_id = $3"
	if !withErrors {
		base += " AND error = FALSE"
	}
	where, args, err := h.offlineWhere(a.filter, []string{"ID", "TIMESTAMP_X", "EVENT_NAME", "MESSAGE_ID"}, []any{a.owner, a.conn, pid})
	if err != nil {
		return reply{}, err
	}
	newPID := ""
	if !clear && pid == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return reply{}, fmt.Errorf("bitrix: process id: %w", err)
		}
		newPID = hex.EncodeToString(b)
	}
	var got []offlineRow
	err = h.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := h.offlineQuery(ctx, tx, base+where+offlineOrder(a.order, "changed_at, id")+fmt.Sprintf(" LIMIT %d", limit), args...)
		if err != nil {
			return err
		}
		got = rows
		if len(rows) == 0 || (!clear && newPID == "") {
			return nil
		}
		// One statement for the taken rows (ids are the queue's own).
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = strconv.FormatInt(r.id, 10)
		}
		in := " WHERE id IN (" + strings.Join(ids, ", ") + ")"
		if clear {
			_, err = tx.ExecContext(ctx, "DELETE FROM bitrix_offline_queue"+in)
		} else {
			_, err = tx.ExecContext(ctx, "UPDATE bitrix_offline_queue SET process_id = $1"+in, newPID)
		}
		if err != nil {
			return fmt.Errorf("bitrix: take offline events: %w", err)
		}
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	events := List()
	for _, r := range got {
		events.Append(r.array(h.loc, false))
	}
	var process any
	switch {
	case newPID != "":
		process = newPID
	case !clear && pid != "":
		process = pid
	}
	return reply{result: NewArray().Set("process_id", process).Set("events", events)}, nil
}

// offlineTarget reads the records a call of event.offline.clear or
// .error is about: those reserved under process_id, or those of them given
// by id[] or message_id[]; the answer is a condition on the queue with
// its arguments.
func offlineTarget(c *call) (string, []any, error) {
	if err := requireAdmin(c); err != nil {
		return "", nil, err
	}
	pid, err := c.paramText("process_id")
	if err != nil {
		return "", nil, err
	}
	if pid == "" {
		return "", nil, errArgumentNull("PROCESS_ID")
	}
	conn, err := connectorArg(c)
	if err != nil {
		return "", nil, err
	}
	where := "owner = $1 AND connector = $2 AND process_id = $3"
	args := []any{bindingOwner(c), conn, pid}
	ids, _ := c.param("id")
	msgs, _ := c.param("message_id")
	var ph []string
	switch {
	case len(itemsOf(ids)) > 0:
		for _, v := range itemsOf(ids) {
			n, err := parseInt("id", v)
			if err != nil {
				return "", nil, err
			}
			args = append(args, n)
			ph = append(ph, fmt.Sprintf("$%d", len(args)))
		}
		where += " AND id IN (" + strings.Join(ph, ", ") + ")"
	case len(itemsOf(msgs)) > 0:
		for _, v := range itemsOf(msgs) {
			s, _ := scalarText(v)
			args = append(args, s)
			ph = append(ph, fmt.Sprintf("$%d", len(args)))
		}
		where += " AND message_id IN (" + strings.Join(ph, ", ") + ")"
	}
	return where, args, nil
}

// eventOfflineClear is event.offline.clear: removes the records reserved
// under process_id, or those of them given by id[] or message_id[].
func (h *Handler) eventOfflineClear(ctx context.Context, c *call) (reply, error) {
	return h.offlineChange(ctx, c, "clear", "DELETE FROM bitrix_offline_queue WHERE {target}")
}

// eventOfflineError is event.offline.error: the records reserved under
// process_id (those of message_id[] when given) are kept, marked as
// failed, and given back from the reservation, so that event.offline.get
// with error=1 reads them again and the process may clear the rest. A
// record whose entity changed again meanwhile has a newer row waiting
// (the queue holds a record's latest change): that one stays, and the
// failed one goes.
func (h *Handler) eventOfflineError(ctx context.Context, c *call) (reply, error) {
	return h.offlineChange(ctx, c, "error",
		`DELETE FROM bitrix_offline_queue WHERE {target} AND EXISTS (SELECT 1 FROM bitrix_offline_queue w
			WHERE w.owner = bitrix_offline_queue.owner AND w.connector = bitrix_offline_queue.connector
			AND w.event_name = bitrix_offline_queue.event_name AND w.message_id = bitrix_offline_queue.message_id AND w.process_id = '')`,
		"UPDATE bitrix_offline_queue SET error = TRUE, process_id = '' WHERE {target}")
}

// offlineChange runs statements over the records a call of
// event.offline.clear or .error is about ({target} in each), in one
// transaction.
func (h *Handler) offlineChange(ctx context.Context, c *call, what string, stmts ...string) (reply, error) {
	where, args, err := offlineTarget(c)
	if err != nil {
		return reply{}, err
	}
	err = h.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, st := range stmts {
			if _, err := tx.ExecContext(ctx, strings.ReplaceAll(st, "{target}", where), args...); err != nil {
				return fmt.Errorf("bitrix: offline %s: %w", what, err)
			}
		}
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	return reply{result: true}, nil
}

// eventOfflineList is event.offline.list: the queue, 50 a page, without
// changing it.
func (h *Handler) eventOfflineList(ctx context.Context, c *call) (reply, error) {
	a, err := h.offlineRead(ctx, c)
	if err != nil {
		return reply{}, err
	}
	where, args, err := h.offlineWhere(a.filter, []string{"ID", "TIMESTAMP_X", "EVENT_NAME", "MESSAGE_ID", "PROCESS_ID", "ERROR"}, []any{a.owner, a.conn})
	if err != nil {
		return reply{}, err
	}
	order := a.order
	startText, _ := c.paramText("start")
	start, perr := strconv.ParseInt(startText, 10, 64)
	if perr != nil || start < 0 {
		start = 0
	}
	rows, err := h.offlineQuery(ctx, h.db.Read, "owner = $1 AND connector = $2"+where+offlineOrder(order, "id"), args...)
	if err != nil {
		return reply{}, err
	}
	result := List()
	for i := start; i < int64(len(rows)) && i < start+pageSize; i++ {
		result.Append(rows[i].array(h.loc, true))
	}
	n := int64(len(rows))
	return listReply(result, start, &n), nil
}
