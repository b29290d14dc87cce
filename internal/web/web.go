// Package web serves Obmen's admin UI: server-rendered html/template pages
// with htmx (vendored, see static/README.md) and plain CSS, under "/" of the
// same server as the REST API. Sessions are the API's (cookie
// obmen_session); every state-changing request carries the session's CSRF
// token.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/bitrix"
	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/google"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dav/caldav"
	"github.com/obmen/obmen/internal/delivery"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/intake/mail"
	"github.com/obmen/obmen/internal/intake/webform"
	"github.com/obmen/obmen/internal/notify"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/totp"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// SessionCookie is the API's session cookie, shared with the UI.
const SessionCookie = "obmen_session"

// maxForm bounds a submitted form.
const maxForm = 1 << 20

// sessionTTL matches the API's session lifetime.
const sessionTTL = 12 * time.Hour

// UI is the admin web interface.
type UI struct {
	// messenger sends replies from cards (nil: no channel configured).
	messenger Messenger
	// social imports from the client's VK profile (nil: no VK).
	social *Social
	// messageFiles fetches the files clients sent that a channel keeps.
	messageFiles MessageFile
	store        *store.Store
	log          *slog.Logger
	pages        map[string]*template.Template
	entities     []*entity
	byPath       map[string]*entity
	journal      []journalSource
	routes       []string // the registered patterns (Routes)
	integ        []Integration

	// msgChannels are the channels a reply from a card can go to.
	msgChannels []string

	loginByIP, loginByName *httpx.Limiter
	// feedPerIP limits GET /ical/<token>.ics (icalfeed.go).
	feedPerIP *httpx.Limiter
	// totp is the optional second sign-in step (SetTOTP); nil: none.
	totp *totp.Guard

	// The webhooks pages' services (SetWebhooks).
	inHooks  *bitrix.Webhooks
	outHooks *delivery.Service
	baseURL  string

	// The lead intake settings pages' services (SetIntake).
	forms      *webform.Service
	collectors *mail.Service

	// The bundles' service (SetAutomation): the Automation section, the
	// cards' Run menu and runs.
	auto *automation.Service
	// conns are the saved connections (connections.go); connUsers names
	// the bundles using one.
	conns *connection.Store
	// addr is where address blocks' suggestions come from
	// (SetAddressSource); nil: the imported ФИАС/ГАР base alone.
	addr *address.Source
	// sites are the exchanges with web shops (sites.go).
	sites *site.Service
	// google is the users' Google contacts and calendar sync (google.go).
	google    *google.Service
	connUsers connection.Users

	// tz is the installation's time zone from the configuration
	// (SetTimeZone); the setting "time_zone" overrides it.
	tz *time.Location
	// The notifications (SetNotify): the bell and its page.
	notify *notify.Service

	// bitrixScopes lists the scopes the Bitrix24 REST serves.
	bitrixScopes func() []string
}

// New builds the UI over a store. Journal sources (the integrations'
// exchange journals) are added with AddJournal.
func New(s *store.Store, log *slog.Logger) (*UI, error) {
	u := &UI{store: s, log: log,
		// As the API's sign-in: 20 at once per address then one every
		// 3 s; 10 per login then one every 6 s.
		loginByIP:   httpx.NewLimiter(3*time.Second, 20),
		loginByName: httpx.NewLimiter(6*time.Second, 10),
		feedPerIP:   caldav.DefaultFeedPerIP(),
	}
	u.tz, _ = time.LoadLocation("Europe/Moscow")
	u.entities = entities(s)
	u.byPath = map[string]*entity{}
	for _, e := range u.entities {
		u.byPath[e.Name] = e
	}
	if err := u.parse(); err != nil {
		return nil, err
	}
	return u, nil
}

// SetSignInLimits replaces the sign-in limiters (tests make them small).
func (u *UI) SetSignInLimits(perIP, perLogin *httpx.Limiter) {
	u.loginByIP, u.loginByName = perIP, perLogin
}

