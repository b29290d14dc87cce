package telephony

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/crm"
)

// Asterisk tells of calls through AMI events on a connection that stays
// open: each asterisk connection with "listen" on has a listener that
// logs in, reads the Cdr event every finished call leaves (cdr_manager;
// the AMI user needs read = cdr) and reconnects when the link drops.

// amiShort is an internal extension: a few digits.
var amiShort = regexp.MustCompile(`^[0-9]{2,5}$`)

// amiChannelExten is the extension in a channel's name, PJSIP/101-0000002a.
var amiChannelExten = regexp.MustCompile(`^[A-Za-z0-9]+/([0-9]{2,5})(?:[-@;].*)?$`)

// ParseCdr reads a Cdr event; ok is false for any other message.
// Direction follows the numbers: from an extension to an outside number
// is outgoing, the rest incoming (a call between two extensions is
// skipped: no customer in it).
func ParseCdr(m map[string]string, loc *time.Location) (c Call, ok bool, err error) {
	if !strings.EqualFold(m["event"], "Cdr") {
		return c, false, nil
	}
	c.ID = strings.TrimSpace(m["uniqueid"])
	if c.ID == "" || len(c.ID) > 150 {
		return c, true, bad("UniqueID", "%q is not a call's id", m["uniqueid"])
	}
	src, dst := strings.TrimSpace(m["source"]), strings.TrimSpace(m["destination"])
	dstExt := ""
	if g := amiChannelExten.FindStringSubmatch(m["destinationchannel"]); g != nil {
		dstExt = g[1]
	}
	switch {
	case amiShort.MatchString(src) && amiShort.MatchString(dst):
		return Call{}, true, nil
	case amiShort.MatchString(src):
		c.Direction, c.Line = DirectionOut, src
	default:
		c.Direction, c.Line = DirectionIn, dst
		if !amiShort.MatchString(dst) {
			c.Line = dstExt
		}
	}
	c.From, c.To = src, dst
	for name, v := range map[string]string{"Source": c.From, "Destination": c.To} {
		if len(v) > 64 {
			return Call{}, true, bad(name, "%q is not a number", v)
		}
	}
	st, err := zadarmaTime(m["starttime"], loc)
	if err != nil {
		return Call{}, true, bad("StartTime", "%v", err)
	}
	c.Start = st
	switch strings.ToUpper(strings.TrimSpace(m["disposition"])) {
	case "ANSWERED":
		c.Status = crm.CallAnswered
		if c.Duration, err = seconds(m["billableseconds"]); err != nil {
			return Call{}, true, bad("BillableSeconds", "%v", err)
		}
	case "NO ANSWER", "BUSY", "FAILED", "CONGESTION":
		c.Status = crm.CallMissed
	case "":
		return Call{}, true, bad("Disposition", "missing")
	default:
		return Call{}, true, bad("Disposition", "%q is not one of ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION", m["disposition"])
	}
	return c, true, nil
}

// listener is one asterisk connection's.
type listener struct {
	sum    string
	cancel context.CancelFunc
	done   chan struct{}
}

// Start keeps a listener on every asterisk connection with listen on,
// looking for new, changed and removed connections every rescan, until
// Stop.
func (cs *Calls) Start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	cs.mu.Lock()
	// Started again without a Stop: Stop ends every start's loop, not
	// only the last one's (it waits for them all).
	if prev := cs.stop; prev != nil {
		cs.stop = func() { prev(); cancel() }
	} else {
		cs.stop = cancel
	}
	cs.mu.Unlock()
	cs.wg.Add(1)
	go func() {
		defer cs.wg.Done()
		every := cs.d.AMIRescan
		if every <= 0 {
			every = 30 * time.Second
		}
		for {
			cs.rescan(ctx)
			select {
			case <-ctx.Done():
				cs.mu.Lock()
				for id, l := range cs.listeners {
					l.cancel()
					<-l.done
					delete(cs.listeners, id)
				}
				cs.mu.Unlock()
				return
			case <-time.After(every):
			case <-cs.wake:
			}
		}
	}()
}

// Poke makes the listeners look for changed connections now (a
// connection was saved).
func (cs *Calls) Poke() {
	select {
	case cs.wake <- struct{}{}:
	default:
	}
}

// Stop ends the listeners.
func (cs *Calls) Stop() {
	cs.mu.Lock()
	stop := cs.stop
	cs.stop = nil
	cs.mu.Unlock()
	if stop != nil {
		stop()
	}
	cs.wg.Wait()
}

