package mail_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/riverqueue/river"
	"golang.org/x/text/encoding/charmap"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/intake"
	"github.com/obmen/obmen/internal/intake/mail"
	"github.com/obmen/obmen/internal/jobs"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

var userSeq atomic.Int32

// nextUser is a fresh mailbox on the shared Dovecot.
func nextUser() string { return fmt.Sprintf("u%d", userSeq.Add(1)) }

type env struct {
	st    *store.Store
	in    *intake.Service
	box   *secret.Box
	admin crm.Actor
}

func newEnv(t testing.TB, d *db.DB) *env {
	st := store.New(d)
	box, err := secret.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &env{st: st, in: intake.New(st, slog.New(slog.DiscardHandler)), box: box, admin: storetest.Admin(t, st)}
}

// service is the collectors' service allowed to reach the test's Dovecot
// on loopback (the default dialer refuses internal addresses).
func (e *env) service() *mail.Service {
	s := mail.New(e.in, e.box, slog.New(slog.DiscardHandler))
	s.Dialer = httpx.NewDialer(httpx.OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	return s
}

// TestCollectorDialIsGuarded: by default a collector cannot reach an
// internal address — loopback, the link-local metadata address — so it
// never sends a login and password there; nothing even connects.
func TestCollectorDialIsGuarded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		var accepted atomic.Int32
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				c.Close()
			}
		}()
		port := ln.Addr().(*net.TCPAddr).Port
		svc := mail.New(e.in, e.box, slog.New(slog.DiscardHandler))
		for _, host := range []string{"127.0.0.1", "169.254.169.254", "localhost", "[::1]"} {
			c, err := svc.Create(ctx, mail.Collector{Name: "guard " + host, Enabled: true, Host: strings.Trim(host, "[]"), Port: port, Security: mail.SecurityNone,
				Login: "u", Password: "secret-password", Folder: "INBOX", UserID: e.admin.UserID})
			if err != nil {
				t.Fatal(err)
			}
			_, err = svc.Run(ctx, c.ID)
			var blocked *httpx.BlockedError
			if !errors.As(err, &blocked) {
				t.Errorf("%s: %v, want the guard's refusal", host, err)
			}
		}
		if n := accepted.Load(); n != 0 {
			t.Errorf("%d connections reached the listener", n)
		}
	})
}

func cp1251(t testing.TB, s string) []byte {
	t.Helper()
	b, err := charmap.Windows1251.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// part is an attachment: its MIME type line and its bytes (sent base64).
type part struct {
	ctype, name string
	data        []byte
}

// message builds a multipart/mixed message with a text body and the parts.
func message(subject, messageID string, parts ...part) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: site@example.ru\nTo: orders@example.ru\nSubject: %s\nMessage-ID: %s\nDate: Mon, 23 Nov 2026 10:00:00 +0300\nMIME-Version: 1.0\n", subject, messageID)
	if len(parts) == 0 {
		b.WriteString("Content-Type: text/plain; charset=utf-8\n\nЗаявка без вложения.\n")
		return b.String()
	}
	b.WriteString("Content-Type: multipart/mixed; boundary=\"XYZ\"\n\n--XYZ\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nТело письма игнорируется: {\"Тема\": \"не отсюда\"}\n")
	for _, p := range parts {
		enc := base64.StdEncoding.EncodeToString(p.data)
		var lines []string
		for len(enc) > 76 {
			lines, enc = append(lines, enc[:76]), enc[76:]
		}
		lines = append(lines, enc)
		fmt.Fprintf(&b, "--XYZ\nContent-Type: %s\nContent-Disposition: attachment; filename=\"%s\"\nContent-Transfer-Encoding: base64\n\n%s\n",
			p.ctype, mime.BEncoding.Encode("utf-8", p.name), strings.Join(lines, "\n"))
	}
	b.WriteString("--XYZ--\n")
	return b.String()
}

const orderJSON = `{"Тема": "%s", "Дата": "23.11.2026 10:00:00", "Телефон": "+7 925 000-00-%02d", "КонтактноеЛицо": "Иванов Иван",
 "Товары": [{"Номенклатура": "Баннер", "Разрешеине": "720 dpi", "Материал": "Баннер 440", "Ширина": 3, "Высота": 1.5, "Количество": 1, "Цена": 4500, "Сумма": 4500,
 "ДополнительныеРаботы": [{"ВидРаботы": "Люверсы", "Количество": 12, "Описание": "по периметру"}]}]}`

