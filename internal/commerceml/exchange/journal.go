package exchange

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/store"
)

// Count is what happened to the records of one entity.
type Count struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
	// Deactivated: goods a full catalog no longer has (mode=deactivate).
	Deactivated int `json:"deactivated,omitempty"`
}

// Counts are by entity: product, service, catalog, account, sales_order.
type Counts map[string]*Count

func (c Counts) of(entity string) *Count {
	if c[entity] == nil {
		c[entity] = &Count{}
	}
	return c[entity]
}

// Journal statuses and directions.
const (
	StatusRunning = "running"
	StatusSuccess = "success"
	StatusFailure = "failure"
	DirIn         = "1c_to_obmen"
	DirOut        = "obmen_to_1c"
	// DirSite is a run of the exchange with a web shop (site.DirSite):
	// its files sit in a folder of their own.
	DirSite = "site"
)

// Entry is one exchange of the journal.
type Entry struct {
	ID         int64      `json:"id"`
	Type       string     `json:"type"`
	Direction  string     `json:"direction"`
	Filename   string     `json:"filename"`
	Status     string     `json:"status"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Counts     Counts     `json:"counts"`
	Problems   []string   `json:"problems"`
	Error      string     `json:"error"`
	FileSize   int64      `json:"file_size"`
	// FileKept says whether the raw file can still be downloaded
	// (GET /api/v1/exchanges/{id}/file).
	FileKept bool `json:"file_kept"`
	// Stage of a catalog file: "staging", "staged" (read whole, waiting
	// for its switch), "switching" (its switch has begun: part of it is
	// applied), "switched", "discarded"; "" for others.
	Stage string `json:"stage,omitempty"`
	// Batch is the entry whose switch applies this file: its own, or
	// the import.xml's for the offers.xml of the same package.
	Batch int64 `json:"batch,omitempty"`
	// Skipped lists each item skipped or refused (GET
	// /api/v1/exchanges/{id}/skipped.csv).
	Skipped []SkippedItem `json:"skipped"`
	// PartlyFailed: the exchange succeeded toward 1C with items refused
	// or skipped.
	PartlyFailed bool   `json:"partly_failed"`
	sessionID    string // not shown: it is the 1C session's cookie
	filePath     string
	stagedItems  int64
	full         bool
	deactivated  bool
}

const entryColumns = `id, session_id, type, direction, filename, status, started_at, finished_at, counts, problems, error, file_path, file_size,
	stage, batch_id, staged_items, full_catalog, deactivated, skipped, partly_failed`

// SkippedItem is one item of a file that was skipped or refused.
type SkippedItem struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	File   string `json:"file"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// maxSkipped caps the items listed per file (the counts hold them all).
const maxSkipped = 100000

func scanEntry(sc interface{ Scan(...any) error }) (Entry, error) {
	var e Entry
	var started, finished int64
	var counts, problems, skipped string
	if err := sc.Scan(&e.ID, &e.sessionID, &e.Type, &e.Direction, &e.Filename, &e.Status, &started, &finished, &counts, &problems,
		&e.Error, &e.filePath, &e.FileSize, &e.Stage, &e.Batch, &e.stagedItems, &e.full, &e.deactivated, &skipped, &e.PartlyFailed); err != nil {
		return e, err
	}
	e.StartedAt = time.UnixMicro(started).UTC()
	if finished != 0 {
		t := time.UnixMicro(finished).UTC()
		e.FinishedAt = &t
	}
	e.Counts = Counts{}
	_ = json.Unmarshal([]byte(counts), &e.Counts)
	_ = json.Unmarshal([]byte(problems), &e.Problems)
	if e.Problems == nil {
		e.Problems = []string{}
	}
	_ = json.Unmarshal([]byte(skipped), &e.Skipped)
	if e.Skipped == nil {
		e.Skipped = []SkippedItem{}
	}
	e.FileKept = e.filePath != ""
	return e, nil
}

// newEntry starts a journal entry.
func (s *Service) newEntry(ctx context.Context, e Entry) (Entry, error) {
	e.StartedAt = s.now()
	if e.Counts == nil {
		e.Counts = Counts{}
	}
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO cml_exchanges (session_id, type, direction, filename, status, started_at, file_path, file_size, stage)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			e.sessionID, e.Type, e.Direction, e.Filename, e.Status, e.StartedAt.UnixMicro(), e.filePath, e.FileSize, e.Stage).Scan(&e.ID)
	})
	if err != nil {
		return e, fmt.Errorf("exchange: journal: %w", err)
	}
	return e, nil
}

// finishSQL is the statement that closes an entry; it runs in the import's
// own transaction where there is one, so that the journal and the data
// agree after a crash.
const finishSQL = `UPDATE cml_exchanges SET status = $1, finished_at = $2, counts = $3, problems = $4, error = $5 WHERE id = $6`

func finishArgs(id int64, status string, at time.Time, counts Counts, problems []string, errText string) []any {
	if counts == nil {
		counts = Counts{}
	}
	if problems == nil {
		problems = []string{}
	}
	c, _ := json.Marshal(counts)
	p, _ := json.Marshal(problems)
	return []any{status, at.UnixMicro(), string(c), string(p), errText, id}
}

