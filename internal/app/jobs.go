package app

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/currency"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/automation/action"
	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/connector/calltouch"
	"github.com/obmen/obmen/internal/connector/facebook"
	"github.com/obmen/obmen/internal/connector/google"
	"github.com/obmen/obmen/internal/connector/moysklad"
	"github.com/obmen/obmen/internal/connector/retailcrm"
	"github.com/obmen/obmen/internal/connector/smtp"
	"github.com/obmen/obmen/internal/connector/telegram"
	"github.com/obmen/obmen/internal/connector/telephony"
	"github.com/obmen/obmen/internal/connector/vk"
	"github.com/obmen/obmen/internal/connector/x"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/delivery"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/intake/mail"
	"github.com/obmen/obmen/internal/jobs"
	"github.com/obmen/obmen/internal/notify"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
)

// outboundPolicy is the SSRF guard's policy: private networks refused
// but for the hosts and ranges the configuration allows.
func outboundPolicy(cfg config.Config) httpx.OutboundPolicy {
	var pol httpx.OutboundPolicy
	for _, a := range cfg.OutboundAllow {
		if p, err := netip.ParsePrefix(a); err == nil {
			pol.AllowCIDRs = append(pol.AllowCIDRs, p)
		} else if ip, err := netip.ParseAddr(a); err == nil {
			pol.AllowCIDRs = append(pol.AllowCIDRs, netip.PrefixFrom(ip, ip.BitLen()))
		} else {
			pol.AllowHosts = append(pol.AllowHosts, a)
		}
	}
	return pol
}

// newDelivery builds the outbound-webhook service: the secrets box, its
// SSRF-guarded client and the portal identity Bitrix24 handlers see.
func newDelivery(d *db.DB, cfg config.Config, box *secret.Box, log *slog.Logger) *delivery.Service {
	domain := cfg.BaseURL()
	if u, err := url.Parse(domain); err == nil && u.Host != "" {
		domain = u.Host
	}
	// member_id: a stable, non-secret id every instance of the
	// installation derives from the shared secrets key.
	portal := delivery.Portal{Domain: domain, MemberID: box.ID(), BaseURL: cfg.BaseURL()}
	var opts []delivery.Option
	if cfg.JobRescueAfter > 0 {
		opts = append(opts, delivery.WithRescueAfter(cfg.JobRescueAfter))
	}
	return delivery.New(d, box, httpx.NewOutboundClient(outboundPolicy(cfg)), portal, log, opts...)
}

// StartJobs migrates River's tables and starts the job runner with the
// workers of every package that has jobs and the periodic mail
// collection, then the delivery dispatcher and the automation's
// producers. opts adjust River (tests poll faster). stop ends it all
// gracefully.
func (srv *Server) StartJobs(ctx context.Context, opts ...jobs.Option) (stop func(), err error) {
	d, log := srv.DB, srv.log
	svc := srv.Delivery
	if err := jobs.Migrate(ctx, d); err != nil {
		return nil, fmt.Errorf("app: job queue: %w", err)
	}
	fast := func(c *river.Config) {
		// Deliveries should leave within a fraction of a second of the
		// change; River's default 1 s poll is for batch work. This
		// process's commits that hold a job wake its producer (jobs/wake.go),
		// which fetches at the end of the cooldown: 2 ms (River's minimum
		// is 1). On PostgreSQL 2 against 10 took change → delivered at
		// 500/s from p50 15–18 ms, p99 38–69 to p50 8.2–9.3, p99 27–38
		// (four runs each); on SQLite six interleaved pairs: p50 9.6–10.4
		// → 6.6–7.8 ms in five, p99 lower in four (obmen bench
		// --deliveries, 2 CPUs) — a fetch every 2 ms at most, a few
		// hundred short writes a second against the ~20,000 the writer
		// commits; lead creates with a webhook at the bench's most
		// (--delivery-rate 2000): 1,142/s with 10 ms, 1,117/s with 2.
		c.FetchCooldown, c.FetchPollInterval = 2*time.Millisecond, 50*time.Millisecond
		if d.Dialect == db.SQLite {
			// Every fetch takes the database's write lock away from the
			// CRM's writer, so the safety-net poll is slower there
			// (obmen bench: about 4,250 lead creates/s polling every
			// 50 ms, 4,400 every 200 ms; 100 ms keeps deliveries well
			// inside half a second).
			c.FetchPollInterval = 100 * time.Millisecond
		}
		// On PostgreSQL River's insert notifications are not sent while
		// this process listens (jobs/wake.go): the other instances take
		// its jobs at their poll.
	}
	register := func(w *river.Workers) {
		svc.Register(w)
		srv.Collectors.Register(w)
		srv.Automation.Register(w)
		if srv.Rates != nil {
			srv.Rates.Register(w)
		}
		srv.Notify.Register(w)
		srv.Sites.Register(w)
		srv.Google.Register(w)
		river.AddWorker(w, &sweepFilesWorker{store: srv.Store, log: log})
	}
	periodic := func(c *river.Config) {
		c.PeriodicJobs = append(c.PeriodicJobs, mail.Periodic(srv.mailEvery), notify.Periodic(srv.cfg.NotifyInterval), site.Periodic(srv.cfg.SiteTick), google.Periodic(), sweepFilesPeriodic())
		if srv.Rates != nil {
			c.PeriodicJobs = append(c.PeriodicJobs, currency.Periodic())
		}
	}
	rescue := func(c *river.Config) {
		c.RescueStuckJobsAfter = srv.cfg.JobRescueAfter
		c.JobTimeout = min(c.JobTimeout, c.RescueStuckJobsAfter)
	}
	r, err := jobs.New(ctx, d, log, register, append([]jobs.Option{fast, periodic, rescue, srv.Automation.Queues}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("app: job queue: %w", err)
	}
	// The queue and the dispatcher end by the returned stop, gracefully:
	// River stops hard (cancelling running jobs) when its Start context
	// ends, and the caller's context ends at the first SIGINT — a delivery
	// in flight would be cut after the receiver had it, and sent again
	// after the restart.
	srv.Notify.Start(r) // before the first scan runs
	run := context.WithoutCancel(ctx)
	if err := r.Start(run); err != nil {
		return nil, fmt.Errorf("app: start job queue: %w", err)
	}
	svc.Start(run, r)
	srv.Automation.Start(run, r)
	srv.Google.Start(run, func(ctx context.Context) error {
		return d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			return r.InsertTx(ctx, tx, google.TickArgs{}, &river.InsertOpts{MaxAttempts: 1})
		})
	})
	srv.Calls.Start(run)
	srv.Changes.Start(run)
	srv.Telegram.Start(run)
	srv.VK.Start(run)
	// The outboxes of Facebook and X: queued and rate-limited sends, and
	// the X posts whose answer was lost.
	outboxes, stopOutboxes := context.WithCancel(run)
	var outboxWG sync.WaitGroup
	for _, o := range []interface{ Run(context.Context) }{srv.Facebook, srv.X} {
		outboxWG.Add(1)
		go func() {
			defer outboxWG.Done()
			o.Run(outboxes)
		}()
	}
	return func() {
		stopOutboxes()
		outboxWG.Wait()
		srv.Google.Stop()
		srv.Telegram.Stop()
		srv.VK.Stop()
		srv.Changes.Stop()
		srv.Calls.Stop()
		srv.Automation.Stop()
		svc.Stop()
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.Stop(sctx); err != nil {
			log.Warn("stop job queue", "err", err)
		}
	}, nil
}

