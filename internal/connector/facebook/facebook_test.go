package facebook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/connector/facebook"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

const verifyToken = "verify-me-please-42"

type env struct {
	t     *testing.T
	s     *store.Store
	admin crm.Actor
	fb    *fakeGraph
	svc   *facebook.Service
	conns *connection.Store
	conn  connection.Connection
	hook  *httptest.Server
	now   time.Time
}

func newEnv(t *testing.T, d *db.DB, tag string) *env {
	t.Helper()
	e := &env{t: t, s: store.New(d), fb: newFakeGraph(t), now: time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC)}
	e.admin = storetest.Admin(t, e.s)
	box, err := secret.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	reg := connection.NewRegistry(nil)
	if err := facebook.Register(reg, e.fb.srv.Client()); err != nil {
		t.Fatal(err)
	}
	e.conns = connection.NewStore(d, box, reg)
	set := map[string]any{"page_access_token": e.fb.token, "app_secret": e.fb.appSecret, "verify_token": verifyToken,
		"api_url": e.fb.srv.URL}
	if tag != "" {
		set["message_tag"] = tag
	}
	e.conn, err = e.conns.Create(context.Background(), e.admin.UserID, connection.Input{Type: facebook.Type, Name: "Страница", Settings: set})
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = facebook.New(facebook.Deps{Store: e.s, Conns: e.conns, DB: d, HTTP: e.fb.srv.Client(), Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.svc.Register(mux)
	e.hook = httptest.NewServer(mux)
	t.Cleanup(e.hook.Close)
	return e
}

func (e *env) hookURL() string {
	return e.hook.URL + facebook.HookPrefix + strconv.FormatInt(e.conn.ID, 10)
}

// post delivers a webhook body signed with signature ("" none).
func (e *env) post(body []byte, signature string) (int, []facebook.Result) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.hookURL(), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var rs []facebook.Result
	b, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(b, &rs)
	return res.StatusCode, rs
}

// receive delivers one signed text message and returns its result.
func (e *env) receive(psid, mid, text string) facebook.Result {
	e.t.Helper()
	b, _ := json.Marshal(delivery(psid, mid, text, e.now.UnixMilli()))
	code, rs := e.post(b, sign(b, e.fb.appSecret))
	if code != http.StatusOK || len(rs) != 1 {
		e.t.Fatalf("delivery: HTTP %d %+v", code, rs)
	}
	return rs[0]
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

func TestWebhookVerification(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "")
		get := func(mode, token, challenge string) (int, string) {
			q := url.Values{"hub.mode": {mode}, "hub.verify_token": {token}, "hub.challenge": {challenge}}
			res, err := http.Get(e.hookURL() + "?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		if code, body := get("subscribe", verifyToken, "1158201444"); code != http.StatusOK || body != "1158201444" {
			t.Fatalf("verification: HTTP %d %q", code, body)
		}
		for _, tc := range []struct{ mode, token string }{{"subscribe", "wrong"}, {"subscribe", ""}, {"subscribe", verifyToken + "x"}, {"unsubscribe", verifyToken}} {
			if code, body := get(tc.mode, tc.token, "1158201444"); code != http.StatusForbidden || strings.Contains(body, "1158201444") {
				t.Errorf("%+v: HTTP %d %q", tc, code, body)
			}
		}
		j, err := connection.ReadJournal(context.Background(), d, e.conn.ID, 10)
		if err != nil || len(j) != 5 || j[4].Outcome != facebook.OutcomeVerified || j[0].Outcome != facebook.OutcomeRefused ||
			!strings.Contains(j[1].Error, "verify_token") {
			t.Fatalf("journal: %+v %v", j, err)
		}
		// Another connection's id: no such webhook.
		res, err := http.Get(e.hook.URL + facebook.HookPrefix + "999?hub.mode=subscribe&hub.verify_token=" + verifyToken + "&hub.challenge=1")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown connection: HTTP %d", res.StatusCode)
		}
	})
}

func TestWebhookRefusesWrongSignature(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "")
		b, _ := json.Marshal(delivery("2463912233", "m_1", "Здравствуйте", e.now.UnixMilli()))
		tampered := bytes.Replace(b, []byte("Здравствуйте"), []byte("Привет!!!!!!"), 1)
		for name, sig := range map[string]string{"none": "", "other secret": sign(b, "another-app-secret"), "sha1": "sha1=" + strings.Repeat("0", 40),
			"not hex": "sha256=zz", "tampered body": sign(tampered, e.fb.appSecret)} {
			if code, _ := e.post(b, sig); code != http.StatusUnauthorized {
				t.Errorf("%s: HTTP %d, want 401", name, code)
			}
		}
		if ms := e.messages("", 0); len(ms) != 0 {
			t.Fatalf("stored %d messages from refused requests", len(ms))
		}
		if ls, _, _ := e.s.ListLeads(context.Background(), store.ListParams{}); len(ls) != 0 {
			t.Fatalf("made %d leads from refused requests", len(ls))
		}
		j, err := connection.ReadJournal(context.Background(), d, e.conn.ID, 10)
		if err != nil || len(j) != 5 {
			t.Fatalf("journal: %+v %v", j, err)
		}
		for _, en := range j {
			if en.Outcome != facebook.OutcomeRefused || !strings.Contains(en.Error, "X-Hub-Signature-256") {
				t.Fatalf("journal entry: %+v", en)
			}
		}
	})
}

func TestIncomingMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "")
		ctx := context.Background()
		e.fb.profiles["2463912233"] = [2]string{"Иван", "Петров"}
		r := e.receive("2463912233", "m_AAA1", "Здравствуйте! Сколько стоят визитки?")
		if r.Outcome != facebook.OutcomeStored || !r.NewLead || r.OwnerType != "lead" {
			t.Fatalf("first message: %+v", r)
		}
		lead, err := e.s.GetLead(ctx, r.OwnerID)
		if err != nil || lead.ExternalIDs[facebook.System] != "2463912233" || lead.AssignedByID != e.admin.UserID ||
			lead.Name != "Иван" || lead.LastName != "Петров" || !strings.Contains(lead.Title, "Иван Петров") {
			t.Fatalf("lead: %+v %v", lead, err)
		}
		// A person whose profile Meta does not give: the lead is named
		// by the PSID, the message stored all the same.
		if r0 := e.receive("31415926", "m_X1", "Добрый вечер"); !r0.NewLead {
			t.Fatalf("no profile: %+v", r0)
		} else if l, _ := e.s.GetLead(ctx, r0.OwnerID); !strings.Contains(l.Title, "31415926") || l.Name != "" {
			t.Fatalf("lead without a profile: %+v", l)
		}
		// Meta delivers again what got no 200: stored once.
		if again := e.receive("2463912233", "m_AAA1", "Здравствуйте! Сколько стоят визитки?"); again.Outcome != facebook.OutcomeDuplicate ||
			again.MessageID != r.MessageID {
			t.Fatalf("repeated delivery: %+v", again)
		}
		if r2 := e.receive("2463912233", "m_AAA2", "И ещё вопрос"); r2.NewLead || r2.OwnerID != r.OwnerID {
			t.Fatalf("second message: %+v", r2)
		}
		ms := e.messages("lead", lead.ID)
		if len(ms) != 2 || ms[0].Direction != crm.DirectionIn || ms[0].ChatID != "2463912233" || ms[0].ExternalID != "m_AAA1" || ms[0].Author != "Иван Петров" ||
			ms[0].Status != crm.MessageReceived || ms[0].SentAt == nil || !ms[0].SentAt.Equal(e.now) || ms[1].Author != "Иван Петров" {
			t.Fatalf("messages: %+v", ms)
		}
		// A contact known by the PSID gets the person's messages.
		c, err := e.s.CreateContact(ctx, e.admin, crm.Contact{Name: "Мария", Extra: crm.Extra{ExternalIDs: map[string]string{facebook.System: "777"}}})
		if err != nil {
			t.Fatal(err)
		}
		if r3 := e.receive("777", "m_BBB1", "Добрый день"); r3.NewLead || r3.OwnerType != "contact" || r3.OwnerID != c.ID {
			t.Fatalf("known contact: %+v", r3)
		}
		// The Page's own messages (echoes) and read receipts are not
		// clients' messages; a batch is stored whole.
		batch := map[string]any{"object": "page", "entry": []any{map[string]any{"id": "104857600", "time": 1, "messaging": []any{
			map[string]any{"sender": map[string]any{"id": "104857600"}, "recipient": map[string]any{"id": "777"}, "timestamp": 1,
				"message": map[string]any{"mid": "m_echo", "text": "ответ со страницы", "is_echo": true}},
			map[string]any{"sender": map[string]any{"id": "777"}, "recipient": map[string]any{"id": "104857600"}, "timestamp": 1,
				"read": map[string]any{"watermark": 1}},
			map[string]any{"sender": map[string]any{"id": "777"}, "recipient": map[string]any{"id": "104857600"}, "timestamp": 1,
				"message": map[string]any{"mid": "m_BBB2", "attachments": []any{map[string]any{"type": "image",
					"payload": map[string]any{"url": "https://scontent.xx.fbcdn.net/v/photo.jpg"}}}}}}}}}
		b, _ := json.Marshal(batch)
		code, rs := e.post(b, sign(b, e.fb.appSecret))
		if code != http.StatusOK || len(rs) != 2 || rs[0].Outcome != facebook.OutcomeIgnored || rs[1].Outcome != facebook.OutcomeStored {
			t.Fatalf("batch: HTTP %d %+v", code, rs)
		}
		cm := e.messages("contact", c.ID)
		if len(cm) != 2 || len(cm[1].Attachments) != 1 || cm[1].Attachments[0].URL != "https://scontent.xx.fbcdn.net/v/photo.jpg" {
			t.Fatalf("contact's messages: %+v", cm)
		}
		// Signed but malformed: 400, journalled, nothing stored.
		for _, bad := range []string{`{`, `{"object":"user","entry":[]}`, `{"object":"page","entry":[{"messaging":[{"sender":{},"message":{"mid":"x"}}]}]}`} {
			if code, _ := e.post([]byte(bad), sign([]byte(bad), e.fb.appSecret)); code != http.StatusBadRequest {
				t.Errorf("%s: HTTP %d", bad, code)
			}
		}
		if n := len(e.messages("", 0)); n != 5 {
			t.Fatalf("%d messages, want 5", n)
		}
		if ls, _, _ := e.s.ListLeads(ctx, store.ListParams{}); len(ls) != 2 {
			t.Fatalf("%d leads, want 2", len(ls))
		}
		// Only newcomers are looked up: 2463912233 and 31415926 once each.
		if e.fb.lookups != 2 {
			t.Fatalf("%d profile lookups, want 2", e.fb.lookups)
		}
	})
}

