package web

import (
	"context"
	"net/http"
	"time"

	"github.com/obmen/obmen/internal/authz"
)

// Time zones: the installation's (the configuration's OBMEN_TIME_ZONE,
// overridden by an admin's setting "time_zone") and each user's own (the
// preference "time_zone"). Times are stored in UTC and shown and typed in
// the user's zone.

const tzKey = "time_zone"

// The zones offered are timeZones (the automation editor's list).

// SetTimeZone sets the installation's time zone from the configuration;
// an unknown name keeps Moscow.
func (u *UI) SetTimeZone(name string) {
	if loc, err := time.LoadLocation(name); err == nil {
		u.tz = loc
	}
}

// zone is the installation's time zone.
func (u *UI) zone(ctx context.Context) *time.Location {
	if name, err := u.store.GetSetting(ctx, tzKey); err == nil && name != "" {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	return u.tz
}

// userZone is the user's time zone: their own choice, else the
// installation's.
func (u *UI) userZone(ctx context.Context, userID int64) *time.Location {
	if name, err := u.store.GetPref(ctx, userID, tzKey); err == nil && name != "" {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	return u.zone(ctx)
}

// zoneOptions lists the zones with their current offset ("Europe/Moscow
// (UTC+03:00)"); first "" (the installation's) when withDefault.
func zoneOptions(rq *request, withDefault bool, installation *time.Location) []option {
	var out []option
	if withDefault {
		out = append(out, option{"", rq.T("tz.default") + ": " + zoneLabel(rq, installation)})
	}
	for _, name := range timeZones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			continue
		}
		out = append(out, option{name, zoneLabel(rq, loc)})
	}
	return out
}

func zoneLabel(rq *request, loc *time.Location) string {
	_, off := time.Now().In(loc).Zone()
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	name := translate(rq.Lang, "tz."+loc.String())
	if name == "tz."+loc.String() {
		name = loc.String()
	}
	return name + " (UTC" + sign + time.Date(0, 1, 1, off/3600, off%3600/60, 0, 0, time.UTC).Format("15:04") + ")"
}

type settingsData struct {
	Zone, InstZone string
	Zones, Inst    []option
	IsAdmin        bool
	// DaData is the address suggestions' DaData key (admins).
	DaData dadataView
}

// settingsPage shows the user's own settings (time zone) and, to admins,
// the installation's time zone.
func (u *UI) settingsPage(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	d := settingsData{IsAdmin: rq.IsAdmin()}
	d.Zone, _ = u.store.GetPref(ctx, rq.User.ID, tzKey)
	inst := u.zone(ctx)
	d.InstZone = inst.String()
	d.Zones = zoneOptions(rq, true, inst)
	d.Inst = zoneOptions(rq, false, inst)
	d.DaData = u.dadataView(ctx, rq)
	u.render(w, r, rq, http.StatusOK, "settings", rq.T("settings.title"), "settings", d)
}

// settingsSave stores the user's time zone ("" goes back to the
// installation's) or, for admins, the installation's.
func (u *UI) settingsSave(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	name := r.PostFormValue("time_zone")
	if name != "" {
		if _, err := time.LoadLocation(name); err != nil {
			u.fail(w, r, rq, http.StatusUnprocessableEntity, rq.T("settings.tz")+": "+rq.T("tz.unknown"))
			return
		}
	}
	var err error
	switch {
	case r.PostFormValue("scope") == "installation":
		if !u.allow(w, r, rq, authz.Settings) {
			return
		}
		if name == "" {
			name = u.tz.String()
		}
		err = u.store.SetSetting(ctx, rq.Actor(), tzKey, name)
	case name == "":
		err = u.store.DeletePref(ctx, rq.User.ID, tzKey)
	default:
		err = u.store.SetPref(ctx, rq.User.ID, tzKey, name)
	}
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/settings?flash=settings.saved")
}
