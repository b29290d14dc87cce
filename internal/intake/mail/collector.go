// Package mail runs the IMAP mail collectors of lead intake (seed 004):
// each reads ALL messages of its mailbox folder, takes those whose subject
// carries the keyword (ORDER by default), ignores the body, and reads the
// attachments as seed-004 order JSON. Every such message becomes exactly
// one lead, on the collector's user's calendar.
//
// # Exactly once
//
// The message's key — mailbox (login@host:port/folder), UIDVALIDITY, UID,
// and its Message-ID — is written in the transaction that creates the
// lead (or journals the failure). Only after the commit is the message
// flagged and moved. A crash anywhere before the commit leaves no lead and
// no key: the next run takes the message again. A crash after it leaves
// the key: the next run finds it (by UID, or by Message-ID when the
// message was copied or the mailbox's UIDVALIDITY changed) and only
// flags and moves the message. Two runs racing on one message meet on
// the key's primary key; the loser rolls back.
//
// Messages are taken in batches of 100 (one FETCH, up to 8 transactions
// at once, then one STORE and MOVE per outcome), so a crash after the
// commits leaves up to a batch to be flagged by the next run.
//
// # Several attachments
//
// The attachments are tried in MIME order and the FIRST that reads as a
// valid order becomes the lead; the others are not merged (two files of
// one message are two versions of one request far more often than two
// halves of it) and are named in the journal. When none is valid the
// message fails with the first attachment's error (file name, field,
// line); a message with the keyword and no attachment fails too.
package mail

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/intake"
	"github.com/obmen/obmen/internal/intake/order"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
)

// Security of the IMAP connection.
const (
	SecurityTLS      = "tls"
	SecurityStartTLS = "starttls"
	SecurityNone     = "none"
)

// Modes of a collector: what a message must be to become a lead.
const (
	// ModeOrder takes the messages whose subject has the keyword and reads
	// their seed-004 JSON attachment.
	ModeOrder = "order"
	// ModeAny makes a lead of every ordinary e-mail (see letter.go):
	// sender, subject, body and attachments; automatic replies and
	// bounces are skipped and journaled.
	ModeAny = "any"
)

// Flags the collector sets on messages it has handled.
const (
	FlagDone   = imap.Flag("$ObmenDone")
	FlagFailed = imap.Flag("$ObmenFailed")
)

