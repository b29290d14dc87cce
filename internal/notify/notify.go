// Package notify tells users what needs them: a record assigned to them
// (a new lead from intake included), an activity about to start, and, to
// administrators, a failed intake request or webhook delivery. Every
// notification shows under the bell in the UI; a user may also have it
// sent by e-mail or Telegram (notify_prefs), each send a durable River
// job enqueued in the transaction that made the notification.
//
// A periodic job scans: the change-event log after its cursor (as the
// webhook dispatcher does), the activities starting within Ahead, the
// intake journal's and the deliveries' failures. A notification's dedup
// key makes a second instance scanning at once insert nothing new.
package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/jobs"
	"github.com/riverqueue/river"
)

// Kinds of notification.
const (
	KindAssigned     = "assigned"      // a record was given to the user
	KindActivityDue  = "activity_due"  // an activity starts soon
	KindIntakeFailed = "intake_failed" // (admins) a web form, mail or HTTP request was refused
	KindDeliveryFail = "delivery_failed"
	// KindConnectionBroken: (admins) the remote side refuses a saved
	// connection (a deleted webhook, a refused token); once per break.
	KindConnectionBroken = "connection_broken"
	// KindSiteFailing: (the site's responsible user and admins) an
	// exchange with a web shop has failed alert_after times in a row; once
	// per failing streak. KindSiteRecovered: it works again (once per
	// streak that was alerted).
	KindSiteFailing   = "site_failing"
	KindSiteRecovered = "site_recovered"
)

// Ahead is how long before an activity starts its reminder comes.
const Ahead = 15 * time.Minute

// Notification is one message to one user.
type Notification struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"user_id"`
	Kind      string    `json:"kind"`
	Entity    string    `json:"entity"`
	RecordID  int64     `json:"record_id"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Read      bool      `json:"read"`
	CreatedAt time.Time `json:"created_at"`
	dedup     string
}

// Link is the notification's page in the UI.
func (n Notification) Link() string {
	switch {
	case n.Kind == KindConnectionBroken:
		return "/admin/connections/" + strconv.FormatInt(n.RecordID, 10)
	case n.Kind == KindSiteFailing || n.Kind == KindSiteRecovered:
		return "/admin/sites/" + strconv.FormatInt(n.RecordID, 10)
	case n.Entity != "" && n.RecordID != 0:
		return "/e/" + n.Entity + "/" + strconv.FormatInt(n.RecordID, 10)
	case n.Kind == KindIntakeFailed:
		return "/integrations"
	case n.Kind == KindDeliveryFail:
		return "/admin/webhooks"
	}
	return "/notifications"
}

// Prefs are a user's channels besides the bell.
type Prefs struct {
	Email          bool   `json:"email"`
	TelegramChatID string `json:"telegram_chat_id"`
}

// Sender sends one notification over a channel (e-mail, Telegram).
type Sender interface {
	Send(ctx context.Context, to string, n Notification) error
}

// Service scans for occasions and keeps the notifications.
type Service struct {
	db       *db.DB
	log      *slog.Logger
	now      func() time.Time
	runner   *jobs.Runner
	telegram Sender // nil: not configured
	email    Sender // nil: not configured
}

