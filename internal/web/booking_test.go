package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// A booking field on a deal's card: empty, it links to the booking page;
// there the user picks resources, start and end, service and users;
// saved, the card shows the booking's summary, and the users' calendars
// have it. A second deal booking the same room at the same time is
// refused with the room and the time named, and keeps no booking.
func TestBookingField(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		s := e.app.Store
		if _, err := s.CreateCustomField(ctx, e.admin, crm.CustomField{Entity: "deal", Code: "UF_CRM_VISIT", Label: "Визит", Type: "booking"}); err != nil {
			t.Fatal(err)
		}
		room, err := s.CreateResource(ctx, e.admin, crm.Resource{Kind: "room", Name: "Кабинет 5", Active: true})
		if err != nil {
			t.Fatal(err)
		}
		anna, err := s.CreateUser(ctx, e.admin, crm.User{Login: "anna", FirstName: "Анна", Role: crm.RoleManager, Active: true}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		deal, err := s.CreateDeal(ctx, e.admin, crm.Deal{Title: "Петров"})
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.CreateDeal(ctx, e.admin, crm.Deal{Title: "Сидоров"})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		card := "/e/deal/" + strconv.FormatInt(deal.ID, 10)
		page := card + "/booking/UF_CRM_VISIT"
		if p := b.get(card); p.Status != http.StatusOK || !strings.Contains(p.Body, `href="`+page+`"`) {
			t.Fatalf("card %d: no link to the booking page", p.Status)
		}
		if p := b.get(page); p.Status != http.StatusOK || !strings.Contains(p.Body, "Кабинет 5 (помещение)") {
			t.Fatalf("booking page %d %s", p.Status, p.Body)
		}
		form := url.Values{"resource": {strconv.FormatInt(room.ID, 10)}, "start_at": {"2026-12-09T11:00"}, "end_at": {"2026-12-09T12:00"},
			"service": {"Осмотр"}, "user": {strconv.FormatInt(anna.ID, 10), strconv.FormatInt(e.admin.UserID, 10)}}
		if p := b.post(page, form); p.Status != http.StatusSeeOther || p.Location != card+"?flash=booking.saved" {
			t.Fatalf("save: %d %s %s", p.Status, p.Location, p.Body)
		}
		got, err := s.GetDeal(ctx, deal.ID)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := strconv.ParseInt(strOfAny(got.Custom["UF_CRM_VISIT"]), 10, 64)
		bk, err := s.GetBooking(ctx, id)
		if err != nil || bk.Entity != "deal" || bk.RecordID != deal.ID || len(bk.Users) != 2 || bk.Service != "Осмотр" {
			t.Fatalf("the deal's booking %+v %v", bk, err)
		}
		p := b.get(card)
		if !strings.Contains(html.UnescapeString(p.Body), "Кабинет 5 · 09.12.2026 11:00–12:00 · Осмотр") {
			t.Fatalf("the card does not show the summary")
		}
		if cal := b.get("/calendar?view=day&date=2026-12-09&user=" + strconv.FormatInt(anna.ID, 10)); !strings.Contains(cal.Body, "11:00 Осмотр") {
			t.Fatalf("anna's day has no booking")
		}

		// Changing it keeps the same booking.
		form.Set("end_at", "2026-12-09T12:30")
		if p := b.post(page, form); p.Status != http.StatusSeeOther {
			t.Fatalf("change: %d %s", p.Status, p.Body)
		}
		if again, _ := s.GetBooking(ctx, id); again.EndAt.Sub(again.StartAt).Minutes() != 90 {
			t.Fatalf("changed %+v", again)
		}

		otherPage := "/e/deal/" + strconv.FormatInt(other.ID, 10) + "/booking/UF_CRM_VISIT"
		form.Set("start_at", "2026-12-09T12:00")
		p = b.post(otherPage, form)
		body := html.UnescapeString(p.Body)
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(body, `Ресурсы: ресурс "Кабинет 5" уже забронирован`) {
			t.Fatalf("overlap: %d %s", p.Status, body)
		}
		if o, _ := s.GetDeal(ctx, other.ID); o.Custom["UF_CRM_VISIT"] != nil {
			t.Fatalf("the refused deal has a booking: %v", o.Custom)
		}
		if p := b.get("/e/deal/" + strconv.FormatInt(other.ID, 10) + "/booking/UF_CRM_NOPE"); p.Status != http.StatusNotFound {
			t.Fatalf("a field that is not a booking field: %d", p.Status)
		}
	})
}

func strOfAny(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case interface{ String() string }:
		return x.String()
	}
	return ""
}
