package exchange

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// CookieName is the session cookie handed to 1C by checkauth.
const CookieName = "obmen_1c"

// sessionTTL is how long a 1C session stays valid after checkauth.
const sessionTTL = 24 * time.Hour

// Options configure the service.
type Options struct {
	// Dir holds the uploads, one directory per session, and the raw
	// files kept for the journal.
	Dir string
	// AuthLimiter limits checkauth per client address; nil: 10 at once,
	// then one every 6 s.
	AuthLimiter *httpx.Limiter
	// SweepEvery is how often old files and sessions are swept (0:
	// hourly), by one instance of those on the database.
	SweepEvery time.Duration
}

// Service serves /1c_exchange.php and the journal.
type Service struct {
	store      *store.Store
	db         *db.DB
	log        *slog.Logger
	dir        string
	limiter    *httpx.Limiter
	now        func() time.Time
	sweepEvery time.Duration

	// ctx is the life of the server: imports run under it, not under
	// the request that started them.
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	runs   map[int64]*run // journal entry id → import under way
	wg     sync.WaitGroup
	// switchMu: one switch at a time.
	switchMu sync.Mutex
	// maxHold is the longest write the exchange has held (ns), lastSwitch
	// the last switch's time (ns): the benchmark reports them.
	maxHold, lastSwitch atomic.Int64
	// lastSteps: how long each step of the last switch took.
	lastSteps atomic.Value
	// switchChunk: the staged products, and the goods of staged offers,
	// one write of a switch applies (defaultSwitchChunk; tests set less).
	switchChunk int
	// afterChunk, when set (tests), is called after each committed write
	// of a switch; an error stops the switch there as a crash would.
	afterChunk func(ctx context.Context, phase string, n int) error
}

// DefaultAuthLimiter limits checkauth per address: 10 at once, then one
// every 6 s.
func DefaultAuthLimiter() *httpx.Limiter { return httpx.NewLimiter(6*time.Second, 10) }

// New returns the service.
func New(st *store.Store, log *slog.Logger, opt Options) *Service {
	lim := opt.AuthLimiter
	if lim == nil {
		lim = DefaultAuthLimiter()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{store: st, db: st.DB(), log: log, dir: opt.Dir, limiter: lim,
		now: func() time.Time { return time.Now().UTC() }, ctx: ctx, cancel: cancel, runs: map[int64]*run{},
		switchChunk: defaultSwitchChunk, sweepEvery: opt.SweepEvery}
	if s.sweepEvery <= 0 {
		s.sweepEvery = db.DefaultDutyEvery
	}
	s.wg.Add(1)
	go s.sweeper()
	return s
}

// SetAuthLimiter replaces the checkauth rate limiter (per client
// address); tests use it to sign in often.
func (s *Service) SetAuthLimiter(l *httpx.Limiter) { s.limiter = l }

// Close stops the imports under way; they resume on the next call.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

type session struct {
	ID     string
	UserID int64
	Cursor int64
	// KeyID is the API key checkauth was given: revoking it ends the
	// session. Uploaded is what the session uploaded so far (its quota).
	KeyID    int64
	Uploaded int64
	// User is who 1C signed in as, read again at every call.
	User crm.User
}

func (s *Service) sessionDir(id string) string { return filepath.Join(s.dir, "sessions", id) }

func answer(w http.ResponseWriter, lines ...string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(strings.Join(lines, "\n") + "\n"))
}

// fail answers 1C's failure: the first line is the word, the second the
// reason 1C shows in its log. 1C reads the body, so the status is 200.
func fail(w http.ResponseWriter, reason string) {
	answer(w, "failure", strings.ReplaceAll(reason, "\n", " "))
}

