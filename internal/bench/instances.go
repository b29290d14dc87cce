package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql's "pgx" driver
)

// InstancesReport compares lead creates on one Obmen instance with the
// same load spread round-robin over N instances on one PostgreSQL (issue
// 21: on this machine N must not do less in total than one).
type InstancesReport struct {
	N int `json:"instances"`
	// One are the runs on one instance (the others not running): one
	// before the N-instance run and one after, as the database grows and
	// the machine's load drifts; OneMean is their mean.
	One     []InstancesRun `json:"one"`
	OneMean float64        `json:"one_creates_per_second_mean"`
	Many    InstancesRun   `json:"many"`
	// Ratio is Many's creates/s ÷ OneMean.
	Ratio float64 `json:"ratio"`
	// PeakConnections is the most connections the database had (all
	// clients, pg_stat_activity) while N instances ran, and
	// MaxConnections its max_connections: each instance opens its own
	// pools.
	PeakConnections int `json:"peak_connections"`
	MaxConnections  int `json:"max_connections"`
	// Bare is the same sequence with bare servers (bare.go, one statement
	// per create) instead of Obmen's (--bare-compare): what this machine
	// gives N processes of a server that does nothing but the write.
	Bare *InstancesReport `json:"bare,omitempty"`
}

// InstancesRun is one run of the creates, after an untimed warm-up of
// the same load (2 s, or half the duration when shorter).
type InstancesRun struct {
	Instances   int     `json:"instances"`
	Creates     int64   `json:"creates"`
	Errors      int64   `json:"errors"`
	CreatesPerS float64 `json:"creates_per_second"`
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	// CPU is the servers' CPU time (all instances) per create, µs.
	CPU float64 `json:"server_cpu_us_per_create,omitempty"`
}

func (r *InstancesReport) print(w io.Writer) {
	r.printAs(w, "instances")
	if r.Bare != nil {
		r.Bare.printAs(w, "bare servers")
	}
}

func (r *InstancesReport) printAs(w io.Writer, what string) {
	run := func(x InstancesRun) {
		fmt.Fprintf(w, "%s: %d: %d creates, %d errors, %.0f/s, p50 %.2f ms, p99 %.2f ms, servers' CPU %.0f µs per create\n",
			what, x.Instances, x.Creates, x.Errors, x.CreatesPerS, x.P50, x.P99, x.CPU)
	}
	for i, x := range r.One {
		if i == 1 {
			run(r.Many)
		}
		run(x)
	}
	fmt.Fprintf(w, "%s: %d ÷ 1: %.0f / %.0f = %.2f (peak %d database connections of max_connections %d)\n",
		what, r.N, r.Many.CreatesPerS, r.OneMean, r.Ratio, r.PeakConnections, r.MaxConnections)
}

