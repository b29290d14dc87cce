package vk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/connector/vk"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

const (
	hookSecret   = "Shop_callback_secret_42"
	confirmation = "a1b2c3d4"
)

type env struct {
	t     *testing.T
	d     *db.DB
	s     *store.Store
	admin crm.Actor
	vk    *fakeVK
	svc   *vk.Service
	conns *connection.Store
	conn  connection.Connection
	hook  *httptest.Server
	now   time.Time
}

func newEnv(t *testing.T, d *db.DB, extra map[string]any) *env {
	t.Helper()
	e := &env{t: t, d: d, s: store.New(d), vk: newFakeVK(t), now: time.Now().UTC()}
	e.admin = storetest.Admin(t, e.s)
	box, err := secret.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	reg := connection.NewRegistry(nil)
	if err := vk.Register(reg, nil, e.vk.srv.Client()); err != nil {
		t.Fatal(err)
	}
	e.conns = connection.NewStore(d, box, reg)
	set := map[string]any{"community_token": e.vk.groupToken, "group_id": e.vk.groupID, "confirmation_code": confirmation,
		"secret_key": hookSecret, "api_url": e.vk.srv.URL}
	for k, v := range extra {
		set[k] = v
	}
	e.conn, err = e.conns.Create(context.Background(), e.admin.UserID, connection.Input{Type: vk.Type, Name: "Магазин ВКонтакте", Settings: set})
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = vk.New(vk.Deps{Store: e.s, Conns: e.conns, DB: d, HTTP: e.vk.srv.Client(), Now: func() time.Time { return e.now },
		Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.svc.Register(mux)
	e.hook = httptest.NewServer(mux)
	t.Cleanup(e.hook.Close)
	return e
}

// post delivers a notification to the Callback API address as VK does.
func (e *env) post(ev map[string]any) (int, string) {
	e.t.Helper()
	b, _ := json.Marshal(ev)
	res, err := http.Post(e.hook.URL+vk.HookPrefix+strconv.FormatInt(e.conn.ID, 10), "application/json", bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func (e *env) messages(ownerType string, ownerID int64) []crm.Message {
	e.t.Helper()
	p := store.ListParams{Sort: "created_at", Limit: 500}
	if ownerType != "" {
		p.Filters = []store.Filter{{Field: "owner_type", Op: "eq", Value: ownerType}, {Field: "owner_id", Op: "eq", Value: strconv.FormatInt(ownerID, 10)}}
	}
	ms, _, err := e.s.ListMessages(context.Background(), p)
	if err != nil {
		e.t.Fatal(err)
	}
	return ms
}

// contact makes a contact whose VK field is page.
func (e *env) contact(name, page string) crm.Contact {
	e.t.Helper()
	c := crm.Contact{Name: name}
	if page != "" {
		c.Webs = []crm.Comm{{Value: page, ValueType: "VK"}}
	}
	c, err := e.s.CreateContact(context.Background(), e.admin, c)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// messageNew is a message_new notification of a client's private message.
func messageNew(eventID string, groupID, msgID, from int64, text, secret string) map[string]any {
	return map[string]any{"type": "message_new", "group_id": groupID, "event_id": eventID, "v": "5.199", "secret": secret,
		"object": map[string]any{"message": map[string]any{"id": msgID, "date": 1765000000, "peer_id": from, "from_id": from, "out": 0,
			"text": text, "conversation_message_id": msgID, "attachments": []any{}},
			"client_info": map[string]any{"button_actions": []string{"text"}, "keyboard": true, "lang_id": 0}}}
}

func TestSendIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		c := e.contact("Иван", "https://vk.com/id555")
		ctx := context.Background()
		m, err := e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "contact", OwnerID: c.ID, Text: "Здравствуйте! Заказ готов."})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != crm.MessageSent || m.ChatID != "555" || m.ExternalID == "" || m.Handle != "https://vk.com/id555" {
			t.Fatalf("sent: %+v", m)
		}
		sends := e.vk.sendCalls()
		if len(sends) != 1 || sends[0].RandomID != strconv.Itoa(int(vk.RandomID(m.ID))) || sends[0].Token != e.vk.groupToken {
			t.Fatalf("sends: %+v", sends)
		}
		// Delivering it again (a job retried) sends nothing.
		if err := e.svc.Deliver(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		if n := e.vk.count("messages.send"); n != 1 {
			t.Fatalf("messages.send called %d times after a second Deliver", n)
		}

		// The answer is lost: VK sent it, the connection was cut. The
		// message goes back to the queue; the retry carries the same
		// random_id, and VK does not send it twice.
		e.vk.hang = true
		m2, err := e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "contact", OwnerID: c.ID, Text: "Вы получили счёт?"})
		if err != nil {
			t.Fatal(err)
		}
		if m2.Status != crm.MessageQueued || m2.ErrorCode != "timeout" || !strings.Contains(m2.Error, "повторена") {
			t.Fatalf("after a lost answer: %+v", m2)
		}
		if _, err := e.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.vk.count("messages.send"); n != 2 {
			t.Fatalf("the retry went before its time: %d sends", n)
		}
		e.now = e.now.Add(time.Minute)
		if _, err := e.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		got, _ := e.s.GetMessage(ctx, m2.ID)
		if got.Status != crm.MessageSent || got.Error != "" {
			t.Fatalf("after the retry: %+v", got)
		}
		sends = e.vk.sendCalls()
		if len(sends) != 3 || sends[1].RandomID != sends[2].RandomID {
			t.Fatalf("sends: %+v", sends)
		}
		if n := e.vk.deliveries(555); n != 2 {
			t.Fatalf("VK delivered %d messages, want 2 (one per message)", n)
		}
	})
}

