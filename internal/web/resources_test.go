package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// An administrator keeps the bookable resources on their page (linked
// from the users' and the dictionaries' pages): adds one, renames and
// switches it off, deletes an unused one; a wrong entry is refused naming
// its field, and deleting a resource with bookings is refused in Russian
// saying how many and to switch it off instead. A manager may not open
// the page.
func TestResourcesPage(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		b := e.browser()
		b.signIn()
		for _, from := range []string{"/admin/users", "/admin/dict"} {
			if p := b.get(from); !strings.Contains(p.Body, `href="/admin/resources"`) {
				t.Errorf("%s does not link to the resources page", from)
			}
		}
		if p := b.get("/admin/resources"); p.Status != http.StatusOK || !strings.Contains(p.Body, "Ресурсов пока нет") {
			t.Fatalf("empty page: %d", p.Status)
		}
		p := b.post("/admin/resources", url.Values{"kind": {"room"}, "name": {" Кабинет 5 "}, "capacity": {"4"}, "active": {"on"}})
		if p.Status != http.StatusSeeOther || p.Location != "/admin/resources?flash=res.added" {
			t.Fatalf("add: %d %q %s", p.Status, p.Location, p.Body)
		}
		rs, err := s.Resources(ctx, true)
		if err != nil || len(rs) != 1 || rs[0].Name != "Кабинет 5" || rs[0].Kind != "room" || rs[0].Capacity != 4 || !rs[0].Active {
			t.Fatalf("after add: %+v %v", rs, err)
		}
		room := rs[0]
		id := strconv.FormatInt(room.ID, 10)
		if p := b.get("/admin/resources?flash=res.added"); !strings.Contains(p.Body, "Ресурс добавлен") || !strings.Contains(p.Body, `value="Кабинет 5"`) {
			t.Error("the page does not show the flash or the new resource")
		}
		p = b.post("/admin/resources/"+id+"/save", url.Values{"kind": {"equipment"}, "name": {"Проектор"}, "capacity": {""}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("save: %d %s", p.Status, p.Body)
		}
		if r, err := s.GetResource(ctx, room.ID); err != nil || r.Name != "Проектор" || r.Kind != "equipment" || r.Capacity != 0 || r.Active {
			t.Fatalf("after save (renamed, switched off): %+v %v", r, err)
		}
		if p := b.get("/admin/resources"); !strings.Contains(p.Body, `<li id="res-`+id+`" class="muted">`) {
			t.Error("a switched-off resource is not shown as such")
		}
		errorOf := func(p page) string {
			_, msg, _ := strings.Cut(p.Body, `id="res-error">`)
			msg, _, _ = strings.Cut(msg, "</p>")
			return html.UnescapeString(msg)
		}
		for _, c := range []struct {
			path string
			form url.Values
			says string
		}{
			{"/admin/resources", url.Values{"kind": {"car"}, "name": {"X"}}, `Вид: "car" — не помещение`},
			{"/admin/resources", url.Values{"kind": {"room"}, "name": {" "}}, "Название: "},
			{"/admin/resources", url.Values{"kind": {"room"}, "name": {"X"}, "capacity": {"много"}}, `Вместимость: "много" — не целое число`},
			{"/admin/resources/" + id + "/save", url.Values{"kind": {"room"}, "name": {"X"}, "capacity": {"-1"}}, "Вместимость"},
		} {
			p := b.post(c.path, c.form)
			if msg := errorOf(p); p.Status != http.StatusUnprocessableEntity || !strings.Contains(msg, c.says) {
				t.Errorf("%s %v: %d %q, want 422 saying %q", c.path, c.form, p.Status, msg, c.says)
			}
		}
		if rs, _ := s.Resources(ctx, true); len(rs) != 1 || rs[0].Name != "Проектор" {
			t.Errorf("a refused form changed the resources: %+v", rs)
		}

		// A resource with a booking stays, and the page says why.
		if _, err := s.UpdateResource(ctx, e.admin, room.ID, func(r *crm.Resource) error { r.Active = true; return nil }); err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 12, 9, 11, 0, 0, 0, time.UTC)
		if _, err := s.CreateBooking(ctx, e.admin, crm.Booking{ResourceIDs: []int64{room.ID}, StartAt: start, EndAt: start.Add(time.Hour), AssignedByID: e.admin.UserID}); err != nil {
			t.Fatal(err)
		}
		p = b.post("/admin/resources/"+id+"/delete", nil)
		if msg := errorOf(p); p.Status != http.StatusUnprocessableEntity || msg != `у ресурса "Проектор" есть бронирования (1); отключите его вместо удаления` {
			t.Errorf("delete a booked resource: %d %q", p.Status, msg)
		}
		if _, err := s.GetResource(ctx, room.ID); err != nil {
			t.Errorf("the booked resource is gone: %v", err)
		}
		spare, err := s.CreateResource(ctx, e.admin, crm.Resource{Kind: "person", Name: "Логопед", Active: true})
		if err != nil {
			t.Fatal(err)
		}
		if p := b.post("/admin/resources/"+strconv.FormatInt(spare.ID, 10)+"/delete", nil); p.Status != http.StatusSeeOther || p.Location != "/admin/resources?flash=res.deleted" {
			t.Errorf("delete: %d %q", p.Status, p.Location)
		}
		if _, err := s.GetResource(ctx, spare.ID); err == nil {
			t.Error("the deleted resource is still there")
		}
		if p := b.post("/admin/resources/424242/save", url.Values{"kind": {"room"}, "name": {"X"}}); p.Status != http.StatusNotFound {
			t.Errorf("save a missing resource: %d", p.Status)
		}

		if _, err := s.CreateUser(ctx, e.admin, crm.User{Login: "anna", FirstName: "Анна", Role: crm.RoleManager, Active: true}, "manager-password"); err != nil {
			t.Fatal(err)
		}
		m := e.browser()
		if p := m.login(url.Values{"login": {"anna"}, "password": {"manager-password"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("manager sign in: %d", p.Status)
		}
		m.get("/")
		if p := m.get("/admin/resources"); p.Status != http.StatusForbidden {
			t.Errorf("a manager opens the resources page: %d", p.Status)
		}
		if p := m.post("/admin/resources", url.Values{"kind": {"room"}, "name": {"Чужой"}}); p.Status != http.StatusForbidden {
			t.Errorf("a manager adds a resource: %d", p.Status)
		}
	})
}
