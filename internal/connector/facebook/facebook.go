// Package facebook is Facebook Messenger as a channel of messages with
// clients (issue 23, seed 000's "Facebook (отправка сообщений)"): a
// Page, saved as a connection of type "facebook", whose Messenger
// conversations become messages on leads and contacts, and whose replies
// are written on the record's card through the Send API.
//
// Messages come by the Page's webhook (GET and POST
// /hooks/facebook/{connection_id}): the GET is Meta's verification
// (hub.verify_token), each POST is signed with the App Secret
// (X-Hub-Signature-256). A person is known by their page-scoped id
// (PSID), kept as the record's "facebook" external id.
//
// Meta allows a Page to answer a person only within 24 hours of the
// person's last message; after that only with a message tag for its one
// purpose (an order's update, an account's change …), never to
// advertise. The connector refuses a send outside the window before it
// asks Meta, with the reason in Russian, unless the connection names a
// tag.
package facebook

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
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
// writes what the Page receives.
const (
	Type          = "facebook"
	SetToken      = "page_access_token"
	SetAppSecret  = "app_secret"
	SetVerify     = "verify_token"
	SetPageID     = "page_id"
	SetTag        = "message_tag"
	SetAssignedTo = "assigned_by_id"
	SetAPIURL     = "api_url"
	Integration   = "facebook"
	// System is the external-id system of a lead's or contact's PSID.
	// A PSID is the person's id for one Page: a second Page sees another.
	System = "facebook"
	// HookPrefix is where the webhooks come: HookPrefix + connection id.
	HookPrefix = "/hooks/facebook/"
)

// Window is how long after a person's last message a Page may answer
// without a tag; HumanAgentWindow the same with the HUMAN_AGENT tag.
const (
	Window           = 24 * time.Hour
	HumanAgentWindow = 7 * 24 * time.Hour
)

// MaxText is the Send API's limit of a text message, in characters.
const MaxText = 2000

// Deps is what the connector works with.
type Deps struct {
	Store *store.Store
	Conns *connection.Store
	DB    *db.DB
	// HTTP is the SSRF-guarded client (httpx.NewOutboundClient).
	HTTP *http.Client
	Log  *slog.Logger
	Now  func() time.Time
}

// Service receives and sends a Page's messages.
type Service struct {
	d    Deps
	msgs *i18n.Catalog
}

// New returns the service.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Conns == nil || d.DB == nil || d.HTTP == nil {
		return nil, errors.New("facebook: Deps.Store, Conns, DB and HTTP are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	msgs := i18n.New()
	if err := msgs.Add(messages, "messages"); err != nil {
		return nil, fmt.Errorf("facebook: %w", err)
	}
	return &Service{d: d, msgs: msgs}, nil
}

// Register adds the connection type.
func Register(conns *connection.Registry, hc *http.Client) error {
	if err := conns.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("facebook: %w", err)
	}
	return conns.Add(ConnectionType(hc))
}

// ConnectionType is the "facebook" connection: a Page access token (with
// the pages_messaging permission), the app's App Secret that signs the
// webhooks, the verify token entered in the app's webhook settings, and
// an optional message tag for sends outside the 24-hour window.
func ConnectionType(hc *http.Client) connection.Type {
	return connection.Type{
		Name:    Type,
		Journal: "message",
		// A record's PSID (its "facebook" external id) shows on its card
		// beside the connection, read-only: there is nothing to export.
		System: func(connection.Settings) string { return System },
		Fields: []connection.Field{
			{Name: SetToken, Type: connection.String, Required: true, Secret: true},
			{Name: SetAppSecret, Type: connection.String, Required: true, Secret: true},
			{Name: SetVerify, Type: connection.String, Required: true, Secret: true},
			{Name: SetPageID, Type: connection.String},
			{Name: SetTag, Type: connection.String},
			{Name: SetAssignedTo, Type: connection.Integer},
			{Name: SetAPIURL, Type: connection.String},
		},
		Validate: func(s connection.Settings) []connection.Problem {
			var ps []connection.Problem
			if id := s.String(SetPageID); id != "" && !digits(id) {
				ps = append(ps, connection.Problem{Field: SetPageID, Message: "a Page id is digits only (Page → About → Page transparency)"})
			}
			if tag := s.String(SetTag); tag != "" && !slices.Contains(Tags, tag) {
				ps = append(ps, connection.Problem{Field: SetTag, Message: fmt.Sprintf("%q is not one of %s", tag, strings.Join(Tags, ", "))})
			}
			if v := s.String(SetVerify); v != "" && len(v) < 8 {
				ps = append(ps, connection.Problem{Field: SetVerify, Message: "at least 8 characters: it is what keeps others from pointing the webhook elsewhere"})
			}
			return append(ps, connection.CheckBaseURL(SetAPIURL, s.String(SetAPIURL), DefaultBase)...)
		},
		Check: func(ctx context.Context, s connection.Settings) error {
			_, err := clientOf(s, hc).Me(ctx)
			var ae *APIError
			if errors.As(err, &ae) {
				switch ae.Kind() {
				case KindToken, KindPermission:
					return connection.Fail(connection.ClassCredentials, err)
				case KindRate:
					return connection.Fail(connection.ClassRateLimited, err)
				}
			}
			return err
		},
	}
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != "" && len(s) <= 32
}

func clientOf(s connection.Settings, hc *http.Client) *Client {
	return &Client{Base: connection.BaseURL(s.String(SetAPIURL), DefaultBase), Token: s.String(SetToken),
		AppSecret: s.String(SetAppSecret), HTTP: hc}
}

// page is an open facebook connection.
type page struct {
	conn connection.Connection
	set  connection.Settings
	c    *Client
}

func (s *Service) open(ctx context.Context, id int64) (page, error) {
	conn, set, err := connector.Open(ctx, s.d.Conns, id, Type)
	if err != nil {
		return page{}, err
	}
	return page{conn: conn, set: set, c: clientOf(set, s.d.HTTP)}, nil
}

// t is a message in Russian, the language of the users' records.
func (s *Service) t(key string, args ...any) string { return s.msgs.Tf(i18n.Ru, key, args...) }

// explain is a send's failure in the user's words, for the message.
func (s *Service) explain(err error) (text, code string) {
	var ae *APIError
	if errors.As(err, &ae) {
		code = strconv.Itoa(ae.Code)
		if ae.Subcode != 0 {
			code += "/" + strconv.Itoa(ae.Subcode)
		}
		switch ae.Kind() {
		case KindToken:
			return s.t("facebook.error.token"), code
		case KindRate:
			return s.t("facebook.error.rate"), code
		case KindWindow:
			return s.t("facebook.error.window"), code
		case KindPermission:
			return s.t("facebook.error.permission"), code
		case KindUnavailable:
			return s.t("facebook.error.unavailable"), code
		case KindNoUser:
			return s.t("facebook.error.no_user"), code
		}
		return s.t("facebook.error.other", ae.Code, ae.Message), code
	}
	k := connector.Undelivered(err)
	return s.t("facebook.error." + k), k
}
