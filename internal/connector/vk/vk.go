// Package vk is VK (ВКонтакте) as a channel of messages with clients
// (issue 23, seed 000 "Интеграция с социальными сетями"): a community,
// saved as a connection of type "vk", whose private messages become
// messages on leads and contacts, and whose replies are written on the
// record's card. Messages come through VK's Callback API
// (POST /hooks/vk/{connection_id}, checked against the secret key);
// replies go by messages.send with a random_id derived from our message
// id, so that a retry never sends twice. The card also imports the up to
// 20 newest messages not yet stored (messages.getHistory) and fills the
// record's empty fields from the client's profile (users.get).
package vk

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/store"
)

//go:embed messages/*.json
var messages embed.FS

// Names of the connection type, its settings and the integration that
// writes what the community receives.
const (
	Type = "vk"
	// SetGroupToken is the community's access key (Управление → Работа
	// с API → Ключи доступа), with the right to messages.
	SetGroupToken = "community_token"
	// SetUserToken is a user's access token: replies then go from that
	// person's profile (the seed's personal messages) and the profile
	// import reads what a community key cannot.
	SetUserToken = "user_token"
	SetGroupID   = "group_id"
	// SetConfirmation is the string the Callback API's confirmation
	// request must be answered with; SetSecret the secret key every
	// notification carries.
	SetConfirmation = "confirmation_code"
	SetSecret       = "secret_key"
	// SetSendAsUser sends replies with the user token.
	SetSendAsUser = "send_as_user"
	SetAssignedTo = "assigned_by_id"
	SetAPIURL     = "api_url"
	Integration   = "vk"
	// System is the external-id system of a lead's or contact's VK user
	// id.
	System = "vk"
	// HookPrefix is where the Callback API posts: HookPrefix + connection id.
	HookPrefix = "/hooks/vk/"
)

// Rate limits of the VK API: 20 requests a second with a community key,
// 3 with a user's token. VK counts the requests of each second, so the
// calls are spaced evenly (no burst: a bucket of 20 would let 39 through
// in the first second) with a margin: VK counts arrivals, and a request
// held up on its way (a busy machine, the network) arrives closer to the
// next one than it left — 16 and 2.5 a second leave 12 and 67 ms a gap.
var (
	GroupRate = httpx.NewLimiter(time.Second/16, 1)
	UserRate  = httpx.NewLimiter(time.Second*2/5, 1)
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
	// Buckets, when set, keeps the rate limits' buckets where every
	// instance sees them (one budget per token across instances).
	Buckets httpx.Buckets
	// Backoff is the first pause after VK's error 6 (tests: short).
	Backoff time.Duration
}

// Service receives and sends a community's messages.
type Service struct {
	d           Deps
	msgs        *i18n.Catalog
	group, user *httpx.Limiter
	loop        loop
}

// New returns the service.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Conns == nil || d.DB == nil || d.HTTP == nil {
		return nil, errors.New("vk: Deps.Store, Conns, DB and HTTP are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	msgs := i18n.New()
	if err := msgs.Add(messages, "messages"); err != nil {
		return nil, fmt.Errorf("vk: %w", err)
	}
	s := &Service{d: d, msgs: msgs, group: GroupRate, user: UserRate}
	if d.Buckets != nil {
		s.group, s.user = GroupRate.Shared(d.Buckets, "vk-community"), UserRate.Shared(d.Buckets, "vk-user")
	}
	return s, nil
}

// Register adds the connection type (and, reg not nil, the actions'
// labels; the actions need the Service: Actions adds them).
func Register(conns *connection.Registry, reg *automation.Registry, hc *http.Client) error {
	if err := conns.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("vk: %w", err)
	}
	if err := conns.Add(ConnectionType(hc)); err != nil {
		return err
	}
	if reg == nil {
		return nil
	}
	if err := reg.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("vk: %w", err)
	}
	return nil
}

