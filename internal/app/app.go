// Package app wires Obmen together: database, store, HTTP surfaces,
// metrics, and the server's lifecycle.
package app

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/currency"
	"github.com/obmen/obmen/internal/dav"
	"github.com/obmen/obmen/internal/dav/caldav"
	"github.com/obmen/obmen/internal/dav/carddav"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/api"
	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/automation/gallery"
	"github.com/obmen/obmen/internal/bitrix"
	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/connector/facebook"
	"github.com/obmen/obmen/internal/connector/google"
	"github.com/obmen/obmen/internal/connector/telegram"
	"github.com/obmen/obmen/internal/connector/telephony"
	"github.com/obmen/obmen/internal/connector/vk"
	"github.com/obmen/obmen/internal/connector/x"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/delivery"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/intake"
	"github.com/obmen/obmen/internal/intake/mail"
	"github.com/obmen/obmen/internal/intake/webform"
	"github.com/obmen/obmen/internal/invoice"
	"github.com/obmen/obmen/internal/notify"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/totp"
	"github.com/obmen/obmen/internal/web"
)

// Version is the build's version, set with -ldflags "-X …/app.Version=…".
var Version = "dev"

// The REST API's document shows the build's version. Set once here, not
// per server: tests build many servers in one process, in parallel.
func init() { api.Version = Version }

// NewLogger builds the process logger from the configuration.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// OpenDB opens and migrates the configured database.
func OpenDB(ctx context.Context, cfg config.Config, log *slog.Logger) (*db.DB, error) {
	d, err := db.Open(ctx, db.Options{
		SQLitePath: cfg.SQLitePath(), PostgresURL: cfg.DatabaseURL,
		SQLiteSync: cfg.SQLiteSync, GroupCommitMax: cfg.GroupCommitMax, PostgresConns: cfg.DatabasePool,
	})
	if err != nil {
		return nil, err
	}
	n, err := d.Migrate(ctx)
	if err != nil {
		d.Close()
		return nil, err
	}
	if n > 0 {
		log.Info("database migrated", "applied", n, "engine", d.Dialect)
	}
	return d, nil
}

// EnsureAdmin creates the user "admin" on first start. The password comes
// from the configuration or is generated and written to out, once.
func EnsureAdmin(ctx context.Context, s *store.Store, cfg config.Config, out io.Writer) error {
	// Several instances starting at once on a fresh database: one makes
	// the admin, the others then find it (without the lock, all counted
	// no users and all but one failed on the login).
	release, err := s.DB().LockKeys(ctx, "app:first-admin")
	if err != nil {
		return fmt.Errorf("app: create admin: %w", err)
	}
	defer release()
	n, err := s.CountUsers(ctx)
	if err != nil {
		return fmt.Errorf("app: count users: %w", err)
	}
	if n > 0 {
		return nil
	}
	pw := cfg.AdminPassword
	generated := pw == ""
	if generated {
		b := make([]byte, 15)
		_, _ = rand.Read(b)
		pw = base64.RawURLEncoding.EncodeToString(b)
	}
	if _, err := s.CreateUser(ctx, crm.Actor{}, crm.User{Login: "admin", Role: crm.RoleAdmin, FirstName: "Administrator"}, pw); err != nil {
		return fmt.Errorf("app: create admin: %w", err)
	}
	if generated {
		fmt.Fprintf(out, "Created user admin with password: %s\n(shown once; change it with: obmen user set-password admin)\n", pw)
	}
	return nil
}

