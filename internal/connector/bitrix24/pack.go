package bitrix24

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Per-portal packing (issue 16: orders a minute under 2 requests a
// second). Runs sending to one portal at once each make a batch of a few
// commands; while the bucket has no token for them, their batches wait
// in the portal's packer, and when a token comes the first one waiting
// sends as many of them as fit in one batch (50 commands, whole batches
// only) — one request for several orders. Keys are prefixed per batch
// (p3_deal) and the references to earlier answers ($result[deal]) with
// them; each caller gets its own answers back under its own keys. With
// a free bucket nothing waits: a batch goes at once, alone.

// Packer merges the batches waiting for one portal's bucket.
type Packer struct {
	mu      sync.Mutex
	waiting []*packed
	leading bool
	seq     int
}

type packed struct {
	cmds []Cmd
	ans  *BatchAnswer
	err  error
	done chan struct{}
}

// packPoll is how often the leader looks at the bucket while it waits.
const packPoll = 20 * time.Millisecond

// batch sends cmds through the packer: merged with the other batches
// waiting for the bucket when there are any.
func (p *Packer) batch(ctx context.Context, c *Client, cmds []Cmd) (*BatchAnswer, error) {
	me := &packed{cmds: cmds, done: make(chan struct{})}
	p.mu.Lock()
	p.waiting = append(p.waiting, me)
	lead := !p.leading
	p.leading = p.leading || lead
	p.mu.Unlock()
	if lead {
		go p.lead(context.WithoutCancel(ctx), c)
	}
	select {
	case <-me.done:
		return me.ans, me.err
	case <-ctx.Done():
	}
	// Given up while waiting for the bucket: taken out, nothing sent.
	// Already on its way: its answer is awaited (the HTTP client's
	// timeout bounds it), as the ids it brings must be kept.
	p.mu.Lock()
	for i, w := range p.waiting {
		if w == me {
			p.waiting = append(p.waiting[:i:i], p.waiting[i+1:]...)
			p.mu.Unlock()
			return nil, ctx.Err()
		}
	}
	p.mu.Unlock()
	<-me.done
	return me.ans, me.err
}

// lead sends the waiting batches, packed, until none waits.
func (p *Packer) lead(ctx context.Context, c *Client) {
	for {
		waitToken(ctx, c.Limit)
		p.mu.Lock()
		var group []*packed
		n := 0
		for len(p.waiting) > 0 && (len(group) == 0 || n+len(p.waiting[0].cmds) <= MaxBatch) {
			n += len(p.waiting[0].cmds)
			group = append(group, p.waiting[0])
			p.waiting = p.waiting[1:]
		}
		if len(group) == 0 {
			p.leading = false
			p.mu.Unlock()
			return
		}
		first := p.seq
		p.seq += len(group)
		p.mu.Unlock()
		p.send(ctx, c, group, first)
	}
}

// waitToken waits until the bucket would let a request go now, without
// taking the token: the request itself takes it.
func waitToken(ctx context.Context, lim *rate.Limiter) {
	if lim == nil {
		return
	}
	for lim.Tokens() < 1 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(packPoll):
		}
	}
}

// send makes one batch of the group's commands and gives each its
// answers.
func (p *Packer) send(ctx context.Context, c *Client, group []*packed, first int) {
	if len(group) == 1 {
		g := group[0]
		g.ans, g.err = c.batchNow(ctx, g.cmds)
		close(g.done)
		return
	}
	var all []Cmd
	prefixes := make([]string, len(group))
	for i, g := range group {
		prefixes[i] = "p" + strconv.Itoa(first+i) + "_"
		for _, x := range g.cmds {
			all = append(all, Cmd{Key: prefixes[i] + x.Key, Method: x.Method, Params: prefixRefs(x.Params, prefixes[i]).(map[string]any)})
		}
	}
	ans, err := c.batchNow(ctx, all)
	for i, g := range group {
		if err != nil {
			g.err = err
		} else {
			g.ans = unprefix(ans, prefixes[i])
		}
		close(g.done)
	}
}

// prefixRefs copies v with every reference to an earlier answer
// ($result[key]…) pointing at the prefixed key.
func prefixRefs(v any, prefix string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = prefixRefs(e, prefix)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = prefixRefs(e, prefix)
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = prefixRefs(e, prefix)
		}
		return out
	case string:
		if strings.HasPrefix(x, "$result[") {
			return "$result[" + prefix + strings.TrimPrefix(x, "$result[")
		}
		return x
	}
	return v
}

// unprefix is one caller's part of a packed answer, under its own keys.
func unprefix(a *BatchAnswer, prefix string) *BatchAnswer {
	return &BatchAnswer{Result: cutKeys(a.Result, prefix), Errors: cutKeys(a.Errors, prefix), Total: cutKeys(a.Total, prefix), Next: cutKeys(a.Next, prefix)}
}

// cutKeys is the part of m under prefix, the prefix cut off the keys.
func cutKeys[V any](m map[string]V, prefix string) map[string]V {
	out := map[string]V{}
	for k, v := range m {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[rest] = v
		}
	}
	return out
}