var funcs = template.FuncMap{
	"strs": func(s ...string) []string { return s },
	"add":  func(a, b int) int { return a + b },
	// dayIn: day i (0 Monday … 6 Sunday) is in a weekday bit mask.
	"dayIn": func(mask, i int) bool { return mask&(1<<i) != 0 },
	// fileSize is a size in bytes as people read it ("12 КБ").
	"fileSize": fileSize,
	// hhmm is minutes from midnight as "09:30".
	"hhmm": hhmm,
	// calEv pairs the page's view with one calendar item.
	"calEv": func(v *view, it calItem) calEvView { return calEvView{V: v, Item: it} },
	// calEvIn is calEv with its element ids prefixed (an item shown twice).
	"calEvIn": func(v *view, it calItem, prefix string) calEvView { return calEvView{V: v, Item: it, Prefix: prefix} },
	"div":     func(a, b int64) int64 { return a / b },
	// netErr says a connection error in the user's language.
	"netErr": netErrorText,
	"bellOf": func(n int, label string) bellView { return bellView{Count: n, Label: label} },
	// tel is a phone's tel: link (html/template keeps the scheme).
	"tel": func(phone string) template.URL { return template.URL(telHref(phone)) },
	"fmtTime": func(loc *time.Location, t any) string {
		var tm time.Time
		switch v := t.(type) {
		case time.Time:
			tm = v
		case *time.Time:
			if v != nil {
				tm = *v
			}
		}
		if tm.IsZero() {
			return ""
		}
		return formatTime(tm, loc)
	},
}

// parse builds one template set per page: the layout plus the page file.
func (u *UI) parse() error {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	u.pages = map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || base == "parts" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html", n)
		if err != nil {
			return fmt.Errorf("web: template %s: %w", n, err)
		}
		u.pages[base] = t
	}
	return nil
}

