package telephony

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
)

// IntegrationTelephony names the changes the providers' notifications make.
const IntegrationTelephony = "telephony"

// Call directions.
const (
	DirectionIn  = "in"
	DirectionOut = "out"
)

// Call is what a provider's notifications told of one call so far; a
// notification is a Call of the fields it tells (the rest zero). Merging
// only ever adds: a field once told stays, the state only moves on
// (ringing → talking → answered or missed), so a notification sent again,
// or late, changes nothing.
type Call struct {
	// ID is the provider's id of the call (Zadarma's pbx_call_id, Mango's
	// entry_id, Asterisk's UniqueID).
	ID        string `json:"id"`
	Direction string `json:"direction,omitempty"`
	// From and To are the numbers as the provider gave them.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Line is the manager's extension (or the line's number when no
	// extension took the call).
	Line      string    `json:"line,omitempty"`
	Start     time.Time `json:"start,omitzero"`
	Status    string    `json:"status,omitempty"`
	Duration  int64     `json:"duration,omitempty"`
	Recording string    `json:"recording,omitempty"`
}

var statusRank = map[string]int{"": 0, crm.CallRinging: 1, crm.CallTalking: 2, crm.CallAnswered: 3, crm.CallMissed: 3}

// Ended reports whether the call is over.
func (c Call) Ended() bool { return statusRank[c.Status] == 3 }

// Merge is c with what n tells added.
func (c Call) Merge(n Call) Call {
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&c.ID, n.ID)
	set(&c.Direction, n.Direction)
	set(&c.From, n.From)
	set(&c.To, n.To)
	set(&c.Line, n.Line)
	if c.Start.IsZero() || (!n.Start.IsZero() && n.Start.Before(c.Start)) {
		c.Start = n.Start
	}
	if statusRank[n.Status] > statusRank[c.Status] {
		c.Status = n.Status
	}
	c.Duration = max(c.Duration, n.Duration)
	set(&c.Recording, n.Recording)
	return c
}

// customer is the customer's number: the caller's of an incoming call,
// the called one's of an outgoing call.
func (c Call) customer() string {
	if c.Direction == DirectionOut {
		return c.To
	}
	return c.From
}

// Result is what a notification did.
type Result struct {
	ActivityID int64
	// Changed: the notification told something new (false: a repeat).
	Changed bool
	Created bool
}

// Calls turns the providers' notifications into call activities.
type Calls struct {
	d Deps

	// The AMI listeners (amievents.go).
	mu        sync.Mutex
	stop      context.CancelFunc
	wg        sync.WaitGroup
	listeners map[int64]*listener
	wake      chan struct{}
}

// settings of a connection that the notifications read.
type callSettings struct {
	// CreateLeads: an incoming call from a number no contact, company or
	// lead has makes a lead.
	CreateLeads bool
}

func callSettingsOf(s connection.Settings) callSettings {
	cl := true
	if v, ok := s["create_leads"].(bool); ok {
		cl = v
	}
	return callSettings{CreateLeads: cl}
}