func TestSendErrorsInRussian(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		ctx := context.Background()
		for _, tc := range []struct {
			codes  []int
			status string
			words  string
			sends  int
		}{
			{[]int{5}, crm.MessageFailed, "авторизация не удалась", 1},
			{[]int{6, 6, 6, 6}, crm.MessageQueued, "Слишком много запросов", 4},
			{[]int{6}, crm.MessageSent, "", 2}, // the client's own backoff
			{[]int{9}, crm.MessageFailed, "flood control", 1},
			{[]int{14}, crm.MessageFailed, "капчу", 1},
			{[]int{901}, crm.MessageFailed, "запретил сообщения", 1},
			{[]int{902}, crm.MessageFailed, "запретил сообщения", 1},
			{[]int{100}, crm.MessageFailed, "неверный параметр", 1},
			{[]int{15}, crm.MessageFailed, "Нет доступа", 1},
			{[]int{10}, crm.MessageQueued, "Внутренняя ошибка", 1},
		} {
			c := e.contact("Клиент", "vk.com/id"+strconv.Itoa(700+tc.codes[0]))
			e.vk.failNext("messages.send", tc.codes...)
			before := e.vk.count("messages.send")
			m, err := e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "contact", OwnerID: c.ID, Text: "Добрый день"})
			if err != nil {
				t.Fatal(err)
			}
			if m.Status != tc.status || !strings.Contains(m.Error, tc.words) {
				t.Errorf("error %v: %s %q", tc.codes, m.Status, m.Error)
			}
			if tc.status == crm.MessageFailed && m.ErrorCode != strconv.Itoa(tc.codes[0]) {
				t.Errorf("error %v: code %q", tc.codes, m.ErrorCode)
			}
			if n := e.vk.count("messages.send") - before; n != tc.sends {
				t.Errorf("error %v: %d calls of messages.send, want %d", tc.codes, n, tc.sends)
			}
		}
		// Error 5 marked the connection broken, in Russian.
		got, err := e.conns.Get(ctx, e.conn.ID)
		if err != nil || got.Broken == nil || !strings.Contains(got.Broken.Reason, "ключ") {
			t.Fatalf("connection after error 5: %+v %v", got.Broken, err)
		}
		// A record without a VK page has no conversation.
		c := e.contact("Без ВК", "")
		if _, err := e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "contact", OwnerID: c.ID, Text: "x"}); !errors.Is(err, connector.ErrNoChat) {
			t.Fatalf("no VK page: %v", err)
		}
	})
}

func TestSendKeepsTheRateLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, map[string]any{"user_token": "vk1.a.user-token-of-the-manager", "send_as_user": true})
		c := e.contact("Иван", "https://vk.com/id555")
		for i := 0; i < 7; i++ {
			m, err := e.svc.Send(context.Background(), e.admin, connector.Reply{OwnerType: "contact", OwnerID: c.ID, Text: "Сообщение " + strconv.Itoa(i)})
			if err != nil || m.Status != crm.MessageSent {
				t.Fatalf("send %d: %+v %v", i, m, err)
			}
		}
		for _, s := range e.vk.sendCalls() {
			if s.Token != e.vk.userToken {
				t.Fatalf("sent with %q, want the user's token", s.Token)
			}
		}
		// Seven sends back to back without the limiter make VK refuse at
		// least four; with it, at most a request held up on its way may
		// arrive within a second of three others (the fake counts
		// arrivals, as VK does) — and it is sent again after the backoff.
		if e.vk.tooMany > 1 {
			t.Fatalf("VK answered error 6 %d times: the limiter let more than 3 requests a second through", e.vk.tooMany)
		}
	})
}

func TestImportHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		ctx := context.Background()
		c := e.contact("Иван", "https://vk.com/id555")
		e.vk.addHistory(555, 30, "Вопрос")
		e.vk.addHistory(777, 5, "Чужой")
		n, err := e.svc.ImportHistory(ctx, e.admin, "contact", c.ID)
		if err != nil || n != vk.HistoryLimit {
			t.Fatalf("first import: %d %v", n, err)
		}
		ms := e.messages("contact", c.ID)
		if len(ms) != 20 {
			t.Fatalf("%d messages stored", len(ms))
		}
		// The 20 newest, in the conversation's order.
		if !strings.HasSuffix(ms[0].Text, "1011") || !strings.HasSuffix(ms[19].Text, "1030") || ms[0].Direction != crm.DirectionIn ||
			ms[0].Status != crm.MessageReceived || ms[0].SentAt == nil {
			t.Fatalf("first %q, last %q: %+v", ms[0].Text, ms[19].Text, ms[0])
		}
		n, err = e.svc.ImportHistory(ctx, e.admin, "contact", c.ID)
		if err != nil || n != 10 {
			t.Fatalf("second import: %d %v", n, err)
		}
		n, err = e.svc.ImportHistory(ctx, e.admin, "contact", c.ID)
		if err != nil || n != 0 {
			t.Fatalf("third import: %d %v", n, err)
		}
		// A reply sent from the card is in VK's history as ours: not
		// imported a second time.
		if _, err := e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "contact", OwnerID: c.ID, Text: "Ответ"}); err != nil {
			t.Fatal(err)
		}
		e.vk.addHistory(555, 2, "Новый")
		n, err = e.svc.ImportHistory(ctx, e.admin, "contact", c.ID)
		if err != nil || n != 2 {
			t.Fatalf("import after two new: %d %v", n, err)
		}
		seen := map[string]bool{}
		for _, m := range e.messages("contact", c.ID) {
			if seen[m.ExternalID] {
				t.Fatalf("message %s stored twice", m.ExternalID)
			}
			seen[m.ExternalID] = true
		}
		if len(seen) != 33 {
			t.Fatalf("%d messages, want 33", len(seen))
		}
		// No VK page: a clear refusal.
		other := e.contact("Пётр", "")
		_, err = e.svc.ImportHistory(ctx, e.admin, "contact", other.ID)
		var ue *vk.UserError
		if !errors.As(err, &ue) || !strings.Contains(ue.Text, "нет страницы ВКонтакте") {
			t.Fatalf("no VK page: %v", err)
		}
	})
}

