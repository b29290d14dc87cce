package telephony

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/httpx"
)

// AsteriskAccount is an asterisk connection's settings: an AMI user
// (manager.conf) allowed to originate.
type AsteriskAccount struct {
	Host     string
	Port     int
	Username string
	Secret   string
	// Context is the dialplan context the customer's number is dialled
	// in once the manager answers.
	Context  string
	CallerID string
	// Channel is the manager's channel, {line} replaced by the line:
	// "PJSIP/{line}".
	Channel string
	// Line is the line rung when a step gives none.
	Line string
}

// AsteriskOf reads a saved asterisk connection's settings.
func AsteriskOf(s connection.Settings) AsteriskAccount {
	return AsteriskAccount{Host: s.String("host"), Port: int(s.Int("port")), Username: s.String("username"), Secret: s.String("secret"),
		Context: s.String("context"), CallerID: s.String("caller_id"), Channel: s.String("channel"), Line: s.String("line")}
}

func (a AsteriskAccount) port() int {
	if a.Port > 0 {
		return a.Port
	}
	return 5038
}

func (a AsteriskAccount) channel(line string) string {
	t := a.Channel
	if strings.TrimSpace(t) == "" {
		t = "PJSIP/{line}"
	}
	return strings.ReplaceAll(t, "{line}", line)
}