// instancesPhase runs the creates on one instance, on N, and on one
// again, all on o.DatabaseURL, with pgbench before and after when asked.
func instancesPhase(ctx context.Context, o Options, rep *Report, log io.Writer) error {
	ir := &InstancesReport{N: o.Instances}
	rep.Instances = ir
	root, err := os.MkdirTemp("", "obmen-bench-instances-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	// One secret key for all, as a deployment of several instances has.
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	secretEnv := "OBMEN_SECRET_KEY=" + base64.StdEncoding.EncodeToString(k)

	start := func(i int) (Options, func(), error) {
		oi := o
		oi.Data = filepath.Join(root, strconv.Itoa(i))
		if err := os.MkdirAll(oi.Data, 0o700); err != nil {
			return oi, nil, err
		}
		stop, err := startServer(ctx, &oi, log, secretEnv)
		if err != nil {
			return oi, nil, fmt.Errorf("bench: instance %d: %w", i+1, err)
		}
		return oi, stop, nil
	}
	first, stopFirst, err := start(0)
	if err != nil {
		return err
	}
	defer stopFirst()

	var pgbench string
	if o.PgbenchCompare {
		if pgbench, err = pgbenchBinary(); err != nil {
			return err
		}
		rep.Pgbench = &PgbenchReport{Clients: o.PgbenchClients}
	}
	bracket := func() error {
		if rep.Pgbench == nil {
			return nil
		}
		tps, err := runPgbench(ctx, pgbench, o.DatabaseURL, o.PgbenchClients, o.Duration)
		if err != nil {
			return err
		}
		rep.Pgbench.TPS = append(rep.Pgbench.TPS, tps)
		return nil
	}
	if err := bracket(); err != nil {
		return err
	}
	if err := instancesSequence(ctx, o, ir, first, start); err != nil {
		return err
	}
	if err := bracket(); err != nil {
		return err
	}
	rep.Creates, rep.CreateErrs, rep.CreatesPerS, rep.CreateP50, rep.CreateP99 = ir.Many.Creates, ir.Many.Errors, ir.Many.CreatesPerS, ir.Many.P50, ir.Many.P99
	if p := rep.Pgbench; p != nil {
		p.Mean = mean(p.TPS)
		p.Ratio = rep.CreatesPerS / p.Mean
	}
	if o.BareCompare {
		// The yardstick: the same sequence with bare servers on the same
		// database (after Obmen's, whose first instance stays up for its
		// user and migrations but gets no load).
		ir.Bare = &InstancesReport{N: o.Instances}
		key := strconv.FormatInt(time.Now().UnixNano(), 36)
		startBareN := func(int) (Options, func(), error) { return startBareKey(ctx, o, key, log) }
		bo, stopBare, err := startBareN(0)
		if err != nil {
			return err
		}
		defer stopBare()
		if err := instancesSequence(ctx, o, ir.Bare, bo, startBareN); err != nil {
			return fmt.Errorf("bench: bare servers: %w", err)
		}
	}
	return nil
}

// instancesSequence runs the creates on first alone, on first and N-1
// more servers that start makes (start(i), i = 1 … N-1), and on first
// alone again, filling ir's runs and ratio.
func instancesSequence(ctx context.Context, o Options, ir *InstancesReport, first Options, start func(int) (Options, func(), error)) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}}
	defer client.CloseIdleConnections()
	creates := func(all []Options) (InstancesRun, error) {
		lo := first
		lo.URLs, lo.ServerPIDs = nil, nil
		for _, x := range all {
			lo.URLs = append(lo.URLs, x.URL)
			lo.ServerPIDs = append(lo.ServerPIDs, x.ServerPID)
		}
		// Untimed first: a server just started opens its PostgreSQL
		// connections on demand (a backend process each) and River's
		// producers start; that is its start, not its steady state, and
		// it fell on the instances just started alone (3 ÷ 1 measured
		// 0.29 without the warm-up on a loaded machine).
		if err := warmUp(ctx, client, lo); err != nil {
			return InstancesRun{}, err
		}
		var r Report
		err := createLeads(ctx, client, lo, &r)
		return InstancesRun{Instances: len(all), Creates: r.Creates, Errors: r.CreateErrs, CreatesPerS: r.CreatesPerS,
			P50: r.CreateP50, P99: r.CreateP99, CPU: r.CreateCPU}, err
	}

	one, err := creates([]Options{first})
	if err != nil {
		return err
	}
	ir.One = append(ir.One, one)

	all := []Options{first}
	var stops []func()
	stopExtra := func() {
		for _, stop := range stops {
			stop()
		}
		stops, all = nil, all[:1]
	}
	defer func() { stopExtra() }()
	for i := 1; i < o.Instances; i++ {
		x, stop, err := start(i)
		if err != nil {
			return err
		}
		all, stops = append(all, x), append(stops, stop)
	}
	maxConns, stopWatch := watchConnections(ctx, o.DatabaseURL)
	ir.Many, err = creates(all)
	ir.PeakConnections, ir.MaxConnections = stopWatch(), maxConns
	if err != nil {
		return err
	}
	stopExtra()

	one, err = creates([]Options{first})
	if err != nil {
		return err
	}
	ir.One = append(ir.One, one)
	for _, x := range ir.One {
		ir.OneMean += x.CreatesPerS / float64(len(ir.One))
	}
	ir.Ratio = ir.Many.CreatesPerS / ir.OneMean
	return nil
}

// watchConnections samples pg_stat_activity every 100 ms until the
// returned function is called, which returns the peak; maxConns is the
// server's max_connections (0 and a no-op when the database cannot be
// read).
func watchConnections(ctx context.Context, dbURL string) (maxConns int, stop func() int) {
	peak := new(int)
	p, err := sql.Open("pgx", dbURL)
	if err != nil {
		return 0, func() int { return 0 }
	}
	p.SetMaxOpenConns(1)
	var s string
	if err := p.QueryRowContext(ctx, "SHOW max_connections").Scan(&s); err != nil {
		p.Close()
		return 0, func() int { return 0 }
	}
	maxConns, _ = strconv.Atoi(s)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			var n int
			if err := p.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'").Scan(&n); err == nil && n > *peak {
				*peak = n
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return maxConns, func() int {
		close(done)
		wg.Wait()
		p.Close()
		return *peak
	}
}