func TestImportProfile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		ctx := context.Background()
		e.vk.addUser(map[string]any{"id": int64(555), "first_name": "Иван", "last_name": "Петров", "screen_name": "ivan.petrov",
			"bdate": "15.3.1990", "city": map[string]any{"id": 1, "title": "Москва"}, "site": "petrov-shop.ru",
			"photo_max_orig": "https://sun9-1.userapi.com/photo.jpg", "can_access_closed": true, "is_closed": false})
		e.vk.addUser(map[string]any{"id": int64(556), "first_name": "Анна", "last_name": "Смирнова", "screen_name": "anna", "bdate": "1.2"})

		// The name typed by hand stays; only the empty fields are filled.
		c := e.contact("Ваня", "vk.com/ivan.petrov")
		filled, err := e.svc.ImportProfile(ctx, e.admin, "contact", c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(filled, ",") != "last_name,birthdate,city,site" {
			t.Fatalf("filled %v", filled)
		}
		got, _ := e.s.GetContact(ctx, c.ID)
		if got.Name != "Ваня" || got.LastName != "Петров" || got.Birthdate != "1990-03-15" || got.Address.City != "Москва" ||
			got.ExternalIDs["vk"] != "555" || len(got.Webs) != 2 || got.Webs[0].Value != "vk.com/ivan.petrov" ||
			got.Webs[1].Value != "https://petrov-shop.ru" {
			t.Fatalf("contact: %+v", got)
		}
		// A second import finds nothing empty.
		if filled, err := e.svc.ImportProfile(ctx, e.admin, "contact", c.ID); err != nil || len(filled) != 0 {
			t.Fatalf("second import: %v %v", filled, err)
		}

		// A lead known by its VK id; VK hides the year of birth.
		l, err := e.s.CreateLead(ctx, e.admin, crm.Lead{Title: "Из ВК", Extra: crm.Extra{ExternalIDs: map[string]string{"vk": "556"}}})
		if err != nil {
			t.Fatal(err)
		}
		filled, err = e.svc.ImportProfile(ctx, e.admin, "lead", l.ID)
		if err != nil || strings.Join(filled, ",") != "name,last_name,vk_url" {
			t.Fatalf("lead: %v %v", filled, err)
		}
		gl, _ := e.s.GetLead(ctx, l.ID)
		if gl.Name != "Анна" || gl.Birthdate != "" || gl.Webs[0].Value != "https://vk.com/anna" {
			t.Fatalf("lead: %+v", gl)
		}

		// The photo: the picture itself, only into a record without one;
		// VK's camera drawing (no photo) is not imported.
		face := photoPNG(t)
		e.vk.addUser(map[string]any{"id": int64(557), "first_name": "Пётр", "screen_name": "petr",
			"photo_max_orig": e.vk.addFile("/files/c857/557.jpg", face)})
		e.vk.addUser(map[string]any{"id": int64(558), "first_name": "Без", "screen_name": "nophoto",
			"photo_max_orig": e.vk.addFile("/images/camera_400.png", face)})
		e.vk.addUser(map[string]any{"id": int64(559), "first_name": "Битое", "screen_name": "broken",
			"photo_max_orig": e.vk.addFile("/files/c857/559.jpg", []byte("<html>not a picture</html>"))})
		p := e.contact("Пётр", "https://vk.com/petr")
		filled, err = e.svc.ImportProfile(ctx, e.admin, "contact", p.ID)
		if err != nil || !strings.Contains(strings.Join(filled, ","), "photo") {
			t.Fatalf("photo: %v %v", filled, err)
		}
		ph, data, err := e.s.RecordPhoto(ctx, store.EntityContact, p.ID, true)
		if err != nil || !bytes.Equal(data, face) || ph.Source != store.PhotoVK || ph.ContentType != "image/png" {
			t.Fatalf("kept photo: %+v %d bytes %v", ph, len(data), err)
		}
		own := photoPNG(t)
		own = append(own[:len(own):len(own)], 0) // another picture
		e.vk.addUser(map[string]any{"id": int64(560), "first_name": "Пётр", "screen_name": "petr2",
			"photo_max_orig": e.vk.srv.URL + "/files/c857/557.jpg"})
		q := e.contact("Пётр", "https://vk.com/petr2")
		if _, _, err := e.s.SetRecordPhoto(ctx, e.admin, store.EntityContact, q.ID, "своё.png", own, store.PhotoUpload, false); err != nil {
			t.Fatal(err)
		}
		if filled, err := e.svc.ImportProfile(ctx, e.admin, "contact", q.ID); err != nil || strings.Contains(strings.Join(filled, ","), "photo") {
			t.Fatalf("over a photo: %v %v", filled, err)
		}
		if _, data, _ := e.s.RecordPhoto(ctx, store.EntityContact, q.ID, true); !bytes.Equal(data, own) {
			t.Fatal("the import replaced the record's own photo")
		}
		for _, page := range []string{"https://vk.com/nophoto", "https://vk.com/broken"} {
			r := e.contact("Некто", page)
			if filled, err := e.svc.ImportProfile(ctx, e.admin, "contact", r.ID); err != nil || strings.Contains(strings.Join(filled, ","), "photo") {
				t.Fatalf("%s: %v %v", page, filled, err)
			}
			if _, _, err := e.s.RecordPhoto(ctx, store.EntityContact, r.ID, false); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("%s: a photo kept: %v", page, err)
			}
		}

		// A new record: refused, in Russian, VK not asked.
		before := e.vk.count("users.get")
		_, err = e.svc.ImportProfile(ctx, e.admin, "contact", 0)
		var ue *vk.UserError
		if !errors.As(err, &ue) || !strings.Contains(ue.Text, "сохранённую запись") || e.vk.count("users.get") != before {
			t.Fatalf("new record: %v", err)
		}
		// A profile VK does not know.
		x := e.contact("Кто-то", "https://vk.com/nosuchperson")
		if _, err := e.svc.ImportProfile(ctx, e.admin, "contact", x.ID); !errors.As(err, &ue) || !strings.Contains(ue.Text, "не найден") {
			t.Fatalf("unknown profile: %v", err)
		}
	})
}

