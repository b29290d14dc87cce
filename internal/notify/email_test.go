package notify_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/jobs"
	"github.com/obmen/obmen/internal/notify"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// smtpServer is a real SMTP server (emersion/go-smtp) on loopback that
// wants AUTH PLAIN and keeps what it is given; it refuses the first
// tempFail letters with 451, as a busy server does.
type smtpServer struct {
	user, pass string
	mu         sync.Mutex
	letters    []letter
	tempFail   int
	addr       string
}

type letter struct {
	from string
	to   []string
	data []byte
}

func (s *smtpServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: s}, nil }

type smtpSession struct {
	srv    *smtpServer
	authed bool
	cur    letter
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != s.srv.user || pass != s.srv.pass {
			return errors.New("invalid credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if s.srv.tempFail > 0 {
		s.srv.tempFail--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.cur.data = b
	s.srv.letters = append(s.srv.letters, s.cur)
	return nil
}

func (s *smtpSession) Reset()        { s.cur = letter{} }
func (s *smtpSession) Logout() error { return nil }

func (s *smtpServer) got() []letter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]letter(nil), s.letters...)
}

func startSMTP(t *testing.T, srv *smtpServer) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := smtp.NewServer(srv)
	s.Domain, s.AllowInsecureAuth = "localhost", true
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	srv.addr = l.Addr().String()
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
}

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
		srv := &smtpServer{user: "crm", pass: "s3cret", tempFail: 1}
		startSMTP(t, srv)
		host, port, _ := net.SplitHostPort(srv.addr)
		portN, _ := strconv.Atoi(port)
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
		for len(srv.got()) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		got := srv.got()
		if len(got) != 1 {
			var state, errs string
			_ = d.Reader().QueryRowContext(ctx, "SELECT state, CAST(errors AS TEXT) FROM river_job WHERE kind = 'notify.send'").Scan(&state, &errs)
			t.Fatalf("%d letters; the send job: %s %s", len(got), state, errs)
		}
		msg, err := mail.ReadMessage(strings.NewReader(string(got[0].data)))
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
		mine, _ := n.List(ctx, m.ID, 1)
		if got[0].from != "crm@example.ru" || strings.Join(got[0].to, ",") != "manager@example.ru" || subject != "Новый лид: Заявка на щебень" ||
			msg.Header.Get("Message-Id") != "<notify-"+itoa(mine[0].ID)+"@example.ru>" ||
			!strings.Contains(string(body), "https://crm.example.ru/e/lead/"+itoa(l.ID)) {
			t.Fatalf("letter from %s to %v, subject %q, id %q:\n%s", got[0].from, got[0].to, subject, msg.Header.Get("Message-Id"), body)
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
		if c := len(srv.got()); c != 1 {
			t.Fatalf("%d letters after the send ran again", c)
		}
	})
}
