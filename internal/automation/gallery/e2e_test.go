package gallery_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/automation/gallery"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// install puts the template in through the API and switches it on.
func (s *server) install(name string, in gallery.Install) automation.Bundle {
	s.t.Helper()
	var b automation.Bundle
	s.do("POST", "/api/v1/templates/"+name+"/install", in, http.StatusCreated, &b)
	s.do("POST", fmt.Sprintf("/api/v1/bundles/%d/activate", b.ID), nil, http.StatusOK, &b)
	return b
}

// waitCursor waits for the bundle's first poll, which marks where it
// starts reading.
func (s *server) waitCursor(id int64) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for s.cursor(id) == "" {
		if time.Now().After(deadline) {
			s.t.Fatalf("bundle %d never polled", id)
		}
		s.pollNow(id)
		time.Sleep(20 * time.Millisecond)
	}
}

// okRuns waits for n runs of the bundle that finished OK with every
// step in the journal; runs its filters stopped are let be, a failed one
// fails the test. The bundle's poll is made due on every turn: a poll
// already under way when the test made it due sets the next one a whole
// interval later when it ends, and a poll again reads nothing twice.
func (s *server) okRuns(id int64, n, steps int) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.pollNow(id)
		ok := 0
		for _, r := range s.runs(id) {
			if !r.Finished() || r.Status == automation.StatusFiltered {
				continue
			}
			var full automation.Run
			s.do("GET", fmt.Sprintf("/api/v1/runs/%d", r.ID), nil, http.StatusOK, &full)
			if full.Status != automation.StatusOK || len(full.Steps) != steps {
				s.t.Fatalf("run of bundle %d: %s, %d steps, want %d: %+v", id, full.Status, len(full.Steps), steps, full)
			}
			ok++
		}
		if ok >= n {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%d of %d runs of bundle %d finished OK", ok, n, id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// contactByPhone is the one contact of Obmen's CRM with the phone.
func (s *server) contactByPhone(phone string) int64 {
	s.t.Helper()
	var list struct {
		Items []struct {
			ID     int64 `json:"id"`
			Phones []struct {
				Value string `json:"value"`
			} `json:"phones"`
		} `json:"items"`
	}
	// A bundle's CRM step may still be running when the step a test
	// waited for is done: wait for the contact a while.
	deadline := time.Now().Add(30 * time.Second)
	for {
		list.Items = nil
		s.do("GET", "/api/v1/contacts?limit=100", nil, http.StatusOK, &list)
		var ids []int64
		for _, c := range list.Items {
			for _, p := range c.Phones {
				if strings.TrimPrefix(p.Value, "+") == phone {
					ids = append(ids, c.ID)
				}
			}
		}
		if len(ids) == 1 {
			return ids[0]
		}
		if len(ids) > 1 || time.Now().After(deadline) {
			s.t.Fatalf("contacts with phone %s: %v (all: %+v)", phone, ids, list.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitPosts waits for n timeline posts on the contact, the latest one
// containing text.
func (s *server) waitPosts(contact int64, n int, text string) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var list struct {
			Items []struct {
				ID   int64  `json:"id"`
				Body string `json:"body"`
			} `json:"items"`
		}
		s.do("GET", fmt.Sprintf("/api/v1/contacts/%d/comments", contact), nil, http.StatusOK, &list)
		if len(list.Items) > n {
			s.t.Fatalf("%d posts on contact %d, want %d: %+v", len(list.Items), contact, n, list.Items)
		}
		if len(list.Items) == n {
			found := false
			for _, c := range list.Items {
				found = found || strings.Contains(c.Body, text)
			}
			if !found {
				s.t.Fatalf("no post on contact %d contains %q: %+v", contact, text, list.Items)
			}
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%d posts on contact %d, want %d: %+v", len(list.Items), contact, n, list.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitPost waits for a timeline post on the contact containing text and
// gives all the posts' bodies.
func (s *server) waitPost(contact int64, text string) string {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var list struct {
			Items []struct {
				Body string `json:"body"`
			} `json:"items"`
		}
		s.do("GET", fmt.Sprintf("/api/v1/contacts/%d/comments", contact), nil, http.StatusOK, &list)
		all := fmt.Sprint(list.Items)
		if strings.Contains(all, text) {
			return all
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no post on contact %d contains %q: %s", contact, text, all)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Seed 001 with retailCRM, end to end through the three fakes: the four
// templates installed through the API; a call appears in
// Calltouch's diary → a Calltouch deal (PENDING, budget 0), a customer
// and an order in retailCRM with the UTM custom fields and the tags
// joined with "|", a lead in Obmen's CRM; a site request the same by
// phone or e-mail → a manager changes the order's
// sum and status in retailCRM → the deal's status and budget follow →
// the order is completed → the deal is closed as won. On both engines.
func TestSeedRetailCRM(t *testing.T) {
	n := 0
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		n++
		s := newServer(t, d)
		c := connect(t, s)
		c.ct.Limit = 0
		in := gallery.Install{Connections: map[string]int64{"calltouch": c.calltouch, "crm": c.retailcrm}}
		call := s.install("calltouch-call-retailcrm", in)
		upd := s.install("retailcrm-order-calltouch-deal", in)
		won := s.install("retailcrm-order-complete-calltouch-won", in)
		req := s.install("calltouch-request-retailcrm", in)
		for _, b := range []automation.Bundle{call, upd, won, req} {
			s.waitCursor(b.ID)
		}
		time.Sleep(1100 * time.Millisecond) // the call after the bundle's start, in the diary's seconds

		id := 810000 + n
		c.ct.AddCall(id, time.Now(), map[string]any{"utmCampaign": "divan-zima"})
		s.pollNow(call.ID)
		s.okRuns(call.ID, 1, 4)

		number := fmt.Sprintf("obmen-call-%d", id)
		phone := fmt.Sprintf("7925%07d", id)
		deal := c.ct.Deal(number)
		if deal == nil || deal["status"] != "PENDING" || fmt.Sprint(deal["revenue"]) != "0.00" {
			t.Fatalf("deal %v", deal)
		}
		customers, orders := c.rc.Snapshot()
		if len(customers) != 1 || len(orders) != 1 {
			t.Fatalf("%d customers, %d orders", len(customers), len(orders))
		}
		o := orders[0]
		cf, _ := o["customFields"].(map[string]any)
		if o["externalId"] != number || o["status"] != "new" || o["orderType"] != "eshop-individual" ||
			o["firstName"] != "Заказ по звонку из Calltouch с номера "+phone || o["phone"] != phone ||
			fmt.Sprint(o["customer"]) != fmt.Sprintf("map[id:%v]", customers[0]["id"]) {
			t.Fatalf("order %v", o)
		}
		for k, v := range map[string]string{"source": "yandex", "medium": "cpc", "utm_source": "yandex", "utm_medium": "cpc",
			"utm_campaign": "divan-zima", "utm_content": "ad1", "utm_term": "диван купить", "gclid": "GA1.2.3.4", "tags": "1|Москва"} {
			if cf[k] != v {
				t.Fatalf("custom field %s = %v, want %q (%v)", k, cf[k], v, cf)
			}
		}
		if !strings.Contains(fmt.Sprint(customers[0]["phones"]), phone) || customers[0]["externalId"] != fmt.Sprintf("calltouch-call-%d", id) {
			t.Fatalf("customer %v", customers[0])
		}
		var leads struct {
			Items []map[string]any `json:"items"`
		}
		s.do("GET", "/api/v1/leads", nil, http.StatusOK, &leads)
		if len(leads.Items) != 1 || leads.Items[0]["title"] != "Звонок из Calltouch с номера "+phone || leads.Items[0]["utm_campaign"] != "divan-zima" {
			t.Fatalf("Obmen's leads %v", leads.Items)
		}

		// (2): a site request → a deal by the request, the client by
		// phone or e-mail with its name, an order with the session's tags.
		rid := 910000 + n
		c.ct.AddRequest(rid, time.Now())
		s.pollNow(req.ID)
		s.okRuns(req.ID, 1, 4)
		if deal := c.ct.Deal(fmt.Sprintf("obmen-request-%d", rid)); deal == nil || deal["status"] != "PENDING" {
			t.Fatalf("request's deal %v", deal)
		}
		customers, orders = c.rc.Snapshot()
		if len(customers) != 2 || len(orders) != 2 {
			t.Fatalf("after the request: %d customers, %d orders", len(customers), len(orders))
		}
		ro, rc := orders[1], customers[1]
		rcf, _ := ro["customFields"].(map[string]any)
		if ro["externalId"] != fmt.Sprintf("obmen-request-%d", rid) || ro["firstName"] != "Заказ по заявке из Calltouch с номера 79161234567" ||
			ro["email"] != "anna@example.ru" || rcf["source"] != "google" || rcf["gclid"] != "GA1.2.5.6" || rcf["tags"] != "горячий" ||
			rc["firstName"] != "Анна Петрова" || rc["email"] != "anna@example.ru" {
			t.Fatalf("request's order %v, customer %v", ro, rc)
		}

		// The manager works the order: its sum, then its status.
		oid := int64(o["id"].(int64))
		c.rc.ManagerSets(oid, "totalSumm", 4500.5)
		c.rc.ManagerSets(oid, "status", "assembly")
		s.pollNow(upd.ID)
		s.pollNow(won.ID)
		s.okRuns(upd.ID, 1, 3)
		deal = c.ct.Deal(number)
		if deal["status"] != "assembly" || fmt.Sprint(deal["revenue"]) != "4500.50" {
			t.Fatalf("deal after the status change %v", deal)
		}
		// The change is in Obmen's CRM too: the contact found or made by
		// the order's phone, the change on its timeline.
		contact := s.contactByPhone(phone)
		s.waitPosts(contact, 1, "Заказ № 1A в retailCRM: статус assembly, сумма 4500.5")

		// The client pays in full: the history's payments, payments.status,
		// payments.paid_at and full_paid_at entries each update the deal.
		c.rc.ManagerPays(oid, 4500.5)
		s.pollNow(upd.ID)
		s.okRuns(upd.ID, 5, 3)
		s.waitPosts(contact, 5, "Изменено поле full_paid_at; оплачено 4500.5.")

		c.rc.ManagerSets(oid, "status", "complete")
		s.pollNow(upd.ID)
		s.pollNow(won.ID)
		s.okRuns(won.ID, 1, 3)
		deal = c.ct.Deal(number)
		if deal["status"] != "COMPLETED" || fmt.Sprint(deal["revenue"]) != "4500.50" {
			t.Fatalf("deal after completion %v", deal)
		}
		s.waitPosts(contact, 6, "Заказ № 1A в retailCRM: статус complete, сумма 4500.5")
		if again := s.contactByPhone(phone); again != contact {
			t.Fatalf("a second contact %d for the phone (first %d)", again, contact)
		}
		// The completion went to (4) only: (3) filtered it out.
		deadline := time.Now().Add(30 * time.Second)
		for filtered := 0; filtered == 0; {
			s.pollNow(upd.ID)
			for _, r := range s.runs(upd.ID) {
				if !r.Finished() {
					continue
				}
				if r.Status == automation.StatusFiltered {
					var full automation.Run
					s.do("GET", fmt.Sprintf("/api/v1/runs/%d", r.ID), nil, http.StatusOK, &full)
					if tr, _ := full.Trigger.(map[string]any); tr["field"] == "status" && tr["status"] == "complete" {
						filtered++
					}
				} else if r.Status != automation.StatusOK {
					t.Fatalf("run of (3): %+v", r)
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("(3) never saw the completion")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// Seed 001 with МойСклад, the same way: a call → a deal, a counterparty
// and a customer order with the seed's attributes (by name) and the deal
// as its external code; a site request likewise → its state and payment change → the deal
// follows → the order delivered → the deal won. On both engines.
func TestSeedMoySklad(t *testing.T) {
	n := 0
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		n++
		s := newServer(t, d)
		c := connect(t, s)
		c.ct.Limit = 0
		in := gallery.Install{Connections: map[string]int64{"calltouch": c.calltouch, "crm": c.moysklad}}
		call := s.install("calltouch-call-moysklad", in)
		upd := s.install("moysklad-order-calltouch-deal", in)
		won := s.install("moysklad-order-complete-calltouch-won", in)
		req := s.install("calltouch-request-moysklad", in)
		for _, b := range []automation.Bundle{call, upd, won, req} {
			s.waitCursor(b.ID)
		}
		time.Sleep(1100 * time.Millisecond)

		id := 820000 + n
		c.ct.AddCall(id, time.Now(), nil)
		s.pollNow(call.ID)
		s.okRuns(call.ID, 1, 4)

		number := fmt.Sprintf("obmen-call-%d", id)
		phone := fmt.Sprintf("7925%07d", id)
		if deal := c.ct.Deal(number); deal == nil || deal["status"] != "PENDING" {
			t.Fatalf("deal %v", deal)
		}
		if c.ms.Count("counterparty") != 1 || c.ms.Count("customerorder") != 1 {
			t.Fatalf("%d counterparties, %d orders", c.ms.Count("counterparty"), c.ms.Count("customerorder"))
		}
		var runs struct {
			Items []automation.Run `json:"items"`
		}
		s.do("GET", fmt.Sprintf("/api/v1/bundles/%d/runs", call.ID), nil, http.StatusOK, &runs)
		var full automation.Run
		s.do("GET", fmt.Sprintf("/api/v1/runs/%d", runs.Items[0].ID), nil, http.StatusOK, &full)
		oid, _ := full.Steps[2].Output.(map[string]any)["id"].(string)
		o := c.ms.Order(oid)
		if o == nil || o["externalCode"] != number || o["description"] != "Заказ по звонку из Calltouch с номера "+phone {
			t.Fatalf("order %v", o)
		}
		attrs := map[string]any{}
		list, _ := o["attributes"].([]any)
		for _, a := range list {
			am := a.(map[string]any)
			attrs[fmt.Sprint(am["name"])] = am["value"]
		}
		for k, v := range map[string]string{"source": "yandex", "medium": "cpc", "utm_source": "yandex", "utm_campaign": "sofa",
			"utm_term": "диван купить", "gclid": "GA1.2.3.4", "tags": "1|Москва"} {
			if attrs[k] != v {
				t.Fatalf("attribute %s = %v, want %q (%v)", k, attrs[k], v, o["attributes"])
			}
		}

		// (2): a site request → a deal, a counterparty named as the
		// client with phone and e-mail, an order with the session's tags.
		rid := 920000 + n
		c.ct.AddRequest(rid, time.Now())
		s.pollNow(req.ID)
		s.okRuns(req.ID, 1, 4)
		if deal := c.ct.Deal(fmt.Sprintf("obmen-request-%d", rid)); deal == nil || deal["status"] != "PENDING" {
			t.Fatalf("request's deal %v", deal)
		}
		if c.ms.Count("counterparty") != 2 || c.ms.Count("customerorder") != 2 {
			t.Fatalf("after the request: %d counterparties, %d orders", c.ms.Count("counterparty"), c.ms.Count("customerorder"))
		}
		s.do("GET", fmt.Sprintf("/api/v1/bundles/%d/runs", req.ID), nil, http.StatusOK, &runs)
		s.do("GET", fmt.Sprintf("/api/v1/runs/%d", runs.Items[0].ID), nil, http.StatusOK, &full)
		client, _ := full.Steps[1].Output.(map[string]any)["entity"].(map[string]any)
		rorder := c.ms.Order(full.Steps[2].Output.(map[string]any)["id"].(string))
		if client["name"] != "Анна Петрова" || client["email"] != "anna@example.ru" || rorder["externalCode"] != fmt.Sprintf("obmen-request-%d", rid) ||
			rorder["description"] != "Заказ по заявке из Calltouch с номера 79161234567" {
			t.Fatalf("request's counterparty %v, order %v", client, rorder)
		}

		// Confirmed and paid in part, then delivered.
		c.ms.Set(oid, "sum", 450050)
		c.ms.Touch(oid, "2026-12-05 12:00:00.000", 1, 150000)
		// (3) may have run already for the order's creation (МойСклад
		// has no "made by this key" in its answers): wait for the change.
		deadline := time.Now().Add(30 * time.Second)
		for c.ct.Deal(number)["status"] != "Подтвержден" {
			if time.Now().After(deadline) {
				t.Fatalf("deal after the change %v", c.ct.Deal(number))
			}
			s.pollNow(upd.ID)
			time.Sleep(50 * time.Millisecond)
		}
		s.okRuns(upd.ID, 1, 3)
		deal := c.ct.Deal(number)
		if deal["status"] != "Подтвержден" || fmt.Sprint(deal["revenue"]) != "4500.50" {
			t.Fatalf("deal after the change %v", deal)
		}
		// Obmen's CRM: the counterparty's phone finds or makes the
		// contact, the change is on its timeline.
		contact := s.contactByPhone(phone)
		posts := s.waitPost(contact, "статус Подтвержден, сумма 4500.5")
		if !strings.Contains(posts, "Оплачено 1500, отгружено") {
			t.Fatalf("posts %s", posts)
		}
		c.ms.Touch(oid, "2026-12-05 12:05:00.000", 2, 450050)
		s.pollNow(upd.ID)
		s.pollNow(won.ID)
		s.okRuns(won.ID, 1, 3)
		deal = c.ct.Deal(number)
		if deal["status"] != "COMPLETED" || fmt.Sprint(deal["revenue"]) != "4500.50" {
			t.Fatalf("deal after delivery %v", deal)
		}
		s.waitPost(contact, "Заказ выполнен; сделка Calltouch "+number+" закрыта успешно.")
		if again := s.contactByPhone(phone); again != contact {
			t.Fatalf("a second contact %d for the phone (first %d)", again, contact)
		}
	})
}