func TestCallback(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		ctx := context.Background()
		e.vk.addUser(map[string]any{"id": int64(555), "first_name": "Иван", "last_name": "Петров", "screen_name": "ivan"})

		// The address's confirmation.
		code, body := e.post(map[string]any{"type": "confirmation", "group_id": e.vk.groupID})
		if code != http.StatusOK || body != confirmation {
			t.Fatalf("confirmation: %d %q", code, body)
		}
		// Another community's confirmation is not answered.
		if code, body := e.post(map[string]any{"type": "confirmation", "group_id": 1}); code != http.StatusForbidden || body == confirmation {
			t.Fatalf("another community: %d %q", code, body)
		}

		// A wrong or missing secret: refused, journalled, nothing stored.
		for _, sec := range []string{"", "wrong", hookSecret + "x"} {
			if code, _ := e.post(messageNew("ev-bad", e.vk.groupID, 9001, 555, "Взлом", sec)); code != http.StatusForbidden {
				t.Fatalf("secret %q: HTTP %d", sec, code)
			}
		}
		if ms := e.messages("", 0); len(ms) != 0 {
			t.Fatalf("stored %d messages from refused notifications", len(ms))
		}
		j, err := connection.ReadJournal(ctx, e.d, e.conn.ID, 10)
		if err != nil || len(j) != 5 || j[0].Outcome != vk.OutcomeRefused || !strings.Contains(j[0].Error, "does not match") ||
			!strings.Contains(j[2].Error, "no secret") || j[4].Outcome != vk.OutcomeConfirmed {
			t.Fatalf("journal: %+v %v", j, err)
		}

		// A client's first message makes a lead with the VK page.
		code, body = e.post(messageNew("ev-1", e.vk.groupID, 9001, 555, "Здравствуйте, есть доставка?", hookSecret))
		if code != http.StatusOK || body != "ok" {
			t.Fatalf("message_new: %d %q", code, body)
		}
		ls, _, _ := e.s.ListLeads(ctx, store.ListParams{})
		if len(ls) != 1 || ls[0].Name != "Иван" || ls[0].ExternalIDs["vk"] != "555" || len(ls[0].Webs) != 1 ||
			ls[0].Webs[0].Value != "https://vk.com/id555" || ls[0].Webs[0].ValueType != "VK" || !strings.Contains(ls[0].Title, "Иван Петров") {
			t.Fatalf("leads: %+v", ls)
		}
		// VK repeats the notification: stored once.
		if code, body := e.post(messageNew("ev-1", e.vk.groupID, 9001, 555, "Здравствуйте, есть доставка?", hookSecret)); code != http.StatusOK || body != "ok" {
			t.Fatalf("repeat: %d %q", code, body)
		}
		e.post(messageNew("ev-2", e.vk.groupID, 9002, 555, "И оплата картой?", hookSecret))
		ms := e.messages("lead", ls[0].ID)
		if len(ms) != 2 || ms[0].Text != "Здравствуйте, есть доставка?" || ms[0].Author != "Иван Петров" || ms[0].ChatID != "555" {
			t.Fatalf("messages: %+v", ms)
		}
		if n := e.vk.count("users.get"); n != 1 {
			t.Fatalf("users.get asked %d times: a known client is not looked up again", n)
		}
		j, _ = connection.ReadJournal(ctx, e.d, e.conn.ID, 3)
		if j[0].Outcome != vk.OutcomeStored || j[1].Outcome != vk.OutcomeDuplicate || j[1].Ref != "ev-1" {
			t.Fatalf("journal: %+v", j)
		}

		// A contact with the client's VK id gets their messages, and its
		// VK field is filled.
		c, err := e.s.CreateContact(ctx, e.admin, crm.Contact{Name: "Анна", Extra: crm.Extra{ExternalIDs: map[string]string{"vk": "556"}}})
		if err != nil {
			t.Fatal(err)
		}
		e.post(messageNew("ev-3", e.vk.groupID, 9100, 556, "Это Анна", hookSecret))
		if ms := e.messages("contact", c.ID); len(ms) != 1 {
			t.Fatalf("contact's messages: %+v", ms)
		}
		gc, _ := e.s.GetContact(ctx, c.ID)
		if len(gc.Webs) != 1 || gc.Webs[0].Value != "https://vk.com/id556" {
			t.Fatalf("contact's VK field: %+v", gc.Webs)
		}
		// Other events are answered ok and stored nowhere.
		if code, body := e.post(map[string]any{"type": "message_typing_state", "group_id": e.vk.groupID, "secret": hookSecret,
			"object": map[string]any{"state": "typing", "from_id": 555}}); code != 200 || body != "ok" {
			t.Fatalf("typing: %d %q", code, body)
		}
		// A malformed notification: a precise error, journalled.
		res, _ := http.Post(e.hook.URL+vk.HookPrefix+strconv.FormatInt(e.conn.ID, 10), "application/json",
			strings.NewReader(`{"type":"message_new","group_id":229000111,"secret":"`+hookSecret+`","object":{}}`))
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "object.message") {
			t.Fatalf("malformed: %d %s", res.StatusCode, b)
		}
		if n := len(e.messages("", 0)); n != 3 {
			t.Fatalf("%d messages in all", n)
		}
	})
}

