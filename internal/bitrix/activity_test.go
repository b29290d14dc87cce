package bitrix_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/bitrix"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestTimelineComments adds comments to a company and a lead and lists
// them.
func TestTimelineComments(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		co := idOf(t, e.ok(e.json("crm.company.add", map[string]any{"fields": map[string]any{"TITLE": "ООО Ромашка"}})))
		lead := idOf(t, e.ok(e.json("crm.lead.add", map[string]any{"fields": map[string]any{"TITLE": "Заявка"}})))

		add := e.ok(e.json("crm.timeline.comment.add", map[string]any{"fields": map[string]any{
			"ENTITY_ID": co, "ENTITY_TYPE": "company", "COMMENT": "Позвонить в понедельник"}}))
		golden(t, "crm.timeline.comment.add", add)
		e.ok(e.form("crm.timeline.comment.add", q("fields[ENTITY_ID]", co, "fields[ENTITY_TYPE]", "COMPANY", "fields[COMMENT]", "Счёт отправлен")))
		e.ok(e.form("crm.timeline.comment.add", q("fields[ENTITY_ID]", lead, "fields[ENTITY_TYPE]", "lead", "fields[COMMENT]", "Другой")))

		list := e.ok(e.get("crm.timeline.comment.list", q("filter[ENTITY_ID]", co, "filter[ENTITY_TYPE]", "company")))
		golden(t, "crm.timeline.comment.list", list)
		expect(t, list, map[string]string{"total": "2", "result/0/ID": idOf(t, add), "result/0/ENTITY_ID": co,
			"result/0/ENTITY_TYPE": "company", "result/1/COMMENT": "Счёт отправлен",
			"result/0/AUTHOR_ID": strconv.FormatInt(e.admin.UserID, 10)})
		expect(t, e.ok(e.get("crm.timeline.comment.list", q("filter[ENTITY_ID]", lead, "filter[ENTITY_TYPE]", "lead"))),
			map[string]string{"total": "1", "result/0/COMMENT": "Другой"})

		e.fails(e.json("crm.timeline.comment.add", map[string]any{"fields": map[string]any{"ENTITY_ID": co, "ENTITY_TYPE": "company", "COMMENT": " "}}), 400, "", "COMMENT")
		e.fails(e.json("crm.timeline.comment.add", map[string]any{"fields": map[string]any{"ENTITY_ID": co, "ENTITY_TYPE": "quote", "COMMENT": "x"}}), 400, "", "ENTITY_TYPE")
		e.fails(e.json("crm.timeline.comment.add", map[string]any{"fields": map[string]any{"ENTITY_ID": "999999", "ENTITY_TYPE": "deal", "COMMENT": "x"}}), 400, "", "Not found")
		e.fails(e.get("crm.timeline.comment.list", q("filter[ENTITY_TYPE]", "lead")), 400, "", "ENTITY_ID")
	})
}

