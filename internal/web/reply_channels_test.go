package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/x"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// The card's reply box with a channel chosen: X publishes «@handle text»
// from the record's Twitter field; without a choice the reply goes where
// the client last wrote — never to X by itself, a post there is public;
// a channel without a conversation or an unknown one is refused in
// Russian.
func TestReplyChannels(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnvWith(t, d, func(c *config.Config) { c.OutboundAllow = []string{"127.0.0.0/8"} })
		ctx := context.Background()
		var mu sync.Mutex
		var posts []string
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var p struct {
				Text string `json:"text"`
			}
			_ = json.NewDecoder(r.Body).Decode(&p)
			if r.URL.Path != "/2/tweets" || !strings.HasPrefix(r.Header.Get("Authorization"), "OAuth ") {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			mu.Lock()
			posts = append(posts, p.Text)
			mu.Unlock()
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"id": "1445880548472328192", "text": p.Text}})
		}))
		t.Cleanup(api.Close)
		if _, err := e.app.Connections.Create(ctx, e.admin.UserID, connection.Input{Type: x.Type, Name: "X", Settings: map[string]any{
			"consumer_key": "ck", "consumer_secret": "cs", "access_token": "at", "access_token_secret": "ats", "api_url": api.URL}}); err != nil {
			t.Fatal(err)
		}
		c, err := e.app.Store.CreateContact(ctx, e.admin, crm.Contact{Name: "Мария",
			Comms: crm.Comms{Webs: []crm.Comm{{Value: "https://x.com/maria_i", ValueType: "TWITTER"}}}})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signIn()
		card := "/e/contact/" + strconv.FormatInt(c.ID, 10)
		if p := b.get(card); !strings.Contains(p.Body, `id="reply-channel"`) || !strings.Contains(p.Body, `<option value="twitter">`) ||
			!strings.Contains(p.Body, `<option value="facebook">`) {
			t.Fatalf("the reply box has no channel choice: %s", p.Body)
		}
		for _, tc := range []struct {
			channel string
			status  int
			says    string
		}{
			{"", http.StatusUnprocessableEntity, "ещё нет переписки"},
			{"facebook", http.StatusUnprocessableEntity, "не писал странице"},
			{"fax", http.StatusUnprocessableEntity, "Такого канала нет"},
			{"twitter", http.StatusSeeOther, ""},
		} {
			p := b.post(card+"/message", url.Values{"text": {"Спасибо за заказ!"}, "channel": {tc.channel}})
			if p.Status != tc.status || !strings.Contains(p.Body, tc.says) {
				t.Errorf("channel %q: HTTP %d %s", tc.channel, p.Status, p.Body)
			}
		}
		mu.Lock()
		if len(posts) != 1 || posts[0] != "@maria_i Спасибо за заказ!" {
			t.Fatalf("X got %q", posts)
		}
		mu.Unlock()
		if p := b.get(card); !strings.Contains(p.Body, "@maria_i Спасибо за заказ!") {
			t.Fatalf("the post is not in the card's list")
		}
	})
}