// Server is a running Obmen HTTP server.
type Server struct {
	DB       *db.DB
	Store    *store.Store
	API      *api.API
	Delivery *delivery.Service
	// Changes tells the other instances on the same PostgreSQL of this
	// one's commits and wakes this one's workers on theirs (with the
	// jobs).
	Changes *db.ChangeBus
	Bitrix  *bitrix.Webhooks
	Intake  *intake.Service
	// Collectors are the lead-intake mail collectors.
	Collectors *mail.Service
	// Forms are the web forms.
	Forms *webform.Service
	// CommerceML serves the exchange with 1C (/1c_exchange.php).
	CommerceML *exchange.Service
	// Sites are the exchanges with web shops, where Obmen plays 1C.
	Sites *site.Service
	// Google is the users' contacts and calendar sync with Google.
	Google *google.Service
	// Automation runs bundles: triggers, filters, chains of actions.
	Automation *automation.Service
	// Connections are the saved accounts of external systems that
	// connectors' steps use.
	Connections *connection.Store
	// Calls turns the telephony providers' notifications into call
	// activities; its AMI listeners run with the jobs.
	Calls *telephony.Calls
	// Telegram receives and sends the messages of Telegram bots.
	Telegram *telegram.Service
	// VK receives and sends the messages of VK communities.
	VK *vk.Service
	// Facebook receives and sends the Messenger messages of Facebook
	// Pages; X publishes the "@handle text" posts.
	Facebook *facebook.Service
	X        *x.Service
	// Rates loads the Central Bank's currency rates on a schedule (nil
	// when OBMEN_CBR_RATES_URL is "off").
	Rates *currency.Service
	// Notify makes and sends the users' notifications.
	Notify *notify.Service
	// TOTP is the optional second step of password sign-in.
	TOTP      *totp.Guard
	mailEvery time.Duration
	cfg       config.Config
	// UI is the admin web interface at "/".
	UI      *web.UI
	Handler http.Handler
	// Metrics is the Prometheus handler; the main listener serves it only
	// to a scraper with OBMEN_METRICS_TOKEN, the debug listener to anyone
	// who reaches that address.
	Metrics http.Handler
	log     *slog.Logger
	ready   chan struct{}
}

