package webform

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/intake"
	"github.com/obmen/obmen/internal/store"
)

// Options tune the public endpoint.
type Options struct {
	// BaseURL is how sites reach Obmen (the forms' action).
	BaseURL string
	// PerIP and PerForm limit submits: a burst, then one every interval.
	PerIP, PerForm *httpx.Limiter
	// CaptchaKey signs the captcha's questions; instances sharing it (on
	// one PostgreSQL) accept each other's. Empty: a key of this process.
	CaptchaKey []byte
	// PoWBits is the proof-of-work captcha's difficulty in leading zero
	// bits (0: DefaultPoWBits).
	PoWBits int
}

// The default limits of submits (each call a new limiter). A visitor sends a form or two; a script
// sends hundreds. Shared (httpx.Limiter.Shared) they hold across instances.
func DefaultPerIP() *httpx.Limiter   { return httpx.NewLimiter(2*time.Second, 20) }
func DefaultPerForm() *httpx.Limiter { return httpx.NewLimiter(time.Millisecond, 5000) }

// Service keeps the forms and takes their submits.
type Service struct {
	in      *intake.Service
	db      *db.DB
	log     *slog.Logger
	base    string
	perIP   *httpx.Limiter
	perForm *httpx.Limiter
	captcha *captcha
	pow     *pow
	cache   formCache
}

// New returns the web forms' service.
func New(in *intake.Service, log *slog.Logger, o Options) *Service {
	if o.PerIP == nil {
		o.PerIP = DefaultPerIP()
	}
	if o.PerForm == nil {
		o.PerForm = DefaultPerForm()
	}
	if o.PoWBits <= 0 {
		o.PoWBits = DefaultPoWBits
	}
	c := newCaptcha(o.CaptchaKey, in.Store().DB())
	return &Service{in: in, db: in.Store().DB(), log: log, base: o.BaseURL, perIP: o.PerIP, perForm: o.PerForm, captcha: c,
		pow:   &pow{key: c.key, bits: min(o.PoWBits, 32), db: in.Store().DB()},
		cache: formCache{m: map[string]cachedForm{}}}
}

type cachedForm struct {
	f   Form
	exp time.Time
}

// formCache keeps forms for a few seconds; other instances on the same
// PostgreSQL see a change at most that late.
type formCache struct {
	mu sync.Mutex
	m  map[string]cachedForm
}

func (c *formCache) get(pid string) (Form, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[pid]
	if !ok || time.Now().After(e.exp) {
		return Form{}, false
	}
	return e.f, true
}

func (c *formCache) put(pid string, f Form) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 1000 {
		clear(c.m)
	}
	c.m[pid] = cachedForm{f: f, exp: time.Now().Add(5 * time.Second)}
}

func (c *formCache) drop(pid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, pid)
}

// Register adds the public endpoints, outside the REST API (no
// authentication, no OpenAPI): POST /f/{public_id} (submit), OPTIONS for
// CORS preflights, GET …/captcha (a challenge).
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /f/{public_id}", s.submit)
	mux.HandleFunc("OPTIONS /f/{public_id}", s.preflight)
	mux.HandleFunc("GET /f/{public_id}/captcha", s.challenge)
	mux.HandleFunc("OPTIONS /f/{public_id}/captcha", s.preflight)
	mux.HandleFunc("GET /f/pow.js", servePoWScript)
}

// SubmitResponse answers a JSON submit.
type SubmitResponse struct {
	OK       bool   `json:"ok"`
	Entity   string `json:"entity,omitempty"`
	ID       int64  `json:"id,omitempty"`
	Redirect string `json:"redirect,omitempty"`
}

// cors checks the Origin against the form's allowed origins and, when it
// is allowed, says so to the browser. A request without Origin (not from
// a browser's cross-origin page) passes.
func cors(w http.ResponseWriter, r *http.Request, f Form) bool {
	origin := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin")
	if origin == "" {
		return true
	}
	o := strings.ToLower(origin)
	if u, err := url.Parse(o); err == nil && u.Host == strings.ToLower(r.Host) {
		// Obmen's own page: the no-JavaScript captcha question.
		return true
	}
	for _, a := range f.AllowedOrigins {
		if a == o {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			return true
		}
	}
	return false
}

