// Package telephony orders callbacks from a company's telephony provider
// (seed 003, "Обратный звонок"): Obmen has no PBX of its own; the action
// call.callback asks the provider, through an Adapter, to ring the
// manager's line first, say a text, then dial the customer. Each provider
// is a connection type (zadarma, asterisk, mango) with its own adapter.
package telephony

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

//go:embed messages/*.json
var messages embed.FS

// Names of the action, its group and the connection types.
const (
	ActionCallback = "call.callback"
	GroupCall      = "call"
	TypeZadarma    = "zadarma"
	TypeAsterisk   = "asterisk"
)

// Results of call.callback.
const (
	ResultOK    = "OK"
	ResultError = "ERROR"
)

// Request is one callback to order.
type Request struct {
	// Line is the extension, line or SIP number the provider rings first.
	Line string
	// Phone is the customer's number, E.164.
	Phone string
	// Text is said to the manager before the customer is dialled (the
	// providers that can say it; Zadarma's callback cannot).
	Text string
	// ID is the same on every attempt of a step (AMI's ActionID).
	ID string
}

// Adapter orders callbacks from one provider.
type Adapter interface {
	// Callback returns the provider's id of the call, a *Refused when
	// the provider answered no, or another error (the network, a
	// malformed answer) worth another attempt.
	Callback(ctx context.Context, r Request) (callID string, err error)
}

// Refused is the provider's no, with its message.
type Refused struct {
	Provider string
	Message  string
	// Class is the connection check's class of the refusal (credentials,
	// rate_limited, other).
	Class string
}

func (e *Refused) Error() string { return e.Provider + ": " + e.Message }

// Deps is what the connector works with.
type Deps struct {
	// HTTP is the SSRF-guarded client (httpx.NewOutboundClient).
	HTTP *http.Client
	// Dialer is the SSRF-guarded dialer (httpx.NewDialer) for AMI.
	Dialer *httpx.Dialer
	// Timeout bounds an AMI conversation; zero means 30 s.
	Timeout time.Duration
	Conns   *connection.Store
	// DB keeps the calls ordered under each step's key.
	DB  *db.DB
	Now func() time.Time
	// Store and Log serve the providers' notifications (NewCalls).
	Store *store.Store
	Log   *slog.Logger
	// AMIRescan is how often the AMI listeners look for changed asterisk
	// connections (0: 30 s); AMIPing how often a quiet AMI link is pinged
	// (0: 20 s).
	AMIRescan, AMIPing time.Duration
}

// Register adds the telephony connection types and call.callback.
func Register(conns *connection.Registry, reg *automation.Registry, d Deps) error {
	if d.HTTP == nil || d.Dialer == nil || d.Conns == nil || d.DB == nil {
		return errors.New("telephony: Deps.HTTP, Dialer, Conns and DB are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if err := conns.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("telephony: %w", err)
	}
	for _, t := range []connection.Type{ZadarmaType(d.HTTP), AsteriskType(d.dialing()), MangoType(d.HTTP)} {
		if err := conns.Add(t); err != nil {
			return err
		}
	}
	if err := reg.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("telephony: %w", err)
	}
	for _, k := range callTriggers() {
		if err := reg.AddTrigger(k); err != nil {
			return err
		}
	}
	return reg.Add(CallbackAction(d))
}

func (d Deps) dialing() AMIDialing { return AMIDialing{Dialer: d.Dialer, Timeout: d.Timeout} }

// adapter is the adapter of a saved connection.
func (d Deps) adapter(typ string, s connection.Settings) (Adapter, string, error) {
	switch typ {
	case TypeZadarma:
		z := ZadarmaOf(s)
		return Zadarma{Account: z, HTTP: d.HTTP}, "zadarma " + z.url(), nil
	case TypeMango:
		m := MangoOf(s)
		return Mango{Account: m, HTTP: d.HTTP}, "mango " + m.url(), nil
	case TypeAsterisk:
		a := AsteriskOf(s)
		return AMI{Account: a, Dialing: d.dialing()}, fmt.Sprintf("asterisk %s:%d", a.Host, a.port()), nil
	}
	return nil, "", fmt.Errorf("connection type %s is not a telephony provider", typ)
}

// CallbackInput is call.callback's input.
type CallbackInput struct {
	Phone string `json:"phone" auto:"required"`
	Line  string `json:"line"`
	Text  string `json:"text"`
	// Connection is the provider's saved connection by id (a step's
	// "connection" is the same); Account is one by name.
	Connection int64  `json:"connection"`
	Account    string `json:"account"`
}

// CallbackOutput is call.callback's output.
type CallbackOutput struct {
	Result string `json:"result"`
	CallID string `json:"call_id,omitempty"`
	Phone  string `json:"phone"`
	Error  string `json:"error,omitempty"`
	// Repeated: an earlier attempt of the step ordered the call; nothing
	// was ordered again.
	Repeated bool `json:"repeated,omitempty"`
}

type callbackAction struct {
	desc automation.Description
	d    Deps
}

// CallbackAction is call.callback.
func CallbackAction(d Deps) automation.Action {
	desc := automation.Define(automation.Spec{Name: ActionCallback, Group: GroupCall, Writes: true, Connection: TypeZadarma + "|" + TypeAsterisk + "|" + TypeMango},
		func(context.Context, *automation.Call, CallbackInput) (CallbackOutput, error) {
			return CallbackOutput{}, nil
		}).Describe()
	return &callbackAction{desc: desc, d: d}
}