// newAutomation builds the bundles' engine with every action registered:
// the CRM's, HTTP and flow actions; connectors add theirs here.
func newAutomation(d *db.DB, s *store.Store, cfg config.Config, box *secret.Box, log *slog.Logger, opts ...automation.Option) (*automation.Service, *connection.Store, error) {
	reg := automation.NewRegistry(nil)
	// Every URL a bundle's step fetches passes the SSRF guard.
	outbound := httpx.NewOutboundClient(outboundPolicy(cfg))
	if err := action.Register(reg, action.Deps{Store: s, HTTP: outbound, PublicURL: cfg.BaseURL()}); err != nil {
		return nil, nil, err
	}
	// The saved connections every connector shares, and the connectors.
	conns := connection.NewStore(d, box, connection.NewRegistry(reg.Messages()))
	conns.SetBaseURL(cfg.BaseURL())
	reg.SetConnections(conns)
	attach := outboundPolicy(cfg)
	attach.MaxResponseBytes = smtp.MaxAttachment + 1
	if err := smtp.Register(conns.Registry(), reg, smtp.Deps{Dialing: smtp.Dialing{Dialer: httpx.NewDialer(outboundPolicy(cfg))},
		HTTP: httpx.NewOutboundClient(attach), Conns: conns, DB: d, Store: s}); err != nil {
		return nil, nil, err
	}
	if err := telephony.Register(conns.Registry(), reg, telephony.Deps{HTTP: outbound, Dialer: httpx.NewDialer(outboundPolicy(cfg)),
		Conns: conns, DB: d}); err != nil {
		return nil, nil, err
	}
	if err := telegram.Register(conns.Registry(), outbound); err != nil {
		return nil, nil, err
	}
	if err := connector.RegisterMessaging(reg); err != nil {
		return nil, nil, err
	}
	if err := vk.Register(conns.Registry(), reg, outbound); err != nil {
		return nil, nil, err
	}
	if err := facebook.Register(conns.Registry(), outbound); err != nil {
		return nil, nil, err
	}
	if err := x.Register(conns.Registry(), outbound); err != nil {
		return nil, nil, err
	}
	if err := retailcrm.Register(conns.Registry(), reg, retailcrm.Deps{HTTP: outbound, Conns: conns, DB: d}); err != nil {
		return nil, nil, err
	}
	if err := bitrix24.Register(conns.Registry(), reg, bitrix24.Deps{HTTP: outbound, Conns: conns, Store: s, DB: d, Box: box, BaseURL: cfg.BaseURL()}); err != nil {
		return nil, nil, err
	}
	if err := calltouch.Register(conns.Registry(), reg, calltouch.Deps{HTTP: outbound, Conns: conns}); err != nil {
		return nil, nil, err
	}
	if err := moysklad.Register(conns.Registry(), reg, moysklad.Deps{HTTP: outbound, Conns: conns, DB: d}); err != nil {
		return nil, nil, err
	}
	// The installation's Google OAuth client; the users' syncs are
	// app.Server.Google.
	if err := google.Register(conns.Registry(), google.Deps{HTTP: outbound, BaseURL: cfg.BaseURL()}); err != nil {
		return nil, nil, err
	}
	return automation.New(d, s, reg, action.NewRecords(s), box, cfg.BaseURL(), log,
		append([]automation.Option{automation.WithStepTimeout(cfg.StepTimeout), automation.WithPollLease(cfg.PollLease), automation.WithHousekeeping(cfg.HousekeepingEvery), automation.WithRateBuckets(store.NewRateBuckets(d))}, opts...)...), conns, nil
}

// bundlesUsing names the bundles whose steps use a connection.
func bundlesUsing(auto *automation.Service) connection.Users {
	return func(ctx context.Context, id int64) ([]string, error) {
		bs, err := auto.UsingConnection(ctx, id)
		if err != nil {
			return nil, err
		}
		names := make([]string, len(bs))
		for i, b := range bs {
			names[i] = b.Name
		}
		return names, nil
	}
}