// Register mounts the UI on mux. The API, /rest/, /healthz and /metrics
// keep their own, more specific patterns.
func (u *UI) Register(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	u.handlePublic(mux, "GET /static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	})
	u.handlePublic(mux, "GET /login", u.loginPage)
	u.handlePublic(mux, "POST /login", u.loginSubmit)
	u.handlePublic(mux, "POST /lang", u.setLang)
	u.handlePublic(mux, "POST /login/totp", u.loginTOTPSubmit)
	u.handlePublic(mux, "GET /ical/{file}", u.icalFeed)
	u.handle(mux, "POST /account/ical", u.icalToken)
	u.handle(mux, "GET /account/profile", u.ownProfile)
	u.handle(mux, "POST /account/profile", u.ownProfile)
	u.handle(mux, "GET /admin/users/{id}/profile", u.adminProfile)
	u.handle(mux, "POST /admin/users/{id}/profile", u.adminProfile)
	u.handle(mux, "GET /account/totp", u.accountTOTP)
	u.handle(mux, "GET /account/totp/qr.png", u.accountTOTPQR)
	u.handle(mux, "POST /account/totp", u.accountTOTPConfirm)
	u.handle(mux, "POST /account/totp/off", u.accountTOTPOff)
	u.handle(mux, "POST /admin/users/{id}/totp/reset", u.adminTOTPReset)

	u.handle(mux, "POST /logout", u.logout)
	u.handle(mux, "GET /{$}", u.home)
	u.handle(mux, "GET /password", u.passwordPage)
	u.handle(mux, "GET /search", u.search)
	u.handle(mux, "GET /reports", u.reports)
	u.handle(mux, "GET /reports/export.csv", u.reportCSV)
	u.handle(mux, "GET /reports/export.xlsx", u.reportXLSX)
	u.handle(mux, "POST /password", u.passwordSubmit)
	u.handle(mux, "GET /pick/{entity}", u.pick)
	u.handle(mux, "GET /address/suggest", u.addressSuggest)
	u.handle(mux, "POST /settings/address", u.dadataSave)
	u.handle(mux, "GET /settings", u.settingsPage)
	u.handle(mux, "POST /settings", u.settingsSave)
	u.handle(mux, "GET /e/{entity}", u.list)
	u.handle(mux, "GET /e/{entity}/export.csv", u.exportCSV)
	u.handle(mux, "POST /e/{entity}/filters", u.saveFilter)
	u.handle(mux, "GET /e/{entity}/export.xlsx", u.exportXLSX)
	u.handle(mux, "GET /e/{entity}/new", u.newRecord)
	u.handle(mux, "POST /e/{entity}/new", u.createRecord)
	u.handle(mux, "GET /e/{entity}/{id}", u.card)
	u.handle(mux, "GET /e/lead/{id}/files/{file}", u.leadFile)
	u.handle(mux, "POST /e/{entity}/{id}", u.updateRecord)
	u.handle(mux, "POST /e/{entity}/{id}/delete", u.deleteRecord)
	u.handle(mux, "GET /e/{entity}/{id}/field/{field}", u.fieldGet)
	u.handle(mux, "POST /e/{entity}/{id}/field/{field}", u.fieldSave)
	u.handle(mux, "POST /e/{entity}/{id}/comment", u.addComment)
	u.handle(mux, "POST /e/{entity}/{id}/message", u.sendMessage)
	u.handle(mux, "POST /e/{entity}/{id}/vk/history", u.vkHistory)
	u.handle(mux, "POST /e/{entity}/{id}/vk/profile", u.vkProfile)
	u.handle(mux, "GET /e/message/{id}/files/{file}", u.messageFile)
	u.handle(mux, "POST /e/{entity}/{id}/items", u.saveItems)
	u.handle(mux, "POST /e/{entity}/{id}/items/preview", u.itemsPreview)
	u.productImageRoutes(mux)
	u.cardPhotoRoutes(mux)
	u.handle(mux, "GET /e/lead/{id}/convert", u.convertPage)
	u.handle(mux, "POST /e/lead/{id}/convert", u.convertSubmit)
	u.handle(mux, "GET /kanban", u.kanban)
	u.handle(mux, "GET /kanban/more", u.kanbanMore)
	u.handle(mux, "POST /kanban/{id}/stage", u.moveDeal)
	u.handle(mux, "GET /recycle", u.recycle)
	u.handle(mux, "POST /recycle/{entity}/{id}/restore", u.restore)
	u.handle(mux, "POST /recycle/{entity}/{id}/purge", u.purge)
	u.handle(mux, "GET /calendar", u.calendar)
	u.handle(mux, "POST /calendar/{id}/move", u.moveActivity)
	u.handle(mux, "GET /e/{entity}/{id}/booking/{code}", u.bookingForm)
	u.handle(mux, "POST /e/{entity}/{id}/booking/{code}", u.bookingForm)
	u.handle(mux, "GET /import", u.importPage)
	u.handle(mux, "POST /import", u.importUpload)
	u.handle(mux, "POST /import/run", u.importRun)
	u.handle(mux, "GET /admin/users", u.users)
	u.handle(mux, "POST /admin/users", u.createUser)
	u.handle(mux, "POST /admin/users/{id}", u.updateUser)
	u.handle(mux, "POST /admin/users/{id}/hours", u.updateUserHours)
	u.handle(mux, "GET /admin/users/{id}/access", u.access)
	u.handle(mux, "POST /admin/users/{id}/access", u.saveAccess)
	u.handle(mux, "GET /admin/distribution", u.distribution)
	u.handle(mux, "POST /admin/distribution", u.createDistribution)
	u.handle(mux, "POST /admin/distribution/{id}/{action}", u.distributionAction)
	u.handle(mux, "GET /admin/dict", u.dictionaries)
	u.handle(mux, "POST /admin/dict/{action}", u.dictAction)
	u.handle(mux, "GET /admin/resources", u.resourcesPage)
	u.handle(mux, "POST /admin/resources", u.createResource)
	u.handle(mux, "POST /admin/resources/{id}/{action}", u.resourceAction)
	u.handle(mux, "GET /keys", u.keys)
	u.handle(mux, "POST /keys", u.createKey)
	u.handle(mux, "POST /keys/{id}/revoke", u.revokeKey)
	u.handle(mux, "GET /admin/webhooks", u.webhooks)
	u.handle(mux, "POST /admin/webhooks/incoming", u.createIncoming)
	u.handle(mux, "POST /admin/webhooks/incoming/{id}/{action}", u.incomingAction)
	u.handle(mux, "POST /admin/webhooks/outbound", u.createOutbound)
	u.handle(mux, "GET /admin/webhooks/outbound/{id}", u.outboundShow)
	u.handle(mux, "POST /admin/webhooks/outbound/{id}/{action}", u.outboundAction)
	u.handle(mux, "POST /admin/webhooks/outbound/{id}/retry/{delivery}", u.retryDelivery)
	u.handle(mux, "GET /admin/1c", u.onecSettings)
	u.handle(mux, "POST /admin/1c", u.saveOnec)
	u.handle(mux, "GET /admin/currency-aliases", u.currencyAliases)
	u.handle(mux, "POST /admin/currency-aliases", u.saveCurrencyAlias)
	u.handle(mux, "POST /admin/currency-aliases/delete", u.deleteCurrencyAlias)
	u.handle(mux, "GET /duplicates", u.duplicatesPage)
	u.handle(mux, "POST /duplicates/rules", u.saveDupRule)
	u.handle(mux, "GET /duplicates/merge", u.mergePage)
	u.handle(mux, "POST /duplicates/merge", u.merge)
	u.handle(mux, "GET /admin/webforms", u.webforms)
	u.handle(mux, "POST /admin/webforms", u.createWebform)
	u.handle(mux, "GET /admin/webforms/{id}", u.webformShow)
	u.handle(mux, "POST /admin/webforms/{id}/{action}", u.webformAction)
	u.handle(mux, "GET /admin/collectors", u.collectorsPage)
	u.handle(mux, "POST /admin/collectors", u.createCollector)
	u.handle(mux, "GET /admin/collectors/{id}", u.collectorShow)
	u.handle(mux, "POST /admin/collectors/{id}/{action}", u.collectorAction)
	u.registerAutomation(mux)
	u.registerConnections(mux)
	if u.sites != nil {
		u.registerSites(mux)
	}
	if u.google != nil {
		u.registerGoogle(mux)
	}
	u.registerNotify(mux)
	u.handle(mux, "GET /integrations", u.integrations)
	u.handle(mux, "GET /integrations/{source}/{id}", u.journalPayload)
	u.handle(mux, "GET /integrations/{source}/{id}/skipped.csv", u.journalSkipped)
	u.handle(mux, "GET /integrations/{source}/{id}/file", u.journalFile)
	u.handle(mux, "GET /integrations/{name}", u.integrationShow)
	u.handle(mux, "POST /integrations/{name}/check", u.integrationCheck)
	// "/" without a method, so that the API's "/api/v1/" and "/rest/"
	// stay the more specific patterns.
	u.handle(mux, "/", func(w http.ResponseWriter, r *http.Request, rq *request) {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
	})
}

// handle registers a page for signed-in users (auth) and records its
// pattern for Routes.
func (u *UI) handle(mux *http.ServeMux, pattern string, h authed) {
	u.routes = append(u.routes, pattern)
	mux.Handle(pattern, u.auth(h))
}

// handlePublic registers a page that needs no session and records it.
func (u *UI) handlePublic(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	u.routes = append(u.routes, pattern)
	mux.Handle(pattern, h)
}

// Routes lists the patterns Register mounted, public ones included, so
// that a test can visit every page without a hand-kept list.
func (u *UI) Routes() []string { return u.routes }

// request is what a handler knows about the signed-in user.
type request struct {
	User crm.User
	Sess store.Session
	Lang string
	// Loc is the time zone the user reads and types times in.
	Loc *time.Location
}

// Actor is who the store records as the author of a write.
func (rq *request) Actor() crm.Actor { return crm.Actor{UserID: rq.User.ID} }

// T translates a message key into the request's language.
func (rq *request) T(key string) string { return translate(rq.Lang, key) }

// IsAdmin reports whether the user has the admin role.
func (rq *request) IsAdmin() bool { return rq.User.Role == crm.RoleAdmin }

type authed func(w http.ResponseWriter, r *http.Request, rq *request)

// auth checks the session cookie (else redirects to /login) and, for
// state-changing methods, the CSRF token: the form field "csrf" or the
// X-CSRF-Token header (htmx sends it) must equal the session's token.
func (u *UI) auth(h authed) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := langOf(r)
		c, err := r.Cookie(SessionCookie)
		if err != nil || c.Value == "" {
			u.toLogin(w, r)
			return
		}
		sess, usr, err := u.store.CheckSession(r.Context(), c.Value)
		if err != nil {
			u.toLogin(w, r)
			return
		}
		rq := &request{User: usr, Sess: sess, Lang: lang, Loc: u.userZone(r.Context(), usr.ID)}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			var err error
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
				limit := int64(maxImportBytes)
				if l, ok := uploadLimits[r.Pattern]; ok {
					limit = l
				}
				r.Body = http.MaxBytesReader(w, r.Body, limit+maxForm)
				err = r.ParseMultipartForm(maxForm)
			} else {
				r.Body = http.MaxBytesReader(w, r.Body, maxImportBytes*2)
				err = r.ParseForm()
			}
			if err != nil {
				u.fail(w, r, rq, http.StatusBadRequest, err.Error())
				return
			}
			tok := r.Header.Get("X-CSRF-Token")
			if tok == "" {
				tok = r.PostFormValue("csrf")
			}
			if !tokensEqual(tok, sess.CSRF) {
				u.log.Warn("web: CSRF token missing or wrong", "path", r.URL.Path, "user", usr.Login, "remote", r.RemoteAddr)
				u.fail(w, r, rq, http.StatusForbidden, rq.T("err.csrf"))
				return
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		if !u.totpGate(w, r, rq) {
			return
		}
		// A manager sees and changes only the records they are
		// responsible for, unless an administrator granted more.
		ctx, err := u.store.ScopeFor(r.Context(), usr)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		h(w, r.WithContext(ctx), rq)
	})
}

