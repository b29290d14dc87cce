package httpx

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the HTTP server.
var (
	Requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "obmen_http_requests_total",
		Help: "HTTP requests by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	Latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "obmen_http_request_duration_seconds",
		Help:    "HTTP request latency by route pattern.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route"})
)

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Observe logs and measures every request and turns a panic into a 500,
// so one bad request never takes the server down.
func Observe(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					WriteError(sw, Errorf(http.StatusInternalServerError, "internal", "", "internal error"))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			Requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
			Latency.WithLabelValues(route).Observe(d.Seconds())
			if sw.status >= 500 {
				log.Error("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "duration", d)
			} else {
				log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "duration", d)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// Load counts the requests being served: the server's own measure of how
// busy it is, which background work (automation runs) defers to.
type Load struct {
	n atomic.Int64
}

// Wrap counts next's requests while they run.
func (l *Load) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.n.Add(1)
		defer l.n.Add(-1)
		next.ServeHTTP(w, r)
	})
}

// InFlight is how many requests are being served now.
func (l *Load) InFlight() int64 { return l.n.Load() }