func orderFile(subject string, n int) string { return fmt.Sprintf(orderJSON, subject, n) }

func leadsByTitle(t testing.TB, st *store.Store) map[string]crm.Lead {
	t.Helper()
	ls, _, err := st.ListLeads(context.Background(), store.ListParams{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]crm.Lead{}
	for _, l := range ls {
		if _, dup := out[l.Title]; dup {
			t.Errorf("two leads titled %q", l.Title)
		}
		out[l.Title] = l
	}
	return out
}

func TestCollectorFromDovecot(t *testing.T) {
	dc := startDovecot(t)
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d)
		login := nextUser()
		imc := dc.client(t, login)
		subj1251 := mime.BEncoding.Encode("windows-1251", string(cp1251(t, "ORDER: 2 Заявка с сайта")))
		msgs := []string{
			message("ORDER: 1", "<m1@site>", part{"application/json; charset=utf-8", "order.json", []byte(orderFile("Заказ UTF-8", 1))}),
			message(subj1251, "<m2@site>", part{"text/plain; charset=windows-1251", "заявка.txt", cp1251(t, orderFile("Заказ в windows-1251", 2))}),
			message("Re: ORDER 3", "<m3@site>", part{"application/octet-stream", "data.bin", cp1251(t, orderFile("Заказ 1251 без метки", 3))}),
			message("ORDER: 4", "<m4@site>",
				part{"application/json", "broken.json", []byte(`{"Тема": "обрыв`)},
				part{"application/json", "order.json", append([]byte("\xef\xbb\xbf"), orderFile("Заказ из второго вложения", 4)...)},
				part{"application/json", "third.json", []byte(orderFile("Третье вложение", 5))}),
			message("ORDER: 5", "<m5@site>", part{"application/json", "bad.json", []byte("{\n\"Тема\": \"x\",\n\"Товары\": [{\"Номенклатура\": \"a\", \"Цена\": \"дорого\"}]\n}")}),
			message("ORDER: 6", "<m6@site>"),
			message("Привет, это не заявка", "<m7@site>", part{"application/json", "order.json", []byte(orderFile("Не заявка", 7))}),
			message("REORDERED items", "<m8@site>", part{"application/json", "order.json", []byte(orderFile("Тоже не заявка", 8))}),
		}
		for _, m := range msgs {
			appendMsg(t, imc, "INBOX", m)
		}
		svc := e.service()
		// STARTTLS over the plain port, with the test's certificate.
		svc.TLSConfig = dc.TLS
		c, err := svc.Create(ctx, mail.Collector{Name: "Заявки с сайта", Enabled: true, Host: "127.0.0.1", Port: dc.Port, Security: mail.SecurityStartTLS,
			Login: login, Password: dovecotPassword, UserID: e.admin.UserID, ProcessedFolder: "Processed", FailedFolder: "Failed"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Password != "" || !c.PasswordSet || c.Keyword != "ORDER" || c.Folder != "INBOX" {
			t.Errorf("collector = %+v", c)
		}
		st, err := svc.Run(ctx, c.ID)
		if err != nil {
			t.Fatalf("run: %v (%+v)", err, st)
		}
		if st.Messages != 8 || st.Taken != 6 || st.Created != 4 || st.Failed != 2 || st.Finished != 0 {
			t.Errorf("stats = %+v", st)
		}
		leads := leadsByTitle(t, e.st)
		for _, title := range []string{"Заказ UTF-8", "Заказ в windows-1251", "Заказ 1251 без метки", "Заказ из второго вложения"} {
			l, ok := leads[title]
			if !ok {
				t.Errorf("no lead %q (have %v)", title, leads)
				continue
			}
			if l.AssignedByID != e.admin.UserID || len(l.ProductRows) != 1 || l.ProductRows[0].Properties["resolution"] != "720 dpi" || l.LastName != "Иванов" {
				t.Errorf("lead %q = %+v", title, l)
			}
		}
		if len(leads) != 4 {
			t.Errorf("leads = %d, want 4", len(leads))
		}
		if n, _ := count(t, imc, "INBOX", ""); n != 2 {
			t.Errorf("INBOX keeps %d, want the 2 messages without the keyword", n)
		}
		if n, f := count(t, imc, "Processed", mail.FlagDone); n != 4 || f != 4 {
			t.Errorf("Processed has %d (%d flagged), want 4", n, f)
		}
		if n, f := count(t, imc, "Failed", mail.FlagFailed); n != 2 || f != 2 {
			t.Errorf("Failed has %d (%d flagged), want 2", n, f)
		}
		js, err := e.in.ListJournal(ctx, intake.JournalQuery{Source: intake.SourceMail, SourceID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		var failed []intake.Entry
		for _, j := range js {
			if j.Outcome == intake.OutcomeFailed {
				failed = append(failed, j)
			}
		}
		if len(js) != 6 || len(failed) != 2 {
			t.Fatalf("journal = %+v", js)
		}
		// Messages are taken several at once: find each by its Message-ID.
		if strings.Contains(failed[0].Ref, "<m5@site>") {
			failed[0], failed[1] = failed[1], failed[0]
		}
		if failed[0].Field != "attachment" || !strings.Contains(failed[0].Error, "no attachment") {
			t.Errorf("no-attachment entry = %+v", failed[0])
		}
		if failed[1].Field != "Товары[0].Цена" || !strings.Contains(failed[1].Error, `attachment "bad.json"`) || !strings.Contains(failed[1].Ref, "<m5@site>") {
			t.Errorf("bad-price entry = %+v", failed[1])
		}

		// A second run finds nothing new.
		st, err = svc.Run(ctx, c.ID)
		if err != nil || st.Taken != 0 || st.Created != 0 || st.Messages != 2 {
			t.Errorf("second run: %+v, %v", st, err)
		}
		// The same message delivered again (copied back, a new UID): its
		// Message-ID is known, so it is only moved.
		appendMsg(t, imc, "INBOX", msgs[0])
		st, err = svc.Run(ctx, c.ID)
		if err != nil || st.Taken != 0 || st.Finished != 1 {
			t.Errorf("redelivered: %+v, %v", st, err)
		}
		if got := len(leadsByTitle(t, e.st)); got != 4 {
			t.Errorf("leads after redelivery = %d", got)
		}
		got, err := svc.Get(ctx, c.ID)
		if err != nil || got.LastRunAt == nil || got.LastError != "" {
			t.Errorf("collector after runs = %+v, %v", got, err)
		}
	})
}

// TestCollectorCrashBetweenInsertAndFlag stops the collector right after
// the messages' leads committed and before they are flagged — as a crash
// there would — then runs a new collector (a restarted Obmen): the
// messages are only flagged and moved, no second lead appears. A crash
// before the commit is TestCollectorCrashBeforeCommit.
func TestCollectorCrashBetweenInsertAndFlag(t *testing.T) {
	dc := startDovecot(t)
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d)
		login := nextUser()
		imc := dc.client(t, login)
		for i := 1; i <= 3; i++ {
			appendMsg(t, imc, "INBOX", message(fmt.Sprintf("ORDER: %d", i), fmt.Sprintf("<crash%d@site>", i),
				part{"application/json", "o.json", []byte(orderFile(fmt.Sprintf("Заказ %d", i), i))}))
		}
		svc := e.service()
		c, err := svc.Create(ctx, mail.Collector{Name: "crash", Enabled: true, Host: "127.0.0.1", Port: dc.Port, Security: mail.SecurityNone,
			Login: login, Password: dovecotPassword, UserID: e.admin.UserID, ProcessedFolder: "Done"})
		if err != nil {
			t.Fatal(err)
		}
		crash := errors.New("crash after commit")
		n := 0
		svc.SetAfterCommit(func(uint32) error {
			if n++; n == 2 {
				return crash
			}
			return nil
		})
		if _, err := svc.Run(ctx, c.ID); !errors.Is(err, crash) {
			t.Fatalf("run = %v, want the crash", err)
		}
		// The batch's leads committed; the crash came before any flag.
		if got := len(leadsByTitle(t, e.st)); got != 3 {
			t.Fatalf("leads after the crash = %d, want 3", got)
		}
		if n, f := count(t, imc, "INBOX", mail.FlagDone); n != 3 || f != 0 {
			t.Fatalf("INBOX after the crash has %d (%d flagged), want 3 unflagged", n, f)
		}
		restarted := e.service()
		st, err := restarted.Run(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Finished != 3 || st.Created != 0 || st.Taken != 0 {
			t.Errorf("after restart: %+v", st)
		}
		leads := leadsByTitle(t, e.st)
		if len(leads) != 3 {
			t.Errorf("leads = %d, want 3: %v", len(leads), leads)
		}
		if n, _ := count(t, imc, "INBOX", ""); n != 0 {
			t.Errorf("INBOX keeps %d", n)
		}
		if n, f := count(t, imc, "Done", mail.FlagDone); n != 3 || f != 3 {
			t.Errorf("Done has %d (%d flagged), want 3", n, f)
		}
	})
}

