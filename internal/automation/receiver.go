package automation

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// PushReceiver takes the pushes to the hook URLs of connections of some
// types when what the remote sends is the connector's to record rather
// than a trigger kind's items: the telephony providers' call
// notifications become call activities, and the changes of those run the
// call.* triggers' bundles through the change-event log. It is served by
// the same hook URL, token and limits as the kinds' Push.
type PushReceiver struct {
	// Connection is the connection types whose pushes it takes ("a|b").
	Connection string
	// Feeds are the trigger kinds whose runs its pushes lead to: the
	// connection's page names them beside the hook URL.
	Feeds []string
	// Receive reads and records one request (req.Path is what follows
	// the token: Mango Office posts to {url}/events/call). An
	// *httpx.Error keeps its status, another error is answered 400; the
	// answer is req.Reply when set, else the kinds' usual JSON. The
	// receiver journals what it took and refused itself.
	Receive func(ctx context.Context, req *PushRequest) error
}

// AddPushReceiver registers a receiver of the pushes of its connection
// types; a type has at most one.
func (r *Registry) AddPushReceiver(p PushReceiver) error {
	if p.Connection == "" || p.Receive == nil {
		return fmt.Errorf("automation: a push receiver needs its connection types and Receive")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, typ := range strings.Split(p.Connection, "|") {
		if _, dup := r.pushReceiverLocked(typ); dup {
			return fmt.Errorf("automation: connection type %q has two push receivers", typ)
		}
	}
	r.receivers = append(r.receivers, p)
	return nil
}

// pushReceiver is the receiver of connType's pushes.
func (r *Registry) pushReceiver(connType string) (PushReceiver, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.pushReceiverLocked(connType)
}

func (r *Registry) pushReceiverLocked(connType string) (PushReceiver, bool) {
	for _, p := range r.receivers {
		if slices.Contains(strings.Split(p.Connection, "|"), connType) {
			return p, true
		}
	}
	return PushReceiver{}, false
}
