package google

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	calendar "google.golang.org/api/calendar/v3"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// calendarID is the calendar synced: the user's primary one.
const calendarID = "primary"

// untitled is the subject of an activity made from an event without a
// title (the CRM requires one).
const untitled = "(без названия)"

// eventExtra is what an event has and an activity has no field for,
// kept in the link and honoured when the activity goes back: the
// recurrence (RRULE, EXDATE, RDATE lines as Google keeps them — a weekly
// meeting stays one activity with its rule) and whether it is all-day.
type eventExtra struct {
	Recurrence []string `json:"recurrence,omitempty"`
	AllDay     bool     `json:"all_day,omitempty"`
}

func extraOf(e *calendar.Event) string {
	x := eventExtra{Recurrence: e.Recurrence, AllDay: e.Start != nil && e.Start.Date != ""}
	if len(x.Recurrence) == 0 && !x.AllDay {
		return ""
	}
	b, _ := json.Marshal(x)
	return string(b)
}

func parseExtra(s string) eventExtra {
	var x eventExtra
	if s != "" {
		_ = json.Unmarshal([]byte(s), &x)
	}
	return x
}

// Recurrence returns the recurrence lines kept for an activity linked to
// a recurring Google event (nil when it has none).
func (sv *Service) Recurrence(ctx context.Context, userID, activityID int64) ([]string, error) {
	var extra string
	err := sv.d.DB.Reader().QueryRowContext(ctx, `SELECT l.remote_extra FROM google_links l JOIN google_syncs s ON s.id = l.sync_id
		WHERE s.user_id = $1 AND l.kind = $2 AND l.record_id = $3`, userID, linkEvent, activityID).Scan(&extra)
	if err != nil {
		return nil, fmt.Errorf("google: recurrence of activity %d: %w", activityID, err)
	}
	return parseExtra(extra).Recurrence, nil
}

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func eventTime(d *calendar.EventDateTime) string {
	if d == nil {
		return ""
	}
	if d.DateTime != "" {
		if t, err := time.Parse(time.RFC3339, d.DateTime); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	if d.Date != "" {
		if t, err := time.Parse(time.DateOnly, d.Date); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return ""
}

func (r *run) activityView(a crm.Activity) map[string]any {
	v := map[string]any{}
	for _, p := range r.s.Settings.EventFields {
		switch p.CRM {
		case "subject":
			v[p.CRM] = a.Subject
		case "description":
			v[p.CRM] = a.Description
		case "comm_value":
			v[p.CRM] = a.CommValue
		case "start_at":
			v[p.CRM] = fmtTime(a.StartAt)
		case "end_at":
			v[p.CRM] = fmtTime(a.EndAt)
		}
	}
	return v
}

func eventValue(e *calendar.Event, field string) string {
	switch field {
	case "summary":
		return e.Summary
	case "description":
		return e.Description
	case "location":
		return e.Location
	case "start":
		return eventTime(e.Start)
	case "end":
		return eventTime(e.End)
	}
	return ""
}

func (r *run) eventView(e *calendar.Event) map[string]any {
	v := map[string]any{}
	for _, p := range r.s.Settings.EventFields {
		v[p.CRM] = eventValue(e, p.Google)
	}
	// An event's empty title arrives as the CRM's placeholder.
	if s, ok := v["subject"].(string); ok && s == "" {
		v["subject"] = untitled
	}
	return v
}

func (r *run) applyEvent(a *crm.Activity, e *calendar.Event) {
	for _, p := range r.s.Settings.EventFields {
		s := eventValue(e, p.Google)
		switch p.CRM {
		case "subject":
			if s == "" {
				s = untitled
			}
			a.Subject = s
		case "description":
			a.Description = s
		case "comm_value":
			a.CommValue = s
		case "start_at", "end_at":
			var t *time.Time
			if x, err := time.Parse(time.RFC3339, s); err == nil {
				t = &x
			}
			if p.CRM == "start_at" {
				a.StartAt = t
			} else {
				a.EndAt = t
			}
		}
	}
}

// eventPatch is the activity's mapped fields as an event patch; extra
// says whether the event is all-day (its times go as dates then).
func (r *run) eventPatch(a crm.Activity, extra eventExtra) *calendar.Event {
	e := &calendar.Event{}
	for _, p := range r.s.Settings.EventFields {
		var s string
		var t *time.Time
		switch p.CRM {
		case "subject":
			s = a.Subject
		case "description":
			s = a.Description
		case "comm_value":
			s = a.CommValue
		case "start_at":
			t = a.StartAt
		case "end_at":
			t = a.EndAt
		}
		switch p.Google {
		case "summary":
			e.Summary = s
			e.ForceSendFields = append(e.ForceSendFields, "Summary")
		case "description":
			e.Description = s
			e.ForceSendFields = append(e.ForceSendFields, "Description")
		case "location":
			e.Location = s
			e.ForceSendFields = append(e.ForceSendFields, "Location")
		case "start", "end":
			if t == nil && p.Google == "end" && a.StartAt != nil {
				x := a.StartAt.Add(time.Hour) // Google requires an end
				t = &x
			}
			if t == nil {
				continue
			}
			dt := &calendar.EventDateTime{DateTime: t.UTC().Format(time.RFC3339), TimeZone: "UTC"}
			if extra.AllDay && t.UTC().Truncate(24*time.Hour).Equal(t.UTC()) {
				dt = &calendar.EventDateTime{Date: t.UTC().Format(time.DateOnly)}
			}
			if p.Google == "start" {
				e.Start = dt
			} else {
				e.End = dt
			}
		}
	}
	return e
}

// listEvents reads every page of the primary calendar's events after
// token ("": all of them), the deleted ones included.
func (r *run) listEvents(ctx context.Context, token string) ([]*calendar.Event, string, error) {
	return pages(func(page string) ([]*calendar.Event, string, string, error) {
		call := r.cal.Events.List(calendarID).ShowDeleted(true).SingleEvents(false).MaxResults(2500).Context(ctx)
		if token != "" {
			call = call.SyncToken(token)
		}
		if page != "" {
			call = call.PageToken(page)
		}
		resp, err := call.Do()
		if err != nil {
			return nil, "", "", err
		}
		return resp.Items, resp.NextPageToken, resp.NextSyncToken, nil
	})
}

// calendar runs the calendar's side of a sync.
func (r *run) calendar(ctx context.Context) error {
	side := &r.res.Calendar
	set := r.s.Settings
	byRec, byRemote, err := r.sv.links(ctx, r.s.ID, linkEvent)
	if err != nil {
		return err
	}
	token := r.s.calToken
	evs, next, err := r.listEvents(ctx, token)
	if token != "" && apiStatus(err) == http.StatusGone {
		r.sv.d.log().Info("google: the Calendar sync token expired (410), listing all events", "user", r.s.UserID)
		token = ""
		evs, next, err = r.listEvents(ctx, "")
	}
	if err != nil {
		return fmt.Errorf("google: list the events: %w", err)
	}
	side.Full = token == ""
	push := map[int64]bool{}
	seen := map[string]bool{}
	if r.unpaired, err = r.unpairedActivities(ctx, byRec); err != nil {
		return err
	}
	for _, e := range evs {
		if e.RecurringEventId != "" && e.Status == "cancelled" && byRemote[e.Id] == nil {
			// An occurrence of a recurring event cancelled in Google:
			// the activity is the series, and Obmen has nothing of that
			// occurrence to take off.
			side.ToObmen.Skipped++
			continue
		}
		// A changed occurrence of a recurring event (recurringEventId,
		// originalStartTime) is an activity of its own, at its own time,
		// linked to the occurrence's event id.
		seen[e.Id] = true
		if e.Status == "cancelled" {
			r.remoteGone(ctx, eventKind, byRec, byRemote, e.Id, push)
			continue
		}
		r.pullEvent(ctx, e, byRec, byRemote, push)
	}
	if side.Full {
		for id := range byRemote {
			if !seen[id] {
				r.remoteGone(ctx, eventKind, byRec, byRemote, id, push)
			}
		}
	}
	if set.push() {
		if err := r.pushEvents(ctx, byRec, push); err != nil {
			return err
		}
	}
	r.s.calToken = next
	r.s.calendarCur = r.upTo
	return nil
}

func eventUpdated(e *calendar.Event) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, e.Updated)
	return t
}

