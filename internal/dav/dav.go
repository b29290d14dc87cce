// Package dav serves CardDAV and CalDAV to mail clients and phones
// (Thunderbird, Outlook through CalDAV Synchronizer, iOS/macOS, DAVx⁵,
// Evolution) on top of github.com/emersion/go-webdav. This package is the
// part both protocols share: HTTP Basic authentication, the principal,
// the /.well-known redirects, and what go-webdav lacks on the server side
// — the RFC 6578 sync-collection REPORT and CalendarServer's getctag.
//
// URL layout, under the principal of the signed-in user:
//
//	/dav/                                   root: current-user-principal
//	/dav/principals/{login}/                the principal (home sets)
//	/dav/principals/{login}/{segment}/...   one Service's home set, e.g.
//	                                        addressbooks/contacts/17.vcf
//
// go-webdav's carddav and caldav handlers find what a path names by its
// depth under their Prefix (1 principal, 2 home set, 3 collection, 4
// object), so a Service's handler is made with Prefix "/dav/principals"
// (PrincipalsPrefix) and its home set is PrincipalPath(login)+segment+"/".
//
// How a collection type plugs in: give Handler.Add a Service — its path
// segment, its go-webdav handler, its home set and capability, the name
// of its multiget REPORT (carddav:addressbook-multiget,
// caldav:calendar-multiget), and a Syncer. The Syncer answers, for a
// collection path, its current sync token and the members changed or
// gone since a token. Tokens are ids of the change log (events), which is
// gap-free and in commit order, so "changed since N" is "events with id >
// N"; a member gone (deleted, or no longer visible) is reported as a 404
// response. The layer answers sync-collection by asking the Syncer for
// the hrefs and go-webdav (through an internal multiget) for their
// properties, and adds getctag, sync-token and supported-report-set to
// a PROPFIND of any collection the Syncer knows. A token also names the
// user's access epoch (a hash of what their grants let them see): grants
// change collections without an event, so a token of another epoch is
// refused with DAV:valid-sync-token and the client syncs afresh.
package dav

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/emersion/go-webdav"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// PrincipalsPrefix is the Prefix of every Service's go-webdav handler.
const PrincipalsPrefix = "/dav/principals"

// PrincipalPath is the principal URL of a login.
func PrincipalPath(login string) string {
	return PrincipalsPrefix + "/" + url.PathEscape(login) + "/"
}

// ErrNotCollection is what a Syncer answers for a path that is not a
// collection it syncs (the home set, an object, an unknown name).
var ErrNotCollection = errors.New("dav: not a synced collection")

// Changes is what changed in a collection since a sync token.
type Changes struct {
	Token   int64    // the collection's token now
	Changed []string // hrefs (absolute paths) of members created or changed
	Deleted []string // hrefs of members gone: deleted or no longer visible
}

// Syncer tells what changed in a collection. Both calls get the request's
// context (WithUser, and the store's access scope of the user).
type Syncer interface {
	// Token is the current sync token of the collection at path (also
	// its getctag): the id of the last change-log event that may have
	// touched it.
	Token(ctx context.Context, path string) (int64, error)
	// Changes lists the members changed or gone since token since;
	// since 0 lists every member (a first sync) and nothing deleted.
	Changes(ctx context.Context, path string, since int64) (Changes, error)
}

// Service is one kind of collection served under the principal.
type Service struct {
	Segment    string // the home set's path segment: "addressbooks", "calendars"
	Handler    http.Handler
	HomeSet    func(path string) webdav.BackendSuppliedHomeSet // carddav.NewAddressBookHomeSet
	Capability webdav.Capability
	Multiget   [2]string // namespace and name of the multiget REPORT
	Reports    [][2]string
	Syncer     Syncer
}

// TOTP tells whether a user signs in with a second factor; such a user's
// DAV client must use an app password (an API key).
type TOTP interface {
	Enabled(ctx context.Context, userID int64) (bool, error)
}

// Handler serves /dav/ and /.well-known/{carddav,caldav}.
type Handler struct {
	store    *store.Store
	log      *slog.Logger
	services []Service
	byIP     *httpx.Limiter
	byLogin  *httpx.Limiter
	totp     TOTP
	Message  func(*crm.FieldError) string // a validation message in Russian, if set
	cache    credCache
}

// New returns a handler with the API's default sign-in limits.
func New(s *store.Store, log *slog.Logger) *Handler {
	return &Handler{store: s, log: log, byIP: httpx.NewLimiter(3e9, 20), byLogin: httpx.NewLimiter(6e9, 10)}
}