func TestSendWithinWindow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "")
		ctx := context.Background()
		r := e.receive("2463912233", "m_1", "Здравствуйте")
		e.now = e.now.Add(23 * time.Hour)
		m, err := e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "lead", OwnerID: r.OwnerID, Text: "Добрый день! Визитки от 500 ₽."})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != crm.MessageSent || !strings.HasPrefix(m.ExternalID, "m_") || m.ChatID != "2463912233" || m.SentAt == nil ||
			m.CreatedByID != e.admin.UserID || m.Channel != crm.ChannelFacebook {
			t.Fatalf("sent: %+v", m)
		}
		sent := e.fb.sentMessages()
		if len(sent) != 1 || sent[0].Page != "me" || sent[0].PSID != "2463912233" || sent[0].MessagingType != "RESPONSE" || sent[0].Tag != "" ||
			sent[0].Text != "Добрый день! Визитки от 500 ₽." {
			t.Fatalf("Meta got: %+v", sent)
		}
		// A retried delivery (a job run twice, a second instance) sends
		// nothing again.
		for range 3 {
			if err := e.svc.Deliver(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := e.svc.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if n := len(e.fb.sentMessages()); n != 1 {
			t.Fatalf("sent %d times", n)
		}
		// A record with no Messenger conversation.
		other, _ := e.s.CreateLead(ctx, e.admin, crm.Lead{Title: "Без Facebook"})
		if _, err := e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "lead", OwnerID: other.ID, Text: "x"}); !errors.Is(err, connector.ErrNoChat) {
			t.Fatalf("no chat: %v", err)
		}
		// Too long for Messenger: refused before Meta is asked.
		m, err = e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "lead", OwnerID: r.OwnerID, Text: strings.Repeat("я", facebook.MaxText+1)})
		if err != nil || m.Status != crm.MessageFailed || m.ErrorCode != "too_long" || !strings.Contains(m.Error, "2001") {
			t.Fatalf("too long: %+v %v", m, err)
		}
		if n := len(e.fb.sentMessages()); n != 1 {
			t.Fatalf("sent %d times", n)
		}
	})
}

func TestSendOutsideWindow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, "")
		r := e.receive("2463912233", "m_1", "Здравствуйте")
		e.now = e.now.Add(25 * time.Hour)
		m, err := e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "lead", OwnerID: r.OwnerID, Text: "Ваш заказ готов"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != crm.MessageFailed || m.ErrorCode != "window" || !strings.Contains(m.Error, "24 часов") {
			t.Fatalf("outside the window: %+v", m)
		}
		if n := len(e.fb.sentMessages()); n != 0 {
			t.Fatalf("Meta was asked %d times", n)
		}
		// The client writes again: the window opens again.
		e.receive("2463912233", "m_2", "Есть новости?")
		if m, _ := e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "lead", OwnerID: r.OwnerID, Text: "Да, готов"}); m.Status != crm.MessageSent {
			t.Fatalf("after the client wrote: %+v", m)
		}
		// Meta's own verdict on the window (its clock, not ours): the
		// same message.
		e.fb.failNext(graphError{Status: 400, Message: "(#10) This message is sent outside of allowed window.", Type: "OAuthException", Code: 10, Subcode: 2018278})
		m, _ = e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "lead", OwnerID: r.OwnerID, Text: "Ещё"})
		if m.Status != crm.MessageFailed || m.ErrorCode != "10/2018278" || !strings.Contains(m.Error, "24 часов") {
			t.Fatalf("Meta's window error: %+v", m)
		}
	})
}