// Ingest records a notification of connection conn: it makes the call's
// activity, or brings it up to date, in one write with its change event
// and the merged call, committed before it returns. A repeat changes
// nothing and makes no event.
func (cs *Calls) Ingest(ctx context.Context, conn connection.Connection, set connection.Settings, n Call) (Result, error) {
	n.ID = strings.TrimSpace(n.ID)
	if n.ID == "" {
		return Result{}, errors.New("telephony: the notification names no call")
	}
	if len(n.ID) > 200 {
		return Result{}, errors.New("telephony: the call's id is longer than 200 characters")
	}
	opts := callSettingsOf(set)
	var res Result
	try := func() error {
		res = Result{}
		return cs.d.Store.Write(ctx, crm.Actor{Integration: IntegrationTelephony}, func(t *store.Tx) error {
			var actID int64
			var raw string
			var old Call
			err := t.QueryRow("SELECT activity_id, state FROM telephony_call_log WHERE connection_id = $1 AND call_id = $2", conn.ID, n.ID).
				Scan(&actID, &raw)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return fmt.Errorf("telephony: call %s: %w", n.ID, err)
			default:
				if err := json.Unmarshal([]byte(raw), &old); err != nil {
					return fmt.Errorf("telephony: call %s: stored state: %w", n.ID, err)
				}
			}
			cur := old.Merge(n)
			if actID != 0 && cur == old {
				res.ActivityID = actID
				return nil
			}
			state, err := json.Marshal(cur)
			if err != nil {
				return err
			}
			now := cs.d.Now().UnixMicro()
			if actID == 0 {
				a, err := cs.newActivity(ctx, t, conn, opts, cur)
				if err != nil {
					return err
				}
				if err := t.AddActivity(&a); err != nil {
					return fmt.Errorf("telephony: call %s: %w", n.ID, err)
				}
				actID, res.Created = a.ID, true
				if _, err := t.Exec("INSERT INTO telephony_call_log (connection_id, call_id, activity_id, state, updated_at) VALUES ($1, $2, $3, $4, $5)",
					conn.ID, n.ID, actID, string(state), now); err != nil {
					return fmt.Errorf("telephony: call %s: %w", n.ID, err)
				}
			} else {
				// The line often comes after the first notification (Zadarma's
				// NOTIFY_INTERNAL after NOTIFY_START): the manager it names
				// takes an activity nobody has yet.
				user := int64(0)
				if cur.Line != old.Line {
					if user, err = userByLine(t, cur.Line); err != nil {
						return err
					}
				}
				if _, err := t.UpdateActivity(actID, func(a *crm.Activity) error {
					fill(a, cur)
					if a.AssignedByID == 0 {
						a.AssignedByID = user
					}
					return nil
				}); err != nil {
					if errors.Is(err, store.ErrNotFound) {
						// The activity was deleted: the call's news goes nowhere.
						res.ActivityID = actID
						return nil
					}
					return fmt.Errorf("telephony: call %s: activity %d: %w", n.ID, actID, err)
				}
				if _, err := t.Exec("UPDATE telephony_call_log SET state = $1, updated_at = $2 WHERE connection_id = $3 AND call_id = $4",
					string(state), now, conn.ID, n.ID); err != nil {
					return fmt.Errorf("telephony: call %s: %w", n.ID, err)
				}
			}
			res.ActivityID, res.Changed = actID, true
			return nil
		})
	}
	err := try()
	if err != nil && db.IsUniqueViolation(err) {
		// Two notifications of a new call at once (PostgreSQL): the other
		// made the activity; this one now updates it.
		err = try()
	}
	return res, err
}

