// Package config holds the settings of one Obmen process. It reads the
// environment and command-line flags; nothing here is global.
package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is everything a running Obmen needs to know about its surroundings.
type Config struct {
	DataDir       string // directory holding the SQLite file and other state
	Addr          string // HTTP listen address
	DatabaseURL   string // postgres://… switches from SQLite to PostgreSQL
	AdminPassword string // password for the first-start admin user; generated when empty
	LogFormat     string // "text" or "json"
	LogLevel      string // debug, info, warn, error

	// SQLiteSync is the SQLite synchronous pragma: NORMAL (survives a process
	// crash) or FULL (survives power loss as well).
	SQLiteSync string
	// MaxBodyBytes caps every request body of the REST API.
	MaxBodyBytes int64
	// ShutdownTimeout bounds how long in-flight requests may run after a
	// shutdown signal.
	ShutdownTimeout time.Duration
	// GroupCommitMax is the most writes committed in one SQLite transaction.
	GroupCommitMax int
	// DatabasePool caps this instance's pool of PostgreSQL connections for
	// requests (0: max(4, 3 × cores)); with several instances on one
	// database their sum is what competes for its commit order.
	DatabasePool int
	// DebugAddr, when set, serves Go's pprof profiles and /metrics on that
	// address.
	DebugAddr string
	// MetricsToken, when set, opens /metrics on the main listener to a
	// scraper that sends it as a bearer token; unset, /metrics is served
	// only on DebugAddr.
	MetricsToken string
	// PublicURL is how users and other systems reach this server
	// ("https://crm.example.ru"); it goes into the URLs Obmen hands out,
	// such as incoming-webhook addresses. Default: http://<Addr>.
	PublicURL string
	// SecretKey (base64 of 32 bytes) encrypts connector secrets; when empty
	// a key file in the data directory is used (created on first start).
	SecretKey string
	// OutboundAllow lists hosts and address ranges (CIDR) on private
	// networks that outbound requests may reach (1C on the office LAN);
	// everything private is refused otherwise.
	OutboundAllow []string
	// BitrixRateLimit (requests per second) and BitrixBurst bound each
	// incoming webhook of the Bitrix24-compatible API like Bitrix24's
	// leaky bucket; 0 turns the limit off (the default).
	BitrixRateLimit float64
	BitrixBurst     int
	// TLSCert and TLSKey, both set, make the server speak HTTPS (PEM
	// files; Bitrix24's SDK, for one, refuses plain HTTP).
	TLSCert, TLSKey string
	// TimeZone is the installation's time zone (OBMEN_TIME_ZONE, an IANA
	// name, default Europe/Moscow): the UI shows and takes times in it
	// unless an admin sets another or a user chooses their own. Times are
	// stored in UTC.
	TimeZone string
	// CurrencyRatesURL is where the Central Bank of Russia's daily rates
	// are loaded from every few hours (OBMEN_CBR_RATES_URL, default
	// https://www.cbr.ru/scripts/XML_daily.asp; "off" turns it off).
	CurrencyRatesURL string
	// MailInterval is how often the lead-intake mail collectors run
	// (OBMEN_MAIL_INTERVAL, default 1m).
	MailInterval time.Duration
	// JobRescueAfter is how long a background job may seem to run before
	// it is taken for abandoned (its process killed) and run again
	// (OBMEN_JOB_RESCUE_AFTER, default 5m).
	JobRescueAfter time.Duration
	// SiteLease is how long a run of an exchange with a web shop holds
	// its site before another run may take it: a process killed mid-run
	// frees the site within it (OBMEN_SITE_LEASE, default 2m).
	SiteLease time.Duration
	// SiteTick is how often the web shops' exchange schedules are looked
	// at (OBMEN_SITE_TICK, default 30s; the schedules are in minutes).
	SiteTick time.Duration
	// HousekeepingEvery is how often the housekeeping duties are done —
	// old automation runs purged, old 1C exchange files swept — by one
	// instance of those on the database (OBMEN_HOUSEKEEPING_EVERY,
	// default 1h).
	HousekeepingEvery time.Duration
	// PollLease is how long an instance holds a bundle whose connector
	// trigger it polls (retailCRM's history, Calltouch's journals, …): a
	// process killed mid-poll leaves the bundle to another instance after
	// it, which polls again from the same cursor (OBMEN_POLL_LEASE,
	// default 2m).
	PollLease time.Duration
	// StepTimeout bounds one step of an automation bundle's run
	// (OBMEN_AUTOMATION_STEP_TIMEOUT, default 2m).
	StepTimeout time.Duration
	// TelegramToken is the bot that sends notifications to the users who
	// gave their chat id (OBMEN_TELEGRAM_TOKEN; empty: no Telegram);
	// TelegramAPI the Bot API's address (OBMEN_TELEGRAM_API, default
	// https://api.telegram.org; a proxy or a test's fake).
	TelegramToken string
	TelegramAPI   string
	// NotifyInterval is how often notifications are looked for: new
	// assignments, activities due, failures (OBMEN_NOTIFY_INTERVAL,
	// default 15s).
	NotifyInterval time.Duration
	// SMTP sends notifications by e-mail to the users who asked for them
	// (OBMEN_SMTP_HOST, empty: no e-mail; OBMEN_SMTP_PORT, default 587;
	// OBMEN_SMTP_TLS: starttls (default, required), tls (implicit, 465) or
	// none (a relay on this host); OBMEN_SMTP_USER and OBMEN_SMTP_PASSWORD
	// for SMTP AUTH; OBMEN_SMTP_FROM, the sender's address).
	SMTPHost     string
	SMTPPort     int
	SMTPTLS      string
	SMTPUser     string
	SMTPPassword string
	SMTPFrom     string
	// RequireTOTPAdmins makes every administrator enrol a TOTP second
	// factor before using the UI (OBMEN_REQUIRE_TOTP_ADMINS=1).
	RequireTOTPAdmins bool
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		DataDir:           "./obmen-data",
		Addr:              "127.0.0.1:8080",
		LogFormat:         "text",
		LogLevel:          "info",
		SQLiteSync:        "NORMAL",
		MaxBodyBytes:      4 << 20,
		ShutdownTimeout:   30 * time.Second,
		GroupCommitMax:    128,
		MailInterval:      time.Minute,
		TimeZone:          "Europe/Moscow",
		CurrencyRatesURL:  "https://www.cbr.ru/scripts/XML_daily.asp",
		JobRescueAfter:    5 * time.Minute,
		SiteLease:         2 * time.Minute,
		SiteTick:          30 * time.Second,
		HousekeepingEvery: time.Hour,
		PollLease:         2 * time.Minute,
		StepTimeout:       2 * time.Minute,
		NotifyInterval:    15 * time.Second,
	}
}

