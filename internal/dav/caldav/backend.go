package caldav

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// The calendars of a user's home set.
const (
	// Activities holds the user's meetings and calls (VEVENT) and tasks
	// (VTODO); the one calendar a client writes to.
	Activities = "activities"
	// Bookings holds the bookings the user takes part in, read-only.
	Bookings = "bookings"
	// colleaguePrefix+"<id>" is a colleague's activities, read-only.
	colleaguePrefix = "user-"
)

// User is who a request is made by.
type User struct {
	ID    int64
	Login string
	Actor crm.Actor
}

// Backend serves a user's calendars to go-webdav's CalDAV handler. The
// request's context carries the user (UserOf) and the store's access scope
// of that user: a colleague's calendar is offered when the scope sees
// their records, and every read goes through the scope again.
type Backend struct {
	Store *store.Store
	// Loc is the installation's zone: floating times and all-day dates are
	// read and written in it.
	Loc *time.Location
	// UserOf returns the signed-in user of a request's context.
	UserOf func(context.Context) (User, bool)
	// Principal is the principal path of a login; the calendar home set
	// is Principal(login)+"calendars/".
	Principal func(login string) string
	// Message renders a validation error for the client, in Russian when
	// set; else its field and English message.
	Message func(*crm.FieldError) string

	// rendered: a first sync's objects, by request context (remember).
	rendered sync.Map
	zones    zoneCache
}

var _ caldav.Backend = (*Backend)(nil)

// HomeSegment is the home set's path segment under the principal.
const HomeSegment = "calendars"

func (b *Backend) user(ctx context.Context) (User, error) {
	u, ok := b.UserOf(ctx)
	if !ok {
		return User{}, webdav.NewHTTPError(http.StatusUnauthorized, errors.New("caldav: not signed in"))
	}
	return u, nil
}

func (b *Backend) home(u User) string { return b.Principal(u.Login) + HomeSegment + "/" }

// CurrentUserPrincipal implements webdav.UserPrincipalBackend.
func (b *Backend) CurrentUserPrincipal(ctx context.Context) (string, error) {
	u, err := b.user(ctx)
	if err != nil {
		return "", err
	}
	return b.Principal(u.Login), nil
}

// CalendarHomeSetPath implements caldav.Backend.
func (b *Backend) CalendarHomeSetPath(ctx context.Context) (string, error) {
	u, err := b.user(ctx)
	if err != nil {
		return "", err
	}
	return b.home(u), nil
}

// CreateCalendar implements caldav.Backend: the calendars are the CRM's.
func (b *Backend) CreateCalendar(context.Context, *caldav.Calendar) error {
	return forbidden("caldav: calendars cannot be created here; write to %q / календари создаёт CRM, пишите в календарь «Мои дела»", Activities)
}

// ListCalendars implements caldav.Backend.
func (b *Backend) ListCalendars(ctx context.Context) ([]caldav.Calendar, error) {
	u, err := b.user(ctx)
	if err != nil {
		return nil, err
	}
	home := b.home(u)
	out := []caldav.Calendar{
		{Path: home + Activities + "/", Name: "Мои дела", Description: "Встречи, звонки и задачи из CRM",
			SupportedComponentSet: []string{ical.CompEvent, ical.CompToDo}},
		{Path: home + Bookings + "/", Name: "Бронирования", Description: "Бронирования ресурсов с вашим участием (только чтение)",
			SupportedComponentSet: []string{ical.CompEvent}},
	}
	sc := store.ScopeOf(ctx)
	if sc == nil {
		return out, nil
	}
	users, err := b.Store.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("caldav: calendars of %s: %w", u.Login, err)
	}
	for _, c := range users {
		if c.ID == u.ID || !c.Active || !sc.Sees(c.ID) {
			continue
		}
		out = append(out, caldav.Calendar{Path: home + colleaguePrefix + strconv.FormatInt(c.ID, 10) + "/",
			Name: "Календарь: " + displayName(c), Description: "Дела коллеги (только чтение)",
			SupportedComponentSet: []string{ical.CompEvent, ical.CompToDo}})
	}
	return out, nil
}

func displayName(u crm.User) string {
	n := strings.TrimSpace(strings.Join([]string{u.FirstName, u.LastName}, " "))
	if n == "" {
		return u.Login
	}
	return n
}

// where is what a path names: a calendar of the user's home set, and in
// it an object name ("" for the calendar itself).
type where struct {
	user     User
	calendar string // Activities, Bookings or colleaguePrefix+id
	owner    int64  // whose activities the calendar shows
	name     string
	loc      *time.Location // the user's zone (Backend.zone)
}