// fill puts the call into its activity.
func fill(a *crm.Activity, c Call) {
	a.Kind = crm.ActivityCall
	a.Direction = c.Direction
	a.CallFrom, a.CallTo, a.CallLine = c.From, c.To, c.Line
	a.CallStatus, a.CallDuration, a.RecordingURL = c.Status, c.Duration, c.Recording
	if p := c.customer(); p != "" {
		if n, ok := crm.NormalizePhone(p); ok {
			a.CommValue = n
		} else {
			a.CommValue = p
		}
	}
	if !c.Start.IsZero() {
		st := c.Start
		a.StartAt = &st
		if c.Ended() {
			end := st.Add(time.Duration(c.Duration) * time.Second)
			a.EndAt = &end
		}
	}
	a.Done = c.Ended()
	a.Subject = subject(c, a.CommValue)
	if c.Status == crm.CallMissed {
		a.Priority = "high"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s → %s", orDash(c.From), orDash(c.To))
	if c.Line != "" {
		fmt.Fprintf(&b, "\nЛиния / добавочный: %s", c.Line)
	}
	if c.Ended() {
		fmt.Fprintf(&b, "\nДлительность: %d с", c.Duration)
	}
	if c.Recording != "" {
		fmt.Fprintf(&b, "\nЗапись: %s", c.Recording)
	}
	a.Description = b.String()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// subject is the activity's title, in Russian like the rest of the CRM's
// data the users see.
func subject(c Call, who string) string {
	switch {
	case c.Status == crm.CallMissed && c.Direction == DirectionOut:
		return "Неотвеченный исходящий звонок " + who
	case c.Status == crm.CallMissed:
		return "Пропущенный звонок " + who
	case c.Direction == DirectionOut:
		return "Исходящий звонок " + who
	}
	return "Входящий звонок " + who
}

// newActivity is the activity of a call seen for the first time: bound to
// the contact, company or lead with the customer's number (a new lead
// for an unknown caller when the connection says so), assigned to the
// user whose internal number is the line.
func (cs *Calls) newActivity(ctx context.Context, t *store.Tx, conn connection.Connection, opts callSettings, c Call) (crm.Activity, error) {
	var a crm.Activity
	fill(&a, c)
	user, err := userByLine(t, c.Line)
	if err != nil {
		return a, err
	}
	a.AssignedByID = user
	a.ExternalIDs = map[string]string{"telephony:" + fmt.Sprint(conn.ID): c.ID}
	phone := a.CommValue
	if phone == "" {
		return a, nil
	}
	entity, id, err := ownerByPhone(t, phone)
	if err != nil {
		return a, err
	}
	if id == 0 && opts.CreateLeads && c.Direction != DirectionOut {
		l := crm.Lead{Title: "Звонок с " + phone, SourceID: "CALL", SourceDescription: conn.Name}
		l.Phones = []crm.Comm{{Value: phone, ValueType: "WORK"}}
		l.AssignedByID = user
		if err := t.AddLead(&l); err != nil {
			return a, fmt.Errorf("telephony: a lead for %s: %w", phone, err)
		}
		entity, id = store.EntityLead, l.ID
	}
	if id != 0 {
		a.OwnerType, a.OwnerID = entity, id
	}
	return a, nil
}

// ownerByPhone is the oldest live contact with the number, else company,
// else lead.
func ownerByPhone(t *store.Tx, phone string) (string, int64, error) {
	key := crm.PhoneKey(phone)
	for _, e := range []struct{ entity, table string }{{store.EntityContact, "contacts"}, {store.EntityAccount, "accounts"}, {store.EntityLead, "leads"}} {
		var id int64
		err := t.QueryRow(`SELECT r.id FROM `+e.table+` r WHERE r.deleted_at = 0 AND r.id IN
			(SELECT record_id FROM comms WHERE kind = $1 AND normalized = $2 AND entity = $3) ORDER BY r.id LIMIT 1`,
			crm.KindPhone, key, e.entity).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return "", 0, fmt.Errorf("telephony: find a %s by phone: %w", e.entity, err)
		}
		return e.entity, id, nil
	}
	return "", 0, nil
}

// userByLine is the active user whose profile's internal number is the
// line, 0 when none or several.
func userByLine(t *store.Tx, line string) (int64, error) {
	line = strings.TrimSpace(line)
	if line == "" {
		return 0, nil
	}
	rows, err := t.Query(`SELECT p.user_id, p.profile FROM user_profiles p JOIN users u ON u.id = p.user_id WHERE u.active = TRUE`)
	if err != nil {
		return 0, fmt.Errorf("telephony: users' internal numbers: %w", err)
	}
	defer rows.Close()
	var found int64
	for rows.Next() {
		var id int64
		var raw string
		if err := rows.Scan(&id, &raw); err != nil {
			return 0, fmt.Errorf("telephony: users' internal numbers: %w", err)
		}
		var p struct {
			Internal string `json:"internal_phone"`
		}
		if json.Unmarshal([]byte(raw), &p) != nil || strings.TrimSpace(p.Internal) != line {
			continue
		}
		if found != 0 {
			return 0, nil
		}
		found = id
	}
	return found, rows.Err()
}
