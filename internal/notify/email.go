package notify

import (
	"context"
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/obmen/obmen/internal/httpx"
)

// Email sends notifications as plain-text letters through the configured
// SMTP server (go-mail: STARTTLS, implicit TLS and SMTP AUTH done right,
// which net/smtp leaves to us).
type Email struct {
	Host     string
	Port     int    // 587 unless set
	TLS      string // "starttls" (default: required), "tls" (implicit, port 465), "none" (a local relay)
	Username string // empty: no AUTH
	Password string
	From     string // the sender's address, "Обмен <crm@example.ru>" or a bare address
	// PublicURL, when set, makes the letter link to the record.
	PublicURL string
	Timeout   time.Duration
	// Domain is the right-hand side of the letters' Message-IDs.
	Domain string
	// Dialer connects to the server. Nil: the guarded dialer that trusts
	// Host, which the operator configured (a relay on this host or LAN).
	Dialer *httpx.Dialer
	// TLSConfig is the base TLS configuration (nil: the system's roots);
	// tests set RootCAs to trust their server.
	TLSConfig *tls.Config
}

// messageID is the same for every attempt at one notification, so that a
// letter sent twice after all (the server took it, the connection broke
// before its answer) is one letter to the mail client.
func (e *Email) messageID(n Notification) string {
	domain := e.Domain
	if domain == "" {
		domain = "obmen.local"
		if i := strings.LastIndex(e.From, "@"); i >= 0 {
			domain = strings.Trim(e.From[i+1:], "> ")
		}
	}
	return "notify-" + strconv.FormatInt(n.ID, 10) + "@" + domain
}

// Send sends the notification to the address.
func (e *Email) Send(ctx context.Context, to string, n Notification) error {
	m := mail.NewMsg()
	if err := m.From(e.From); err != nil {
		return fmt.Errorf("notify: e-mail: sender %q: %w", e.From, err)
	}
	if err := m.To(to); err != nil {
		return fmt.Errorf("notify: e-mail: recipient %q: %w", to, err)
	}
	m.Subject(n.Title)
	m.SetMessageIDWithValue(e.messageID(n))
	m.SetDate()
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	body := n.Title
	if n.Body != "" {
		body += "\n\n" + n.Body
	}
	if e.PublicURL != "" {
		body += "\n\n" + strings.TrimRight(e.PublicURL, "/") + n.Link()
	}
	body += "\n\n-- \nОбмен: настройте уведомления на странице «Настройки».\n"
	m.SetBodyString(mail.TypeTextPlain, body)

	port := e.Port
	if port == 0 {
		port = 587
	}
	timeout := e.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	dialer := e.Dialer
	if dialer == nil {
		dialer = httpx.NewDialer(httpx.OutboundPolicy{AllowHosts: []string{e.Host}, ConnectTimeout: timeout})
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if e.TLSConfig != nil {
		tc = e.TLSConfig.Clone()
	}
	tc.ServerName = e.Host
	// go-mail wraps only the connections it dials itself in implicit TLS,
	// not those of a dial function it is given: the guarded dial does it.
	opts := []mail.Option{mail.WithPort(port), mail.WithTimeout(timeout), mail.WithTLSConfig(tc)}
	switch e.TLS {
	case "tls":
		opts = append(opts, mail.WithDialContextFunc(dialer.DialTLS(tc)), mail.WithTLSPolicy(mail.NoTLS))
	case "none":
		opts = append(opts, mail.WithDialContextFunc(dialer.DialContext), mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithDialContextFunc(dialer.DialContext), mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if e.Username != "" {
		// The strongest mechanism the server offers. go-mail's discovery
		// counts only the TLS it started itself, so the mechanisms are
		// named; over no TLS (a relay on this host or network, chosen by
		// the admin) PLAIN and LOGIN are asked for by name as well.
		mechs := []mail.SMTPAuthType{mail.SMTPAuthSCRAMSHA256, mail.SMTPAuthSCRAMSHA1, mail.SMTPAuthCramMD5, mail.SMTPAuthPlain, mail.SMTPAuthLogin}
		if e.TLS == "none" {
			mechs = append(mechs, mail.SMTPAuthPlainNoEnc, mail.SMTPAuthLoginNoEnc)
		}
		opts = append(opts, mail.WithOpportunisticSMTPAuth(mechs...), mail.WithUsername(e.Username), mail.WithPassword(e.Password))
	}
	c, err := mail.NewClient(e.Host, opts...)
	if err != nil {
		return fmt.Errorf("notify: e-mail: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("notify: e-mail to %s via %s:%d: %w", to, e.Host, port, err)
	}
	return nil
}
