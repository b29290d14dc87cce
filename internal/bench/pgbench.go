package bench

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// PgbenchReport compares lead creates over HTTP with pgbench running the
// same logical write straight against the database.
type PgbenchReport struct {
	Clients int `json:"clients"`
	// TPS are pgbench's runs (one before the HTTP creates, one after:
	// the machine's load drifts, and the mean of the two brackets them).
	TPS   []float64 `json:"tps"`
	Mean  float64   `json:"tps_mean"`
	Ratio float64   `json:"ratio"` // obmen creates/s ÷ Mean
}

func (p *PgbenchReport) print(w io.Writer, creates float64) {
	fmt.Fprintf(w, "pgbench, lead + phone + event in one transaction (%d clients, prepared): %.0f tx/s (runs:", p.Clients, p.Mean)
	for _, t := range p.TPS {
		fmt.Fprintf(w, " %.0f", t)
	}
	fmt.Fprintf(w, ")\nobmen ÷ pgbench: %.0f / %.0f = %.2f\n", creates, p.Mean, p.Ratio)
}

// pgbenchScript is the write obmen's lead create makes, as bare SQL: the
// lead row (all its indexes and the report-count trigger fire as for
// obmen's), its phone, and the create event (numbered at commit by the
// trigger of migration 0002). The values have the size of the bench's
// leads; the phones are in a number range the HTTP phase does not use, so
// that neither finds the other's leads as duplicates.
const pgbenchScript = `\set n random(1, 999999999)
\set t 1700000000000000
BEGIN;
INSERT INTO leads (title, name, last_name, source_id, status_id, currency, utm_source, utm_medium, utm_campaign, address, search,
  assigned_by_id, created_by_id, updated_by_id, created_at, updated_at)
  VALUES ('Заявка с сайта ' || :n::text, 'Иван', 'Петров', 'WEB', 'NEW', 'RUB', 'yandex', 'cpc', 'spring', '{}',
  'заявка с сайта ' || :n::text || ' иван петров +7000' || :n::text || ' lead' || :n::text || '@example.ru', 1, 1, 1,
  (extract(epoch from clock_timestamp()) * 1000000)::bigint, (extract(epoch from clock_timestamp()) * 1000000)::bigint)
  RETURNING id \gset
INSERT INTO comms (entity, record_id, kind, value, value_type, normalized, sort)
  VALUES ('lead', :id::bigint, 'PHONE', '8 (000) ' || :n::text, 'MOBILE', '+7000' || :n::text, 1);
INSERT INTO events (id, entity, record_id, action, changes, actor, actor_user_id, integration, created_at, run_id)
  VALUES (-nextval('event_provisional'), 'lead', :id::bigint, 'create',
  json_build_object('title', json_build_object('old', NULL, 'new', 'Заявка с сайта ' || :n::text), 'name', json_build_object('old', NULL, 'new', 'Иван'),
    'last_name', json_build_object('old', NULL, 'new', 'Петров'), 'source_id', json_build_object('old', NULL, 'new', 'WEB'),
    'status_id', json_build_object('old', NULL, 'new', 'NEW'), 'currency', json_build_object('old', NULL, 'new', 'RUB'),
    'utm_source', json_build_object('old', NULL, 'new', 'yandex'), 'utm_medium', json_build_object('old', NULL, 'new', 'cpc'),
    'utm_campaign', json_build_object('old', NULL, 'new', 'spring'),
    'phones', json_build_object('old', NULL, 'new', json_build_array(json_build_object('value', '8 (000) ' || :n::text, 'value_type', 'MOBILE'))),
    'assigned_by_id', json_build_object('old', NULL, 'new', 1))::text,
  'user:1', 1, '', :t::bigint, 0);
COMMIT;
`

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// pgbenchBinary finds pgbench on PATH or in Debian's PostgreSQL folders.
func pgbenchBinary() (string, error) {
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(found) == 0 {
		return "", errors.New("bench: --pgbench-compare needs pgbench (Debian: apt-get install postgresql-client)")
	}
	sort.Strings(found)
	return found[len(found)-1], nil
}

// libpqURL is u for libpq: pgx takes search_path as a URL parameter,
// libpq knows it only as a server option.
func libpqURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := p.Query()
	sp := q.Get("search_path")
	if sp == "" {
		return u
	}
	q.Del("search_path")
	q.Set("options", "-csearch_path="+sp)
	p.RawQuery = q.Encode()
	return p.String()
}

// runPgbench runs the script for d with clients connections and returns
// its transactions per second.
func runPgbench(ctx context.Context, bin, dbURL string, clients int, d time.Duration) (float64, error) {
	f, err := os.CreateTemp("", "obmen-pgbench-*.sql")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(pgbenchScript); err != nil {
		f.Close()
		return 0, err
	}
	f.Close()
	secs := max(1, int(d.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, bin, "-n", "-M", "prepared", "-f", f.Name(), "-c", strconv.Itoa(clients),
		"-j", strconv.Itoa(min(clients, 2)), "-T", strconv.Itoa(secs), libpqURL(dbURL))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("bench: pgbench: %w\n%s", err, out.Bytes())
	}
	m := tpsLine.FindSubmatch(out.Bytes())
	if m == nil {
		return 0, fmt.Errorf("bench: pgbench printed no tps:\n%s", out.Bytes())
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// warmUp runs the creates untimed for 2 s (half the duration when
// shorter) and then, on PostgreSQL, ANALYZE: a fresh database's tables
// have the statistics of empty ones until autovacuum's next round (a
// minute by default), and the plans made from them slowed the first
// timed run of a fresh database to 0.45–0.6 of the same run a minute
// later (obmen bench --instances 3: 444, 482, 776 creates/s first,
// 1,051, 1,201, 1,476 last; with autovacuum_naptime = 1 s 995 and
// 1,041). A database in use has statistics: that is what is measured.
func warmUp(ctx context.Context, client *http.Client, o Options) error {
	warm := o
	warm.Duration = min(2*time.Second, o.Duration/2)
	if err := createLeads(ctx, client, warm, &Report{}); err != nil {
		return err
	}
	return analyze(ctx, o)
}

// analyze runs ANALYZE on the bench's PostgreSQL (nothing on SQLite),
// after a warm-up (warmUp).
func analyze(ctx context.Context, o Options) error {
	if o.DatabaseURL == "" {
		return nil
	}
	p, err := sql.Open("pgx", o.DatabaseURL)
	if err != nil {
		return err
	}
	defer p.Close()
	if _, err := p.ExecContext(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("bench: analyze after the warm-up: %w", err)
	}
	return nil
}
