package bitrix_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/api"
	"github.com/obmen/obmen/internal/app/apptest"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestOAuthThroughTheApp is the OAuth path as a connector meets it on a
// second Obmen playing the portal: an administrator registers the
// application on a webhook through the API, the application calls the
// answer's client_endpoint with its token and renews the pair at its
// token_url; the next call works with the new token only.
func TestOAuthThroughTheApp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		s := apptest.Start(t, d)
		var hook api.BitrixWebhookCreated
		s.Do(t, http.MethodPost, "/api/v1/bitrix/webhooks", map[string]any{"name": "connector", "scopes": []string{"crm", "user"}}, http.StatusCreated, &hook)
		var app api.BitrixAppCreated
		s.Do(t, http.MethodPost, "/api/v1/bitrix/webhooks/"+itoa(hook.ID)+"/app", nil, http.StatusCreated, &app)
		if app.ClientEndpoint != s.Srv.URL+"/rest/" || app.TokenURL != s.Srv.URL+"/oauth/token/" || app.ClientSecret == "" || app.AccessToken == "" {
			t.Fatalf("registration answer: %+v", app)
		}
		// A second registration on the same webhook is refused.
		s.Do(t, http.MethodPost, "/api/v1/bitrix/webhooks/"+itoa(hook.ID)+"/app", nil, http.StatusUnprocessableEntity, nil)

		call := func(token string, want int) map[string]any {
			t.Helper()
			res, err := http.Get(app.ClientEndpoint + "crm.deal.list.json?auth=" + url.QueryEscape(token))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != want {
				t.Fatalf("crm.deal.list with a token: %d, want %d: %s", res.StatusCode, want, b)
			}
			var out map[string]any
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			return out
		}
		call(app.AccessToken, http.StatusOK)

		res, err := http.Post(app.TokenURL, "application/x-www-form-urlencoded", strings.NewReader(url.Values{
			"grant_type": {"refresh_token"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "refresh_token": {app.RefreshToken},
		}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var pair struct {
			AccessToken    string `json:"access_token"`
			RefreshToken   string `json:"refresh_token"`
			ClientEndpoint string `json:"client_endpoint"`
			MemberID       string `json:"member_id"`
			ExpiresIn      int    `json:"expires_in"`
		}
		if err := json.NewDecoder(res.Body).Decode(&pair); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("refresh: %d %v", res.StatusCode, err)
		}
		if pair.ClientEndpoint != app.ClientEndpoint || pair.MemberID == "" || pair.ExpiresIn != 3600 || pair.RefreshToken == app.RefreshToken {
			t.Errorf("refresh answer: %+v", pair)
		}
		call(pair.AccessToken, http.StatusOK)
		if e := call("not-a-token", http.StatusUnauthorized); e["error"] != "NO_AUTH_FOUND" {
			t.Errorf("unknown token: %v", e)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
