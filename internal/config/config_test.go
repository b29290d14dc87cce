package config

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func TestEnvThenFlags(t *testing.T) {
	c := Default()
	env := map[string]string{
		"OBMEN_DATA": "/srv/obmen", "OBMEN_ADDR": "0.0.0.0:9000", "OBMEN_SQLITE_SYNC": "full",
		"OBMEN_MAX_BODY_BYTES": "1024", "OBMEN_SHUTDOWN_TIMEOUT": "5s",
	}
	if err := c.FromEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"--data", "/tmp/x"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/tmp/x" || c.Addr != "0.0.0.0:9000" || c.SQLiteSync != "FULL" || c.MaxBodyBytes != 1024 || c.ShutdownTimeout != 5*time.Second {
		t.Fatalf("config %+v", c)
	}
	if c.SQLitePath() != "/tmp/x/obmen.db" {
		t.Fatalf("path %s", c.SQLitePath())
	}
}

func TestInvalidSettingsAreNamed(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		mut  func(*Config)
		want string
	}{
		{env: map[string]string{"OBMEN_MAX_BODY_BYTES": "-1"}, want: "OBMEN_MAX_BODY_BYTES"},
		{env: map[string]string{"OBMEN_SHUTDOWN_TIMEOUT": "soon"}, want: "OBMEN_SHUTDOWN_TIMEOUT"},
		{env: map[string]string{"OBMEN_DATABASE_POOL": "0"}, want: "OBMEN_DATABASE_POOL"},
		{mut: func(c *Config) { c.SQLiteSync = "OFF" }, want: "sqlite-sync"},
		{mut: func(c *Config) { c.LogFormat = "xml" }, want: "log-format"},
		{mut: func(c *Config) { c.DatabaseURL = "mysql://x" }, want: "database-url"},
	} {
		c := Default()
		err := c.FromEnv(func(k string) string { return tt.env[k] })
		if err == nil && tt.mut != nil {
			tt.mut(&c)
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("want an error naming %s, got %v", tt.want, err)
		}
	}
}
