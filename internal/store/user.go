package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
)

// ErrBadCredentials is returned for a wrong login, password or key; it
// never says which part was wrong.
var ErrBadCredentials = errors.New("store: bad credentials")

const userColumns = "id, login, first_name, middle_name, last_name, email, phones, position, department, role, active, work_days, work_from, work_to, created_at, updated_at"

func scanUser(sc interface{ Scan(...any) error }) (crm.User, error) {
	var u crm.User
	var phones string
	var created, updated int64
	if err := sc.Scan(&u.ID, &u.Login, &u.FirstName, &u.MiddleName, &u.LastName, &u.Email, &phones, &u.Position, &u.Department,
		&u.Role, &u.Active, &u.WorkHours.Days, &u.WorkHours.From, &u.WorkHours.To, &created, &updated); err != nil {
		return u, err
	}
	if err := json.Unmarshal([]byte(phones), &u.Phones); err != nil {
		return u, fmt.Errorf("store: user %d phones: %w", u.ID, err)
	}
	u.CreatedAt, u.UpdatedAt = fromMicro(created), fromMicro(updated)
	return u, nil
}

//go:embed common_passwords.txt
var commonPasswordsText string

// commonPasswords are refused as passwords (common_passwords.txt).
var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(commonPasswordsText, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			m[strings.ToLower(l)] = true
		}
	}
	return m
}()

// HashPassword hashes a password with bcrypt.
func HashPassword(pw string) (string, error) {
	if len(pw) < 8 {
		return "", crm.Invalid("password", "must have at least 8 characters")
	}
	if len(pw) > 72 {
		return "", crm.Invalid("password", "must have at most 72 bytes")
	}
	if commonPasswords[strings.ToLower(pw)] {
		return "", crm.Invalid("password", "is one of the most common passwords; choose another")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), passwordCost)
	if err != nil {
		return "", fmt.Errorf("store: hash password: %w", err)
	}
	return string(h), nil
}

