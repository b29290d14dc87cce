package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/textproto"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/httpx"
)

// Security of the connection to the SMTP server.
const (
	SecuritySSL      = "ssl"      // TLS from the first byte (port 465)
	SecuritySTARTTLS = "starttls" // plain, then STARTTLS, required (port 587)
	SecurityNone     = "none"     // no encryption: a relay on this host or LAN
)

// Server is an SMTP account: a saved smtp connection's settings or a
// step's inline "smtp" object.
type Server struct {
	Host     string `json:"host" auto:"required"`
	Port     int    `json:"port"`
	Security string `json:"security" auto:"enum=ssl|starttls|none"`
	// From is the sender, "addr" or "addr:Имя".
	From     string `json:"from" auto:"required"`
	Auth     bool   `json:"auth"`
	Login    string `json:"login"`
	Password string `json:"password" auto:"secret"`
}

// ServerOf reads a saved smtp connection's settings.
func ServerOf(s connection.Settings) Server {
	return Server{Host: s.String("host"), Port: int(s.Int("port")), Security: s.String("security"), From: s.String("from"),
		Auth: s.Bool("auth"), Login: s.String("login"), Password: s.String("password")}
}

// Problems checks the settings; field names are the settings' own.
func (sv Server) Problems() []connection.Problem {
	var ps []connection.Problem
	add := func(f, format string, args ...any) {
		ps = append(ps, connection.Problem{Field: f, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(sv.Host) == "" {
		add("host", "required")
	} else if strings.ContainsAny(sv.Host, " /:@") {
		add("host", "%q: a host name or an address without a port", sv.Host)
	}
	if sv.Port < 0 || sv.Port > 65535 {
		add("port", "must be between 1 and 65535")
	}
	switch sv.Security {
	case "", SecuritySSL, SecuritySTARTTLS, SecurityNone:
	default:
		add("security", "%q is not ssl, starttls or none", sv.Security)
	}
	if strings.TrimSpace(sv.From) == "" {
		add("from", "required")
	} else if _, err := ParseAddress(sv.From); err != nil {
		add("from", "%v", err)
	}
	if sv.Auth {
		if strings.TrimSpace(sv.Login) == "" {
			add("login", "required when auth is on")
		}
		if sv.Password == "" {
			add("password", "required when auth is on")
		}
	}
	return ps
}

// security returns the security, starttls when unset.
func (sv Server) security() string {
	if sv.Security == "" {
		return SecuritySTARTTLS
	}
	return sv.Security
}

// port returns the port, the security's usual one when unset.
func (sv Server) port() int {
	if sv.Port > 0 {
		return sv.Port
	}
	switch sv.security() {
	case SecuritySSL:
		return 465
	case SecurityNone:
		return 25
	}
	return 587
}

// Dialing is how the connector reaches SMTP servers.
type Dialing struct {
	// Dialer is the SSRF-guarded dialer (httpx.NewDialer with the
	// installation's outbound policy).
	Dialer *httpx.Dialer
	// TLS is the base TLS configuration (nil: the system's roots); tests
	// set RootCAs to trust their server's certificate.
	TLS *tls.Config
	// Timeout bounds connecting and each command; zero means 30 s.
	Timeout time.Duration
	// HELO is the name sent in EHLO; empty means "localhost".
	HELO string
}

// client makes a go-mail client for sv. Implicit TLS is done here, on
// the guarded connection: go-mail wraps only the connections it dials
// itself, not those of a dial function it is given.
func (d Dialing) client(sv Server) (*mail.Client, error) {
	if d.Dialer == nil {
		return nil, errors.New("smtp: no dialer: every connection must pass the outbound guard")
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	host := strings.TrimSpace(sv.Host)
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if d.TLS != nil {
		tc = d.TLS.Clone()
	}
	tc.ServerName = host
	security := sv.security()
	dial := d.Dialer.DialContext
	if security == SecuritySSL {
		dial = d.Dialer.DialTLS(tc)
	}
	opts := []mail.Option{mail.WithPort(sv.port()), mail.WithTimeout(timeout), mail.WithDialContextFunc(dial), mail.WithTLSConfig(tc)}
	if d.HELO != "" {
		opts = append(opts, mail.WithHELO(d.HELO))
	}
	switch security {
	case SecuritySTARTTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default: // ssl is already encrypted by dial; none is not to be
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if sv.Auth {
		// The strongest mechanism the server offers. Over an unencrypted
		// connection (security none, chosen by the admin for a relay)
		// PLAIN and LOGIN are asked for by name, as go-mail offers them
		// only over TLS otherwise.
		mechs := []mail.SMTPAuthType{mail.SMTPAuthSCRAMSHA256, mail.SMTPAuthSCRAMSHA1, mail.SMTPAuthCramMD5, mail.SMTPAuthPlain, mail.SMTPAuthLogin}
		if security == SecurityNone {
			mechs = append(mechs, mail.SMTPAuthPlainNoEnc, mail.SMTPAuthLoginNoEnc)
		}
		opts = append(opts, mail.WithOpportunisticSMTPAuth(mechs...), mail.WithUsername(sv.Login), mail.WithPassword(sv.Password))
	}
	c, err := mail.NewClient(host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return c, nil
}

// Check connects to the server, says EHLO, makes TLS and logs in as sv
// would to send, then says QUIT.
func (d Dialing) Check(ctx context.Context, sv Server) error {
	c, err := d.client(sv)
	if err != nil {
		return err
	}
	if err := c.DialWithContext(ctx); err != nil {
		return classify(fmt.Errorf("smtp: %s:%d: %w", sv.Host, sv.port(), err))
	}
	if err := c.Close(); err != nil {
		return classify(fmt.Errorf("smtp: %s:%d: QUIT: %w", sv.Host, sv.port(), err))
	}
	return nil
}

// classify marks what the SMTP conversation says of a failure: a refused
// login, a server without TLS or AUTH, a rate limit. Network and TLS
// failures are recognised by connection.Classify.
func classify(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var tp *textproto.Error
	if errors.As(err, &tp) {
		switch {
		case tp.Code == 535 || tp.Code == 534 || tp.Code == 530:
			return connection.Fail(connection.ClassCredentials, err)
		case tp.Code == 421 || tp.Code == 450 || tp.Code == 451 || tp.Code == 452:
			if strings.Contains(strings.ToLower(tp.Msg), "rate") || strings.Contains(strings.ToLower(tp.Msg), "too many") {
				return connection.Fail(connection.ClassRateLimited, err)
			}
		}
	}
	switch {
	case strings.Contains(msg, "SMTP AUTH failed"):
		return connection.Fail(connection.ClassCredentials, err)
	case strings.Contains(msg, "does not support STARTTLS"):
		return connection.Fail(connection.ClassTLS, err)
	case strings.Contains(msg, "does not support SMTP AUTH"), strings.Contains(msg, "AuthNotSupported"), strings.Contains(msg, "not supported by server"):
		return connection.Fail(connection.ClassAccount, err)
	case strings.Contains(msg, "tls: "), strings.Contains(msg, "x509: "):
		return connection.Fail(connection.ClassTLS, err)
	}
	return err
}

// ConnectionType is the smtp connection type.
func ConnectionType(d Dialing) connection.Type {
	return connection.Type{
		Name: "smtp",
		Fields: []connection.Field{
			{Name: "host", Type: connection.String, Required: true},
			{Name: "port", Type: connection.Integer},
			{Name: "security", Type: connection.String, Enum: []string{SecuritySSL, SecuritySTARTTLS, SecurityNone}, Default: SecuritySTARTTLS},
			{Name: "from", Type: connection.String, Required: true},
			{Name: "auth", Type: connection.Boolean, Default: true},
			{Name: "login", Type: connection.String},
			{Name: "password", Type: connection.String, Secret: true},
		},
		Validate: func(s connection.Settings) []connection.Problem { return ServerOf(s).Problems() },
		Check:    func(ctx context.Context, s connection.Settings) error { return d.Check(ctx, ServerOf(s)) },
	}
}
