package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql's "pgx" driver

	"github.com/obmen/obmen/internal/store/storetest"
)

// TestBenchOneC runs "obmen bench" with the 1C phase on a small catalog:
// the bench starts its own server process, exchanges the catalog through
// the protocol, takes the orders out through one query, and reports the
// server process's memory.
func TestBenchOneC(t *testing.T) {
	storetest.EngineAgnostic(t)
	out := obmen(t, nil, "", "bench", "--skip-create", "--onec-products", "300", "--onec-orders", "40", "--json")
	var r struct {
		Events int64 `json:"events_read"`
		OneC   struct {
			Products       int     `json:"products"`
			CatalogSeconds float64 `json:"catalog_seconds"`
			ImportCalls    int     `json:"import_calls"`
			Orders         int     `json:"orders"`
			QueryDocuments int     `json:"query_documents"`
			QueryBytes     int     `json:"query_bytes"`
			Anon           int     `json:"server_peak_anon_rss_mib"`
			HWM            int     `json:"server_vmhwm_mib"`
		} `json:"onec"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	o := r.OneC
	if o.Products != 300 || o.CatalogSeconds <= 0 || o.ImportCalls < 2 || o.Orders != 40 || o.QueryDocuments != 40 || o.QueryBytes == 0 {
		t.Fatalf("1C phase: %+v", o)
	}
	if o.Anon <= 0 || o.HWM < o.Anon {
		t.Fatalf("server memory not measured: %+v", o)
	}
	// 300 products (each created with its price in one event, as the
	// catalog and its offers switch in together) and 40 orders.
	if r.Events < 300+40 {
		t.Fatalf("%d events after the exchange", r.Events)
	}
}

// TestBenchPgbenchCompare runs "obmen bench --pgbench-compare" briefly on
// a schema of the test server: pgbench's lead + phone + event runs on
// Obmen's tables before and after the HTTP creates, and the event log
// read after both is still gap-free (pgbench's events are numbered at
// commit like Obmen's).
func TestBenchPgbenchCompare(t *testing.T) {
	u := storetest.PostgresURL(t)
	if _, err := exec.LookPath("pgbench"); err != nil {
		if found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench"); len(found) == 0 {
			if os.Getenv("OBMEN_TEST_CI") != "" {
				t.Fatal("pgbench not found")
			}
			t.Skip("pgbench not found")
		}
	}
	out := obmen(t, nil, "", "bench", "--database-url", u, "--pgbench-compare", "--pgbench-clients", "2", "--workers", "4", "--duration", "1s", "--json")
	var r struct {
		Creates int64 `json:"creates"`
		Events  int64 `json:"events_read"`
		Pgbench struct {
			TPS   []float64 `json:"tps"`
			Ratio float64   `json:"ratio"`
		} `json:"pgbench"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if r.Creates == 0 || len(r.Pgbench.TPS) != 2 || r.Pgbench.TPS[0] <= 0 || r.Pgbench.TPS[1] <= 0 || r.Pgbench.Ratio <= 0 {
		t.Fatalf("report: %s", out)
	}
	if r.Events <= r.Creates {
		t.Fatalf("%d events read after %d creates and pgbench's: %s", r.Events, r.Creates, out)
	}
}

// TestBenchBareCompare runs "obmen bench --bare-compare" briefly: the bare
// server (a separate process on the same schema) takes the same creates
// before and after Obmen's.
func TestBenchBareCompare(t *testing.T) {
	storetest.EngineAgnostic(t)
	out := obmen(t, nil, "", "bench", "--bare-compare", "--workers", "4", "--duration", "1s", "--json")
	var r struct {
		Creates int64 `json:"creates"`
		Bare    struct {
			Runs  []float64 `json:"runs"`
			Ratio float64   `json:"ratio"`
		} `json:"bare"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if r.Creates == 0 || len(r.Bare.Runs) != 2 || r.Bare.Runs[0] <= 0 || r.Bare.Runs[1] <= 0 || r.Bare.Ratio <= 0 {
		t.Fatalf("report: %s", out)
	}
}

// TestBenchSite runs "obmen bench --site-products" on a small catalog:
// two server processes, one exporting to the other playing the web shop,
// with the time and both processes' memory in the report.
func TestBenchSite(t *testing.T) {
	storetest.EngineAgnostic(t)
	out := obmen(t, nil, "", "bench", "--site-products", "200", "--json")
	var r struct {
		Site struct {
			Products     int     `json:"products"`
			Received     int     `json:"products_received"`
			Seconds      float64 `json:"export_seconds"`
			ExporterAnon int     `json:"exporter_peak_anon_rss_mib"`
			ExporterHWM  int     `json:"exporter_vmhwm_mib"`
			SiteAnon     int     `json:"site_peak_anon_rss_mib"`
			SiteHWM      int     `json:"site_vmhwm_mib"`
		} `json:"site"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	s := r.Site
	if s.Products != 200 || s.Received != 200 || s.Seconds <= 0 || s.ExporterAnon <= 0 || s.SiteAnon <= 0 || s.ExporterHWM < s.ExporterAnon || s.SiteHWM < s.SiteAnon {
		t.Fatalf("site phase: %+v", s)
	}
}

// benchDeliveries is the part of "obmen bench --deliveries --json" the
// tests check: counts, never timings.
type benchDeliveries struct {
	Deliveries struct {
		Made        int `json:"made"`
		Delivered   int `json:"delivered"`
		Duplicates  int `json:"duplicates"`
		Lost        int `json:"lost"`
		Unknown     int `json:"unknown"`
		Warmup      int `json:"warmup_made"`
		Connections int `json:"receiver_connections"`
	} `json:"deliveries"`
}

func checkBenchDeliveries(t *testing.T, out string) {
	t.Helper()
	var r benchDeliveries
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	d := r.Deliveries
	if d.Made == 0 || d.Warmup == 0 || d.Delivered != d.Made || d.Duplicates != 0 || d.Lost != 0 || d.Unknown != 0 || d.Connections == 0 {
		t.Fatalf("deliveries phase: %+v", d)
	}
}

// TestBenchDeliveries runs "obmen bench --deliveries" briefly on SQLite:
// every lead made reaches the bench's receiver exactly once.
func TestBenchDeliveries(t *testing.T) {
	storetest.EngineAgnostic(t)
	checkBenchDeliveries(t, obmen(t, nil, "", "bench", "--skip-create", "--deliveries", "--delivery-rate", "200", "--duration", "1s", "--json"))
}

// TestBenchDeliveriesPostgres is TestBenchDeliveries on PostgreSQL.
func TestBenchDeliveriesPostgres(t *testing.T) {
	u := storetest.PostgresURL(t)
	checkBenchDeliveries(t, obmen(t, nil, "", "bench", "--database-url", u, "--skip-create", "--deliveries", "--delivery-rate", "200", "--duration", "1s", "--json"))
}

// TestBenchInstances runs "obmen bench --instances 3 --bare-compare"
// briefly: creates on one server, on three round-robin, on one again, all
// acknowledged, and the database's connections watched; then the same
// with bare servers, whose acknowledged leads are in the database too.
func TestBenchInstances(t *testing.T) {
	u := storetest.PostgresURL(t)
	out := obmen(t, nil, "", "bench", "--database-url", u, "--instances", "3", "--bare-compare", "--workers", "4", "--duration", "1s", "--json")
	type run struct{ Instances, Creates, Errors int64 }
	type seq struct {
		N     int     `json:"instances"`
		One   []run   `json:"one"`
		Many  run     `json:"many"`
		Ratio float64 `json:"ratio"`
		Peak  int     `json:"peak_connections"`
		Max   int     `json:"max_connections"`
	}
	var r struct {
		Creates   int64 `json:"creates"`
		Instances struct {
			seq
			Bare *seq `json:"bare"`
		} `json:"instances"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if r.Instances.Bare == nil {
		t.Fatalf("no bare servers' sequence: %s", out)
	}
	acknowledged := int64(0)
	for what, in := range map[string]seq{"instances": r.Instances.seq, "bare servers": *r.Instances.Bare} {
		if in.N != 3 || len(in.One) != 2 || in.Many.Instances != 3 || in.Many.Creates == 0 || in.Many.Errors != 0 || in.Ratio <= 0 || in.Peak == 0 || in.Max == 0 {
			t.Fatalf("%s: %s", what, out)
		}
		acknowledged += in.Many.Creates
		for _, one := range in.One {
			if one.Instances != 1 || one.Creates == 0 || one.Errors != 0 {
				t.Fatalf("%s, one instance: %s", what, out)
			}
			acknowledged += one.Creates
		}
	}
	if r.Creates != r.Instances.Many.Creates {
		t.Fatalf("the report's creates are not the three instances': %s", out)
	}
	// Every acknowledged create is a lead (the warm-ups add more).
	d, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var leads int64
	if err := d.QueryRow("SELECT count(*) FROM leads").Scan(&leads); err != nil {
		t.Fatal(err)
	}
	if leads < acknowledged {
		t.Fatalf("%d leads in the database after %d acknowledged creates", leads, acknowledged)
	}
}