// NewServer builds the HTTP handler over an open database.
func NewServer(d *db.DB, cfg config.Config, log *slog.Logger) (*Server, error) {
	s := store.New(d)
	// The public endpoints' rate limits keep their buckets in the
	// database, so that instances on one PostgreSQL share one budget.
	buckets := store.NewRateBuckets(d)
	a := api.New(s, log, cfg.MaxBodyBytes)
	// One secrets box for every package that seals secrets or derives keys.
	box, err := secret.Load(cfg.SecretKey, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	svc := newDelivery(d, cfg, box, log)
	bx := bitrix.New(d, s, log, bitrix.Options{RateLimit: cfg.BitrixRateLimit, Burst: cfg.BitrixBurst, Delivery: svc,
		BaseURL: cfg.BaseURL(), MemberID: box.ID()})
	a.SetBitrix(bx.Webhooks(), cfg.BaseURL())
	a.Extra(func(mux *http.ServeMux) { delivery.RegisterAPI(mux, a.HandleFor(authz.Webhooks), svc) })
	in := intake.New(s, log)
	mailSvc := mail.New(in, box, log)
	// A killed instance's run lets its collector go when its job would be
	// rescued.
	mailSvc.Lease = cfg.JobRescueAfter
	mailPolicy := outboundPolicy(cfg)
	mailPolicy.ConnectTimeout = 20 * time.Second
	mailSvc.Dialer = httpx.NewDialer(mailPolicy)
	forms := webform.New(in, log, webform.Options{BaseURL: cfg.BaseURL(), CaptchaKey: box.Derive("web form captcha"),
		PerIP: webform.DefaultPerIP().Shared(buckets, "webform-ip"), PerForm: webform.DefaultPerForm().Shared(buckets, "webform")})
	a.Extra(func(mux *http.ServeMux) {
		intake.RegisterAPI(mux, a.HandleUser, a.HandleFor(authz.Intake), in, cfg.MaxBodyBytes)
		mail.RegisterAPI(mux, a.HandleFor(authz.Intake), mailSvc, cfg.MaxBodyBytes)
		webform.RegisterAPI(mux, a.HandleFor(authz.Intake), forms, cfg.MaxBodyBytes)
		forms.Register(mux)
	})
	load := &httpx.Load{}
	// How busy the server is: the requests in flight. (The writes waiting
	// for SQLite's writer were tried: a flood of 64 clients keeps only
	// 9–25 waiting, a steady 500/s sometimes 16, so they do not tell one
	// from the other; requests in flight do: 60 against 0–2.)
	pressure := load.InFlight
	auto, conns, err := newAutomation(d, s, cfg, box, log, automation.WithPressure(pressure, busyRequests))
	if err != nil {
		return nil, err
	}
	// The telephony providers' call notifications (pushed to the
	// connection's hook URL) and Asterisk's AMI events become call
	// activities.
	calls := telephony.NewCalls(telephony.Deps{HTTP: httpx.NewOutboundClient(outboundPolicy(cfg)), Dialer: httpx.NewDialer(outboundPolicy(cfg)),
		Conns: conns, DB: d, Store: s, Log: log})
	if err := auto.Registry().AddPushReceiver(calls.Receiver()); err != nil {
		return nil, err
	}
	// Telegram bots as a channel of messages with clients (issue 23).
	bots, err := telegram.New(telegram.Deps{Store: s, Conns: conns, DB: d, HTTP: httpx.NewOutboundClient(outboundPolicy(cfg)), Log: log,
		BaseURL: cfg.BaseURL()})
	if err != nil {
		return nil, err
	}
	// VK communities, the same way (their Callback API, replies with
	// messages.send). On PostgreSQL the instances share one budget of
	// VK's requests a second per token; one SQLite instance keeps it in
	// memory (a row write per VK call buys it nothing).
	vkDeps := vk.Deps{Store: s, Conns: conns, DB: d, HTTP: httpx.NewOutboundClient(outboundPolicy(cfg)), Log: log}
	if d.Dialect == db.Postgres {
		vkDeps.Buckets = buckets
	}
	vkc, err := vk.New(vkDeps)
	if err != nil {
		return nil, err
	}
	if err := auto.Registry().Add(vkc.Actions()...); err != nil {
		return nil, err
	}
	// Facebook Pages (Messenger) and X posts, the other channels.
	pages, err := facebook.New(facebook.Deps{Store: s, Conns: conns, DB: d, HTTP: httpx.NewOutboundClient(outboundPolicy(cfg)), Log: log})
	if err != nil {
		return nil, err
	}
	posts, err := x.New(x.Deps{Store: s, Conns: conns, HTTP: httpx.NewOutboundClient(outboundPolicy(cfg)), Log: log})
	if err != nil {
		return nil, err
	}
	if err := auto.Registry().Add(connector.SendAction(s, bots, vkc, pages, posts)); err != nil {
		return nil, err
	}
	// The users' Google sync: a commit pokes it, and a burst of changes
	// makes one tick job after its debounce.
	gsync, err := google.New(google.Deps{DB: d, Store: s, Conns: conns, Box: box, HTTP: httpx.NewOutboundClient(outboundPolicy(cfg)),
		BaseURL: cfg.BaseURL(), Log: log})
	if err != nil {
		return nil, err
	}
	// A commit wakes this instance's dispatchers at once and, on
	// PostgreSQL, the other instances' through the change bus — unless
	// both dispatchers just found nobody listening to changes (no webhook,
	// no event bundle active): then the others would find nobody either,
	// and their polls remain for a listener made there in the last second.
	changes := d.NewChangeBus(func() { svc.Poke(); auto.Poke() }, log)
	s.OnCommit(func() {
		svc.Poke()
		auto.Poke()
		gsync.Poke()
		if !svc.Idle() || !auto.Idle() {
			changes.Changed()
		}
	})
	a.Extra(func(mux *http.ServeMux) { automation.RegisterAPI(mux, a.HandleUser, auto, cfg.MaxBodyBytes) })
	a.Extra(func(mux *http.ServeMux) { gallery.RegisterAPI(mux, a.HandleUser, auto, conns, cfg.MaxBodyBytes) })
	a.Extra(func(mux *http.ServeMux) {
		connection.RegisterAPI(mux, connection.HandleUser(a.HandleUser), conns, bundlesUsing(auto), cfg.MaxBodyBytes)
		calls.RegisterAPI(mux, connection.HandleUser(a.HandleUser))
	})
	cml := exchange.New(s, log, exchange.Options{Dir: filepath.Join(cfg.DataDir, "commerceml"),
		AuthLimiter: exchange.DefaultAuthLimiter().Shared(buckets, "1c-auth"), SweepEvery: cfg.HousekeepingEvery})
	a.Extra(func(mux *http.ServeMux) { exchange.RegisterAPI(mux, a.HandleFor(authz.Exchange1C), cml) })
	// The exchange with web shops: Obmen plays 1C toward their
	// 1c_exchange.php (issue 18).
	sitePolicy := outboundPolicy(cfg)
	sitePolicy.MaxResponseBytes = site.MaxAnswerBytes
	sites := site.New(s, site.NewStore(s, box), httpx.NewOutboundClient(sitePolicy), filepath.Join(cfg.DataDir, "commerceml"), log)
	sites.SetLease(cfg.SiteLease)
	a.Extra(func(mux *http.ServeMux) {
		site.RegisterAPI(mux, a.HandleFor(authz.Exchange1C), sites, cfg.MaxBodyBytes)
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(d.Read, "read"),
		httpx.Requests, httpx.Latency, events.Written, db.BatchSize, db.WritesWaitingGauge(d))
	mux := http.NewServeMux()
	a.Register(mux)
	mux.Handle("/rest/", bx)            // the Bitrix24-compatible API
	mux.Handle("/1c_exchange.php", cml) // CommerceML exchange with 1C
	auto.RegisterHooks(mux)             // the webhook trigger of bundles
	bots.Register(mux)                  // Telegram bots' webhooks
	vkc.Register(mux)                   // VK communities' Callback API
	pages.Register(mux)                 // Facebook Pages' webhooks
	// Invoices' public pages.
	invoice.New(s, log, invoice.DefaultPerIP().Shared(buckets, "invoice-ip")).Register(mux)
	// The token renewal of the Bitrix24-compatible API's OAuth applications.
	mux.Handle("/oauth/token/", bx.OAuthHandler())
	ui, err := web.New(s, log)
	if err != nil {
		return nil, err
	}
	// One sign-in limit for every surface: the API's POST /api/v1/session,
	// the UI's sign-in form and its password change count against the same
	// per-address and per-login budgets.
	// Kept in the database: N instances do not multiply an attacker's
	// guesses.
	byIP, byLogin := api.DefaultSignInByIP().Shared(buckets, "signin-ip"), api.DefaultSignInByLogin().Shared(buckets, "signin-login")
	a.SetSignInLimits(byIP, byLogin)
	ui.SetSignInLimits(byIP, byLogin)
	// The optional TOTP second step of password sign-in, on both surfaces
	// (API keys are not affected).
	guard := totp.NewGuard(s, box, "Obmen", cfg.RequireTOTPAdmins)
	a.SetTOTP(guard)
	ui.SetTOTP(guard)
	// Each integration's page and exchange journal in the UI.
	ui.SetWebhooks(bx.Webhooks(), svc, cfg.BaseURL())
	ui.SetBitrixScopes(bx.Scopes)
	ui.SetIntake(forms, mailSvc)
	ui.SetAutomation(auto)
	ui.SetConnections(conns, bundlesUsing(auto))
	ui.SetSites(sites)
	// Replies from the cards of leads, accounts and contacts go to the
	// channel the user chooses, or to the one the client last wrote in,
	// or else to the first channel where the record has a conversation
	// (Telegram, then VK — where a record with a VK page has one before
	// the client wrote — then Facebook; never X by itself: a post there
	// is public).
	channels := []connector.Channel{bots, vkc, pages, posts}
	var names []string
	for _, ch := range channels {
		names = append(names, ch.Name())
	}
	ui.SetMessenger(func(ctx context.Context, actor crm.Actor, ownerType string, ownerID int64, channel, text string, files []crm.Attachment) (crm.Message, error) {
		reply := connector.Reply{OwnerType: ownerType, OwnerID: ownerID, Text: text, Attachments: files}
		if channel == "" {
			last, _, err := s.ListMessages(ctx, store.ListParams{Limit: 1, Sort: "-created_at", Filters: []store.Filter{
				{Field: "owner_type", Op: "eq", Value: ownerType}, {Field: "owner_id", Op: "eq", Value: strconv.FormatInt(ownerID, 10)},
				{Field: "channel", Op: "ne", Value: crm.ChannelTwitter}}})
			if err != nil {
				return crm.Message{}, err
			}
			if len(last) > 0 {
				channel = last[0].Channel
			}
		}
		for _, ch := range channels {
			if ch.Name() != channel && (channel != "" || ch.Name() == crm.ChannelTwitter) {
				continue
			}
			m, err := ch.Send(ctx, actor, reply)
			if !errors.Is(err, connector.ErrNoChat) {
				return m, err
			}
			if channel != "" {
				break // the channel chosen has no conversation
			}
		}
		return crm.Message{}, web.ErrNoChat
	}, names...)
	ui.SetSocial(web.Social{ImportHistory: vkc.ImportHistory, ImportProfile: vkc.ImportProfile})
	// The files clients sent that a channel keeps (Telegram's file_id);
	// VK's come as links.
	ui.SetMessageFiles(func(ctx context.Context, m crm.Message, n int) (io.ReadCloser, crm.Attachment, error) {
		if m.Channel == crm.ChannelTelegram {
			return bots.File(ctx, m, n)
		}
		return nil, crm.Attachment{}, store.NotFound("file of message", m.ID)
	})
	ui.SetGoogle(gsync)
	// Address suggestions: the imported ФИАС/ГАР base, or DaData once an
	// admin enters a key on the settings page.
	addrSrc := &address.Source{DB: d, Box: box, HTTP: httpx.NewOutboundClient(outboundPolicy(cfg)), Log: log}
	ui.SetAddressSource(addrSrc)
	a.SetAddressSource(addrSrc)
	ui.SetTimeZone(cfg.TimeZone)
	var tg notify.Sender
	if cfg.TelegramToken != "" {
		tg = &notify.Telegram{Base: cfg.TelegramAPI, Token: cfg.TelegramToken, Client: httpx.NewOutboundClient(outboundPolicy(cfg)), PublicURL: cfg.PublicURL}
	}
	var email notify.Sender
	if cfg.SMTPHost != "" {
		// The relay the operator configured is trusted wherever it is;
		// the connection still goes through the guarded dialer.
		pol := outboundPolicy(cfg)
		pol.AllowHosts = append(pol.AllowHosts, cfg.SMTPHost)
		email = &notify.Email{Host: cfg.SMTPHost, Port: cfg.SMTPPort, TLS: cfg.SMTPTLS, Username: cfg.SMTPUser, Password: cfg.SMTPPassword,
			From: cfg.SMTPFrom, PublicURL: cfg.PublicURL, Dialer: httpx.NewDialer(pol)}
	}
	notifier := notify.New(d, tg, email, log)
	ui.SetNotify(notifier)
	ui.AddIntegration(web.WebhooksIntegration(svc))
	ui.AddIntegration(web.IntakeIntegration(in))
	ui.AddIntegration(web.ExchangeIntegration(cml))
	// CardDAV and CalDAV for mail clients and phones (issue 22): HTTP
	// Basic sign-in under the same limits, never the UI's cookie.
	dv := dav.New(s, log)
	dv.SetSignInLimits(byIP, byLogin)
	dv.SetTOTP(guard)
	dv.Add(carddav.NewService(s, web.RussianFieldMessage))
	// Calendars: the installation's zone reads floating times and
	// all-day dates (config has checked it loads).
	davZone, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		davZone = time.UTC
	}
	dv.Add(caldav.NewService(s, davZone, web.RussianFieldMessage))
	ui.SetICalFeedLimit(caldav.DefaultFeedPerIP().Shared(buckets, "ical-ip"))
	dv.Register(mux)
	ui.Register(mux) // the admin UI at "/"
	srv := &Server{DB: d, Store: s, API: a, Delivery: svc, Changes: changes, Bitrix: bx.Webhooks(), Intake: in, Collectors: mailSvc, Forms: forms, CommerceML: cml, Sites: sites, Google: gsync, Automation: auto, Connections: conns, Calls: calls, Telegram: bots, VK: vkc, Facebook: pages, X: posts, Notify: notifier, TOTP: guard, mailEvery: cfg.MailInterval, cfg: cfg,
		UI: ui, log: log, ready: make(chan struct{})}
	if cfg.CurrencyRatesURL != "" && cfg.CurrencyRatesURL != "off" {
		srv.Rates = currency.New(s, httpx.NewOutboundClient(outboundPolicy(cfg)), cfg.CurrencyRatesURL, log)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		var one int
		if err := d.Read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			http.Error(w, "database unavailable: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ready\n")
	})
	srv.Metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	mux.Handle("GET /metrics", metricsGate(cfg.MetricsToken, srv.Metrics))
	srv.Handler = httpx.Observe(log, load.Wrap(securityHeaders(mux)))
	return srv, nil
}

