package crm

import (
	"strings"
	"time"
)

// Roles.
const (
	RoleAdmin   = "admin"
	RoleManager = "manager"
)

// User is a person who signs in to Obmen or on whose behalf an API key acts.
type User struct {
	ID         int64    `json:"id"`
	Login      string   `json:"login"`
	FirstName  string   `json:"first_name"`
	MiddleName string   `json:"middle_name"`
	LastName   string   `json:"last_name"`
	Email      string   `json:"email"`
	Phones     []string `json:"phones"`
	Position   string   `json:"position"`
	Department string   `json:"department"`
	Role       string   `json:"role"`
	Active     bool     `json:"active"`
	// WorkHours are when the user is on duty, in the user's time zone;
	// lead distribution rules with "only during working hours" read them.
	WorkHours WorkHours `json:"work_hours"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Normalize trims and validates.
func (u *User) Normalize() error {
	trimAll(&u.Login, &u.FirstName, &u.MiddleName, &u.LastName, &u.Email, &u.Position, &u.Department, &u.Role)
	if u.Login == "" {
		return Invalid("login", "required")
	}
	if strings.ContainsAny(u.Login, " \t\r\n/:") {
		return Invalid("login", "must not contain spaces, slashes or colons")
	}
	if u.Role == "" {
		u.Role = RoleManager
	}
	if u.Role != RoleAdmin && u.Role != RoleManager {
		return Invalid("role", "%q is not one of admin, manager", u.Role)
	}
	if u.Email != "" {
		n, ok := NormalizeEmail(u.Email)
		if !ok {
			return Invalid("email", "%q is not an e-mail address", u.Email)
		}
		u.Email = n
	}
	if u.Phones == nil {
		u.Phones = []string{}
	}
	if err := u.WorkHours.Validate(); err != nil {
		return err
	}
	return checkLen("login", u.Login, 100)
}

// APIKey describes a key without its secret.
type APIKey struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// WorkHours are a user's working days and hours. Days is a bit mask,
// Monday 1, Tuesday 2 … Sunday 64; 0 means no hours are set and the user
// counts as always on duty. From and To are minutes from midnight; From
// > To spans midnight (a night shift belongs to the day it starts on);
// equal means the whole day.
type WorkHours struct {
	Days int `json:"days"`
	From int `json:"from"`
	To   int `json:"to"`
}

// Validate checks the days and times.
func (w WorkHours) Validate() error {
	if w.Days < 0 || w.Days > 127 {
		return Invalid("work_days", "must be a set of days of the week")
	}
	if w.From < 0 || w.From >= 24*60 {
		return Invalid("work_from", "must be a time of day from 00:00 to 23:59")
	}
	if w.To < 0 || w.To >= 24*60 {
		return Invalid("work_to", "must be a time of day from 00:00 to 23:59")
	}
	return nil
}

// OnDuty reports whether the hours contain the moment now, read in loc
// (the user's time zone). A shift over midnight is on duty after
// midnight when the day it started on is a working day.
func (w WorkHours) OnDuty(now time.Time, loc *time.Location) bool {
	if w.Days == 0 {
		return true
	}
	local := now.In(loc)
	workday := func(t time.Time) bool {
		return w.Days&(1<<((int(t.Weekday())+6)%7)) != 0
	}
	m := local.Hour()*60 + local.Minute()
	switch {
	case w.From == w.To:
		return workday(local)
	case w.From < w.To:
		return workday(local) && m >= w.From && m < w.To
	case m >= w.From:
		return workday(local)
	case m < w.To:
		return workday(local.AddDate(0, 0, -1))
	}
	return false
}