// CreateUser adds a user; password may be empty (no sign-in until set).
func (s *Store) CreateUser(ctx context.Context, actor crm.Actor, u crm.User, password string) (crm.User, error) {
	if err := u.Normalize(); err != nil {
		return u, err
	}
	hash := ""
	if password != "" {
		var err error
		if hash, err = HashPassword(password); err != nil {
			return u, err
		}
	}
	u.Active = true
	err := s.Write(ctx, actor, func(t *Tx) error {
		u.CreatedAt, u.UpdatedAt = t.now, t.now
		err := t.tx.QueryRowContext(t.ctx, `INSERT INTO users (login, first_name, middle_name, last_name, email, phones, position, department, role, active, password_hash, created_at, updated_at,
			work_days, work_from, work_to)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
			u.Login, u.FirstName, u.MiddleName, u.LastName, u.Email, jsonText(u.Phones), u.Position, u.Department, u.Role, u.Active, hash,
			micro(u.CreatedAt), micro(u.UpdatedAt), u.WorkHours.Days, u.WorkHours.From, u.WorkHours.To).Scan(&u.ID)
		if db.IsUniqueViolation(err) {
			return crm.Invalid("login", "%q is taken", u.Login)
		}
		if err != nil {
			return fmt.Errorf("store: create user %s: %w", u.Login, err)
		}
		return nil
	})
	return u, err
}

// GetUser returns a user by id.
func (s *Store) GetUser(ctx context.Context, id int64) (crm.User, error) {
	u, err := scanUser(s.db.Read.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return u, NotFound("user", id)
	}
	return u, err
}

// UserByLogin returns a user by login.
func (s *Store) UserByLogin(ctx context.Context, login string) (crm.User, error) {
	u, err := scanUser(s.db.Read.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE login = $1", login))
	if errors.Is(err, sql.ErrNoRows) {
		return u, NotFound("user", login)
	}
	return u, err
}

// ListUsers returns all users by id.
func (s *Store) ListUsers(ctx context.Context) ([]crm.User, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT "+userColumns+" FROM users ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	out := []crm.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n)
	return n, err
}

// UpdateUser changes a user's profile, role and active flag.
func (s *Store) UpdateUser(ctx context.Context, actor crm.Actor, u crm.User) (crm.User, error) {
	if err := u.Normalize(); err != nil {
		return u, err
	}
	err := s.Write(ctx, actor, func(t *Tx) error {
		u.UpdatedAt = t.now
		res, err := t.tx.ExecContext(t.ctx, `UPDATE users SET login = $1, first_name = $2, middle_name = $3, last_name = $4, email = $5, phones = $6,
			position = $7, department = $8, role = $9, active = $10, updated_at = $11, work_days = $12, work_from = $13, work_to = $14 WHERE id = $15`,
			u.Login, u.FirstName, u.MiddleName, u.LastName, u.Email, jsonText(u.Phones), u.Position, u.Department, u.Role, u.Active, micro(u.UpdatedAt),
			u.WorkHours.Days, u.WorkHours.From, u.WorkHours.To, u.ID)
		if db.IsUniqueViolation(err) {
			return crm.Invalid("login", "%q is taken", u.Login)
		}
		if err != nil {
			return fmt.Errorf("store: update user %d: %w", u.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return NotFound("user", u.ID)
		}
		if !u.Active {
			if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM sessions WHERE user_id = $1", u.ID); err != nil {
				return fmt.Errorf("store: end sessions of user %d: %w", u.ID, err)
			}
		}
		return nil
	})
	return u, err
}

// SetPassword replaces a user's password and ends their sessions.
func (s *Store) SetPassword(ctx context.Context, actor crm.Actor, userID int64, password string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return s.Write(ctx, actor, func(t *Tx) error {
		res, err := t.tx.ExecContext(t.ctx, "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3", hash, micro(t.now), userID)
		if err != nil {
			return fmt.Errorf("store: set password of user %d: %w", userID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return NotFound("user", userID)
		}
		_, err = t.tx.ExecContext(t.ctx, "DELETE FROM sessions WHERE user_id = $1", userID)
		return err
	})
}

// dummyHash keeps a failed login by an unknown name as slow as a wrong
// password, so timing does not reveal which logins exist.
// It is made on first use: a bcrypt hash at package start would slow every
// CLI command down.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("obmen-dummy-password"), passwordCost)
	return h
})

// Authenticate checks a login and password of an active user.
func (s *Store) Authenticate(ctx context.Context, login, password string) (crm.User, error) {
	var id int64
	var hash string
	var active bool
	err := s.db.Read.QueryRowContext(ctx, "SELECT id, password_hash, active FROM users WHERE login = $1", login).Scan(&id, &hash, &active)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return crm.User{}, fmt.Errorf("store: authenticate: %w", err)
	}
	if err != nil || hash == "" {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return crm.User{}, ErrBadCredentials
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || !active {
		return crm.User{}, ErrBadCredentials
	}
	return s.GetUser(ctx, id)
}

// KeyPrefix starts every API key, so that keys are recognisable in logs
// and by secret scanners.
const KeyPrefix = "obm_"

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

func keyHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CreateAPIKey makes a key for a user and returns it in full; only its
// hash is stored, so this is the one time it can be seen. The key is
// obm_<prefix>_<secret>: the prefix finds the row, the secret's SHA-256 is
// compared in constant time (a slow hash is not needed for 256 random bits).
func (s *Store) CreateAPIKey(ctx context.Context, actor crm.Actor, userID int64, name string) (crm.APIKey, string, error) {
	k := crm.APIKey{UserID: userID, Name: strings.TrimSpace(name), Prefix: randomHex(6)}
	secret := randomHex(32)
	full := KeyPrefix + k.Prefix + "_" + secret
	err := s.Write(ctx, actor, func(t *Tx) error {
		var active bool
		if err := t.tx.QueryRowContext(t.ctx, "SELECT active FROM users WHERE id = $1", userID).Scan(&active); err != nil {
			return NotFound("user", userID)
		}
		if !active {
			return crm.Invalid("user_id", "user %d is disabled", userID)
		}
		k.CreatedAt = t.now
		return t.tx.QueryRowContext(t.ctx, "INSERT INTO api_keys (user_id, name, prefix, hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
			userID, k.Name, k.Prefix, keyHash(secret), micro(k.CreatedAt)).Scan(&k.ID)
	})
	if err != nil {
		return k, "", err
	}
	return k, full, nil
}

// KeyOwner is what a valid API key stands for.
type KeyOwner struct {
	KeyID    int64
	User     crm.User
	LastUsed time.Time
}

// CheckAPIKey validates a full key and returns its user. The comparison of
// the secret is constant-time.
func (s *Store) CheckAPIKey(ctx context.Context, full string) (KeyOwner, error) {
	rest, ok := strings.CutPrefix(full, KeyPrefix)
	if !ok {
		return KeyOwner{}, ErrBadCredentials
	}
	prefix, secret, ok := strings.Cut(rest, "_")
	if !ok || len(prefix) != 12 || len(secret) != 64 {
		return KeyOwner{}, ErrBadCredentials
	}
	epoch, heard := s.db.CredentialsEpoch()
	if heard {
		if e, ok := s.keys.get(prefix, epoch); ok {
			if subtle.ConstantTimeCompare([]byte(keyHash(secret)), []byte(e.hash)) != 1 {
				return KeyOwner{}, ErrBadCredentials
			}
			ko := e.ko
			ko.User.Phones = slices.Clone(ko.User.Phones)
			s.NoteSeen(ctx, ko.User.ID)
			return ko, nil
		}
	}
	var ko KeyOwner
	var hash string
	var lastUsed int64
	s.keyReads.Add(1)
	row := s.db.Reader().QueryRowContext(ctx, `SELECT k.id, k.hash, k.last_used_at, `+prefixed("u.", userColumns)+`
		FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.prefix = $1 AND k.revoked_at = 0`, prefix)
	var u crm.User
	var phones string
	var created, updated int64
	err := row.Scan(&ko.KeyID, &hash, &lastUsed, &u.ID, &u.Login, &u.FirstName, &u.MiddleName, &u.LastName, &u.Email, &phones,
		&u.Position, &u.Department, &u.Role, &u.Active, &u.WorkHours.Days, &u.WorkHours.From, &u.WorkHours.To, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		keyHash(secret) // same work as a hit
		return KeyOwner{}, ErrBadCredentials
	}
	if err != nil {
		return KeyOwner{}, fmt.Errorf("store: check API key: %w", err)
	}
	match := subtle.ConstantTimeCompare([]byte(keyHash(secret)), []byte(hash)) == 1
	if !u.Active {
		return KeyOwner{}, ErrBadCredentials
	}
	_ = json.Unmarshal([]byte(phones), &u.Phones)
	u.CreatedAt, u.UpdatedAt = fromMicro(created), fromMicro(updated)
	ko.User = u
	ko.LastUsed = fromMicro(lastUsed)
	// Only a key that exists and is live is remembered, whatever secret
	// came with it; the secret is compared on every request.
	if heard {
		if now, still := s.db.CredentialsEpoch(); still && now == epoch {
			s.keys.put(prefix, keyEntry{ko: ko, hash: hash, epoch: epoch})
		}
	}
	if !match {
		return KeyOwner{}, ErrBadCredentials
	}
	ko.User.Phones = slices.Clone(ko.User.Phones)
	s.NoteSeen(ctx, u.ID)
	return ko, nil
}

// TouchAPIKey records that a key was used. Callers throttle it: a write
// per request would cost more than the request.
func (s *Store) TouchAPIKey(ctx context.Context, keyID int64, at time.Time) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE api_keys SET last_used_at = $1 WHERE id = $2", micro(at), keyID)
		return err
	})
}

// ListAPIKeys lists a user's keys (0: everyone's).
func (s *Store) ListAPIKeys(ctx context.Context, userID int64) ([]crm.APIKey, error) {
	q := "SELECT id, user_id, name, prefix, created_at, last_used_at, revoked_at FROM api_keys"
	var args []any
	if userID != 0 {
		q += " WHERE user_id = $1"
		args = append(args, userID)
	}
	rows, err := s.db.Read.QueryContext(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: list API keys: %w", err)
	}
	defer rows.Close()
	out := []crm.APIKey{}
	for rows.Next() {
		var k crm.APIKey
		var created, used, revoked int64
		if err := rows.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &created, &used, &revoked); err != nil {
			return nil, fmt.Errorf("store: list API keys: %w", err)
		}
		k.CreatedAt, k.LastUsedAt, k.RevokedAt = fromMicro(created), optTime(used), optTime(revoked)
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey makes a key unusable.
func (s *Store) RevokeAPIKey(ctx context.Context, actor crm.Actor, keyID int64) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		res, err := t.tx.ExecContext(t.ctx, "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0", micro(t.now), keyID)
		if err != nil {
			return fmt.Errorf("store: revoke API key %d: %w", keyID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return NotFound("API key", keyID)
		}
		return nil
	})
}

// Session is a signed-in browser.
type Session struct {
	ID        string
	UserID    int64
	CSRF      string
	ExpiresAt time.Time
}

// CreateSession starts a session for a user; the returned ID is the cookie
// value (stored hashed).
func (s *Store) CreateSession(ctx context.Context, userID int64, ttl time.Duration) (Session, error) {
	sess := Session{ID: randomHex(32), UserID: userID, CSRF: randomHex(16)}
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		sess.ExpiresAt = now.Add(ttl)
		_, err := tx.ExecContext(ctx, "INSERT INTO sessions (id, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
			keyHash(sess.ID), userID, sess.CSRF, micro(now), micro(sess.ExpiresAt))
		return err
	})
	if err != nil {
		return sess, fmt.Errorf("store: create session: %w", err)
	}
	return sess, nil
}

// CheckSession returns a live session and its user.
func (s *Store) CheckSession(ctx context.Context, id string) (Session, crm.User, error) {
	var sess Session
	var exp int64
	err := s.db.Read.QueryRowContext(ctx, "SELECT user_id, csrf, expires_at FROM sessions WHERE id = $1", keyHash(id)).Scan(&sess.UserID, &sess.CSRF, &exp)
	if err != nil || exp < micro(s.now()) {
		return sess, crm.User{}, ErrBadCredentials
	}
	sess.ID, sess.ExpiresAt = id, fromMicro(exp)
	u, err := s.GetUser(ctx, sess.UserID)
	if err != nil || !u.Active {
		return sess, u, ErrBadCredentials
	}
	s.NoteSeen(ctx, u.ID)
	return sess, u, nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE id = $1", keyHash(id))
		return err
	})
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
