package tmpl

import (
	"sync"
	"time"
	_ "time/tzdata" // Russian zones must resolve on minimal images without /usr/share/zoneinfo.
)

// DefaultZone is the time zone of now(), of dates written without an offset
// and of date() output when a render names none: most of our users keep
// Moscow time.
const DefaultZone = "Europe/Moscow"

// Limits of one render. They are generous for CRM data (a deal with a few
// hundred line items) and small enough that a careless or hostile
// expression fails fast instead of hanging a worker or eating its memory.
const (
	// MaxSourceLen caps the text of one template.
	MaxSourceLen = 64 << 10
	// MaxTextLen caps the text one template renders to.
	MaxTextLen = 1 << 20
	// maxNodes caps the AST of one expression; it also bounds nesting.
	maxNodes = 2000
	// maxExprs caps the {{ … }} of one template: compiling one costs tens
	// of microseconds, and no message needs hundreds.
	maxExprs = 500
	// vmMemory is expr's own budget per expression run: ranges, array and
	// map literals and sortBy count against it.
	vmMemory = 1_000_000
	// workBudget is our budget per render, shared by all its expressions:
	// bytes our functions produce or scan, plus tickCost per iteration of
	// a predicate (map, filter, all…). expr does not count iterations, so
	// nested loops over environment lists would otherwise be unbounded.
	workBudget = 8 << 20
	tickCost   = 16 // about half a million iterations per render
	// nodeCost is charged per value when a result is copied into JSON-like
	// form (see normalize): roughly the bytes one []any slot and its boxing
	// take.
	nodeCost = 16
	// phoneCost and dateCost are charged per call of phone() and date(),
	// whose work does not show in the length of their text.
	phoneCost = 1024
	dateCost  = 64
)

// Option adjusts one render (Template.Render, Value.Render, Cond.Eval).
type Option func(*run)

// WithNow sets the clock now() reads; tests pin it, and an engine may pin
// one instant for every step of a bundle run.
func WithNow(now func() time.Time) Option {
	return func(r *run) { r.now = now }
}

// WithLocation sets the zone of now(), of dates written without an offset
// and of date() when its tz argument is omitted. Default: Europe/Moscow.
func WithLocation(loc *time.Location) Option {
	return func(r *run) {
		if loc != nil {
			r.loc = loc
		}
	}
}

// run is the state of one render. Functions receive it as a hidden first
// argument (see rewrite), which keeps compiled programs free of mutable
// state and safe to share between goroutines.
type run struct {
	now  func() time.Time
	loc  *time.Location
	left int // remaining work budget
}

func newRun(opts []Option) *run {
	r := &run{now: time.Now, loc: moscow(), left: workBudget}
	for _, o := range opts {
		o(r)
	}
	return r
}

// charge spends n units of the work budget.
func (r *run) charge(n int) error {
	r.left -= n
	if r.left < 0 {
		return limitError("evaluation budget exceeded")
	}
	return nil
}

// runKey is the environment name under which a render passes its run to
// functions. It holds a space, so no expression can name it.
const runKey = "tmpl run"

// env returns the environment the VM sees: the caller's roots plus the run.
// The caller's map is not modified.
func (r *run) env(env map[string]any) map[string]any {
	m := make(map[string]any, len(env)+1)
	for k, v := range env {
		m[k] = v
	}
	m[runKey] = r
	return m
}

var moscow = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation(DefaultZone)
	if err != nil { // unreachable with time/tzdata linked in
		return time.FixedZone("MSK", 3*60*60)
	}
	return loc
})

// zones caches time.LoadLocation, which reads and parses zone data on every
// call. Locations are immutable, so sharing them is safe.
var zones sync.Map // string → *time.Location

func loadZone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	// "Local" would leak the server's zone into users' texts; "" is UTC to
	// LoadLocation, which is never what a user meant.
	if name == "" || name == "Local" {
		return nil, errUnknownZone(name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errUnknownZone(name)
	}
	zones.Store(name, loc)
	return loc, nil
}

// fnTick wraps every predicate body: one iteration of a loop.
func fnTick(r *run, args []any) (any, error) {
	if err := r.charge(tickCost); err != nil {
		return nil, err
	}
	return args[0], nil
}
