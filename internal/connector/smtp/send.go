package smtp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
)

//go:embed messages/*.json
var messages embed.FS

// Action names and the connection type.
const (
	ActionSend = "email.send"
	TypeSMTP   = "smtp"
	// GroupEmail is the actions' group in the editor's list.
	GroupEmail = "email"
)

// Results of email.send, as the seed names them.
const (
	ResultOK    = "OK"
	ResultError = "ERROR"
)

// Deps is what the connector works with.
type Deps struct {
	Dialing Dialing
	// HTTP fetches attachments by URL: the SSRF-guarded client of
	// httpx.NewOutboundClient.
	HTTP *http.Client
	// Conns are the saved connections (smtp_account, connection).
	Conns *connection.Store
	// DB keeps what was sent under each step's key.
	DB *db.DB
	// Store reads the files Obmen keeps (a lead's files); nil: none.
	Store *store.Store
	Now   func() time.Time
}

// Register adds the smtp connection type to conns and email.send, with
// their labels, to reg.
func Register(conns *connection.Registry, reg *automation.Registry, d Deps) error {
	if d.Dialing.Dialer == nil || d.HTTP == nil || d.Conns == nil || d.DB == nil {
		return errors.New("smtp: Deps.Dialing.Dialer, HTTP, Conns and DB are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if err := conns.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if err := conns.Add(ConnectionType(d.Dialing)); err != nil {
		return err
	}
	if err := reg.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	return reg.Add(SendAction(d))
}

// Recipients is a list of addresses ("addr" or "addr:Имя"), given as a
// list or as one text separated by commas or semicolons.
type Recipients []string

// UnmarshalJSON takes a list of texts or one text.
func (r *Recipients) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*r = Recipients{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("a list of addresses or a text of addresses separated by commas")
	}
	*r = list
	return nil
}

// SendInput is email.send's input.
type SendInput struct {
	To          Recipients   `json:"to" auto:"required"`
	Cc          Recipients   `json:"cc"`
	Bcc         Recipients   `json:"bcc"`
	Subject     string       `json:"subject"`
	Body        string       `json:"body"`
	BodyType    string       `json:"body_type" auto:"enum=text|html"`
	Attachments []Attachment `json:"attachments"`
	// SMTPAccount names a saved smtp connection; Connection is one by
	// id (a step's "connection" is the same); SMTP is an account given
	// in the step itself. Exactly one of them.
	SMTPAccount string  `json:"smtp_account"`
	Connection  int64   `json:"connection"`
	SMTP        *Server `json:"smtp"`
}

// SendOutput is email.send's output.
type SendOutput struct {
	// Result is OK when the server took the letter for at least one
	// recipient, ERROR when it took it for none.
	Result    string     `json:"result"`
	MessageID string     `json:"message_id,omitempty"`
	Accepted  []string   `json:"accepted"`
	Rejected  []Rejected `json:"rejected,omitempty"`
	// Warnings are problems that did not stop the letter: a recipient
	// refused, an attachment that could not be fetched.
	Warnings []string `json:"warnings,omitempty"`
	Error    string   `json:"error,omitempty"`
	// Repeated: the step had sent the letter on an earlier attempt; this
	// is that attempt's result, nothing was sent again.
	Repeated bool `json:"repeated,omitempty"`
}