func (w where) calPath(b *Backend) string { return b.home(w.user) + w.calendar + "/" }

func (w where) writable() bool { return w.calendar == Activities }

// locate reads a path under the user's home set.
func (b *Backend) locate(ctx context.Context, p string) (where, error) {
	u, err := b.user(ctx)
	if err != nil {
		return where{}, err
	}
	if raw, err := url.PathUnescape(p); err == nil {
		p = raw
	}
	rest, ok := strings.CutPrefix(p, b.home(u))
	if !ok {
		return where{}, notFound("caldav: %s is not in your calendars (%s)", p, b.home(u))
	}
	cal, name, _ := strings.Cut(rest, "/")
	w := where{user: u, calendar: cal, name: name, owner: u.ID, loc: b.zone(ctx, u.ID)}
	switch {
	case cal == Activities || cal == Bookings:
	case strings.HasPrefix(cal, colleaguePrefix):
		id, err := strconv.ParseInt(strings.TrimPrefix(cal, colleaguePrefix), 10, 64)
		sc := store.ScopeOf(ctx)
		if err != nil || id == u.ID || (sc != nil && !sc.Sees(id)) {
			return where{}, notFound("caldav: no calendar %q", cal)
		}
		w.owner = id
	default:
		return where{}, notFound("caldav: no calendar %q", cal)
	}
	if strings.Contains(name, "/") {
		return where{}, notFound("caldav: no object %q", name)
	}
	return w, nil
}

// GetCalendar implements caldav.Backend.
func (b *Backend) GetCalendar(ctx context.Context, p string) (*caldav.Calendar, error) {
	w, err := b.locate(ctx, p)
	if err != nil {
		return nil, err
	}
	cals, err := b.ListCalendars(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cals {
		if c.Path == w.calPath(b) {
			return &c, nil
		}
	}
	return nil, notFound("caldav: no calendar %q", w.calendar)
}

// objectName is the resource name of an activity: the one its client
// chose, or <id>.ics.
func objectName(a crm.Activity, x crm.ActivityICal) string {
	if x.Href != "" {
		return x.Href
	}
	return strconv.FormatInt(a.ID, 10) + ".ics"
}

// objects renders every object of a calendar.
func (b *Backend) objects(ctx context.Context, w where) ([]caldav.CalendarObject, error) {
	if w.calendar == Bookings {
		bs, err := b.Store.Bookings(ctx, store.BookingFilter{UserID: w.owner, From: time.Now().AddDate(0, -3, 0)})
		if err != nil {
			return nil, fmt.Errorf("caldav: bookings of %s: %w", w.user.Login, err)
		}
		out := make([]caldav.CalendarObject, 0, len(bs))
		for _, bk := range bs {
			co, err := b.object(w.calPath(b)+strconv.FormatInt(bk.ID, 10)+".ics", bk.UpdatedAt, NewCalendar(Booking(bk, w.owner)))
			if err != nil {
				return nil, err
			}
			out = append(out, co)
		}
		return out, nil
	}
	as, xs, err := b.Store.CalendarActivities(ctx, w.owner)
	if err != nil {
		return nil, err
	}
	out := make([]caldav.CalendarObject, 0, len(as))
	for _, a := range as {
		if !OnCalendar(a) {
			continue
		}
		x := xs[a.ID]
		co, err := b.activityObject(w, a, x)
		if err != nil {
			return nil, err
		}
		out = append(out, co)
	}
	return out, nil
}

func (b *Backend) activityObject(w where, a crm.Activity, x crm.ActivityICal) (caldav.CalendarObject, error) {
	parts, err := Activity(a, &x, w.loc)
	if err != nil {
		return caldav.CalendarObject{}, err
	}
	name := objectName(a, x)
	if !w.writable() {
		name = strconv.FormatInt(a.ID, 10) + ".ics"
	}
	return b.object(w.calPath(b)+name, a.UpdatedAt, NewCalendar(parts))
}

// object is a rendered calendar object; its ETag is the hash of its
// text, so any change a client would see changes it.
func (b *Backend) object(p string, mod time.Time, cal *ical.Calendar) (caldav.CalendarObject, error) {
	data, err := Encode(cal)
	if err != nil {
		return caldav.CalendarObject{}, err
	}
	h := sha256.Sum256(data)
	return caldav.CalendarObject{Path: p, ModTime: mod, ContentLength: int64(len(data)), ETag: hex.EncodeToString(h[:16]), Data: cal}, nil
}

// find returns the activity an object name stands for in w's calendar.
func (b *Backend) find(ctx context.Context, w where, uid string) (crm.Activity, crm.ActivityICal, error) {
	var id int64
	if w.writable() {
		found, err := b.Store.ActivityByHref(ctx, w.owner, w.name, uid)
		switch {
		case err == nil:
			id = found
		case !errors.Is(err, store.ErrNotFound):
			return crm.Activity{}, crm.ActivityICal{}, err
		}
	}
	if id == 0 {
		n, ok := strings.CutSuffix(w.name, ".ics")
		v, err := strconv.ParseInt(n, 10, 64)
		if !ok || err != nil || v <= 0 {
			return crm.Activity{}, crm.ActivityICal{}, store.NotFound("calendar object", 0)
		}
		id = v
	}
	a, err := b.Store.GetActivity(ctx, id)
	if err != nil {
		return crm.Activity{}, crm.ActivityICal{}, err
	}
	if a.DeletedAt != nil || a.AssignedByID != w.owner || !OnCalendar(a) {
		return crm.Activity{}, crm.ActivityICal{}, store.NotFound("calendar object", id)
	}
	x, err := b.Store.ActivityICal(ctx, id)
	if err != nil {
		return crm.Activity{}, crm.ActivityICal{}, err
	}
	if w.writable() && x.Href != "" && x.Href != w.name && uid == "" {
		// Known under the name its client gave it.
		return crm.Activity{}, crm.ActivityICal{}, store.NotFound("calendar object", id)
	}
	return a, x, nil
}

// GetCalendarObject implements caldav.Backend.
func (b *Backend) GetCalendarObject(ctx context.Context, p string, _ *caldav.CalendarCompRequest) (*caldav.CalendarObject, error) {
	if co, ok := b.recalled(ctx, p); ok {
		return co, nil
	}
	w, err := b.locate(ctx, p)
	if err != nil {
		return nil, err
	}
	if w.calendar == Bookings {
		n, _ := strings.CutSuffix(w.name, ".ics")
		id, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return nil, notFound("caldav: no object %q", w.name)
		}
		bk, err := b.Store.GetBooking(ctx, id)
		if err != nil {
			return nil, b.httpError(err)
		}
		if !slices.ContainsFunc(bk.Users, func(bu crm.BookingUser) bool { return bu.UserID == w.owner }) {
			return nil, notFound("caldav: no object %q", w.name)
		}
		co, err := b.object(w.calPath(b)+w.name, bk.UpdatedAt, NewCalendar(Booking(bk, w.owner)))
		return &co, err
	}
	a, x, err := b.find(ctx, w, "")
	if err != nil {
		return nil, b.httpError(err)
	}
	co, err := b.activityObject(w, a, x)
	return &co, err
}

