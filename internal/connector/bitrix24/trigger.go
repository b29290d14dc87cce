package bitrix24

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/httpx"
)

// TriggerEvent is the trigger of the portal's outgoing webhook: the
// portal posts its events to the bitrix24 connection's hook URL
// (/hooks/c/{token}), each becomes a run of the bundles on that
// connection with this trigger.
const TriggerEvent = "bitrix24.event"

// maxEventBody bounds an outgoing webhook's form: a few hundred bytes in
// practice.
const maxEventBody = 16 << 10

// readBackTimeout bounds the read of the changed record while the portal
// waits for the answer: past it the event is recorded without it.
const readBackTimeout = 10 * time.Second

// events are the outgoing webhook's events seed 002 names, with the
// entity each is about and the method that reads it back ("" for a
// delete: the record is gone).
var events = map[string]struct{ entity, get string }{
	"ONCRMDEALUPDATE":    {"deal", "crm.deal.get"},
	"ONCRMDEALDELETE":    {"deal", ""},
	"ONCRMCONTACTUPDATE": {"contact", "crm.contact.get"},
	"ONCRMCONTACTDELETE": {"contact", ""},
	"ONCRMCOMPANYUPDATE": {"company", "crm.company.get"},
	"ONCRMCOMPANYDELETE": {"company", ""},
	"ONCRMLEADUPDATE":    {"lead", "crm.lead.get"},
	"ONCRMLEADDELETE":    {"lead", ""},
	"ONCRMPRODUCTDELETE": {"product", ""},
}

// Event is one outgoing webhook call as the portal posts it
// (b24restdocs events: event, event_handler_id, data[FIELDS][ID], ts,
// auth[domain], auth[client_endpoint], auth[member_id],
// auth[application_token] …), form-encoded.
type Event struct {
	Name   string // ONCRMDEALUPDATE
	Entity string // deal
	ID     int64
	TS     string
	Domain string
	// Known: the event is one the connector takes; others are answered
	// and left alone.
	Known bool
	token string
	get   string
}

// ParseEvent reads an outgoing webhook's form. It does not check the
// token: CheckToken does.
func ParseEvent(body []byte) (Event, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return Event{}, fmt.Errorf("bitrix24: the event's form does not parse: %w", err)
	}
	ev := Event{Name: strings.ToUpper(strings.TrimSpace(form.Get("event"))), TS: form.Get("ts"),
		Domain: form.Get("auth[domain]"), token: form.Get("auth[application_token]")}
	if ev.Name == "" {
		return ev, fmt.Errorf("bitrix24: event: required, such as ONCRMDEALUPDATE")
	}
	e, ok := events[ev.Name]
	ev.Known, ev.Entity, ev.get = ok, e.entity, e.get
	if !ok {
		return ev, nil
	}
	raw := form.Get("data[FIELDS][ID]")
	ev.ID, err = strconv.ParseInt(raw, 10, 64)
	if err != nil || ev.ID <= 0 {
		return ev, fmt.Errorf("bitrix24: %s: data[FIELDS][ID] %q is not a record id", ev.Name, raw)
	}
	return ev, nil
}

// CheckToken compares the event's application token with the
// connection's app_token in constant time; an empty app_token takes no
// events.
func (ev Event) CheckToken(appToken string) bool {
	if appToken == "" || ev.token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(ev.token), []byte(appToken)) == 1
}

// Key is the event's run key: the portal's repeat of one call (same
// event, record and second) is one run.
func (ev Event) Key() string {
	return ev.Name + ":" + strconv.FormatInt(ev.ID, 10) + ":" + ev.TS
}

// Trigger is the kind bitrix24.event.
func (d Deps) Trigger() automation.TriggerKind {
	str := func(n string) automation.Field { return automation.Field{Name: n, Type: "string"} }
	return automation.TriggerKind{Type: TriggerEvent, Group: Group, Connection: Type,
		Data: []automation.Field{str("event"), str("entity"), {Name: "id", Type: "integer"}, str("ts"), str("domain"),
			{Name: "record", Type: "object"}, str("read_error")},
		Validate: func(spec automation.TriggerSpec) []automation.Problem {
			if spec.Connection == 0 {
				return []automation.Problem{{Field: "trigger.connection", Message: "required: the Bitrix24 connection"}}
			}
			return nil
		},
		Push: d.push,
	}
}

// push takes one outgoing webhook call: the token is checked (401
// otherwise, journalled by the engine on the connection's bundles), the
// changed record read back with crm.*.get, and the item returned is made
// a durable run by the engine before the portal is answered. A read the
// portal refuses or delays (its limits) is not retried here: the event is
// recorded with read_error, so nothing is lost while the portal waits.
func (d Deps) push(ctx context.Context, req *automation.PushRequest) ([]automation.Item, error) {
	if req.Request.Method != http.MethodPost {
		return nil, httpx.Errorf(http.StatusMethodNotAllowed, "method_not_allowed", "", "the portal's events are POSTed")
	}
	if len(req.Body) > maxEventBody {
		return nil, httpx.Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "", "the body is over %d bytes", maxEventBody)
	}
	ev, err := ParseEvent(req.Body)
	p := PortalOf(connection.Settings(req.Settings))
	// Whether it is marked broken is not known here: a read back that
	// succeeds asks (MarkWorking reads before it writes).
	p.ConnID, p.Broken = req.Connection, true
	// The token first: a caller without it learns nothing of the form.
	if !ev.CheckToken(p.AppToken) {
		return nil, httpx.Errorf(http.StatusUnauthorized, "invalid_token", "auth[application_token]",
			"the application token is not the connection's app_token (event %q)", ev.Name)
	}
	if err != nil {
		return nil, httpx.Errorf(http.StatusBadRequest, "invalid_event", "", "%v", err)
	}
	if !ev.Known {
		slog.InfoContext(ctx, "bitrix24: event not taken", "connection", req.Connection, "event", ev.Name)
		req.Reply = &automation.PushReply{ContentType: "application/json", Body: []byte(`{"result":"ignored"}`)}
		return nil, nil
	}
	data := map[string]any{"event": ev.Name, "entity": ev.Entity, "id": ev.ID, "ts": ev.TS, "domain": ev.Domain, "record": nil}
	if ev.get != "" {
		rec, err := d.readBack(ctx, p, ev)
		if err != nil {
			data["read_error"] = err.Error()
		} else {
			data["record"] = rec
		}
	}
	return []automation.Item{{Key: ev.Key(), Data: data, OrderKey: "bitrix24:" + ev.Entity + ":" + strconv.FormatInt(ev.ID, 10)}}, nil
}

// readBack reads the changed record once, without waiting out the
// portal's limits.
func (d Deps) readBack(ctx context.Context, p Portal, ev Event) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, readBackTimeout)
	defer cancel()
	c := d.Client(p)
	c.MaxAttempts = 1
	a, err := c.Call(ctx, ev.get, map[string]any{"id": ev.ID})
	if err != nil {
		var be *Error
		if errors.As(err, &be) && be.Code == "NOT_FOUND" {
			return nil, fmt.Errorf("bitrix24: %s %d: not found in the portal", ev.get, ev.ID)
		}
		return nil, err
	}
	var rec map[string]any
	if err := json.Unmarshal(a.Result, &rec); err != nil {
		return nil, fmt.Errorf("bitrix24: %s %d: %s is not a record", ev.get, ev.ID, snippet(a.Result))
	}
	return rec, nil
}