// TestActivities walks crm.activity.* through add, get, list with
// filters, update and delete.
func TestActivities(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		admin := strconv.FormatInt(e.admin.UserID, 10)
		contact := idOf(t, e.ok(e.json("crm.contact.add", map[string]any{"fields": map[string]any{"NAME": "Глеб"}})))
		deal := idOf(t, e.ok(e.json("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Заказ"}})))

		call := e.ok(e.json("crm.activity.add", map[string]any{"fields": map[string]any{
			"OWNER_TYPE_ID": 3, "OWNER_ID": contact, "TYPE_ID": 2, "SUBJECT": "Звонок клиенту", "DESCRIPTION": "Уточнить адрес",
			"START_TIME": "2026-03-02T10:00:00+03:00", "END_TIME": "2026-03-02T10:30:00+03:00", "COMPLETED": "N",
			"PRIORITY": "3", "DIRECTION": "2", "RESPONSIBLE_ID": admin,
			"COMMUNICATIONS": []any{map[string]any{"VALUE": "+7 (925) 642-42-90", "TYPE": "PHONE"}},
		}}))
		golden(t, "crm.activity.add", call)
		callID := idOf(t, call)
		got := e.ok(e.get("crm.activity.get", "id="+callID))
		golden(t, "crm.activity.get", got)
		expect(t, got, map[string]string{"result/OWNER_TYPE_ID": "3", "result/OWNER_ID": contact, "result/TYPE_ID": "2",
			"result/PRIORITY": "3", "result/DIRECTION": "2", "result/COMPLETED": "N", "result/RESPONSIBLE_ID": admin,
			"result/START_TIME": "2026-03-02T10:00:00+03:00", "result/END_TIME": "2026-03-02T10:30:00+03:00",
			"result/COMMUNICATIONS/0/TYPE": "PHONE"})

		// A meeting on the deal (form encoding, Moscow time without an
		// offset) and an e-mail on a company.
		meet := idOf(t, e.ok(e.form("crm.activity.add", q("fields[OWNER_TYPE_ID]", "2", "fields[OWNER_ID]", deal, "fields[TYPE_ID]", "1",
			"fields[SUBJECT]", "Встреча", "fields[START_TIME]", "2026-03-03 15:00", "fields[COMPLETED]", "Y"))))
		co := idOf(t, e.ok(e.json("crm.company.add", map[string]any{"fields": map[string]any{"TITLE": "ООО Ромашка"}})))
		mail := idOf(t, e.ok(e.json("crm.activity.add", map[string]any{"fields": map[string]any{
			"OWNER_TYPE_ID": "4", "OWNER_ID": co, "TYPE_ID": "4", "SUBJECT": "Письмо", "DIRECTION": 1,
			"COMMUNICATIONS": []any{map[string]any{"VALUE": "Info@Romashka.ru", "TYPE": "EMAIL"}}}})))
		expect(t, e.ok(e.get("crm.activity.get", "id="+meet)), map[string]string{"result/START_TIME": "2026-03-03T15:00:00+03:00",
			"result/COMPLETED": "Y", "result/PRIORITY": "2", "result/DIRECTION": "0", "result/RESPONSIBLE_ID": admin})
		expect(t, e.ok(e.get("crm.activity.get", "id="+mail)), map[string]string{"result/OWNER_TYPE_ID": "4",
			"result/COMMUNICATIONS/0/VALUE": "info@romashka.ru", "result/COMMUNICATIONS/0/TYPE": "EMAIL"})

		list := e.ok(e.get("crm.activity.list", q("filter[OWNER_TYPE_ID]", "3", "filter[OWNER_ID]", contact)))
		golden(t, "crm.activity.list", list)
		expect(t, list, map[string]string{"total": "1", "result/0/ID": callID})
		expect(t, e.ok(e.get("crm.activity.list", q("filter[COMPLETED]", "Y"))), map[string]string{"total": "1", "result/0/ID": meet})
		expect(t, e.ok(e.get("crm.activity.list", q("filter[COMPLETED]", "N", "order[ID]", "DESC"))), map[string]string{"total": "2", "result/0/ID": mail})
		expect(t, e.ok(e.get("crm.activity.list", q("filter[TYPE_ID]", "4"))), map[string]string{"total": "1", "result/0/ID": mail})
		expect(t, e.ok(e.json("crm.activity.list", map[string]any{"filter": map[string]any{"@TYPE_ID": []int{1, 2}, "RESPONSIBLE_ID": admin},
			"select": []string{"ID", "SUBJECT"}})), map[string]string{"total": "2", "result/0/ID": callID, "result/1/SUBJECT": "Встреча"})
		expect(t, e.ok(e.get("crm.activity.list", q("filter[RESPONSIBLE_ID]", "999"))), map[string]string{"total": "0"})

		e.ok(e.json("crm.activity.update", map[string]any{"id": callID, "fields": map[string]any{"COMPLETED": "Y", "SUBJECT": "Звонок состоялся", "PRIORITY": 1}}))
		expect(t, e.ok(e.get("crm.activity.get", "id="+callID)), map[string]string{"result/COMPLETED": "Y", "result/STATUS": "2",
			"result/SUBJECT": "Звонок состоялся", "result/PRIORITY": "1", "result/DESCRIPTION": "Уточнить адрес"})
		expect(t, e.ok(e.get("crm.activity.list", q("filter[COMPLETED]", "Y"))), map[string]string{"total": "2"})

		// Paging: 55 tasks, two pages.
		for i := range 55 {
			e.ok(e.json("crm.activity.add", map[string]any{"fields": map[string]any{"TYPE_ID": 3, "SUBJECT": fmt.Sprintf("Задача %d", i)}}))
		}
		p1 := e.ok(e.get("crm.activity.list", q("filter[TYPE_ID]", "3")))
		expect(t, p1, map[string]string{"total": "55", "next": "50"})
		p2 := e.ok(e.get("crm.activity.list", q("filter[TYPE_ID]", "3", "start", "50")))
		expect(t, p2, map[string]string{"total": "55", "result/4/SUBJECT": "Задача 54"})

		e.ok(e.get("crm.activity.delete", "id="+callID))
		e.fails(e.get("crm.activity.get", "id="+callID), 400, "", "Not found")
		e.fails(e.get("crm.activity.delete", "id="+callID), 400, "", "Not found")
		e.fails(e.json("crm.activity.add", map[string]any{"fields": map[string]any{"TYPE_ID": 2}}), 400, "", "SUBJECT")
		e.fails(e.json("crm.activity.add", map[string]any{"fields": map[string]any{"TYPE_ID": 9, "SUBJECT": "x"}}), 400, "", "TYPE_ID")
		e.fails(e.json("crm.activity.add", map[string]any{"fields": map[string]any{"TYPE_ID": 2, "SUBJECT": "x", "OWNER_TYPE_ID": 1, "OWNER_ID": 999999}}), 400, "", "OWNER_ID")
		e.fails(e.json("crm.activity.update", map[string]any{"id": meet, "fields": map[string]any{"START_TIME": "завтра"}}), 400, "", "START_TIME")
	})
}