// ListCalendarObjects implements caldav.Backend.
func (b *Backend) ListCalendarObjects(ctx context.Context, p string, _ *caldav.CalendarCompRequest) ([]caldav.CalendarObject, error) {
	w, err := b.locate(ctx, p)
	if err != nil {
		return nil, err
	}
	return b.objects(ctx, w)
}

// QueryCalendarObjects implements caldav.Backend: go-webdav's Filter
// applies the query (component, time range with recurrences, text).
func (b *Backend) QueryCalendarObjects(ctx context.Context, p string, q *caldav.CalendarQuery) ([]caldav.CalendarObject, error) {
	w, err := b.locate(ctx, p)
	if err != nil {
		return nil, err
	}
	all, err := b.objects(ctx, w)
	if err != nil {
		return nil, err
	}
	return caldav.Filter(q, all)
}

// PutCalendarObject implements caldav.Backend: the object becomes an
// activity of the user (a new one, or the one at that name), through the
// store's validation, access rules and change log.
func (b *Backend) PutCalendarObject(ctx context.Context, p string, cal *ical.Calendar, opts *caldav.PutCalendarObjectOptions) (*caldav.CalendarObject, error) {
	w, err := b.locate(ctx, p)
	if err != nil {
		return nil, err
	}
	if !w.writable() {
		return nil, readOnly(w)
	}
	if w.name == "" {
		return nil, forbidden("caldav: PUT needs an object name under %s", w.calPath(b))
	}
	o, err := Parse(cal, w.loc)
	if err != nil {
		return nil, forbidden("%v", err)
	}
	a, x, err := b.find(ctx, w, "")
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, b.httpError(err)
	}
	if !exists {
		// RFC 4791 5.3.2.1: one UID per calendar.
		if other, _, err := b.find(ctx, where{user: w.user, calendar: w.calendar, owner: w.owner, name: "", loc: w.loc}, o.ICal.UID); err == nil {
			return nil, webdav.NewHTTPError(http.StatusConflict, fmt.Errorf(
				"caldav: UID %q is already the object %s / событие с таким UID уже есть", o.ICal.UID, objectName(other, crm.ActivityICal{})))
		}
	}
	if opts != nil {
		if err := b.preconditions(w, exists, a, x, opts); err != nil {
			return nil, err
		}
	}
	o.ICal.Href = w.name
	if exists && w.name == strconv.FormatInt(a.ID, 10)+".ics" {
		o.ICal.Href = ""
	}
	var saved crm.Activity
	if exists {
		saved, err = b.Store.WriteCalendarObject(ctx, w.user.Actor, a.ID, crm.Activity{}, func(cur *crm.Activity) error {
			o.Apply(cur)
			return nil
		}, o.ICal)
	} else {
		n := crm.Activity{Meta: crm.Meta{AssignedByID: w.owner}}
		o.Apply(&n)
		saved, err = b.Store.WriteCalendarObject(ctx, w.user.Actor, 0, n, nil, o.ICal)
	}
	if err != nil {
		return nil, b.httpError(err)
	}
	o.ICal.ActivityID = saved.ID
	co, err := b.activityObject(w, saved, o.ICal)
	if err != nil {
		return nil, err
	}
	return &co, nil
}