func (u *UI) toLogin(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", "/login")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

func tokensEqual(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// view is the data every page template gets.
type view struct {
	Lang     string
	User     crm.User
	CSRF     string
	Title    string
	Nav      string
	Flash    string
	Entities []*entity
	Data     any
	Path     string // this page, for the language switch to come back to
	// Auto: the Automation section is there (its menu entry for admins).
	Auto bool
	// Loc is the user's time zone, for the times the page shows.
	Loc *time.Location
	// Bell: notifications are on; Unread is the bell's count.
	Bell   bool
	Unread int
}

// T translates a message key.
func (v *view) T(key string) string { return translate(v.Lang, key) }

// render writes a page; the output is buffered so that a template error
// becomes a 500 instead of half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, rq *request, status int, page, title, nav string, data any) {
	t, ok := u.pages[page]
	if !ok {
		panic("web: no page template " + page)
	}
	v := &view{Loc: u.zone(r.Context()), Lang: langOf(r), Title: title, Nav: nav, Entities: u.entities, Data: data, Flash: flashText(langOf(r), r.URL.Query()), Auto: u.auto != nil}
	if r.Method == http.MethodGet {
		here := *r.URL
		q := here.Query()
		q.Del("flash")
		q.Del("n")
		here.RawQuery = q.Encode()
		v.Path = here.RequestURI()
	}
	if rq != nil {
		v.User, v.CSRF, v.Lang, v.Loc = rq.User, rq.Sess.CSRF, rq.Lang, rq.Loc
		v.Unread, v.Bell = u.unread(r, rq.User.ID)
	}
	var buf bytes.Buffer
	name := "layout"
	if r.Header.Get("HX-Request") != "" && r.Header.Get("HX-Boosted") == "" && t.Lookup("fragment") != nil {
		name = "fragment"
	}
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		u.log.Error("web: render", "page", page, "err", err)
		http.Error(w, "internal error; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderPart writes one named template of the page set "parts" (an htmx
// fragment).
func (u *UI) renderPart(w http.ResponseWriter, r *http.Request, rq *request, name string, data any) {
	var buf bytes.Buffer
	if err := u.pages["error"].ExecuteTemplate(&buf, name, data); err != nil {
		u.log.Error("web: render part", "part", name, "err", err)
		http.Error(w, "internal error; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// fail renders an error page.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, rq *request, status int, msg string) {
	u.render(w, r, rq, status, "error", rq.T("err.title"), "", msg)
}

// failErr maps a store error to a page.
func (u *UI) failErr(w http.ResponseWriter, r *http.Request, rq *request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
	case errors.Is(err, store.ErrForbidden):
		u.fail(w, r, rq, http.StatusForbidden, rq.T("acc.read_only"))
	case errors.Is(err, context.Canceled):
		u.fail(w, r, rq, http.StatusServiceUnavailable, err.Error())
	default:
		if fe, ok := crm.AsFieldError(err); ok {
			u.fail(w, r, rq, http.StatusUnprocessableEntity, rq.T("f."+fe.Field)+": "+fieldMessage(rq, fe))
			return
		}
		u.log.Error("web: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		u.fail(w, r, rq, http.StatusInternalServerError, rq.T("err.internal"))
	}
}

// back redirects after a successful POST (303, so the browser GETs).
func back(w http.ResponseWriter, r *http.Request, to string) {
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusOK)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