// ServeHTTP is /1c_exchange.php.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	typ, mode := q.Get("type"), q.Get("mode")
	set, err := LoadSettings(ctx, s.store)
	if err != nil {
		s.log.Error("exchange: settings", "err", err)
		fail(w, "exchange settings unreadable")
		return
	}
	if !set.Enabled {
		fail(w, "exchange disabled")
		return
	}
	if typ != "catalog" && typ != "sale" {
		fail(w, fmt.Sprintf("type must be catalog or sale, not %q", typ))
		return
	}
	if mode == "checkauth" {
		s.checkauth(w, r)
		return
	}
	sess, err := s.session(r)
	if err != nil {
		fail(w, err.Error())
		return
	}
	// Checked at every call, not only at checkauth: a permission taken
	// back, a user disabled or a key revoked stops the session's next
	// call. What the call reads and changes is limited to what the user
	// may see and change, as on the REST API.
	sctx, err := s.authorize(ctx, &sess, typ)
	if err != nil {
		if !errors.Is(err, errRefused) {
			s.log.Error("exchange: authorize", "err", err)
			fail(w, "internal error")
			return
		}
		fail(w, s.failed(ctx, sess.ID, typ, q.Get("filename"), err))
		return
	}
	r = r.WithContext(sctx)
	switch mode {
	case "init":
		zip := "no"
		if set.Zip {
			zip = "yes"
		}
		answer(w, "zip="+zip, "file_limit="+strconv.FormatInt(set.FileLimit, 10), "sessid="+sess.ID, "version="+set.Version)
	case "file":
		s.file(w, r, sess, typ, set)
	case "import":
		if typ == "catalog" {
			s.importCatalog(w, r, sess, set)
		} else {
			s.importSale(w, r, sess, set, q.Get("filename"))
		}
	case "query":
		if typ != "sale" {
			fail(w, "mode=query is for type=sale")
			return
		}
		s.query(w, r, sess, set)
	case "success":
		if typ != "sale" {
			answer(w, "success")
			return
		}
		s.confirm(w, r, sess)
	case "deactivate":
		// Newer 1C versions, after a full catalog: the goods it did not
		// send are to be hidden.
		if typ != "catalog" {
			answer(w, "success")
			return
		}
		s.deactivateMode(w, r, sess, set)
	case "complete":
		// The end of the exchange: what is still staged goes in.
		s.complete(w, r, sess, set)
	default:
		fail(w, fmt.Sprintf("unknown mode %q", mode))
	}
}

// checkauth: HTTP Basic, the password is the user's API key.
func (s *Service) checkauth(w http.ResponseWriter, r *http.Request) {
	ip := httpx.ClientIP(r)
	if ok, _ := s.limiter.Allow(r.Context(), ip); !ok {
		s.log.Warn("exchange: checkauth rate-limited", "remote", ip)
		w.WriteHeader(http.StatusTooManyRequests)
		answer(w, "failure", "too many sign-in attempts; try again later")
		return
	}
	login, key, ok := r.BasicAuth()
	if !ok {
		s.log.Warn("exchange: checkauth without credentials", "remote", ip)
		w.Header().Set("WWW-Authenticate", `Basic realm="obmen 1c exchange"`)
		w.WriteHeader(http.StatusUnauthorized)
		answer(w, "failure", "authorization required: user name and access key")
		return
	}
	ko, err := s.store.CheckAPIKey(r.Context(), strings.TrimSpace(key))
	if err == nil && subtle.ConstantTimeCompare([]byte(ko.User.Login), []byte(login)) != 1 {
		err = store.ErrBadCredentials
	}
	if err != nil {
		if !errors.Is(err, store.ErrBadCredentials) {
			s.log.Error("exchange: checkauth", "err", err)
			fail(w, "internal error")
			return
		}
		s.log.Warn("exchange: checkauth rejected", "remote", ip, "login", login)
		fail(w, "wrong user name or access key")
		return
	}
	if err := s.permitted(r.Context(), ko.User, r.URL.Query().Get("type")); err != nil {
		if !errors.Is(err, errRefused) {
			s.log.Error("exchange: checkauth", "err", err)
			fail(w, "internal error")
			return
		}
		s.log.Warn("exchange: checkauth refused", "remote", ip, "login", login, "err", err)
		fail(w, s.failed(r.Context(), "", r.URL.Query().Get("type"), "", err))
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	now := s.now()
	err = s.db.Write(r.Context(), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO cml_sessions (id, user_id, key_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
			sessionKey(id), ko.User.ID, ko.KeyID, now.UnixMicro(), now.Add(sessionTTL).UnixMicro())
		return err
	})
	if err != nil {
		s.log.Error("exchange: checkauth", "err", err)
		fail(w, "internal error")
		return
	}
	s.log.Info("exchange: 1C signed in", "user", ko.User.Login, "remote", ip)
	answer(w, "success", CookieName, id, "sessid="+id, "timestamp="+strconv.FormatInt(now.Unix(), 10))
}

