package telegram_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/telegram"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

const hookSecret = "s3cret-Token_of-the_hook"

type env struct {
	t     *testing.T
	d     *db.DB
	s     *store.Store
	admin crm.Actor
	bot   *fakeBot
	svc   *telegram.Service
	conn  connection.Connection
	hook  *httptest.Server
	now   time.Time
}

func newEnv(t *testing.T, d *db.DB, polling bool) *env {
	t.Helper()
	e := &env{t: t, d: d, s: store.New(d), bot: newFakeBot(t), now: time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC)}
	e.admin = storetest.Admin(t, e.s)
	box, err := secret.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	reg := connection.NewRegistry(nil)
	if err := telegram.Register(reg, e.bot.srv.Client()); err != nil {
		t.Fatal(err)
	}
	conns := connection.NewStore(d, box, reg)
	e.conn, err = conns.Create(context.Background(), e.admin.UserID, connection.Input{Type: telegram.Type, Name: "Бот магазина",
		Settings: map[string]any{"bot_token": e.bot.token, "webhook_secret": hookSecret, "api_url": e.bot.srv.URL, "polling": polling}})
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = telegram.New(telegram.Deps{Store: e.s, Conns: conns, DB: d, HTTP: e.bot.srv.Client(), Now: func() time.Time { return e.now },
		Instance: "test-a"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.svc.Register(mux)
	e.hook = httptest.NewServer(mux)
	t.Cleanup(e.hook.Close)
	return e
}

// post delivers an update to the webhook as Telegram does.
func (e *env) post(update map[string]any, secretToken string) (int, telegram.Result) {
	e.t.Helper()
	b, _ := json.Marshal(update)
	req, _ := http.NewRequest(http.MethodPost, e.hook.URL+telegram.HookPrefix+strconv.FormatInt(e.conn.ID, 10), bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if secretToken != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secretToken)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var r telegram.Result
	body, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(body, &r)
	return res.StatusCode, r
}

func (e *env) messages(ownerType string, ownerID int64) []crm.Message {
	e.t.Helper()
	p := store.ListParams{Sort: "created_at"}
	if ownerType != "" {
		p.Filters = []store.Filter{{Field: "owner_type", Op: "eq", Value: ownerType}, {Field: "owner_id", Op: "eq", Value: strconv.FormatInt(ownerID, 10)}}
	}
	ms, _, err := e.s.ListMessages(context.Background(), p)
	if err != nil {
		e.t.Fatal(err)
	}
	return ms
}

func TestWebhookRefusesWrongSecret(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, false)
		for _, tok := range []string{"", "wrong", hookSecret + "x"} {
			code, _ := e.post(privateUpdate(1, 10, 555, "ivan", "Иван", "Здравствуйте"), tok)
			if code != http.StatusUnauthorized {
				t.Errorf("secret %q: HTTP %d, want 401", tok, code)
			}
		}
		if ms := e.messages("", 0); len(ms) != 0 {
			t.Fatalf("stored %d messages from refused requests", len(ms))
		}
		if ls, _, _ := e.s.ListLeads(context.Background(), store.ListParams{}); len(ls) != 0 {
			t.Fatalf("made %d leads from refused requests", len(ls))
		}
		j, err := connection.ReadJournal(context.Background(), e.d, e.conn.ID, 10)
		if err != nil || len(j) != 3 || j[0].Outcome != telegram.OutcomeRefused || !strings.Contains(j[0].Error, "does not match") ||
			!strings.Contains(j[2].Error, "missing") {
			t.Fatalf("journal: %+v %v", j, err)
		}
		// Another connection's id: no such webhook.
		req, _ := http.NewRequest(http.MethodPost, e.hook.URL+telegram.HookPrefix+"999", strings.NewReader("{}"))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hookSecret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown connection: HTTP %d", res.StatusCode)
		}
	})
}