func (r *run) pullEvent(ctx context.Context, e *calendar.Event, byRec map[int64]*link, byRemote map[string]*link, push map[int64]bool) {
	side := &r.res.Calendar
	set := r.s.Settings
	rh := hashView(r.eventView(e))
	l := byRemote[e.Id]
	if l == nil {
		// Never paired: an activity of the same title and start is its
		// twin (a sync set up again after "remove sync" pairs, not
		// duplicates).
		if id, ok := r.unpaired[pairKey(eventValue(e, "summary"), eventTime(e.Start))]; ok {
			delete(r.unpaired, pairKey(eventValue(e, "summary"), eventTime(e.Start)))
			a, err := r.sv.d.Store.GetActivity(ctx, id)
			if err == nil {
				l = &link{Kind: linkEvent, RecordID: id, RemoteID: e.Id, ETag: e.Etag, RemoteHash: rh, Extra: extraOf(e)}
				lv := hashView(r.activityView(a))
				if lv != rh && set.pull() && (!set.push() || (set.Conflict == LaterWins && eventUpdated(e).After(a.UpdatedAt))) {
					if a, err = r.sv.d.Store.UpdateActivity(ctx, r.actor, id, func(a *crm.Activity) error { r.applyEvent(a, e); return nil }); err != nil {
						r.res.fail(&side.ToObmen, "activity %d (event %s): %v", id, e.Id, err)
						return
					}
					side.ToObmen.Updated++
					lv = hashView(r.activityView(a))
				} else if lv != rh {
					push[id] = true
				}
				l.LocalHash = lv
				if err := r.sv.saveLink(ctx, r.s.ID, l); err != nil {
					r.res.fail(&side.ToObmen, "%v", err)
					return
				}
				byRec[l.RecordID], byRemote[l.RemoteID] = l, l
				return
			}
		}
		if !set.pull() {
			return
		}
		a := crm.Activity{Kind: crm.ActivityMeeting}
		a.AssignedByID = r.s.UserID
		r.applyEvent(&a, e)
		a, err := r.sv.d.Store.CreateActivity(ctx, r.actor, a)
		if err != nil {
			r.res.fail(&side.ToObmen, "event %s: %v", e.Id, err)
			return
		}
		side.ToObmen.Created++
		l = &link{Kind: linkEvent, RecordID: a.ID, RemoteID: e.Id, ETag: e.Etag, RemoteHash: rh, LocalHash: hashView(r.activityView(a)), Extra: extraOf(e)}
		if err := r.sv.saveLink(ctx, r.s.ID, l); err != nil {
			r.res.fail(&side.ToObmen, "%v", err)
			return
		}
		byRec[l.RecordID], byRemote[l.RemoteID] = l, l
		return
	}
	l.Extra = extraOf(e)
	if rh == l.RemoteHash {
		l.ETag = e.Etag
		_ = r.sv.saveLink(ctx, r.s.ID, l)
		return
	}
	l.ETag, l.RemoteHash = e.Etag, rh
	a, err := r.sv.d.Store.GetActivity(ctx, l.RecordID)
	if err != nil {
		_ = r.sv.saveLink(ctx, r.s.ID, l)
		return
	}
	localChanged := hashView(r.activityView(a)) != l.LocalHash
	switch {
	case !set.pull():
		push[a.ID] = true
		side.ToObmen.Skipped++
	case localChanged && set.push() && (set.Conflict == ObmenWins || !eventUpdated(e).After(a.UpdatedAt)):
		push[a.ID] = true
		side.ToObmen.Skipped++
	default:
		a, err = r.sv.d.Store.UpdateActivity(ctx, r.actor, a.ID, func(a *crm.Activity) error {
			r.applyEvent(a, e)
			return nil
		})
		if err != nil {
			r.res.fail(&side.ToObmen, "activity %d (event %s): %v", l.RecordID, e.Id, err)
			return
		}
		side.ToObmen.Updated++
		l.LocalHash = hashView(r.activityView(a))
	}
	if err := r.sv.saveLink(ctx, r.s.ID, l); err != nil {
		r.res.fail(&side.ToObmen, "%v", err)
	}
}

