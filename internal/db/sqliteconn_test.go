package db

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCachingConn: a statement text is prepared once per connection and
// run again with new arguments; a second call of the same text while the
// first one's rows are open runs unprepared without disturbing them; a
// script of several statements still runs whole; an error still reads as
// SQLite's.
func TestCachingConn(t *testing.T) {
	registerFold() // as db.Open does before opening its pools
	p := sql.OpenDB(openCaching("file:" + filepath.Join(t.TempDir(), "c.db")))
	defer p.Close()
	p.SetMaxOpenConns(1)
	ctx := context.Background()
	if _, err := p.ExecContext(ctx, "CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); INSERT INTO t VALUES (3)"); err != nil {
		t.Fatal(err)
	}
	const q = "SELECT n * ? FROM t ORDER BY n"
	read := func(rows *sql.Rows, err error) []int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, k := range []int64{1, 10, 100} {
		if got := read(p.QueryContext(ctx, q, k)); !slices.Equal(got, []int64{k, 2 * k, 3 * k}) {
			t.Fatalf("times %d: %v", k, got)
		}
		if _, err := p.ExecContext(ctx, "UPDATE t SET n = n WHERE n = ?", k); err != nil {
			t.Fatal(err)
		}
	}
	var texts int
	conn, err := p.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Raw(func(dc any) error { texts = len(dc.(*cachingConn).stmts); return nil }); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	// The script, the query and the update: three texts, each once.
	if texts != 3 {
		t.Fatalf("%d statements cached after three texts, the last two run three times each; want 3", texts)
	}

	tx, err := p.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := tx.QueryContext(ctx, q, 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for outer.Next() {
		var v int64
		if err := outer.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
		if in := read(tx.QueryContext(ctx, q, 5)); !slices.Equal(in, []int64{5, 10, 15}) {
			t.Fatalf("inner rows: %v", in)
		}
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if !slices.Equal(got, []int64{2, 4, 6}) {
		t.Fatalf("outer rows with the same text run inside them: %v", got)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// The functions registered with the driver are there.
	var folded string
	if err := p.QueryRowContext(ctx, "SELECT "+Fold+"('ЁЖ')").Scan(&folded); err != nil || folded != "ёж" {
		t.Fatalf("%s on a caching connection: %q, %v", Fold, folded, err)
	}
	if _, err := p.ExecContext(ctx, "INSERT INTO nowhere VALUES (1)"); err == nil || !strings.Contains(err.Error(), "no such table: nowhere") {
		t.Fatalf("a bad statement: %v", err)
	}
}

// TestCachingConnMakesRoom: a connection that has run more one-off texts
// than it caches (the migrations run hundreds) still caches the texts it
// runs after them, dropping the least recently used; a statement whose
// rows are open is not dropped.
func TestCachingConnMakesRoom(t *testing.T) {
	registerFold()
	p := sql.OpenDB(openCaching("file:" + filepath.Join(t.TempDir(), "c.db")))
	defer p.Close()
	p.SetMaxOpenConns(1)
	ctx := context.Background()
	conn, err := p.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cached := func(query string) bool {
		t.Helper()
		var ok bool
		if err := conn.Raw(func(dc any) error { _, ok = dc.(*cachingConn).stmts[query]; return nil }); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	const hot = "SELECT 1 + ?"
	// Open rows of the first text keep it through the churn.
	const held = "SELECT value FROM (SELECT 1 AS value UNION ALL SELECT 2)"
	rows, err := conn.QueryContext(ctx, held)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 * maxConnStatements {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE TABLE IF NOT EXISTS once%d (n INTEGER)", i)); err != nil {
			t.Fatal(err)
		}
		if i > maxConnStatements && i%16 == 0 { // first after the cache is full
			var v int
			if err := conn.QueryRowContext(ctx, hot, i).Scan(&v); err != nil || v != 1+i {
				t.Fatalf("%s with %d: %d, %v", hot, i, v, err)
			}
		}
	}
	if !cached(held) {
		t.Error("a statement with open rows was dropped")
	}
	rows.Close()
	if !cached(hot) {
		t.Errorf("%q, run all along, is not cached after %d one-off texts", hot, 2*maxConnStatements)
	}
	if cached("CREATE TABLE IF NOT EXISTS once0 (n INTEGER)") {
		t.Error("the least recently used text is still cached")
	}
	var n int
	if err := conn.Raw(func(dc any) error { n = len(dc.(*cachingConn).stmts); return nil }); err != nil {
		t.Fatal(err)
	}
	if n > maxConnStatements {
		t.Errorf("%d statements cached, the limit is %d", n, maxConnStatements)
	}
}