func TestNewChatBecomesLead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, false)
		ctx := context.Background()
		code, r := e.post(privateUpdate(1, 10, 555, "ivan_petrov", "Иван", "Здравствуйте! Сколько стоят визитки?"), hookSecret)
		if code != http.StatusOK || r.Outcome != telegram.OutcomeStored || !r.NewLead || r.OwnerType != "lead" {
			t.Fatalf("HTTP %d %+v", code, r)
		}
		lead, err := e.s.GetLead(ctx, r.OwnerID)
		if err != nil {
			t.Fatal(err)
		}
		if lead.Name != "Иван" || lead.ExternalIDs["telegram"] != "555" || len(lead.IMs) != 1 || lead.IMs[0].Value != "@ivan_petrov" ||
			lead.IMs[0].ValueType != "TELEGRAM" || lead.AssignedByID != e.admin.UserID {
			t.Fatalf("lead: %+v", lead)
		}
		// Telegram retries a webhook it got no 2xx for: stored once.
		code, again := e.post(privateUpdate(1, 10, 555, "ivan_petrov", "Иван", "Здравствуйте! Сколько стоят визитки?"), hookSecret)
		if code != http.StatusOK || again.Outcome != telegram.OutcomeDuplicate || again.MessageID != r.MessageID {
			t.Fatalf("retried update: HTTP %d %+v", code, again)
		}
		// The next message of the chat goes to the same lead; a photo
		// with a caption keeps the file.
		photo := privateUpdate(2, 11, 555, "ivan_petrov", "Иван", "")
		msg := photo["message"].(map[string]any)
		msg["caption"] = "Вот макет"
		msg["photo"] = []map[string]any{{"file_id": "small", "width": 90, "height": 90}, {"file_id": "big", "width": 1280, "height": 1280, "file_size": 2048}}
		if code, r2 := e.post(photo, hookSecret); code != http.StatusOK || r2.NewLead || r2.OwnerID != r.OwnerID {
			t.Fatalf("second message: HTTP %d %+v", code, r2)
		}
		ms := e.messages("lead", lead.ID)
		if len(ms) != 2 || ms[0].Text != "Здравствуйте! Сколько стоят визитки?" || ms[0].Status != crm.MessageReceived || ms[0].Handle != "@ivan_petrov" ||
			ms[0].Author != "Иван" || ms[1].Text != "Вот макет" || len(ms[1].Attachments) != 1 || ms[1].Attachments[0].FileID != "big" {
			t.Fatalf("messages: %+v", ms)
		}
		if ls, _, _ := e.s.ListLeads(ctx, store.ListParams{}); len(ls) != 1 {
			t.Fatalf("%d leads, want 1", len(ls))
		}
		// A group's message is not a client's.
		group := privateUpdate(3, 12, 777, "g", "G", "всем привет")
		group["message"].(map[string]any)["chat"] = map[string]any{"id": -100, "type": "group", "title": "Чат"}
		if code, r3 := e.post(group, hookSecret); code != http.StatusOK || r3.Outcome != telegram.OutcomeIgnored {
			t.Fatalf("group: HTTP %d %+v", code, r3)
		}
		// A malformed body: 400, journalled, nothing stored.
		req, _ := http.NewRequest(http.MethodPost, e.hook.URL+telegram.HookPrefix+strconv.FormatInt(e.conn.ID, 10), strings.NewReader("{"))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hookSecret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("malformed: HTTP %d", res.StatusCode)
		}
	})
}