func pairKey(subject, start string) string { return subject + "\x00" + start }

// unpairedActivities are the user's calendar activities paired with no
// event, by title and start.
func (r *run) unpairedActivities(ctx context.Context, byRec map[int64]*link) (map[string]int64, error) {
	rows, err := r.sv.d.DB.Reader().QueryContext(ctx, "SELECT id, subject, start_at FROM activities WHERE assigned_by_id = $1 AND deleted_at = 0 AND start_at <> 0 AND kind IN ('meeting', 'call')", r.s.UserID)
	if err != nil {
		return nil, fmt.Errorf("google: the user's activities: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id, start int64
		var subject string
		if err := rows.Scan(&id, &subject, &start); err != nil {
			return nil, fmt.Errorf("google: the user's activities: %w", err)
		}
		if byRec[id] == nil {
			t := time.UnixMicro(start)
			out[pairKey(subject, fmtTime(&t))] = id
		}
	}
	return out, rows.Err()
}

// syncedKind says an activity belongs on the calendar: a meeting or a
// call with a start.
func syncedKind(a crm.Activity) bool {
	return (a.Kind == crm.ActivityMeeting || a.Kind == crm.ActivityCall) && a.StartAt != nil
}

func (r *run) userActivities(ctx context.Context) (map[int64]bool, error) {
	rows, err := r.sv.d.DB.Reader().QueryContext(ctx, "SELECT id FROM activities WHERE assigned_by_id = $1 AND deleted_at = 0 AND start_at <> 0 AND kind IN ('meeting', 'call')", r.s.UserID)
	if err != nil {
		return nil, fmt.Errorf("google: the user's activities: %w", err)
	}
	defer rows.Close()
	ids := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("google: the user's activities: %w", err)
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

func (r *run) pushEvents(ctx context.Context, byRec map[int64]*link, push map[int64]bool) error {
	side := &r.res.Calendar
	var ids map[int64]bool
	var err error
	if r.s.calendarCur < 0 {
		ids, err = r.userActivities(ctx)
	} else {
		ids, err = r.changed(ctx, store.EntityActivity, r.s.calendarCur)
	}
	if err != nil {
		return err
	}
	for id := range push {
		ids[id] = true
	}
	order := make([]int64, 0, len(ids))
	for id := range ids {
		order = append(order, id)
	}
	slices.Sort(order)
	for _, id := range order {
		l := byRec[id]
		a, err := r.sv.d.Store.GetActivity(ctx, id)
		gone := err != nil || a.DeletedAt != nil
		if gone || a.AssignedByID != r.s.UserID || !syncedKind(a) {
			if l == nil || !gone {
				continue
			}
			if err := r.cal.Events.Delete(calendarID, l.RemoteID).Context(ctx).Do(); err != nil && apiStatus(err) != http.StatusNotFound && apiStatus(err) != http.StatusGone {
				r.res.fail(&side.ToGoogle, "activity %d (event %s): delete: %v", id, l.RemoteID, err)
				continue
			}
			side.ToGoogle.Deleted++
			delete(byRec, id)
			if err := r.sv.dropLink(ctx, r.s.ID, linkEvent, id); err != nil {
				r.res.fail(&side.ToGoogle, "%v", err)
			}
			continue
		}
		lh := hashView(r.activityView(a))
		if l != nil && lh == l.LocalHash && !push[id] {
			continue
		}
		var got *calendar.Event
		if l != nil {
			var pulled bool
			got, pulled, err = r.patchEvent(ctx, a, l)
			if s := apiStatus(err); s == http.StatusNotFound || s == http.StatusGone {
				l, err = nil, nil // deleted in Google meanwhile: made again
			}
			if err == nil && pulled {
				// Google's change was the later one: it came to Obmen.
				a, err = r.sv.d.Store.UpdateActivity(ctx, r.actor, id, func(a *crm.Activity) error { r.applyEvent(a, got); return nil })
				if err != nil {
					r.res.fail(&r.res.Calendar.ToObmen, "activity %d (event %s): %v", id, l.RemoteID, err)
					continue
				}
				side.ToObmen.Updated++
				l.ETag, l.LocalHash, l.RemoteHash, l.Extra = got.Etag, hashView(r.activityView(a)), hashView(r.eventView(got)), extraOf(got)
				if err := r.sv.saveLink(ctx, r.s.ID, l); err != nil {
					r.res.fail(&side.ToObmen, "%v", err)
				}
				continue
			}
		}
		if err != nil {
			r.res.fail(&side.ToGoogle, "activity %d (event %s): update: %v", id, l.RemoteID, err)
			continue
		}
		if l == nil {
			got, err = r.cal.Events.Insert(calendarID, r.eventPatch(a, eventExtra{})).Context(ctx).Do()
			if err != nil {
				r.res.fail(&side.ToGoogle, "activity %d: create: %v", id, err)
				continue
			}
			side.ToGoogle.Created++
			l = &link{Kind: linkEvent, RecordID: id}
		} else {
			side.ToGoogle.Updated++
		}
		l.RemoteID, l.ETag, l.LocalHash, l.RemoteHash, l.Extra = got.Id, got.Etag, lh, hashView(r.eventView(got)), extraOf(got)
		byRec[id] = l
		if err := r.sv.saveLink(ctx, r.s.ID, l); err != nil {
			r.res.fail(&side.ToGoogle, "%v", err)
		}
	}
	return nil
}

// patchEvent sends the activity's fields to its event, on condition that
// the event is as the sync last saw it (If-Match with the link's ETag):
// a change made in Google since — another device's, between the listing
// and this patch — is not overwritten unseen. On 412 the event is read
// again and the conflict rule decides: with Google → Obmen on and the
// later change winning, Google's (if later) comes to Obmen (pulled, got
// is the event); else the patch goes again, once, on the fresh ETag.
func (r *run) patchEvent(ctx context.Context, a crm.Activity, l *link) (got *calendar.Event, pulled bool, err error) {
	patch := func(etag string) (*calendar.Event, error) {
		call := r.cal.Events.Patch(calendarID, l.RemoteID, r.eventPatch(a, parseExtra(l.Extra))).Context(ctx)
		if etag != "" {
			call.Header().Set("If-Match", etag)
		}
		return call.Do()
	}
	got, err = patch(l.ETag)
	if apiStatus(err) != http.StatusPreconditionFailed {
		return got, false, err
	}
	cur, err := r.cal.Events.Get(calendarID, l.RemoteID).Context(ctx).Do()
	if err != nil {
		return nil, false, fmt.Errorf("read again after 412: %w", err)
	}
	set := r.s.Settings
	if set.pull() && set.Conflict == LaterWins && eventUpdated(cur).After(a.UpdatedAt) {
		return cur, true, nil
	}
	got, err = patch(cur.Etag)
	if apiStatus(err) == http.StatusPreconditionFailed {
		return nil, false, fmt.Errorf("the event changed in Google again while it was being sent; the next run sends it: %w", err)
	}
	return got, false, err
}
