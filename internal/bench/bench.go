// Package bench is "obmen bench": a load generator that drives a running
// Obmen server over real HTTP on loopback and reports throughput and
// latency percentiles. It can start the server itself (as a separate
// process of the same binary) on a fresh data directory.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options of a bench run.
type Options struct {
	URL          string
	Key          string
	Data         string
	DatabaseURL  string
	SQLiteSync   string
	Workers      int
	Duration     time.Duration
	SeedContacts int
	Lookups      int
	SkipCreate   bool
	JSON         bool
	// The 1C exchange phase (see onec.go).
	Login        string
	OneCProducts int
	OneCVariants int
	OneCOrders   int
	ServerPID    int
	// Automation runs the automation phase (automation.go).
	Automation bool
	// SiteProducts runs the site phase alone (site.go).
	SiteProducts int
	// SiteHeap, with SiteProducts, is a folder where the site process's
	// heap profile is written each time its memory reaches a new peak.
	SiteHeap string
	// PgbenchCompare runs pgbench's equivalent write before and after the
	// creates (pgbench.go); PgbenchClients is its connection count.
	PgbenchCompare bool
	PgbenchClients int
	// BareCompare runs the bare server's creates (bare.go) before and
	// after Obmen's, on SQLite; BareServe runs that server (internal).
	BareCompare bool
	BareServe   string
	// Deliveries runs the deliveries phase (deliveries.go) at
	// DeliveryRate lead creates per second.
	Deliveries   bool
	DeliveryRate int
	// Instances, above 1, runs the instances phase alone (instances.go).
	Instances int
	// URLs, when set, are the servers the creates go to round-robin
	// (instead of URL), and ServerPIDs their processes.
	URLs       []string
	ServerPIDs []int
}

