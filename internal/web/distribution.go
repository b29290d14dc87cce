package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
)

// distRow is a rule as the distribution page shows it.
type distRow struct {
	crm.DistributionRule
	Users    string // the managers' names, in turn order
	Fallback string
	Where    string // channel, form, source
	When     string // hours and days
}

type distPage struct {
	Rules    []distRow
	Users    []crm.User
	Channels []string
	Days     []string
	Error    string
	Form     url.Values
}

var weekdayKeys = []string{"dist.mon", "dist.tue", "dist.wed", "dist.thu", "dist.fri", "dist.sat", "dist.sun"}

// distribution lists the lead distribution rules and a form for a new one.
func (u *UI) distribution(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Distribution) {
		return
	}
	u.showDistribution(w, r, rq, http.StatusOK, "", nil)
}

func (u *UI) showDistribution(w http.ResponseWriter, r *http.Request, rq *request, status int, errMsg string, form url.Values) {
	rules, err := u.store.ListDistributionRules(r.Context())
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	users, err := u.store.ListUsers(r.Context())
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	names := map[int64]string{}
	for _, x := range users {
		names[x.ID] = userLabel(x)
	}
	if form == nil {
		form = url.Values{"active": {"on"}, "sort": {"100"}}
	}
	data := distPage{Users: users, Channels: crm.Channels, Error: errMsg, Form: form}
	for _, k := range weekdayKeys {
		data.Days = append(data.Days, rq.T(k))
	}
	for _, x := range rules {
		row := distRow{DistributionRule: x, Fallback: names[x.FallbackUserID]}
		var us []string
		for _, id := range x.UserIDs {
			us = append(us, names[id])
		}
		row.Users = strings.Join(us, ", ")
		var where []string
		if x.Channel != "" {
			where = append(where, rq.T("dist.ch."+x.Channel))
		}
		if x.FormID != 0 {
			where = append(where, fmt.Sprintf("%s %d", rq.T("dist.form_no"), x.FormID))
		}
		if x.SourceID != "" {
			where = append(where, rq.T("f.source_id")+": "+x.SourceID)
		}
		if len(where) == 0 {
			where = append(where, rq.T("dist.any"))
		}
		row.Where = strings.Join(where, "; ")
		when := rq.T("dist.all_day")
		if x.HoursFrom != x.HoursTo {
			when = hhmm(x.HoursFrom) + "–" + hhmm(x.HoursTo)
		}
		if x.Weekdays != 0 {
			var ds []string
			for i, d := range data.Days {
				if x.Weekdays&(1<<i) != 0 {
					ds = append(ds, d)
				}
			}
			when += ", " + strings.Join(ds, " ")
		}
		row.When = when + " (" + x.TZ + ")"
		if x.WorkingHoursOnly {
			row.When += "; " + rq.T("dist.on_duty_only")
		}
		data.Rules = append(data.Rules, row)
	}
	u.render(w, r, rq, status, "distribution", rq.T("dist.title"), "admin", data)
}

func weekdayNames(rq *request) []string {
	var out []string
	for _, k := range weekdayKeys {
		out = append(out, rq.T(k))
	}
	return out
}

func userLabel(x crm.User) string {
	if n := strings.TrimSpace(x.FirstName + " " + x.LastName); n != "" {
		return n
	}
	return x.Login
}

func hhmm(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// parseHHMM reads "09:30" as minutes from midnight; "" is 0.
func parseHHMM(field, s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	h, m, ok := strings.Cut(s, ":")
	hi, err1 := strconv.Atoi(h)
	mi, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hi < 0 || hi > 23 || mi < 0 || mi > 59 {
		return 0, crm.Invalid(field, "%q is not a time of day (HH:MM)", s)
	}
	return hi*60 + mi, nil
}

// ruleFromForm reads a rule from the page's form.
func ruleFromForm(f url.Values) (crm.DistributionRule, error) {
	r := crm.DistributionRule{Name: f.Get("name"), Active: f.Get("active") == "on", Channel: f.Get("channel"),
		SourceID: strings.TrimSpace(f.Get("source_id")), TZ: f.Get("tz"), WorkingHoursOnly: f.Get("working_hours_only") == "on"}
	var err error
	if r.Sort, err = strconv.Atoi(strings.TrimSpace(f.Get("sort"))); err != nil {
		return r, crm.Invalid("sort", "%q is not a number", f.Get("sort"))
	}
	if v := strings.TrimSpace(f.Get("form_id")); v != "" {
		if r.FormID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return r, crm.Invalid("form_id", "%q is not a number", v)
		}
	}
	for _, v := range f["user_ids"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return r, crm.Invalid("user_ids", "%q is not a number", v)
		}
		r.UserIDs = append(r.UserIDs, id)
	}
	if v := f.Get("fallback_user_id"); v != "" {
		if r.FallbackUserID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return r, crm.Invalid("fallback_user_id", "%q is not a number", v)
		}
	}
	if r.HoursFrom, err = parseHHMM("hours_from", f.Get("hours_from")); err != nil {
		return r, err
	}
	if r.HoursTo, err = parseHHMM("hours_to", f.Get("hours_to")); err != nil {
		return r, err
	}
	for _, v := range f["weekdays"] {
		d, err := strconv.Atoi(v)
		if err != nil || d < 0 || d > 6 {
			return r, crm.Invalid("weekdays", "must be a set of days of the week")
		}
		r.Weekdays |= 1 << d
	}
	return r, nil
}

// createDistribution adds a rule.
func (u *UI) createDistribution(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Distribution) {
		return
	}
	rule, err := ruleFromForm(r.PostForm)
	if err == nil {
		_, err = u.store.SaveDistributionRule(r.Context(), rq.Actor(), rule)
	}
	if err != nil {
		if fe, ok := crm.AsFieldError(err); ok {
			u.showDistribution(w, r, rq, http.StatusUnprocessableEntity, rq.T("dist.f."+fe.Field)+": "+fieldMessage(rq, fe), r.PostForm)
			return
		}
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/admin/distribution?flash=card.created")
}

// distributionAction turns a rule on or off, or deletes it.
func (u *UI) distributionAction(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Distribution) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	var err error
	switch r.PathValue("action") {
	case "delete":
		err = u.store.DeleteDistributionRule(r.Context(), rq.Actor(), id)
	case "toggle":
		var rule crm.DistributionRule
		if rule, err = u.store.GetDistributionRule(r.Context(), id); err == nil {
			rule.Active = !rule.Active
			_, err = u.store.SaveDistributionRule(r.Context(), rq.Actor(), rule)
		}
	default:
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/admin/distribution?flash=card.saved")
}