func (cs *Calls) rescan(ctx context.Context) {
	list, err := cs.d.Conns.List(ctx, TypeAsterisk)
	if err != nil {
		if ctx.Err() == nil {
			cs.d.Log.Error("telephony: list asterisk connections", "err", err)
		}
		return
	}
	want := map[int64]string{}
	for _, c := range list {
		_, set, err := cs.d.Conns.Open(ctx, c.ID)
		if err != nil || !set.Bool("listen") {
			continue
		}
		b, _ := json.Marshal(set)
		h := sha256.Sum256(b)
		want[c.ID] = hex.EncodeToString(h[:])
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.listeners == nil {
		cs.listeners = map[int64]*listener{}
	}
	for id, l := range cs.listeners {
		if want[id] != l.sum {
			l.cancel()
			<-l.done
			delete(cs.listeners, id)
		}
	}
	for id, sum := range want {
		if _, ok := cs.listeners[id]; ok {
			continue
		}
		lctx, cancel := context.WithCancel(ctx)
		l := &listener{sum: sum, cancel: cancel, done: make(chan struct{})}
		cs.listeners[id] = l
		go func() {
			defer close(l.done)
			cs.listen(lctx, id)
		}()
	}
}

// listen holds one connection's AMI session, again after every drop,
// waiting longer after each failure (1 s up to a minute).
func (cs *Calls) listen(ctx context.Context, id int64) {
	wait := time.Second
	for ctx.Err() == nil {
		conn, set, err := cs.d.Conns.Open(ctx, id)
		if err != nil {
			return
		}
		began := time.Now()
		err = cs.session(ctx, conn, set)
		if ctx.Err() != nil {
			return
		}
		cs.d.Log.Warn("telephony: AMI events: the link dropped; reconnecting", "connection", id, "err", err, "in", wait)
		if time.Since(began) > time.Minute {
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Minute)
	}
}

// session logs in and turns Cdr events into calls until the link drops.
func (cs *Calls) session(ctx context.Context, conn connection.Connection, set connection.Settings) error {
	a := AMI{Account: AsteriskOf(set), Dialing: cs.d.dialing()}
	ac, err := a.dial(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = ac.c.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = ac.c.Close() })
	defer stop()
	// Asterisk says nothing on a quiet line: a Ping now and then shows
	// the link alive, and a read waiting longer than three of them means
	// it is gone.
	ping := cs.d.AMIPing
	if ping <= 0 {
		ping = 20 * time.Second
	}
	var wmu sync.Mutex
	pctx, pcancel := context.WithCancel(ctx)
	defer pcancel()
	go func() {
		for n := 1; ; n++ {
			select {
			case <-pctx.Done():
				return
			case <-time.After(ping):
			}
			wmu.Lock()
			_ = ac.c.SetWriteDeadline(time.Now().Add(ping))
			_, err := fmt.Fprintf(ac.c, "Action: Ping\r\nActionID: obmen-ping-%d\r\n\r\n", n)
			wmu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	loc := zoneOf(set)
	for {
		_ = ac.c.SetReadDeadline(time.Now().Add(3 * ping))
		m, err := ac.read()
		if err != nil {
			return fmt.Errorf("asterisk %s: %w", a.Account.Host, err)
		}
		call, ok, err := ParseCdr(m, loc)
		if !ok {
			continue
		}
		if err != nil {
			cs.journal(ctx, conn.ID, "Cdr", m["uniqueid"], "failed", 0, err.Error())
			continue
		}
		if call.ID == "" {
			cs.journal(ctx, conn.ID, "Cdr", m["uniqueid"], "ignored", 0, "")
			continue
		}
		res, err := cs.Ingest(ctx, conn, set, call)
		if err != nil {
			var inv *crm.FieldError
			if errors.As(err, &inv) {
				cs.journal(ctx, conn.ID, "Cdr", call.ID, "failed", 0, err.Error())
				continue
			}
			// The call is not recorded and Asterisk will not send it
			// again: say so loudly.
			cs.d.Log.Error("telephony: AMI call lost", "connection", conn.ID, "call", call.ID, "err", err)
			cs.journal(ctx, conn.ID, "Cdr", call.ID, "failed", 0, err.Error())
			continue
		}
		outcome := "repeat"
		switch {
		case res.Created:
			outcome = "created"
		case res.Changed:
			outcome = "updated"
		}
		cs.journal(ctx, conn.ID, "Cdr", call.ID, outcome, res.ActivityID, "")
	}
}