// TestCollectorCrashBeforeCommit: a lead's transaction that fails (the
// database goes away mid-run) leaves no key; the next run takes the
// message again and makes exactly one lead.
func TestCollectorCrashBeforeCommit(t *testing.T) {
	dc := startDovecot(t)
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d)
		login := nextUser()
		imc := dc.client(t, login)
		appendMsg(t, imc, "INBOX", message("ORDER: 1", "<pre@site>", part{"application/json", "o.json", []byte(orderFile("До коммита", 1))}))
		svc := e.service()
		c, err := svc.Create(ctx, mail.Collector{Name: "pre", Enabled: true, Host: "127.0.0.1", Port: dc.Port, Security: mail.SecurityNone,
			Login: login, Password: dovecotPassword, UserID: e.admin.UserID, ProcessedFolder: "Done"})
		if err != nil {
			t.Fatal(err)
		}
		// The run's context ends while it writes: the write fails.
		cctx, cancel := context.WithCancel(ctx)
		canceled := mail.CancelBeforeWrite(svc, cancel)
		_, err = svc.Run(cctx, c.ID)
		if err == nil || !canceled() {
			t.Fatalf("run = %v, want it cut", err)
		}
		if got := len(leadsByTitle(t, e.st)); got != 0 {
			t.Fatalf("leads after the cut = %d", got)
		}
		st, err := e.service().Run(ctx, c.ID)
		if err != nil || st.Created != 1 || st.Finished != 0 {
			t.Errorf("after restart: %+v, %v", st, err)
		}
		if got := len(leadsByTitle(t, e.st)); got != 1 {
			t.Errorf("leads = %d, want 1", got)
		}
	})
}

