package action

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// The actions of seed 003's resource booking: "Информация о бронировании
// ресурсов" (booking.info) and "Переименовать событие бронирования
// ресурсов" (booking.rename). Both take the value of a custom field of
// type booking — the booking's id — or the id itself.

type bookingInfoIn struct {
	Booking json.RawMessage `json:"booking" auto:"required"`
}

type bookingInfoOut struct {
	BookingID     int64     `json:"booking_id"`
	ResourceNames []string  `json:"resource_names"`
	ResourceIDs   []int64   `json:"resource_ids"`
	Users         []int64   `json:"users"`
	StartAt       time.Time `json:"start_at"`
	EndAt         time.Time `json:"end_at"`
	Service       string    `json:"service"`
}

type bookingRenameIn struct {
	Booking     json.RawMessage `json:"booking" auto:"required"`
	Title       string          `json:"title" auto:"required"`
	Description string          `json:"description"`
}

type bookingRenameOut struct {
	Result    string `json:"result" auto:"enum=OK"`
	BookingID int64  `json:"booking_id"`
	// Renamed is how many users' events now have the title.
	Renamed int `json:"renamed"`
}

func bookingActions(d Deps) []automation.Action {
	return []automation.Action{bookingInfo(d), bookingRename(d)}
}

// bookingRef reads a booking reference: the value of a booking custom
// field or an id, as a number or as text ("42"; a template's output).
func bookingRef(raw json.RawMessage) (int64, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, automation.InputErrorf("booking", "not a booking: %v", err)
	}
	var s string
	switch x := v.(type) {
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		s = strings.TrimSpace(x)
	case nil:
		return 0, automation.InputErrorf("booking", "required")
	default:
		return 0, automation.InputErrorf("booking", "a booking is its id (a number), not %s", string(raw))
	}
	if s == "" {
		return 0, automation.InputErrorf("booking", "required")
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, automation.InputErrorf("booking", "%q is not a booking id", s)
	}
	return id, nil
}

// getBooking reads the booking a step names, as the run's user sees it.
func getBooking(ctx context.Context, s *store.Store, raw json.RawMessage) (crm.Booking, error) {
	id, err := bookingRef(raw)
	if err != nil {
		return crm.Booking{}, err
	}
	b, err := s.GetBooking(ctx, id)
	if err != nil {
		return b, failOn(err, "booking", id)
	}
	return b, nil
}

// bookingInfo returns what a booking holds.
func bookingInfo(d Deps) automation.Action {
	spec := automation.Spec{Name: "booking.info", Group: GroupCRM}
	return define[bookingInfoIn, bookingInfoOut](spec, func(ctx context.Context, c *automation.Call, in bookingInfoIn) (any, error) {
		b, err := getBooking(ctx, d.Store, in.Booking)
		if err != nil {
			return nil, err
		}
		out := bookingInfoOut{BookingID: b.ID, ResourceNames: []string{}, ResourceIDs: []int64{}, Users: []int64{},
			StartAt: b.StartAt, EndAt: b.EndAt, Service: b.Service}
		for _, r := range b.Resources {
			out.ResourceNames = append(out.ResourceNames, r.Name)
			out.ResourceIDs = append(out.ResourceIDs, r.ID)
		}
		for _, u := range b.Users {
			out.Users = append(out.Users, u.UserID)
		}
		return out, nil
	})
}

// bookingRename gives the booking's event in every involved user's
// calendar a new title and description. The run's user must be allowed
// to change each of those calendars — an administrator, or a manager who
// changes the records of every user involved (store.RenameBooking);
// otherwise nothing is renamed and the step fails naming the user.
func bookingRename(d Deps) automation.Action {
	spec := automation.Spec{Name: "booking.rename", Group: GroupCRM, Writes: true}
	return define[bookingRenameIn, bookingRenameOut](spec, func(ctx context.Context, c *automation.Call, in bookingRenameIn) (any, error) {
		title := strings.TrimSpace(in.Title)
		if n := len([]rune(title)); n > crm.BookingTitleMax {
			return nil, automation.InputErrorf("title", "%d characters, at most %d", n, crm.BookingTitleMax)
		}
		if title == "" {
			return nil, automation.InputErrorf("title", "required")
		}
		b, err := getBooking(ctx, d.Store, in.Booking)
		if err != nil {
			return nil, err
		}
		if c.DryRun {
			users := make([]int64, len(b.Users))
			for i, u := range b.Users {
				users[i] = u.UserID
			}
			return automation.Preview{DryRun: true, Would: fmt.Sprintf("rename booking %d for %d users", b.ID, len(b.Users)),
				Send: map[string]any{"id": b.ID, "title": title, "description": in.Description, "users": users}}, nil
		}
		r, err := d.Store.RenameBooking(ctx, c.Actor, b.ID, title, in.Description)
		if err != nil {
			if errors.Is(err, store.ErrForbidden) {
				return nil, fmt.Errorf("the run's user may not change every involved user's calendar: %w", err)
			}
			if fe, ok := crm.AsFieldError(err); ok {
				return nil, &automation.InputError{Field: fe.Field, Message: fe.Message}
			}
			return nil, failOn(err, "booking", b.ID)
		}
		return bookingRenameOut{Result: automation.ResultOK, BookingID: r.ID, Renamed: len(r.Users)}, nil
	})
}
