package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TOTP is a user's second sign-in factor (internal/totp). Secret is sealed
// by the caller (secret.Box); the store never sees the key in clear.
type TOTP struct {
	UserID    int64
	Secret    string // sealed
	Enabled   bool
	LastStep  int64
	CreatedAt time.Time
	EnabledAt time.Time
	// RecoveryLeft counts the unused recovery codes.
	RecoveryLeft int
}

// GetTOTP returns a user's TOTP row, ErrNotFound when the user has none.
func (s *Store) GetTOTP(ctx context.Context, userID int64) (TOTP, error) {
	t := TOTP{UserID: userID}
	var created, enabled int64
	err := s.db.Read.QueryRowContext(ctx, `SELECT secret, enabled, last_step, created_at, enabled_at,
		(SELECT COUNT(*) FROM user_totp_recovery r WHERE r.user_id = user_totp.user_id AND r.used_at = 0)
		FROM user_totp WHERE user_id = $1`, userID).Scan(&t.Secret, &t.Enabled, &t.LastStep, &created, &enabled, &t.RecoveryLeft)
	if errors.Is(err, sql.ErrNoRows) {
		return t, NotFound("TOTP of user", userID)
	}
	if err != nil {
		return t, fmt.Errorf("store: TOTP of user %d: %w", userID, err)
	}
	t.CreatedAt, t.EnabledAt = fromMicro(created), fromMicro(enabled)
	return t, nil
}

// TOTPEnabled reports whether a user signs in with a second factor.
func (s *Store) TOTPEnabled(ctx context.Context, userID int64) (bool, error) {
	var on bool
	err := s.db.Read.QueryRowContext(ctx, "SELECT enabled FROM user_totp WHERE user_id = $1", userID).Scan(&on)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: TOTP of user %d: %w", userID, err)
	}
	return on, nil
}

// BeginTOTP stores a pending (not yet enabled) secret for a user, in place
// of an earlier pending one. An enabled factor is not replaced: it must be
// switched off first.
func (s *Store) BeginTOTP(ctx context.Context, userID int64, sealed string) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO user_totp (user_id, secret, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = 0
			WHERE user_totp.enabled = FALSE`, userID, sealed, micro(s.now()))
		if err != nil {
			return fmt.Errorf("store: begin TOTP of user %d: %w", userID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrTOTPEnabled
		}
		return nil
	})
}

// ErrTOTPEnabled: the user's second factor is already on.
var ErrTOTPEnabled = errors.New("store: TOTP is already enabled")

// ErrTOTPReplay: the code's time step was used already.
var ErrTOTPReplay = errors.New("store: TOTP code already used")

// EnableTOTP switches a pending factor on after its first code (of time
// step step) was confirmed, and stores the recovery codes' hashes.
func (s *Store) EnableTOTP(ctx context.Context, userID, step int64, recoveryHashes []string) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := micro(s.now())
		res, err := tx.ExecContext(ctx, "UPDATE user_totp SET enabled = TRUE, enabled_at = $1, last_step = $2 WHERE user_id = $3 AND enabled = FALSE",
			now, step, userID)
		if err != nil {
			return fmt.Errorf("store: enable TOTP of user %d: %w", userID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrTOTPEnabled
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM user_totp_recovery WHERE user_id = $1", userID); err != nil {
			return fmt.Errorf("store: recovery codes of user %d: %w", userID, err)
		}
		for _, h := range recoveryHashes {
			if _, err := tx.ExecContext(ctx, "INSERT INTO user_totp_recovery (user_id, code_hash) VALUES ($1, $2)", userID, h); err != nil {
				return fmt.Errorf("store: recovery codes of user %d: %w", userID, err)
			}
		}
		return nil
	})
}

// UseTOTPStep records that the code of time step step signed the user in;
// ErrTOTPReplay when that step or a later one was used already, so that a
// code seen over a shoulder or in a log cannot be used again.
func (s *Store) UseTOTPStep(ctx context.Context, userID, step int64) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE user_totp SET last_step = $1 WHERE user_id = $2 AND enabled = TRUE AND last_step < $1", step, userID)
		if err != nil {
			return fmt.Errorf("store: use TOTP step of user %d: %w", userID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrTOTPReplay
		}
		return nil
	})
}

// UseRecoveryCode spends one recovery code (by its hash); ErrBadCredentials
// when it is unknown or spent.
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, hash string) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE user_totp_recovery SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at = 0",
			micro(s.now()), userID, hash)
		if err != nil {
			return fmt.Errorf("store: use recovery code of user %d: %w", userID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrBadCredentials
		}
		return nil
	})
}

// ResetTOTP removes a user's second factor and recovery codes (the user
// switching it off, or an administrator resetting a lost device).
func (s *Store) ResetTOTP(ctx context.Context, userID int64) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var on bool
		err := tx.QueryRowContext(ctx, "SELECT enabled FROM user_totp WHERE user_id = $1", userID).Scan(&on)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: reset TOTP of user %d: %w", userID, err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM user_totp_recovery WHERE user_id = $1", userID); err != nil {
			return fmt.Errorf("store: reset TOTP of user %d: %w", userID, err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM user_totp WHERE user_id = $1", userID); err != nil {
			return fmt.Errorf("store: reset TOTP of user %d: %w", userID, err)
		}
		return nil
	})
}