// TestCollectorDeletesOld: with delete_after_days, processed messages
// older than that are deleted; newer ones and failed ones stay.
func TestCollectorDeletesOld(t *testing.T) {
	dc := startDovecot(t)
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d)
		login := nextUser()
		imc := dc.client(t, login)
		old := time.Now().AddDate(0, 0, -30)
		appendAt(t, imc, "INBOX", message("ORDER: old", "<old@site>", part{"application/json", "o.json", []byte(orderFile("Старый", 1))}), old)
		appendAt(t, imc, "INBOX", message("ORDER: bad", "<oldbad@site>"), old)
		appendMsg(t, imc, "INBOX", message("ORDER: new", "<new@site>", part{"application/json", "o.json", []byte(orderFile("Новый", 2))}))
		svc := e.service()
		c, err := svc.Create(ctx, mail.Collector{Name: "old", Enabled: true, Host: "127.0.0.1", Port: dc.Port, Security: mail.SecurityNone,
			Login: login, Password: dovecotPassword, UserID: e.admin.UserID, ProcessedFolder: "Done", FailedFolder: "Failed", DeleteAfterDays: 7})
		if err != nil {
			t.Fatal(err)
		}
		st, err := svc.Run(ctx, c.ID)
		if err != nil || st.Created != 2 || st.Failed != 1 || st.Deleted != 1 {
			t.Fatalf("run: %+v, %v", st, err)
		}
		if n, _ := count(t, imc, "Done", ""); n != 1 {
			t.Errorf("Done keeps %d, want the new one", n)
		}
		if n, _ := count(t, imc, "Failed", ""); n != 1 {
			t.Errorf("Failed keeps %d, want 1", n)
		}
		if got := len(leadsByTitle(t, e.st)); got != 2 {
			t.Errorf("leads = %d", got)
		}
	})
}

// orderMailbox gives a new Dovecot user n letters, each with an order
// file titled "<title> <i>", and makes the collector name for that
// mailbox, moving what it took to "Done".
func orderMailbox(t *testing.T, dc *dovecot, e *env, name, title string, n int) (*imapclient.Client, mail.Collector) {
	t.Helper()
	login := nextUser()
	imc := dc.client(t, login)
	for i := 0; i < n; i++ {
		appendMsg(t, imc, "INBOX", message(fmt.Sprintf("ORDER: %d", i), fmt.Sprintf("<%s%d@site>", name, i),
			part{"application/json", "o.json", []byte(orderFile(fmt.Sprintf("%s %d", title, i), i))}))
	}
	c, err := e.service().Create(context.Background(), mail.Collector{Name: name, Enabled: true, Host: "127.0.0.1", Port: dc.Port,
		Security: mail.SecurityNone, Login: login, Password: dovecotPassword, UserID: e.admin.UserID, ProcessedFolder: "Done"})
	if err != nil {
		t.Fatal(err)
	}
	return imc, c
}

