package address

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/secret"
)

// DaDataKeySetting is the setting holding the DaData API key an admin
// entered, sealed by the secrets box; "" or unset: suggestions come from
// the imported base only.
const DaDataKeySetting = "address.dadata_key"

// Source chooses, on each request, where suggestions come from: DaData
// when an admin saved a key (falling back to the imported base when it
// fails), else the imported base. The admin UI's address blocks and the
// REST API share one, so both answer alike and the settings page shows
// DaData's last failure whichever surface met it.
type Source struct {
	DB   *db.DB
	Box  *secret.Box  // opens the sealed key; nil: the imported base only
	HTTP *http.Client // the SSRF-guarded outbound client
	URL  string       // DaDataURL unless a test's fake ("" is DaDataURL)
	Log  *slog.Logger // nil: slog.Default
	Base Suggester    // nil: Local{DB}

	mu       sync.Mutex
	failedAt time.Time
	failure  error
}

// Suggest answers q from the source chosen now.
func (s *Source) Suggest(ctx context.Context, q Query) ([]Suggestion, error) {
	return s.Suggester(ctx).Suggest(ctx, q)
}

// Suggester is the source of one request.
func (s *Source) Suggester(ctx context.Context) Suggester {
	var base Suggester = Local{DB: s.DB}
	if s.Base != nil {
		base = s.Base
	}
	if s.Box == nil {
		return base
	}
	sealed, err := s.sealedKey(ctx)
	if err != nil || sealed == "" {
		if err != nil {
			s.log().Warn("address: the DaData key cannot be read", "err", err)
		}
		return base
	}
	key, err := s.Box.Open(sealed)
	if err != nil {
		s.log().Warn("address: the DaData key cannot be opened (secret key changed?)", "err", err)
		return base
	}
	return Fallback{Primary: DaData{Key: key, URL: s.URL, HTTP: s.HTTP}, Secondary: base,
		Failed: func(err error) {
			s.log().Warn("address: DaData refused suggestions, the imported base answers", "err", err)
			s.mu.Lock()
			s.failedAt, s.failure = time.Now(), err
			s.mu.Unlock()
		}}
}

// KeySet says whether an admin saved a DaData key.
func (s *Source) KeySet(ctx context.Context) bool {
	sealed, err := s.sealedKey(ctx)
	return err == nil && sealed != ""
}

// LastFailure is DaData's last refusal heard by this instance (nil:
// none since the key was last saved).
func (s *Source) LastFailure() (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failedAt, s.failure
}

// KeyChanged forgets the last failure (a new key is tried afresh).
func (s *Source) KeyChanged() {
	s.mu.Lock()
	s.failure = nil
	s.mu.Unlock()
}

func (s *Source) sealedKey(ctx context.Context) (string, error) {
	var v string
	err := s.DB.Read.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = $1", DaDataKeySetting).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func (s *Source) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}
