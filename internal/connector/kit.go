package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// The pieces every message channel (telegram, vk, facebook, x) was
// writing for itself: a request that surely did not go out, one call of
// an HTTP API, the opening of a connection of one type, and the entry of
// a webhook addressed to a connection.

// NotSent is a request that surely never reached the service (the
// connection could not be made): sending it again cannot deliver twice.
type NotSent struct{ Err error }

func (e *NotSent) Error() string { return "not sent: " + e.Err.Error() }
func (e *NotSent) Unwrap() error { return e.Err }

// Refused is a request the outbound policy (the SSRF guard) did not let
// out.
type Refused struct{ Err error }

func (e *Refused) Error() string { return "refused by the outbound policy: " + e.Err.Error() }
func (e *Refused) Unwrap() error { return e.Err }

// Undelivered names what kept a request from its answer, for a channel's
// message keys ("<channel>.error.<name>"): "refused" (the outbound
// policy), "network" (no connection made) or "unknown" (it may have gone).
func Undelivered(err error) string {
	switch {
	case errors.As(err, new(*Refused)):
		return "refused"
	case errors.As(err, new(*NotSent)):
		return "network"
	}
	return "unknown"
}

// Call sends req with hc (http.DefaultClient when nil) and reads at most
// limit bytes of the answer; the response's body is closed, its status
// and header stay readable. what names the call in errors ("telegram:
// sendMessage"); hide, when not nil, cleans an error's text of a secret
// the URL carries. A request that did not go out is a *Refused or a
// *NotSent.
func Call(hc *http.Client, req *http.Request, limit int64, what string, hide func(error) string) (*http.Response, []byte, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		e := fmt.Errorf("%s: %w", what, err) // the chain kept where no secret is to hide
		if hide != nil {
			e = fmt.Errorf("%s: %s", what, hide(err))
		}
		var op *net.OpError
		if errors.As(err, new(*httpx.BlockedError)) {
			return nil, nil, &Refused{Err: e}
		}
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, nil, &NotSent{Err: e}
		}
		return nil, nil, e
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, limit))
	if err != nil {
		if hide != nil {
			return res, nil, fmt.Errorf("%s: reading the answer: %s", what, hide(err))
		}
		return res, nil, fmt.Errorf("%s: reading the answer: %w", what, err)
	}
	return res, b, nil
}

// Open opens connection id, which must be of type typ: one of another
// type is not found, as if it were not there.
func Open(ctx context.Context, conns *connection.Store, id int64, typ string) (connection.Connection, connection.Settings, error) {
	conn, set, err := conns.Open(ctx, id)
	if err != nil {
		return conn, set, err
	}
	if conn.Type != typ {
		return connection.Connection{}, nil, store.NotFound(typ+" connection", id)
	}
	return conn, set, nil
}

// HookConnection opens the connection a webhook request is addressed to
// ({connection_id} in its path) with open. When it cannot, it answers
// itself — 404 to an address that is no such connection, 503 when the
// database fails (the sender retries) — and returns false.
func HookConnection[T any](w http.ResponseWriter, r *http.Request, log *slog.Logger, name string, open func(context.Context, int64) (T, error)) (T, bool) {
	var zero T
	id, err := strconv.ParseInt(r.PathValue("connection_id"), 10, 64)
	if err != nil || id <= 0 {
		http.Error(w, "no webhook at this address", http.StatusNotFound)
		return zero, false
	}
	c, err := open(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no webhook at this address", http.StatusNotFound)
		return zero, false
	}
	if err != nil {
		log.Error(name+": open connection", "connection", id, "err", err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return zero, false
	}
	return c, true
}

// AssignedFor is who gets the new leads of a connection: its setting
// field, else whoever made the connection.
func AssignedFor(conn connection.Connection, set connection.Settings, field string) int64 {
	if id := set.Int(field); id > 0 {
		return id
	}
	return conn.CreatedBy
}