// TestUserGet lists users by id and activity.
func TestUserGet(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u, err := e.s.CreateUser(ctx, e.admin, crm.User{Login: "ivanov", FirstName: "Иван", LastName: "Иванов", MiddleName: "Петрович",
			Email: "ivanov@example.ru", Position: "Менеджер", Role: crm.RoleManager, Active: true}, "ivanov-password")
		if err != nil {
			t.Fatal(err)
		}
		gone, err := e.s.CreateUser(ctx, e.admin, crm.User{Login: "gone", FirstName: "Уволен", Role: crm.RoleManager}, "gone-password")
		if err != nil {
			t.Fatal(err)
		}
		if gone.Active {
			gone.Active = false
			if _, err := e.s.UpdateUser(ctx, e.admin, gone); err != nil {
				t.Fatal(err)
			}
		}
		id := strconv.FormatInt(u.ID, 10)
		one := e.ok(e.get("user.get", q("filter[ID]", id)))
		golden(t, "user.get", one)
		expect(t, one, map[string]string{"total": "1", "result/0/ID": id, "result/0/ACTIVE": "true", "result/0/SECOND_NAME": "Петрович",
			"result/0/WORK_POSITION": "Менеджер", "result/0/EMAIL": "ivanov@example.ru"})
		expect(t, e.ok(e.get("user.get", "ID="+id)), map[string]string{"total": "1", "result/0/NAME": "Иван"})
		expect(t, e.ok(e.get("user.get", "")), map[string]string{"total": "3"})
		expect(t, e.ok(e.get("user.get", q("filter[ACTIVE]", "true"))), map[string]string{"total": "2"})
		inactive := e.ok(e.json("user.get", map[string]any{"filter": map[string]any{"ACTIVE": false}}))
		expect(t, inactive, map[string]string{"total": "1", "result/0/ID": strconv.FormatInt(gone.ID, 10), "result/0/ACTIVE": "false"})

		crmOnly := newEnv(t, e.d, "crm")
		crmOnly.fails(crmOnly.get("user.get", ""), 403, "insufficient_scope", "higher privileges")
	})
}

// TestRateLimit checks the per-webhook leaky bucket.
func TestRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := store.New(d)
		admin := storetest.Admin(t, s)
		h := bitrix.New(d, s, slog.New(slog.NewTextHandler(io.Discard, nil)), bitrix.Options{Location: msk, RateLimit: 2, Burst: 3})
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		base := func() string {
			_, code, err := h.Webhooks().CreateWebhook(ctx, admin.UserID, "limited", []string{"crm"})
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("%s/rest/%d/%s/", srv.URL, admin.UserID, code)
		}
		e := &env{t: t, d: d, s: s, h: h, srv: srv, admin: admin, client: srv.Client(), base: base()}
		other := *e
		other.base = base()

		for range 3 {
			e.ok(e.get("server.time", ""))
		}
		over := e.get("server.time", "")
		e.fails(over, http.StatusServiceUnavailable, "QUERY_LIMIT_EXCEEDED", "Too many requests")
		golden(t, "error.query_limit_exceeded", over)
		other.ok(other.get("server.time", ""))

		time.Sleep(600 * time.Millisecond)
		e.ok(e.get("server.time", ""))
	})
}
