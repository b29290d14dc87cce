package crm

import (
	"strings"
	"time"
)

// Activity kinds.
const (
	ActivityCall    = "call"
	ActivityMeeting = "meeting"
	ActivityTask    = "task"
	ActivityEmail   = "email"
)

// Activity is a call, meeting, task or e-mail on a user's calendar, linked
// to a CRM record.
type Activity struct {
	Meta
	Kind        string     `json:"kind"`
	Subject     string     `json:"subject"`
	Description string     `json:"description"`
	StartAt     *time.Time `json:"start_at"`
	EndAt       *time.Time `json:"end_at"`
	OwnerType   string     `json:"owner_type"`
	OwnerID     int64      `json:"owner_id"`
	Direction   string     `json:"direction"`
	CommValue   string     `json:"comm_value"`
	Priority    string     `json:"priority"`
	Done        bool       `json:"done"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	// A call a telephony provider told of: its state (CallRinging,
	// CallTalking, then CallAnswered or CallMissed once it ended), the
	// numbers, the line or extension, the talk in seconds and the
	// recording. Empty on other activities.
	CallStatus   string `json:"call_status,omitempty"`
	CallFrom     string `json:"call_from,omitempty"`
	CallTo       string `json:"call_to,omitempty"`
	CallLine     string `json:"call_line,omitempty"`
	CallDuration int64  `json:"call_duration,omitempty"`
	RecordingURL string `json:"recording_url,omitempty"`
	Extra
}

// States of a call (Activity.CallStatus).
const (
	CallRinging  = "ringing"
	CallTalking  = "talking"
	CallAnswered = "answered"
	CallMissed   = "missed"
)

// OwnerTypes are the records an activity or comment can be linked to.
var OwnerTypes = []string{"lead", "contact", "account", "deal", "sales_order", "invoice", "ticket"}

func validOwner(t string) bool {
	for _, o := range OwnerTypes {
		if o == t {
			return true
		}
	}
	return false
}

// Normalize trims and validates.
func (a *Activity) Normalize() error {
	trimAll(&a.Kind, &a.Subject, &a.OwnerType, &a.Direction, &a.CommValue, &a.Priority)
	a.Kind = strings.ToLower(a.Kind)
	switch a.Kind {
	case ActivityCall, ActivityMeeting, ActivityTask, ActivityEmail:
	case "":
		return Invalid("kind", "required: call, meeting, task or email")
	default:
		return Invalid("kind", "%q is not one of call, meeting, task, email", a.Kind)
	}
	if a.Subject == "" {
		return Invalid("subject", "required")
	}
	switch a.Direction {
	case "", "in", "out":
	default:
		return Invalid("direction", "%q is not one of in, out", a.Direction)
	}
	if a.Priority == "" {
		a.Priority = "normal"
	}
	switch a.Priority {
	case "low", "normal", "high":
	default:
		return Invalid("priority", "%q is not one of low, normal, high", a.Priority)
	}
	if (a.OwnerType == "") != (a.OwnerID == 0) {
		return Invalid("owner_id", "owner_type and owner_id go together")
	}
	if a.OwnerType != "" && !validOwner(a.OwnerType) {
		return Invalid("owner_type", "%q is not one of %s", a.OwnerType, strings.Join(OwnerTypes, ", "))
	}
	trimAll(&a.CallStatus, &a.CallFrom, &a.CallTo, &a.CallLine, &a.RecordingURL)
	switch a.CallStatus {
	case "":
	case CallRinging, CallTalking, CallAnswered, CallMissed:
		if a.Kind != ActivityCall {
			return Invalid("kind", "%q is not one of %s", a.Kind, ActivityCall+" (the activity has a call_status)")
		}
	default:
		return Invalid("call_status", "%q is not one of %s", a.CallStatus, "ringing, talking, answered, missed")
	}
	if a.CallDuration < 0 {
		return Invalid("call_duration", "must not be negative")
	}
	if a.RecordingURL != "" && !strings.HasPrefix(a.RecordingURL, "https://") && !strings.HasPrefix(a.RecordingURL, "http://") {
		return Invalid("recording_url", "must be an http(s) URL, got %q", a.RecordingURL)
	}
	if a.StartAt != nil && a.EndAt != nil && a.EndAt.Before(*a.StartAt) {
		return Invalid("end_at", "is before start_at")
	}
	if a.CommValue != "" {
		switch a.Kind {
		case ActivityCall:
			a.CommValue = PhoneKey(a.CommValue)
		case ActivityEmail:
			n, ok := NormalizeEmail(a.CommValue)
			if !ok {
				return Invalid("comm_value", "%q is not an e-mail address", a.CommValue)
			}
			a.CommValue = n
		}
	}
	return firstErr(checkLen("subject", a.Subject, 500), checkLen("description", a.Description, 65000),
		checkLen("call_from", a.CallFrom, 64), checkLen("call_to", a.CallTo, 64), checkLen("call_line", a.CallLine, 64),
		checkLen("recording_url", a.RecordingURL, 2000))
}

// SearchText is what q= matches.
func (a *Activity) SearchText() string { return SearchText(a.Subject, a.CommValue) }

// Ticket is a help-desk request.
type Ticket struct {
	Meta
	Title       string `json:"title"`
	Status      string `json:"status"`
	Priority    string `json:"priority"`
	Category    string `json:"category"`
	AccountID   int64  `json:"account_id"`
	ContactID   int64  `json:"contact_id"`
	Description string `json:"description"`
	Extra
}

// Normalize trims and validates.
func (t *Ticket) Normalize() error {
	trimAll(&t.Title, &t.Status, &t.Priority, &t.Category)
	if t.Title == "" {
		return Invalid("title", "required")
	}
	if t.Status == "" {
		t.Status = "Open"
	}
	if t.Priority == "" {
		t.Priority = "normal"
	}
	switch t.Priority {
	case "low", "normal", "high", "urgent":
	default:
		return Invalid("priority", "%q is not one of low, normal, high, urgent", t.Priority)
	}
	return firstErr(checkLen("title", t.Title, 255), checkLen("description", t.Description, 65000))
}

// SearchText is what q= matches.
func (t *Ticket) SearchText() string { return SearchText(t.Title) }

// Comment is a timeline comment on a record.
type Comment struct {
	ID        int64     `json:"id"`
	Entity    string    `json:"entity"`
	RecordID  int64     `json:"record_id"`
	Body      string    `json:"body"`
	AuthorID  int64     `json:"author_id"`
	CreatedAt time.Time `json:"created_at"`
}
