package site

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/commerceml/client"
	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
)

// Kinds of run.
const (
	KindCatalog = "catalog"
	KindOrders  = "orders"
)

// DirSite is the journal direction of the runs ("с сайтом" in the UI).
const DirSite = exchange.DirSite

// LeaseFor is how long a run holds its site before another instance may
// take it over, unless SetLease says otherwise: a running one renews it
// every quarter of it, so a run killed mid-upload frees the site within
// it and the next run starts clean.
const LeaseFor = 2 * time.Minute

// runTimeout bounds one run (a large catalog on a slow site).
const runTimeout = 2 * time.Hour

// MaxAnswerBytes caps one answer of a site: mode=query sends every order
// not yet taken in one document, megabytes on a busy shop, which the
// outbound client's default cap (for small API answers) would refuse.
const MaxAnswerBytes = 128 << 20

// Service runs the exchanges with sites.
type Service struct {
	Store    *Store
	st       *store.Store
	db       *db.DB
	http     *http.Client
	log      *slog.Logger
	dir      string
	now      func() time.Time
	leaseFor time.Duration
	// answerWait is how long "Run now" over the API waits for the run's
	// end before it answers with the journal entry of a run still going.
	answerWait time.Duration
}

// New returns the service; hc must be the SSRF-guarded outbound client
// (httpx.NewOutboundClient) allowing answers of MaxAnswerBytes; dir keeps
// the files of the runs.
func New(st *store.Store, ss *Store, hc *http.Client, dir string, log *slog.Logger) *Service {
	return &Service{Store: ss, st: st, db: st.DB(), http: hc, log: log, dir: dir, now: func() time.Time { return time.Now().UTC() }, leaseFor: LeaseFor, answerWait: AnswerWait}
}

// AnswerWait is how long "Run now" over the API waits for the run to
// finish: below the server's write timeout (2 min), so that a large
// catalog's run is answered with its journal entry (202, status
// "running") instead of a cut connection; the run goes on.
const AnswerWait = 90 * time.Second

// SetAnswerWait sets how long "Run now" over the API waits (tests).
func (s *Service) SetAnswerWait(d time.Duration) {
	if d > 0 {
		s.answerWait = d
	}
}

// SetLease sets how long a run holds its site (config SiteLease; tests
// that kill a run use a short one). All instances on a database should
// use the same.
func (s *Service) SetLease(d time.Duration) {
	if d > 0 {
		s.leaseFor = d
	}
}

// CheckResult is the answer of "check connection".
type CheckResult struct {
	OK        bool   `json:"ok"`
	Zip       bool   `json:"zip"`
	FileLimit int64  `json:"file_limit"`
	Error     string `json:"error,omitempty"`
}

func (s *Service) client(set Settings) *client.Client {
	return &client.Client{URL: set.URL, Login: set.Login, Password: set.Password, HTTP: s.http}
}

// Check signs in to the site and asks its parameters (checkauth + init).
func (s *Service) Check(ctx context.Context, set Settings) CheckResult {
	c := s.client(set)
	if err := c.Checkauth(ctx, "catalog"); err != nil {
		return CheckResult{Error: err.Error()}
	}
	zip, limit, err := c.Init(ctx, "catalog")
	if err != nil {
		return CheckResult{Error: err.Error()}
	}
	return CheckResult{OK: true, Zip: zip, FileLimit: limit}
}

// Count is what happened to the records of one entity in a run.
type Count struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
	Sent    int `json:"sent,omitempty"`
}

// RunResult is the answer of a run: its journal entry and what it did.
type RunResult struct {
	EntryID int64             `json:"entry_id"`
	Kind    string            `json:"kind"`
	Status  string            `json:"status"`
	Counts  map[string]*Count `json:"counts"`
	Files   []string          `json:"files"`
	Error   string            `json:"error,omitempty"`
	// Problems are what the run did not stop for but the user should
	// fix (e.g. no company set as the catalog's owner); the journal
	// entry lists them.
	Problems []string `json:"problems,omitempty"`
	// events is the last change event when a catalog run began: a
	// successful one covers what came before it.
	events int64
	// pictures are the picture files a catalog run wrote (import_files/…),
	// sums their bytes' sha256 by name.
	pictures []string
	sums     map[string]string
	// unchanged: a catalog run found nothing to send (nothing changed,
	// or no goods at all).
	unchanged bool
}

func (r *RunResult) of(entity string) *Count {
	if r.Counts[entity] == nil {
		r.Counts[entity] = &Count{}
	}
	return r.Counts[entity]
}

