package api_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/obmen/obmen/internal/store"
)

// TestGlobalSearchAPI: GET /api/v1/search finds across entities by a
// phone's last 7 digits, an e-mail domain and a Cyrillic name in another
// case; q is required and limit bounded.
func TestGlobalSearchAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		lead := e.create("/api/v1/leads", map[string]any{"title": "Заявка Ёлкина", "phones": []any{map[string]any{"value": "+7 916 123-45-67"}}})
		con := e.create("/api/v1/contacts", map[string]any{"name": "Пётр", "last_name": "Ёлкин", "emails": []any{map[string]any{"value": "petr@Mail.ru"}}})
		for _, tc := range []struct {
			q    string
			want []int64
		}{
			{"1234567", []int64{lead}},
			{"mail.ru", []int64{con}},
			{"ЁЛКИН", []int64{lead, con}},
		} {
			r := e.do(http.MethodGet, "/api/v1/search?q="+url.QueryEscape(tc.q), nil)
			if r.Status != http.StatusOK {
				t.Fatalf("%q: %d %s", tc.q, r.Status, r.Body)
			}
			var res store.SearchResult
			r.json(t, &res)
			var got []int64
			for _, h := range res.Hits {
				got = append(got, h.ID)
			}
			if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) || got[len(got)-1] != tc.want[len(tc.want)-1] {
				t.Errorf("%q: %s", tc.q, r.Body)
			}
		}
		for _, path := range []string{"/api/v1/search", "/api/v1/search?q=x&limit=0", "/api/v1/search?q=x&limit=51"} {
			if r := e.do(http.MethodGet, path, nil); r.Status != http.StatusBadRequest {
				t.Errorf("%s: %d %s", path, r.Status, r.Body)
			}
		}
	})
}
