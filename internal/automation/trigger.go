package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
)

// registerBuiltinTriggers adds the engine's own trigger kinds, with the
// data each gives templates (for the value picker).
func registerBuiltinTriggers(r *Registry) {
	if _, ok := r.Trigger(TriggerCRMEvent); ok {
		return
	}
	eventFields := []Field{
		{Name: "id", Type: "integer"}, {Name: "entity", Type: "string"}, {Name: "record_id", Type: "integer"},
		{Name: "action", Type: "string", Enum: CRMEventActions}, {Name: "changes", Type: "object"},
		{Name: "actor", Type: "string"}, {Name: "actor_user_id", Type: "integer"}, {Name: "integration", Type: "string"},
		{Name: "run_id", Type: "integer"}, {Name: "created_at", Type: "datetime"},
	}
	userFields := []Field{{Name: "id", Type: "integer"}, {Name: "login", Type: "string"}, {Name: "name", Type: "string"}, {Name: "email", Type: "string"}}
	must := func(k TriggerKind) {
		if err := r.AddTrigger(k); err != nil {
			panic(err)
		}
	}
	must(TriggerKind{Type: TriggerCRMEvent, Group: "crm", Data: []Field{
		{Name: "event", Type: "object", Fields: eventFields},
		{Name: "record", Type: "object"},
		{Name: "old", Type: "object"},
	}})
	must(TriggerKind{Type: TriggerSchedule, Group: "flow", Data: []Field{
		{Name: "scheduled_at", Type: "datetime"}, {Name: "fired_at", Type: "datetime"}, {Name: "missed", Type: "integer"},
	}})
	must(TriggerKind{Type: TriggerWebhook, Group: "http", Data: []Field{
		{Name: "body", Type: "object"}, {Name: "query", Type: "object"}, {Name: "headers", Type: "object"},
		{Name: "method", Type: "string"}, {Name: "content_type", Type: "string"}, {Name: "ip", Type: "string"},
		{Name: "received_at", Type: "datetime"},
	}})
	must(TriggerKind{Type: TriggerManual, Group: "crm", Data: []Field{
		{Name: "entity", Type: "string"}, {Name: "record", Type: "object"}, {Name: "user", Type: "object", Fields: userFields},
	}})
}

// matchEvent reports whether a change event is an item of a crm.event
// trigger: its entity, one of its actions, one of its fields changed, and
// the fields of changed_to changed to those values.
func matchEvent(t *TriggerSpec, ev *events.Event) bool {
	if ev.Entity != t.Entity {
		return false
	}
	if len(t.Actions) > 0 && !slices.Contains(t.Actions, ev.Action) {
		return false
	}
	if len(t.Fields) > 0 && !slices.ContainsFunc(t.Fields, func(f string) bool { _, ok := ev.Changes[f]; return ok }) {
		return false
	}
	for f, want := range t.ChangedTo {
		ch, ok := ev.Changes[f]
		if !ok {
			return false
		}
		got, err := DecodeValue(ch.New)
		if err != nil || !looseEqual(got, want) {
			return false
		}
	}
	return true
}

// looseEqual compares a JSON value with what a user wrote: 5 and "5"
// are equal, as are 1.0 and 1.
func looseEqual(a, b any) bool {
	return fmt.Sprint(normalizeNumber(a)) == fmt.Sprint(normalizeNumber(b))
}

func normalizeNumber(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
	case int:
		return int64(x)
	case json.Number:
		return numbers(x)
	}
	return v
}

// eventMap is a change event as templates see it (trigger.event).
func eventMap(ev *events.Event) map[string]any {
	changes := map[string]any{}
	for f, ch := range ev.Changes {
		old, _ := DecodeValue(ch.Old)
		nw, _ := DecodeValue(ch.New)
		changes[f] = map[string]any{"old": old, "new": nw}
	}
	m := map[string]any{
		"id": ev.ID, "entity": ev.Entity, "record_id": ev.RecordID, "action": ev.Action, "changes": changes,
		"actor": ev.Actor, "actor_user_id": ev.ActorUserID, "integration": ev.Integration, "run_id": ev.RunID,
		"created_at": ev.CreatedAt.Format(time.RFC3339Nano),
	}
	return m
}

// eventTrigger is the trigger data of a change event: the event, the
// record as it was right after the change (the current record with the
// later changes undone) and as it was before.
func (s *Service) eventTrigger(ctx context.Context, eventID int64) (map[string]any, error) {
	evs, err := events.Read(ctx, s.db.Reader(), events.Query{After: eventID - 1, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 || evs[0].ID != eventID {
		return nil, fmt.Errorf("change event %d is no longer in the log", eventID)
	}
	return s.eventData(ctx, &evs[0])
}

// eventData is eventTrigger of an event already read.
func (s *Service) eventData(ctx context.Context, ev *events.Event) (map[string]any, error) {
	eventID := ev.ID
	out := map[string]any{"event": eventMap(ev)}
	rec, err := s.records.Record(ctx, ev.Entity, ev.RecordID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Purged since: what the event says is all there is.
		rec = nil
	case err != nil:
		return nil, fmt.Errorf("read %s %d: %w", ev.Entity, ev.RecordID, err)
	}
	if rec != nil {
		later, err := events.Read(ctx, s.db.Reader(), events.Query{After: eventID, Entity: ev.Entity, RecordID: ev.RecordID, Limit: 10000})
		if err != nil {
			return nil, err
		}
		for i := len(later) - 1; i >= 0; i-- {
			undo(rec, later[i].Changes)
		}
	}
	out["record"] = rec
	if rec != nil {
		old := make(map[string]any, len(rec))
		for k, v := range rec {
			old[k] = v
		}
		undo(old, ev.Changes)
		if ev.Action == events.Create {
			out["old"] = nil
		} else {
			out["old"] = old
		}
	}
	return out, nil
}

// undo sets each changed field of rec back to its old value.
func undo(rec map[string]any, changes map[string]events.Change) {
	for f, ch := range changes {
		v, err := DecodeValue(ch.Old)
		if err != nil {
			continue
		}
		rec[f] = v
	}
}
