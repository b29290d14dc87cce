package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

// The reply box's file input on a phone: the manager chooses a file in
// the contact's card, sends it with a text through the Telegram bot (the
// fake Bot API gets it as a document), sees it named in the card's
// "Сообщения" list and downloads it from the message's card byte for
// byte.
func TestBrowserReplyFile(t *testing.T) {
	e := newEnvWith(t, storetest.OpenAny(t), func(c *config.Config) { c.OutboundAllow = []string{"127.0.0.0/8"} })
	ctx := context.Background()
	const token = "123456:AAH-browser_file_token_thirty_five"
	var mu sync.Mutex
	var docs []string // "name:content"
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		ok := map[string]any{"ok": true, "result": map[string]any{"message_id": 78, "date": time.Now().Unix(), "chat": map[string]any{"id": 901, "type": "private"}}}
		switch r.URL.Path {
		case "/bot" + token + "/sendDocument":
			f, hdr, err := r.FormFile("document")
			if err != nil || r.FormValue("chat_id") != "901" {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"ok":false,"error_code":400,"description":"Bad Request: there is no document in the request"}`))
				return
			}
			b, _ := io.ReadAll(f)
			mu.Lock()
			docs = append(docs, hdr.Filename+":"+string(b))
			mu.Unlock()
			ok["result"].(map[string]any)["document"] = map[string]any{"file_id": "BQACAgIAAxkBAAIB", "file_unique_id": "AgADB", "file_name": hdr.Filename}
		case "/bot" + token + "/sendMessage":
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"ok":false,"error_code":404,"description":"Not Found"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(ok)
	}))
	t.Cleanup(bot.Close)
	conn, err := e.app.Connections.Create(ctx, e.admin.UserID, connection.Input{Type: telegram.Type, Name: "Бот магазина",
		Settings: map[string]any{"bot_token": token, "webhook_secret": "hook-secret", "api_url": bot.URL}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.app.Store.CreateContact(ctx, e.admin, crm.Contact{Name: "Мария", Extra: crm.Extra{ExternalIDs: map[string]string{"telegram": "901"}}})
	if err != nil {
		t.Fatal(err)
	}
	update := `{"update_id":1,"message":{"message_id":5,"date":1765000000,"from":{"id":901,"first_name":"Мария"},
		"chat":{"id":901,"type":"private","first_name":"Мария"},"text":"Пришлите, пожалуйста, счёт"}}`
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
	const content = "Счёт № 17 от 6 декабря: 12 500 ₽"
	file := filepath.Join(t.TempDir(), "счёт-17.txt")
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}

	bs := newBrowserSession(t, e)
	card := e.srv.URL + "/e/contact/" + strconv.FormatInt(c.ID, 10)
	bs.run("the card on a phone", chromedp.EmulateViewport(390, 900), chromedp.Navigate(card), chromedp.WaitVisible(chromedp.CSS(`#reply-file`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#reply-file`), []string{file}),
		chromedp.SendKeys(chromedp.CSS(`#reply-text`), "Счёт во вложении"), chromedp.Click(chromedp.CSS(`#reply-send`)))
	cond := `document.body.innerText.includes("📎 счёт-17.txt") && document.body.innerText.includes("доставлено")`
	for deadline := time.Now().Add(20 * time.Second); ; {
		ok, err := chromedp.Run(bs.ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the file does not show in the card's list as delivered: %v\n%s", err, bs.eval(`document.body.innerText`))
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	if len(docs) != 1 || docs[0] != "счёт-17.txt:"+content {
		t.Errorf("the bot got %q", docs)
	}
	mu.Unlock()
	bs.noHorizontalScroll("the card with the sent file")
	bs.run("screenshot", shot(bs.dir, "card-reply-file-390"))

	// The message's card lists the file; its link downloads it.
	href := bs.eval(`Array.from(document.querySelectorAll("tr")).find(tr => tr.innerText.includes("📎 счёт-17.txt")).querySelector("a").getAttribute("href")`)
	if !strings.HasPrefix(href, "/e/message/") {
		t.Fatalf("the message's link: %q", href)
	}
	bs.run("the message", chromedp.Navigate(e.srv.URL+href), chromedp.WaitVisible(chromedp.CSS(`#message-files a`)))
	link := bs.eval(`document.querySelector("#message-files a").getAttribute("href")`)
	got, err := chromedp.Run(bs.ctx, chromedp.Evaluate[string](`fetch(`+strconv.Quote(link)+`).then(async r => r.status + " " + r.headers.get("Content-Disposition") + " " + await r.text())`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "200 attachment") || !strings.HasSuffix(got, content) {
		t.Errorf("the download: %q", got)
	}
	bs.noHorizontalScroll("the message's card")
	bs.run("screenshot", shot(bs.dir, "message-file-390"))
}
