package notify_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/jobs"
	"github.com/obmen/obmen/internal/notify"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// fakeTelegram is the Bot API's sendMessage as documented
// (core.telegram.org/bots/api#sendmessage): {"ok":true,"result":{…}}, and
// {"ok":false,"error_code":…,"description":…} for an unknown chat or a
// wrong token.
type fakeTelegram struct {
	token string
	mu    sync.Mutex
	sent  []map[string]any
	fail  int // answer 429 this many times first
}

func (f *fakeTelegram) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.URL.Path != "/bot"+f.token+"/sendMessage" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"ok":false,"error_code":401,"description":"Unauthorized"}`))
		return
	}
	var m map[string]any
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"ok":false,"error_code":400,"description":"Bad Request: can't parse JSON"}`))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}`))
		return
	}
	if m["chat_id"] != "42" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`))
		return
	}
	f.sent = append(f.sent, m)
	_, _ = w.Write([]byte(`{"ok":true,"result":{"message_id":1,"chat":{"id":42,"type":"private"},"date":1733370000,"text":"x"}}`))
}

func (f *fakeTelegram) texts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, m := range f.sent {
		out = append(out, m["text"].(string))
	}
	return out
}

// TestNotifications: a lead given to a manager, an activity starting
// within 15 minutes and a refused intake request (for the admin) become
// notifications once each, even when two scans race; a manager with a
// Telegram chat gets them there through River jobs (retried after a 429).
func TestNotifications(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := store.New(d)
		admin := storetest.Admin(t, s)
		m, err := s.CreateUser(ctx, admin, crm.User{Login: "manager", Role: crm.RoleManager, Active: true}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		fake := &fakeTelegram{token: "123:ABC", fail: 1}
		srv := httptest.NewServer(fake)
		defer srv.Close()
		client := httpx.NewOutboundClient(httpx.OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
		log := slog.New(slog.DiscardHandler)
		n := notify.New(d, &notify.Telegram{Base: srv.URL, Token: fake.token, Client: client, PublicURL: "https://crm.example.ru"}, nil, log)
		if err := jobs.Migrate(ctx, d); err != nil {
			t.Fatal(err)
		}
		r, err := jobs.New(ctx, d, log, n.Register, func(c *river.Config) {
			c.FetchCooldown, c.FetchPollInterval = 5*time.Millisecond, 20*time.Millisecond
		})
		if err != nil {
			t.Fatal(err)
		}
		n.Start(r)
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_ = r.Stop(sctx)
			r.Close()
		})
		if err := n.SavePrefs(ctx, m.ID, notify.Prefs{TelegramChatID: "42"}); err != nil {
			t.Fatal(err)
		}
		// The first scan starts at the log's end: the past is not told.
		if _, err := s.CreateLead(ctx, admin, crm.Lead{Title: "Старый лид", Meta: crm.Meta{AssignedByID: m.ID}}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Scan(ctx); err != nil {
			t.Fatal(err)
		}
		l, err := s.CreateLead(ctx, admin, crm.Lead{Title: "Заявка на песок", Meta: crm.Meta{AssignedByID: m.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateLead(ctx, crm.Actor{UserID: m.ID}, crm.Lead{Title: "Свой лид"}); err != nil { // their own: no notification
			t.Fatal(err)
		}
		start := time.Now().Add(10 * time.Minute)
		end := start.Add(time.Hour)
		act, err := s.CreateActivity(ctx, admin, crm.Activity{Kind: crm.ActivityCall, Subject: "Позвонить Ёжикову", StartAt: &start, EndAt: &end, Meta: crm.Meta{AssignedByID: m.ID}})
		if err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(2 * time.Hour)
		if _, err := s.CreateActivity(ctx, admin, crm.Activity{Kind: crm.ActivityCall, Subject: "Потом", StartAt: &later, EndAt: &later, Meta: crm.Meta{AssignedByID: m.ID}}); err != nil {
			t.Fatal(err)
		}
		if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO intake_journal (source, source_id, ref, outcome, field, error, created_at) VALUES ('form', 1, '1.2.3.4', 'failed', 'phone', 'не телефон', 1)`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// Two scans at once (two instances) make each notification once.
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := n.Scan(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		mine, err := n.List(ctx, m.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var titles []string
		for _, x := range mine {
			titles = append(titles, x.Title+" → "+x.Link())
		}
		want := []string{"Скоро дело: Позвонить Ёжикову → /e/activity/" + itoa(act.ID), "Вам назначено: дело «Позвонить Ёжикову» → /e/activity/" + itoa(act.ID),
			"Вам назначено: дело «Потом» → /e/activity/" + itoa(act.ID+1), "Новый лид: Заявка на песок → /e/lead/" + itoa(l.ID)}
		if strings.Join(sorted(titles), "\n") != strings.Join(sorted(want), "\n") {
			t.Fatalf("manager's notifications:\n%s\nwant\n%s", strings.Join(titles, "\n"), strings.Join(want, "\n"))
		}
		if c, _ := n.Unread(ctx, m.ID); c != 4 {
			t.Fatalf("unread %d", c)
		}
		adm, err := n.List(ctx, admin.UserID, 10)
		if err != nil || len(adm) != 1 || adm[0].Kind != notify.KindIntakeFailed || adm[0].Body != "phone: не телефон" {
			t.Fatalf("admin's: %+v %v", adm, err)
		}
		// A later scan finds nothing new.
		if k, err := n.Scan(ctx); err != nil || k != 0 {
			t.Fatalf("rescan made %d (%v)", k, err)
		}
		// Telegram: all four, the first after a 429.
		deadline := time.Now().Add(15 * time.Second)
		for len(fake.texts()) < 4 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		got := fake.texts()
		if len(got) != 4 {
			t.Fatalf("telegram got %d: %q", len(got), got)
		}
		found := false
		for _, txt := range got {
			found = found || txt == "Новый лид: Заявка на песок\nhttps://crm.example.ru/e/lead/"+itoa(l.ID)
		}
		if !found {
			t.Fatalf("telegram texts %q", got)
		}
		if err := n.MarkRead(ctx, m.ID, mine[0].ID); err != nil {
			t.Fatal(err)
		}
		if c, _ := n.Unread(ctx, m.ID); c != 3 {
			t.Fatalf("unread after one read: %d", c)
		}
		if err := n.MarkRead(ctx, m.ID, 0); err != nil {
			t.Fatal(err)
		}
		if c, _ := n.Unread(ctx, m.ID); c != 0 {
			t.Fatalf("unread after all read: %d", c)
		}
	})
}

func itoa(v int64) string { return strconvFormat(v) }