func TestProfileRef(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://vk.com/id555": "id555", "vk.com/durov": "durov", "http://m.vk.com/ivan.petrov": "ivan.petrov", "@durov": "durov",
		"https://vk.ru/durov/": "durov", "durov": "durov", "https://facebook.com/durov": "", "https://vk.com/": "", "": "",
		"vk.com/wall-1_2?x=1": "", "javascript:alert(1)": "",
	} {
		if got := vk.ProfileRef(in); got != want {
			t.Errorf("ProfileRef(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRandomID(t *testing.T) {
	t.Parallel()
	seen := map[int32]int64{}
	for _, id := range []int64{1, 2, 3, 1<<31 - 1, 1<<31 - 2, 1 << 40} {
		r := vk.RandomID(id)
		if r <= 0 {
			t.Fatalf("RandomID(%d) = %d", id, r)
		}
		if r != vk.RandomID(id) {
			t.Fatal("not stable")
		}
		if prev, ok := seen[r]; ok {
			t.Fatalf("RandomID(%d) = RandomID(%d)", id, prev)
		}
		seen[r] = id
	}
}

// TestAccessRules: a user who does not see the record cannot write to its
// client, load its history or fill it from the profile (and VK is not
// asked); one who sees it read-only cannot fill it.
func TestAccessRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		e.vk.addUser(map[string]any{"id": int64(555), "first_name": "Иван", "last_name": "Петров"})
		e.vk.addHistory(555, 3, "Вопрос")
		c := e.contact("Ваня", "https://vk.com/id555")
		other := crm.Actor{UserID: e.admin.UserID + 1000}
		blind := store.WithScope(context.Background(), other.UserID)
		calls := e.vk.count("users.get") + e.vk.count("messages.getHistory") + e.vk.count("messages.send")
		if _, err := e.svc.Send(blind, other, connector.Reply{OwnerType: "contact", OwnerID: c.ID, Text: "x"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("send: %v", err)
		}
		if _, err := e.svc.ImportHistory(blind, other, "contact", c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("history: %v", err)
		}
		if _, err := e.svc.ImportProfile(blind, other, "contact", c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("profile: %v", err)
		}
		if n := e.vk.count("users.get") + e.vk.count("messages.getHistory") + e.vk.count("messages.send"); n != calls {
			t.Errorf("VK asked %d times for records the user does not see", n-calls)
		}
		readOnly := store.WithScopeOf(context.Background(), &store.Scope{UserID: other.UserID, See: []int64{other.UserID, e.admin.UserID},
			Edit: []int64{other.UserID}})
		if _, err := e.svc.ImportProfile(readOnly, other, "contact", c.ID); !errors.Is(err, store.ErrForbidden) && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("profile, read only: %v", err)
		}
		got, _ := e.s.GetContact(context.Background(), c.ID)
		if got.LastName != "" {
			t.Errorf("a read-only user filled the contact: %+v", got)
		}
		if ms := e.messages("", 0); len(ms) != 0 {
			t.Errorf("%d messages stored", len(ms))
		}
	})
}