func TestKnownClientAttaches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, false)
		ctx := context.Background()
		byID, err := e.s.CreateContact(ctx, e.admin, crm.Contact{Name: "Мария", Extra: crm.Extra{ExternalIDs: map[string]string{"telegram": "901"}}})
		if err != nil {
			t.Fatal(err)
		}
		byPhone, err := e.s.CreateContact(ctx, e.admin, crm.Contact{Name: "Пётр", Comms: crm.Comms{Phones: []crm.Comm{{Value: "8 (925) 642-42-90"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if code, r := e.post(privateUpdate(1, 1, 901, "", "Мария", "Добрый день"), hookSecret); code != http.StatusOK || r.NewLead ||
			r.OwnerType != "contact" || r.OwnerID != byID.ID {
			t.Fatalf("by Telegram id: HTTP %d %+v", code, r)
		}
		// The contact button shares the client's own phone.
		u := privateUpdate(2, 1, 902, "petr", "Пётр", "")
		u["message"].(map[string]any)["contact"] = map[string]any{"phone_number": "+79256424290", "first_name": "Пётр", "user_id": 902}
		code, r := e.post(u, hookSecret)
		if code != http.StatusOK || r.NewLead || r.OwnerType != "contact" || r.OwnerID != byPhone.ID {
			t.Fatalf("by shared phone: HTTP %d %+v", code, r)
		}
		c, err := e.s.GetContact(ctx, byPhone.ID)
		if err != nil || c.ExternalIDs["telegram"] != "902" {
			t.Fatalf("the contact learns the Telegram id: %+v %v", c.ExternalIDs, err)
		}
		ms := e.messages("contact", byPhone.ID)
		if len(ms) != 1 || !strings.Contains(ms[0].Text, "+79256424290") {
			t.Fatalf("shared phone message: %+v", ms)
		}
	})
}

func TestReplyFromCard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, false)
		ctx := context.Background()
		_, r := e.post(privateUpdate(1, 10, 555, "ivan", "Иван", "Здравствуйте"), hookSecret)
		m, err := e.svc.Send(ctx, e.admin, telegram.Reply{OwnerType: "lead", OwnerID: r.OwnerID, Text: "Добрый день! Визитки от 500 ₽.",
			Attachments: []crm.Attachment{{Name: "price.pdf", URL: "https://example.ru/price.pdf"}}})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != crm.MessageSent || m.ExternalID == "" || m.SentAt == nil || m.Direction != "out" || m.ChatID != "555" || m.CreatedByID != e.admin.UserID {
			t.Fatalf("sent: %+v", m)
		}
		sent := e.bot.sentMessages()
		if len(sent) != 2 || sent[0].ChatID != "555" || sent[0].Text != "Добрый день! Визитки от 500 ₽." || sent[1].Method != "sendDocument" ||
			sent[1].Document != "https://example.ru/price.pdf" {
			t.Fatalf("bot got: %+v", sent)
		}
		// A record no chat is known for.
		other, _ := e.s.CreateLead(ctx, e.admin, crm.Lead{Title: "Без Telegram"})
		if _, err := e.svc.Send(ctx, e.admin, telegram.Reply{OwnerType: "lead", OwnerID: other.ID, Text: "x"}); !errors.Is(err, telegram.ErrNoChat) {
			t.Fatalf("no chat: %v", err)
		}
		// Blocked by the user: failed, in Russian, not retried.
		e.bot.mu.Lock()
		e.bot.blocked["555"] = true
		e.bot.mu.Unlock()
		m, err = e.svc.Send(ctx, e.admin, telegram.Reply{OwnerType: "lead", OwnerID: r.OwnerID, Text: "Вы здесь?"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != crm.MessageFailed || m.ErrorCode != "403" || !strings.Contains(m.Error, "заблокировал бота") {
			t.Fatalf("blocked: %+v", m)
		}
		// A file the client sent is fetched through getFile.
		e.bot.mu.Lock()
		e.bot.files["documents/doc1"] = "%PDF-1.4 макет"
		e.bot.mu.Unlock()
		doc := privateUpdate(2, 11, 555, "ivan", "Иван", "")
		doc["message"].(map[string]any)["document"] = map[string]any{"file_id": "doc1", "file_name": "макет.pdf", "mime_type": "application/pdf", "file_size": 17}
		_, r2 := e.post(doc, hookSecret)
		in, err := e.s.GetMessage(ctx, r2.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		rc, a, err := e.svc.File(ctx, in, 0)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		if string(body) != "%PDF-1.4 макет" || a.Name != "макет.pdf" {
			t.Fatalf("file: %q %+v", body, a)
		}
	})
}

// TestSendAtMostOnce: a send whose answer never came is not sent again
// when the job retries; a 429 waits for retry_after, then goes once.
func TestSendAtMostOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, false)
		ctx := context.Background()
		_, r := e.post(privateUpdate(1, 10, 555, "ivan", "Иван", "Здравствуйте"), hookSecret)

		e.bot.mu.Lock()
		e.bot.hang = true
		e.bot.mu.Unlock()
		m, err := e.svc.Send(ctx, e.admin, telegram.Reply{OwnerType: "lead", OwnerID: r.OwnerID, Text: "Первый ответ"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != crm.MessageUnknown || !strings.Contains(m.Error, "неизвестно") {
			t.Fatalf("lost answer: %+v", m)
		}
		// The job retries; so does the sweep: nothing is sent again.
		for i := 0; i < 2; i++ {
			if err := e.svc.Deliver(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.bot.count("sendMessage"); n != 1 {
			t.Fatalf("sendMessage called %d times, want 1", n)
		}

		// 429: queued again with its retry time and the wait in Russian.
		e.bot.failNext("sendMessage", failure{Code: 429, Description: "Too Many Requests: retry after 7", RetryAfter: 7})
		m, err = e.svc.Send(ctx, e.admin, telegram.Reply{OwnerType: "lead", OwnerID: r.OwnerID, Text: "Второй ответ"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != crm.MessageQueued || m.ErrorCode != "429" || !strings.Contains(m.Error, "через 7 с") || m.RetryAt == nil ||
			!m.RetryAt.Equal(e.now.Add(7*time.Second)) {
			t.Fatalf("429: %+v", m)
		}
		// Not yet due: the sweep leaves it.
		if _, err := e.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.bot.count("sendMessage"); n != 2 {
			t.Fatalf("sent before retry_after: %d calls", n)
		}
		e.now = e.now.Add(8 * time.Second)
		if _, err := e.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := e.s.GetMessage(ctx, m.ID)
		if err != nil || got.Status != crm.MessageSent || got.Error != "" || got.RetryAt != nil {
			t.Fatalf("after retry: %+v %v", got, err)
		}
		if n := e.bot.count("sendMessage"); n != 3 {
			t.Fatalf("sendMessage called %d times, want 3", n)
		}
		// A wrong token: 401 in Russian.
		e.bot.failNext("sendMessage", failure{Code: 401, Description: "Unauthorized"})
		m, _ = e.svc.Send(ctx, e.admin, telegram.Reply{OwnerType: "lead", OwnerID: r.OwnerID, Text: "Третий"})
		if m.Status != crm.MessageFailed || !strings.Contains(m.Error, "токен") {
			t.Fatalf("401: %+v", m)
		}
	})
}

// TestPollingExactlyOnce: two instances poll one bot; each update is
// stored once and the offset survives in the database.
func TestPollingExactlyOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, true)
		ctx := context.Background()
		e.bot.mu.Lock()
		e.bot.updates = []map[string]any{privateUpdate(500, 1, 555, "ivan", "Иван", "Раз"), privateUpdate(501, 2, 555, "ivan", "Иван", "Два")}
		for _, u := range e.bot.updates {
			u["update_id"] = u["update_id"].(int64)
		}
		e.bot.mu.Unlock()
		n, ok, err := e.svc.Poll(ctx, e.conn.ID, 0)
		if err != nil || !ok || n != 2 {
			t.Fatalf("poll: %d %v %v", n, ok, err)
		}
		// A second instance while the first holds the lease: nothing.
		other, err := telegram.New(telegram.Deps{Store: e.s, Conns: connsOf(t, e), DB: d, HTTP: e.bot.srv.Client(), Now: func() time.Time { return e.now }, Instance: "test-b"})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := other.Poll(ctx, e.conn.ID, 0); ok || err != nil {
			t.Fatalf("second instance polled: %v %v", ok, err)
		}
		// The first polls again: the offset moved past both updates.
		if n, _, err := e.svc.Poll(ctx, e.conn.ID, 0); err != nil || n != 0 {
			t.Fatalf("poll again: %d %v", n, err)
		}
		// The lease runs out; the second instance takes over from the
		// stored offset and stores nothing twice.
		e.now = e.now.Add(2 * time.Minute)
		if n, ok, err := other.Poll(ctx, e.conn.ID, 0); err != nil || !ok || n != 0 {
			t.Fatalf("take over: %d %v %v", n, ok, err)
		}
		if ms := e.messages("", 0); len(ms) != 2 || ms[0].Text != "Раз" || ms[1].Text != "Два" || ms[0].OwnerID != ms[1].OwnerID {
			t.Fatalf("messages: %+v", ms)
		}
	})
}