// Collector is one mailbox watched for requests.
type Collector struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Enabled  bool   `json:"enabled"`
	Kind     string `json:"kind"` // site_requests, …: noted on the activity
	Mode     string `json:"mode"` // ModeOrder (default) or ModeAny
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Security string `json:"security"` // tls, starttls, none
	Login    string `json:"login"`
	// Password is write-only: it is stored sealed and never read back.
	Password        string     `json:"password,omitempty"`
	PasswordSet     bool       `json:"password_set"`
	Folder          string     `json:"folder"`
	UserID          int64      `json:"user_id"`
	Keyword         string     `json:"keyword"`
	ProcessedFolder string     `json:"processed_folder"`
	FailedFolder    string     `json:"failed_folder"`
	DeleteAfterDays int        `json:"delete_after_days"`
	LastRunAt       *time.Time `json:"last_run_at"`
	LastError       string     `json:"last_error"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// Mailbox is the collector's part of a message key.
func (c Collector) Mailbox() string {
	return c.Login + "@" + net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) + "/" + c.Folder
}

func (c *Collector) normalize() error {
	c.Name, c.Host, c.Login = strings.TrimSpace(c.Name), strings.TrimSpace(c.Host), strings.TrimSpace(c.Login)
	c.Folder, c.Keyword = strings.TrimSpace(c.Folder), strings.TrimSpace(c.Keyword)
	c.ProcessedFolder, c.FailedFolder = strings.TrimSpace(c.ProcessedFolder), strings.TrimSpace(c.FailedFolder)
	if c.Kind == "" {
		c.Kind = "site_requests"
	}
	c.Mode = strings.TrimSpace(c.Mode)
	if c.Mode == "" {
		c.Mode = ModeOrder
	}
	if c.Mode != ModeOrder && c.Mode != ModeAny {
		return crm.Invalid("mode", "%q is not one of order, any", c.Mode)
	}
	if c.Folder == "" {
		c.Folder = "INBOX"
	}
	if c.Keyword == "" {
		c.Keyword = "ORDER"
	}
	if c.Security == "" {
		c.Security = SecurityTLS
	}
	if c.Port == 0 {
		c.Port = 993
		if c.Security != SecurityTLS {
			c.Port = 143
		}
	}
	switch {
	case c.Name == "":
		return crm.Invalid("name", "required")
	case c.Host == "":
		return crm.Invalid("host", "required")
	case c.Port < 1 || c.Port > 65535:
		return crm.Invalid("port", "must be 1 to 65535")
	case c.Security != SecurityTLS && c.Security != SecurityStartTLS && c.Security != SecurityNone:
		return crm.Invalid("security", "%q is not one of tls, starttls, none", c.Security)
	case c.Login == "":
		return crm.Invalid("login", "required")
	case c.UserID <= 0:
		return crm.Invalid("user_id", "required: the user whose calendar gets the leads")
	case c.DeleteAfterDays < 0:
		return crm.Invalid("delete_after_days", "must not be negative")
	case c.ProcessedFolder != "" && c.ProcessedFolder == c.Folder:
		return crm.Invalid("processed_folder", "must differ from folder")
	case c.FailedFolder != "" && c.FailedFolder == c.Folder:
		return crm.Invalid("failed_folder", "must differ from folder")
	}
	return nil
}

// Service keeps collectors and runs them.
type Service struct {
	in  *intake.Service
	db  *db.DB
	box *secret.Box
	log *slog.Logger

	mu      sync.Mutex
	running map[int64]*sync.Mutex

	// Lease is how long a run holds its collector before another
	// instance may take it (0: 15 minutes): a run of a killed instance
	// is let go after it. A run renews it as it goes (before each batch
	// and each message of a batch), so a long run keeps its collector. The app sets the job's rescue time
	// (OBMEN_JOB_RESCUE_AFTER), the bound of a scheduled run.
	Lease time.Duration

	// afterCommit, set by tests, runs after a message's lead committed and
	// before the message is flagged: an error aborts the run there, as a
	// crash would.
	afterCommit func(uid uint32) error
	// beforeTake, set by tests, runs before a message's write.
	beforeTake func()
	// TLSConfig, when set, is used for TLS and STARTTLS (tests trust
	// their own certificate with it).
	TLSConfig *tls.Config
	// Dialer connects to the mail servers. New sets the guarded dialer of
	// the default policy (no internal addresses); the app sets the one of
	// OBMEN_OUTBOUND_ALLOW, so that a server on the LAN can be allowed.
	Dialer *httpx.Dialer
}

// New returns the collectors' service.
func New(in *intake.Service, box *secret.Box, log *slog.Logger) *Service {
	return &Service{in: in, db: in.Store().DB(), box: box, log: log, running: map[int64]*sync.Mutex{},
		Dialer: httpx.NewDialer(httpx.OutboundPolicy{ConnectTimeout: 20 * time.Second})}
}

// SetAfterCommit installs a test hook (see Service.afterCommit).
func (s *Service) SetAfterCommit(f func(uid uint32) error) { s.afterCommit = f }

const collectorColumns = `id, name, enabled, kind, host, port, security, login, password, folder, user_id, keyword,
	processed_folder, failed_folder, delete_after_days, last_run_at, last_error, created_at, updated_at, mode`

func scanCollector(sc interface{ Scan(...any) error }) (Collector, string, error) {
	var c Collector
	var sealed string
	var last, created, updated int64
	err := sc.Scan(&c.ID, &c.Name, &c.Enabled, &c.Kind, &c.Host, &c.Port, &c.Security, &c.Login, &sealed, &c.Folder, &c.UserID, &c.Keyword,
		&c.ProcessedFolder, &c.FailedFolder, &c.DeleteAfterDays, &last, &c.LastError, &created, &updated, &c.Mode)
	if err != nil {
		return c, "", err
	}
	c.PasswordSet = sealed != ""
	if last != 0 {
		t := time.UnixMicro(last).UTC()
		c.LastRunAt = &t
	}
	c.CreatedAt, c.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return c, sealed, nil
}

// List returns every collector.
func (s *Service) List(ctx context.Context) ([]Collector, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT "+collectorColumns+" FROM intake_collectors ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("mail: list collectors: %w", err)
	}
	defer rows.Close()
	out := []Collector{}
	for rows.Next() {
		c, _, err := scanCollector(rows)
		if err != nil {
			return nil, fmt.Errorf("mail: list collectors: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Get returns a collector.
func (s *Service) Get(ctx context.Context, id int64) (Collector, error) {
	c, _, err := s.get(ctx, id)
	return c, err
}

func (s *Service) get(ctx context.Context, id int64) (Collector, string, error) {
	c, sealed, err := scanCollector(s.db.Read.QueryRowContext(ctx, "SELECT "+collectorColumns+" FROM intake_collectors WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, "", store.NotFound("mail collector", id)
	}
	if err != nil {
		return c, "", fmt.Errorf("mail: collector %d: %w", id, err)
	}
	return c, sealed, nil
}

func (s *Service) checkUser(ctx context.Context, id int64) error {
	if _, err := s.in.Store().GetUser(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return crm.Invalid("user_id", "user %d does not exist", id)
		}
		return err
	}
	return nil
}

// Create stores a new collector with its password sealed.
func (s *Service) Create(ctx context.Context, c Collector) (Collector, error) {
	if err := c.normalize(); err != nil {
		return c, err
	}
	if err := s.checkUser(ctx, c.UserID); err != nil {
		return c, err
	}
	sealed, err := s.seal(c.Password)
	if err != nil {
		return c, err
	}
	now := time.Now().UTC()
	err = s.in.Store().Write(ctx, crm.Actor{}, func(t *store.Tx) error {
		return t.SQL().QueryRowContext(t.Ctx(), `INSERT INTO intake_collectors (name, enabled, kind, host, port, security, login, password, folder,
			user_id, keyword, processed_folder, failed_folder, delete_after_days, created_at, updated_at, mode)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16) RETURNING id`,
			c.Name, c.Enabled, c.Kind, c.Host, c.Port, c.Security, c.Login, sealed, c.Folder, c.UserID, c.Keyword,
			c.ProcessedFolder, c.FailedFolder, c.DeleteAfterDays, now.UnixMicro(), c.Mode).Scan(&c.ID)
	})
	if err != nil {
		return c, fmt.Errorf("mail: create collector: %w", err)
	}
	return s.Get(ctx, c.ID)
}

func (s *Service) seal(pw string) (string, error) {
	if pw == "" {
		return "", nil
	}
	v, err := s.box.Seal(pw)
	if err != nil {
		return "", fmt.Errorf("mail: seal password: %w", err)
	}
	return v, nil
}

// Update replaces a collector's settings; an empty password keeps the
// stored one.
func (s *Service) Update(ctx context.Context, id int64, c Collector) (Collector, error) {
	_, sealed, err := s.get(ctx, id)
	if err != nil {
		return c, err
	}
	if err := c.normalize(); err != nil {
		return c, err
	}
	if err := s.checkUser(ctx, c.UserID); err != nil {
		return c, err
	}
	if c.Password != "" {
		if sealed, err = s.seal(c.Password); err != nil {
			return c, err
		}
	}
	err = s.in.Store().Write(ctx, crm.Actor{}, func(t *store.Tx) error {
		_, err := t.SQL().ExecContext(t.Ctx(), `UPDATE intake_collectors SET name = $1, enabled = $2, kind = $3, host = $4, port = $5, security = $6,
			login = $7, password = $8, folder = $9, user_id = $10, keyword = $11, processed_folder = $12, failed_folder = $13,
			delete_after_days = $14, updated_at = $15, mode = $16 WHERE id = $17`,
			c.Name, c.Enabled, c.Kind, c.Host, c.Port, c.Security, c.Login, sealed, c.Folder, c.UserID, c.Keyword,
			c.ProcessedFolder, c.FailedFolder, c.DeleteAfterDays, time.Now().UTC().UnixMicro(), c.Mode, id)
		return err
	})
	if err != nil {
		return c, fmt.Errorf("mail: update collector %d: %w", id, err)
	}
	return s.Get(ctx, id)
}

// Delete removes a collector; its journal and message keys stay.
func (s *Service) Delete(ctx context.Context, id int64) error {
	if _, _, err := s.get(ctx, id); err != nil {
		return err
	}
	return s.in.Store().Write(ctx, crm.Actor{}, func(t *store.Tx) error {
		_, err := t.SQL().ExecContext(t.Ctx(), "DELETE FROM intake_collectors WHERE id = $1", id)
		return err
	})
}

// Stats count what one run did.
type Stats struct {
	Messages int    `json:"messages"` // in the folder
	Taken    int    `json:"taken"`    // with the keyword, not handled before
	Created  int    `json:"created"`  // leads created
	Failed   int    `json:"failed"`   // refused (journaled, moved to the failed folder)
	Skipped  int    `json:"skipped"`  // automatic replies and bounces (ModeAny; journaled, handled as done)
	Finished int    `json:"finished"` // handled by an earlier run, only flagged/moved now
	Deleted  int    `json:"deleted"`  // old processed messages deleted
	Error    string `json:"error,omitempty"`
}

// RunAll runs every enabled collector in turn; one failing does not stop
// the others.
func (s *Service) RunAll(ctx context.Context) error {
	cs, err := s.List(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if !c.Enabled {
			continue
		}
		if _, err := s.Run(ctx, c.ID); err != nil {
			s.log.Warn("mail collector failed", "collector", c.ID, "name", c.Name, "err", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// Run runs one collector now and records its outcome on it.
func (s *Service) Run(ctx context.Context, id int64) (Stats, error) {
	s.mu.Lock()
	m := s.running[id]
	if m == nil {
		m = &sync.Mutex{}
		s.running[id] = m
	}
	s.mu.Unlock()
	m.Lock()
	defer m.Unlock()

	c, sealed, err := s.get(ctx, id)
	if err != nil {
		return Stats{}, err
	}
	// One run at a time across instances too: two sessions moving the
	// same messages would copy them twice.
	h, err := s.lease(ctx, id)
	if err != nil {
		return Stats{}, err
	}
	defer s.release(ctx, h)
	pw := ""
	if sealed != "" {
		if pw, err = s.box.Open(sealed); err != nil {
			return Stats{}, fmt.Errorf("mail: collector %d: open password: %w", id, err)
		}
	}
	st, runErr := s.run(ctx, h, c, pw)
	if runErr != nil {
		st.Error = runErr.Error()
	}
	werr := s.in.Store().Write(context.WithoutCancel(ctx), crm.Actor{}, func(t *store.Tx) error {
		_, err := t.SQL().ExecContext(t.Ctx(), "UPDATE intake_collectors SET last_run_at = $1, last_error = $2 WHERE id = $3",
			t.Now().UnixMicro(), st.Error, id)
		return err
	})
	if runErr == nil {
		runErr = werr
	}
	return st, runErr
}

// ErrBusy is a collector already being run (by another instance).
var ErrBusy = fmt.Errorf("mail: the collector is running elsewhere: %w", store.ErrConflict)

// leaseFor is the default of Service.Lease.
const leaseFor = 15 * time.Minute

// hold is a run's lease of its collector: until is both when it runs
// out and the token a renewal or release checks (another instance that
// took the collector after it ran out wrote its own).
type hold struct {
	id    int64
	until int64
	at    time.Time // when taken or last renewed
}

func (s *Service) leaseTime() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return leaseFor
}

func (s *Service) lease(ctx context.Context, id int64) (*hold, error) {
	var n int64
	h := &hold{id: id, at: time.Now()}
	err := s.in.Store().Write(ctx, crm.Actor{}, func(t *store.Tx) error {
		now := t.Now().UnixMicro()
		h.until = now + s.leaseTime().Microseconds()
		res, err := t.SQL().ExecContext(t.Ctx(), "UPDATE intake_collectors SET lease_until = $1 WHERE id = $2 AND lease_until < $3",
			h.until, id, now)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mail: lease collector %d: %w", id, err)
	}
	if n == 0 {
		return nil, ErrBusy
	}
	return h, nil
}

// renew extends a run's lease when a third of it has passed; ErrBusy
// when it ran out and another instance took the collector (the run
// stops: two sessions moving the same messages would copy them twice).
func (s *Service) renew(ctx context.Context, h *hold) error {
	if time.Since(h.at) < s.leaseTime()/3 {
		return nil
	}
	var n int64
	until := int64(0)
	err := s.in.Store().Write(ctx, crm.Actor{}, func(t *store.Tx) error {
		until = t.Now().UnixMicro() + s.leaseTime().Microseconds()
		res, err := t.SQL().ExecContext(t.Ctx(), "UPDATE intake_collectors SET lease_until = $1 WHERE id = $2 AND lease_until = $3", until, h.id, h.until)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("mail: renew the lease of collector %d: %w", h.id, err)
	}
	if n == 0 {
		return ErrBusy
	}
	h.until, h.at = until, time.Now()
	return nil
}

// release lets the collector go, if the lease is still this run's.
func (s *Service) release(ctx context.Context, h *hold) {
	err := s.in.Store().Write(context.WithoutCancel(ctx), crm.Actor{}, func(t *store.Tx) error {
		_, err := t.SQL().ExecContext(t.Ctx(), "UPDATE intake_collectors SET lease_until = 0 WHERE id = $1 AND lease_until = $2", h.id, h.until)
		return err
	})
	if err != nil {
		s.log.Warn("mail: release collector", "collector", h.id, "err", err)
	}
}

// dial connects to the collector's server through the guarded dialer (a
// collector cannot be pointed at an internal or metadata address to have
// Obmen send it a login and password), then speaks TLS as the collector
// says.
func (s *Service) dial(c Collector) (*imapclient.Client, error) {
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	opts := &imapclient.Options{WordDecoder: wordDecoder}
	if s.TLSConfig != nil {
		opts.TLSConfig = s.TLSConfig.Clone()
	} else {
		opts.TLSConfig = &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := s.Dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	switch c.Security {
	case SecurityTLS:
		cfg := opts.TLSConfig.Clone()
		if cfg.NextProtos == nil {
			cfg.NextProtos = []string{"imap"}
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		return imapclient.New(tc, opts), nil
	case SecurityStartTLS:
		cl, err := imapclient.NewStartTLS(conn, opts)
		if err != nil {
			conn.Close()
		}
		return cl, err
	default:
		return imapclient.New(conn, opts), nil
	}
}

// message is what the first pass learns of a message.
type message struct {
	uid       imap.UID
	subject   string
	messageID string
	flags     []imap.Flag
}

func hasFlag(fs []imap.Flag, f imap.Flag) bool {
	for _, x := range fs {
		if strings.EqualFold(string(x), string(f)) {
			return true
		}
	}
	return false
}

func (s *Service) run(ctx context.Context, h *hold, c Collector, password string) (Stats, error) {
	var st Stats
	cl, err := s.dial(c)
	if err != nil {
		return st, fmt.Errorf("mail: connect to %s:%d: %w", c.Host, c.Port, err)
	}
	defer cl.Close()
	stop := context.AfterFunc(ctx, func() { cl.Close() })
	defer stop()
	if err := cl.Login(c.Login, password).Wait(); err != nil {
		return st, fmt.Errorf("mail: log in as %s: %w", c.Login, err)
	}
	sel, err := cl.Select(c.Folder, nil).Wait()
	if err != nil {
		return st, fmt.Errorf("mail: select %s: %w", c.Folder, err)
	}
	st.Messages = int(sel.NumMessages)
	for _, f := range []string{c.ProcessedFolder, c.FailedFolder} {
		if f != "" {
			ensureFolder(cl, f)
		}
	}
	if sel.NumMessages > 0 {
		if err := s.collect(ctx, h, cl, c, sel.UIDValidity, &st); err != nil {
			return st, err
		}
	}
	if c.DeleteAfterDays > 0 {
		n, err := deleteOld(cl, c)
		st.Deleted = n
		if err != nil {
			return st, err
		}
	}
	_ = cl.Logout().Wait()
	return st, nil
}

// ensureFolder creates a folder; an existing one is fine.
func ensureFolder(cl *imapclient.Client, name string) {
	_ = cl.Create(name, nil).Wait()
}

// collect handles every message of the selected folder.
func (s *Service) collect(ctx context.Context, h *hold, cl *imapclient.Client, c Collector, uidValidity uint32, st *Stats) error {
	hdr := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject", "Message-ID"}, Peek: true}
	bufs, err := cl.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{hdr}}).Collect()
	if err != nil {
		return fmt.Errorf("mail: fetch headers of %s: %w", c.Folder, err)
	}
	var todo []message
	for _, b := range bufs {
		m := message{uid: b.UID, flags: b.Flags}
		raw := b.FindBodySection(hdr)
		m.subject, m.messageID = headerValues(raw)
		if c.Mode != ModeAny && !HasKeyword(m.subject, c.Keyword) {
			continue // not a request: left alone
		}
		if c.ProcessedFolder == "" && hasFlag(m.flags, FlagDone) || c.FailedFolder == "" && hasFlag(m.flags, FlagFailed) {
			continue // handled and kept here
		}
		todo = append(todo, m)
	}
	mailbox := c.Mailbox()
	for len(todo) > 0 {
		if err := s.renew(ctx, h); err != nil {
			return err
		}
		n := min(len(todo), batchSize)
		if err := s.batch(ctx, h, cl, c, mailbox, uidValidity, todo[:n], st); err != nil {
			return err
		}
		todo = todo[n:]
	}
	return nil
}

// Messages are handled in batches: one FETCH of their bodies, their leads
// written by several goroutines at once (the database commits them
// together), then one STORE and one MOVE per outcome.
const (
	batchSize = 100
	takers    = 8
)

func (s *Service) batch(ctx context.Context, h *hold, cl *imapclient.Client, c Collector, mailbox string, uidValidity uint32, ms []message, st *Stats) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	outcome := make(map[imap.UID]string, len(ms))
	var fresh []message
	var set imap.UIDSet
	for _, m := range ms {
		o, err := s.known(ctx, mailbox, uidValidity, m)
		if err != nil {
			return err
		}
		if o != "" {
			outcome[m.uid] = o
			st.Finished++
			continue
		}
		fresh = append(fresh, m)
		set.AddNum(m.uid)
	}
	if len(fresh) > 0 {
		body := &imap.FetchItemBodySection{Peek: true}
		bufs, err := cl.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{body}}).Collect()
		if err != nil {
			return fmt.Errorf("mail: fetch messages of %s: %w", c.Folder, err)
		}
		raw := make(map[imap.UID][]byte, len(bufs))
		for _, b := range bufs {
			raw[b.UID] = b.FindBodySection(body)
		}
		results := make([]string, len(fresh))
		errs := make([]error, len(fresh))
		var wg sync.WaitGroup
		next := make(chan int)
		for range min(takers, len(fresh)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					m := fresh[i]
					r, ok := raw[m.uid]
					if !ok {
						errs[i] = fmt.Errorf("mail: message %d vanished", m.uid)
						continue
					}
					results[i], errs[i] = s.take(ctx, c, mailbox, uidValidity, m, r)
				}
			}()
		}
		// The lease is renewed as each message is handed out, not only
		// between batches: a slow batch (big letters, a slow database)
		// would let it run out, and another instance take the collector
		// mid-batch. renew writes only once a third of the lease passed.
		var leaseErr error
		for i := range fresh {
			if leaseErr = s.renew(ctx, h); leaseErr != nil {
				break
			}
			next <- i
		}
		close(next)
		wg.Wait()
		if leaseErr != nil {
			return leaseErr
		}
		for i, m := range fresh {
			if errs[i] != nil {
				// Those committed are flagged by the next run, which
				// finds their keys.
				return errs[i]
			}
			st.Taken++
			switch results[i] {
			case intake.OutcomeCreated, intake.OutcomeDuplicate:
				st.Created++
			case intake.OutcomeSkipped:
				st.Skipped++
			default:
				st.Failed++
			}
			outcome[m.uid] = results[i]
			if s.afterCommit != nil {
				if err := s.afterCommit(uint32(m.uid)); err != nil {
					return err
				}
			}
		}
	}
	var done, failed imap.UIDSet
	for _, m := range ms {
		if o := outcome[m.uid]; o == intake.OutcomeCreated || o == intake.OutcomeSkipped || o == intake.OutcomeDuplicate {
			done.AddNum(m.uid)
		} else {
			failed.AddNum(m.uid)
		}
	}
	if err := finish(cl, done, FlagDone, c.ProcessedFolder); err != nil {
		return err
	}
	return finish(cl, failed, FlagFailed, c.FailedFolder)
}

// headerValues reads Subject and Message-ID from a header block.
func headerValues(raw []byte) (subject, messageID string) {
	for _, line := range unfold(string(raw)) {
		name, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "subject":
			subject = DecodeHeader(strings.TrimSpace(v))
		case "message-id":
			messageID = strings.TrimSpace(v)
		}
	}
	return subject, messageID
}

func unfold(h string) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(h, "\r\n", "\n"), "\n") {
		if (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) && len(out) > 0 {
			out[len(out)-1] += " " + strings.TrimSpace(l)
			continue
		}
		out = append(out, l)
	}
	return out
}

// known returns the outcome recorded for a message by an earlier run, or
// "" when it is new.
func (s *Service) known(ctx context.Context, mailbox string, uidValidity uint32, m message) (string, error) {
	var outcome string
	err := s.db.Read.QueryRowContext(ctx, `SELECT outcome FROM intake_mail_keys WHERE mailbox = $1 AND
		((uid_validity = $2 AND uid = $3) OR (message_id <> '' AND message_id = $4)) LIMIT 1`,
		mailbox, int64(uidValidity), int64(m.uid), m.messageID).Scan(&outcome)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("mail: look up message key: %w", err)
	}
	return outcome, nil
}

// take fetches a new message, turns it into a lead or a journaled
// failure, and records its key in that same transaction.
func (s *Service) take(ctx context.Context, c Collector, mailbox string, uidValidity uint32, m message, raw []byte) (string, error) {
	if s.beforeTake != nil {
		s.beforeTake()
	}
	src := intake.Source{Kind: intake.SourceMail, ID: c.ID, UserID: c.UserID, Actor: crm.Actor{Integration: crm.IntegrationMail},
		Ref: fmt.Sprintf("%s uidvalidity %d uid %d %s", mailbox, uidValidity, m.uid, m.messageID), Note: "Сборщик почты: " + c.Name + " (" + c.Kind + ")"}
	record := func(t *store.Tx, outcome string, journalID int64) error {
		_, err := t.SQL().ExecContext(t.Ctx(), `INSERT INTO intake_mail_keys (mailbox, uid_validity, uid, message_id, outcome, journal_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, mailbox, int64(uidValidity), int64(m.uid), m.messageID, outcome, journalID, t.Now().UnixMicro())
		if db.IsUniqueViolation(err) {
			return fmt.Errorf("mail: message %d taken by another run: %w", m.uid, store.ErrConflict)
		}
		return err
	}
	src.OnFail = func(t *store.Tx, journalID int64) error { return record(t, intake.OutcomeFailed, journalID) }
	if c.Mode == ModeAny {
		return s.settle(ctx, c, mailbox, uidValidity, m, s.takeLetter(ctx, src, raw, record))
	}
	o, note, err := pick(raw)
	if err != nil {
		err = s.in.Fail(ctx, src, err)
	} else {
		if note != "" {
			src.Ref += " (" + note + ")"
		}
		_, err = s.in.CreateLead(ctx, src, o, func(t *store.Tx, r *intake.Result) error {
			return record(t, intake.OutcomeCreated, r.JournalID)
		})
		if err == nil {
			return intake.OutcomeCreated, nil
		}
	}
	return s.settle(ctx, c, mailbox, uidValidity, m, outcomeErr{"", err})
}

