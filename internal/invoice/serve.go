package invoice

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

//go:embed assets
var assets embed.FS

var page = template.Must(template.New("invoice.html").Funcs(template.FuncMap{"line": partyLine}).ParseFS(assets, "assets/invoice.html"))

// PathPrefix is where the public pages live: /i/<token> and
// /i/<token>.pdf.
const PathPrefix = "/i/"

// Service serves the public invoice pages.
type Service struct {
	store *store.Store
	log   *slog.Logger
	// perIP limits the pages one address may open: a burst, then one
	// every interval, as the web forms' submits are limited.
	perIP *httpx.Limiter
	now   func() time.Time
	// pdfs keeps the PDFs made lately by what they print: drawing one
	// takes about a tenth of a second (the fonts are parsed each time),
	// and a link sent to a client is opened again and again.
	pdfs pdfCache
}

// pdfCache is a small cache of PDFs by the hash of what they print; a
// printed invoice whose data changed has another key.
type pdfCache struct {
	mu    sync.Mutex
	byKey map[[32]byte][]byte
	order [][32]byte
}

const pdfCacheSize = 64

func (c *pdfCache) get(d Doc, made time.Time) ([]byte, error) {
	b, _ := json.Marshal(struct {
		Doc
		Made time.Time
	}{d, made})
	key := sha256.Sum256(b)
	c.mu.Lock()
	out, ok := c.byKey[key]
	c.mu.Unlock()
	if ok {
		return out, nil
	}
	out, err := PDF(d, made)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey == nil {
		c.byKey = map[[32]byte][]byte{}
	}
	if _, ok := c.byKey[key]; !ok {
		c.byKey[key] = out
		c.order = append(c.order, key)
		if len(c.order) > pdfCacheSize {
			delete(c.byKey, c.order[0])
			c.order = c.order[1:]
		}
	}
	return out, nil
}

// DefaultPerIP is the pages' default limit: 60 at once per address, then
// one a second.
func DefaultPerIP() *httpx.Limiter { return httpx.NewLimiter(time.Second, 60) }

// New makes the service; perIP nil is 60 pages at once, then one a second.
func New(s *store.Store, log *slog.Logger, perIP *httpx.Limiter) *Service {
	if perIP == nil {
		perIP = DefaultPerIP()
	}
	return &Service{store: s, log: log, perIP: perIP, now: time.Now}
}

// Register mounts the public pages on mux: no session, the token in the
// link is the permission.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PathPrefix+"invoice.css", s.css)
	mux.HandleFunc("GET "+PathPrefix+"{token}", s.serve)
}

// Routes are the patterns Register mounts (for the access crawl).
func Routes() []string {
	return []string{"GET " + PathPrefix + "invoice.css", "GET " + PathPrefix + "{token}"}
}

func (s *Service) css(w http.ResponseWriter, r *http.Request) {
	b, _ := assets.ReadFile("assets/invoice.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The link is the secret: no cache keeps the page, no other site is
	// told where it came from, no search engine lists it.
	h.Set("Cache-Control", "private, no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex, nofollow")
	if ok, wait := s.perIP.Allow(r.Context(), httpx.ClientIP(r)); !ok {
		h.Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		http.Error(w, "Слишком много запросов, попробуйте позже.", http.StatusTooManyRequests)
		return
	}
	token, asPDF := strings.CutSuffix(r.PathValue("token"), ".pdf")
	doc, v, err := s.Doc(r.Context(), token)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "Счёт не найден.", http.StatusNotFound)
		return
	}
	if err != nil {
		s.log.Error("invoice: public page", "err", err)
		http.Error(w, "Счёт сейчас не открыть, попробуйте позже.", http.StatusInternalServerError)
		return
	}
	if asPDF {
		b, err := s.pdfs.get(doc, v.CreatedAt)
		if err != nil {
			s.log.Error("invoice: pdf", "invoice", v.ID, "err", err)
			http.Error(w, "Счёт сейчас не открыть, попробуйте позже.", http.StatusInternalServerError)
			return
		}
		h.Set("Content-Type", "application/pdf")
		h.Set("Content-Disposition", `inline; filename="invoice-`+safeName(v.Number)+`.pdf"`)
		_, _ = w.Write(b)
		return
	}
	var b bytes.Buffer
	data := struct {
		Doc
		PDF string
	}{doc, token + ".pdf"}
	if err := page.Execute(&b, data); err != nil {
		s.log.Error("invoice: page", "invoice", v.ID, "err", err)
		http.Error(w, "Счёт сейчас не открыть, попробуйте позже.", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// Doc is the printed invoice behind a public token.
func (s *Service) Doc(ctx context.Context, token string) (Doc, crm.Invoice, error) {
	v, err := s.store.InvoiceByToken(ctx, token)
	if err != nil {
		return Doc{}, v, err
	}
	p, err := s.store.InvoicePrintData(ctx, v)
	if err != nil {
		return Doc{}, v, err
	}
	return Build(v, p), v, nil
}

// safeName keeps what a file name may hold.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