// New returns the service; senders may be nil (that channel is off).
func New(d *db.DB, telegram, email Sender, log *slog.Logger) *Service {
	return &Service{db: d, log: log, now: func() time.Time { return time.Now().UTC() }, telegram: telegram, email: email}
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Channels reports which channels besides the bell are configured.
func (s *Service) Channels() (email, telegram bool) { return s.email != nil, s.telegram != nil }

// entityTitles is the SQL giving a record's title, per entity.
var entityTitles = map[string]string{
	"lead":        "SELECT title FROM leads WHERE id = $1",
	"contact":     "SELECT TRIM(last_name || ' ' || name) FROM contacts WHERE id = $1",
	"account":     "SELECT title FROM accounts WHERE id = $1",
	"deal":        "SELECT title FROM deals WHERE id = $1",
	"sales_order": "SELECT number FROM sales_orders WHERE id = $1",
	"invoice":     "SELECT number FROM invoices WHERE id = $1",
	"ticket":      "SELECT title FROM tickets WHERE id = $1",
	"activity":    "SELECT subject FROM activities WHERE id = $1",
}

// entityNames are the entities' names in the notifications' titles.
var entityNames = map[string]string{
	"lead": "Лид", "contact": "Контакт", "account": "Компания", "deal": "Сделка", "sales_order": "Заказ",
	"invoice": "Счёт", "ticket": "Обращение", "activity": "Дело",
}

const (
	cursorEvents     = "notify.events"
	cursorIntake     = "notify.intake"
	cursorDeliveries = "notify.deliveries"
	scanBatch        = 500
)

// Scan makes the notifications of everything that happened since the last
// scan, in one transaction with their send jobs and the cursors. It
// returns how many it made.
func (s *Service) Scan(ctx context.Context) (int, error) {
	// One scan at a time across instances: two at once read the same
	// cursors, and their upserts of the cursor rows and of the same
	// notifications' dedup keys could wait on each other — PostgreSQL
	// then fails one with a deadlock (seen in CI).
	release, err := s.db.LockKeys(ctx, "notify.scan")
	if err != nil {
		return 0, fmt.Errorf("notify: scan: %w", err)
	}
	defer release()
	var made int
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		made = 0
		var out []Notification
		now := s.now()
		cur, err := cursors(ctx, tx)
		if err != nil {
			return err
		}
		// Assignments, from the change-event log. The first scan of an
		// installation starts at the log's end: nobody is told the past.
		if _, ok := cur[cursorEvents]; !ok {
			var end int64
			if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM events").Scan(&end); err != nil {
				return fmt.Errorf("notify: log end: %w", err)
			}
			cur[cursorEvents] = end
		}
		evs, err := events.Read(ctx, tx, events.Query{After: cur[cursorEvents], Limit: scanBatch})
		if err != nil {
			return fmt.Errorf("notify: read events: %w", err)
		}
		for _, ev := range evs {
			n, ok, err := assigned(ctx, tx, ev)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, n)
			}
			cur[cursorEvents] = ev.ID
		}
		// Reminders: activities starting up to Ahead from now, not done.
		// Each scan looks at the whole window (an activity made or moved
		// into it late is still reminded of); the dedup key, which names
		// the start, makes it once per start.
		rows, err := tx.QueryContext(ctx, `SELECT id, subject, assigned_by_id, start_at FROM activities
			WHERE start_at > $1 AND start_at <= $2 AND done = FALSE AND deleted_at = 0 ORDER BY start_at LIMIT 1000`,
			now.UnixMicro(), now.Add(Ahead).UnixMicro())
		if err != nil {
			return fmt.Errorf("notify: due activities: %w", err)
		}
		for rows.Next() {
			var id, user, start int64
			var subject string
			if err := rows.Scan(&id, &subject, &user, &start); err != nil {
				rows.Close()
				return fmt.Errorf("notify: due activities: %w", err)
			}
			at := time.UnixMicro(start).In(moscow).Format("15:04")
			out = append(out, Notification{UserID: user, Kind: KindActivityDue, Entity: "activity", RecordID: id,
				Title: "Скоро дело: " + subject, Body: "Начало в " + at + " (МСК)", dedup: fmt.Sprintf("due:%d:%d:%d", id, start, user)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("notify: due activities: %w", err)
		}
		// Failures, for the administrators.
		admins, err := adminIDs(ctx, tx)
		if err != nil {
			return err
		}
		fails, err := intakeFailures(ctx, tx, &cur)
		if err != nil {
			return err
		}
		dfails, err := deliveryFailures(ctx, tx, &cur, now)
		if err != nil {
			return err
		}
		broken, err := brokenConnections(ctx, tx)
		if err != nil {
			return err
		}
		fails = append(fails, dfails...)
		for _, f := range append(fails, broken...) {
			for _, a := range admins {
				n := f
				n.UserID, n.dedup = a, fmt.Sprintf("%s:%d", f.dedup, a)
				out = append(out, n)
			}
		}
		sites, err := siteAlerts(ctx, tx, admins)
		if err != nil {
			return err
		}
		out = append(out, sites...)
		made, err = s.insert(ctx, tx, out, now)
		if err != nil {
			return err
		}
		return saveCursors(ctx, tx, cur)
	})
	return made, err
}

var moscow = func() *time.Location {
	l, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		return time.FixedZone("MSK", 3*3600)
	}
	return l
}()