// Main parses the command line and runs the benchmark.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o Options
	fs := flag.NewFlagSet("obmen bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.URL, "url", "", "base URL of a running server (default: start one on a temporary data directory)")
	fs.StringVar(&o.Key, "key", "", "API key for --url")
	fs.StringVar(&o.Data, "data", "", "data directory of the server to start (default: a new temporary one)")
	fs.StringVar(&o.DatabaseURL, "database-url", os.Getenv("OBMEN_DATABASE_URL"), "run the started server on this PostgreSQL")
	fs.StringVar(&o.SQLiteSync, "sqlite-sync", "NORMAL", "SQLite synchronous mode of the started server: NORMAL or FULL")
	fs.IntVar(&o.Workers, "workers", 64, "concurrent HTTP clients creating leads")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to create leads")
	fs.IntVar(&o.SeedContacts, "seed-contacts", 0, "load this many contacts (bulk SQL) and measure find-by-phone")
	fs.IntVar(&o.Lookups, "lookups", 5000, "find-by-phone requests to time")
	fs.BoolVar(&o.SkipCreate, "skip-create", false, "skip the lead-create phase")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON")
	fs.StringVar(&o.Login, "login", "admin", "user 1C signs in as, with --key as its password (for --url)")
	fs.IntVar(&o.OneCProducts, "onec-products", 0, "exchange a generated catalog of this many products with offers through the 1C protocol")
	fs.IntVar(&o.OneCVariants, "onec-variants", 3, "variants (1C characteristics: offers \"<good>#<characteristic>\" with prices per type and stock per warehouse) of each product of --onec-products; 0: one offer per product")
	fs.IntVar(&o.OneCOrders, "onec-orders", 0, "create this many sales orders over the API and take them out through one 1C sale query")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "process id of the --url server, to report its memory during the 1C phase")
	fs.BoolVar(&o.Automation, "automation", false, "measure automation bundles: change → first step latency at 500 changes/s, a three-step bundle's runs/s and lead creates beside it (--duration each)")
	fs.StringVar(&o.SiteHeap, "site-heap", "", "with --site-products: write the site process's heap profile (site-heap.pb.gz, go tool pprof) into this folder at each new peak of its memory")
	fs.IntVar(&o.SiteProducts, "site-products", 0, "alone, on two servers of its own (SQLite): export a catalog of this many products with two price types from one to the other playing the web shop, and report the time and both processes' memory")
	fs.BoolVar(&o.PgbenchCompare, "pgbench-compare", false, "PostgreSQL: also run pgbench with the same logical write (lead + phone + event in one transaction) on the same database, before and after the creates, and print the ratio")
	fs.IntVar(&o.PgbenchClients, "pgbench-clients", 16, "pgbench connections for --pgbench-compare (16: the server's pool on this many CPUs)")
	fs.BoolVar(&o.BareCompare, "bare-compare", false, "SQLite: also run the same creates against a bare server (plain net/http, same schema, lead + phone + e-mail + event in one transaction per request), before and after Obmen's, and print the ratio; with --instances: also run the instances' sequence with bare servers on the PostgreSQL database (one statement per create) and print their ratio")
	fs.StringVar(&o.BareServe, "bare-serve", "", "run the bare server of --bare-compare on this address with --data (used by --bare-compare)")
	fs.BoolVar(&o.Deliveries, "deliveries", false, "measure change → delivered: an outbound webhook (native, lead.create) to a receiver in the bench, lead creates at --delivery-rate for --duration; latency p50/p99/max, delivered of made, duplicates (a --url server needs OBMEN_OUTBOUND_ALLOW=127.0.0.1)")
	fs.IntVar(&o.DeliveryRate, "delivery-rate", 500, "lead creates per second of --deliveries")
	fs.IntVar(&o.Instances, "instances", 0, "with --database-url: alone, start this many servers on the database and run the lead creates (--workers, --duration) on one, spread round-robin over all, and on one again; prints creates/s, p50/p99 and the ratio (with --pgbench-compare, pgbench's too; with --bare-compare, bare servers' too)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.BareServe != "" {
		return BareServe(ctx, o.BareServe, o.Data, o.SQLiteSync, o.DatabaseURL)
	}
	if o.BareCompare && o.Instances <= 1 && (o.DatabaseURL != "" || o.SkipCreate || o.URL != "") {
		return errors.New("bench: --bare-compare is for SQLite with the server the bench starts (or with --instances), and needs the create phase")
	}
	if o.URL != "" && o.Key == "" {
		return errors.New("bench: --url needs --key")
	}
	if o.URL != "" && o.SeedContacts > 0 && o.Data == "" && o.DatabaseURL == "" {
		return errors.New("bench: --seed-contacts with --url needs --data or --database-url of that server's database")
	}
	if o.PgbenchCompare && (o.DatabaseURL == "" || o.SkipCreate) {
		return errors.New("bench: --pgbench-compare needs --database-url and the create phase")
	}
	if o.Instances > 1 && (o.DatabaseURL == "" || o.URL != "" || o.SkipCreate || o.Deliveries || o.Automation || o.SeedContacts > 0 || o.OneCProducts > 0 || o.OneCOrders > 0 || o.SiteProducts > 0) {
		return errors.New("bench: --instances runs alone (with --pgbench-compare and --bare-compare at most), needs --database-url and starts its own servers")
	}
	if o.Deliveries && o.DeliveryRate <= 0 {
		return errors.New("bench: --delivery-rate must be positive")
	}
	r, err := Run(ctx, o, stderr)
	if err != nil {
		return err
	}
	if o.JSON {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	r.Print(stdout)
	return nil
}