// A reply's files go as VK documents (uploaded, saved, attached); one
// that cannot be fetched goes as its link.
func TestSendFilesAsDocuments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/invoice.pdf" {
				http.NotFound(w, r)
				return
			}
			_, _ = io.WriteString(w, "%PDF-1.4 счёт")
		}))
		t.Cleanup(files.Close)
		c := e.contact("Иван", "https://vk.com/id555")
		m, err := e.svc.Send(context.Background(), e.admin, connector.Reply{OwnerType: "contact", OwnerID: c.ID, Text: "Счёт во вложении",
			Attachments: []crm.Attachment{{Name: "Счёт 12.pdf", URL: files.URL + "/invoice.pdf"}, {Name: "акт.pdf", URL: files.URL + "/gone.pdf"}}})
		if err != nil || m.Status != crm.MessageSent {
			t.Fatalf("send: %+v %v", m, err)
		}
		sends := e.vk.sendCalls()
		if len(sends) != 1 || !strings.HasPrefix(sends[0].Attachment, "doc-229000111_") || strings.Contains(sends[0].Attachment, ",") {
			t.Fatalf("sends: %+v", sends)
		}
		if sends[0].Text != "Счёт во вложении\nакт.pdf: "+files.URL+"/gone.pdf" {
			t.Fatalf("text: %q", sends[0].Text)
		}
		// A file attached on the card, kept by us.
		kept, err := e.s.AddMessageFile(context.Background(), e.admin, "прайс.xlsx", "", []byte("PK прайс"))
		if err != nil {
			t.Fatal(err)
		}
		m2, err := e.svc.Send(context.Background(), e.admin, connector.Reply{OwnerType: "contact", OwnerID: c.ID, Attachments: []crm.Attachment{kept}})
		if err != nil || m2.Status != crm.MessageSent {
			t.Fatalf("send a kept file: %+v %v", m2, err)
		}
		if sends := e.vk.sendCalls(); len(sends) != 2 || !strings.HasPrefix(sends[1].Attachment, "doc-") || sends[1].Text != "" {
			t.Fatalf("sends: %+v", sends)
		}
		// The file is the message's: another one cannot take it.
		if _, err := e.s.CreateMessage(context.Background(), e.admin, crm.Message{Channel: "vk", Direction: "out", Status: crm.MessageFailed,
			Attachments: []crm.Attachment{kept}}); err == nil || !strings.Contains(err.Error(), "not a file of yours") {
			t.Fatalf("a second message took the file: %v", err)
		}
		e.vk.mu.Lock()
		defer e.vk.mu.Unlock()
		if len(e.vk.docs) != 2 {
			t.Fatalf("docs: %v", e.vk.docs)
		}
		for _, doc := range e.vk.docs {
			if doc != "Счёт 12.pdf:%PDF-1.4 счёт" && doc != "прайс.xlsx:PK прайс" {
				t.Fatalf("doc: %q", doc)
			}
		}
	})
}