// sessionKey is what the database keeps of a session's cookie: its
// SHA-256, as for API keys, so that a copy of the database or the journal
// (whose entries name their session) cannot be replayed as a 1C session.
// The key also names the session's upload directory and journal entries.
func sessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (s *Service) session(r *http.Request) (session, error) {
	id := ""
	if c, err := r.Cookie(CookieName); err == nil {
		id = c.Value
	} else if v := r.URL.Query().Get("sessid"); v != "" {
		id = v
	}
	if len(id) != 32 {
		return session{}, errors.New("not signed in: call mode=checkauth first and send its cookie")
	}
	if _, err := hex.DecodeString(id); err != nil {
		return session{}, errors.New("not signed in: bad session cookie")
	}
	var sess session
	var expires int64
	err := s.db.Read.QueryRowContext(r.Context(), "SELECT id, user_id, cursor, key_id, uploaded_bytes, expires_at FROM cml_sessions WHERE id = $1", sessionKey(id)).
		Scan(&sess.ID, &sess.UserID, &sess.Cursor, &sess.KeyID, &sess.Uploaded, &expires)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && expires < s.now().UnixMicro()) {
		return session{}, errors.New("session expired or unknown: call mode=checkauth again")
	}
	if err != nil {
		return session{}, fmt.Errorf("session: %w", err)
	}
	return sess, nil
}

// actor is who the exchange's changes are made by: the responsible user
// (or the one 1C signed in as), as integration "1c" — which is how the
// next sale query leaves them out.
func actor(sess session, set Settings) crm.Actor {
	uid := set.ResponsibleUserID
	if uid == 0 {
		uid = sess.UserID
	}
	return crm.Actor{UserID: uid, Integration: System}
}

// file receives an upload (or one chunk of it).
func (s *Service) file(w http.ResponseWriter, r *http.Request, sess session, typ string, set Settings) {
	ctx := r.Context()
	name := r.URL.Query().Get("filename")
	clean, err := CleanName(name)
	if err != nil {
		fail(w, s.failed(ctx, sess.ID, typ, name, err))
		return
	}
	dir := s.sessionDir(sess.ID)
	// A new upload of a name already imported in this session replaces
	// the file instead of being appended to it.
	var replaced int64
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var running int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM cml_exchanges WHERE session_id = $1 AND filename = $2 AND open AND status = $3",
			sess.ID, clean, StatusRunning).Scan(&running); err != nil {
			return err
		}
		if running > 0 {
			return fmt.Errorf("%w: %s is being imported; wait for its import to finish", ErrUpload, clean)
		}
		res, err := tx.ExecContext(ctx, "UPDATE cml_exchanges SET open = FALSE WHERE session_id = $1 AND filename = $2 AND open", sess.ID, clean)
		if err == nil {
			replaced, err = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		fail(w, s.failed(ctx, sess.ID, typ, clean, err))
		return
	}
	if replaced > 0 {
		_ = os.Remove(filepath.Join(dir, filepath.FromSlash(clean)))
	}
	// The session's quota counts every byte it uploaded, whatever the
	// file: a session cannot fill the disk file after file.
	quota := set.SessionQuota()
	body := &quotaReader{r: r.Body, room: quota - sess.Uploaded}
	if st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(clean))); set.MaxFileBytes-fileSize(st, err) <= body.room {
		// The file's own cap comes first: its refusal says so.
		body.room = math.MaxInt64
	} else if body.room <= 0 {
		fail(w, s.failed(ctx, sess.ID, typ, clean, quotaError(quota)))
		return
	}
	size, err := AppendChunk(dir, clean, body, set.FileLimit, set.MaxFileBytes)
	if errors.Is(err, errQuota) {
		err = quotaError(quota)
	}
	if err != nil {
		fail(w, s.failed(ctx, sess.ID, typ, clean, err))
		return
	}
	// Two chunks at once may each fit alone: the one that would pass the
	// quota is cut off again.
	var counted int64
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE cml_sessions SET uploaded_bytes = uploaded_bytes + $1 WHERE id = $2 AND uploaded_bytes + $1 <= $3",
			body.n, sess.ID, quota)
		if err == nil {
			counted, err = res.RowsAffected()
		}
		return err
	})
	if err == nil && counted == 0 {
		err = quotaError(quota)
	}
	if err != nil {
		_ = os.Truncate(filepath.Join(dir, filepath.FromSlash(clean)), size-body.n)
		fail(w, s.failed(ctx, sess.ID, typ, clean, err))
		return
	}
	s.log.Debug("exchange: chunk", "file", clean, "size", size)
	if typ == "sale" && !IsZip(filepath.Join(dir, filepath.FromSlash(clean))) && complete(filepath.Join(dir, filepath.FromSlash(clean))) {
		// Protocol 2.04 has no mode=import for orders: the upload is the
		// import. Chunks before the last are not a whole document yet.
		s.importSale(w, r, sess, set, clean)
		return
	}
	if typ == "sale" && IsZip(filepath.Join(dir, filepath.FromSlash(clean))) && zipComplete(filepath.Join(dir, filepath.FromSlash(clean))) {
		// An archive is whole once its central directory has arrived.
		s.importSale(w, r, sess, set, clean)
		return
	}
	answer(w, "success")
}