// warmPool readies every PostgreSQL connection of the server's pool for
// the reads it serves most, before it listens (db.WarmPool): a load
// balancer's first requests do not pay for cold connections. A failure
// costs only speed: logged, not fatal.
func warmPool(ctx context.Context, d *db.DB, s *store.Store, log *slog.Logger) {
	if d.Dialect != db.Postgres {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	t0 := time.Now()
	n, err := d.WarmPool(wctx, s.Warm)
	if err != nil {
		log.Warn("database connections not warmed", "err", err)
		return
	}
	log.Info("database connections warmed", "connections", n, "took", time.Since(t0).Round(time.Millisecond))
}

// metricsGate serves /metrics on the public listener only to a scraper
// that presents token as a bearer token (compared in constant time); with
// no token set the path does not exist there.
func metricsGate(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			http.NotFound(w, r)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics: a bearer token (OBMEN_METRICS_TOKEN) is required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// busyRequests is how many requests in flight, on average over a
// moment, make the server busy: automation runs then give the processor
// and the writer to them, and catch up when the load passes.
const busyRequests = 16

// ContentSecurityPolicy is sent with every answer: scripts, styles,
// images and connections from this origin only, no plugins, no framing,
// forms post here only. The UI has no inline script or style; a page that
// needs one (the web form's answer page) replaces the header with the
// hash of exactly that style.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		next.ServeHTTP(w, r)
	})
}