func connsOf(t *testing.T, e *env) *connection.Store {
	box, err := secret.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	reg := connection.NewRegistry(nil)
	if err := telegram.Register(reg, e.bot.srv.Client()); err != nil {
		t.Fatal(err)
	}
	return connection.NewStore(e.d, box, reg)
}

// A polling bot whose long poll does not return holds up neither the
// outbox: a queued reply is sent by the background loop while the poll
// waits (the loop polled each bot in turn before, and sent nothing
// behind a poll).
func TestPollDoesNotHoldOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, true)
		ctx := context.Background()
		hold := make(chan struct{})
		e.bot.mu.Lock()
		e.bot.hold = hold
		e.bot.mu.Unlock()
		e.svc.Start(ctx)
		t.Cleanup(func() {
			close(hold)
			e.svc.Stop()
		})
		calls := func(method string) int {
			e.bot.mu.Lock()
			defer e.bot.mu.Unlock()
			return e.bot.calls[method]
		}
		deadline := time.Now().Add(2 * time.Minute)
		for calls("getUpdates") == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the bot was never polled")
			}
			time.Sleep(20 * time.Millisecond)
		}
		m, err := e.s.CreateMessage(ctx, e.admin, crm.Message{Channel: crm.ChannelTelegram, Direction: crm.DirectionOut,
			ConnectionID: e.conn.ID, ChatID: "555", Text: "Ответ, пока бот ждёт обновлений", Status: crm.MessageQueued})
		if err != nil {
			t.Fatal(err)
		}
		for {
			var sent bool
			for _, s := range e.bot.sentMessages() {
				sent = sent || s.Text == m.Text
			}
			if sent {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the queued reply was not sent while a poll waited (getUpdates calls %d)", calls("getUpdates"))
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
