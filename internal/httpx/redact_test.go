package httpx_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/httpx"
)

func TestRedactURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://shop.retailcrm.ru/api/v5/orders?apiKey=abc&page=2", "https://shop.retailcrm.ru/api/v5/orders?apiKey=***&page=2"},
		{"postgres://obmen:s3cret@db:5432/obmen?sslmode=disable", "postgres://obmen:***@db:5432/obmen?sslmode=disable"},
		{"https://user@example.ru/x?access_token=t&Signature=s", "https://user@example.ru/x?Signature=***&access_token=***"},
		{"https://example.ru/x?page=1", "https://example.ru/x?page=1"},
		{"not a url\x7f", "not a url\x7f"},
	} {
		if got := httpx.RedactURL(c.in); got != c.want {
			t.Errorf("RedactURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// The net/http client's errors quote the URL: RedactError hides its
// secrets, however deep the *url.Error is wrapped.
func TestRedactError(t *testing.T) {
	req, _ := http.NewRequestWithContext(context.Background(), "GET", "http://127.0.0.1:1/api?apiKey=TOPSECRET", nil)
	_, err := http.DefaultClient.Do(req)
	if err == nil || !strings.Contains(err.Error(), "TOPSECRET") {
		t.Fatalf("expected a url.Error quoting the key: %v", err)
	}
	for _, e := range []error{err, errors.Join(errors.New("retailcrm: orders"), err)} {
		got := httpx.RedactError(e)
		if strings.Contains(got.Error(), "TOPSECRET") || !strings.Contains(got.Error(), "apiKey=***") {
			t.Errorf("RedactError: %v", got)
		}
	}
	if httpx.RedactError(nil) != nil {
		t.Error("RedactError(nil) is not nil")
	}
}

func TestRedactErrorKeepsCause(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://127.0.0.1:1/api?token=TOPSECRET", nil)
	_, err := http.DefaultClient.Do(req)
	got := httpx.RedactError(err)
	if !errors.Is(got, context.Canceled) || strings.Contains(got.Error(), "TOPSECRET") {
		t.Fatalf("%v", got)
	}
}