func TestSendWithTag(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		// A connection with a tag sends with it after the window.
		ctx := context.Background()
		e := newEnv(t, d, "POST_PURCHASE_UPDATE")
		r := e.receive("2463912233", "m_1", "Здравствуйте")
		e.now = e.now.Add(72 * time.Hour)
		m, err := e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "lead", OwnerID: r.OwnerID, Text: "Заказ № 42 отправлен"})
		if err != nil || m.Status != crm.MessageSent {
			t.Fatalf("tagged: %+v %v", m, err)
		}
		sent := e.fb.sentMessages()
		if len(sent) != 1 || sent[0].MessagingType != "MESSAGE_TAG" || sent[0].Tag != "POST_PURCHASE_UPDATE" {
			t.Fatalf("Meta got: %+v", sent)
		}
	})
}

func TestSendErrorsInRussian(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, "")
		r := e.receive("2463912233", "m_1", "Здравствуйте")
		for _, tc := range []struct {
			name   string
			err    graphError
			status string
			code   string
			says   string
		}{
			{"token", graphError{400, "Error validating access token: Session has expired", "OAuthException", 190, 463}, crm.MessageFailed, "190/463", "маркер доступа"},
			{"rate", graphError{400, "(#613) Calls to this api have exceeded the rate limit.", "OAuthException", 613, 0}, crm.MessageQueued, "613", "частоту"},
			{"permission", graphError{403, "(#200) Requires pages_messaging permission to manage the object", "OAuthException", 200, 0}, crm.MessageFailed, "200", "App Review"},
			{"unavailable", graphError{400, "(#551) This person isn't available right now.", "OAuthException", 551, 1545041}, crm.MessageFailed, "551/1545041", "недоступен"},
			{"other", graphError{400, "(#100) Invalid parameter", "OAuthException", 100, 0}, crm.MessageFailed, "100", "Invalid parameter"},
		} {
			e.fb.failNext(tc.err)
			m, err := e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "lead", OwnerID: r.OwnerID, Text: tc.name})
			if err != nil {
				t.Fatal(err)
			}
			if m.Status != tc.status || m.ErrorCode != tc.code || !strings.Contains(m.Error, tc.says) {
				t.Errorf("%s: %s %s %q", tc.name, m.Status, m.ErrorCode, m.Error)
			}
			if tc.status == crm.MessageQueued && (m.RetryAt == nil || !m.RetryAt.After(e.now)) {
				t.Errorf("%s: retry at %v", tc.name, m.RetryAt)
			}
		}
		// The rate-limited one goes when its time comes, once.
		e.now = e.now.Add(2 * time.Minute)
		if n, err := e.svc.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if sent := e.fb.sentMessages(); len(sent) != 1 || sent[0].Text != "rate" {
			t.Fatalf("Meta got: %+v", sent)
		}
		// The answer never comes: unknown, never sent again by itself.
		e.fb.mu.Lock()
		e.fb.hang = true
		e.fb.mu.Unlock()
		m, err := e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "lead", OwnerID: r.OwnerID, Text: "Вы здесь?"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != crm.MessageUnknown || !strings.Contains(m.Error, "неизвестно") {
			t.Fatalf("no answer: %+v", m)
		}
		_ = e.svc.Deliver(ctx, m.ID)
		e.now = e.now.Add(time.Hour)
		_, _ = e.svc.Sweep(ctx)
		if n := len(e.fb.sentMessages()); n != 2 {
			t.Fatalf("Meta got %d sends, want 2", n)
		}
	})
}

func TestConnectionCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "")
		typ, _ := e.conns.Registry().Type(facebook.Type)
		_, set, err := e.conns.Open(context.Background(), e.conn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := typ.Check(context.Background(), set); err != nil {
			t.Fatalf("check: %v", err)
		}
		set[facebook.SetToken] = "EAA-revoked"
		err = typ.Check(context.Background(), set)
		var ce *connection.CheckError
		if !errors.As(err, &ce) || ce.Class != connection.ClassCredentials || strings.Contains(err.Error(), "EAA-revoked") {
			t.Fatalf("revoked token: %v", err)
		}
		// The settings are validated: a tag Meta does not know, a short
		// verify token.
		_, err = e.conns.Create(context.Background(), e.admin.UserID, connection.Input{Type: facebook.Type, Name: "x", Settings: map[string]any{
			"page_access_token": "t", "app_secret": "s", "verify_token": "short", "message_tag": "PROMO"}})
		if err == nil || !strings.Contains(err.Error(), "message_tag") && !strings.Contains(err.Error(), "verify_token") {
			t.Fatalf("bad settings: %v", err)
		}
	})
}
