package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// settingsKey is the row of the settings table holding Settings as JSON.
const settingsKey = "commerceml.exchange"

// cursorKey holds the last change event covered by a confirmed sale query.
const cursorKey = "commerceml.sale_cursor"

// Settings of the exchange, edited by administrators
// (GET/PUT /api/v1/exchanges/settings).
type Settings struct {
	// Enabled off: every call answers "failure\nexchange disabled".
	Enabled bool `json:"enabled"`
	// ResponsibleUserID is the user records created by the exchange are
	// assigned to; 0 is the user 1C signs in as.
	ResponsibleUserID int64 `json:"responsible_user_id"`
	Zip               bool  `json:"zip"`
	// FileLimit is the largest chunk 1C may send in one request.
	FileLimit int64 `json:"file_limit"`
	// MaxFileBytes caps one uploaded file (all its chunks).
	MaxFileBytes int64 `json:"max_file_bytes"`
	// MaxSessionBytes caps what one session (one checkauth) uploads in
	// all, every file and chunk counted; 0 is MaxFileBytes.
	MaxSessionBytes int64 `json:"max_session_bytes"`
	// MaxUnpackedBytes and MaxZipRatio cap what an archive unpacks to.
	MaxUnpackedBytes int64 `json:"max_unpacked_bytes"`
	MaxZipRatio      int64 `json:"max_zip_ratio"`
	// StatusMap maps Obmen's order statuses (English) to what is written
	// to 1C; a status not in it is written as it is.
	StatusMap map[string]string `json:"status_map"`
	// Version is the schema version written to 1C; Encoding, when set,
	// overrides the default for it (UTF-8 from 2.07, windows-1251 before).
	Version  string `json:"version"`
	Encoding string `json:"encoding"`
	// StepMillis is how long one import call may work before answering
	// "progress".
	StepMillis int64 `json:"step_millis"`
	// PriceType is the price type (its name or 1C id, from the package's
	// <ТипыЦен>) products' price is taken from; "" takes the one named
	// "Розничная", else the only one. The other types are kept per
	// product too.
	PriceType string `json:"price_type"`
	// KeepDays is how long the raw files of an exchange are kept.
	KeepDays int `json:"keep_days"`
}

// DefaultSettings are the settings before an administrator saves any.
func DefaultSettings() Settings {
	return Settings{
		Enabled: false, Zip: true, FileLimit: 100 << 20, MaxFileBytes: 2 << 30,
		MaxUnpackedBytes: 4 << 30, MaxZipRatio: 200, StatusMap: map[string]string{},
		Version: "2.04", StepMillis: 20000, KeepDays: 14,
	}
}

// Normalize fills defaults and validates.
func (s *Settings) Normalize() error {
	d := DefaultSettings()
	if s.FileLimit <= 0 {
		s.FileLimit = d.FileLimit
	}
	if s.MaxFileBytes <= 0 {
		s.MaxFileBytes = d.MaxFileBytes
	}
	if s.MaxSessionBytes < 0 {
		return crm.Invalid("max_session_bytes", "must not be negative")
	}
	if s.MaxUnpackedBytes <= 0 {
		s.MaxUnpackedBytes = d.MaxUnpackedBytes
	}
	if s.MaxZipRatio <= 0 {
		s.MaxZipRatio = d.MaxZipRatio
	}
	if s.StepMillis <= 0 {
		s.StepMillis = d.StepMillis
	}
	if s.KeepDays <= 0 {
		s.KeepDays = d.KeepDays
	}
	if s.StatusMap == nil {
		s.StatusMap = map[string]string{}
	}
	s.PriceType = strings.TrimSpace(s.PriceType)
	s.Version = strings.TrimSpace(s.Version)
	if s.Version == "" {
		s.Version = d.Version
	}
	if err := commerceml.CheckVersion(s.Version); err != nil {
		return crm.Invalid("version", "%v", err)
	}
	if s.Encoding != "" {
		enc, err := commerceml.ParseEncoding(s.Encoding)
		if err != nil {
			return crm.Invalid("encoding", "must be UTF-8 or windows-1251")
		}
		s.Encoding = string(enc)
	}
	if s.ResponsibleUserID < 0 {
		return crm.Invalid("responsible_user_id", "must not be negative")
	}
	return nil
}

// SessionQuota is what one session may upload in all.
func (s *Settings) SessionQuota() int64 {
	if s.MaxSessionBytes > 0 {
		return s.MaxSessionBytes
	}
	return s.MaxFileBytes
}

// WriteEncoding is the encoding of documents written to 1C.
func (s *Settings) WriteEncoding() commerceml.Encoding {
	if s.Encoding != "" {
		return commerceml.Encoding(s.Encoding)
	}
	return commerceml.DefaultEncoding(s.Version)
}

// LoadSettings reads the settings (defaults when never saved).
func LoadSettings(ctx context.Context, st *store.Store) (Settings, error) {
	s := DefaultSettings()
	v, err := st.GetSetting(ctx, settingsKey)
	if errors.Is(err, store.ErrNotFound) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return s, fmt.Errorf("exchange: settings: %w", err)
	}
	return s, s.Normalize()
}

// SaveSettings validates and stores the settings.
func SaveSettings(ctx context.Context, st *store.Store, actor crm.Actor, s Settings) (Settings, error) {
	if err := s.Normalize(); err != nil {
		return s, err
	}
	if s.ResponsibleUserID != 0 {
		if _, err := st.GetUser(ctx, s.ResponsibleUserID); err != nil {
			return s, crm.Invalid("responsible_user_id", "no such user: %d", s.ResponsibleUserID)
		}
	}
	b, _ := json.Marshal(s)
	return s, st.SetSetting(ctx, actor, settingsKey, string(b))
}
