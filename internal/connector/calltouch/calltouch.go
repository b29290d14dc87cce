// Package calltouch connects Obmen to Calltouch, the call-tracking and
// end-to-end analytics service (seed 001): its calls diary and requests
// journal become the triggers calltouch.call and calltouch.request (by
// polling, and by Calltouch's webhooks through ParseCallPush and
// ParseRequestPush), and its deals API v2 the actions
// calltouch.deal.create and calltouch.deal.update, so that Calltouch's
// reports show the revenue of every ad campaign.
//
// Documentation the client follows (calltouch.ru/support):
//   - calls diary: api-metod-vygruzki-zhurnala-zvonkov (dates dd/mm/yyyy,
//     page/limit paging with a page envelope);
//   - requests journal: vygruzka-zhurnala-zayavok-cherez-api (dates
//     mm/dd/yyyy — the other order —, one JSON array, no paging);
//   - deals v2: api-metod-sozdaniya-sdelok, api-metod-obnovleniya-sdelok
//     (POST JSON, headers Access-Token and SiteId);
//   - deals journal: api-metod-vygruzki-zhurnala-sdelok (the statuses in
//     use, for "refresh fields");
//   - webhooks: otpravka-informatsii-o-zvonkakh-zayavkakh-…-webhoo (GET or
//     POST, URL-encoded parameters);
//   - limits: at most 5 requests a second (per IP address; Obmen keeps it
//     per account, which is stricter for one account and the same when
//     one instance serves one account).
package calltouch

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
)

//go:embed messages/*.json
var messages embed.FS

// Names of the connection type, the group, the triggers and the actions.
const (
	Type          = "calltouch"
	Group         = "calltouch"
	TriggerCall   = "calltouch.call"
	TriggerReq    = "calltouch.request"
	ActionCreate  = "calltouch.deal.create"
	ActionUpdate  = "calltouch.deal.update"
	OfficialURL   = "https://api.calltouch.ru"
	DefaultZone   = "Europe/Moscow"
	DefaultCRM    = "Obmen"
	StatusPending = "PENDING"   // an open deal, as the seed sets it
	StatusDone    = "COMPLETED" // a deal won
)

// Account is a calltouch connection's settings.
type Account struct {
	SiteID string
	Token  string
	URL    string
	// Zone is the account's time zone: Calltouch writes and reads dates
	// without an offset, in the zone set in the account.
	Zone string
}

// AccountOf reads a saved connection's settings.
func AccountOf(s connection.Settings) Account {
	return Account{SiteID: strings.TrimSpace(s.String("site_id")), Token: s.String("token"), URL: s.String("url"), Zone: s.String("timezone")}
}

func (a Account) base() string { return connection.BaseURL(a.URL, OfficialURL) }

func (a Account) location() *time.Location {
	z := a.Zone
	if z == "" {
		z = DefaultZone
	}
	if loc, err := time.LoadLocation(z); err == nil {
		return loc
	}
	return time.UTC
}

// key identifies the account for its rate limiter.
func (a Account) key() string { return a.base() + "|" + a.SiteID }

// Problems checks what the fields cannot say.
func (a Account) Problems() []connection.Problem {
	var ps []connection.Problem
	if _, err := strconv.ParseInt(a.SiteID, 10, 64); err != nil || strings.HasPrefix(a.SiteID, "-") {
		ps = append(ps, connection.Problem{Field: "site_id", Message: fmt.Sprintf("%q is not a Calltouch site id (a number)", a.SiteID)})
	}
	if a.Zone != "" {
		if _, err := time.LoadLocation(a.Zone); err != nil {
			ps = append(ps, connection.Problem{Field: "timezone", Message: fmt.Sprintf("%q is not a time zone", a.Zone)})
		}
	}
	return append(ps, connection.CheckBaseURL("url", a.URL, OfficialURL)...)
}

// Deps is what the connector works with.
type Deps struct {
	// HTTP is the SSRF-guarded client (httpx.NewOutboundClient).
	HTTP  *http.Client
	Conns *connection.Store
	Now   func() time.Time
	// Rate is the requests a second allowed per account (0: 5, the
	// documented limit); Backoff the first wait before a retry of a 429
	// or 503 without Retry-After (0: 1 s).
	Rate    float64
	Backoff time.Duration
	// Every is how often the triggers poll (0: a minute).
	Every time.Duration

	limits *limiters
}

// Register adds the connection type, the triggers and the actions.
func Register(conns *connection.Registry, reg *automation.Registry, d Deps) error {
	if d.HTTP == nil || d.Conns == nil {
		return errors.New("calltouch: Deps.HTTP and Conns are required")
	}
	d = d.withDefaults()
	if err := conns.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("calltouch: %w", err)
	}
	if err := conns.Add(ConnectionType(d)); err != nil {
		return err
	}
	if err := reg.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("calltouch: %w", err)
	}
	for _, k := range []automation.TriggerKind{CallTrigger(d), RequestTrigger(d)} {
		if err := reg.AddTrigger(k); err != nil {
			return err
		}
	}
	return reg.Add(CreateAction(d), UpdateAction(d))
}

func (d Deps) withDefaults() Deps {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Rate <= 0 {
		d.Rate = 5
	}
	if d.Backoff <= 0 {
		d.Backoff = time.Second
	}
	if d.Every <= 0 {
		d.Every = time.Minute
	}
	if d.limits == nil {
		d.limits = &limiters{m: map[string]*limiter{}}
	}
	return d
}

// Client is the client of an account, sharing the account's limiter.
func (d Deps) Client(a Account) *Client {
	d = d.withDefaults()
	return &Client{Account: a, HTTP: d.HTTP, Limit: d.limits.get(a.key(), d.Rate), Backoff: d.Backoff}
}

// open is the client of a saved connection.
func (d Deps) open(ctx context.Context, id int64) (*Client, error) {
	if id == 0 {
		return nil, errors.New("calltouch: no connection chosen")
	}
	c, set, err := d.Conns.Open(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("calltouch: connection %d: %w", id, err)
	}
	if c.Type != Type {
		return nil, fmt.Errorf("calltouch: connection %q is a %s connection, not calltouch", c.Name, c.Type)
	}
	return d.Client(AccountOf(set)), nil
}

type limiters struct {
	mu sync.Mutex
	m  map[string]*limiter
}

func (l *limiters) get(key string, rate float64) *limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if x, ok := l.m[key]; ok {
		return x
	}
	x := newLimiter(rate)
	l.m[key] = x
	return x
}

// ConnectionType is the calltouch connection type.
func ConnectionType(d Deps) connection.Type {
	d = d.withDefaults()
	return connection.Type{
		Name: Type,
		Fields: []connection.Field{
			{Name: "site_id", Type: connection.String, Required: true},
			{Name: "token", Type: connection.String, Required: true, Secret: true},
			{Name: "timezone", Type: connection.String, Default: DefaultZone},
			{Name: "url", Type: connection.String, Default: OfficialURL},
		},
		Validate: func(s connection.Settings) []connection.Problem { return AccountOf(s).Problems() },
		Check: func(ctx context.Context, s connection.Settings) error {
			return d.Client(AccountOf(s)).Check(ctx, d.Now())
		},
		Refresh: func(ctx context.Context, s connection.Settings) (map[string]any, error) {
			return d.Client(AccountOf(s)).Dictionaries(ctx, d.Now())
		},
	}
}