// preconditions checks If-None-Match and If-Match against the object as
// it is now (412 Precondition Failed).
func (b *Backend) preconditions(w where, exists bool, a crm.Activity, x crm.ActivityICal, opts *caldav.PutCalendarObjectOptions) error {
	if opts.IfNoneMatch.IsSet() && opts.IfNoneMatch.IsWildcard() && exists {
		return webdav.NewHTTPError(http.StatusPreconditionFailed, fmt.Errorf("caldav: %s already exists / объект уже есть", w.name))
	}
	if !opts.IfMatch.IsSet() {
		return nil
	}
	if !exists {
		return webdav.NewHTTPError(http.StatusPreconditionFailed, fmt.Errorf("caldav: %s does not exist / объекта нет", w.name))
	}
	if opts.IfMatch.IsWildcard() {
		return nil
	}
	want, err := opts.IfMatch.ETag()
	if err != nil {
		return webdav.NewHTTPError(http.StatusBadRequest, fmt.Errorf("caldav: If-Match: %w", err))
	}
	cur, err := b.activityObject(w, a, x)
	if err != nil {
		return err
	}
	if cur.ETag != want {
		return webdav.NewHTTPError(http.StatusPreconditionFailed, fmt.Errorf(
			"caldav: %s was changed since you read it (ETag %q, now %q) / событие изменено в CRM, синхронизируйте календарь", w.name, want, cur.ETag))
	}
	return nil
}

// DeleteCalendarObject implements caldav.Backend: the activity goes to
// the recycle bin, where the CRM can restore it.
func (b *Backend) DeleteCalendarObject(ctx context.Context, p string) error {
	w, err := b.locate(ctx, p)
	if err != nil {
		return err
	}
	if !w.writable() {
		return readOnly(w)
	}
	a, _, err := b.find(ctx, w, "")
	if err != nil {
		return b.httpError(err)
	}
	if err := b.Store.Delete(ctx, w.user.Actor, store.EntityActivity, a.ID); err != nil {
		return b.httpError(err)
	}
	return nil
}

// ETag is the current ETag of the object at p (for a DELETE's If-Match).
func (b *Backend) ETag(ctx context.Context, p string) (string, error) {
	co, err := b.GetCalendarObject(ctx, p, nil)
	if err != nil {
		return "", err
	}
	return co.ETag, nil
}

// httpError gives a store error its DAV status and a message the client
// can show.
func (b *Backend) httpError(err error) error {
	if fe, ok := crm.AsFieldError(err); ok {
		msg := fe.Field + ": " + fe.Message
		if b.Message != nil {
			msg = b.Message(fe)
		}
		return webdav.NewHTTPError(http.StatusForbidden, fmt.Errorf("%s", msg))
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return webdav.NewHTTPError(http.StatusNotFound, err)
	case errors.Is(err, store.ErrForbidden):
		return webdav.NewHTTPError(http.StatusForbidden, fmt.Errorf("caldav: you may read this record but not change it / запись доступна только для чтения"))
	}
	return err
}

func readOnly(w where) error {
	what := "the bookings calendar"
	if w.calendar != Bookings {
		what = "a colleague's calendar"
	}
	return webdav.NewHTTPError(http.StatusForbidden, fmt.Errorf(
		"caldav: %s is read-only; add events to %q / этот календарь только для чтения, создавайте события в календаре «Мои дела»", what, Activities))
}

func forbidden(format string, args ...any) error {
	return webdav.NewHTTPError(http.StatusForbidden, fmt.Errorf(format, args...))
}

func notFound(format string, args ...any) error {
	return webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf(format, args...))
}