// FromEnv overlays the OBMEN_* environment variables on c.
func (c *Config) FromEnv(getenv func(string) string) error {
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	str("OBMEN_DATA", &c.DataDir)
	str("OBMEN_ADDR", &c.Addr)
	str("OBMEN_DATABASE_URL", &c.DatabaseURL)
	str("OBMEN_ADMIN_PASSWORD", &c.AdminPassword)
	str("OBMEN_LOG_FORMAT", &c.LogFormat)
	str("OBMEN_LOG_LEVEL", &c.LogLevel)
	str("OBMEN_SQLITE_SYNC", &c.SQLiteSync)
	str("OBMEN_DEBUG_ADDR", &c.DebugAddr)
	str("OBMEN_METRICS_TOKEN", &c.MetricsToken)
	str("OBMEN_PUBLIC_URL", &c.PublicURL)
	str("OBMEN_SECRET_KEY", &c.SecretKey)
	str("OBMEN_TELEGRAM_TOKEN", &c.TelegramToken)
	str("OBMEN_TELEGRAM_API", &c.TelegramAPI)
	str("OBMEN_SMTP_HOST", &c.SMTPHost)
	switch v := getenv("OBMEN_REQUIRE_TOTP_ADMINS"); v {
	case "":
	case "1", "true", "yes":
		c.RequireTOTPAdmins = true
	case "0", "false", "no":
		c.RequireTOTPAdmins = false
	default:
		return fmt.Errorf("config: OBMEN_REQUIRE_TOTP_ADMINS: %q is not 1 or 0", v)
	}
	str("OBMEN_SMTP_TLS", &c.SMTPTLS)
	str("OBMEN_SMTP_USER", &c.SMTPUser)
	str("OBMEN_SMTP_PASSWORD", &c.SMTPPassword)
	str("OBMEN_SMTP_FROM", &c.SMTPFrom)
	if v := getenv("OBMEN_SMTP_PORT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("config: OBMEN_SMTP_PORT: %q is not a port number", v)
		}
		c.SMTPPort = n
	}
	if v := getenv("OBMEN_OUTBOUND_ALLOW"); v != "" {
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				c.OutboundAllow = append(c.OutboundAllow, x)
			}
		}
	}
	str("OBMEN_TIME_ZONE", &c.TimeZone)
	str("OBMEN_CBR_RATES_URL", &c.CurrencyRatesURL)
	str("OBMEN_TLS_CERT", &c.TLSCert)
	str("OBMEN_TLS_KEY", &c.TLSKey)
	if v := getenv("OBMEN_MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("config: OBMEN_MAX_BODY_BYTES: %q is not a positive number", v)
		}
		c.MaxBodyBytes = n
	}
	if v := getenv("OBMEN_BITRIX_RATE_LIMIT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return fmt.Errorf("config: OBMEN_BITRIX_RATE_LIMIT: %q is not a non-negative number", v)
		}
		c.BitrixRateLimit = f
	}
	if v := getenv("OBMEN_BITRIX_BURST"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("config: OBMEN_BITRIX_BURST: %q is not a non-negative number", v)
		}
		c.BitrixBurst = n
	}
	if v := getenv("OBMEN_DATABASE_POOL"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("config: OBMEN_DATABASE_POOL: %q is not a positive number", v)
		}
		c.DatabasePool = n
	}
	if v := getenv("OBMEN_MAIL_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return fmt.Errorf("config: OBMEN_MAIL_INTERVAL: %q is not a duration of at least 1s", v)
		}
		c.MailInterval = d
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
		min  time.Duration
	}{{"OBMEN_JOB_RESCUE_AFTER", &c.JobRescueAfter, time.Second}, {"OBMEN_AUTOMATION_STEP_TIMEOUT", &c.StepTimeout, time.Second}, {"OBMEN_NOTIFY_INTERVAL", &c.NotifyInterval, time.Second},
		{"OBMEN_SITE_LEASE", &c.SiteLease, time.Second}, {"OBMEN_POLL_LEASE", &c.PollLease, time.Second},
		{"OBMEN_SITE_TICK", &c.SiteTick, time.Second}, {"OBMEN_HOUSEKEEPING_EVERY", &c.HousekeepingEvery, time.Second}} {
		if v := getenv(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x < d.min {
				return fmt.Errorf("config: %s: %q is not a duration of at least %s", d.name, v, d.min)
			}
			*d.dst = x
		}
	}
	if v := getenv("OBMEN_SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("config: OBMEN_SHUTDOWN_TIMEOUT: %w", err)
		}
		c.ShutdownTimeout = d
	}
	return nil
}