// errBusy: another run of the same kind holds the site.
var errBusy = errors.New("another run of this kind is under way for this site")

// lease takes the site for a run of kind; false when another holds it.
func (s *Service) lease(ctx context.Context, id int64, kind string) (bool, error) {
	now := s.now().UnixMicro()
	var n int64
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE site_exchanges SET "+kind+"_lease = $1 WHERE id = $2 AND "+kind+"_lease < $3",
			now+s.leaseFor.Microseconds(), id, now)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n == 1, err
}

// renew keeps the run's lease while it works; the returned func stops it.
func (s *Service) renew(ctx context.Context, id int64, kind string) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.leaseFor / 4)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, "UPDATE site_exchanges SET "+kind+"_lease = $1 WHERE id = $2", s.now().Add(s.leaseFor).UnixMicro(), id)
					return err
				})
				if err != nil && ctx.Err() == nil {
					s.log.Warn("site exchange: renew the lease", "site", id, "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// Run runs the exchange of kind with the site now and journals it; the
// answer comes when the run has finished.
func (s *Service) Run(ctx context.Context, id int64, kind string) (RunResult, error) {
	return s.run(ctx, id, kind, nil)
}

// StatusRunning is the status of RunNow's answer for a run still going.
const StatusRunning = "running"

// RunNow is "Run now" of the API and the UI: Run, but answered after
// the service's answer wait (AnswerWait) with the run's journal entry
// and StatusRunning if it has not finished by then; it goes on, its
// caller gone or not.
func (s *Service) RunNow(ctx context.Context, id int64, kind string) (RunResult, error) {
	type outcome struct {
		res RunResult
		err error
	}
	done, begun := make(chan outcome, 1), make(chan int64, 1)
	go func() {
		res, err := s.run(context.WithoutCancel(ctx), id, kind, func(e int64) { begun <- e })
		done <- outcome{res, err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-time.After(s.answerWait):
		select {
		case e := <-begun:
			return RunResult{EntryID: e, Kind: kind, Status: StatusRunning, Counts: map[string]*Count{}, Files: []string{}}, nil
		case o = <-done:
		}
	}
	return o.res, o.err
}

// run is Run; begun, when not nil, is told the journal entry as soon as
// the run has one.
func (s *Service) run(ctx context.Context, id int64, kind string, begun func(entry int64)) (RunResult, error) {
	set, err := s.Store.Open(ctx, id)
	if err != nil {
		return RunResult{}, err
	}
	ok, err := s.lease(ctx, id, kind)
	if err != nil {
		return RunResult{}, fmt.Errorf("site exchange %d: %w", id, err)
	}
	if !ok {
		return RunResult{}, fmt.Errorf("site exchange %d: %s: %w", id, kind, errBusy)
	}
	// The run finishes and is journaled even if the caller goes away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), runTimeout)
	defer cancel()
	started := s.now().UnixMicro()
	stop := s.renew(ctx, id, kind)
	defer stop()
	// The journal's type: the protocol's type= of the run.
	typ := "catalog"
	if kind == KindOrders {
		typ = "sale"
	}
	// What a run killed before its end left "running" in the journal is
	// closed as interrupted: this run holds the lease, so none is alive.
	if err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE cml_exchanges SET status = 'failure', finished_at = $1, error = $2
			WHERE site_id = $3 AND direction = $4 AND type = $5 AND status = 'running'`,
			s.now().UnixMicro(), "interrupted: the server stopped during the run; the next run starts over", id, DirSite, typ)
		return err
	}); err != nil {
		return RunResult{}, fmt.Errorf("site exchange %d: journal: %w", id, err)
	}
	res := RunResult{Kind: kind, Counts: map[string]*Count{}, Files: []string{}}
	res.EntryID, err = s.begin(ctx, id, typ)
	if err != nil {
		return res, err
	}
	if begun != nil {
		begun(res.EntryID)
	}
	dir := filepath.Join(s.dir, "site", fmt.Sprint(id), fmt.Sprint(res.EntryID))
	var runErr error
	if err := os.MkdirAll(dir, 0o700); err != nil {
		runErr = fmt.Errorf("site exchange: %w", err)
	} else if kind == KindCatalog {
		if runErr = s.db.Read.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM events").Scan(&res.events); runErr == nil {
			runErr = s.runCatalog(ctx, set, dir, &res)
		}
	} else {
		runErr = s.runOrders(ctx, set, dir, &res)
	}
	stop() // before end frees the lease, so that no renewal takes it back
	res.Status = "success"
	if runErr != nil {
		res.Status, res.Error = "failure", runErr.Error()
		s.log.Warn("site exchange: run failed", "site", id, "kind", kind, "err", runErr)
	}
	if err := s.end(ctx, id, kind, dir, started, &res); err != nil {
		return res, err
	}
	s.sweep(ctx, id, set.KeepDays)
	return res, nil
}

// sweep removes the files of the site's runs older than keepDays and
// takes them off their journal entries (which stay), so that the journal
// never offers a file that is gone; a run still going keeps its files.
func (s *Service) sweep(ctx context.Context, siteID int64, keepDays int) {
	root := filepath.Join(s.dir, "site", fmt.Sprint(siteID))
	cut := s.now().AddDate(0, 0, -max(keepDays, 1))
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE cml_exchanges SET file_path = '' WHERE site_id = $1 AND started_at < $2 AND status <> $3 AND file_path <> ''", siteID, cut.UnixMicro(), StatusRunning)
		return err
	})
	if err != nil {
		s.log.Warn("site exchange: forget old files", "site", siteID, "err", err)
		return
	}
	des, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, de := range des {
		if fi, err := de.Info(); err == nil && de.IsDir() && fi.ModTime().Before(cut) {
			if err := os.RemoveAll(filepath.Join(root, de.Name())); err != nil {
				s.log.Warn("site exchange: remove old files", "dir", de.Name(), "err", err)
			}
		}
	}
}

// begin opens the run's journal entry.
func (s *Service) begin(ctx context.Context, siteID int64, typ string) (int64, error) {
	var id int64
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO cml_exchanges (session_id, type, direction, filename, status, started_at, site_id)
			VALUES ($1, $2, $3, '', 'running', $4, $5) RETURNING id`, fmt.Sprintf("site-%d", siteID), typ, DirSite, s.now().UnixMicro(), siteID).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("site exchange: journal: %w", err)
	}
	return id, nil
}

// end closes the run's journal entry, counts the consecutive failures,
// moves the cursor of a successful run and frees the lease.
func (s *Service) end(ctx context.Context, siteID int64, kind, dir string, started int64, res *RunResult) error {
	counts := map[string]any{}
	for k, v := range res.Counts {
		counts[k] = v
	}
	c, _ := json.Marshal(counts)
	problems := res.Problems
	if problems == nil {
		problems = []string{}
	}
	p, _ := json.Marshal(problems)
	var size int64
	for _, f := range res.Files {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil {
			size += st.Size()
		}
	}
	// The journal's file (GET /api/v1/exchanges/{id}/file) is what went
	// to the site: the archive when zipped, else the first document.
	filename, path := "", ""
	for _, f := range res.Files {
		if filename == "" || strings.HasSuffix(f, ".zip") {
			filename, path = f, filepath.Join(dir, f)
		}
	}
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE cml_exchanges SET status = $1, finished_at = $2, counts = $3, problems = $9, error = $4,
			filename = $5, file_path = $6, file_size = $7 WHERE id = $8`,
			res.Status, s.now().UnixMicro(), string(c), res.Error, filename, path, size, res.EntryID, string(p)); err != nil {
			return err
		}
		fail := "0"
		if res.Status != "success" {
			fail = kind + "_failures + 1"
		} else if kind == KindCatalog {
			// "Only changed" exports next time what changed after this
			// run began.
			if _, err := tx.ExecContext(ctx, "UPDATE site_exchanges SET catalog_cursor = $1, catalog_events = $2 WHERE id = $3", started, res.events, siteID); err != nil {
				return err
			}
			if err := recordPictures(ctx, tx, siteID, res); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, "UPDATE site_exchanges SET "+kind+"_failures = "+fail+", "+kind+"_lease = 0 WHERE id = $1", siteID)
		return err
	})
	if err != nil {
		return fmt.Errorf("site exchange: journal: %w", err)
	}
	return nil
}

// recordPictures keeps what pictures the site now has from a successful
// catalog run (site_pictures): "only changed" sends what it lacks.
func recordPictures(ctx context.Context, tx *sql.Tx, siteID int64, res *RunResult) error {
	for _, name := range res.pictures {
		if _, err := tx.ExecContext(ctx, `INSERT INTO site_pictures (site_id, name, sha256) VALUES ($1, $2, $3)
			ON CONFLICT (site_id, name) DO UPDATE SET sha256 = excluded.sha256`, siteID, name, res.sums[name]); err != nil {
			return fmt.Errorf("picture %s: %w", name, err)
		}
	}
	return nil
}
