package telephony

import (
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// The triggers of calls. Each stands for a crm.event trigger on the call
// activities the notifications make (automation.TriggerKind.Events), so
// its runs are made by the change-event log's dispatcher: durable, one
// per change, none lost across restarts. trigger.record is the activity.
const (
	// TriggerIncoming: an incoming call began (its activity was made).
	TriggerIncoming = "call.incoming"
	// TriggerMissed: a call ended unanswered.
	TriggerMissed = "call.missed"
	// TriggerFinished: a call ended, answered or not.
	TriggerFinished = "call.finished"
	// TriggerRecorded: a call's recording arrived.
	TriggerRecorded = "call.recorded"
)

// callTriggers are the trigger kinds, with what change each takes.
func callTriggers() []automation.TriggerKind {
	eventFields := []automation.Field{{Name: "id", Type: "integer"}, {Name: "entity", Type: "string"}, {Name: "record_id", Type: "integer"},
		{Name: "action", Type: "string"}, {Name: "changes", Type: "object"}, {Name: "created_at", Type: "datetime"}}
	record := []automation.Field{{Name: "id", Type: "integer"}, {Name: "subject", Type: "string"},
		{Name: "direction", Type: "string", Enum: []string{DirectionIn, DirectionOut}},
		{Name: "call_status", Type: "string", Enum: []string{crm.CallRinging, crm.CallTalking, crm.CallAnswered, crm.CallMissed}},
		{Name: "call_from", Type: "string"}, {Name: "call_to", Type: "string"}, {Name: "comm_value", Type: "string"},
		{Name: "call_line", Type: "string"}, {Name: "call_duration", Type: "integer"}, {Name: "recording_url", Type: "string"},
		{Name: "owner_type", Type: "string"}, {Name: "owner_id", Type: "integer"}, {Name: "assigned_by_id", Type: "integer"},
		{Name: "start_at", Type: "datetime"}, {Name: "end_at", Type: "datetime"}, {Name: "description", Type: "string"}}
	data := []automation.Field{{Name: "event", Type: "object", Fields: eventFields}, {Name: "record", Type: "object", Fields: record},
		{Name: "old", Type: "object", Fields: record}}
	noOptions := func(spec automation.TriggerSpec) []automation.Problem {
		for k := range spec.Options {
			return []automation.Problem{{Field: "trigger.options." + k, Message: "unknown option: a call trigger has none (use the filters)"}}
		}
		return nil
	}
	kind := func(typ string, events automation.TriggerSpec) automation.TriggerKind {
		events.Type, events.Entity = automation.TriggerCRMEvent, store.EntityActivity
		return automation.TriggerKind{Type: typ, Group: GroupCall, Data: data, Validate: noOptions,
			Events: func(automation.TriggerSpec) automation.TriggerSpec { return events }}
	}
	return []automation.TriggerKind{
		// Only the calls of the providers have a call_status; a call
		// made already ended (Asterisk's CDR) is still a new call.
		kind(TriggerIncoming, automation.TriggerSpec{Actions: []string{"create"}, Fields: []string{"call_status"},
			ChangedTo: map[string]any{"direction": DirectionIn}}),
		kind(TriggerMissed, automation.TriggerSpec{Actions: []string{"create", "update"}, ChangedTo: map[string]any{"call_status": crm.CallMissed}}),
		// The state turns answered or missed in the same change that
		// marks the activity done.
		kind(TriggerFinished, automation.TriggerSpec{Actions: []string{"create", "update"}, Fields: []string{"call_status"},
			ChangedTo: map[string]any{"done": true}}),
		kind(TriggerRecorded, automation.TriggerSpec{Actions: []string{"create", "update"}, Fields: []string{"recording_url"}}),
	}
}