func (s *Service) preflight(w http.ResponseWriter, r *http.Request) {
	f, err := s.byPublicID(r.Context(), r.PathValue("public_id"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if !cors(w, r, f) {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	w.Header().Set("Access-Control-Allow-Methods", "POST, GET")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Accept")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) challenge(w http.ResponseWriter, r *http.Request) {
	f, err := s.byPublicID(r.Context(), r.PathValue("public_id"))
	if err != nil {
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "not_found", "", "no such form"))
		return
	}
	if !cors(w, r, f) {
		httpx.WriteError(w, httpx.Errorf(http.StatusForbidden, "origin_not_allowed", "Origin", "this site may not use the form"))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, s.challengeOf(f))
}

// wantsJSON: a script's submit (Accept or body JSON) gets JSON; a plain
// form gets a redirect or a page.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json") || strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
}

// refusal is a submit's refusal as a script reads it: the error (Message
// in the form's language, Details naming every field at fault by its
// label) and, for a form with a captcha, a fresh question — the one sent
// is spent or wrong, and the corrected resubmit needs a new one.
type refusal struct {
	Error   *httpx.Error `json:"error"`
	Captcha *Challenge   `json:"captcha,omitempty"`
}

// refuse writes a refusal that shows no form again (a foreign site, a
// body too large or unreadable): JSON, or a page with a way back.
func (s *Service) refuse(w http.ResponseWriter, r *http.Request, f Form, status int, code, msg string) {
	if wantsJSON(r) {
		out := refusal{Error: &httpx.Error{Status: status, Code: code, Message: msg}}
		if f.Captcha && status != http.StatusForbidden {
			ch := s.challengeOf(f)
			out.Captcha = &ch
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, status, out)
		return
	}
	back := r.Header.Get("Referer")
	if back == "" {
		back = f.ReturnURL
	}
	s.page(w, status, page{Lang: f.lang(), Title: tr(f.lang(), "webform.not_sent"), Message: msg, Back: back, BackText: tr(f.lang(), "webform.back")})
}

// refuseForm refuses a submit the visitor can correct: every problem
// named by its field's label, the values kept and, with a captcha, a
// fresh question — as JSON for the script, or as the form again on a page
// of Obmen's without JavaScript.
func (s *Service) refuseForm(w http.ResponseWriter, r *http.Request, f Form, vals Values, status int, code, title string, problems []problem) {
	if wantsJSON(r) {
		e := &httpx.Error{Status: status, Code: code, Message: title}
		if len(problems) > 0 {
			e.Field, e.Message, e.Details = problems[0].Field, problems[0].Message, problems
		}
		out := refusal{Error: e}
		if f.Captcha {
			ch := s.challengeOf(f)
			out.Captcha = &ch
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, status, out)
		return
	}
	s.page(w, status, s.refill(f, vals, title, problems))
}

func (s *Service) page(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", pageCSP)
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, p)
}