// outcomeErr is what taking a message came to: an outcome, or an error.
type outcomeErr struct {
	outcome string
	err     error
}

// settle turns a take's error into the message's outcome: another run's
// when it took the message first, failed when the content was refused
// (journaled), else the error.
func (s *Service) settle(ctx context.Context, c Collector, mailbox string, uidValidity uint32, m message, r outcomeErr) (string, error) {
	err := r.err
	if err == nil {
		return r.outcome, nil
	}
	if errors.Is(err, store.ErrConflict) {
		// Another run took the message first: its outcome stands.
		o, kerr := s.known(context.WithoutCancel(ctx), mailbox, uidValidity, m)
		if kerr != nil || o == "" {
			return "", fmt.Errorf("mail: message %d: %w", m.uid, errors.Join(err, kerr))
		}
		return o, nil
	}
	if _, ok := intake.AsFault(err); ok {
		s.log.Info("mail: message refused", "collector", c.ID, "uid", m.uid, "err", err)
		return intake.OutcomeFailed, nil
	}
	return "", err
}

// attachmentFault wraps the fault of a named attachment.
type attachmentFault struct {
	name string
	err  error
}

func (a *attachmentFault) Error() string {
	return "attachment " + strconv.Quote(a.name) + ": " + a.err.Error()
}
func (a *attachmentFault) Unwrap() error { return a.err }