// Report is what a run measured.
type Report struct {
	Machine     string  `json:"machine"`
	Engine      string  `json:"engine"`
	SQLiteSync  string  `json:"sqlite_sync,omitempty"`
	Workers     int     `json:"workers"`
	Creates     int64   `json:"creates"`
	CreateErrs  int64   `json:"create_errors"`
	CreatesPerS float64 `json:"creates_per_second"`
	CreateP50   float64 `json:"create_p50_ms"`
	CreateP99   float64 `json:"create_p99_ms"`
	// CreateCPU is the server process's CPU time (user + system) per
	// acknowledged create, in microseconds, when bench knows its process:
	// on a loaded machine the creates/s of two servers depend on the share
	// of the CPU each got, their CPU per create does not.
	CreateCPU  float64           `json:"create_cpu_us,omitempty"`
	Events     int64             `json:"events_read"`
	EventsPerS float64           `json:"events_per_second"`
	Contacts   int64             `json:"contacts"`
	SeedPerS   float64           `json:"seed_contacts_per_second,omitempty"`
	LookupP50  float64           `json:"find_by_phone_p50_ms,omitempty"`
	LookupP99  float64           `json:"find_by_phone_p99_ms,omitempty"`
	LookupMiss int64             `json:"find_by_phone_misses,omitempty"`
	Pgbench    *PgbenchReport    `json:"pgbench,omitempty"`
	Bare       *BareReport       `json:"bare,omitempty"`
	OneC       *OneCReport       `json:"onec,omitempty"`
	Automation *AutomationReport `json:"automation,omitempty"`
	Deliveries *DeliveriesReport `json:"deliveries,omitempty"`
	Instances  *InstancesReport  `json:"instances,omitempty"`
	Site       *SiteReport       `json:"site,omitempty"`
}

// Print writes the report for people.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "machine: %s\nengine: %s %s\n", r.Machine, r.Engine, r.SQLiteSync)
	if r.Creates > 0 || r.CreateErrs > 0 {
		fmt.Fprintf(w, "lead create over HTTP: %d acknowledged, %d errors, %.0f/s, p50 %.2f ms, p99 %.2f ms (%d workers)\n",
			r.Creates, r.CreateErrs, r.CreatesPerS, r.CreateP50, r.CreateP99, r.Workers)
	}
	if r.CreateCPU > 0 {
		fmt.Fprintf(w, "server CPU per create: %.0f µs\n", r.CreateCPU)
	}
	if r.Pgbench != nil {
		r.Pgbench.print(w, r.CreatesPerS)
	}
	if r.Bare != nil {
		r.Bare.print(w, r.CreatesPerS, r.CreateCPU)
	}
	if r.Instances != nil {
		r.Instances.print(w)
	}
	if r.Site == nil && r.Instances == nil { // these phases run alone
		fmt.Fprintf(w, "event log read over HTTP: %d events, %.0f/s\n", r.Events, r.EventsPerS)
	}
	if r.Contacts > 0 {
		fmt.Fprintf(w, "contacts: %d (seeded at %.0f/s)\nfind-by-phone over HTTP: p50 %.3f ms, p99 %.3f ms, misses %d\n",
			r.Contacts, r.SeedPerS, r.LookupP50, r.LookupP99, r.LookupMiss)
	}
	if r.OneC != nil {
		r.OneC.print(w)
	}
	if r.Automation != nil {
		r.Automation.print(w)
	}
	if r.Deliveries != nil {
		r.Deliveries.print(w)
	}
	if r.Site != nil {
		r.Site.print(w)
	}
}