// preview is what test mode shows.
type preview struct {
	Server      string   `json:"server"`
	From        string   `json:"from"`
	To          []string `json:"to"`
	Cc          []string `json:"cc,omitempty"`
	Bcc         []string `json:"bcc,omitempty"`
	Subject     string   `json:"subject"`
	BodyType    string   `json:"body_type"`
	Body        string   `json:"body"`
	Attachments []string `json:"attachments,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
}

type sendAction struct {
	desc automation.Description
	d    Deps
}

// SendAction is email.send.
func SendAction(d Deps) automation.Action {
	desc := automation.Define(automation.Spec{Name: ActionSend, Group: GroupEmail, Writes: true, Connection: TypeSMTP},
		func(context.Context, *automation.Call, SendInput) (SendOutput, error) { return SendOutput{}, nil }).Describe()
	return &sendAction{desc: desc, d: d}
}

func (a *sendAction) Describe() automation.Description { return a.desc }

func (a *sendAction) Run(ctx context.Context, c *automation.Call, input any) (any, error) {
	in, err := automation.DecodeInput[SendInput](input, a.desc)
	if err != nil {
		return nil, err
	}
	out, err := a.d.send(ctx, c, in)
	if err != nil {
		return nil, err
	}
	return automation.ToValue(out)
}

// letter is a checked input.
type letter struct {
	server        Server
	from          Address
	to, cc, bcc   []Address
	bad           []Rejected
	subject, body string
	html          bool
}

// prepare checks the input and finds the server.
func (d Deps) prepare(ctx context.Context, c *automation.Call, in SendInput) (letter, error) {
	var l letter
	var bad []Rejected
	var rb []Rejected
	seen := map[string]bool{}
	l.to, rb = parseRecipients(in.To, seen)
	bad = append(bad, rb...)
	l.cc, rb = parseRecipients(in.Cc, seen)
	bad = append(bad, rb...)
	l.bcc, rb = parseRecipients(in.Bcc, seen)
	bad = append(bad, rb...)
	l.bad = bad
	if len(l.to)+len(l.cc)+len(l.bcc) == 0 {
		if len(bad) > 0 {
			return l, automation.InputErrorf("to", "no valid recipient: %s", bad[0].Error)
		}
		return l, automation.InputErrorf("to", "required")
	}
	switch strings.ToLower(strings.TrimSpace(in.BodyType)) {
	case "", "text":
	case "html":
		l.html = true
	default:
		return l, automation.InputErrorf("body_type", "%q is not text or html", in.BodyType)
	}
	if strings.ContainsAny(in.Subject, "\r\n") {
		in.Subject = strings.Join(strings.Fields(in.Subject), " ")
	}
	l.subject, l.body = in.Subject, in.Body

	connID := in.Connection
	if c != nil && c.Connection != 0 {
		if connID != 0 && connID != c.Connection {
			return l, automation.InputErrorf("connection", "the step names connection %d, the input %d", c.Connection, connID)
		}
		connID = c.Connection
	}
	given := 0
	for _, set := range []bool{connID != 0, strings.TrimSpace(in.SMTPAccount) != "", in.SMTP != nil} {
		if set {
			given++
		}
	}
	switch {
	case given == 0:
		return l, automation.InputErrorf("smtp_account", "give a saved SMTP account (smtp_account or connection) or the server (smtp)")
	case given > 1:
		return l, automation.InputErrorf("smtp_account", "give only one of smtp_account, connection and smtp")
	}
	field := "smtp"
	switch {
	case in.SMTP != nil:
		l.server = *in.SMTP
	default:
		var conn connection.Connection
		var set connection.Settings
		var err error
		if connID != 0 {
			field = "connection"
			conn, set, err = d.Conns.Open(ctx, connID)
		} else {
			field = "smtp_account"
			conn, set, err = d.Conns.OpenByName(ctx, in.SMTPAccount)
		}
		if errors.Is(err, store.ErrNotFound) {
			if connID != 0 {
				return l, automation.InputErrorf(field, "no connection %d", connID)
			}
			return l, automation.InputErrorf(field, "no saved SMTP account named %q", in.SMTPAccount)
		}
		if err != nil {
			return l, err
		}
		if conn.Type != TypeSMTP {
			return l, automation.InputErrorf(field, "connection %q is a %s connection, not smtp", conn.Name, conn.Type)
		}
		l.server = ServerOf(set)
	}
	if ps := l.server.Problems(); len(ps) > 0 {
		f := field
		if field == "smtp" {
			f = "smtp." + ps[0].Field
		}
		return l, automation.InputErrorf(f, "%s: %s", ps[0].Field, ps[0].Message)
	}
	l.from, _ = ParseAddress(l.server.From)
	return l, nil
}

func (d Deps) send(ctx context.Context, c *automation.Call, in SendInput) (any, error) {
	l, err := d.prepare(ctx, c, in)
	if err != nil {
		return nil, err
	}
	var warnings []string
	for _, b := range l.bad {
		warnings = append(warnings, fmt.Sprintf("recipient %q left out: %s", b.Address, b.Error))
	}
	if c != nil && c.DryRun {
		p := preview{Server: fmt.Sprintf("%s:%d (%s)", l.server.Host, l.server.port(), l.server.security()), From: l.from.String(),
			To: strs(l.to), Cc: strs(l.cc), Bcc: strs(l.bcc), Subject: l.subject, BodyType: "text", Body: l.body, Warnings: warnings}
		if l.html {
			p.BodyType = "html"
		}
		for _, a := range in.Attachments {
			switch {
			case a.URL != "":
				p.Attachments = append(p.Attachments, a.URL)
			default:
				p.Attachments = append(p.Attachments, fmt.Sprintf("lead %d file %d", a.LeadID, a.FileID))
			}
		}
		return automation.Preview{DryRun: true, Would: "send an e-mail through " + p.Server, Send: p}, nil
	}

	key := ""
	if c != nil {
		key = c.Key()
		if !c.Fresh {
			if prev, ok, err := d.sent(ctx, key); err != nil {
				return nil, automation.Transient(err, 0)
			} else if ok {
				prev.Repeated = true
				return prev, nil
			}
		}
	}

	var files []file
	total := 0
	for i, a := range in.Attachments {
		f, err := d.fetch(ctx, a)
		if err == nil && total+len(f.data) > MaxAttachments {
			err = fmt.Errorf("the letter's attachments would be over %d MB", MaxAttachments>>20)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			warnings = append(warnings, fmt.Sprintf("attachment %d left out: %v", i+1, err))
			continue
		}
		total += len(f.data)
		files = append(files, f)
	}

	msgID := messageID(key, l.from.Addr)
	m, err := d.message(l, files, msgID)
	if err != nil {
		return nil, err
	}
	out := SendOutput{MessageID: msgID, Accepted: []string{}, Warnings: warnings, Rejected: l.bad}
	if err := d.deliver(ctx, l, m, &out); err != nil {
		if transient(err) {
			return nil, automation.Transient(fmt.Errorf("email.send via %s:%d: %w", l.server.Host, l.server.port(), err), 0)
		}
		out.Result, out.Error = ResultError, err.Error()
		logOf(c).Warn("email.send: not sent", "server", l.server.Host, "error", err)
		// Like every action of seed 003: the step fails (the journal and
		// POST /api/v1/actions say ERROR) and keeps the output, so that a
		// bundle going on after it ("on_error": "continue") reads
		// steps.<id>.result and steps.<id>.error.
		v, verr := automation.ToValue(out)
		if verr != nil {
			return nil, verr
		}
		return nil, automation.FailWith(fmt.Errorf("email.send via %s:%d: %w", l.server.Host, l.server.port(), err), v)
	}
	out.Result = ResultOK
	for _, w := range out.Warnings {
		logOf(c).Warn("email.send: "+w, "message_id", out.MessageID)
	}
	if key != "" {
		if err := d.record(ctx, key, out); err != nil {
			// The letter is sent; a retry would send it again under the
			// same Message-ID, which mail clients fold into one.
			logOf(c).Error("email.send: record the sent letter", "key", key, "error", err)
		}
	}
	return out, nil
}

// message builds the letter: UTF-8, names and subject in RFC 2047, an
// HTML body with its text alternative, the attachments.
func (d Deps) message(l letter, files []file, id string) (*mail.Msg, error) {
	m := mail.NewMsg(mail.WithCharset(mail.CharsetUTF8), mail.WithEncoding(mail.EncodingQP))
	if err := m.FromFormat(l.from.Name, l.from.Addr); err != nil {
		return nil, automation.InputErrorf("smtp.from", "%v", err)
	}
	for _, g := range []struct {
		list []Address
		add  func(name, addr string) error
		f    string
	}{{l.to, m.AddToFormat, "to"}, {l.cc, m.AddCcFormat, "cc"}, {l.bcc, m.AddBccFormat, "bcc"}} {
		for _, a := range g.list {
			if err := g.add(a.Name, a.Addr); err != nil {
				return nil, automation.InputErrorf(g.f, "%q: %v", a.Addr, err)
			}
		}
	}
	m.Subject(l.subject)
	m.SetMessageIDWithValue(id)
	m.SetDateWithValue(d.Now())
	m.SetUserAgent("Obmen")
	if l.html {
		m.SetBodyString(mail.TypeTextPlain, plainOf(l.body))
		m.AddAlternativeString(mail.TypeTextHTML, l.body)
	} else {
		m.SetBodyString(mail.TypeTextPlain, l.body)
	}
	for _, f := range files {
		if err := m.AttachReader(f.name, strings.NewReader(string(f.data)), mail.WithFileContentType(mail.ContentType(f.ctype))); err != nil {
			return nil, fmt.Errorf("smtp: attach %q: %w", f.name, err)
		}
	}
	return m, nil
}

// deliver speaks SMTP itself past the greeting, so that each recipient
// the server refuses is told apart from those it takes (go-mail gives up
// the whole letter at the first refused one).
func (d Deps) deliver(ctx context.Context, l letter, m *mail.Msg, out *SendOutput) error {
	cl, err := d.Dialing.client(l.server)
	if err != nil {
		return err
	}
	sc, err := cl.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return classify(err)
	}
	defer func() { _ = cl.CloseWithSMTPClient(sc) }()
	if err := sc.Mail("<" + l.from.Addr + ">"); err != nil {
		return classify(fmt.Errorf("MAIL FROM <%s>: %w", l.from.Addr, err))
	}
	var all []Address
	all = append(append(append(all, l.to...), l.cc...), l.bcc...)
	var temp error
	for _, a := range all {
		if err := sc.Rcpt("<" + a.Addr + ">"); err != nil {
			if isTemp(err) && temp == nil {
				temp = err
			}
			out.Rejected = append(out.Rejected, Rejected{Address: a.Addr, Error: err.Error()})
			out.Warnings = append(out.Warnings, fmt.Sprintf("recipient %s refused by the server: %v", a.Addr, err))
			continue
		}
		out.Accepted = append(out.Accepted, a.Addr)
	}
	if len(out.Accepted) == 0 {
		_ = sc.Reset()
		if temp != nil {
			return temp
		}
		return fmt.Errorf("the server refused every recipient: %s", out.Rejected[len(out.Rejected)-1].Error)
	}
	w, err := sc.Data()
	if err != nil {
		return classify(fmt.Errorf("DATA: %w", err))
	}
	if _, err := m.WriteTo(w); err != nil {
		_ = w.Close()
		return classify(fmt.Errorf("write the letter: %w", err))
	}
	if err := w.Close(); err != nil {
		return classify(fmt.Errorf("end of the letter: %w", err))
	}
	return nil
}

// transient tells a failure worth another attempt: the network, a 4xx
// answer. A refused login, a 5xx, a bad certificate are not.
func transient(err error) bool {
	if isTemp(err) {
		return true
	}
	switch connection.Classify(err) {
	case connection.ClassNetwork, connection.ClassRateLimited:
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isTemp(err error) bool {
	var tp *textproto.Error
	return errors.As(err, &tp) && tp.Code >= 400 && tp.Code < 500
}

// messageID is the same on every attempt of a step: a letter sent twice
// after all (the server took it, the answer was lost) is one letter to
// the mail client.
func messageID(key, from string) string {
	domain := "obmen.local"
	if i := strings.LastIndex(from, "@"); i >= 0 {
		domain = from[i+1:]
	}
	if key == "" {
		// No step (a direct call without a key): a random one.
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		return "obmen." + hex.EncodeToString(b) + "@" + domain
	}
	h := sha256.Sum256([]byte(key))
	return "obmen." + hex.EncodeToString(h[:12]) + "@" + domain
}

func strs(list []Address) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.String()
	}
	return out
}

func logOf(c *automation.Call) interface {
	Warn(string, ...any)
	Error(string, ...any)
} {
	if c != nil && c.Log != nil {
		return c.Log
	}
	return discard{}
}

type discard struct{}

func (discard) Warn(string, ...any)  {}
func (discard) Error(string, ...any) {}

// sent returns what the step with key sent, if it did.
func (d Deps) sent(ctx context.Context, key string) (SendOutput, bool, error) {
	var res string
	err := d.DB.Read.QueryRowContext(ctx, "SELECT result FROM email_sent WHERE idem_key = $1", key).Scan(&res)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return SendOutput{}, false, nil
		}
		return SendOutput{}, false, fmt.Errorf("smtp: sent letter %q: %w", key, err)
	}
	var out SendOutput
	if err := json.Unmarshal([]byte(res), &out); err != nil {
		return out, false, fmt.Errorf("smtp: sent letter %q: %w", key, err)
	}
	return out, true, nil
}

// record keeps what the step with key sent.
func (d Deps) record(ctx context.Context, key string, out SendOutput) error {
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return d.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO email_sent (idem_key, message_id, result, sent_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (idem_key) DO NOTHING`, key, out.MessageID, string(b), d.Now().UnixMicro())
		return err
	})
}
