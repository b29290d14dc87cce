package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/jobs"
)

// scanArgs is the periodic scan.
type scanArgs struct{}

func (scanArgs) Kind() string { return "notify.scan" }

type scanWorker struct {
	river.WorkerDefaults[scanArgs]
	s *Service
}

func (w *scanWorker) Work(ctx context.Context, _ *river.Job[scanArgs]) error {
	// A backlog (a big import) is worked through a batch at a time.
	for range 20 {
		n, err := w.s.Scan(ctx)
		if err != nil || n == 0 {
			return err
		}
	}
	return nil
}

type sendWorker struct {
	river.WorkerDefaults[sendArgs]
	s *Service
}

func (w *sendWorker) Work(ctx context.Context, j *river.Job[sendArgs]) error {
	return w.s.send(ctx, j.Args)
}

// Register adds the service's workers.
func (s *Service) Register(w *river.Workers) {
	river.AddWorker(w, &scanWorker{s: s})
	river.AddWorker(w, &sendWorker{s: s})
}

// Start gives the service the runner its scans enqueue sends on.
func (s *Service) Start(r *jobs.Runner) { s.runner = r }

// Periodic schedules the scan every interval.
func Periodic(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval), func() (river.JobArgs, *river.InsertOpts) {
		return scanArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: interval}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}

// send delivers one notification over one channel; an error makes River
// try again later.
func (s *Service) send(ctx context.Context, a sendArgs) error {
	var n Notification
	var email string
	var p Prefs
	err := s.db.Reader().QueryRowContext(ctx, `SELECT n.id, n.user_id, n.kind, n.entity, n.record_id, n.title, n.body, u.email,
		COALESCE(p.email, FALSE), COALESCE(p.telegram_chat_id, '')
		FROM notifications n JOIN users u ON u.id = n.user_id LEFT JOIN notify_prefs p ON p.user_id = n.user_id WHERE n.id = $1`, a.NotificationID).
		Scan(&n.ID, &n.UserID, &n.Kind, &n.Entity, &n.RecordID, &n.Title, &n.Body, &email, &p.Email, &p.TelegramChatID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // gone
	}
	if err != nil {
		return fmt.Errorf("notify: send %d: %w", a.NotificationID, err)
	}
	// A job River runs again after it sent (a crash before the job was
	// marked done) finds its send recorded and sends nothing.
	var sent int
	if err := s.db.Reader().QueryRowContext(ctx, "SELECT COUNT(*) FROM notify_sent WHERE notification_id = $1 AND channel = $2",
		a.NotificationID, a.Channel).Scan(&sent); err != nil {
		return fmt.Errorf("notify: send %d: %w", a.NotificationID, err)
	}
	if sent > 0 {
		return nil
	}
	switch a.Channel {
	case "telegram":
		if s.telegram == nil || p.TelegramChatID == "" {
			return nil // turned off since
		}
		err = s.telegram.Send(ctx, p.TelegramChatID, n)
	case "email":
		if s.email == nil || !p.Email || email == "" {
			return nil
		}
		err = s.email.Send(ctx, email, n)
	default:
		return fmt.Errorf("notify: unknown channel %q", a.Channel)
	}
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notify_sent (notification_id, channel, sent_at) VALUES ($1, $2, $3)
			ON CONFLICT (notification_id, channel) DO NOTHING`, a.NotificationID, a.Channel, s.now().UnixMicro()); err != nil {
			return fmt.Errorf("notify: record send %d: %w", a.NotificationID, err)
		}
		return nil
	})
}
