package exchange

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/db"
)

// multiInsert writes the rows of one table in multi-row INSERTs, a
// hundred-odd rows a statement: staging a catalog of 100,000 goods with
// three offers each writes about two million rows, and one statement per
// row spent most of the staging in the driver and the statement machinery
// of the database, not in writing the rows. The VALUES list is
// db.WriteValueRows' (anonymous parameters on SQLite).
type multiInsert struct {
	ctx        context.Context
	tx         *sql.Tx
	head, tail string
	cols, per  int
	qmark      bool
	args       []any
	full       *sql.Stmt // the statement of per rows, prepared once
}

// maxInsertArgs keeps a statement's parameters well below both engines'
// limits (SQLite 32766, PostgreSQL 65535).
const maxInsertArgs = 4000

// newMultiInsert prepares inserts into table's columns; tail follows the
// VALUES list (e.g. " ON CONFLICT DO NOTHING"). sqlite: the write is on
// SQLite.
func newMultiInsert(ctx context.Context, tx *sql.Tx, sqlite bool, table string, cols []string, tail string) *multiInsert {
	return &multiInsert{ctx: ctx, tx: tx, head: "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ", tail: tail,
		cols: len(cols), per: max(1, maxInsertArgs/len(cols)), qmark: sqlite}
}

func (m *multiInsert) sql(rows int) string {
	var b strings.Builder
	b.WriteString(m.head)
	dialect := db.Postgres
	if m.qmark {
		dialect = db.SQLite
	}
	db.WriteValueRows(&b, dialect, rows, m.cols, 0)
	b.WriteString(m.tail)
	return b.String()
}

// add queues one row (len(vals) must be the number of columns).
func (m *multiInsert) add(vals ...any) error {
	if len(vals) != m.cols {
		return fmt.Errorf("exchange: insert %d values into %d columns", len(vals), m.cols)
	}
	m.args = append(m.args, vals...)
	if len(m.args) < m.cols*m.per {
		return nil
	}
	if m.full == nil {
		st, err := m.tx.PrepareContext(m.ctx, m.sql(m.per))
		if err != nil {
			return err
		}
		m.full = st
	}
	_, err := m.full.ExecContext(m.ctx, m.args...)
	m.args = m.args[:0]
	return err
}

// flush writes the rows queued and releases the statement.
func (m *multiInsert) flush() error {
	if m.full != nil {
		_ = m.full.Close()
		m.full = nil
	}
	if len(m.args) == 0 {
		return nil
	}
	_, err := m.tx.ExecContext(m.ctx, m.sql(len(m.args)/m.cols), m.args...)
	m.args = m.args[:0]
	return err
}

// stepTimer records how long each named step of a long write takes, for
// the log and the benchmark.
type stepTimer struct {
	last  time.Time
	names []string
	took  map[string]time.Duration
	times map[string]int
}

func newStepTimer() *stepTimer {
	return &stepTimer{last: time.Now(), took: map[string]time.Duration{}, times: map[string]int{}}
}

// done ends the step under way; the times of a step done in every chunk
// of a switch add up.
func (t *stepTimer) done(name string) {
	if t == nil {
		return
	}
	now := time.Now()
	if _, ok := t.took[name]; !ok {
		t.names = append(t.names, name)
	}
	t.took[name] += now.Sub(t.last)
	t.times[name]++
	t.last = now
}

// skip starts the next step now: the time since the last one is no step's.
func (t *stepTimer) skip() {
	if t != nil {
		t.last = time.Now()
	}
}

func (t *stepTimer) String() string {
	out := make([]string, len(t.names))
	for i, n := range t.names {
		out[i] = fmt.Sprintf("%s %v", n, t.took[n].Round(time.Millisecond))
		if k := t.times[n]; k > 1 {
			out[i] += fmt.Sprintf(" (%d×)", k)
		}
	}
	return strings.Join(out, ", ")
}
