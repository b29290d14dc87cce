package gallery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/crm"
)

// A connection type's built-in sync (issue 16: "the built-in sync is a
// shipped bundle template plus settings, not a separate path") is the
// gallery's templates marked "sync" whose one connection is of that
// type. Switching it on for a connection installs each of them bound to
// that connection and switched on — or switches on the bundle already
// doing that template's work, so pressing twice makes no second set;
// switching it off switches those bundles off and deletes nothing.

// ErrNoSync is the answer for a connection whose type ships no sync.
var ErrNoSync = errors.New("gallery: the connection's type has no built-in sync")

// Bundles is what the sync needs of the bundles (automation.Service).
type Bundles interface {
	Create(ctx context.Context, actor crm.Actor, d automation.Definition) (automation.Bundle, error)
	List(ctx context.Context) ([]automation.Bundle, error)
	SetActive(ctx context.Context, actor crm.Actor, id int64, active bool) (automation.Bundle, error)
}

// Conns is what the sync needs of the saved connections
// (connection.Store).
type Conns interface {
	Types
	Get(ctx context.Context, id int64) (connection.Connection, error)
	NewHook(ctx context.Context, id int64) (connection.Hook, error)
}

// SyncPart is one template of a sync and the bundle doing its work for
// the connection (BundleID 0: none yet).
type SyncPart struct {
	Template   string          `json:"template"`
	Title      automation.Text `json:"title"`
	BundleID   int64           `json:"bundle_id,omitempty"`
	BundleName string          `json:"bundle_name,omitempty"`
	Active     bool            `json:"active"`
	LastRun    string          `json:"last_run_status,omitempty"`
	Errors24h  int             `json:"errors_24h"`
	// Others are more bundles doing the same work (made by hand or
	// copied): shown, left alone.
	Others []int64 `json:"other_bundle_ids,omitempty"`
}

// SyncState is a connection's sync: on when every part has an active
// bundle. HookURL is set only in the answer of the switch-on that made
// the connection's hook URL: it is shown once (only its hash is kept),
// to be pasted into the portal's outgoing webhook.
type SyncState struct {
	ConnectionID int64      `json:"connection_id"`
	On           bool       `json:"on"`
	Parts        []SyncPart `json:"parts"`
	HookURL      string     `json:"hook_url,omitempty"`
	// HookMade is whether the connection has a hook URL at all.
	HookMade bool `json:"hook_made"`
}

// Sync switches connections' built-in syncs on and off.
type Sync struct {
	bundles Bundles
	conns   Conns
}

// syncMu makes two presses at once — the API's and the UI's each make
// their own Sync — one after the other: the second sees the first's
// bundles. It holds within one process; instances sharing a database
// could still race (the second pair is then shown as "others").
var syncMu sync.Mutex

// NewSync is the sync over the bundles and the saved connections.
func NewSync(b Bundles, c Conns) *Sync { return &Sync{bundles: b, conns: c} }