// TestCollectorRacingInstances: two Obmen instances run the same
// collector at once; every message still makes exactly one lead.
func TestCollectorRacingInstances(t *testing.T) {
	dc := startDovecot(t)
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d)
		const n = 60
		imc, c := orderMailbox(t, dc, e, "race", "Гонка", n)
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				_, err := e.service().Run(ctx, c.ID)
				errs <- err
			}()
		}
		busy := 0
		for range 2 {
			if err := <-errs; errors.Is(err, mail.ErrBusy) {
				busy++
			} else if err != nil {
				t.Errorf("a racing run: %v", err)
			}
		}
		t.Logf("%d run(s) found the collector busy", busy)
		// Whatever a run left unflagged, the next finishes.
		if _, err := e.service().Run(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if got := len(leadsByTitle(t, e.st)); got != n {
			t.Errorf("leads = %d, want %d", got, n)
		}
		if k, _ := count(t, imc, "Done", ""); k != n {
			t.Errorf("Done has %d, want %d", k, n)
		}
	})
}

// TestCollectorLeaseRenewedWithinBatch: a batch slower than the lease
// (each lead's write waits, the batch of 64 letters outlasts the lease
// several times) keeps its collector: the lease is renewed as the
// messages are handed out, so it never runs out while the run goes on,
// and another instance asking meanwhile finds the collector busy.
func TestCollectorLeaseRenewedWithinBatch(t *testing.T) {
	dc := startDovecot(t)
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d)
		const n = 64 // one batch, eight rounds of the takers
		imc, c := orderMailbox(t, dc, e, "slow", "Медленно", n)
		s := e.service()
		// Long enough for the run to reach its first message under -race
		// and load (the collector's scheduled runs take a lease run out);
		// eight rounds of takers × 600 ms still outlast it.
		s.Lease = 3 * time.Second
		var expired, busy, free atomic.Int32
		started := make(chan struct{}) // the slow run holds the collector
		var once sync.Once
		mail.BeforeTake(s, func() {
			once.Do(func() { close(started) })
			time.Sleep(600 * time.Millisecond)
			var until int64
			if err := d.Read.QueryRowContext(ctx, "SELECT lease_until FROM intake_collectors WHERE id = $1", c.ID).Scan(&until); err != nil {
				t.Error(err)
			}
			if until < time.Now().UnixMicro() {
				expired.Add(1)
			}
		})
		other := e.service()
		other.Lease = s.Lease
		stop := make(chan struct{})
		tried := make(chan struct{})
		go func() {
			defer close(tried)
			// Only once the slow run has the collector: started first
			// (under -race and load the other could be first to it, and
			// the slow run would then find it busy).
			select {
			case <-started:
			case <-stop:
				return
			}
			for {
				select {
				case <-stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
				if _, err := other.Run(ctx, c.ID); errors.Is(err, mail.ErrBusy) {
					busy.Add(1)
				} else {
					free.Add(1)
				}
			}
		}()
		st, err := s.Run(ctx, c.ID)
		close(stop)
		<-tried
		if err != nil {
			t.Fatalf("the slow run: %v (%+v)", err, st)
		}
		if expired.Load() != 0 || free.Load() != 0 {
			t.Errorf("the lease ran out at %d writes; the other instance took the collector %d times (busy %d)", expired.Load(), free.Load(), busy.Load())
		}
		if st.Created != n {
			t.Errorf("created %d, want %d", st.Created, n)
		}
		if k, _ := count(t, imc, "Done", ""); k != n {
			t.Errorf("Done has %d, want %d", k, n)
		}
	})
}