// SetSignInLimits makes failed and uncached sign-ins count against the
// limiters the other surfaces use.
func (h *Handler) SetSignInLimits(perIP, perLogin *httpx.Limiter) {
	h.byIP, h.byLogin = perIP, perLogin
}

// SetTOTP makes users with two-factor sign-in use app passwords.
func (h *Handler) SetTOTP(t TOTP) { h.totp = t }

// Add registers a collection type.
func (h *Handler) Add(s Service) { h.services = append(h.services, s) }

// Register mounts the handler on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("/dav/", h)
	mux.Handle("/.well-known/carddav", h)
	mux.Handle("/.well-known/caldav", h)
}

const allprop = `<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><allprop/></propfind>`

type userKey struct{}

type epochKey struct{}

// epochOf names what a user may see: a grant given or taken changes
// which records are in their collections without a change-log event, so
// a sync token carries it and one of another epoch is refused (the
// client then syncs afresh, and learns of what it may no longer see).
func epochOf(sc *store.Scope) string {
	if sc == nil || (sc.SeeAll && sc.EditAll) {
		return ""
	}
	see := slices.Clone(sc.See)
	slices.Sort(see)
	h := sha256.Sum256(fmt.Appendf(nil, "%d|%t|%v", sc.UserID, sc.SeeAll, see))
	return hex.EncodeToString(h[:4])
}

func epochFrom(ctx context.Context) string {
	e, _ := ctx.Value(epochKey{}).(string)
	return e
}

// User is who a DAV request is made by.
type User struct {
	crm.User
	Actor crm.Actor
}

// UserFrom returns the signed-in user of a request's context.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// WithUser returns ctx carrying u (tests of a Service call it).
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/.well-known/carddav" || p == "/.well-known/caldav" {
		// RFC 6764: the context path; the client then asks it for
		// current-user-principal with its credentials.
		http.Redirect(w, r, "/dav/", http.StatusMovedPermanently)
		return
	}
	u, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	ctx := WithUser(r.Context(), u)
	sc, err := h.store.ScopeOfUser(ctx, u.User)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if sc != nil {
		ctx = store.WithScopeOf(ctx, sc)
	}
	r = r.WithContext(context.WithValue(ctx, epochKey{}, epochOf(sc)))
	if r.Method == "PROPFIND" && r.ContentLength == 0 {
		// RFC 4918 9.1: an empty PROPFIND is allprop. go-webdav wants a
		// body, and clients send none after following the /.well-known
		// redirect (python-caldav's requests drops it on a 301).
		r.Body = io.NopCloser(strings.NewReader(allprop))
		r.ContentLength = int64(len(allprop))
		r.Header.Set("Content-Type", "application/xml; charset=utf-8")
	}
	if p == "/dav" || p == "/dav/" {
		h.servePrincipal(w, r, u)
		return
	}
	rest, ok := strings.CutPrefix(p, PrincipalsPrefix+"/")
	if !ok {
		http.Error(w, "dav: no such resource; the principal is at "+PrincipalPath(u.Login), http.StatusNotFound)
		return
	}
	login, tail, _ := strings.Cut(rest, "/")
	if login != u.Login {
		http.Error(w, "dav: "+p+" is another user's; yours is "+PrincipalPath(u.Login)+
			" / это адрес другого пользователя, ваш — "+PrincipalPath(u.Login), http.StatusForbidden)
		return
	}
	if tail == "" {
		h.servePrincipal(w, r, u)
		return
	}
	seg, _, _ := strings.Cut(tail, "/")
	for i := range h.services {
		if s := &h.services[i]; s.Segment == seg {
			h.serveService(w, r, s)
			return
		}
	}
	http.Error(w, "dav: no such resource: "+p, http.StatusNotFound)
}

func (h *Handler) servePrincipal(w http.ResponseWriter, r *http.Request, u User) {
	opts := webdav.ServePrincipalOptions{CurrentUserPrincipalPath: PrincipalPath(u.Login)}
	for _, s := range h.services {
		opts.HomeSets = append(opts.HomeSets, s.HomeSet(PrincipalPath(u.Login)+s.Segment+"/"))
		opts.Capabilities = append(opts.Capabilities, s.Capability)
	}
	webdav.ServePrincipal(w, r, &opts)
}

func (h *Handler) serveService(w http.ResponseWriter, r *http.Request, s *Service) {
	switch r.Method {
	case "REPORT":
		h.report(w, r, s)
	case "PROPFIND":
		h.propfind(w, r, s)
	default:
		s.Handler.ServeHTTP(w, r)
	}
}

// fail answers an error of ours (not go-webdav's).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("dav: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	http.Error(w, "dav: internal error", http.StatusInternalServerError)
}