func (s *Service) submit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pid := r.PathValue("public_id")
	ip := httpx.ClientIP(r)
	if ok, wait := s.perIP.Allow(r.Context(), ip); !ok {
		httpx.TooManyRequests(w, wait)
		return
	}
	f, err := s.byPublicID(ctx, pid)
	if errors.Is(err, store.ErrNotFound) {
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "not_found", "", "no such form"))
		return
	}
	if err != nil {
		s.log.Error("webform: load form", "form", pid, "err", err)
		httpx.WriteError(w, httpx.Errorf(http.StatusInternalServerError, "internal", "", "internal error"))
		return
	}
	lang := f.lang()
	if !cors(w, r, f) {
		s.refuse(w, r, f, http.StatusForbidden, "origin_not_allowed", tr(lang, "webform.origin"))
		return
	}
	if ok, wait := s.perForm.Allow(r.Context(), pid); !ok {
		httpx.TooManyRequests(w, wait)
		return
	}
	limit := int64(MaxBody)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		limit = MaxUpload
	}
	body, rerr := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if rerr != nil {
		var mb *http.MaxBytesError
		if errors.As(rerr, &mb) {
			s.refuse(w, r, f, http.StatusRequestEntityTooLarge, "body_too_large", tr(lang, "webform.too_large", limit>>10))
			return
		}
		s.refuse(w, r, f, http.StatusBadRequest, "bad_request", tr(lang, "webform.unreadable"))
		return
	}
	src := intake.Source{Kind: intake.SourceForm, ID: f.ID, UserID: f.UserID, Actor: crm.Actor{Integration: crm.IntegrationWebform},
		Ref: ip, Note: "Веб-форма: " + f.Name}
	vals, err := Decode(r.Header.Get("Content-Type"), body)
	if err != nil {
		var de *DecodeError
		errors.As(err, &de)
		_ = s.in.Fail(ctx, src, &intake.Fault{Field: de.Field, Message: de.Message})
		s.refuse(w, r, f, http.StatusBadRequest, "bad_request", tr(lang, "webform.unreadable"))
		return
	}
	if vals[fieldHoneypot] != "" {
		s.spam(w, r, f, ip, fieldHoneypot, "honeypot field filled: spam")
		return
	}
	// The minimum fill time (stamp.go). A plain form's submit without a
	// stamp (no script ran) is confirmed on Obmen's own page, below.
	unstamped := false
	if least := f.minFill(); least > 0 {
		if st := vals[fieldStamp]; st == "" && !wantsJSON(r) {
			unstamped = true
		} else if err := s.captcha.checkStamp(f.PublicID, st, least, time.Now()); err != nil {
			s.spam(w, r, f, ip, fieldStamp, err.Error()+": spam")
			return
		}
	}
	sub := collect(f, vals, r)
	// The fields first: a visitor with a typo keeps an unspent question
	// (and gets a fresh one anyway).
	if errs := check(f, sub); len(errs) > 0 {
		_ = s.in.Fail(ctx, src, &intake.Fault{Field: errs[0].Field, Message: errs[0].Message, Code: errs[0].Code, Params: errs[0].Params})
		problems := make([]problem, len(errs))
		for i, fe := range errs {
			problems[i] = f.problemOf(fe.Field, fe)
		}
		s.refuseForm(w, r, f, vals, http.StatusUnprocessableEntity, "validation_failed", tr(lang, "webform.not_sent"), problems)
		return
	}
	if unstamped {
		// The form again on Obmen's page, values kept, with a stamp (and
		// the captcha's question): one more press of the button.
		title := tr(lang, "webform.confirm")
		if f.Captcha {
			title = tr(lang, "webform.captcha_ask")
		}
		s.page(w, http.StatusOK, s.refill(f, vals, title, nil))
		return
	}
	if f.Captcha && !s.captchaPassed(ctx, f, vals, ip) {
		// Without JavaScript the page had no question: it is asked on a
		// page of Obmen's, the values kept (200 the first time).
		if vals[fieldCaptchaToken] == "" && vals[fieldPoWNonce] == "" && !wantsJSON(r) {
			s.page(w, http.StatusOK, s.refill(f, vals, tr(lang, "webform.captcha_ask"), nil))
			return
		}
		p := problem{Field: fieldCaptchaAnswer, Message: tr(lang, "webform.captcha_failed")}
		title := tr(lang, "webform.captcha_wrong")
		if wantsJSON(r) {
			title = p.Message
		}
		s.refuseForm(w, r, f, vals, http.StatusUnprocessableEntity, "captcha_failed", title, []problem{p})
		return
	}
	write, err := build(ctx, s.in, f, sub)
	var res intake.Result
	if err == nil {
		res, err = s.in.Record(ctx, src, write)
	} else if _, ok := intake.AsFault(err); ok {
		err = s.in.Fail(ctx, src, err)
	}
	if err != nil {
		if fault, ok := intake.AsFault(err); ok {
			fe := &crm.FieldError{Field: fault.Field, Message: fault.Message, Code: fault.Code, Params: fault.Params}
			s.refuseForm(w, r, f, vals, http.StatusUnprocessableEntity, "validation_failed", tr(lang, "webform.not_sent"), []problem{f.problemOf(fault.Field, fe)})
			return
		}
		s.log.Error("webform: submit", "form", f.ID, "err", err)
		s.refuseForm(w, r, f, vals, http.StatusInternalServerError, "internal", tr(lang, "webform.internal"), nil)
		return
	}
	s.success(w, r, f, res)
}

