package crm

import (
	"time"
)

// Intake channels a distribution rule can be limited to.
const (
	ChannelForm = "form" // a web form
	ChannelMail = "mail" // a mail collector
	ChannelHTTP = "http" // the HTTP intake endpoint (seed 004 JSON)
	ChannelAPI  = "api"  // POST /api/v1/leads without assigned_by_id
)

// Channels lists the intake channels in the order the UI offers them.
var Channels = []string{ChannelForm, ChannelMail, ChannelHTTP, ChannelAPI}

// DistributionRule gives new leads from intake to managers in turn. The
// first active rule (by Sort, then id) that matches a lead — its channel,
// form and source when set, its hours and weekdays in TZ — picks the
// next of UserIDs that is active; with none active, FallbackUserID; with
// no matching rule the intake's own responsible user keeps the lead.
type DistributionRule struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Active  bool   `json:"active"`
	Sort    int    `json:"sort"`
	Channel string `json:"channel"` // "" any, else one of Channels
	FormID  int64  `json:"form_id"` // 0 any
	// SourceID is the lead's source code (dictionary SOURCE), "" any.
	SourceID string  `json:"source_id"`
	UserIDs  []int64 `json:"user_ids"`
	// HoursFrom, HoursTo: minutes from midnight in TZ; equal means all
	// day; From > To spans midnight (a night shift).
	HoursFrom int `json:"hours_from"`
	HoursTo   int `json:"hours_to"`
	// Weekdays is a bit mask, Monday 1, Tuesday 2 … Sunday 64; 0 every day.
	Weekdays       int    `json:"weekdays"`
	TZ             string `json:"tz"`
	FallbackUserID int64  `json:"fallback_user_id"`
	// WorkingHoursOnly gives leads only to the users on duty now by their
	// own working hours (User.WorkHours, in the user's time zone); when
	// none is, FallbackUserID takes the lead.
	WorkingHoursOnly bool      `json:"working_hours_only"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// Normalize validates a rule.
func (r *DistributionRule) Normalize() error {
	trimAll(&r.Name, &r.Channel, &r.SourceID, &r.TZ)
	if r.Name == "" {
		return Invalid("name", "required")
	}
	if r.Channel != "" {
		ok := false
		for _, c := range Channels {
			ok = ok || c == r.Channel
		}
		if !ok {
			return Invalid("channel", "%q is not a channel (form, mail, http, api)", r.Channel)
		}
	}
	if r.FormID < 0 {
		return Invalid("form_id", "must not be negative")
	}
	if len(r.UserIDs) == 0 && r.FallbackUserID == 0 {
		return Invalid("user_ids", "choose the managers who get the leads")
	}
	seen := map[int64]bool{}
	for _, id := range r.UserIDs {
		if id <= 0 || seen[id] {
			return Invalid("user_ids", "%d is not a user id or is chosen twice", id)
		}
		seen[id] = true
	}
	for _, h := range []struct {
		f string
		v int
	}{{"hours_from", r.HoursFrom}, {"hours_to", r.HoursTo}} {
		if h.v < 0 || h.v >= 24*60 {
			return Invalid(h.f, "must be a time of day from 00:00 to 23:59")
		}
	}
	if r.Weekdays < 0 || r.Weekdays > 127 {
		return Invalid("weekdays", "must be a set of days of the week")
	}
	if r.TZ == "" {
		r.TZ = "Europe/Moscow"
	}
	if _, err := time.LoadLocation(r.TZ); err != nil {
		return Invalid("tz", "%q is not a time zone", r.TZ)
	}
	return nil
}

// Matches reports whether the rule takes a lead from channel, form and
// source at the moment now.
func (r *DistributionRule) Matches(channel string, formID int64, sourceID string, now time.Time) bool {
	if !r.Active || (r.Channel != "" && r.Channel != channel) || (r.FormID != 0 && r.FormID != formID) ||
		(r.SourceID != "" && r.SourceID != sourceID) {
		return false
	}
	loc, err := time.LoadLocation(r.TZ)
	if err != nil {
		loc = time.UTC
	}
	local := now.In(loc)
	if r.Weekdays != 0 {
		day := (int(local.Weekday()) + 6) % 7 // Monday 0 … Sunday 6
		if r.Weekdays&(1<<day) == 0 {
			return false
		}
	}
	if r.HoursFrom == r.HoursTo {
		return true
	}
	m := local.Hour()*60 + local.Minute()
	if r.HoursFrom < r.HoursTo {
		return m >= r.HoursFrom && m < r.HoursTo
	}
	return m >= r.HoursFrom || m < r.HoursTo
}
