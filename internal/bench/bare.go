package bench

import (
	"bytes"
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/db"
)

// The bare server is the yardstick of Obmen's lead creates on SQLite: a
// plain net/http server on the same schema (every index and trigger of
// the migrations) that decodes the same request, writes the lead, its
// phone and e-mail and its event, each request in its own transaction
// committed before the answer, and answers with the new id. It has no
// validation, access rules, duplicate check, distribution, idempotency or
// group commit: what Obmen does on top of it should cost no more than
// group commit saves.

// BareReport compares Obmen's creates with the bare server's on SQLite.
type BareReport struct {
	CreatesPerS float64 `json:"creates_per_second"`
	P50         float64 `json:"create_p50_ms"`
	P99         float64 `json:"create_p99_ms"`
	// TPS are the bare server's runs (one before Obmen's creates, one
	// after); Mean is theirs and Ratio Obmen's creates/s ÷ Mean.
	Runs  []float64 `json:"runs"`
	Mean  float64   `json:"mean"`
	Ratio float64   `json:"ratio"`
	// CPURuns are the bare server's CPU per create (µs) in each run, and
	// CPURatio its mean ÷ Obmen's: above 1, Obmen spends less CPU on a
	// create than the bare server — the figure that holds on a loaded
	// machine, where creates/s follow the CPU share each process got.
	CPURuns  []float64 `json:"cpu_runs_us,omitempty"`
	CPURatio float64   `json:"cpu_ratio,omitempty"`
}

func (b *BareReport) print(w io.Writer, creates, cpu float64) {
	fmt.Fprintf(w, "bare server, SQLite, lead + phone + e-mail + event, one transaction each: %.0f/s (runs:", b.Mean)
	for _, t := range b.Runs {
		fmt.Fprintf(w, " %.0f", t)
	}
	fmt.Fprintf(w, "), last p50 %.2f ms, p99 %.2f ms\nobmen ÷ bare server: %.0f / %.0f = %.2f\n", b.P50, b.P99, creates, b.Mean, b.Ratio)
	if len(b.CPURuns) > 0 && cpu > 0 {
		fmt.Fprintf(w, "CPU per create, bare server ÷ obmen: %.0f µs (runs:", mean(b.CPURuns))
		for _, t := range b.CPURuns {
			fmt.Fprintf(w, " %.0f", t)
		}
		fmt.Fprintf(w, ") / %.0f µs = %.2f\n", cpu, b.CPURatio)
	}
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x / float64(len(xs))
	}
	return s
}

// procCPU is a process's CPU time so far, user and system (Linux
// /proc/PID/stat, in clock ticks of 1/100 s).
func procCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, errors.New("bench: no server process")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15, the 12th and 13th after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("bench: malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("bench: short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bench: malformed /proc stat times")
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

type bareLead struct {
	Title    string `json:"title"`
	Name     string `json:"name"`
	LastName string `json:"last_name"`
	Phones   []struct {
		Value     string `json:"value"`
		ValueType string `json:"value_type"`
	} `json:"phones"`
	Emails []struct {
		Value string `json:"value"`
	} `json:"emails"`
	SourceID    string `json:"source_id"`
	UTMSource   string `json:"utm_source"`
	UTMMedium   string `json:"utm_medium"`
	UTMCampaign string `json:"utm_campaign"`
}

// bareComm is a phone or e-mail row of a bare lead.
type bareComm struct{ kind, value, valueType, normalized string }

// comms are the lead's phones, then its e-mails, as the bare servers
// store them (a Russian number's key +7…, an address in lower case).
func (l *bareLead) comms() []bareComm {
	out := make([]bareComm, 0, len(l.Phones)+len(l.Emails))
	for _, p := range l.Phones {
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, p.Value)
		out = append(out, bareComm{"PHONE", p.Value, strings.ToUpper(p.ValueType), "+7" + strings.TrimPrefix(strings.TrimPrefix(digits, "8"), "7")})
	}
	for _, e := range l.Emails {
		out = append(out, bareComm{"EMAIL", e.Value, "WORK", strings.ToLower(e.Value)})
	}
	return out
}

