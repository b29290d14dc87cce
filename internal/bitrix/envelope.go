package bitrix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// Error is a Bitrix24 error answer: {"error":Code,"error_description":…}
// with an HTTP status. The crm.* methods answer their own errors (bad
// field values, "Not found") with an empty Code and status 400, as
// Bitrix24 does.
type Error struct {
	Status      int
	Code        string
	Description string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func badRequest(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Description: fmt.Sprintf(format, args...)}
}

// The system errors of Bitrix24 (b24restdocs _includes/system-errors.md).
var (
	errInvalidCredentials = &Error{Status: http.StatusUnauthorized, Code: "INVALID_CREDENTIALS", Description: "Invalid request credentials"}
	errNoAuth             = &Error{Status: http.StatusUnauthorized, Code: "NO_AUTH_FOUND", Description: "Wrong authorization data"}
	errExpiredToken       = &Error{Status: http.StatusUnauthorized, Code: "expired_token", Description: "The access token provided has expired"}
	errInsufficientScope  = &Error{Status: http.StatusForbidden, Code: "insufficient_scope", Description: "The request requires higher privileges than provided by the webhook token"}
	errMethodNotFound     = &Error{Status: http.StatusNotFound, Code: "ERROR_METHOD_NOT_FOUND", Description: "Method not found!"}
	errBatchNotAllowed    = &Error{Status: http.StatusMethodNotAllowed, Code: "ERROR_BATCH_METHOD_NOT_ALLOWED", Description: "Method is not allowed for batch usage"}
	errBatchLength        = &Error{Status: http.StatusBadRequest, Code: "ERROR_BATCH_LENGTH_EXCEEDED", Description: "Max batch length exceeded"}
	errInternal           = &Error{Status: http.StatusInternalServerError, Code: "INTERNAL_SERVER_ERROR", Description: "Internal server error"}
)

// crmError is an error of a crm.* method: status 400, empty code.
func crmError(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "", Description: fmt.Sprintf(format, args...)}
}

var (
	errNotFound = crmError("Not found")
	errBadID    = crmError("ID is not defined or invalid.")
)

// toError turns what a method returned into the answer's error. names
// maps Obmen's JSON field names to Bitrix24's, for field errors.
func toError(err error, names func(string) string) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if fe, ok := crm.AsFieldError(err); ok {
		field := fe.Field
		if names != nil {
			field = names(field)
		}
		return crmError("Field %s: %s", field, fe.Message)
	}
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if errors.Is(err, store.ErrForbidden) {
		// A record the webhook's user was granted to view only.
		return &Error{Status: http.StatusForbidden, Code: "ACCESS_DENIED", Description: "Access denied"}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Status: http.StatusServiceUnavailable, Code: "INTERNAL_SERVER_ERROR", Description: "Request cancelled"}
	}
	return nil
}

// reply is what a method answers: result, and for lists total and next.
type reply struct {
	result any
	total  *int64
	next   *int64
}

// timing is the "time" block of every answer.
type timing struct {
	start, finish time.Time
	processing    time.Duration
}

func (t timing) array(loc *time.Location) *Array {
	a := NewArray()
	a.Set("start", unixFloat(t.start))
	a.Set("finish", unixFloat(t.finish))
	a.Set("duration", t.finish.Sub(t.start).Seconds())
	a.Set("processing", t.processing.Seconds())
	a.Set("date_start", t.start.In(loc).Format(time.RFC3339))
	a.Set("date_finish", t.finish.In(loc).Format(time.RFC3339))
	// Obmen has no per-method time budget; an SDK that throttles on
	// "operating" sees it unused.
	a.Set("operating_reset_at", t.start.Add(10*time.Minute).Unix())
	a.Set("operating", 0)
	return a
}

func unixFloat(t time.Time) float64 {
	return float64(t.UnixMicro()) / 1e6
}

// writeAnswer writes a Bitrix24 envelope.
func writeAnswer(w http.ResponseWriter, status int, body *Array) {
	var b bytes.Buffer
	if err := writeJSON(&b, body); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString(`{"error":"INTERNAL_SERVER_ERROR","error_description":"Internal server error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func errorBody(e *Error) *Array {
	return NewArray().Set("error", e.Code).Set("error_description", e.Description)
}

// bitrixTime formats a time as Bitrix24 does: ISO 8601 with the server's
// offset, "" for the zero time.
func bitrixTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.RFC3339)
}

// bitrixDate formats a YYYY-MM-DD date as Bitrix24 answers date fields:
// midnight with the server's offset.
func bitrixDate(d string, loc *time.Location) string {
	t, err := time.ParseInLocation(time.DateOnly, d, loc)
	if err != nil {
		return ""
	}
	return t.Format(time.RFC3339)
}

// parseBitrixTime reads the date and time forms Bitrix24 clients send:
// ISO 8601 with or without offset, "YYYY-MM-DD[ HH:MM[:SS]]" and the
// Russian "DD.MM.YYYY[ HH:MM[:SS]]", in the server's zone when no offset
// is given.
func parseBitrixTime(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05-0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02",
		"02.01.2006 15:04:05", "02.01.2006 15:04", "02.01.2006"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
