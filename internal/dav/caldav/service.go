package caldav

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dav"
	"github.com/obmen/obmen/internal/store"
)

// MaxObject is the largest calendar object a client may PUT.
const MaxObject = 1 << 20

const nsCalDAV = "urn:ietf:params:xml:ns:caldav"

// NewService is the CalDAV collection type for dav.Handler.Add: the
// calendars of the signed-in user under /dav/principals/{login}/calendars/.
// loc is the installation's zone; message, when set, renders a validation
// error in Russian.
func NewService(s *store.Store, loc *time.Location, message func(*crm.FieldError) string) dav.Service {
	b := NewBackend(s, loc)
	b.Message = message
	return dav.Service{
		Segment:    HomeSegment,
		Handler:    &handler{b: b, h: &caldav.Handler{Backend: b, Prefix: dav.PrincipalsPrefix}},
		HomeSet:    func(p string) webdav.BackendSuppliedHomeSet { return caldav.NewCalendarHomeSet(p) },
		Capability: caldav.CapabilityCalendar,
		Multiget:   [2]string{nsCalDAV, "calendar-multiget"},
		Reports:    [][2]string{{nsCalDAV, "calendar-query"}},
		Syncer:     syncer{b},
	}
}

// NewBackend is a Backend for the users dav.Handler signs in.
func NewBackend(s *store.Store, loc *time.Location) *Backend {
	if loc == nil {
		loc = time.UTC
	}
	return &Backend{Store: s, Loc: loc, Principal: dav.PrincipalPath,
		UserOf: func(ctx context.Context) (User, bool) {
			u, ok := dav.UserFrom(ctx)
			return User{ID: u.ID, Login: u.Login, Actor: u.Actor}, ok
		}}
}

// handler is go-webdav's CalDAV handler with what it leaves out: a size
// limit and a panic-free parse of a PUT body, and If-Match on DELETE.
type handler struct {
	b *Backend
	h *caldav.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPut:
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxObject+1))
		if err != nil {
			http.Error(w, "caldav: read the request: "+err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > MaxObject {
			http.Error(w, fmt.Sprintf("caldav: a calendar object is at most %d bytes / событие больше 1 МБ", MaxObject), http.StatusRequestEntityTooLarge)
			return
		}
		if _, err := Decode(bytes.NewReader(body)); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	case http.MethodDelete:
		if m := webdav.ConditionalMatch(r.Header.Get("If-Match")); m.IsSet() && !m.IsWildcard() {
			want, _ := m.ETag()
			cur, err := h.b.ETag(r.Context(), r.URL.Path)
			if err == nil && cur != want {
				http.Error(w, "caldav: the object was changed since you read it / событие изменено в CRM, синхронизируйте календарь", http.StatusPreconditionFailed)
				return
			}
		}
	}
	h.h.ServeHTTP(w, r)
}

// syncer answers the shared DAV layer's sync-collection and getctag for
// the calendar collections.
type syncer struct{ b *Backend }

func (s syncer) collection(ctx context.Context, p string) error {
	w, err := s.b.locate(ctx, p)
	if err != nil || w.calendar == "" || w.name != "" {
		return dav.ErrNotCollection
	}
	if _, err := s.b.GetCalendar(ctx, p); err != nil {
		return dav.ErrNotCollection
	}
	return nil
}

func (s syncer) Token(ctx context.Context, p string) (int64, error) {
	if err := s.collection(ctx, p); err != nil {
		return 0, err
	}
	return s.b.SyncToken(ctx, p)
}

func (s syncer) Changes(ctx context.Context, p string, since int64) (dav.Changes, error) {
	if err := s.collection(ctx, p); err != nil {
		return dav.Changes{}, err
	}
	tok, changed, deleted, err := s.b.SyncChanges(ctx, p, since)
	if err != nil {
		return dav.Changes{}, err
	}
	return dav.Changes{Token: tok, Changed: changed, Deleted: deleted}, nil
}

// ReadOnly tells a calendar the user may not write to (bookings, a
// colleague's): the shared layer reports its privileges as read only.
func (s syncer) ReadOnly(ctx context.Context, p string) bool {
	w, err := s.b.locate(ctx, p)
	return err == nil && !w.writable()
}