// RegisterFlags binds the common flags to c; the flag defaults are c's
// current values, so environment variables read before act as defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory (env OBMEN_DATA)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "postgres://… to use PostgreSQL instead of SQLite (env OBMEN_DATABASE_URL)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json (env OBMEN_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn, error (env OBMEN_LOG_LEVEL)")
	fs.StringVar(&c.SQLiteSync, "sqlite-sync", c.SQLiteSync, "SQLite synchronous mode: NORMAL or FULL (env OBMEN_SQLITE_SYNC)")
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	if c.SMTPHost != "" {
		switch c.SMTPTLS {
		case "", "starttls", "tls", "none":
		default:
			return fmt.Errorf("config: OBMEN_SMTP_TLS: %q is not starttls, tls or none", c.SMTPTLS)
		}
		if c.SMTPFrom == "" {
			return errors.New("config: OBMEN_SMTP_FROM: the sender's address is needed to send e-mail")
		}
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "" {
		return fmt.Errorf("config: OBMEN_TIME_ZONE: %q is not a time zone (an IANA name such as Europe/Moscow)", c.TimeZone)
	}
	switch strings.ToUpper(c.SQLiteSync) {
	case "NORMAL", "FULL":
		c.SQLiteSync = strings.ToUpper(c.SQLiteSync)
	default:
		return fmt.Errorf("config: sqlite-sync: %q is neither NORMAL nor FULL", c.SQLiteSync)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("config: log-format: %q is neither text nor json", c.LogFormat)
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return fmt.Errorf("config: database-url: only postgres:// URLs are supported")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("config: tls-cert and tls-key go together")
	}
	// A run's job lasts at most a step and a slice of half a step (at most
	// 30 s); River must not take it for abandoned before that.
	if longest := c.StepTimeout + min(30*time.Second, c.StepTimeout/2) + 5*time.Second; c.JobRescueAfter < longest {
		return fmt.Errorf("config: OBMEN_JOB_RESCUE_AFTER (%s) must be at least %s with OBMEN_AUTOMATION_STEP_TIMEOUT %s",
			c.JobRescueAfter, longest, c.StepTimeout)
	}
	if c.GroupCommitMax < 1 {
		c.GroupCommitMax = 1
	}
	return nil
}

// BaseURL is PublicURL, or the listen address when that is not set.
func (c *Config) BaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	scheme := "http"
	if c.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + c.Addr
}

// SQLitePath is the database file inside the data directory.
func (c *Config) SQLitePath() string {
	return filepath.Join(c.DataDir, "obmen.db")
}

// Load builds a Config from the defaults and the process environment.
func Load() (Config, error) {
	c := Default()
	if err := c.FromEnv(os.Getenv); err != nil {
		return c, err
	}
	return c, nil
}
