package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// A message's files are served to whoever may see the message (its
// record's access rules) and to nobody else; only the files of our
// messages: a link is redirected to, a file a channel keeps is fetched
// from it. The card's VK actions keep the same rules.
func TestMessageFilesAndVKActions(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.app.Store
		anna, err := s.CreateUser(ctx, e.admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateUser(ctx, e.admin, crm.User{Login: "oleg", Role: crm.RoleManager}, "oleg-password-1"); err != nil {
			t.Fatal(err)
		}
		annaActor := crm.Actor{UserID: anna.ID}
		l, err := s.CreateLead(ctx, annaActor, crm.Lead{Title: "Заказ из ВК", Name: "Иван"})
		if err != nil {
			t.Fatal(err)
		}
		kept, err := s.AddMessageFile(ctx, annaActor, "договор.pdf", "application/pdf", []byte("%PDF договор"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.CreateMessage(ctx, annaActor, crm.Message{Channel: crm.ChannelTelegram, Direction: crm.DirectionIn, Text: "Вот счёт",
			OwnerType: store.EntityLead, OwnerID: l.ID, Attachments: []crm.Attachment{{Name: "счёт.pdf", URL: "https://files.example.ru/a.pdf"},
				{Name: "фото.jpg", FileID: "AgACAgIAAxkBAAIB", Size: 2048}, kept}})
		if err != nil {
			t.Fatal(err)
		}
		base := "/e/message/" + strconv.FormatInt(m.ID, 10)
		ab := e.browser()
		if p := ab.login(url.Values{"login": {"anna"}, "password": {"anna-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("anna's sign-in: %d", p.Status)
		}
		card := ab.get(base)
		if card.Status != http.StatusOK || !strings.Contains(card.Body, base+"/files/0") || !strings.Contains(card.Body, "фото.jpg") {
			t.Fatalf("message card: %d", card.Status)
		}
		if p := ab.get(base + "/files/0"); p.Status != http.StatusSeeOther || p.Location != "https://files.example.ru/a.pdf" {
			t.Fatalf("link: %d %q", p.Status, p.Location)
		}
		// The Telegram connection is gone: a clear refusal, not a 500.
		if p := ab.get(base + "/files/1"); p.Status != http.StatusBadGateway || !strings.Contains(p.Body, "Файл не удалось получить") {
			t.Fatalf("kept file without its connection: %d", p.Status)
		}
		if p := ab.get(base + "/files/2"); p.Status != http.StatusOK || p.Body != "%PDF договор" ||
			!strings.Contains(p.Header.Get("Content-Disposition"), "attachment") || p.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("kept file: %d %q %v", p.Status, p.Body, p.Header)
		}
		for _, bad := range []string{"/files/3", "/files/-1", "/files/x"} {
			if p := ab.get(base + bad); p.Status != http.StatusNotFound {
				t.Fatalf("%s: %d", bad, p.Status)
			}
		}
		// The card's VK actions: a lead without a VK page is refused in
		// Russian.
		ab.get("/e/lead/" + strconv.FormatInt(l.ID, 10))
		p := ab.post("/e/lead/"+strconv.FormatInt(l.ID, 10)+"/vk/profile", nil)
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "нет страницы ВКонтакте") {
			t.Fatalf("profile without a VK page: %d", p.Status)
		}

		// Oleg does not see Anna's lead: neither the files nor the actions.
		ob := e.browser()
		if p := ob.login(url.Values{"login": {"oleg"}, "password": {"oleg-password-1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("oleg's sign-in: %d", p.Status)
		}
		ob.get("/")
		for _, path := range []string{base + "/files/0", base + "/files/1", base + "/files/2", base} {
			if p := ob.get(path); p.Status != http.StatusNotFound || strings.Contains(p.Body, "files.example.ru") || strings.Contains(p.Body, "договор") {
				t.Fatalf("oleg GET %s: %d", path, p.Status)
			}
		}
		for _, action := range []string{"/vk/profile", "/vk/history"} {
			if p := ob.post("/e/lead/"+strconv.FormatInt(l.ID, 10)+action, nil); p.Status != http.StatusNotFound {
				t.Fatalf("oleg POST %s: %d", action, p.Status)
			}
		}
	})
}