// Problems checks the settings.
func (a AsteriskAccount) Problems() []connection.Problem {
	var ps []connection.Problem
	add := func(f, format string, args ...any) {
		ps = append(ps, connection.Problem{Field: f, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(a.Host) == "" {
		add("host", "required")
	} else if strings.ContainsAny(a.Host, " /:@") {
		add("host", "%q: a host name or an address without a port", a.Host)
	}
	if a.Port < 0 || a.Port > 65535 {
		add("port", "must be between 1 and 65535")
	}
	if strings.TrimSpace(a.Username) == "" {
		add("username", "required")
	}
	if a.Secret == "" {
		add("secret", "required")
	}
	if strings.TrimSpace(a.Context) == "" {
		add("context", "required")
	}
	for f, v := range map[string]string{"username": a.Username, "secret": a.Secret, "context": a.Context, "caller_id": a.CallerID, "channel": a.Channel, "line": a.Line} {
		if strings.ContainsAny(v, "\r\n") {
			add(f, "must be one line")
		}
	}
	if a.Channel != "" && !strings.Contains(a.Channel, "{line}") {
		add("channel", "%q has no {line}", a.Channel)
	}
	return ps
}

// AMIDialing is how the connector reaches Asterisk.
type AMIDialing struct {
	Dialer  *httpx.Dialer
	Timeout time.Duration
}

// AMI orders callbacks through the Asterisk Manager Interface: Login,
// Originate of the manager's channel into Context at the customer's
// number, Logoff.
type AMI struct {
	Account AsteriskAccount
	Dialing AMIDialing
}

// amiConn is one AMI session.
type amiConn struct {
	c net.Conn
	r *bufio.Reader
}

func (a AMI) dial(ctx context.Context) (*amiConn, error) {
	if a.Dialing.Dialer == nil {
		return nil, errors.New("asterisk: no dialer: every connection must pass the outbound guard")
	}
	timeout := a.Dialing.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	addr := net.JoinHostPort(strings.TrimSpace(a.Account.Host), strconv.Itoa(a.Account.port()))
	c, err := a.Dialing.Dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("asterisk %s: %w", addr, err)
	}
	dl := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	_ = c.SetDeadline(dl)
	ac := &amiConn{c: c, r: bufio.NewReader(c)}
	banner, err := ac.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(banner, "Asterisk Call Manager/") {
		_ = c.Close()
		if err == nil {
			err = fmt.Errorf("not an Asterisk manager interface: %q", strings.TrimSpace(banner))
			return nil, connection.Fail(connection.ClassAccount, fmt.Errorf("asterisk %s: %w", addr, err))
		}
		return nil, fmt.Errorf("asterisk %s: greeting: %w", addr, err)
	}
	if err := ac.do("Login", "login", [][2]string{{"Username", a.Account.Username}, {"Secret", a.Account.Secret}}); err != nil {
		_ = c.Close()
		var r *Refused
		if errors.As(err, &r) {
			r.Class = connection.ClassCredentials
		}
		return nil, err
	}
	return ac, nil
}

// do sends an action and reads its response (events in between are
// skipped); Response: Error is a *Refused with the Message.
func (ac *amiConn) do(action, id string, fields [][2]string) error {
	var b strings.Builder
	b.WriteString("Action: " + action + "\r\nActionID: " + id + "\r\n")
	for _, f := range fields {
		b.WriteString(f[0] + ": " + f[1] + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := ac.c.Write([]byte(b.String())); err != nil {
		return fmt.Errorf("asterisk %s: %w", action, err)
	}
	for {
		m, err := ac.read()
		if err != nil {
			return fmt.Errorf("asterisk %s: %w", action, err)
		}
		resp, ok := m["response"]
		if !ok || (m["actionid"] != "" && m["actionid"] != id) {
			continue // an event
		}
		switch strings.ToLower(resp) {
		case "success", "goodbye":
			return nil
		}
		msg := m["message"]
		if msg == "" {
			msg = "Response: " + resp
		}
		return &Refused{Provider: "asterisk", Message: msg, Class: connection.ClassOther}
	}
}

// read reads one message: "Key: value" lines up to a blank line.
func (ac *amiConn) read() (map[string]string, error) {
	m := map[string]string{}
	for {
		line, err := ac.r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		// Lines end in CRLF; a stray CR inside one is no part of a key.
		line = strings.ReplaceAll(strings.TrimRight(line, "\r\n"), "\r", "")
		if line == "" {
			if len(m) == 0 {
				continue
			}
			return m, nil
		}
		if len(m) > 256 {
			return nil, errors.New("a message of over 256 lines")
		}
		k, v, _ := strings.Cut(line, ":")
		m[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
}

func (ac *amiConn) close() {
	_ = ac.do("Logoff", "logoff", nil)
	_ = ac.c.Close()
}

// Callback originates the manager's channel; once answered, the call
// goes on in Context at the customer's number. The text is passed as the
// channel variable OBMEN_CALLBACK_TEXT for the dialplan to say. The id is
// the ActionID (the step's key hashed), which the OriginateResponse event
// and the CDR's userfield can be matched by.
func (a AMI) Callback(ctx context.Context, r Request) (string, error) {
	ac, err := a.dial(ctx)
	if err != nil {
		return "", err
	}
	defer ac.close()
	id := actionID(r.ID)
	fields := [][2]string{
		{"Channel", a.Account.channel(r.Line)},
		{"Context", a.Account.Context},
		{"Exten", r.Phone},
		{"Priority", "1"},
		{"Async", "true"},
		{"Timeout", "30000"},
	}
	if cid := strings.TrimSpace(a.Account.CallerID); cid != "" {
		fields = append(fields, [2]string{"CallerID", cid})
	}
	if r.Text != "" {
		fields = append(fields, [2]string{"Variable", "OBMEN_CALLBACK_TEXT=" + r.Text})
	}
	if err := ac.do("Originate", id, fields); err != nil {
		return "", err
	}
	return id, nil
}

func actionID(key string) string {
	if key == "" {
		return "obmen-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	h := sha256.Sum256([]byte(key))
	return "obmen-" + hex.EncodeToString(h[:12])
}

// Check logs in and off.
func (a AMI) Check(ctx context.Context) error {
	ac, err := a.dial(ctx)
	if err != nil {
		var r *Refused
		if errors.As(err, &r) {
			return connection.Fail(r.Class, err)
		}
		return err
	}
	ac.close()
	return nil
}

// AsteriskType is the asterisk connection type.
func AsteriskType(d AMIDialing) connection.Type {
	return connection.Type{
		Journal: "activity",
		Name:    TypeAsterisk,
		Fields: []connection.Field{
			{Name: "host", Type: connection.String, Required: true},
			{Name: "port", Type: connection.Integer, Default: int64(5038)},
			{Name: "username", Type: connection.String, Required: true},
			{Name: "secret", Type: connection.String, Required: true, Secret: true},
			{Name: "context", Type: connection.String, Required: true},
			{Name: "caller_id", Type: connection.String},
			{Name: "channel", Type: connection.String, Default: "PJSIP/{line}"},
			{Name: "line", Type: connection.String},
			{Name: "listen", Type: connection.Boolean, Default: false},
			{Name: "create_leads", Type: connection.Boolean, Default: true},
			{Name: "time_zone", Type: connection.String},
		},
		Validate: func(s connection.Settings) []connection.Problem {
			return append(AsteriskOf(s).Problems(), zoneProblems(s)...)
		},
		Check: func(ctx context.Context, s connection.Settings) error {
			return AMI{Account: AsteriskOf(s), Dialing: d}.Check(ctx)
		},
	}
}
