package notify_test

import (
	"context"
	"crypto/tls"
	"database/sql"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/connector/smtp/smtptest"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/jobs"
	"github.com/obmen/obmen/internal/notify"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestEmailNotifications: a manager who asked for e-mail gets a lead given
// to them as a letter through a real SMTP server (with AUTH), retried by
// River after the server's 451, once: a second scan, a second enqueue of
// the same send and another instance's scan add no letter.
func TestEmailNotifications(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := store.New(d)
		admin := storetest.Admin(t, s)
		m, err := s.CreateUser(ctx, admin, crm.User{Login: "manager", Role: crm.RoleManager, Active: true, Email: "manager@example.ru"}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		srv := smtptest.Start(t, &smtptest.Server{User: "crm", Pass: "s3cret", TempFail: 1})
		host, portN := srv.Host(), srv.Port()
		log := slog.New(slog.DiscardHandler)
		n := notify.New(d, nil, &notify.Email{Host: host, Port: portN, TLS: "none", Username: "crm", Password: "s3cret",
			From: "Обмен <crm@example.ru>", PublicURL: "https://crm.example.ru"}, log)
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
		if err := n.SavePrefs(ctx, m.ID, notify.Prefs{Email: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Scan(ctx); err != nil { // the log's end
			t.Fatal(err)
		}
		l, err := s.CreateLead(ctx, admin, crm.Lead{Title: "Заявка на щебень", Meta: crm.Meta{AssignedByID: m.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if k, err := n.Scan(ctx); err != nil || k != 1 {
			t.Fatalf("scan made %d (%v)", k, err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for len(srv.Letters()) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		got := srv.Letters()
		if len(got) != 1 {
			var state, errs string
			_ = d.Reader().QueryRowContext(ctx, "SELECT state, CAST(errors AS TEXT) FROM river_job WHERE kind = 'notify.send'").Scan(&state, &errs)
			t.Fatalf("%d letters; the send job: %s %s", len(got), state, errs)
		}
		msg, err := mail.ReadMessage(strings.NewReader(string(got[0].Data)))
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
		mine, _ := n.List(ctx, m.ID, 1)
		if got[0].From != "crm@example.ru" || strings.Join(got[0].To, ",") != "manager@example.ru" || subject != "Новый лид: Заявка на щебень" ||
			msg.Header.Get("Message-Id") != "<notify-"+itoa(mine[0].ID)+"@example.ru>" ||
			!strings.Contains(string(body), "https://crm.example.ru/e/lead/"+itoa(l.ID)) {
			t.Fatalf("letter from %s to %v, subject %q, id %q:\n%s", got[0].From, got[0].To, subject, msg.Header.Get("Message-Id"), body)
		}
		// No second letter: a rescan, or the same send run again (as River
		// does when a process dies after the send, before the job is
		// marked done: here a second job, not unique).
		if k, err := n.Scan(ctx); err != nil || k != 0 {
			t.Fatalf("rescan made %d (%v)", k, err)
		}
		if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			return r.InsertTx(ctx, tx, notify.SendJob(mine[0].ID, "email"), nil)
		}); err != nil {
			t.Fatal(err)
		}
		for done := 0; done < 2; time.Sleep(50 * time.Millisecond) {
			if err := d.Reader().QueryRowContext(ctx, "SELECT COUNT(*) FROM river_job WHERE kind = 'notify.send' AND state = 'completed'").Scan(&done); err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d send jobs completed", done)
			}
		}
		if c := len(srv.Letters()); c != 1 {
			t.Fatalf("%d letters after the send ran again", c)
		}
	})
}

// TestEmailSecurity: a letter goes through a real SMTP server over
// implicit TLS (465) and over STARTTLS, with AUTH that the server refuses
// before TLS; a server whose certificate is not trusted gets no letter
// and the error says why. Implicit TLS never worked before: go-mail wraps
// only connections it dials itself, not the guarded dialer's.
func TestEmailSecurity(t *testing.T) {
	for _, sec := range []struct{ server, notify string }{{"ssl", "tls"}, {"starttls", "starttls"}} {
		t.Run(sec.notify, func(t *testing.T) {
			srv := smtptest.Start(t, &smtptest.Server{User: "crm", Pass: "s3cret", Security: sec.server})
			n := notify.Notification{ID: 7, Title: "Новый лид", Body: "Заявка на щебень"}
			e := &notify.Email{Host: srv.Host(), Port: srv.Port(), TLS: sec.notify, Username: "crm", Password: "s3cret",
				From: "Обмен <crm@example.ru>", Timeout: 10 * time.Second}
			ctx := context.Background()
			if err := e.Send(ctx, "manager@example.ru", n); err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("an untrusted certificate: %v", err)
			}
			if got := len(srv.Letters()); got != 0 {
				t.Fatalf("%d letters through an untrusted server", got)
			}
			e.TLSConfig = &tls.Config{RootCAs: srv.RootCAs()}
			if err := e.Send(ctx, "manager@example.ru", n); err != nil {
				t.Fatal(err)
			}
			got := srv.Letters()
			if len(got) != 1 || got[0].To[0] != "manager@example.ru" || !strings.Contains(string(got[0].Data), "notify-7@example.ru") {
				t.Fatalf("letters: %+v", got)
			}
		})
	}
}