func fileSize(st os.FileInfo, err error) int64 {
	if err != nil {
		return 0
	}
	return st.Size()
}

// errQuota: an upload would pass the session's quota.
var errQuota = errors.New("session upload quota exceeded")

func quotaError(quota int64) error {
	return fmt.Errorf("%w: %w: a session may upload %d bytes in all (max_session_bytes)",
		ErrUpload, errQuota, quota)
}

// quotaReader reads an upload until it passes room bytes, then fails
// with errQuota; n is what it read.
type quotaReader struct {
	r       io.Reader
	room, n int64
}

func (q *quotaReader) Read(p []byte) (int, error) {
	n, err := q.r.Read(p)
	q.n += int64(n)
	if q.n > q.room {
		return n, errQuota
	}
	return n, err
}

// complete reports whether an uploaded XML file ends with the root's
// closing tag: the last chunk has arrived.
func complete(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false
	}
	n := min(st.Size(), 256)
	b := make([]byte, n)
	if _, err := f.ReadAt(b, st.Size()-n); err != nil {
		return false
	}
	tail := strings.TrimSpace(string(b))
	// The closing tag in UTF-8, or in windows-1251 bytes.
	return strings.HasSuffix(tail, "</КоммерческаяИнформация>") ||
		strings.HasSuffix(tail, "</\xca\xee\xec\xec\xe5\xf0\xf7\xe5\xf1\xea\xe0\xff\xc8\xed\xf4\xee\xf0\xec\xe0\xf6\xe8\xff>")
}

// prepare finds an uploaded file, unpacking the session's archives when
// the name is not there yet.
func (s *Service) prepare(sess session, name string, set Settings) (string, error) {
	clean, err := CleanName(name)
	if err != nil {
		return "", err
	}
	dir := s.sessionDir(sess.ID)
	p := filepath.Join(dir, filepath.FromSlash(clean))
	if _, err := os.Stat(p); err == nil && !IsZip(p) {
		return p, nil
	}
	zips, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, z := range zips {
		if !IsZip(z) {
			continue
		}
		mark := z + ".unpacked"
		if _, err := os.Stat(mark); err == nil {
			continue
		}
		if _, err := Unzip(z, dir, ZipLimits{MaxFiles: 100000, MaxUnpacked: set.MaxUnpackedBytes, MaxRatio: set.MaxZipRatio}); err != nil {
			return "", fmt.Errorf("%s: %w", filepath.Base(z), err)
		}
		_ = os.WriteFile(mark, nil, 0o600)
	}
	if _, err := os.Stat(p); err != nil || IsZip(p) {
		// A sale archive names itself: import the XML documents in it.
		return "", fmt.Errorf("%s was not uploaded in this session (mode=file first)", clean)
	}
	return p, nil
}
