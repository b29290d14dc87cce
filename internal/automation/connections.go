package automation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/store"
)

// Connections answers what type a saved connection is
// (internal/connection's Store): the validator checks that a step's
// "connection" exists and suits its action.
type Connections interface {
	TypeOf(ctx context.Context, id int64) (string, error)
}

// SetConnections gives the registry the saved connections; without them
// a step naming a connection is refused.
func (r *Registry) SetConnections(c Connections) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conns = c
}

// stepConnection is the connection a step names: its own "connection",
// else its input's "connection" when written as a number.
func stepConnection(s Step) (id int64, field string) {
	if s.Connection != 0 {
		return s.Connection, "connection"
	}
	if m, ok := s.Input.(map[string]any); ok {
		switch v := m["connection"].(type) {
		case int64:
			return v, "input.connection"
		case float64:
			return int64(v), "input.connection"
		}
	}
	return 0, ""
}

// checkConnections checks that each step's connection exists and is of
// the type its action works with.
func (r *Registry) checkConnections(ctx context.Context, d Definition) ([]Problem, error) {
	r.mu.RLock()
	conns := r.conns
	r.mu.RUnlock()
	var ps []Problem
	if kind, ok := r.Trigger(d.Trigger.Type); ok && kind.Connection != "" && d.Trigger.Connection > 0 {
		id := d.Trigger.Connection
		var typ string
		var err error
		if conns == nil {
			err = errNoConnections
		} else {
			typ, err = conns.TypeOf(ctx, id)
		}
		switch {
		case errors.Is(err, errNoConnections):
			ps = append(ps, Problem{Field: "trigger.connection", Message: "saved connections are not available"})
		case errors.Is(err, store.ErrNotFound):
			ps = append(ps, Problem{Field: "trigger.connection", Message: fmt.Sprintf("no connection %d", id)})
		case err != nil:
			return nil, err
		case !slices.Contains(strings.Split(kind.Connection, "|"), typ):
			ps = append(ps, Problem{Field: "trigger.connection", Message: fmt.Sprintf("connection %d is a %s connection; trigger %s needs %s",
				id, typ, d.Trigger.Type, strings.ReplaceAll(kind.Connection, "|", " or "))})
		}
	}
	for i, s := range d.Steps {
		id, field := stepConnection(s)
		if id == 0 {
			continue
		}
		name := s.ID
		if name == "" {
			name = "#" + strconv.Itoa(i+1)
		}
		a, ok := r.Action(s.Action)
		if !ok {
			continue // Compile says so
		}
		want := a.Describe().Connection
		switch {
		case want == "":
			ps = append(ps, Problem{Step: name, Field: field, Message: fmt.Sprintf("action %s works without a saved connection", s.Action)})
			continue
		case id < 0:
			ps = append(ps, Problem{Step: name, Field: field, Message: "must be a connection's id"})
			continue
		case conns == nil:
			ps = append(ps, Problem{Step: name, Field: field, Message: "saved connections are not available"})
			continue
		}
		typ, err := conns.TypeOf(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			ps = append(ps, Problem{Step: name, Field: field, Message: fmt.Sprintf("no connection %d", id)})
			continue
		}
		if err != nil {
			return nil, err
		}
		if !slices.Contains(strings.Split(want, "|"), typ) {
			ps = append(ps, Problem{Step: name, Field: field, Message: fmt.Sprintf("connection %d is a %s connection; action %s needs %s", id, typ, s.Action, strings.ReplaceAll(want, "|", " or "))})
		}
	}
	return ps, nil
}

var errNoConnections = errors.New("automation: saved connections are not available")

// UsingConnection lists the bundles whose current definition names
// connection id, by name: the connections page warns before deleting it.
func (s *Service) UsingConnection(ctx context.Context, id int64) ([]Bundle, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT "+bundleColumns+" FROM automation_bundles WHERE definition LIKE $1 ORDER BY name, id",
		`%"connection":`+strconv.FormatInt(id, 10)+`%`)
	if err != nil {
		return nil, fmt.Errorf("automation: bundles using connection %d: %w", id, err)
	}
	defer rows.Close()
	var out []Bundle
	for rows.Next() {
		b, err := s.scanBundle(rows)
		if err != nil {
			return nil, err
		}
		if b.Trigger.Connection == id {
			out = append(out, Bundle{ID: b.ID, Definition: Definition{Name: b.Name}})
			continue
		}
		for _, st := range b.Steps {
			if sid, _ := stepConnection(st); sid == id {
				out = append(out, Bundle{ID: b.ID, Definition: Definition{Name: b.Name}})
				break
			}
		}
	}
	return out, rows.Err()
}
