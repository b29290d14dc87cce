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

// eventDataBatch is eventData of many events of one batch of the log
// (in id order, ending at end): the records are read a few queries per
// entity, and the changes made after each event undone, those of the
// batch from memory and those after it from one query per entity.
func (s *Service) eventDataBatch(ctx context.Context, evs []*events.Event, batch []events.Event) (map[int64]map[string]any, error) {
	out := make(map[int64]map[string]any, len(evs))
	many, ok := s.records.(ManyRecords)
	if !ok {
		for _, ev := range evs {
			d, err := s.eventData(ctx, ev)
			if err != nil {
				return nil, err
			}
			out[ev.ID] = d
		}
		return out, nil
	}
	end := batch[len(batch)-1].ID
	byEntity := map[string][]int64{}
	seen := map[string]map[int64]bool{}
	for _, ev := range evs {
		if seen[ev.Entity] == nil {
			seen[ev.Entity] = map[int64]bool{}
		}
		if !seen[ev.Entity][ev.RecordID] {
			seen[ev.Entity][ev.RecordID] = true
			byEntity[ev.Entity] = append(byEntity[ev.Entity], ev.RecordID)
		}
	}
	type key struct {
		entity string
		id     int64
	}
	current := map[key]map[string]any{}
	later := map[key][]events.Event{} // changes after each record's events, in id order
	for entity, ids := range byEntity {
		recs, err := many.Many(ctx, entity, ids)
		if err != nil {
			return nil, fmt.Errorf("read %s records: %w", entity, err)
		}
		for id, r := range recs {
			current[key{entity, id}] = r
		}
		for start := 0; start < len(ids); start += 200 {
			chunk := ids[start:min(len(ids), start+200)]
			after, err := events.Read(ctx, s.db.Reader(), events.Query{After: end, Entity: entity, RecordIDs: chunk, Limit: 10000})
			if err != nil {
				return nil, err
			}
			for _, ev := range after {
				k := key{ev.Entity, ev.RecordID}
				later[k] = append(later[k], ev)
			}
		}
	}
	for _, ev := range evs {
		k := key{ev.Entity, ev.RecordID}
		data := map[string]any{"event": eventMap(ev)}
		cur, ok := current[k]
		if !ok {
			data["record"] = nil // purged since
			out[ev.ID] = data
			continue
		}
		rec := make(map[string]any, len(cur))
		for f, v := range cur {
			rec[f] = v
		}
		after := later[k]
		for i := len(after) - 1; i >= 0; i-- {
			undo(rec, after[i].Changes)
		}
		for i := len(batch) - 1; i >= 0 && batch[i].ID > ev.ID; i-- {
			if b := &batch[i]; b.Entity == ev.Entity && b.RecordID == ev.RecordID {
				undo(rec, b.Changes)
			}
		}
		data["record"] = rec
		if ev.Action == events.Create {
			data["old"] = nil
		} else {
			old := make(map[string]any, len(rec))
			for f, v := range rec {
				old[f] = v
			}
			undo(old, ev.Changes)
			data["old"] = old
		}
		out[ev.ID] = data
	}
	return out, nil
}

// completeTrigger gives a CRM event run's stored trigger data (the record
// after the change) its event and the record before the change, read
// from the log; other runs' data is whole as stored. A run stored
// without data (refused by the filters) gets it rebuilt from the log and
// the current record.
func (s *Service) completeTrigger(ctx context.Context, typ string, eventID int64, stored map[string]any) (map[string]any, error) {
	if typ != TriggerCRMEvent || eventID == 0 {
		return stored, nil
	}
	if stored == nil {
		return s.eventTrigger(ctx, eventID)
	}
	if _, ok := stored["event"]; ok {
		return stored, nil
	}
	evs, err := events.Read(ctx, s.db.Reader(), events.Query{After: eventID - 1, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 || evs[0].ID != eventID {
		return nil, fmt.Errorf("change event %d is no longer in the log", eventID)
	}
	ev := &evs[0]
	out := map[string]any{"event": eventMap(ev), "record": stored["record"], "old": nil}
	if rec, ok := stored["record"].(map[string]any); ok && ev.Action != events.Create {
		old := make(map[string]any, len(rec))
		for f, v := range rec {
			old[f] = v
		}
		undo(old, ev.Changes)
		out["old"] = old
	}
	return out, nil
}

// createdRecord is a record as its creation event describes it: the
// entity's empty record with every field the event gives, and the fields
// the log leaves out of a creation (the id, the times, who made it).
// Good for judging filters; the stored trigger data is the record read.
func createdRecord(zero map[string]any, ev *events.Event) map[string]any {
	rec := make(map[string]any, len(zero)+4)
	for k, v := range zero {
		rec[k] = v
	}
	for f, ch := range ev.Changes {
		if v, err := DecodeValue(ch.New); err == nil {
			rec[f] = v
		}
	}
	at := ev.CreatedAt.Format(time.RFC3339Nano)
	rec["id"], rec["created_at"], rec["updated_at"] = ev.RecordID, at, at
	rec["created_by_id"], rec["updated_by_id"] = ev.ActorUserID, ev.ActorUserID
	return rec
}
