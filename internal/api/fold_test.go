package api_test

import (
	"net/url"
	"slices"
	"testing"
)

// Text filters and the search ignore case in every alphabet, on both
// engines: "иван" and "ИВАН" find "Иван", "заяв" finds "Заявка".
func TestTextFiltersIgnoreCaseInEveryAlphabet(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		id := map[string]int64{}
		for _, title := range []string{"Заявка с сайта", "ПОВТОРНАЯ ЗАЯВКА", "Звонок Ивану", "Call back"} {
			id[title] = e.create("/api/v1/leads", map[string]any{"title": title, "name": "Иван"})
		}
		cases := []struct {
			query string
			want  []string
		}{
			{"title.like=" + url.QueryEscape("заяв"), []string{"Заявка с сайта", "ПОВТОРНАЯ ЗАЯВКА"}},
			{"title.like=" + url.QueryEscape("ЗАЯВ"), []string{"Заявка с сайта", "ПОВТОРНАЯ ЗАЯВКА"}},
			{"title.like=" + url.QueryEscape("ивану"), []string{"Звонок Ивану"}},
			{"title.like=CALL", []string{"Call back"}},
			{"title.like=" + url.QueryEscape("ё"), nil},
			{"q=" + url.QueryEscape("иван"), []string{"Заявка с сайта", "ПОВТОРНАЯ ЗАЯВКА", "Звонок Ивану", "Call back"}},
			{"q=" + url.QueryEscape("ИВАН"), []string{"Заявка с сайта", "ПОВТОРНАЯ ЗАЯВКА", "Звонок Ивану", "Call back"}},
			{"q=" + url.QueryEscape("повторная"), []string{"ПОВТОРНАЯ ЗАЯВКА"}},
		}
		for _, c := range cases {
			t.Run(c.query, func(t *testing.T) {
				got := e.on(t).listLeads(c.query)
				var want []int64
				for _, n := range c.want {
					want = append(want, id[n])
				}
				if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("got %v, want %v (%v)", got, want, c.want)
				}
			})
		}
	})
}
