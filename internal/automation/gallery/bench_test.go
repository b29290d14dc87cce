package gallery_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation/gallery"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The time from a pushed item to the remote write its template makes,
// through the whole Obmen (the connection's hook URL over loopback HTTP,
// the engine's queue, the actions' clients against the fakes with the
// services' documented limits). Pushes one after another; reported: p50
// and p99 in milliseconds.

const benchPushes = 40

// hookURL makes the connection's hook URL.
func (s *server) hookURL(conn int64) string {
	var hook struct {
		URL string `json:"url"`
	}
	s.do("POST", fmt.Sprintf("/api/v1/connections/%d/hook", conn), nil, http.StatusOK, &hook)
	return hook.URL
}

func (s *server) postForm(u string, form url.Values) {
	res, err := http.PostForm(u, form)
	if err != nil {
		s.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		s.t.Fatalf("push to %s: %d", u, res.StatusCode)
	}
}

// waitFor waits up to 30 s for ok.
func waitFor(b *testing.B, what string, ok func() bool) {
	for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("no %s within 30 s", what)
		}
	}
}

func report(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
}

// BenchmarkCalltouchPushToOrder: Calltouch's webhook of an incoming call
// POSTed to the connection's hook URL → template (1) runs → the order
// made in retailCRM (after the Calltouch deal, the customer search and
// create). Calltouch's 5 requests/s are enforced by its fake.
func BenchmarkCalltouchPushToOrder(b *testing.B) {
	for range b.N {
		s := newServer(b, storetest.OpenSQLite(b))
		c := connect(b, s)
		var bu struct{ ID int64 }
		s.do("POST", "/api/v1/templates/calltouch-call-retailcrm/install", gallery.Install{
			Connections: map[string]int64{"calltouch": c.calltouch, "crm": c.retailcrm}}, http.StatusCreated, &bu)
		s.do("POST", fmt.Sprintf("/api/v1/bundles/%d/activate", bu.ID), nil, http.StatusOK, nil)
		hook := s.hookURL(c.calltouch)
		var lat []time.Duration
		for i := range benchPushes {
			id := 830000 + i
			call := url.Values{"siteId": {c.ct.Site}, "callId": {fmt.Sprint(id)}, "callerphone": {fmt.Sprintf("7925%07d", id)},
				"phonenumber": {"74950000000"}, "calltime": {time.Now().In(c.ct.Loc).Format("2006-01-02 15:04:05")}, "duration": {"61"},
				"status": {"successful"}, "utm_campaign": {"sofa"}}
			_, before := c.rc.Snapshot()
			start := time.Now()
			s.postForm(hook, call)
			waitFor(b, "order", func() bool { _, o := c.rc.Snapshot(); return len(o) > len(before) })
			lat = append(lat, time.Since(start))
		}
		report(b, lat)
	}
}

// BenchmarkRetailCRMPushToDeal: a manager changes an order's status in
// retailCRM, retailCRM's trigger POSTs to the connection's hook URL
// (which makes the history poll due at once) → template (3) reads the
// history and the order → the Calltouch deal updated to the status.
func BenchmarkRetailCRMPushToDeal(b *testing.B) {
	for range b.N {
		s := newServer(b, storetest.OpenSQLite(b))
		c := connect(b, s)
		c.ct.Limit = 0
		in := gallery.Install{Connections: map[string]int64{"calltouch": c.calltouch, "crm": c.retailcrm}}
		var call, upd struct{ ID int64 }
		s.do("POST", "/api/v1/templates/calltouch-call-retailcrm/install", in, http.StatusCreated, &call)
		s.do("POST", "/api/v1/templates/retailcrm-order-calltouch-deal/install", in, http.StatusCreated, &upd)
		for _, id := range []int64{call.ID, upd.ID} {
			s.do("POST", fmt.Sprintf("/api/v1/bundles/%d/activate", id), nil, http.StatusOK, nil)
		}
		s.waitCursor(upd.ID)
		// One call makes the deal and the order the changes go to.
		s.postForm(s.hookURL(c.calltouch), url.Values{"siteId": {c.ct.Site}, "callId": {"840000"}, "callerphone": {"79250840000"},
			"calltime": {time.Now().In(c.ct.Loc).Format("2006-01-02 15:04:05")}, "duration": {"30"}, "status": {"successful"}})
		waitFor(b, "order", func() bool { _, o := c.rc.Snapshot(); return len(o) == 1 })
		_, orders := c.rc.Snapshot()
		oid := orders[0]["id"].(int64)
		hook := s.hookURL(c.retailcrm)
		var lat []time.Duration
		for i := range benchPushes {
			status := []string{"assembly", "new"}[i%2]
			c.rc.ManagerSets(oid, "status", status)
			start := time.Now()
			s.postForm(hook, url.Values{"order_id": {fmt.Sprint(oid)}})
			waitFor(b, "deal update", func() bool { return c.ct.Deal("obmen-call-840000")["status"] == status })
			lat = append(lat, time.Since(start))
		}
		report(b, lat)
	}
}
