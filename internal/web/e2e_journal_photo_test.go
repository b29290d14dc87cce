package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/telegram"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// A connection's page shows its journal, newest first, 50 entries at a
// time: the time, a level mark, the event, the text (an error's, long
// ones wrapped) and a link to the record an entry made; "Более ранние"
// pages back. It fits a phone and a desktop without a horizontal scroll.
func TestBrowserConnectionJournal(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, storetest.OpenAny(t))
	conn, err := e.app.Connections.Create(ctx, e.admin.UserID, connection.Input{Type: telegram.Type, Name: "Бот магазина",
		Settings: map[string]any{"bot_token": "123456:AAH-journal_test_token_thirty_five", "webhook_secret": "hook-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.app.Store.CreateMessage(ctx, e.admin, crm.Message{Channel: "telegram", Direction: "in", ChatID: "901", Text: "Здравствуйте"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for i := 1; i <= 60; i++ {
		je := connection.JournalEntry{Ref: strconv.Itoa(1000 + i), Outcome: "stored", RecordID: m.ID}
		switch {
		case i == 60:
			je = connection.JournalEntry{Ref: "", Outcome: "refused", Error: "неверный секрет в заголовке X-Telegram-Bot-Api-Secret-Token: запрос отклонён, " +
				"проверьте, что вебхук установлен этим подключением (очень_длинный_текст_без_пробелов_" + strings.Repeat("x", 80) + ")"}
		case i%7 == 0:
			je.Outcome, je.RecordID = "duplicate", 0
		}
		if err := connection.WriteJournal(ctx, e.app.DB, conn.ID, at.Add(time.Duration(i)*time.Minute), je); err != nil {
			t.Fatal(err)
		}
	}
	page := e.srv.URL + "/admin/connections/" + strconv.FormatInt(conn.ID, 10)
	bs := newBrowserSession(t, e)
	for _, vp := range []struct {
		name string
		w, h int64
	}{{"390", 390, 900}, {"1280", 1280, 900}} {
		bs.run("journal "+vp.name, chromedp.EmulateViewport(vp.w, vp.h), chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`#journal-rows`)))
		if n := bs.eval(`String(document.querySelectorAll("#journal-rows tbody tr").length)`); n != "50" {
			t.Errorf("%s: %s entries shown, want 50", vp.name, n)
		}
		first := bs.eval(`document.querySelector("#journal-rows tbody tr").innerText`)
		if !strings.Contains(first, "Ошибка") || !strings.Contains(first, "неверный секрет") {
			t.Errorf("%s: the newest entry: %q", vp.name, first)
		}
		second := bs.eval(`document.querySelectorAll("#journal-rows tbody tr")[1].innerText`)
		if !strings.Contains(second, "Принято") || !strings.Contains(second, "1059") || !strings.Contains(second, "№ "+strconv.FormatInt(m.ID, 10)) {
			t.Errorf("%s: the second entry: %q", vp.name, second)
		}
		if href := bs.eval(`document.querySelectorAll("#journal-rows tbody tr")[1].querySelector("a").getAttribute("href")`); href != fmt.Sprintf("/e/message/%d", m.ID) {
			t.Errorf("%s: the record link: %q", vp.name, href)
		}
		bs.noHorizontalScroll("the connection's journal at " + vp.name)
		bs.labelled("the connection's page at " + vp.name)
		bs.run("screenshot", chromedp.ScrollIntoView(chromedp.CSS(`#connection-journal`)), shot(bs.dir, "connection-journal-"+vp.name))
	}
	bs.run("older", chromedp.Click(chromedp.CSS(`#journal-older`)), chromedp.WaitVisible(chromedp.CSS(`#journal-newest`)))
	if n := bs.eval(`String(document.querySelectorAll("#journal-rows tbody tr").length)`); n != "10" {
		t.Errorf("the older page: %s entries, want 10", n)
	}
	if got := bs.eval(`document.querySelector("#journal-rows tbody tr:last-child").innerText`); !strings.Contains(got, "1001") {
		t.Errorf("the oldest entry: %q", got)
	}
	if bs.eval(`String(!!document.getElementById("journal-older"))`) != "false" {
		t.Error("a link to older entries past the oldest")
	}
	bs.run("newest", chromedp.Click(chromedp.CSS(`#journal-newest`)), chromedp.WaitVisible(chromedp.CSS(`#journal-older`)))
}

// The photo on a contact's card at phone width: chosen in the card's
// photo menu, uploaded, shown small beside the title; at desk width too.
func TestBrowserCardPhoto(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, storetest.OpenAny(t))
	c, err := e.app.Store.CreateContact(ctx, e.admin, crm.Contact{Name: "Мария", LastName: "Иванова-Длиннофамильная"})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 300, 400))
	for x := range 300 {
		for y := range 400 {
			img.Set(x, y, color.RGBA{uint8(x), 120, uint8(y / 2), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "лицо.png")
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	card := e.srv.URL + "/e/contact/" + strconv.FormatInt(c.ID, 10)
	bs := newBrowserSession(t, e)
	bs.run("card 390", chromedp.EmulateViewport(390, 900), chromedp.Navigate(card), chromedp.WaitVisible(chromedp.CSS(`#photo-menu summary`)),
		chromedp.Click(chromedp.CSS(`#photo-menu summary`)), chromedp.WaitVisible(chromedp.CSS(`#photo-file`)))
	bs.noHorizontalScroll("the photo menu open at 390")
	bs.run("screenshot", shot(bs.dir, "card-photo-menu-390"))
	bs.run("upload", chromedp.SetUploadFiles(chromedp.CSS(`#photo-file`), []string{file}), chromedp.Click(chromedp.CSS(`#photo-upload`)),
		chromedp.WaitVisible(chromedp.CSS(`#photo-img`)))
	bs.run("photo loads", chromedp.Poll[chromedp.Void](`(() => { const i = document.getElementById("photo-img"); return i.complete && i.naturalWidth === 300 })()`))
	if w := bs.eval(`String(document.getElementById("photo-img").getBoundingClientRect().width)`); w != "48" {
		t.Errorf("the photo at 390 is %s px wide, want 48", w)
	}
	if _, data, err := e.app.Store.RecordPhoto(ctx, store.EntityContact, c.ID, true); err != nil || !bytes.Equal(data, b.Bytes()) {
		t.Errorf("kept: %d bytes %v", len(data), err)
	}
	bs.noHorizontalScroll("the card with a photo at 390")
	bs.labelled("the card with a photo at 390")
	bs.run("screenshot", shot(bs.dir, "card-photo-390"))
	bs.run("card 1280", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(card), chromedp.WaitVisible(chromedp.CSS(`#photo-img`)))
	if w := bs.eval(`String(document.getElementById("photo-img").getBoundingClientRect().width)`); w != "64" {
		t.Errorf("the photo at 1280 is %s px wide, want 64", w)
	}
	bs.noHorizontalScroll("the card with a photo at 1280")
	bs.run("screenshot", shot(bs.dir, "card-photo-1280"))
}