// assigned is the notification of a create or an update that gave a
// record to someone other than who made the change.
func assigned(ctx context.Context, tx *sql.Tx, ev events.Event) (Notification, bool, error) {
	q, ok := entityTitles[ev.Entity]
	if !ok || (ev.Action != events.Create && ev.Action != events.Update) {
		return Notification{}, false, nil
	}
	ch, ok := ev.Changes["assigned_by_id"]
	if !ok {
		return Notification{}, false, nil
	}
	var user int64
	if err := json.Unmarshal(ch.New, &user); err != nil || user == 0 || user == ev.ActorUserID {
		return Notification{}, false, nil
	}
	var title string
	if err := tx.QueryRowContext(ctx, q, ev.RecordID).Scan(&title); errors.Is(err, sql.ErrNoRows) {
		return Notification{}, false, nil
	} else if err != nil {
		return Notification{}, false, fmt.Errorf("notify: %s %d: %w", ev.Entity, ev.RecordID, err)
	}
	what := "Вам передан"
	if ev.Action == events.Create {
		what = "Новый"
	}
	name := entityNames[ev.Entity]
	if ev.Entity == "lead" && ev.Action == events.Create {
		name = "лид"
	} else {
		name = strings.ToLower(name)
	}
	n := Notification{UserID: user, Kind: KindAssigned, Entity: ev.Entity, RecordID: ev.RecordID,
		Title: fmt.Sprintf("%s %s: %s", what, name, title), dedup: fmt.Sprintf("ev:%d:%d", ev.ID, user)}
	if ev.Entity == "deal" || ev.Entity == "invoice" || ev.Entity == "sales_order" || ev.Entity == "account" || ev.Entity == "activity" || ev.Entity == "ticket" {
		n.Title = fmt.Sprintf("Вам назначено: %s «%s»", strings.ToLower(entityNames[ev.Entity]), title)
	}
	return n, true, nil
}

func adminIDs(ctx context.Context, tx *sql.Tx) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, "SELECT id FROM users WHERE role = 'admin' AND active = TRUE ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("notify: admins: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("notify: admins: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

var channelNames = map[string]string{"form": "веб-формы", "mail": "почты", "http": "HTTP-приёма"}

func intakeFailures(ctx context.Context, tx *sql.Tx, cur *map[string]int64) ([]Notification, error) {
	c := *cur
	if _, ok := c[cursorIntake]; !ok {
		// From now on: an installation is not told its past.
		var end int64
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM intake_journal").Scan(&end); err != nil {
			return nil, fmt.Errorf("notify: intake journal: %w", err)
		}
		c[cursorIntake] = end
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, "SELECT id, source, field, error FROM intake_journal WHERE id > $1 AND outcome = 'failed' ORDER BY id LIMIT $2", c[cursorIntake], scanBatch)
	if err != nil {
		return nil, fmt.Errorf("notify: intake journal: %w", err)
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var id int64
		var source, field, msg string
		if err := rows.Scan(&id, &source, &field, &msg); err != nil {
			return nil, fmt.Errorf("notify: intake journal: %w", err)
		}
		c[cursorIntake] = id
		if msg == "" {
			continue
		}
		body := msg
		if field != "" {
			body = field + ": " + msg
		}
		out = append(out, Notification{Kind: KindIntakeFailed, Title: "Заявка " + channelNames[source] + " не принята", Body: body,
			dedup: fmt.Sprintf("intake:%d", id)})
	}
	return out, rows.Err()
}