// spam answers a bot as a visitor whose submit went in (it learns
// nothing) and writes only the journal line: field and why.
func (s *Service) spam(w http.ResponseWriter, r *http.Request, f Form, ip, field, why string) {
	_, _ = s.in.Journal(r.Context(), intake.Entry{Source: intake.SourceForm, SourceID: f.ID, Ref: ip, Outcome: intake.OutcomeSkipped, Field: field, Error: why})
	s.success(w, r, f, intake.Result{})
}

func (s *Service) success(w http.ResponseWriter, r *http.Request, f Form, res intake.Result) {
	if wantsJSON(r) {
		httpx.WriteJSON(w, http.StatusOK, SubmitResponse{OK: true, Entity: res.Entity, ID: res.RecordID, Redirect: f.ReturnURL})
		return
	}
	if f.ReturnURL != "" {
		http.Redirect(w, r, f.ReturnURL, http.StatusSeeOther)
		return
	}
	s.page(w, http.StatusOK, page{Lang: f.lang(), Title: tr(f.lang(), "webform.thanks"), Back: r.Header.Get("Referer"), BackText: tr(f.lang(), "webform.back")})
}

// submission is a submit's values checked against the form, with the
// visit's analytics.
type submission struct {
	values   map[string]string // field → value (overrides applied)
	utm      crm.UTM
	referrer string
	ga, ym   string
}

// gaClientID turns a _ga cookie (GA1.2.123.456) into its client id.
func gaClientID(v string) string {
	p := strings.Split(v, ".")
	if len(p) >= 4 && strings.HasPrefix(p[0], "GA") {
		return p[len(p)-2] + "." + p[len(p)-1]
	}
	return v
}

func collect(f Form, v Values, r *http.Request) submission {
	sub := submission{values: map[string]string{}}
	for _, fl := range f.Fields {
		if fl.Override != "" {
			sub.values[fl.Name] = fl.Override
		} else {
			sub.values[fl.Name] = strings.TrimSpace(v[fl.Name])
		}
	}
	clip := func(s string) string { return crm.ClipText(s, 255) }
	sub.utm = crm.UTM{UTMSource: clip(v["utm_source"]), UTMMedium: clip(v["utm_medium"]), UTMCampaign: clip(v["utm_campaign"]),
		UTMContent: clip(v["utm_content"]), UTMTerm: clip(v["utm_term"])}
	sub.referrer = v[fieldReferrer]
	if sub.referrer == "" {
		sub.referrer = r.Header.Get("Referer")
	}
	if u, err := url.Parse(sub.referrer); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		sub.referrer = ""
	}
	sub.referrer = clip(sub.referrer)
	// Hidden fields first (the script reads the site's cookies); cookies
	// sent to Obmen itself when the form is on the same site.
	sub.ga, sub.ym = v[fieldGA], v[fieldYM]
	if c, err := r.Cookie("_ga"); err == nil && sub.ga == "" {
		sub.ga = c.Value
	}
	if c, err := r.Cookie("_ym_uid"); err == nil && sub.ym == "" {
		sub.ym = c.Value
	}
	sub.ga, sub.ym = clip(gaClientID(sub.ga)), clip(sub.ym)
	return sub
}