// ConnectionType is the "vk" connection: a community's key, its id, the
// Callback API's confirmation string and secret key, and optionally a
// user's token.
func ConnectionType(hc *http.Client) connection.Type {
	return connection.Type{
		Name:    Type,
		Journal: "message",
		Fields: []connection.Field{
			{Name: SetGroupToken, Type: connection.String, Required: true, Secret: true},
			{Name: SetGroupID, Type: connection.Integer, Required: true},
			{Name: SetConfirmation, Type: connection.String, Secret: true},
			{Name: SetSecret, Type: connection.String, Required: true, Secret: true},
			{Name: SetUserToken, Type: connection.String, Secret: true},
			{Name: SetSendAsUser, Type: connection.Boolean, Default: false},
			{Name: SetAssignedTo, Type: connection.Integer},
			{Name: SetAPIURL, Type: connection.String},
		},
		Validate: func(s connection.Settings) []connection.Problem {
			var ps []connection.Problem
			if id := s.Int(SetGroupID); id < 0 {
				ps = append(ps, connection.Problem{Field: SetGroupID, Message: "the community's id is a positive number (without the minus sign)"})
			}
			if sec := s.String(SetSecret); sec != "" && len(sec) > 50 {
				ps = append(ps, connection.Problem{Field: SetSecret, Message: "VK's secret key is at most 50 characters"})
			}
			if s.Bool(SetSendAsUser) && s.String(SetUserToken) == "" {
				ps = append(ps, connection.Problem{Field: SetUserToken, Message: "required to send from the user's profile"})
			}
			return append(ps, connection.CheckBaseURL(SetAPIURL, s.String(SetAPIURL), DefaultBase)...)
		},
		Check: func(ctx context.Context, s connection.Settings) error {
			c := &Client{Base: connection.BaseURL(s.String(SetAPIURL), DefaultBase), Token: s.String(SetGroupToken), HTTP: hc}
			g, err := c.GroupsGetByID(ctx, "")
			var ae *APIError
			if errors.As(err, &ae) {
				switch ae.Code {
				case ErrAuth, ErrAccess, ErrDenied:
					return connection.Fail(connection.ClassCredentials, err)
				case ErrTooMany, ErrFlood:
					return connection.Fail(connection.ClassRateLimited, err)
				}
			}
			if err != nil {
				return err
			}
			if want := s.Int(SetGroupID); want != 0 && g.ID != want {
				return connection.Fail(connection.ClassAccount, fmt.Errorf("vk: the key is of community %d, not %d", g.ID, want))
			}
			return nil
		},
	}
}

// community is an open vk connection.
type community struct {
	conn connection.Connection
	set  connection.Settings
}

// client is the community key's client.
func (s *Service) client(set connection.Settings) *Client {
	return &Client{Base: connection.BaseURL(set.String(SetAPIURL), DefaultBase), Token: set.String(SetGroupToken), HTTP: s.d.HTTP,
		Limiter: s.group, Backoff: s.d.Backoff}
}

// sender is the client replies go with: the user's token when the
// connection sends from a profile.
func (s *Service) sender(set connection.Settings) *Client {
	if set.Bool(SetSendAsUser) && set.String(SetUserToken) != "" {
		return s.userClient(set)
	}
	return s.client(set)
}

// reader is the client profiles are read with: the user's token when
// there is one (it sees more of a profile), else the community's.
func (s *Service) reader(set connection.Settings) *Client {
	if set.String(SetUserToken) != "" {
		return s.userClient(set)
	}
	return s.client(set)
}

func (s *Service) userClient(set connection.Settings) *Client {
	return &Client{Base: connection.BaseURL(set.String(SetAPIURL), DefaultBase), Token: set.String(SetUserToken), HTTP: s.d.HTTP,
		Limiter: s.user, Backoff: s.d.Backoff}
}

func (s *Service) open(ctx context.Context, id int64) (community, error) {
	conn, set, err := connector.Open(ctx, s.d.Conns, id, Type)
	return community{conn: conn, set: set}, err
}

// t is a message in Russian, the language of the users' records.
func (s *Service) t(key string, args ...any) string { return s.msgs.Tf(i18n.Ru, key, args...) }

// Explain is a failure in the user's words (Russian), and its code: VK's
// error code, or refused, network, unknown.
func (s *Service) Explain(err error) (text, code string) {
	var ae *APIError
	if errors.As(err, &ae) {
		code = strconv.Itoa(ae.Code)
		switch ae.Code {
		case ErrAuth:
			return s.t("vk.error.5"), code
		case ErrTooMany:
			return s.t("vk.error.6"), code
		case ErrFlood:
			return s.t("vk.error.9"), code
		case ErrCaptcha:
			return s.t("vk.error.14"), code
		case ErrDenied, ErrAccess:
			return s.t("vk.error.15"), code
		case ErrBlacklisted, ErrNoPermission, ErrPrivacy:
			return s.t("vk.error.901"), code
		case ErrParam, ErrUserID:
			return s.t("vk.error.100", ae.Msg), code
		case ErrTooLong:
			return s.t("vk.error.914"), code
		case ErrNoConvAccess, ErrChatNotExists:
			return s.t("vk.error.917"), code
		case ErrInternal, ErrUnknown:
			return s.t("vk.error.10"), code
		}
		return s.t("vk.error.other", ae.Code, ae.Msg), code
	}
	k := connector.Undelivered(err)
	return s.t("vk.error." + k), k
}