// SyncTemplates are the sync's templates of connection type typ, by
// name; none when the type ships no sync.
func SyncTemplates(typ string) ([]Template, error) {
	ts, err := Templates()
	if err != nil {
		return nil, err
	}
	var out []Template
	for _, t := range ts {
		if !t.Sync || len(t.Connections) != 1 || len(t.Params) != 0 {
			continue
		}
		for _, need := range t.Connections {
			if need.Type == typ {
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// role is the template's one connection role.
func (t Template) role() string {
	for r := range t.Connections {
		return r
	}
	return ""
}

// State tells which of the sync's bundles exist for connection id.
func (s *Sync) State(ctx context.Context, id int64) (SyncState, error) {
	st, _, _, err := s.state(ctx, id)
	return st, err
}

// StateOf is State of a connection already read (its page).
func (s *Sync) StateOf(ctx context.Context, c connection.Connection) (SyncState, error) {
	st, _, _, err := s.stateOf(ctx, c)
	return st, err
}

// state also gives the sync's templates and each one filled for the
// connection.
func (s *Sync) state(ctx context.Context, id int64) (SyncState, []Template, []automation.Definition, error) {
	c, err := s.conns.Get(ctx, id)
	if err != nil {
		return SyncState{}, nil, nil, err
	}
	return s.stateOf(ctx, c)
}

func (s *Sync) stateOf(ctx context.Context, c connection.Connection) (SyncState, []Template, []automation.Definition, error) {
	id := c.ID
	ts, err := SyncTemplates(c.Type)
	if err != nil {
		return SyncState{}, nil, nil, err
	}
	if len(ts) == 0 {
		return SyncState{}, nil, nil, fmt.Errorf("%w: connection %d is a %s connection", ErrNoSync, id, c.Type)
	}
	all, err := s.bundles.List(ctx)
	if err != nil {
		return SyncState{}, nil, nil, err
	}
	st := SyncState{ConnectionID: id, On: true, Parts: []SyncPart{}, HookMade: c.HookAt != nil}
	defs := make([]automation.Definition, len(ts))
	for i, t := range ts {
		d, err := t.Fill(ctx, knownType{s.conns, id, c.Type}, Install{Connections: map[string]int64{t.role(): id},
			Name: bundleName(t) + " — " + c.Name})
		if err != nil {
			return SyncState{}, nil, nil, err
		}
		defs[i] = d
		p := SyncPart{Template: t.Name, Title: t.Title}
		for _, b := range all {
			if !doesWorkOf(b.Definition, d) {
				continue
			}
			// The active one first, then the oldest.
			if p.BundleID == 0 || (b.Active && !p.Active) {
				if p.BundleID != 0 {
					p.Others = append(p.Others, p.BundleID)
				}
				p.BundleID, p.BundleName, p.Active, p.LastRun, p.Errors24h = b.ID, b.Name, b.Active, b.LastRun, b.Errors24h
				continue
			}
			p.Others = append(p.Others, b.ID)
		}
		slices.Sort(p.Others)
		st.On = st.On && p.Active
		st.Parts = append(st.Parts, p)
	}
	return st, ts, defs, nil
}

// knownType answers the type of the connection already read without
// reading it again (Fill asks it of each template).
type knownType struct {
	Types
	id  int64
	typ string
}

func (k knownType) TypeOf(ctx context.Context, id int64) (string, error) {
	if id == k.id {
		return k.typ, nil
	}
	return k.Types.TypeOf(ctx, id)
}

// bundleName is the name a template gives its bundle.
func bundleName(t Template) string {
	var d struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(t.Definition, &d) // Templates decoded it already
	return d.Name
}

// doesWorkOf says bundle b does the work of the filled template d: the
// same trigger (type, entity, connection) and every step of d that goes
// through a connection present in b with the same action and
// connection. A bundle the user made by hand to the same effect counts:
// switching the sync on does not double it. Filters are not compared: a
// bundle the user narrowed is still taken for the template's.
func doesWorkOf(b, d automation.Definition) bool {
	if b.Trigger.Type != d.Trigger.Type || b.Trigger.Entity != d.Trigger.Entity || b.Trigger.Connection != d.Trigger.Connection {
		return false
	}
	// A bundle reacting to fewer of the record's actions (only
	// "create") does part of the work: not taken for the template's.
	if len(b.Trigger.Actions) > 0 {
		for _, a := range d.Trigger.Actions {
			if !slices.Contains(b.Trigger.Actions, a) {
				return false
			}
		}
	}
	for _, want := range d.Steps {
		if want.Connection == 0 {
			continue
		}
		if !slices.ContainsFunc(b.Steps, func(s automation.Step) bool {
			return s.Action == want.Action && s.Connection == want.Connection
		}) {
			return false
		}
	}
	return true
}

// On switches connection id's sync on: each part without a bundle is
// installed from its template, switched on; a part whose bundle is off
// is switched on. The connection's hook URL is made when a part needs
// one and it has none (never remade: the portal holds the old one).
func (s *Sync) On(ctx context.Context, actor crm.Actor, id int64) (SyncState, error) {
	syncMu.Lock()
	defer syncMu.Unlock()
	st, ts, defs, err := s.state(ctx, id)
	if err != nil {
		return SyncState{}, err
	}
	for i := range st.Parts {
		p := &st.Parts[i]
		switch {
		case p.BundleID == 0:
			d := defs[i]
			d.Active = true
			b, err := s.bundles.Create(ctx, actor, d)
			if err != nil {
				return SyncState{}, fmt.Errorf("gallery: sync of connection %d: template %s: %w", id, p.Template, err)
			}
			p.BundleID, p.BundleName, p.Active = b.ID, b.Name, true
		case !p.Active:
			if _, err := s.bundles.SetActive(ctx, actor, p.BundleID, true); err != nil {
				return SyncState{}, fmt.Errorf("gallery: sync of connection %d: bundle %d: %w", id, p.BundleID, err)
			}
			p.Active = true
		}
	}
	st.On = true
	if !st.HookMade && slices.ContainsFunc(ts, func(t Template) bool { return t.Hook }) {
		h, err := s.conns.NewHook(ctx, id)
		if err != nil {
			return SyncState{}, err
		}
		st.HookURL, st.HookMade = h.URL, true
	}
	return st, nil
}

// Off switches the sync's bundles of connection id off, keeping them
// (their runs, their edits) for a later switch-on.
func (s *Sync) Off(ctx context.Context, actor crm.Actor, id int64) (SyncState, error) {
	syncMu.Lock()
	defer syncMu.Unlock()
	st, _, _, err := s.state(ctx, id)
	if err != nil {
		return SyncState{}, err
	}
	for i := range st.Parts {
		p := &st.Parts[i]
		if p.BundleID != 0 && p.Active {
			if _, err := s.bundles.SetActive(ctx, actor, p.BundleID, false); err != nil {
				return SyncState{}, fmt.Errorf("gallery: sync of connection %d: bundle %d: %w", id, p.BundleID, err)
			}
			p.Active = false
		}
	}
	st.On = false
	return st, nil
}