// BareServe runs the bare server on addr until ctx ends ("obmen bench
// --bare-serve ADDR"): with its SQLite database in dir, or, with dbURL, on
// that PostgreSQL database (already migrated by an Obmen instance, whose
// user 1 it names). The key for requests is the environment's
// OBMEN_BARE_KEY.
func BareServe(ctx context.Context, addr, dir, sync, dbURL string) error {
	opts := db.Options{SQLitePath: dataPath(dir), SQLiteSync: sync, GroupCommitMax: 1}
	if dbURL != "" {
		opts = db.Options{PostgresURL: dbURL}
	}
	d, err := db.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		return err
	}
	if dbURL == "" {
		if err := immediateSearchIndex(ctx, d); err != nil {
			return err
		}
	}
	key := []byte("Bearer " + os.Getenv("OBMEN_BARE_KEY"))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("POST /api/v1/leads", func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), key) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var l bareLead
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&l); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		now := time.Now().UnixMicro()
		var id int64
		var err error
		if dbURL != "" {
			id, err = bareCreatePG(r.Context(), d, &l, now)
		} else {
			err = d.Write(r.Context(), func(ctx context.Context, tx *sql.Tx) error {
				search := strings.ToLower(l.Title + " " + l.Name + " " + l.LastName)
				if err := tx.QueryRowContext(ctx, `INSERT INTO leads (title, name, last_name, source_id, utm_source, utm_medium, utm_campaign, search,
				assigned_by_id, created_by_id, updated_by_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, 1, 1, $9, $9) RETURNING id`,
					l.Title, l.Name, l.LastName, l.SourceID, l.UTMSource, l.UTMMedium, l.UTMCampaign, search, now).Scan(&id); err != nil {
					return err
				}
				for i, c := range l.comms() {
					if _, err := tx.ExecContext(ctx, "INSERT INTO comms (entity, record_id, kind, value, value_type, normalized, sort) VALUES ('lead', $1, $2, $3, $4, $5, $6)",
						id, c.kind, c.value, c.valueType, c.normalized, i+1); err != nil {
						return err
					}
				}
				changes, err := json.Marshal(l)
				if err != nil {
					return err
				}
				_, err = tx.ExecContext(ctx, `INSERT INTO events (id, entity, record_id, action, changes, actor, actor_user_id, integration, created_at, run_id)
				VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM events), 'lead', $1, 'create', $2, 'user:1', 1, '', $3, 0)`, id, string(changes), now)
				return err
			})
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%d}`, id)
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// bareCreatePG writes the lead, its phones and e-mails and its event in
// one statement, its own transaction (one round trip, as Obmen's create
// of a plain lead): the event is numbered at commit by migration 0002's
// trigger, as pgbench's script writes it.
func bareCreatePG(ctx context.Context, d *db.DB, l *bareLead, now int64) (int64, error) {
	var kinds, values, types, normalized []string
	for _, c := range l.comms() {
		kinds, values, types, normalized = append(kinds, c.kind), append(values, c.value), append(types, c.valueType), append(normalized, c.normalized)
	}
	changes, err := json.Marshal(l)
	if err != nil {
		return 0, err
	}
	search := strings.ToLower(l.Title + " " + l.Name + " " + l.LastName)
	var id int64
	err = d.Read.QueryRowContext(ctx, `WITH l AS (INSERT INTO leads (title, name, last_name, source_id, utm_source, utm_medium, utm_campaign, search,
			assigned_by_id, created_by_id, updated_by_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, 1, 1, $9, $9) RETURNING id),
		c AS (INSERT INTO comms (entity, record_id, kind, value, value_type, normalized, sort)
			SELECT 'lead', l.id, x.kind, x.value, x.value_type, x.normalized, x.n FROM l,
			unnest($10::text[], $11::text[], $12::text[], $13::text[]) WITH ORDINALITY AS x(kind, value, value_type, normalized, n)),
		e AS (INSERT INTO events (id, entity, record_id, action, changes, actor, actor_user_id, integration, created_at, run_id)
			SELECT -nextval('event_provisional'), 'lead', l.id, 'create', $14, 'user:1', 1, '', $9, 0 FROM l)
		SELECT id FROM l`, l.Title, l.Name, l.LastName, l.SourceID, l.UTMSource, l.UTMMedium, l.UTMCampaign, search, now,
		kinds, values, types, normalized, string(changes)).Scan(&id)
	return id, err
}

// immediateSearchIndex puts back migration 0025's search-index triggers,
// which index a row in the statement that writes it: the best a server
// committing each request on its own can do. (Migration 0058 defers the
// indexing to the end of a group commit, which pays only when a commit
// holds many writes; a bare server with it would do extra work for
// nothing.) Migrate is run again to tell the committer.
func immediateSearchIndex(ctx context.Context, d *db.DB) error {
	err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, t := range []string{"leads", "contacts", "accounts", "deals", "sales_orders", "invoices", "products"} {
			for _, q := range []string{
				"DROP TRIGGER " + t + "_fts_insert",
				"DROP TRIGGER " + t + "_fts_delete",
				"DROP TRIGGER " + t + "_fts_update",
				"CREATE TRIGGER " + t + "_fts_insert AFTER INSERT ON " + t + " BEGIN INSERT INTO " + t + "_fts (rowid, search) VALUES (new.id, new.search); END",
				"CREATE TRIGGER " + t + "_fts_delete AFTER DELETE ON " + t + " BEGIN INSERT INTO " + t + "_fts (" + t + "_fts, rowid, search) VALUES ('delete', old.id, old.search); END",
				"CREATE TRIGGER " + t + "_fts_update AFTER UPDATE OF search ON " + t + " WHEN old.search IS NOT new.search BEGIN INSERT INTO " + t + "_fts (" + t +
					"_fts, rowid, search) VALUES ('delete', old.id, old.search); INSERT INTO " + t + "_fts (rowid, search) VALUES (new.id, new.search); END",
			} {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("bench: bare server schema: %w", err)
				}
			}
		}
		_, err := tx.ExecContext(ctx, "DROP TABLE fts_pending")
		return err
	})
	if err != nil {
		return err
	}
	_, err = d.Migrate(ctx)
	return err
}

// startBare runs the bare server as a separate process of this binary on
// a fresh data directory, as Obmen's server runs; it returns the options
// that point the load at it.
func startBare(ctx context.Context, o Options, log io.Writer) (Options, func(), error) {
	return startBareKey(ctx, o, strconv.FormatInt(time.Now().UnixNano(), 36), log)
}

// startBareKey is startBare with the key the server is to ask for (one
// for all the instances of a run); on o.DatabaseURL when set.
func startBareKey(ctx context.Context, o Options, key string, log io.Writer) (Options, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return o, nil, err
	}
	dir, err := os.MkdirTemp("", "obmen-bare-*")
	if err != nil {
		return o, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return o, nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"bench", "--bare-serve", addr, "--data", filepath.Clean(dir), "--sqlite-sync", o.SQLiteSync}
	if o.DatabaseURL != "" {
		args = append(args, "--database-url", o.DatabaseURL)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), "OBMEN_BARE_KEY="+key)
	cmd.Stdout, cmd.Stderr = io.Discard, log
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return o, nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		os.RemoveAll(dir)
	}
	o.URL, o.Key = "http://"+addr, key
	o.ServerPID = cmd.Process.Pid
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(o.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return o, stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return o, nil, errors.New("bench: the bare server did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
