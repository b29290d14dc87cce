package bitrix24_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/bitrix24"
	"github.com/obmen/obmen/internal/connector/bitrix24/bitrix24test"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store/storetest"
)

func webhookClient(f *bitrix24test.Fake) *bitrix24.Client {
	return &bitrix24.Client{Portal: f.URL, UserID: f.UserID, Code: f.Code, HTTP: f.Client(), Backoff: 10 * time.Millisecond}
}

// Envelopes and paging: a list walked by start/next, a result read, a
// batch's results and errors per key with $result references in order.
func TestClientEnvelopesPagingBatch(t *testing.T) {
	t.Parallel()
	f := bitrix24test.New(t)
	f.Users = 120
	c := webhookClient(f)
	ctx := context.Background()
	var ids []string
	err := c.List(ctx, "user.get", nil, func(items []json.RawMessage) error {
		for _, it := range items {
			var u struct{ ID string }
			_ = json.Unmarshal(it, &u)
			ids = append(ids, u.ID)
		}
		return nil
	})
	if err != nil || len(ids) != 120 || ids[0] != "1" || ids[119] != "120" || c.Sent.Load() != 3 {
		t.Fatalf("user.get: %d users (%v…), %d requests, %v", len(ids), ids[:min(3, len(ids))], c.Sent.Load(), err)
	}
	a, err := c.Batch(ctx, []bitrix24.Cmd{
		{Key: "z_contact", Method: "crm.contact.add", Params: map[string]any{"fields": map[string]any{"NAME": "Иван & Co", "PHONE": []any{map[string]any{"VALUE": "+7 925 000-11-22", "VALUE_TYPE": "MOBILE"}}}}},
		{Key: "a_deal", Method: "crm.deal.add", Params: map[string]any{"fields": map[string]any{"TITLE": "x", "CONTACT_ID": "$result[z_contact]"}}},
		{Key: "bad", Method: "crm.nothing", Params: nil},
		{Key: "find", Method: "crm.duplicate.findbycomm", Params: map[string]any{"entity_type": "CONTACT", "type": "PHONE", "values": []string{"79250001122"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	contact := string(a.Result["z_contact"])
	if contact == "" || a.Errors["bad"] == nil || a.Errors["bad"].Code != "ERROR_METHOD_NOT_FOUND" || len(a.Errors) != 1 {
		t.Fatalf("batch: %+v, errors %+v", a.Result, a.Errors)
	}
	for _, d := range f.Records["DEAL"] {
		if d["CONTACT_ID"] != contact {
			t.Fatalf("the deal's CONTACT_ID %v, the contact %s: commands out of order or the reference not passed", d["CONTACT_ID"], contact)
		}
	}
	for _, ct := range f.Records["CONTACT"] {
		if ct["NAME"] != "Иван & Co" {
			t.Fatalf("the name through the query: %q", ct["NAME"])
		}
	}
	if !strings.Contains(string(a.Result["find"]), contact) {
		t.Fatalf("findbycomm: %s", a.Result["find"])
	}
	// An empty batch error list is PHP's [] and reads as none.
	a, err = c.Batch(ctx, []bitrix24.Cmd{{Key: "p", Method: "profile"}})
	if err != nil || len(a.Errors) != 0 {
		t.Fatalf("batch without errors: %+v %v", a, err)
	}
	if _, err := c.Batch(ctx, make([]bitrix24.Cmd, 51)); err == nil {
		t.Fatal("51 commands accepted")
	}
}

// 503 QUERY_LIMIT_EXCEEDED and 429 OPERATION_TIME_LIMIT are waited out;
// past the attempts the error says the portal limited; 401 NO_AUTH_FOUND
// is an auth error at once, without the webhook's code in its text.
func TestClientLimitsAndAuth(t *testing.T) {
	t.Parallel()
	f := bitrix24test.New(t)
	c := webhookClient(f)
	ctx := context.Background()
	f.Force, f.ForceStatus, f.ForceCode = 2, http.StatusServiceUnavailable, bitrix24.CodeQueryLimit
	if _, err := c.Call(ctx, "profile", nil); err != nil || c.Sent.Load() != 3 {
		t.Fatalf("after two 503: %v, %d requests", err, c.Sent.Load())
	}
	f.Force, f.ForceStatus, f.ForceCode = 1, http.StatusTooManyRequests, bitrix24.CodeOperationLimit
	if _, err := c.Call(ctx, "profile", nil); err != nil {
		t.Fatalf("after a 429: %v", err)
	}
	c.MaxAttempts = 3
	f.Force, f.ForceStatus, f.ForceCode = 5, http.StatusServiceUnavailable, bitrix24.CodeQueryLimit
	_, err := c.Call(ctx, "profile", nil)
	var be *bitrix24.Error
	if !errors.As(err, &be) || !be.Limited() || !be.Temporary() || be.Auth() {
		t.Fatalf("five 503 with three attempts: %v", err)
	}
	f.Force = 0
	bad := webhookClient(f)
	bad.Code = "deleted-hook"
	_, err = bad.Call(ctx, "profile", nil)
	if !errors.As(err, &be) || be.Code != bitrix24.CodeNoAuth || be.Status != http.StatusUnauthorized || !be.Auth() || be.Temporary() ||
		strings.Contains(err.Error(), "deleted-hook") || bad.Sent.Load() != 1 {
		t.Fatalf("a deleted webhook: %v (%d requests)", err, bad.Sent.Load())
	}
}

// A slow answer past the client's deadline is a network failure, not an
// answer.
func TestClientSlowAnswer(t *testing.T) {
	t.Parallel()
	f := bitrix24test.New(t)
	f.Delay = 300 * time.Millisecond
	c := webhookClient(f)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Call(ctx, "profile", nil)
	if !errors.Is(err, context.DeadlineExceeded) || connection.Classify(err) != connection.ClassNetwork {
		t.Fatalf("a slow answer: %v (%s)", err, connection.Classify(err))
	}
}

// Four clients of one portal share its bucket: the fake, counting by the
// same leaky bucket, never refuses, and no stretch of arrivals holds
// more than the burst plus the rate over its length.
func TestBucketNeverExceeded(t *testing.T) {
	t.Parallel()
	f := bitrix24test.New(t)
	f.Rate, f.Burst = 20, 5
	lim := (&bitrix24.Limiters{Rate: 20, Burst: 5}).For(f.URL, false)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := webhookClient(f)
			c.Limit = lim
			for range 15 {
				if _, err := c.Call(context.Background(), "profile", nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	f.Mu.Lock()
	defer f.Mu.Unlock()
	if f.Limited != 0 || len(f.Arrivals) != 60 || lim.Burst() != 4 || lim.Limit() != 18 {
		t.Fatalf("%d of %d requests refused for the rate", f.Limited, len(f.Arrivals))
	}
	for i := range f.Arrivals {
		for j := i + 1; j < len(f.Arrivals); j++ {
			n := float64(j - i + 1)
			if allowed := 5 + 20*f.Arrivals[j].Sub(f.Arrivals[i]).Seconds() + 1; n > allowed {
				t.Fatalf("requests %d..%d: %g in %s, the bucket allows %g", i, j, n, f.Arrivals[j].Sub(f.Arrivals[i]), allowed)
			}
		}
	}
}

func testBox(t testing.TB) *secret.Box {
	b, err := secret.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// OAuth: the first call gets tokens with the refresh token, later calls
// reuse the stored access token (also after a restart), an expired one is
// refreshed once and the call made again; the rotated refresh token is
// kept sealed; a spent refresh token is a clear check failure.
func TestOAuthRefresh(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		f := bitrix24test.New(t)
		r0 := f.OAuthApp("app.1", "app-secret")
		box := testBox(t)
		deps := bitrix24.Deps{HTTP: f.Client(), DB: d, Box: box, Limiters: &bitrix24.Limiters{}}
		p := bitrix24.Portal{URL: f.URL, ClientID: "app.1", ClientSecret: "app-secret", RefreshToken: r0, OAuthURL: f.URL + "/oauth/token/"}
		ctx := context.Background()
		if err := deps.Check(ctx, p); err != nil {
			t.Fatal(err)
		}
		if _, err := deps.Client(p).Call(ctx, "profile", nil); err != nil || f.Refreshes != 1 {
			t.Fatalf("second call: %v, %d refreshes", err, f.Refreshes)
		}
		f.ExpireTokens()
		again := bitrix24.Deps{HTTP: f.Client(), DB: d, Box: box, Limiters: &bitrix24.Limiters{}} // a restarted process
		c := again.Client(p)
		if _, err := c.Call(ctx, "profile", nil); err != nil || f.Refreshes != 2 || c.Sent.Load() != 2 {
			t.Fatalf("after expiry: %v, %d refreshes, %d requests", err, f.Refreshes, c.Sent.Load())
		}
		var access, refresh string
		if err := d.Reader().QueryRowContext(ctx, "SELECT access_token, refresh_token FROM bitrix24_tokens").Scan(&access, &refresh); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(access, "access-") || strings.Contains(refresh, "refresh-") {
			t.Fatalf("tokens stored in the clear: %q %q", access, refresh)
		}
		// The settings' refresh token is spent: without the stored line
		// it is refused, a clear check failure.
		if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "DELETE FROM bitrix24_tokens")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		err := deps.Check(ctx, p)
		var ce *connection.CheckError
		if !errors.As(err, &ce) || ce.Class != bitrix24.ClassExpired {
			t.Fatalf("a spent refresh token: %v", err)
		}
	})
}

// Batch commands are encoded as http_build_query does; references to
// earlier commands stay readable.
func TestQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"id": 5}, "id=5"},
		{map[string]any{"fields": map[string]any{"NAME": "Иван & Co", "OPENED": true, "PHONE": []any{map[string]any{"VALUE": "+7 1", "VALUE_TYPE": "MOBILE"}}}},
			"fields[NAME]=%D0%98%D0%B2%D0%B0%D0%BD+%26+Co&fields[OPENED]=Y&fields[PHONE][0][VALUE]=%2B7+1&fields[PHONE][0][VALUE_TYPE]=MOBILE"},
		{map[string]any{"id": "$result[deal]", "rows": []any{}}, "id=$result[deal]"},
		{map[string]any{"values": []string{"a", "b"}, "x": 1.5, "n": nil}, "n=&values[0]=a&values[1]=b&x=1.5"},
	} {
		if got := bitrix24.Query(tc.in); got != tc.want {
			t.Errorf("Query(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if s := (bitrix24.Cmd{Method: "profile"}).String(); s != "profile" {
		t.Errorf("a command without parameters: %s", s)
	}
	l := &bitrix24.Limiters{}
	if std, ent := l.For("https://a", false), l.For("https://a", true); std.Burst() != 49 || ent.Burst() != 249 || l.For("https://a", false) != std {
		t.Errorf("buckets: standard %d, enterprise %d, shared %v", std.Burst(), ent.Burst(), l.For("https://a", false) == std)
	}
}
