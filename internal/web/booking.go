package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// A custom field of type booking holds a resource booking's id. The card
// shows it as a summary (resources, time, service) linking to this page,
// where the booking is made or changed: resources, start and end,
// service, the users whose calendars it goes into. Saving books (an
// overlap with another booking of a resource is refused, naming it) and
// puts the booking's id into the record's field.

type bookingPage struct {
	Label, Back, Action string
	Resources, Users    []bookingOption
	Start, End, Service string
	Error               string
	Summary             string
}

type bookingOption struct {
	Value, Label string
	Selected     bool
}

// bookingDef is the booking field code of entity, if it is one.
func (u *UI) bookingDef(r *http.Request, entity, code string) (crm.CustomField, bool) {
	defs, err := u.store.CustomFields(r.Context(), entity)
	if err != nil {
		return crm.CustomField{}, false
	}
	for _, d := range defs {
		if d.Code == code && d.Type == "booking" {
			return d, true
		}
	}
	return crm.CustomField{}, false
}

// bookingForm shows (GET) and saves (POST) the booking of a record's
// booking field.
func (u *UI) bookingForm(w http.ResponseWriter, r *http.Request, rq *request) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	rec, err := e.get(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	def, ok := u.bookingDef(r, e.Name, r.PathValue("code"))
	if !ok {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	card := "/e/" + e.Name + "/" + strconv.FormatInt(id, 10)
	values, _ := rec["custom"].(map[string]any)
	cur, _ := strconv.ParseInt(strOf(values[def.Code]), 10, 64)
	var b crm.Booking
	if cur != 0 {
		if b, err = u.store.GetBooking(r.Context(), cur); err != nil {
			cur = 0 // gone, or not this user's to see: a new one replaces it
			b = crm.Booking{}
		}
	}
	p := bookingPage{Label: def.Label, Back: card, Action: card + "/booking/" + url.PathEscape(def.Code)}
	if r.Method == http.MethodPost {
		in, perr := parseBooking(r.PostForm, rq)
		if perr == "" {
			perr = u.saveBooking(r, rq, e, id, def.Code, cur, in)
		}
		if perr == "" {
			back(w, r, card+"?flash=booking.saved")
			return
		}
		p.Error = perr
		b.ResourceIDs, b.StartAt, b.EndAt, b.Service, b.Users = in.ResourceIDs, in.StartAt, in.EndAt, in.Service, in.Users
	}
	if b.ID != 0 {
		p.Summary = b.Summary(rq.Loc)
	}
	if !b.StartAt.IsZero() {
		p.Start = b.StartAt.In(rq.Loc).Format("2006-01-02T15:04")
	}
	if !b.EndAt.IsZero() {
		p.End = b.EndAt.In(rq.Loc).Format("2006-01-02T15:04")
	}
	p.Service = b.Service
	res, err := u.store.Resources(r.Context(), true)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	for _, x := range res {
		chosen := slices.Contains(b.ResourceIDs, x.ID)
		if !x.Active && !chosen {
			continue
		}
		p.Resources = append(p.Resources, bookingOption{strconv.FormatInt(x.ID, 10), x.Name + " (" + rq.T("booking.kind."+x.Kind) + ")", chosen})
	}
	lk := u.lookupsFor(r.Context(), rq)
	lk.loadUsers()
	if lk.err != nil {
		u.failErr(w, r, rq, lk.err)
		return
	}
	for _, o := range lk.userOpts {
		uid, _ := strconv.ParseInt(o.Value, 10, 64)
		chosen := slices.ContainsFunc(b.Users, func(x crm.BookingUser) bool { return x.UserID == uid })
		p.Users = append(p.Users, bookingOption{o.Value, o.Label, chosen})
	}
	status := http.StatusOK
	if p.Error != "" {
		status = http.StatusUnprocessableEntity
	}
	u.render(w, r, rq, status, "booking", rq.T("booking.title")+": "+def.Label, "", p)
}

// parseBooking reads the form; a message when a time cannot be read.
func parseBooking(form url.Values, rq *request) (crm.Booking, string) {
	var b crm.Booking
	for _, v := range form["resource"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			b.ResourceIDs = append(b.ResourceIDs, id)
		}
	}
	for _, v := range form["user"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			b.Users = append(b.Users, crm.BookingUser{UserID: id})
		}
	}
	b.Service = strings.TrimSpace(form.Get("service"))
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"start_at", &b.StartAt}, {"end_at", &b.EndAt}} {
		v := strings.TrimSpace(form.Get(t.name))
		if v == "" {
			continue
		}
		at, err := time.ParseInLocation("2006-01-02T15:04", v, rq.Loc)
		if err != nil {
			return b, rq.T("booking."+t.name) + ": " + rq.T("err.date")
		}
		*t.dst = at
	}
	return b, ""
}

// saveBooking makes or changes the booking and links it to the record;
// a message for the user when it is refused. A booking made here whose
// record then refuses the link is cancelled again, so none is left
// behind.
func (u *UI) saveBooking(r *http.Request, rq *request, e *entity, id int64, code string, cur int64, in crm.Booking) string {
	ctx := r.Context()
	in.Entity, in.RecordID = e.Name, id
	var b crm.Booking
	var err error
	if cur != 0 {
		b, err = u.store.UpdateBooking(ctx, rq.Actor(), cur, func(v *crm.Booking) error {
			users := make([]crm.BookingUser, 0, len(in.Users))
			for _, nu := range in.Users {
				// A user who stays keeps their event's title.
				if i := slices.IndexFunc(v.Users, func(x crm.BookingUser) bool { return x.UserID == nu.UserID }); i >= 0 {
					nu = v.Users[i]
				}
				users = append(users, nu)
			}
			v.ResourceIDs, v.StartAt, v.EndAt, v.Service, v.Users = in.ResourceIDs, in.StartAt, in.EndAt, in.Service, users
			v.Entity, v.RecordID = in.Entity, in.RecordID
			return nil
		})
	} else {
		b, err = u.store.CreateBooking(ctx, rq.Actor(), in)
	}
	if err != nil {
		return u.bookingError(rq, err)
	}
	if cur == b.ID {
		return ""
	}
	patch := record{"custom": map[string]any{code: strconv.FormatInt(b.ID, 10)}}
	if err := e.update(ctx, rq.Actor(), id, patch, ""); err != nil {
		_ = u.store.DeleteBooking(ctx, rq.Actor(), b.ID)
		return u.bookingError(rq, err)
	}
	return ""
}

func (u *UI) bookingError(rq *request, err error) string {
	if fe, ok := crm.AsFieldError(err); ok {
		return rq.T("booking.f."+fe.Field) + ": " + fieldMessage(rq, fe)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return rq.T("err.not_found")
	case errors.Is(err, store.ErrForbidden):
		return rq.T("acc.read_only")
	}
	u.log.Error("web: booking", "err", err)
	return rq.T("err.internal")
}

// bookingSummary is a booking field's value as text: the booking's
// resources, time and service, or its number when it cannot be read.
func (l *lookups) bookingSummary(v any) string {
	id, err := strconv.ParseInt(strOf(v), 10, 64)
	if err != nil || id <= 0 {
		return strOf(v)
	}
	b, err := l.s.GetBooking(l.ctx, id)
	if err != nil {
		return "№ " + strconv.FormatInt(id, 10)
	}
	return b.Summary(l.loc)
}
