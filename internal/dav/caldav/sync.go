package caldav

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/emersion/go-webdav/caldav"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
)

// What a sync-collection REPORT and getctag are made of (the shared DAV
// layer asks): a calendar's token is the id of the last change-log event
// of its entity (activities; bookings), and what changed since a token is
// the records those events name, each either on the calendar now
// (changed) or not any more (deleted).

func (b *Backend) entity(w where) string {
	if w.calendar == Bookings {
		return store.EntityBooking
	}
	return store.EntityActivity
}

// SyncToken is the calendar's current token (also its getctag).
func (b *Backend) SyncToken(ctx context.Context, p string) (int64, error) {
	w, err := b.locate(ctx, p)
	if err != nil {
		return 0, err
	}
	return b.lastEvent(ctx, b.entity(w))
}

func (b *Backend) lastEvent(ctx context.Context, entity string) (int64, error) {
	evs, err := b.Store.Events(ctx, events.Query{Entity: entity, Newest: true, Limit: 1})
	if err != nil {
		return 0, fmt.Errorf("caldav: sync token: %w", err)
	}
	if len(evs) == 0 {
		return 0, nil
	}
	return evs[0].ID, nil
}

// SyncChanges lists the object paths changed and gone since token since
// (0: every object, nothing gone) and the token they bring the client to.
func (b *Backend) SyncChanges(ctx context.Context, p string, since int64) (token int64, changed, deleted []string, err error) {
	w, err := b.locate(ctx, p)
	if err != nil {
		return 0, nil, nil, err
	}
	entity := b.entity(w)
	// The token first: a change committed while the answer is made is
	// then listed again next time rather than lost.
	if token, err = b.lastEvent(ctx, entity); err != nil {
		return 0, nil, nil, err
	}
	if since <= 0 || since > token {
		all, err := b.objects(ctx, w)
		if err != nil {
			return 0, nil, nil, err
		}
		for _, co := range all {
			changed = append(changed, co.Path)
		}
		b.remember(ctx, all)
		return token, changed, nil, nil
	}
	// Records touched since the token, and whether each was (or may have
	// been) this calendar's owner's before.
	touched := map[int64]bool{}
	var order []int64
	for after := since; after < token; {
		evs, err := b.Store.Events(ctx, events.Query{After: after, Entity: entity, Limit: 1000})
		if err != nil {
			return 0, nil, nil, fmt.Errorf("caldav: changes since %d: %w", since, err)
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			after = ev.ID
			if ev.ID > token {
				break
			}
			if _, seen := touched[ev.RecordID]; !seen {
				order = append(order, ev.RecordID)
				touched[ev.RecordID] = false
			}
			if c, ok := ev.Changes["assigned_by_id"]; ok {
				var old int64
				if json.Unmarshal(c.Old, &old) == nil && old == w.owner {
					touched[ev.RecordID] = true
				}
			}
		}
	}
	for _, id := range order {
		path, on, err := b.syncState(ctx, w, id, touched[id])
		if err != nil {
			return 0, nil, nil, err
		}
		switch {
		case path == "":
		case on:
			changed = append(changed, path)
		default:
			deleted = append(deleted, path)
		}
	}
	return token, changed, deleted, nil
}

// syncState tells where record id is in w's calendar: its path and
// whether it is on the calendar now; path "" when it never was this
// owner's (nothing to tell the client).
func (b *Backend) syncState(ctx context.Context, w where, id int64, wasOwners bool) (string, bool, error) {
	if w.calendar == Bookings {
		bk, err := b.Store.GetBooking(ctx, id)
		on := err == nil && slices.ContainsFunc(bk.Users, func(u crm.BookingUser) bool { return u.UserID == w.owner })
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", false, err
		}
		return w.calPath(b) + strconv.FormatInt(id, 10) + ".ics", on, nil
	}
	// Read past the scope: a record now someone else's, out of sight, is
	// still to be taken off this calendar.
	raw := store.Unscoped(ctx)
	a, err := b.Store.GetActivity(raw, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if a.AssignedByID != w.owner && !wasOwners {
		return "", false, nil
	}
	x, err := b.Store.ActivityICal(raw, id)
	if err != nil {
		return "", false, err
	}
	name := objectName(a, x)
	if !w.writable() {
		name = strconv.FormatInt(a.ID, 10) + ".ics"
	}
	sc := store.ScopeOf(ctx)
	on := a.DeletedAt == nil && a.AssignedByID == w.owner && OnCalendar(a) && (sc == nil || sc.Sees(a.AssignedByID))
	return w.calPath(b) + name, on, nil
}

// remember keeps the objects a first sync just rendered for the rest of
// the request: the shared layer then asks go-webdav for their properties
// by a multiget on the same request context, which would otherwise load
// and render each again, three queries an object.
func (b *Backend) remember(ctx context.Context, objs []caldav.CalendarObject) {
	m := make(map[string]caldav.CalendarObject, len(objs))
	for _, co := range objs {
		m[co.Path] = co
	}
	b.rendered.Store(ctx, m)
	context.AfterFunc(ctx, func() { b.rendered.Delete(ctx) })
}

// recalled is an object remember kept for this request.
func (b *Backend) recalled(ctx context.Context, p string) (*caldav.CalendarObject, bool) {
	v, ok := b.rendered.Load(ctx)
	if !ok {
		return nil, false
	}
	co, ok := v.(map[string]caldav.CalendarObject)[p]
	return &co, ok
}
