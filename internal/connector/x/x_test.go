package x_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/connector/x"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

type env struct {
	t     *testing.T
	s     *store.Store
	admin crm.Actor
	x     *fakeX
	svc   *x.Service
	conns *connection.Store
	conn  connection.Connection
	now   time.Time
}

func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
	e := &env{t: t, s: store.New(d), x: newFakeX(t), now: time.Now().UTC().Truncate(time.Second)}
	e.admin = storetest.Admin(t, e.s)
	box, err := secret.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	reg := connection.NewRegistry(nil)
	if err := x.Register(reg, e.x.srv.Client()); err != nil {
		t.Fatal(err)
	}
	e.conns = connection.NewStore(d, box, reg)
	e.conn, err = e.conns.Create(context.Background(), e.admin.UserID, connection.Input{Type: x.Type, Name: "Аккаунт X", Settings: map[string]any{
		"consumer_key": e.x.keys.ConsumerKey, "consumer_secret": e.x.keys.ConsumerSecret, "access_token": e.x.keys.Token,
		"access_token_secret": e.x.keys.TokenSecret, "api_url": e.x.srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = x.New(x.Deps{Store: e.s, Conns: e.conns, HTTP: e.x.srv.Client(), Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// contact makes a contact whose Twitter field is web.
func (e *env) contact(web string) crm.Contact {
	e.t.Helper()
	c := crm.Contact{Name: "Иван"}
	if web != "" {
		c.Webs = []crm.Comm{{Value: web, ValueType: "TWITTER"}}
	}
	c, err := e.s.CreateContact(context.Background(), e.admin, c)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) send(c crm.Contact, text string) crm.Message {
	e.t.Helper()
	m, err := e.svc.Send(context.Background(), e.admin, connector.Reply{OwnerType: "contact", OwnerID: c.ID, Text: text})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func TestPostFromCard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		c := e.contact("https://x.com/ivan_petrov")
		m := e.send(c, "Спасибо за заказ! Визитки готовы.")
		if m.Status != crm.MessageSent || m.ExternalID == "" || m.Handle != "@ivan_petrov" || m.Text != "@ivan_petrov Спасибо за заказ! Визитки готовы." ||
			m.Channel != crm.ChannelTwitter || m.SentAt == nil || m.CreatedByID != e.admin.UserID {
			t.Fatalf("sent: %+v", m)
		}
		if p := e.x.published(); len(p) != 1 || p[0].Text != "@ivan_petrov Спасибо за заказ! Визитки готовы." || p[0].ID != m.ExternalID {
			t.Fatalf("X got: %+v", p)
		}
		// A retried delivery posts nothing again.
		for range 3 {
			if err := e.svc.Deliver(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(e.x.published()); n != 1 {
			t.Fatalf("posted %d times", n)
		}
		// No Twitter field: no post.
		if _, err := e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "contact", OwnerID: e.contact("").ID, Text: "x"}); !errors.Is(err, connector.ErrNoChat) {
			t.Fatalf("no handle: %v", err)
		}
	})
}

func TestPostLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		c := e.contact("@olga")
		// "@olga " is 6; 274 Cyrillic letters make 280: accepted.
		if m := e.send(c, strings.Repeat("ж", 274)); m.Status != crm.MessageSent {
			t.Fatalf("280: %+v", m)
		}
		m := e.send(c, strings.Repeat("ю", 275))
		if m.Status != crm.MessageFailed || m.ErrorCode != "too_long" || !strings.Contains(m.Error, "281") {
			t.Fatalf("281: %+v", m)
		}
		// CJK counts 2: 137 of them with "@olga " are 280; 138 are 282.
		if m := e.send(c, strings.Repeat("字", 138)); m.Status != crm.MessageFailed || !strings.Contains(m.Error, "282") {
			t.Fatalf("CJK: %+v", m)
		}
		// A long link counts 23.
		if m := e.send(c, strings.Repeat("д", 250)+" https://example.ru/"+strings.Repeat("a", 200)); m.Status != crm.MessageSent {
			t.Fatalf("link: %+v", m)
		}
		if n := len(e.x.published()); n != 2 {
			t.Fatalf("X got %d posts, want 2", n)
		}
	})
}