// finish closes an entry on its own.
func (s *Service) finish(ctx context.Context, id int64, status string, counts Counts, problems []string, errText string) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, finishSQL, finishArgs(id, status, s.now(), counts, problems, errText)...)
		return err
	})
}

// failed journals an exchange that failed before it began (a refused
// upload, a missing file) and returns the error text for the answer.
func (s *Service) failed(ctx context.Context, sessionID, typ, filename string, cause error) string {
	// Journaled even when the client has gone (a broken upload).
	ctx = context.WithoutCancel(ctx)
	e, err := s.newEntry(ctx, Entry{sessionID: sessionID, Type: typ, Direction: DirIn, Filename: filename, Status: StatusRunning})
	if err == nil {
		err = s.finish(ctx, e.ID, StatusFailure, nil, nil, cause.Error())
	}
	if err != nil {
		s.log.Error("exchange: journal", "err", err)
	}
	s.log.Warn("exchange: failure", "type", typ, "file", filename, "err", cause)
	return cause.Error()
}

// GetEntry reads one entry.
func (s *Service) GetEntry(ctx context.Context, id int64) (Entry, error) {
	e, err := scanEntry(s.db.Read.QueryRowContext(ctx, "SELECT "+entryColumns+" FROM cml_exchanges WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, store.NotFound("exchange", id)
	}
	if err != nil {
		return e, fmt.Errorf("exchange: journal entry %d: %w", id, err)
	}
	return e, nil
}

// openEntry is the latest entry of a file in a session that a new upload
// has not replaced.
func (s *Service) openEntry(ctx context.Context, sessionID, typ, filename string) (Entry, bool, error) {
	e, err := scanEntry(s.db.Read.QueryRowContext(ctx, "SELECT "+entryColumns+` FROM cml_exchanges
		WHERE session_id = $1 AND type = $2 AND filename = $3 AND open AND direction = $4 ORDER BY id DESC LIMIT 1`, sessionID, typ, filename, DirIn))
	if errors.Is(err, sql.ErrNoRows) {
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("exchange: journal: %w", err)
	}
	return e, true, nil
}

// ListEntries returns entries newest first, before the given id (0: from
// the newest).
func (s *Service) ListEntries(ctx context.Context, before int64, limit int) ([]Entry, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	if before <= 0 {
		before = 1 << 62
	}
	out, err := s.queryEntries(ctx, "WHERE id < $1 ORDER BY id DESC LIMIT $2", before, limit)
	if out == nil {
		out = []Entry{}
	}
	return out, err
}

// queryEntries reads the journal entries that the rest of a query (its
// WHERE and ORDER BY) picks.
func (s *Service) queryEntries(ctx context.Context, rest string, args ...any) ([]Entry, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT "+entryColumns+" FROM cml_exchanges "+rest, args...)
	if err != nil {
		return nil, fmt.Errorf("exchange: journal: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("exchange: journal: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// EntryFiles names the files an entry keeps, in name order: a web shop's
// run keeps each file it sent and received in its own folder, a 1C
// exchange its one file; none once the files are swept.
func EntryFiles(e Entry) []string {
	if e.filePath == "" {
		return nil
	}
	if e.Direction != DirSite {
		if st, err := os.Lstat(e.filePath); err != nil || !st.Mode().IsRegular() {
			return nil
		}
		return []string{filepath.Base(e.filePath)}
	}
	des, err := os.ReadDir(filepath.Dir(e.filePath))
	if err != nil {
		return nil
	}
	var names []string
	for _, de := range des {
		if de.Type().IsRegular() && !strings.HasPrefix(de.Name(), ".") {
			names = append(names, de.Name())
		}
	}
	return names
}

// OpenEntryFile opens a file an entry keeps: name "" (or the main file's
// own name, as EntryFiles lists it) is its main file (the upload of a 1C
// exchange, the document or zip of a site run), else one plain file of a
// site run's own folder (no path, no dot file). The caller closes it;
// path is the file's own.
func OpenEntryFile(e Entry, name string) (f *os.File, path string, err error) {
	path = e.filePath
	if name == filepath.Base(path) {
		name = ""
	}
	if name != "" && path != "" {
		if e.Direction != DirSite || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
			return nil, "", fmt.Errorf("exchange %d has no file %q", e.ID, name)
		}
		path = filepath.Join(filepath.Dir(path), name)
		if st, err := os.Lstat(path); err != nil || !st.Mode().IsRegular() {
			return nil, "", fmt.Errorf("exchange %d has no file %q", e.ID, name)
		}
	}
	if path == "" {
		return nil, "", fmt.Errorf("the file of exchange %d is no longer kept", e.ID)
	}
	f, err = os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("the file of exchange %d is no longer kept", e.ID)
	}
	return f, path, nil
}

// ServeEntryFile answers a file an entry keeps (OpenEntryFile's name) as
// a download: a zip by its name or its first bytes, else XML. Nothing is
// written when it fails (the file is not kept): the caller answers 404.
func ServeEntryFile(w http.ResponseWriter, e Entry, name string) error {
	f, path, err := OpenEntryFile(e, name)
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/xml")
	if filepath.Ext(path) == ".zip" || IsZip(path) {
		w.Header().Set("Content-Type", "application/zip")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", `attachment; filename="exchange-`+strconv.FormatInt(e.ID, 10)+"-"+filepath.Base(path)+`"`)
	_, _ = io.Copy(w, f)
	return nil
}
