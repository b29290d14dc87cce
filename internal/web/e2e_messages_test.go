package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/telegram"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// A client writes to the shop's Telegram bot; the manager answers from
// the contact's card on a phone, sees the reply delivered in the card's
// "Сообщения" list, then finds both in the "Сообщения" module at desk
// width, filtered by channel.
func TestBrowserTelegramReply(t *testing.T) {
	// The fake Bot API listens on loopback, which the outbound guard
	// refuses unless told.
	e := newEnvWith(t, storetest.OpenAny(t), func(c *config.Config) { c.OutboundAllow = []string{"127.0.0.0/8"} })
	ctx := context.Background()
	const token = "123456:AAH-browser_test_token_thirty_five"
	var mu sync.Mutex
	var sent []string
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p map[string]any
		_ = json.NewDecoder(r.Body).Decode(&p)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/bot"+token+"/sendMessage" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"ok":false,"error_code":404,"description":"Not Found"}`))
			return
		}
		mu.Lock()
		sent = append(sent, p["text"].(string))
		mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": map[string]any{"message_id": 77, "date": time.Now().Unix(),
			"chat": map[string]any{"id": 901, "type": "private"}}})
	}))
	t.Cleanup(bot.Close)
	conn, err := e.app.Connections.Create(ctx, e.admin.UserID, connection.Input{Type: telegram.Type, Name: "Бот магазина",
		Settings: map[string]any{"bot_token": token, "webhook_secret": "hook-secret", "api_url": bot.URL}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.app.Store.CreateContact(ctx, e.admin, crm.Contact{Name: "Мария", LastName: "Иванова",
		Comms: crm.Comms{Webs: []crm.Comm{{Value: "https://vk.com/maria", ValueType: "VK"}}}, Extra: crm.Extra{ExternalIDs: map[string]string{"telegram": "901"}}})
	if err != nil {
		t.Fatal(err)
	}
	update := `{"update_id":1,"message":{"message_id":5,"date":1765000000,"from":{"id":901,"first_name":"Мария"},
		"chat":{"id":901,"type":"private","first_name":"Мария"},"text":"Когда будет готов заказ?"}}`
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+telegram.HookPrefix+strconv.FormatInt(conn.ID, 10), strings.NewReader(update))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "hook-secret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("webhook: HTTP %d", res.StatusCode)
	}

	bs := newBrowserSession(t, e)
	card := e.srv.URL + "/e/contact/" + strconv.FormatInt(c.ID, 10)
	bs.run("the card on a phone", chromedp.EmulateViewport(390, 900), chromedp.Navigate(card), chromedp.WaitVisible(chromedp.CSS(`#reply-text`)))
	if got := bs.eval(`document.getElementById("inline-fields").innerText`); !strings.Contains(got, "https://vk.com/maria") {
		t.Errorf("the card does not show the VK profile: %q", got)
	}
	if got := bs.eval(`document.body.innerText`); !strings.Contains(got, "Когда будет готов заказ?") {
		t.Fatalf("the client's message is not in the card's list")
	}
	// The reply box offers every channel with a connector: the last
	// one the client wrote in by default, Facebook and X on choice.
	if got := bs.eval(`Array.from(document.querySelectorAll("#reply-channel option")).map(o => o.value + "=" + o.textContent).join(";")`); !strings.HasPrefix(got, "=") ||
		!strings.Contains(got, "telegram=Telegram") || !strings.Contains(got, "facebook=Facebook") || !strings.Contains(got, "twitter=Twitter") {
		t.Errorf("the reply box's channels: %q", got)
	}
	bs.run("reply", chromedp.SendKeys(chromedp.CSS(`#reply-text`), "Завтра к 12:00"), chromedp.Click(chromedp.CSS(`#reply-send`)),
		chromedp.WaitVisible(chromedp.CSS(`#reply-text`)))
	// The form posts and the card comes back: wait for the new page
	// (a poll across the navigation loses its page, so it is retried).
	cond := `document.body.innerText.includes("Завтра к 12:00") && document.body.innerText.includes("доставлено")`
	for deadline := time.Now().Add(20 * time.Second); ; {
		ok, err := chromedp.Run(bs.ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reply does not show as delivered: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	bs.noHorizontalScroll("the contact's card with messages")
	bs.labelled("the contact's card with messages")
	bs.run("screenshot", shot(bs.dir, "card-messages-390"))
	mu.Lock()
	if len(sent) != 1 || sent[0] != "Завтра к 12:00" {
		t.Fatalf("the bot sent %q", sent)
	}
	mu.Unlock()

	today := time.Now().UTC().Format(time.DateOnly)
	bs.run("the module at desk width", chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(e.srv.URL+"/e/message?f.channel=telegram&f.sent_at.from="+today+"&f.sent_at.to="+today),
		chromedp.WaitVisible(chromedp.CSS(`main`)))
	list := bs.eval(`document.querySelector("main").innerText`)
	// The period is today: the reply, not the client's message of a
	// year ago.
	for _, want := range []string{"Сообщения", "Завтра к 12:00", "доставлено", "Иванова Мария"} {
		if !strings.Contains(list, want) {
			t.Errorf("the messages list lacks %q: %s", want, list)
		}
	}
	if strings.Contains(list, "Когда будет готов заказ?") {
		t.Errorf("the period filter let an older message through")
	}
	bs.noHorizontalScroll("the messages list")
	bs.run("screenshot", shot(bs.dir, "messages-1280"))
}
