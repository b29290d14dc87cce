package crm

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Resource kinds.
const (
	ResourceRoom      = "room"
	ResourceEquipment = "equipment"
	ResourcePerson    = "person"
)

// ResourceKinds are the kinds a resource may be.
var ResourceKinds = []string{ResourceRoom, ResourceEquipment, ResourcePerson}

// Resource is something a booking takes for a time: a room, a piece of
// equipment, a person (a specialist who is not a user).
type Resource struct {
	ID       int64  `json:"id"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Capacity int    `json:"capacity"`
	Active   bool   `json:"active"`
	// CreatedAt and UpdatedAt are set by the server.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Normalize trims and validates.
func (r *Resource) Normalize() error {
	trimAll(&r.Kind, &r.Name)
	r.Kind = strings.ToLower(r.Kind)
	if !slices.Contains(ResourceKinds, r.Kind) {
		if r.Kind == "" {
			return Invalid("kind", "required")
		}
		return Invalid("kind", "%q is not one of room, equipment, person", r.Kind)
	}
	if r.Name == "" {
		return Invalid("name", "required")
	}
	if utf8.RuneCountInString(r.Name) > 255 {
		return Invalid("name", "longer than 255 characters")
	}
	if r.Capacity < 0 {
		return Invalid("capacity", "must not be negative")
	}
	return nil
}

// BookingTitleMax is the longest title a booking's calendar event may
// have (seed 003: "ограничение на длину названия в 255 символов").
const BookingTitleMax = 255

// BookedResource is a resource as a booking shows it.
type BookedResource struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// BookingUser is a user involved in a booking and the booking's event in
// that user's calendar.
type BookingUser struct {
	UserID      int64  `json:"user_id"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

// Booking takes one or more resources from StartAt to EndAt for a service,
// involves users (each sees it in their calendar under their own title)
// and may be made for a CRM record (Entity, RecordID).
type Booking struct {
	ID          int64            `json:"id"`
	ResourceIDs []int64          `json:"resource_ids"`
	Resources   []BookedResource `json:"resources"`
	Users       []BookingUser    `json:"users"`
	StartAt     time.Time        `json:"start_at"`
	EndAt       time.Time        `json:"end_at"`
	Service     string           `json:"service"`
	Entity      string           `json:"entity"`
	RecordID    int64            `json:"record_id"`
	// AssignedByID is the responsible user: the booking follows the
	// record access rules of their records.
	AssignedByID int64     `json:"assigned_by_id"`
	CreatedByID  int64     `json:"created_by_id"`
	UpdatedByID  int64     `json:"updated_by_id"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Normalize trims and validates what the booking says of itself; that
// its resources, users and record exist is the store's to check.
func (b *Booking) Normalize() error {
	trimAll(&b.Service, &b.Entity)
	if len(b.ResourceIDs) == 0 {
		return Invalid("resource_ids", "required")
	}
	seen := map[int64]bool{}
	for i, id := range b.ResourceIDs {
		if id <= 0 || seen[id] {
			return Invalid("resource_ids", "resource %d is listed twice or is not an id", b.ResourceIDs[i])
		}
		seen[id] = true
	}
	if b.StartAt.IsZero() {
		return Invalid("start_at", "required")
	}
	if b.EndAt.IsZero() {
		return Invalid("end_at", "required")
	}
	b.StartAt, b.EndAt = b.StartAt.UTC().Truncate(time.Microsecond), b.EndAt.UTC().Truncate(time.Microsecond)
	if !b.EndAt.After(b.StartAt) {
		return Invalid("end_at", "is before start_at")
	}
	if utf8.RuneCountInString(b.Service) > 255 {
		return Invalid("service", "longer than 255 characters")
	}
	if (b.Entity == "") != (b.RecordID == 0) {
		return Invalid("record_id", "entity and record_id go together")
	}
	users := map[int64]bool{}
	for i := range b.Users {
		u := &b.Users[i]
		trimAll(&u.Title, &u.Description)
		if u.UserID <= 0 || users[u.UserID] {
			return Invalid("users", "%d is not a user id or is chosen twice", u.UserID)
		}
		users[u.UserID] = true
		if utf8.RuneCountInString(u.Title) > BookingTitleMax {
			return Invalid("users", "longer than %d characters", BookingTitleMax)
		}
	}
	return nil
}

// DefaultTitle is the event title a user gets when none is given: the
// service, else the resources' names.
func (b *Booking) DefaultTitle() string {
	if b.Service != "" {
		return b.Service
	}
	names := make([]string, len(b.Resources))
	for i, r := range b.Resources {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}

// Summary is the booking in one line for a card: resources, time and
// service ("Переговорная 1 · 05.12.2026 10:00–11:00 · Консультация").
func (b *Booking) Summary(loc *time.Location) string {
	names := make([]string, len(b.Resources))
	for i, r := range b.Resources {
		names[i] = r.Name
	}
	if loc == nil {
		loc = time.UTC
	}
	s, e := b.StartAt.In(loc), b.EndAt.In(loc)
	when := s.Format("02.01.2006 15:04") + "–"
	if s.Format(time.DateOnly) == e.Format(time.DateOnly) {
		when += e.Format("15:04")
	} else {
		when += e.Format("02.01.2006 15:04")
	}
	parts := []string{strings.Join(names, ", "), when}
	if b.Service != "" {
		parts = append(parts, b.Service)
	}
	return strings.Join(parts, " · ")
}