// AttachmentName lets the journal name the file at fault.
func (a *attachmentFault) AttachmentName() string { return a.name }

// pick reads the attachments and returns the first valid order (see the
// package comment), with a note naming the attachments passed over.
func pick(raw []byte) (order.Order, string, error) {
	atts, err := Attachments(raw)
	if err != nil {
		return order.Order{}, "", &intake.Fault{Field: "message", Message: err.Error()}
	}
	if len(atts) == 0 {
		return order.Order{}, "", &intake.Fault{Field: "attachment", Message: "the message has no attachment"}
	}
	var first error
	var skipped []string
	for _, a := range atts {
		o, err := order.Parse(a.Data, a.Charset, order.Options{})
		if err == nil {
			note := ""
			if len(skipped) > 0 || len(atts) > 1 {
				note = fmt.Sprintf("order from %q; %d other attachment(s) ignored", a.Name, len(atts)-1)
			}
			return o, note, nil
		}
		if first == nil {
			first = &attachmentFault{name: a.Name, err: err}
		}
		skipped = append(skipped, a.Name)
	}
	return order.Order{}, "", first
}

// finish flags handled messages and moves them to their folder.
func finish(cl *imapclient.Client, set imap.UIDSet, flag imap.Flag, folder string) error {
	if len(set) == 0 {
		return nil
	}
	if err := cl.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen, flag}}, nil).Close(); err != nil {
		return fmt.Errorf("mail: flag messages %s: %w", set, err)
	}
	if folder != "" {
		if _, err := cl.Move(set, folder).Wait(); err != nil {
			return fmt.Errorf("mail: move messages %s to %s: %w", set, folder, err)
		}
	}
	return nil
}

// deleteOld deletes processed messages older than the collector's limit:
// from the processed folder, or, without one, the flagged ones in the
// collector's folder.
func deleteOld(cl *imapclient.Client, c Collector) (int, error) {
	folder := c.ProcessedFolder
	if folder == "" {
		folder = c.Folder
	}
	if _, err := cl.Select(folder, nil).Wait(); err != nil {
		return 0, fmt.Errorf("mail: select %s: %w", folder, err)
	}
	before := time.Now().AddDate(0, 0, -c.DeleteAfterDays)
	data, err := cl.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{FlagDone}, Before: before}, nil).Wait()
	if err != nil {
		return 0, fmt.Errorf("mail: search old messages in %s: %w", folder, err)
	}
	uids := data.AllUIDs()
	if len(uids) == 0 {
		return 0, nil
	}
	set := imap.UIDSetNum(uids...)
	if err := cl.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		return 0, fmt.Errorf("mail: delete old messages in %s: %w", folder, err)
	}
	if err := cl.UIDExpunge(set).Close(); err != nil {
		return 0, fmt.Errorf("mail: expunge old messages in %s: %w", folder, err)
	}
	return len(uids), nil
}