// photoPNG is a small PNG picture.
func photoPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A VK field with a screen name (https://vk.com/durov), not an id: VK
// is asked whose it is (utils.resolveScreenName) once, the id is kept in
// the record's external ids and the field stays as typed; a name no one
// has, or a community's, is refused in Russian and nothing is sent.
func TestScreenNames(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		ctx := context.Background()
		e.vk.addUser(map[string]any{"id": int64(1), "first_name": "Павел", "screen_name": "durov"})
		e.vk.addUser(map[string]any{"id": int64(2), "first_name": "Александр", "screen_name": "sasha.k"})

		c := e.contact("Павел", "https://vk.com/durov")
		m, err := e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "contact", OwnerID: c.ID, Text: "Добрый день!"})
		if err != nil || m.Status != crm.MessageSent || m.ChatID != "1" {
			t.Fatalf("send to a screen name: %+v %v", m, err)
		}
		got, _ := e.s.GetContact(ctx, c.ID)
		if got.ExternalIDs["vk"] != "1" || len(got.Webs) != 1 || got.Webs[0].Value != "https://vk.com/durov" {
			t.Fatalf("contact after the send: %+v %+v", got.ExternalIDs, got.Webs)
		}

		// The history import resolves too; the send after it asks VK
		// nothing more: the id is kept.
		l, err := e.s.CreateLead(ctx, e.admin, crm.Lead{Title: "Саша", Comms: crm.Comms{Webs: []crm.Comm{{Value: "vk.com/sasha.k", ValueType: "VK"}}}})
		if err != nil {
			t.Fatal(err)
		}
		e.vk.addHistory(2, 2, "Привет")
		if n, err := e.svc.ImportHistory(ctx, e.admin, "lead", l.ID); err != nil || n != 2 {
			t.Fatalf("history: %d %v", n, err)
		}
		before := e.vk.count("utils.resolveScreenName")
		gl, _ := e.s.GetLead(ctx, l.ID)
		if gl.ExternalIDs["vk"] != "2" || gl.Webs[0].Value != "vk.com/sasha.k" {
			t.Fatalf("lead: %+v %+v", gl.ExternalIDs, gl.Webs)
		}
		l2, err := e.s.CreateLead(ctx, e.admin, crm.Lead{Title: "Саша снова", Extra: crm.Extra{ExternalIDs: map[string]string{}},
			Comms: crm.Comms{Webs: []crm.Comm{{Value: "vk.com/sasha.k", ValueType: "VK"}}}})
		if err != nil {
			t.Fatal(err)
		}
		// Another record with the same page: sent (the id cannot be
		// kept twice, VK is asked again), and the first lead's reply
		// uses its conversation.
		if m, err := e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "lead", OwnerID: l2.ID, Text: "Вам тоже"}); err != nil || m.ChatID != "2" {
			t.Fatalf("second record: %+v %v", m, err)
		}
		if e.vk.count("utils.resolveScreenName") != before+1 {
			t.Errorf("resolve calls: %d, want %d", e.vk.count("utils.resolveScreenName"), before+1)
		}

		sends := len(e.vk.sendCalls())
		for _, tc := range []struct{ page, want string }{
			{"https://vk.com/no.such.name", "не найден"},
			{"vk.com/testshop", "сообщество"},
		} {
			x := e.contact("Кто-то", tc.page)
			_, err := e.svc.Send(ctx, e.admin, connector.Reply{OwnerType: "contact", OwnerID: x.ID, Text: "?"})
			var ue *vk.UserError
			if !errors.As(err, &ue) || !strings.Contains(ue.Text, tc.want) || !strings.Contains(ue.Text, "«") {
				t.Errorf("%s: %v", tc.page, err)
			}
			if len(e.messages("contact", x.ID)) != 0 {
				t.Errorf("%s: a message was written", tc.page)
			}
		}
		if len(e.vk.sendCalls()) != sends {
			t.Error("messages.send called for an unresolved name")
		}
	})
}
