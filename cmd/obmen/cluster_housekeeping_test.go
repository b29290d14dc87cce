package main

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// TestClusterHousekeeping: the housekeeping duties — old automation runs
// purged, old 1C exchange files and sessions swept — are done once a
// period (OBMEN_HOUSEKEEPING_EVERY) of three instances, each of which
// looks every tenth of it: the duties' row counts one turn each after
// the three starts and several looks, and after one instance is killed
// and the period has passed (set back in the database), one more turn
// each, taken by a survivor.
func TestClusterHousekeeping(t *testing.T) {
	c := startCluster(t, 3, "OBMEN_HOUSEKEEPING_EVERY=20s") // each instance looks every 2 s
	sqlDB, err := sql.Open("pgx", c.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	ctx := context.Background()
	duties := []string{"automation.purge", "commerceml.sweep"}
	runs := func() map[string]int {
		out := map[string]int{}
		rows, err := sqlDB.QueryContext(ctx, "SELECT name, runs FROM duties")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var n int
			if err := rows.Scan(&name, &n); err != nil {
				t.Fatal(err)
			}
			out[name] = n
		}
		return out
	}
	waitRuns := func(what string, want int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			got, all := runs(), true
			for _, d := range duties {
				all = all && got[d] >= want
			}
			if all {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: turns %v after 20 s, want %d each", what, got, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(4500 * time.Millisecond) // each instance looks twice more
		for _, d := range duties {
			if n := runs()[d]; n != want {
				t.Errorf("%s: %s done %d times in one period, want %d", what, d, n, want)
			}
		}
	}
	waitRuns("three instances", 1)
	c.instance(0).kill()
	if _, err := sqlDB.ExecContext(ctx, "UPDATE duties SET last_at = 0"); err != nil { // the period passed
		t.Fatal(err)
	}
	waitRuns("one killed, the period over", 2)
}