// Run performs the benchmark.
func Run(ctx context.Context, o Options, log io.Writer) (Report, error) {
	rep := Report{Machine: fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU()), Workers: o.Workers, Engine: "sqlite"}
	if o.DatabaseURL != "" {
		rep.Engine = "postgres"
	} else {
		rep.SQLiteSync = o.SQLiteSync
	}
	if o.SiteProducts > 0 {
		rep.Engine, rep.SQLiteSync = "sqlite", o.SQLiteSync
		rep.Site = &SiteReport{}
		return rep, sitePhase(ctx, o, rep.Site, log)
	}
	if o.Instances > 1 {
		return rep, instancesPhase(ctx, o, &rep, log)
	}
	var phones []string
	seed := func() error {
		var dur time.Duration
		var err error
		if phones, dur, err = Seed(ctx, o.Data, o.DatabaseURL, o.SeedContacts, log); err != nil {
			return err
		}
		rep.Contacts = int64(o.SeedContacts)
		rep.SeedPerS = float64(o.SeedContacts) / dur.Seconds()
		return nil
	}
	if o.URL == "" {
		if o.Data == "" {
			tmp, err := os.MkdirTemp("", "obmen-bench-*")
			if err != nil {
				return rep, err
			}
			defer os.RemoveAll(tmp)
			o.Data = tmp
		}
		// A bulk load goes before the server starts, as an import would:
		// from another process it would fight the server's writers (River's
		// connection) for SQLite's lock and leave a WAL of hundreds of
		// megabytes for the server to checkpoint while lookups are timed.
		if o.SeedContacts > 0 {
			if err := seed(); err != nil {
				return rep, err
			}
		}
		stop, err := startServer(ctx, &o, log)
		if err != nil {
			return rep, err
		}
		defer stop()
	} else if o.SeedContacts > 0 {
		if err := seed(); err != nil {
			return rep, err
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}}
	// Each phase is timed on a server that is not still busy with the one
	// before: lookups come first, on the loaded contacts; right after ten
	// seconds of creates the server is still checkpointing their WAL and
	// collecting their garbage, which put ~0.5 ms on the lookups' p99.
	if o.SeedContacts > 0 {
		if err := lookups(ctx, client, o, phones, &rep); err != nil {
			return rep, err
		}
	}
	// The exchange goes before the creates, so that the server's memory
	// figures are the exchange's.
	if o.OneCProducts > 0 || o.OneCOrders > 0 {
		rep.OneC = &OneCReport{}
		if err := oneC(ctx, client, o, rep.OneC, log); err != nil {
			return rep, err
		}
	}
	var pgbench string
	if o.PgbenchCompare {
		var err error
		if pgbench, err = pgbenchBinary(); err != nil {
			return rep, err
		}
		rep.Pgbench = &PgbenchReport{Clients: o.PgbenchClients}
	}
	if o.BareCompare {
		rep.Bare = &BareReport{}
	}
	bracket := func() error {
		if rep.Bare != nil {
			bo, stop, err := startBare(ctx, o, log)
			if err != nil {
				return err
			}
			var br Report
			err = createLeads(ctx, client, bo, &br)
			stop()
			if err != nil {
				return fmt.Errorf("bench: bare server: %w", err)
			}
			rep.Bare.Runs = append(rep.Bare.Runs, br.CreatesPerS)
			if br.CreateCPU > 0 {
				rep.Bare.CPURuns = append(rep.Bare.CPURuns, br.CreateCPU)
			}
			rep.Bare.CreatesPerS, rep.Bare.P50, rep.Bare.P99 = br.CreatesPerS, br.CreateP50, br.CreateP99
		}
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
	if !o.SkipCreate {
		if err := bracket(); err != nil {
			return rep, err
		}
		if o.DatabaseURL != "" {
			// PostgreSQL: untimed first, with current statistics after.
			if err := warmUp(ctx, client, o); err != nil {
				return rep, err
			}
		}
		if err := createLeads(ctx, client, o, &rep); err != nil {
			return rep, err
		}
		if err := bracket(); err != nil {
			return rep, err
		}
		if p := rep.Pgbench; p != nil {
			p.Mean = mean(p.TPS)
			p.Ratio = rep.CreatesPerS / p.Mean
		}
		if b := rep.Bare; b != nil {
			b.Mean = mean(b.Runs)
			b.Ratio = rep.CreatesPerS / b.Mean
			if len(b.CPURuns) > 0 && rep.CreateCPU > 0 {
				b.CPURatio = mean(b.CPURuns) / rep.CreateCPU
			}
		}
	}
	if err := readEvents(ctx, client, o, &rep); err != nil {
		return rep, err
	}
	if o.Automation {
		if err := automation(ctx, client, o, &rep); err != nil {
			return rep, err
		}
	}
	if o.Deliveries {
		if err := deliveries(ctx, client, o, &rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// startServer runs "obmen serve" from this binary on a free port and
// creates an API key for the bench.
func startServer(ctx context.Context, o *Options, log io.Writer, extraEnv ...string) (func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	env := append(os.Environ(), "OBMEN_ADMIN_PASSWORD=bench-password", "OBMEN_LOG_LEVEL=warn", "OBMEN_SQLITE_SYNC="+o.SQLiteSync,
		// The deliveries phase's receiver is on loopback.
		"OBMEN_OUTBOUND_ALLOW=127.0.0.1")
	if o.DatabaseURL != "" {
		env = append(env, "OBMEN_DATABASE_URL="+o.DatabaseURL)
	}
	env = append(env, extraEnv...)
	cmd := exec.Command(exe, "serve", "--data", o.Data, "--addr", addr)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = io.Discard, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	o.ServerPID = cmd.Process.Pid
	o.Login = "admin"
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
	}
	o.URL = "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(o.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, errors.New("bench: server did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	key, err := sessionKey(o.URL)
	if err != nil {
		stop()
		return nil, err
	}
	o.Key = key
	return stop, nil
}

// sessionKey signs in as admin and creates an API key over the API.
func sessionKey(base string) (string, error) {
	body := `{"login":"admin","password":"bench-password"}`
	resp, err := http.Post(base+"/api/v1/session", "application/json", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var s struct {
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
		CSRF string `json:"csrf_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != 200 {
		return "", fmt.Errorf("bench: sign in: status %d %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/users/%d/keys", base, s.User.ID), strings.NewReader(`{"name":"bench"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", s.CSRF)
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	kr, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer kr.Body.Close()
	var k struct {
		Key string `json:"key"`
	}
	if err := json.NewDecoder(kr.Body).Decode(&k); err != nil || k.Key == "" {
		return "", fmt.Errorf("bench: create key: status %d %v", kr.StatusCode, err)
	}
	return k.Key, nil
}

func percentile(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	i := int(float64(len(d)-1) * p)
	return float64(d[i].Microseconds()) / 1000
}

// leadSeq numbers the leads the bench creates, across phases.
var leadSeq atomic.Int64

func createLeads(ctx context.Context, client *http.Client, o Options, rep *Report) error {
	pids := o.ServerPIDs
	if len(pids) == 0 {
		pids = []int{o.ServerPID}
	}
	cpu0, cpuErr := procsCPU(pids)
	var ok, bad atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(o.Duration)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
				// Every lead of every phase has its own phone and e-mail:
				// a phase repeating an earlier one's would measure the
				// duplicate check finding and listing them.
				n := leadSeq.Add(1)
				body := fmt.Sprintf(`{"title":"Заявка с сайта %d-%d","name":"Иван","last_name":"Петров","phones":[{"value":"8 (9%02d) %03d-%02d-%02d","value_type":"mobile"}],"emails":[{"value":"lead%d@example.ru"}],"source_id":"WEB","utm_source":"yandex","utm_medium":"cpc","utm_campaign":"spring"}`,
					w, i, n/10_000_000%100, n/10_000%1000, n/100%100, n%100, n)
				base := o.URL
				if len(o.URLs) > 0 { // a load balancer's round-robin
					base = o.URLs[(w+i)%len(o.URLs)]
				}
				req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/leads", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+o.Key)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				d := time.Since(t0)
				if err != nil {
					bad.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					bad.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d: %s", resp.StatusCode, b))
					continue
				}
				ok.Add(1)
				local = append(local, d)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	el := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	rep.Creates, rep.CreateErrs = ok.Load(), bad.Load()
	rep.CreatesPerS = float64(rep.Creates) / el.Seconds()
	rep.CreateP50, rep.CreateP99 = percentile(lat, .5), percentile(lat, .99)
	if cpu1, err := procsCPU(pids); err == nil && cpuErr == nil && rep.Creates > 0 {
		rep.CreateCPU = float64((cpu1 - cpu0).Microseconds()) / float64(rep.Creates)
	}
	if rep.Creates == 0 {
		return fmt.Errorf("bench: no lead was created: %v", firstErr.Load())
	}
	return nil
}

// procsCPU is the CPU time of the processes together.
func procsCPU(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, p := range pids {
		c, err := procCPU(p)
		if err != nil {
			return 0, err
		}
		sum += c
	}
	return sum, nil
}

// readEvents pages through the whole log with pages of 10,000. The log
// has no gaps (see internal/events), so a page holds last_id-after events;
// the client checks that each page starts right after the previous one
// instead of decoding every event, so that the figure is the server's.
func readEvents(ctx context.Context, client *http.Client, o Options, rep *Report) error {
	after := int64(0)
	start := time.Now()
	var n int64
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/events?after=%d&limit=10000", o.URL, after), nil)
		req.Header.Set("Authorization", "Bearer "+o.Key)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return fmt.Errorf("bench: events: status %d %v", resp.StatusCode, err)
		}
		i := bytes.LastIndex(body, []byte(`"last_id":`))
		if i < 0 {
			return fmt.Errorf("bench: events: no last_id in %.200s", body)
		}
		var last int64
		if _, err := fmt.Sscanf(string(body[i+len(`"last_id":`):]), "%d", &last); err != nil {
			return fmt.Errorf("bench: events: %w", err)
		}
		if last == after {
			break
		}
		if want := fmt.Sprintf(`{"events":[{"id":%d,`, after+1); !bytes.HasPrefix(body, []byte(want)) {
			return fmt.Errorf("bench: events: page after %d does not start with event %d", after, after+1)
		}
		n += last - after
		after = last
	}
	rep.Events = n
	rep.EventsPerS = float64(n) / time.Since(start).Seconds()
	return nil
}

// lookupWarmUp is how many lookups go untimed before the timed ones, and
// lookupWarmFor how long at least: as long as the other phases warm up.
const (
	lookupWarmUp  = 500
	lookupWarmFor = 2 * time.Second
)

func lookups(ctx context.Context, client *http.Client, o Options, phones []string, rep *Report) error {
	if len(phones) == 0 || o.Lookups <= 0 {
		return nil
	}
	lat := make([]time.Duration, 0, o.Lookups)
	var miss int64
	// Untimed first, as the other phases: a server just started opens its
	// database connections on demand (PostgreSQL: it warms them before it
	// listens, db.WarmPool), and its first second is its own start — River
	// electing a leader, every housekeeping duty's first sweep, each
	// background loop's first statements on a fresh backend (up to 27 ms
	// to parse one, seen in the PostgreSQL log), which slowed lookups made
	// then to 12–23 ms: the server's start, not its steady state.
	warmUntil := time.Now().Add(lookupWarmFor)
	// The measuring side collects no garbage while it measures (its own
	// collections are not the server's latency) unless its heap reaches
	// 1 GiB (a few kilobytes an answer: a long run stays bounded).
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 30))
	// k numbers every lookup, so that the timed ones ask other phones
	// than the untimed ones did; i counts those of the current part.
	for i, k, warm := 0, 0, true; warm || i < o.Lookups; k++ {
		if warm && i >= min(lookupWarmUp, o.Lookups) && time.Now().After(warmUntil) {
			warm, i = false, 0
		}
		p := phones[(k*7919)%len(phones)]
		req, _ := http.NewRequestWithContext(ctx, "GET", o.URL+"/api/v1/contacts?phone="+urlEscape(p), nil)
		req.Header.Set("Authorization", "Bearer "+o.Key)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		var page struct {
			Items []json.RawMessage `json:"items"`
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if err := json.Unmarshal(b, &page); err != nil || resp.StatusCode != 200 {
			return fmt.Errorf("bench: find by phone: status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
		}
		i++
		if warm {
			continue
		}
		if len(page.Items) != 1 {
			miss++
		}
		lat = append(lat, d)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	rep.LookupP50, rep.LookupP99, rep.LookupMiss = percentile(lat, .5), percentile(lat, .99), miss
	return nil
}

func urlEscape(s string) string {
	r := strings.NewReplacer("+", "%2B", " ", "%20", "(", "%28", ")", "%29")
	return r.Replace(s)
}

// dataPath is the SQLite file of a data directory.
func dataPath(dir string) string { return filepath.Join(dir, "obmen.db") }
