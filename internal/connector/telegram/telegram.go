// Package telegram is Telegram as a channel of messages with clients
// (issue 23): a bot, saved as a connection of type "telegram", whose
// private chats become messages on leads and contacts, and whose replies
// are written on the record's card. Updates come by webhook
// (POST /hooks/telegram/{connection_id}, checked against the
// X-Telegram-Bot-Api-Secret-Token header) or, on a server without a
// public address, by long polling (getUpdates) under a lease, so that one
// instance polls a bot at a time.
package telegram

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/store"
)

//go:embed messages/*.json
var messages embed.FS

// Names of the connection type, its settings and the integration that
// writes what the bot receives.
const (
	Type          = "telegram"
	SetToken      = "bot_token"
	SetSecret     = "webhook_secret"
	SetPolling    = "polling"
	SetAPIURL     = "api_url"
	SetAssignedTo = "assigned_by_id"
	Integration   = "telegram"
	// System is the external-id system of a lead's or contact's Telegram
	// user id (one id across bots).
	System = "telegram"
	// HookPrefix is where the webhooks come: HookPrefix + connection id.
	HookPrefix = "/hooks/telegram/"
)

// Deps is what the connector works with.
type Deps struct {
	Store *store.Store
	Conns *connection.Store
	DB    *db.DB
	// HTTP is the SSRF-guarded client (httpx.NewOutboundClient).
	HTTP *http.Client
	Log  *slog.Logger
	Now  func() time.Time
	// Instance names this process in the polling lease.
	Instance string
	// BaseURL is how Telegram reaches this server (https only): the
	// webhooks of bots that do not poll are set to it.
	BaseURL string
}

// Service receives and sends a bot's messages.
type Service struct {
	d    Deps
	msgs *i18n.Catalog

	mu   sync.Mutex
	stop func()
	wg   sync.WaitGroup
}

// New returns the service.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Conns == nil || d.DB == nil || d.HTTP == nil {
		return nil, errors.New("telegram: Deps.Store, Conns, DB and HTTP are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Instance == "" {
		d.Instance = fmt.Sprintf("obmen-%d", time.Now().UnixNano())
	}
	msgs := i18n.New()
	if err := msgs.Add(messages, "messages"); err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	return &Service{d: d, msgs: msgs}, nil
}

// Register adds the connection type.
func Register(conns *connection.Registry, hc *http.Client) error {
	if err := conns.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("telegram: %w", err)
	}
	return conns.Add(ConnectionType(hc))
}

// ConnectionType is the "telegram" connection: a bot's token (from
// @BotFather), the webhook's secret token, and polling for a server that
// Telegram cannot reach.
func ConnectionType(hc *http.Client) connection.Type {
	return connection.Type{
		Name:    Type,
		Journal: "message",
		Fields: []connection.Field{
			{Name: SetToken, Type: connection.String, Required: true, Secret: true},
			{Name: SetSecret, Type: connection.String, Secret: true},
			{Name: SetPolling, Type: connection.Boolean, Default: false},
			{Name: SetAssignedTo, Type: connection.Integer},
			{Name: SetAPIURL, Type: connection.String},
		},
		Validate: func(s connection.Settings) []connection.Problem {
			var ps []connection.Problem
			if tok := s.String(SetToken); tok != "" && !validToken(tok) {
				ps = append(ps, connection.Problem{Field: SetToken, Message: "not a bot token such as 123456:ABC-DEF… (from @BotFather)"})
			}
			if sec := s.String(SetSecret); sec != "" && !validSecret(sec) {
				ps = append(ps, connection.Problem{Field: SetSecret, Message: "1 to 256 characters A-Z, a-z, 0-9, _ and -"})
			}
			if !s.Bool(SetPolling) && s.String(SetSecret) == "" {
				ps = append(ps, connection.Problem{Field: SetSecret, Message: "required for the webhook (or turn polling on)"})
			}
			return append(ps, connection.CheckBaseURL(SetAPIURL, s.String(SetAPIURL), DefaultBase)...)
		},
		Check: func(ctx context.Context, s connection.Settings) error {
			c := clientOf(s, hc)
			_, err := c.GetMe(ctx)
			var ae *APIError
			if errors.As(err, &ae) {
				switch ae.Code {
				case 401, 404:
					return connection.Fail(connection.ClassCredentials, err)
				case 429:
					return connection.Fail(connection.ClassRateLimited, err)
				}
			}
			return err
		},
	}
}

func clientOf(s connection.Settings, hc *http.Client) *Client {
	return &Client{Base: connection.BaseURL(s.String(SetAPIURL), DefaultBase), Token: s.String(SetToken), HTTP: hc}
}

// validToken: "<bot id>:<35 characters>".
func validToken(t string) bool {
	id, key, ok := strings.Cut(t, ":")
	if !ok || id == "" || len(key) < 20 || len(t) > 100 {
		return false
	}
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return false
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// validSecret is what setWebhook's secret_token allows.
func validSecret(s string) bool {
	if len(s) == 0 || len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// bot is an open telegram connection.
type bot struct {
	conn connection.Connection
	set  connection.Settings
	c    *Client
}

func (s *Service) open(ctx context.Context, id int64) (bot, error) {
	conn, set, err := connector.Open(ctx, s.d.Conns, id, Type)
	if err != nil {
		return bot{}, err
	}
	return bot{conn: conn, set: set, c: clientOf(set, s.d.HTTP)}, nil
}

// t is a message in Russian, the language of the users' records.
func (s *Service) t(key string, args ...any) string { return s.msgs.Tf(i18n.Ru, key, args...) }

// explain is a send's failure in the user's words, for the message.
func (s *Service) explain(err error) (text, code string) {
	var ae *APIError
	if errors.As(err, &ae) {
		code = strconv.Itoa(ae.Code)
		switch {
		case ae.Code == 401 || ae.Code == 404:
			return s.t("telegram.error.401"), code
		case ae.Code == 403:
			return s.t("telegram.error.403"), code
		case ae.Code == 429:
			return s.t("telegram.error.429", int(ae.RetryAfter/time.Second)), code
		case ae.Code == 400 && strings.Contains(strings.ToLower(ae.Description), "chat not found"):
			return s.t("telegram.error.chat_not_found"), code
		}
		return s.t("telegram.error.other", ae.Code, ae.Description), code
	}
	k := connector.Undelivered(err)
	return s.t("telegram.error." + k), k
}