func deliveryFailures(ctx context.Context, tx *sql.Tx, cur *map[string]int64, now time.Time) ([]Notification, error) {
	c := *cur
	if _, ok := c[cursorDeliveries]; !ok {
		c[cursorDeliveries] = now.UnixMicro()
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT d.id, d.updated_at, d.last_error, w.name FROM deliveries d JOIN outbound_webhooks w ON w.id = d.webhook_id
		WHERE d.status = 'failed' AND d.updated_at > $1 ORDER BY d.updated_at LIMIT $2`, c[cursorDeliveries], scanBatch)
	if err != nil {
		return nil, fmt.Errorf("notify: failed deliveries: %w", err)
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var id, at int64
		var msg, hook string
		if err := rows.Scan(&id, &at, &msg, &hook); err != nil {
			return nil, fmt.Errorf("notify: failed deliveries: %w", err)
		}
		c[cursorDeliveries] = at
		out = append(out, Notification{Kind: KindDeliveryFail, Title: "Не доставлено событие вебхука «" + hook + "»", Body: msg,
			dedup: fmt.Sprintf("delivery:%d:%d", id, at)})
	}
	return out, rows.Err()
}

// brokenConnections are the connections marked broken now. There are
// few: each scan reads them all, and the dedup key, which names the
// break's time, makes one notification per break (a connection failing
// on every run is told of once; fixed and broken again, once more).
func brokenConnections(ctx context.Context, tx *sql.Tx) ([]Notification, error) {
	rows, err := tx.QueryContext(ctx, "SELECT id, name, broken_at, broken_reason FROM connections WHERE broken_at <> 0 ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("notify: broken connections: %w", err)
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var id, at int64
		var name, reason string
		if err := rows.Scan(&id, &name, &at, &reason); err != nil {
			return nil, fmt.Errorf("notify: broken connections: %w", err)
		}
		out = append(out, Notification{Kind: KindConnectionBroken, RecordID: id, Title: "Подключение «" + name + "» не работает",
			Body: "Ответ сервера: " + reason + ". Исправьте настройки и нажмите «Проверить».", dedup: fmt.Sprintf("conn:%d:%d", id, at)})
	}
	return out, rows.Err()
}

func cursors(ctx context.Context, tx *sql.Tx) (map[string]int64, error) {
	rows, err := tx.QueryContext(ctx, "SELECT name, last_id FROM outbox_cursors WHERE name LIKE 'notify.%'")
	if err != nil {
		return nil, fmt.Errorf("notify: cursors: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			return nil, fmt.Errorf("notify: cursors: %w", err)
		}
		out[name] = v
	}
	return out, rows.Err()
}

// saveCursors moves the cursors forward only: a scan that raced another
// never takes one back.
func saveCursors(ctx context.Context, tx *sql.Tx, cur map[string]int64) error {
	// In the names' order (a map's is random), so that writers of the
	// same rows take their locks in one order.
	for _, name := range slices.Sorted(maps.Keys(cur)) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox_cursors (name, last_id) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id WHERE outbox_cursors.last_id < excluded.last_id`, name, cur[name]); err != nil {
			return fmt.Errorf("notify: save cursor %s: %w", name, err)
		}
	}
	return nil
}

// sendArgs is the job that sends one notification over one channel.
type sendArgs struct {
	NotificationID int64  `json:"notification_id"`
	Channel        string `json:"channel"` // "email", "telegram"
}

func (sendArgs) Kind() string { return "notify.send" }

// sendOpts: tried for about 11 hours (River backs off attempt⁴ seconds), and
// one job per notification and channel however it was enqueued.
var sendOpts = &river.InsertOpts{MaxAttempts: 12, UniqueOpts: river.UniqueOpts{ByArgs: true}}

// insert writes the notifications new to the table and enqueues their
// sends per the users' preferences.
func (s *Service) insert(ctx context.Context, tx *sql.Tx, ns []Notification, now time.Time) (int, error) {
	var jobsToAdd []river.InsertManyParams
	made := 0
	prefs := map[int64]*Prefs{}
	for _, n := range ns {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO notifications (user_id, kind, entity, record_id, title, body, dedup, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (dedup) DO NOTHING RETURNING id`,
			n.UserID, n.Kind, n.Entity, n.RecordID, crm.ClipRunes(n.Title, 500), crm.ClipRunes(n.Body, 2000), n.dedup, now.UnixMicro()).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			continue // another scan made it
		}
		if err != nil {
			return 0, fmt.Errorf("notify: insert: %w", err)
		}
		made++
		p, ok := prefs[n.UserID]
		if !ok {
			p = &Prefs{}
			err := tx.QueryRowContext(ctx, "SELECT email, telegram_chat_id FROM notify_prefs WHERE user_id = $1", n.UserID).Scan(&p.Email, &p.TelegramChatID)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return 0, fmt.Errorf("notify: preferences of user %d: %w", n.UserID, err)
			}
			prefs[n.UserID] = p
		}
		if p.Email && s.email != nil {
			jobsToAdd = append(jobsToAdd, river.InsertManyParams{Args: sendArgs{id, "email"}, InsertOpts: sendOpts})
		}
		if p.TelegramChatID != "" && s.telegram != nil {
			jobsToAdd = append(jobsToAdd, river.InsertManyParams{Args: sendArgs{id, "telegram"}, InsertOpts: sendOpts})
		}
	}
	if len(jobsToAdd) > 0 {
		if s.runner == nil {
			return 0, errors.New("notify: sends to enqueue before Start")
		}
		if err := s.runner.InsertManyTx(ctx, tx, jobsToAdd); err != nil {
			return 0, fmt.Errorf("notify: enqueue sends: %w", err)
		}
	}
	return made, nil
}
