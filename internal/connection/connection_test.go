package connection_test

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// fakeType is a connection type whose check fails as its key says.
func fakeType() connection.Type {
	return connection.Type{
		Name: "fake",
		Fields: []connection.Field{
			{Name: "url", Type: connection.String, Required: true},
			{Name: "site", Type: connection.String, Enum: []string{"a", "b"}, Default: "a"},
			{Name: "limit", Type: connection.Integer},
			{Name: "verbose", Type: connection.Boolean},
			{Name: "api_key", Type: connection.String, Secret: true, Required: true},
		},
		Validate: func(s connection.Settings) []connection.Problem {
			if !strings.HasPrefix(s.String("url"), "https://") {
				return []connection.Problem{{Field: "url", Message: "must start with https://"}}
			}
			return nil
		},
		Check: func(ctx context.Context, s connection.Settings) error {
			switch s.String("api_key") {
			case "good":
				return nil
			case "bad":
				return connection.Fail(connection.ClassCredentials, errors.New("HTTP 401: invalid key"))
			case "limited":
				return connection.Fail(connection.ClassRateLimited, errors.New("HTTP 429"))
			case "refused":
				return &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
			case "nxdomain":
				return &net.DNSError{Err: "no such host", Name: "crm.invalid", IsNotFound: true}
			case "cert":
				return fmt.Errorf("get: %w", x509.UnknownAuthorityError{})
			}
			return errors.New("HTTP 500")
		},
		Refresh: func(ctx context.Context, s connection.Settings) (map[string]any, error) {
			if s.String("api_key") == "bad" {
				return nil, connection.Fail(connection.ClassCredentials, errors.New("HTTP 401"))
			}
			return map[string]any{"sites": []any{"a", "b"}}, nil
		},
	}
}

func newStore(t *testing.T, d *db.DB) (*connection.Store, *secret.Box) {
	t.Helper()
	box, err := secret.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	reg := connection.NewRegistry(i18n.New())
	if err := reg.Add(fakeType()); err != nil {
		t.Fatal(err)
	}
	return connection.NewStore(d, box, reg), box
}

func problems(err error) string {
	var inv *connection.InvalidError
	if !errors.As(err, &inv) {
		return fmt.Sprintf("not invalid: %v", err)
	}
	var out []string
	for _, p := range inv.Problems {
		out = append(out, p.Field+": "+p.Message)
	}
	return strings.Join(out, "; ")
}

func TestStoreSecretsWriteOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, box := newStore(t, d)
		c, err := s.Create(ctx, 7, connection.Input{Type: "fake", Name: " Боевой CRM ", Settings: map[string]any{
			"url": "https://crm.example.ru", "limit": float64(10), "verbose": "yes", "api_key": "s3cr3t-key"}})
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != "Боевой CRM" || c.Settings["api_key"] != connection.Mask || c.Settings["site"] != "a" ||
			c.Settings["limit"] != int64(10) || c.Settings["verbose"] != true || c.CreatedBy != 7 {
			t.Fatalf("created %+v", c)
		}
		// At rest the secret is sealed: the column holds no plain text,
		// and what it holds opens to the key.
		var raw string
		if err := d.Read.QueryRowContext(ctx, "SELECT settings FROM connections WHERE id = $1", c.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw, "s3cr3t-key") {
			t.Fatalf("the secret is stored in the clear: %s", raw)
		}
		var sealed string
		if i := strings.Index(raw, `"api_key":"`); i >= 0 {
			sealed = raw[i+len(`"api_key":"`):]
			sealed = sealed[:strings.Index(sealed, `"`)]
		}
		if plain, err := box.Open(sealed); err != nil || plain != "s3cr3t-key" {
			t.Fatalf("sealed %q opens to %q, %v", sealed, plain, err)
		}
		// Read back: masked everywhere but Open.
		for _, got := range []func() (connection.Connection, error){
			func() (connection.Connection, error) { return s.Get(ctx, c.ID) },
			func() (connection.Connection, error) {
				l, err := s.List(ctx, "")
				if err != nil || len(l) != 1 {
					return connection.Connection{}, fmt.Errorf("list %v %v", l, err)
				}
				return l[0], nil
			},
		} {
			g, err := got()
			if err != nil || g.Settings["api_key"] != connection.Mask {
				t.Fatalf("read back %+v, %v", g, err)
			}
		}
		_, set, err := s.Open(ctx, c.ID)
		if err != nil || set.String("api_key") != "s3cr3t-key" {
			t.Fatalf("open: %v %v", set, err)
		}
		// An update that omits the secret, and one that sends the mask,
		// keep it; one that sends a new value replaces it.
		for _, in := range []map[string]any{
			{"url": "https://crm2.example.ru"},
			{"url": "https://crm2.example.ru", "api_key": connection.Mask},
			{"url": "https://crm2.example.ru", "api_key": ""},
		} {
			if _, err := s.Update(ctx, 8, c.ID, connection.Input{Name: "Боевой CRM", Settings: in}); err != nil {
				t.Fatal(err)
			}
			_, set, _ := s.Open(ctx, c.ID)
			if set.String("api_key") != "s3cr3t-key" || set.String("url") != "https://crm2.example.ru" {
				t.Fatalf("after update %v: %v", in, set)
			}
		}
		u, err := s.Update(ctx, 8, c.ID, connection.Input{Name: "Боевой CRM", Settings: map[string]any{"url": "https://crm.example.ru", "api_key": "new"}})
		if err != nil || u.UpdatedBy != 8 {
			t.Fatal(u, err)
		}
		if _, set, _ := s.Open(ctx, c.ID); set.String("api_key") != "new" {
			t.Fatalf("replaced secret: %v", set)
		}
		if _, set, err := s.OpenByName(ctx, "Боевой CRM"); err != nil || set.String("api_key") != "new" {
			t.Fatalf("open by name: %v %v", set, err)
		}
		if typ, err := s.TypeOf(ctx, c.ID); typ != "fake" || err != nil {
			t.Fatalf("type of: %q %v", typ, err)
		}
		if _, err := s.TypeOf(ctx, c.ID+100); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("type of a missing one: %v", err)
		}
		// Names are unique.
		_, err = s.Create(ctx, 7, connection.Input{Type: "fake", Name: "Боевой CRM", Settings: map[string]any{"url": "https://x.ru", "api_key": "k"}})
		if got := problems(err); !strings.Contains(got, "name: a connection named") {
			t.Fatalf("duplicate name: %s", got)
		}
		if err := s.Delete(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		if err := s.Delete(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
	})
}

func TestStoreValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, _ := newStore(t, d)
		for _, tc := range []struct {
			name string
			in   connection.Input
			want string
		}{
			{"unknown type", connection.Input{Type: "retailcrm", Name: "x", Settings: map[string]any{}}, `type: unknown connection type "retailcrm"`},
			{"no type", connection.Input{Name: "x"}, "type: required"},
			{"no name", connection.Input{Type: "fake", Settings: map[string]any{"url": "https://x.ru", "api_key": "k"}}, "name: required"},
			{"long name", connection.Input{Type: "fake", Name: strings.Repeat("я", 201), Settings: map[string]any{"url": "https://x.ru", "api_key": "k"}}, "name: longer than 200 characters"},
			{"required", connection.Input{Type: "fake", Name: "x", Settings: map[string]any{}}, "settings.api_key: required; settings.url: required"},
			{"unknown setting", connection.Input{Type: "fake", Name: "x", Settings: map[string]any{"url": "https://x.ru", "api_key": "k", "token": "t"}}, "settings.token: unknown setting of a fake connection"},
			{"enum", connection.Input{Type: "fake", Name: "x", Settings: map[string]any{"url": "https://x.ru", "api_key": "k", "site": "c"}}, `settings.site: "c" is not one of a, b`},
			{"integer", connection.Input{Type: "fake", Name: "x", Settings: map[string]any{"url": "https://x.ru", "api_key": "k", "limit": 1.5}}, "settings.limit: must be an integer"},
			{"boolean", connection.Input{Type: "fake", Name: "x", Settings: map[string]any{"url": "https://x.ru", "api_key": "k", "verbose": "maybe"}}, "settings.verbose: must be true or false"},
			{"secret not text", connection.Input{Type: "fake", Name: "x", Settings: map[string]any{"url": "https://x.ru", "api_key": 5.0}}, "settings.api_key: must be text"},
			{"mask on create", connection.Input{Type: "fake", Name: "x", Settings: map[string]any{"url": "https://x.ru", "api_key": connection.Mask}}, "settings.api_key: the secret is not known: enter it again"},
			{"type's own rule", connection.Input{Type: "fake", Name: "x", Settings: map[string]any{"url": "http://x.ru", "api_key": "k"}}, "settings.url: must start with https://"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.Create(ctx, 1, tc.in)
				if got := problems(err); got != tc.want {
					t.Fatalf("got %s\nwant %s", got, tc.want)
				}
			})
		}
		var n int
		if err := d.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM connections").Scan(&n); err != nil || n != 0 {
			t.Fatalf("refused connections were stored: %d %v", n, err)
		}
		c, err := s.Create(ctx, 1, connection.Input{Type: "fake", Name: "x", Settings: map[string]any{"url": "https://x.ru", "api_key": "k"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Update(ctx, 1, c.ID, connection.Input{Type: "other", Name: "x", Settings: map[string]any{"url": "https://x.ru"}})
		if got := problems(err); !strings.Contains(got, "type: a fake connection cannot become other") {
			t.Fatalf("type change: %s", got)
		}
		if _, err := s.Update(ctx, 1, c.ID+50, connection.Input{Name: "y"}); !errors.Is(err, store.ErrNotFound) && !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("update of a missing one: %v", err)
		}
	})
}

func TestCheckMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, _ := newStore(t, d)
		for _, tc := range []struct {
			key, class, ru string
		}{
			{"good", "", "Подключение работает."},
			{"bad", connection.ClassCredentials, "Неверный логин, пароль или ключ: сервер отказал во входе."},
			{"limited", connection.ClassRateLimited, "Сервер ограничил частоту запросов: повторите проверку позже."},
			{"refused", connection.ClassNetwork, "Нет связи с сервером: он не отвечает или соединение отклонено."},
			{"nxdomain", connection.ClassAccount, "Нет такого адреса, сервера или учётной записи: проверьте адрес."},
			{"cert", connection.ClassTLS, "Ошибка TLS: сертификат сервера не подтверждён или шифрование не согласовано."},
			{"other", connection.ClassOther, "Проверка не прошла: сервер ответил ошибкой."},
		} {
			t.Run(tc.key, func(t *testing.T) {
				c, err := s.Create(ctx, 1, connection.Input{Type: "fake", Name: "check " + tc.key, Settings: map[string]any{"url": "https://x.ru", "api_key": tc.key}})
				if err != nil {
					t.Fatal(err)
				}
				res, err := s.Check(ctx, c.ID, i18n.Ru)
				if err != nil {
					t.Fatal(err)
				}
				if res.OK != (tc.class == "") || res.Class != tc.class || res.Message != tc.ru {
					t.Fatalf("check: %+v", res)
				}
				en, _ := s.Check(ctx, c.ID, i18n.En)
				if en.Message == res.Message || en.Message == "" {
					t.Fatalf("no English message: %+v", en)
				}
				// The same answer before saving, the secret taken from the
				// saved one when left out.
				res2, err := s.CheckInput(ctx, c.ID, connection.Input{Name: c.Name, Settings: map[string]any{"url": "https://x.ru"}}, i18n.Ru)
				if err != nil || res2.Class != res.Class {
					t.Fatalf("check input: %+v %v", res2, err)
				}
			})
		}
		if _, err := s.Check(ctx, 999, i18n.Ru); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("check of a missing one: %v", err)
		}
	})
}

func TestRefresh(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, _ := newStore(t, d)
		good, _ := s.Create(ctx, 1, connection.Input{Type: "fake", Name: "good", Settings: map[string]any{"url": "https://x.ru", "api_key": "good"}})
		bad, _ := s.Create(ctx, 1, connection.Input{Type: "fake", Name: "bad", Settings: map[string]any{"url": "https://x.ru", "api_key": "bad"}})
		c, failed, err := s.Refresh(ctx, good.ID, i18n.Ru)
		if err != nil || failed != nil || c.RefreshedAt == nil || fmt.Sprint(c.Dictionaries["sites"]) != "[a b]" {
			t.Fatalf("refresh: %+v %+v %v", c, failed, err)
		}
		if again, _ := s.Get(ctx, good.ID); fmt.Sprint(again.Dictionaries["sites"]) != "[a b]" {
			t.Fatalf("dictionaries not stored: %+v", again)
		}
		c, failed, err = s.Refresh(ctx, bad.ID, i18n.Ru)
		if err != nil || failed == nil || failed.Class != connection.ClassCredentials || c.RefreshedAt != nil {
			t.Fatalf("failed refresh: %+v %+v %v", c, failed, err)
		}
	})
}

func TestRegistry(t *testing.T) {
	reg := connection.NewRegistry(i18n.New())
	if err := reg.Add(fakeType()); err != nil {
		t.Fatal(err)
	}
	if err := reg.Add(fakeType()); err == nil {
		t.Fatal("a type registered twice")
	}
	if err := reg.Add(connection.Type{Name: "nocheck"}); err == nil {
		t.Fatal("a type without a check")
	}
	if err := reg.Add(connection.Type{Name: "badfield", Check: fakeType().Check, Fields: []connection.Field{{Name: "x", Type: "date"}}}); err == nil {
		t.Fatal("a field of an unknown type")
	}
	types := reg.Types()
	if len(types) != 1 || types[0].Name != "fake" || !types[0].CanRefresh || types[0].Fields[0].Label.Ru != "url" {
		t.Fatalf("types: %+v", types)
	}
}
