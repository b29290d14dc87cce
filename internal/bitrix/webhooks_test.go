package bitrix_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/bitrix"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestWebhooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := store.New(d)
		admin := storetest.Admin(t, s)
		hooks := bitrix.NewWebhooks(d)

		hook, code, err := hooks.CreateWebhook(ctx, admin.UserID, " Pixlpark ", []string{"user,CRM", "crm"})
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^[a-z0-9]{16}$`).MatchString(code) {
			t.Fatalf("code %q is not 16 lower-case letters and digits", code)
		}
		if hook.Name != "Pixlpark" || strings.Join(hook.Scopes, ",") != "crm,user" || !hook.Active || hook.ID == 0 {
			t.Fatalf("webhook %+v", hook)
		}
		if a := hook.Actor(); a.UserID != admin.UserID || a.Integration != "bitrix-webhook:"+strconv.FormatInt(hook.ID, 10) {
			t.Fatalf("actor %+v", a)
		}
		// Only the hash is kept.
		var stored string
		if err := d.Read.QueryRowContext(ctx, "SELECT code_hash FROM bitrix_webhooks WHERE id = $1", hook.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(code))
		if stored != hex.EncodeToString(sum[:]) {
			t.Fatalf("stored %q, want the SHA-256 of the code", stored)
		}
		var n int
		if err := d.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM bitrix_webhooks WHERE code_hash = $1 OR name = $1 OR scopes = $1", code).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the code is stored somewhere: %d %v", n, err)
		}

		got, u, err := hooks.Authenticate(ctx, admin.UserID, code)
		if err != nil || got.ID != hook.ID || u.ID != admin.UserID || u.Login != "admin" {
			t.Fatalf("authenticate: %+v %+v %v", got, u, err)
		}
		if _, _, err := hooks.Authenticate(ctx, admin.UserID, code+"x"); !errors.Is(err, bitrix.ErrInvalidCredentials) {
			t.Fatalf("wrong code: %v", err)
		}

		// Codes differ each time.
		_, code2, err := hooks.CreateWebhook(ctx, admin.UserID, "second", nil)
		if err != nil || code2 == code {
			t.Fatalf("second webhook: %q %v", code2, err)
		}
		list, err := hooks.ListWebhooks(ctx, admin.UserID)
		if err != nil || len(list) != 2 || list[1].Name != "second" || len(list[1].Scopes) != 0 {
			t.Fatalf("list: %+v %v", list, err)
		}

		at := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
		if err := hooks.Touch(ctx, hook.ID, at); err != nil {
			t.Fatal(err)
		}
		got, err = hooks.GetWebhook(ctx, hook.ID)
		if err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(at) {
			t.Fatalf("touch: %+v %v", got, err)
		}

		if _, _, err := hooks.CreateWebhook(ctx, admin.UserID, "x", []string{"crm", "everything"}); !isField(err, "scopes") {
			t.Fatalf("unknown scope: %v", err)
		}
		if _, _, err := hooks.CreateWebhook(ctx, 999, "x", nil); !isField(err, "user_id") {
			t.Fatalf("unknown user: %v", err)
		}
		if _, err := hooks.GetWebhook(ctx, 999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing webhook: %v", err)
		}
		if err := hooks.SetWebhookActive(ctx, 999, false); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing webhook: %v", err)
		}
	})
}

func isField(err error, field string) bool {
	fe, ok := crm.AsFieldError(err)
	return ok && fe.Field == field
}

func TestSystemMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenAny(t))
	st := e.ok(e.get("server.time", ""))
	if s := st.str(t, "result"); !isoOffset.MatchString(s) || !strings.HasSuffix(s, "+03:00") {
		t.Fatalf("server.time %q", s)
	}
	p := e.ok(e.get("profile", ""))
	if p.str(t, "result", "ID") != strconv.FormatInt(e.admin.UserID, 10) || p.get(t, "result", "ADMIN") != true || p.str(t, "result", "NAME") != "Админ" {
		t.Fatalf("profile %s", p.Body)
	}
	u := e.ok(e.get("user.current", ""))
	if u.get(t, "result", "ACTIVE") != true || u.str(t, "result", "NAME") != "Админ" || !isoOffset.MatchString(u.str(t, "result", "DATE_REGISTER")) {
		t.Fatalf("user.current %s", u.Body)
	}
	if !strings.Contains(string(u.Body), `"UF_DEPARTMENT":[]`) {
		t.Fatalf("UF_DEPARTMENT: %s", u.Body)
	}
	sc := e.ok(e.get("scope", "")).get(t, "result").(*bitrix.Array)
	if strings.Join(strs(sc.Values()), ",") != "crm,user" {
		t.Fatalf("scope %v", sc.Values())
	}
	full := e.ok(e.get("scope", "full=true")).get(t, "result").(*bitrix.Array)
	if full.Len() != len(bitrix.KnownScopes) {
		t.Fatalf("scope full=true: %v", full.Values())
	}
}

func strs(vs []any) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i], _ = v.(string)
	}
	return out
}