func TestPostErrorsInRussian(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		c := e.contact("twitter.com/ivan")
		e.send(c, "Добрый день")
		// The same text again: X refuses a duplicate.
		if m := e.send(c, "Добрый день"); m.Status != crm.MessageFailed || m.ErrorCode != "403/duplicate" || !strings.Contains(m.Error, "повтор") {
			t.Fatalf("duplicate: %+v", m)
		}
		reset := e.now.Add(7 * time.Minute)
		e.x.mu.Lock()
		e.x.fail = []failure{
			{Status: 401, Title: "Unauthorized", Detail: "Unauthorized"},
			{Status: 403, Title: "Forbidden", Detail: "You are not permitted to perform this action."},
			{Status: 429, Title: "Too Many Requests", Detail: "Too Many Requests", Reset: reset.Unix()},
		}
		e.x.mu.Unlock()
		m := e.send(c, "первое")
		if m.Status != crm.MessageFailed || m.ErrorCode != "401" || !strings.Contains(m.Error, "ключи") {
			t.Fatalf("401: %+v", m)
		}
		m = e.send(c, "второе")
		if m.Status != crm.MessageFailed || m.ErrorCode != "403" || !strings.Contains(m.Error, "Read and write") {
			t.Fatalf("403: %+v", m)
		}
		m = e.send(c, "третье")
		if m.Status != crm.MessageQueued || m.ErrorCode != "429" || m.RetryAt == nil || !m.RetryAt.Equal(reset) || !strings.Contains(m.Error, "7 мин") {
			t.Fatalf("429: %+v", m)
		}
		// Not before the reset; once after it.
		if n, _ := e.svc.Sweep(ctx); n != 0 {
			t.Fatalf("swept %d before the reset", n)
		}
		e.now = reset.Add(time.Second)
		if n, err := e.svc.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if got, _ := e.s.GetMessage(ctx, m.ID); got.Status != crm.MessageSent {
			t.Fatalf("after the reset: %+v", got)
		}
	})
}

func TestLostAnswer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		c := e.contact("@ivan")
		// Published, the answer lost: found on X, sent, never reposted.
		e.x.mu.Lock()
		e.x.hang = true
		e.x.mu.Unlock()
		m := e.send(c, "Ваш заказ <№ 42> & доставка")
		if m.Status != crm.MessageUnknown || !strings.Contains(m.Error, "проверяем") {
			t.Fatalf("lost answer: %+v", m)
		}
		_ = e.svc.Deliver(ctx, m.ID)
		if _, err := e.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		got, _ := e.s.GetMessage(ctx, m.ID)
		if p := e.x.published(); got.Status != crm.MessageSent || len(p) != 1 || got.ExternalID != p[0].ID {
			t.Fatalf("reconciled: %+v, X has %+v", got, p)
		}
		// Not published, the answer lost: not found, posted once.
		e.x.mu.Lock()
		e.x.hang, e.x.drop = true, true
		e.x.mu.Unlock()
		m = e.send(c, "Второе сообщение")
		if m.Status != crm.MessageUnknown {
			t.Fatalf("lost answer: %+v", m)
		}
		for range 2 {
			if _, err := e.svc.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got, _ = e.s.GetMessage(ctx, m.ID)
		if p := e.x.published(); got.Status != crm.MessageSent || len(p) != 2 || p[1].Text != "@ivan Второе сообщение" {
			t.Fatalf("not published: %+v, X has %+v", got, p)
		}
		// X cannot be asked (the free tier's reads): unknown for good,
		// never reposted.
		e.x.mu.Lock()
		e.x.hang = true
		e.x.readFail = &failure{Status: 403, Title: "Client Forbidden", Detail: "This endpoint requires a paid access tier."}
		e.x.mu.Unlock()
		m = e.send(c, "Третье")
		for range 3 {
			if _, err := e.svc.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got, _ = e.s.GetMessage(ctx, m.ID)
		if got.Status != crm.MessageUnknown || got.ErrorCode != "unknown" || !strings.Contains(got.Error, "неизвестно") || len(e.x.published()) != 3 {
			t.Fatalf("unchecked: %+v", got)
		}
	})
}

func TestConnectionCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		typ, _ := e.conns.Registry().Type(x.Type)
		_, set, err := e.conns.Open(context.Background(), e.conn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := typ.Check(context.Background(), set); err != nil {
			t.Fatalf("check: %v", err)
		}
		set[x.SetTokenSecret] = "revoked"
		var ce *connection.CheckError
		if err := typ.Check(context.Background(), set); !errors.As(err, &ce) || ce.Class != connection.ClassCredentials {
			t.Fatalf("bad keys: %v", err)
		}
	})
}
