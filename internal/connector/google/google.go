// Package google syncs each user's contacts and calendar with their
// Google account, both ways (seed 000 "Интеграция с Google", issue 22).
//
// An admin enters the installation's own OAuth client (a connection of
// type "google": client id, and the secret, sealed and write-only); the
// redirect URI to copy into Google's console is BaseURL+CallbackPath.
// Each user then connects their Google account (the authorization-code
// flow with a one-time state, the refresh token sealed at rest) and sets
// the sync up: contacts and/or calendar, the direction (Obmen → Google,
// Google → Obmen, both), the field mapping and the conflict rule (the
// later change wins, or Obmen wins). "Sync now" runs it and keeps a
// result summary; the schedule runs it too (a River periodic job, one
// run per user at a time across instances), and so does a change of the
// user's contacts or activities, after a short debounce. "Remove sync"
// deletes the settings and the links, never the records on either side.
//
// Both APIs are reached through Google's official Go client
// (google.golang.org/api people/v1 and calendar/v3) over the SSRF-guarded
// client, with 429 and 5xx answers retried (Retry-After respected).
// Google → Obmen reads People connections.list and Calendar events.list
// with sync tokens: incremental after the first run; an expired token
// (People: 400 FAILED_PRECONDITION after 7 days; Calendar: 410 Gone)
// starts a full listing that finds its pairs through the links (and, for
// contacts never paired, by e-mail or phone), so it creates no
// duplicates. Obmen → Google reads the change log after the cursor of
// the last run. Which side changed is told by hashes of the mapped fields
// kept in the link as last synced on each side.
package google

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
)

//go:embed messages/*.json
var messages embed.FS

// Type names the connection type of the installation's OAuth client.
const Type = "google"

// Integration names the sync's own changes in the change log, so that
// Obmen → Google does not send back what Google → Obmen just wrote.
const Integration = "google"

// CallbackPath is where Google sends the user back after consent; the
// admin copies BaseURL+CallbackPath into the OAuth client's redirect URIs.
const CallbackPath = "/google/callback"

// Scopes asked for: the user's contacts and calendar events, and their
// e-mail to show which account is connected.
var Scopes = []string{
	"https://www.googleapis.com/auth/contacts",
	"https://www.googleapis.com/auth/calendar.events",
	"https://www.googleapis.com/auth/userinfo.email",
}

// Endpoints are Google's addresses; tests point them at a fake.
type Endpoints struct {
	Auth     string // the consent page
	Token    string // the token endpoint
	People   string // People API base, ends with "/"
	Calendar string // Calendar API base, ends with "/"
	UserInfo string // OpenID userinfo (the account's e-mail)
}

// GoogleEndpoints are the real ones.
var GoogleEndpoints = Endpoints{
	Auth:     "https://accounts.google.com/o/oauth2/v2/auth",
	Token:    "https://oauth2.googleapis.com/token",
	People:   "https://people.googleapis.com/",
	Calendar: "https://www.googleapis.com/calendar/v3/",
	UserInfo: "https://openidconnect.googleapis.com/v1/userinfo",
}

// Deps is what the connector works with.
type Deps struct {
	DB    *db.DB
	Store *store.Store
	Conns *connection.Store
	Box   *secret.Box
	// HTTP is the SSRF-guarded client (httpx.NewOutboundClient).
	HTTP *http.Client
	// BaseURL is how browsers reach this Obmen (the redirect URI).
	BaseURL string
	// Endpoints: zero means GoogleEndpoints.
	Endpoints Endpoints
	// Backoff is the first wait before retrying a 429 or 5xx answer
	// without Retry-After (0: 1 s); MaxWait caps any wait (0: 60 s).
	Backoff time.Duration
	MaxWait time.Duration
	// Every is how often a user's sync runs on schedule (0: 15 min);
	// Debounce is how long after a CRM change it runs (0: 1 min).
	Every    time.Duration
	Debounce time.Duration
	Now      func() time.Time
	Log      *slog.Logger
}

func (d *Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Deps) endpoints() Endpoints {
	if d.Endpoints == (Endpoints{}) {
		return GoogleEndpoints
	}
	return d.Endpoints
}

func (d *Deps) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}

// Service is the sync.
type Service struct {
	d Deps
	// The tick enqueued after commits (job.go).
	armed   atomic.Bool
	mu      sync.Mutex
	enqueue func(context.Context) error
	runCtx  context.Context
	timer   *time.Timer
}

// New checks the dependencies and returns the service.
func New(d Deps) (*Service, error) {
	if d.DB == nil || d.Store == nil || d.Conns == nil || d.Box == nil || d.HTTP == nil {
		return nil, errors.New("google: Deps.DB, Store, Conns, Box and HTTP are required")
	}
	return &Service{d: d}, nil
}

// Register adds the connection type of the OAuth client.
func Register(conns *connection.Registry, d Deps) error {
	if err := conns.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("google: %w", err)
	}
	return conns.Add(ConnectionType(d))
}

// ConnectionType is the installation's OAuth client: its id and secret.
// Its check presents the client to the token endpoint with a code that
// cannot be good: Google answers invalid_client for an unknown client or
// a wrong secret, and invalid_grant when the client is right.
func ConnectionType(d Deps) connection.Type {
	return connection.Type{
		Name: Type,
		Fields: []connection.Field{
			{Name: "client_id", Type: connection.String, Required: true},
			{Name: "client_secret", Type: connection.String, Required: true, Secret: true},
		},
		Check: func(ctx context.Context, s connection.Settings) error {
			return checkClient(ctx, d, s.String("client_id"), s.String("client_secret"))
		},
	}
}