func (a *callbackAction) Describe() automation.Description { return a.desc }

func (a *callbackAction) Run(ctx context.Context, c *automation.Call, input any) (any, error) {
	in, err := automation.DecodeInput[CallbackInput](input, a.desc)
	if err != nil {
		return nil, err
	}
	out, err := a.d.callback(ctx, c, in)
	if err != nil {
		return nil, err
	}
	return automation.ToValue(out)
}

func (d Deps) callback(ctx context.Context, c *automation.Call, in CallbackInput) (any, error) {
	if len(in.Phone) > crm.MaxPhoneLength {
		return nil, automation.InputErrorf("phone", "longer than %d characters", crm.MaxPhoneLength)
	}
	phone, ok := crm.NormalizePhone(in.Phone)
	if !ok {
		return nil, automation.InputErrorf("phone", "%q is not a phone number", in.Phone)
	}
	line := strings.TrimSpace(in.Line)
	if strings.ContainsAny(line, "\r\n") || len(line) > 64 {
		return nil, automation.InputErrorf("line", "%q is not a line, extension or SIP number", in.Line)
	}
	if strings.ContainsAny(in.Text, "\r\n") {
		in.Text = strings.Join(strings.Fields(in.Text), " ")
	}
	connID := in.Connection
	if c != nil && c.Connection != 0 {
		if connID != 0 && connID != c.Connection {
			return nil, automation.InputErrorf("connection", "the step names connection %d, the input %d", c.Connection, connID)
		}
		connID = c.Connection
	}
	var conn connection.Connection
	var set connection.Settings
	var err error
	field := "connection"
	switch {
	case connID != 0 && in.Account != "":
		return nil, automation.InputErrorf("account", "give only one of connection and account")
	case connID != 0:
		conn, set, err = d.Conns.Open(ctx, connID)
	case strings.TrimSpace(in.Account) != "":
		field = "account"
		conn, set, err = d.Conns.OpenByName(ctx, in.Account)
	default:
		return nil, automation.InputErrorf("connection", "give the telephony provider's saved connection (connection or account)")
	}
	if errors.Is(err, store.ErrNotFound) {
		if field == "account" {
			return nil, automation.InputErrorf(field, "no saved connection named %q", in.Account)
		}
		return nil, automation.InputErrorf(field, "no connection %d", connID)
	}
	if err != nil {
		return nil, err
	}
	ad, where, err := d.adapter(conn.Type, set)
	if err != nil {
		return nil, automation.InputErrorf(field, "connection %q: %v", conn.Name, err)
	}
	if line == "" {
		line = defaultLine(conn.Type, set)
	}
	if line == "" {
		return nil, automation.InputErrorf("line", "required: the line or extension the provider rings first")
	}
	req := Request{Line: line, Phone: phone, Text: in.Text}
	if c != nil && c.DryRun {
		return automation.Preview{DryRun: true, Would: "order a callback through " + where,
			Send: map[string]any{"line": line, "phone": phone, "text": in.Text}}, nil
	}
	key := ""
	if c != nil {
		key = c.Key()
		req.ID = key
		if !c.Fresh {
			if prev, ok, err := d.ordered(ctx, key); err != nil {
				return nil, automation.Transient(err, 0)
			} else if ok {
				prev.Repeated = true
				return prev, nil
			}
		}
	}
	id, err := ad.Callback(ctx, req)
	if err != nil {
		var r *Refused
		if !errors.As(err, &r) {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, automation.Transient(fmt.Errorf("call.callback through %s: %w", where, err), 0)
		}
		out := CallbackOutput{Result: ResultError, Phone: phone, Error: r.Message}
		if c != nil && c.Log != nil {
			c.Log.Warn("call.callback: refused", "provider", where, "error", r.Message)
		}
		v, verr := automation.ToValue(out)
		if verr != nil {
			return nil, verr
		}
		return nil, automation.FailWith(fmt.Errorf("call.callback through %s: %w", where, err), v)
	}
	out := CallbackOutput{Result: ResultOK, CallID: id, Phone: phone}
	if key != "" {
		if err := d.record(ctx, key, conn.Type, out); err != nil && c != nil && c.Log != nil {
			// The call is ordered; a retry would order it again.
			c.Log.Error("call.callback: record the ordered call", "key", key, "error", err)
		}
	}
	return out, nil
}

// defaultLine is the connection's own line, if it has one.
func defaultLine(typ string, s connection.Settings) string {
	if typ == TypeAsterisk {
		return strings.TrimSpace(s.String("line"))
	}
	return ""
}

func (d Deps) ordered(ctx context.Context, key string) (CallbackOutput, bool, error) {
	var res string
	err := d.DB.Read.QueryRowContext(ctx, "SELECT result FROM telephony_calls WHERE idem_key = $1", key).Scan(&res)
	if errors.Is(err, sql.ErrNoRows) {
		return CallbackOutput{}, false, nil
	}
	if err != nil {
		return CallbackOutput{}, false, fmt.Errorf("telephony: ordered call %q: %w", key, err)
	}
	var out CallbackOutput
	if err := json.Unmarshal([]byte(res), &out); err != nil {
		return out, false, fmt.Errorf("telephony: ordered call %q: %w", key, err)
	}
	return out, true, nil
}

func (d Deps) record(ctx context.Context, key, provider string, out CallbackOutput) error {
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return d.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO telephony_calls (idem_key, provider, call_id, result, called_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (idem_key) DO NOTHING`, key, provider, out.CallID, string(b), d.Now().UnixMicro())
		return err
	})
}
