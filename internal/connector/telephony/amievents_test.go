package telephony_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// waitFor polls cond until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// journalHas waits for a journal entry of the call with the outcome.
func (s *server) journalHas(connID int64, callID, outcome string) connection.JournalEntry {
	s.t.Helper()
	var found connection.JournalEntry
	waitFor(s.t, callID+" "+outcome, func() bool {
		for _, e := range s.hookInfo(connID).Journal {
			if e.Ref == callID && e.Outcome == outcome {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// Asterisk's Cdr events over a long-lived AMI link (the fake AMI server):
// a missed call from a contact and an answered one become activities, a
// bundle on call.missed runs, and after the link drops the listener logs
// in again and goes on; a Cdr sent twice makes one activity.
func TestAsteriskEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		f := newAMIFake(t, "obmen", "ami-secret")
		s := newServer(t, d)
		var contact struct {
			ID int64 `json:"id"`
		}
		s.do("POST", "/api/v1/contacts", map[string]any{"name": "Ольга", "phones": []any{map[string]any{"value": "+7 925 642-42-97"}}},
			http.StatusCreated, &contact)
		var b automation.Bundle
		s.do("POST", "/api/v1/bundles", map[string]any{"name": "пропущенный", "active": true, "max_attempts": 1,
			"trigger": map[string]any{"type": "call.missed"},
			"steps":   []any{map[string]any{"id": "s", "action": "stop", "input": map[string]any{}}}}, http.StatusCreated, &b)
		var conn struct {
			ID int64 `json:"id"`
		}
		s.do("POST", "/api/v1/connections", map[string]any{"type": "asterisk", "name": "АТС", "settings": map[string]any{
			"host": "127.0.0.1", "port": f.port(), "username": "obmen", "secret": "ami-secret", "context": "from-internal", "listen": true}},
			http.StatusCreated, &conn)
		s.App.Calls.Poke()
		waitFor(t, "the listener to log in", func() bool { return f.listening() == 1 })

		missed := []string{"Event", "Cdr", "Privilege", "cdr,all", "AccountCode", "", "Source", "79256424297", "Destination", "101",
			"DestinationContext", "from-internal", "CallerID", `"Ольга" <79256424297>`, "Channel", "PJSIP/trunk-00000011",
			"DestinationChannel", "PJSIP/101-00000012", "LastApplication", "Dial", "StartTime", "2026-12-05 12:00:00",
			"AnswerTime", "", "EndTime", "2026-12-05 12:00:20", "Duration", "20", "BillableSeconds", "0",
			"Disposition", "NO ANSWER", "AMAFlags", "DOCUMENTATION", "UniqueID", "1733400000.17", "UserField", ""}
		f.emit(missed...)
		e := s.journalHas(conn.ID, "1733400000.17", "created")
		a := s.activity(e.RecordID)
		if a.CallStatus != "missed" || a.Direction != "in" || a.OwnerType != "contact" || a.OwnerID != contact.ID || a.CallLine != "101" || !a.Done {
			t.Fatalf("missed: %+v", a)
		}
		s.waitRuns(b.ID, 1)

		// Asterisk restarts: the listener logs in again.
		logins := func() int { f.mu.Lock(); defer f.mu.Unlock(); return f.logins }
		before := logins()
		f.drop()
		waitFor(t, "the listener to log in again", func() bool { return logins() > before && f.listening() == 1 })
		answered := []string{"Event", "Cdr", "Source", "102", "Destination", "79031234567", "DestinationChannel", "PJSIP/trunk-00000013",
			"StartTime", "2026-12-05 12:10:00", "Duration", "75", "BillableSeconds", "61", "Disposition", "ANSWERED", "UniqueID", "1733400600.21"}
		f.emit(answered...)
		f.emit(answered...)
		e = s.journalHas(conn.ID, "1733400600.21", "repeat")
		a = s.activity(e.RecordID)
		if a.CallStatus != "answered" || a.Direction != "out" || a.CallLine != "102" || a.CallDuration != 61 || a.CommValue != "+79031234567" {
			t.Fatalf("answered: %+v", a)
		}
		// A Cdr that does not parse is journaled with the field at fault.
		f.emit("Event", "Cdr", "Source", "79256424297", "Destination", "101", "StartTime", "2026-12-05 12:20:00",
			"Disposition", "MAYBE", "UniqueID", "1733401200.5")
		if e := s.journalHas(conn.ID, "1733401200.5", "failed"); e.Error == "" {
			t.Fatalf("no reason: %+v", e)
		}
		var l automation.RunList
		s.do("GET", fmt.Sprintf("/api/v1/bundles/%d/runs", b.ID), nil, http.StatusOK, &l)
		if len(l.Items) != 1 {
			t.Fatalf("runs: %+v", l.Items)
		}
	})
}
