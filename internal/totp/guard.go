package totp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"strconv"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
)

// ErrWrongCode: the code is not the user's current code nor an unused
// recovery code.
var ErrWrongCode = errors.New("totp: wrong code")

// ErrReplay: the code was right but its time step was used already.
var ErrReplay = errors.New("totp: code already used")

// Guard is the second sign-in factor of an installation: it keeps each
// user's key sealed in the store and checks codes. The UI's sign-in form
// and the API's POST /api/v1/session use the same Guard; API keys do not
// pass through it (a key is a credential of its own, revocable by the
// user and the administrators).
type Guard struct {
	store  *store.Store
	box    *secret.Box
	issuer string
	// RequireAdmins makes every administrator enrol before using the UI
	// (OBMEN_REQUIRE_TOTP_ADMINS=1).
	RequireAdmins bool
	now           func() time.Time
}

// NewGuard returns the Guard over a store and the installation's secret
// box; issuer names the installation in authenticator apps.
func NewGuard(st *store.Store, box *secret.Box, issuer string, requireAdmins bool) *Guard {
	if issuer == "" {
		issuer = "Obmen"
	}
	return &Guard{store: st, box: box, issuer: issuer, RequireAdmins: requireAdmins, now: time.Now}
}

// SetClock replaces the clock (tests).
func (g *Guard) SetClock(now func() time.Time) { g.now = now }

// Required reports whether the installation makes this user enrol.
func (g *Guard) Required(u crm.User) bool { return g.RequireAdmins && u.Role == crm.RoleAdmin }

// Enabled reports whether the user signs in with a code.
func (g *Guard) Enabled(ctx context.Context, userID int64) (bool, error) {
	return g.store.TOTPEnabled(ctx, userID)
}

// Enrolment is what the user copies into an authenticator app.
type Enrolment struct {
	Secret string // base32
	URI    string // otpauth://
	QR     []byte // PNG of URI
}

// Pending returns the user's pending enrolment, starting one when there is
// none (a page reload shows the same key); store.ErrTOTPEnabled when the
// factor is on already.
func (g *Guard) Pending(ctx context.Context, u crm.User) (Enrolment, error) {
	t, err := g.store.GetTOTP(ctx, u.ID)
	var key []byte
	switch {
	case err == nil && t.Enabled:
		return Enrolment{}, store.ErrTOTPEnabled
	case err == nil:
		plain, oerr := g.box.Open(t.Secret)
		if oerr != nil {
			return Enrolment{}, fmt.Errorf("totp: pending key of user %d: %w", u.ID, oerr)
		}
		key = []byte(plain)
	case errors.Is(err, store.ErrNotFound):
		key = NewSecret()
		sealed, serr := g.box.Seal(string(key))
		if serr != nil {
			return Enrolment{}, serr
		}
		if err := g.store.BeginTOTP(ctx, u.ID, sealed); err != nil {
			return Enrolment{}, err
		}
	default:
		return Enrolment{}, err
	}
	e := Enrolment{Secret: Encode(key), URI: URI(g.issuer, u.Login, key)}
	qr, err := qrcode.New(e.URI, qrcode.Medium)
	if err != nil {
		return e, fmt.Errorf("totp: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, qr.Image(240)); err != nil {
		return e, fmt.Errorf("totp: QR code: %w", err)
	}
	e.QR = buf.Bytes()
	return e, nil
}

// Confirm switches the pending factor on when code is its current code,
// and returns the recovery codes — the one time they are seen.
func (g *Guard) Confirm(ctx context.Context, userID int64, code string) ([]string, error) {
	t, err := g.store.GetTOTP(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrWrongCode
	}
	if err != nil {
		return nil, err
	}
	if t.Enabled {
		return nil, store.ErrTOTPEnabled
	}
	key, err := g.box.Open(t.Secret)
	if err != nil {
		return nil, fmt.Errorf("totp: key of user %d: %w", userID, err)
	}
	step, ok := Verify([]byte(key), code, g.now())
	if !ok {
		return nil, ErrWrongCode
	}
	codes := NewRecoveryCodes()
	hashes := make([]string, len(codes))
	for i, c := range codes {
		hashes[i] = HashRecovery(c)
	}
	if err := g.store.EnableTOTP(ctx, userID, step, hashes); err != nil {
		return nil, err
	}
	return codes, nil
}

// Check verifies the second step of a sign-in: a 6-digit code of the
// user's key, used once (ErrReplay for a second use of the same step), or
// one of the user's unused recovery codes, spent by this use.
func (g *Guard) Check(ctx context.Context, userID int64, code string) error {
	code = strings.TrimSpace(code)
	t, err := g.store.GetTOTP(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !t.Enabled) {
		return ErrWrongCode
	}
	if err != nil {
		return err
	}
	if len(code) == Digits {
		key, err := g.box.Open(t.Secret)
		if err != nil {
			return fmt.Errorf("totp: key of user %d: %w", userID, err)
		}
		step, ok := Verify([]byte(key), code, g.now())
		if !ok {
			return ErrWrongCode
		}
		if err := g.store.UseTOTPStep(ctx, userID, step); errors.Is(err, store.ErrTOTPReplay) {
			return ErrReplay
		} else if err != nil {
			return err
		}
		return nil
	}
	if code == "" {
		return ErrWrongCode
	}
	if err := g.store.UseRecoveryCode(ctx, userID, HashRecovery(code)); errors.Is(err, store.ErrBadCredentials) {
		return ErrWrongCode
	} else if err != nil {
		return err
	}
	return nil
}

// Reset removes the user's factor and recovery codes.
func (g *Guard) Reset(ctx context.Context, userID int64) error { return g.store.ResetTOTP(ctx, userID) }

// ticketTTL is how long the second step may follow the password.
const ticketTTL = 5 * time.Minute

// Ticket is what a browser holds between the password and the code: the
// user id and an expiry under an HMAC of the installation's key, so that
// no session exists before the code is right and nothing is stored.
func (g *Guard) Ticket(userID int64) string {
	body := fmt.Sprintf("%d.%d", userID, g.now().Add(ticketTTL).Unix())
	return body + "." + g.ticketMAC(body)
}

// TicketUser returns the user of a valid, unexpired ticket.
func (g *Guard) TicketUser(ticket string) (int64, bool) {
	i := strings.LastIndexByte(ticket, '.')
	if i < 0 {
		return 0, false
	}
	body, mac := ticket[:i], ticket[i+1:]
	if !hmac.Equal([]byte(mac), []byte(g.ticketMAC(body))) {
		return 0, false
	}
	id, exp, ok := strings.Cut(body, ".")
	if !ok {
		return 0, false
	}
	uid, err1 := strconv.ParseInt(id, 10, 64)
	until, err2 := strconv.ParseInt(exp, 10, 64)
	if err1 != nil || err2 != nil || g.now().Unix() > until {
		return 0, false
	}
	return uid, true
}

func (g *Guard) ticketMAC(body string) string {
	m := hmac.New(sha256.New, g.box.Derive("totp sign-in ticket"))
	m.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