// Run serves until ctx is cancelled, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish (up to the shutdown timeout)
// and closes the database. ready, if not nil, receives the bound address.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer, ready func(addr string)) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		// A server with a few hundred MiB of live data and gigabytes of
		// RAM: collect half as often, spend the CPU on requests.
		debug.SetGCPercent(200)
		if os.Getenv("GOMEMLIMIT") == "" {
			// ... and one with little live data stays small
			// (memlimit.go); GOGC or GOMEMLIMIT set by hand win.
			go tuneMemoryLimit(ctx, 200, goMemoryFloor)
		}
	}
	d, err := OpenDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	srv, err := NewServer(d, cfg, log)
	if err != nil {
		return err
	}
	if err := EnsureAdmin(ctx, srv.Store, cfg, stdout); err != nil {
		return err
	}
	warmPool(ctx, d, srv.Store, log)
	stopJobs, err := srv.StartJobs(ctx)
	if err != nil {
		return err
	}
	defer stopJobs()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("app: listen on %s: %w", cfg.Addr, err)
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("app: TLS certificate %s / key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}})
	}
	hs := &http.Server{
		Handler:           srv.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	where := cfg.SQLitePath()
	if d.Dialect == db.Postgres {
		where = httpx.RedactURL(cfg.DatabaseURL)
	}
	log.Info("obmen listening", "addr", ln.Addr().String(), "tls", cfg.TLSCert != "", "version", Version, "engine", d.Dialect, "database", where)
	if ready != nil {
		ready(ln.Addr().String())
	}
	if cfg.DebugAddr != "" {
		// Profiling on its own listener, never on the public one.
		dbg := http.NewServeMux()
		dbg.HandleFunc("/debug/pprof/", pprof.Index)
		dbg.HandleFunc("/debug/pprof/profile", pprof.Profile)
		dbg.HandleFunc("/debug/pprof/trace", pprof.Trace)
		dbg.Handle("GET /metrics", srv.Metrics)
		go func() {
			log.Info("debug listener", "addr", cfg.DebugAddr)
			if err := http.ListenAndServe(cfg.DebugAddr, dbg); err != nil {
				log.Error("debug listener", "err", err)
			}
		}()
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("app: serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
	}
	// 1C imports under way roll back and resume on 1C's next call.
	srv.CommerceML.Close()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// Stderr is where the CLI writes diagnostics; a variable for tests.
var Stderr io.Writer = os.Stderr
