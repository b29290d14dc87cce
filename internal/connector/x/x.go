// Package x is X (Twitter) as a channel of messages with clients (issue
// 23, seed 000's "Twitter (создается твит вида: @ПсевдонимПользователя
// текст)"): a reply from a lead's, account's or contact's card is
// published as a public post "@handle text" from the account of a
// connection of type "x", the handle taken from the record's Twitter
// field.
//
// Direct messages are not offered: X's DM endpoints need a paid access
// tier, and its free tier allows posting only. Incoming messages are not
// offered either (reading mentions needs the paid tiers too).
//
// The keys are OAuth 1.0a user context (consumer key and secret, access
// token and secret), not an OAuth 2.0 user token: an OAuth 2.0 token
// lives two hours and is renewed by a refresh token that changes at
// every renewal (two instances renewing at once lose the account, and
// every renewal is a write of the secret), while OAuth 1.0a keys are
// made once in the developer portal ("Keys and tokens", Read and write),
// need no callback URL, and last until revoked. They are also what the
// seed's setup names (Consumer Key, Consumer Secret).
package x

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/store"
)

//go:embed messages/*.json
var messages embed.FS

// Names of the connection type, its settings and the integration that
// writes the posts' states.
const (
	Type              = "x"
	SetConsumerKey    = "consumer_key"
	SetConsumerSecret = "consumer_secret"
	SetToken          = "access_token"
	SetTokenSecret    = "access_token_secret"
	SetAPIURL         = "api_url"
	Integration       = "x"
)

// Deps is what the connector works with.
type Deps struct {
	Store *store.Store
	Conns *connection.Store
	// HTTP is the SSRF-guarded client (httpx.NewOutboundClient).
	HTTP *http.Client
	Log  *slog.Logger
	Now  func() time.Time
}

// Service publishes the posts.
type Service struct {
	d    Deps
	msgs *i18n.Catalog
}

// New returns the service.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Conns == nil || d.HTTP == nil {
		return nil, errors.New("x: Deps.Store, Conns and HTTP are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	msgs := i18n.New()
	if err := msgs.Add(messages, "messages"); err != nil {
		return nil, fmt.Errorf("x: %w", err)
	}
	return &Service{d: d, msgs: msgs}, nil
}

// Register adds the connection type.
func Register(conns *connection.Registry, hc *http.Client) error {
	if err := conns.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("x: %w", err)
	}
	return conns.Add(ConnectionType(hc))
}

// ConnectionType is the "x" connection: the app's OAuth 1.0a keys and
// the posting account's access token, all secret.
func ConnectionType(hc *http.Client) connection.Type {
	return connection.Type{
		Name: Type,
		Fields: []connection.Field{
			{Name: SetConsumerKey, Type: connection.String, Required: true, Secret: true},
			{Name: SetConsumerSecret, Type: connection.String, Required: true, Secret: true},
			{Name: SetToken, Type: connection.String, Required: true, Secret: true},
			{Name: SetTokenSecret, Type: connection.String, Required: true, Secret: true},
			{Name: SetAPIURL, Type: connection.String},
		},
		Validate: func(s connection.Settings) []connection.Problem {
			return connection.CheckBaseURL(SetAPIURL, s.String(SetAPIURL), DefaultBase)
		},
		Check: func(ctx context.Context, s connection.Settings) error {
			_, err := clientOf(s, hc, time.Now).Me(ctx)
			var ae *APIError
			if errors.As(err, &ae) {
				switch ae.Status {
				case 401, 403:
					return connection.Fail(connection.ClassCredentials, err)
				case 429:
					return connection.Fail(connection.ClassRateLimited, err)
				}
			}
			return err
		},
	}
}

func clientOf(s connection.Settings, hc *http.Client, now func() time.Time) *Client {
	return &Client{Base: connection.BaseURL(s.String(SetAPIURL), DefaultBase), HTTP: hc, Now: now, Keys: Keys{
		ConsumerKey: s.String(SetConsumerKey), ConsumerSecret: s.String(SetConsumerSecret),
		Token: s.String(SetToken), TokenSecret: s.String(SetTokenSecret)}}
}

// account is an open x connection.
type account struct {
	conn connection.Connection
	c    *Client
}

func (s *Service) open(ctx context.Context, id int64) (account, error) {
	conn, set, err := connector.Open(ctx, s.d.Conns, id, Type)
	if err != nil {
		return account{}, err
	}
	return account{conn: conn, c: clientOf(set, s.d.HTTP, s.d.Now)}, nil
}

// t is a message in Russian, the language of the users' records.
func (s *Service) t(key string, args ...any) string { return s.msgs.Tf(i18n.Ru, key, args...) }

// explain is a post's failure in the user's words, for the message.
func (s *Service) explain(err error) (text, code string) {
	var ae *APIError
	if errors.As(err, &ae) {
		code = strconv.Itoa(ae.Status)
		switch {
		case ae.Status == 401:
			return s.t("x.error.401"), code
		case ae.Duplicate():
			return s.t("x.error.duplicate"), "403/duplicate"
		case ae.Status == 403:
			return s.t("x.error.403", ae.Text()), code
		case ae.Status == 429:
			wait := ae.Reset.Sub(s.d.Now())
			if ae.Reset.IsZero() || wait < 0 {
				wait = 15 * time.Minute
			}
			return s.t("x.error.429", int(wait.Round(time.Minute)/time.Minute)), code
		}
		return s.t("x.error.other", ae.Status, ae.Text()), code
	}
	k := connector.Undelivered(err)
	return s.t("x.error." + k), k
}