// TestCollectorTLSAndErrors: implicit TLS works; a wrong password is the
// collector's last error, and nothing is journaled for it.
func TestCollectorTLSAndErrors(t *testing.T) {
	dc := startDovecot(t)
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d)
		login := nextUser()
		appendMsg(t, dc.client(t, login), "INBOX", message("ORDER: tls", "<tls@site>", part{"application/json", "o.json", []byte(orderFile("По TLS", 1))}))
		svc := e.service()
		svc.TLSConfig = dc.TLS
		c, err := svc.Create(ctx, mail.Collector{Name: "tls", Enabled: true, Host: "127.0.0.1", Port: dc.TLSPort, Security: mail.SecurityTLS,
			Login: login, Password: dovecotPassword, UserID: e.admin.UserID})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.RunAll(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := leadsByTitle(t, e.st)["По TLS"]; !ok {
			t.Error("no lead over TLS")
		}
		// Kept in INBOX (no processed folder) but flagged: not taken again.
		st, err := svc.Run(ctx, c.ID)
		if err != nil || st.Taken != 0 || st.Messages != 1 {
			t.Errorf("second run: %+v, %v", st, err)
		}
		c.Password = "wrong"
		if _, err := svc.Update(ctx, c.ID, c); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Run(ctx, c.ID); err == nil {
			t.Error("wrong password: no error")
		}
		got, _ := svc.Get(ctx, c.ID)
		if !strings.Contains(got.LastError, "log in") {
			t.Errorf("last error = %q", got.LastError)
		}
		for _, bad := range []mail.Collector{
			{Name: "", Host: "h", Login: "l", UserID: e.admin.UserID},
			{Name: "x", Host: "h", Login: "l", UserID: e.admin.UserID, Security: "ssl"},
			{Name: "x", Host: "h", Login: "l", UserID: 9999},
		} {
			if _, err := svc.Create(ctx, bad); err == nil {
				t.Errorf("created %+v", bad)
			} else if _, ok := crm.AsFieldError(err); !ok {
				t.Errorf("create %+v: %v is not a field error", bad, err)
			}
		}
	})
}

// TestPeriodicJob: River's periodic job runs the enabled collectors.
func TestPeriodicJob(t *testing.T) {
	dc := startDovecot(t)
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := jobs.Migrate(ctx, d); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, d)
		login := nextUser()
		appendMsg(t, dc.client(t, login), "INBOX", message("ORDER: job", "<job@site>", part{"application/json", "o.json", []byte(orderFile("Из задания", 1))}))
		svc := e.service()
		if _, err := svc.Create(ctx, mail.Collector{Name: "job", Enabled: true, Host: "127.0.0.1", Port: dc.Port, Security: mail.SecurityNone,
			Login: login, Password: dovecotPassword, UserID: e.admin.UserID}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Create(ctx, mail.Collector{Name: "disabled", Enabled: false, Host: "127.0.0.1", Port: 1, Security: mail.SecurityNone,
			Login: "nobody", UserID: e.admin.UserID}); err != nil {
			t.Fatal(err)
		}
		r, err := jobs.New(ctx, d, slog.New(slog.DiscardHandler), svc.Register, func(c *river.Config) {
			c.FetchCooldown, c.FetchPollInterval = 5*time.Millisecond, 20*time.Millisecond
			c.PeriodicJobs = []*river.PeriodicJob{mail.Periodic(time.Second)}
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			_ = r.Stop(sctx)
			r.Close()
		}()
		deadline := time.Now().Add(30 * time.Second)
		for len(leadsByTitle(t, e.st)) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the periodic job made no lead in 30 s")
			}
			time.Sleep(50 * time.Millisecond)
		}
		cs, err := svc.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cs[1].LastRunAt != nil {
			t.Errorf("the disabled collector ran: %+v", cs[1])
		}
	})
}

// BenchmarkCollector: messages/s from Dovecot through one collector run
// into leads (fetch, parse, one transaction per message, flag and move).
//
//	go test -run XXX -bench Collector -benchtime 2000x ./internal/intake/mail/
func BenchmarkCollector(b *testing.B) {
	dc := startDovecot(b)
	d := storetest.OpenSQLite(b)
	e := newEnv(b, d)
	ctx := context.Background()
	login := nextUser()
	imc := dc.client(b, login)
	for i := 0; i < b.N; i++ {
		appendMsg(b, imc, "INBOX", message(fmt.Sprintf("ORDER: %d", i), fmt.Sprintf("<bench%d@site>", i),
			part{"application/json", "o.json", cp1251(b, orderFile(fmt.Sprintf("Заказ %d", i), i%100))}))
	}
	svc := e.service()
	c, err := svc.Create(ctx, mail.Collector{Name: "bench", Enabled: true, Host: "127.0.0.1", Port: dc.Port, Security: mail.SecurityNone,
		Login: login, Password: dovecotPassword, UserID: e.admin.UserID, ProcessedFolder: "Done"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	st, err := svc.Run(ctx, c.ID)
	el := time.Since(start)
	b.StopTimer()
	if err != nil || st.Created != b.N {
		b.Fatalf("run: %+v, %v", st, err)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "messages/s")
}
