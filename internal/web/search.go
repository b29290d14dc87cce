package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/obmen/obmen/internal/store"
)

// searchGroup is one entity's hits on the search page.
type searchGroup struct {
	Entity string
	Label  string
	Hits   []store.SearchHit
	// More: the entity has more hits; the link opens its list searched.
	More string
}

type searchPage struct {
	Q      string
	Groups []searchGroup
	Total  int
}

// search is the header's global search: up to 10 records of each entity,
// with phones and e-mails as tel:/mailto: links.
func (u *UI) search(w http.ResponseWriter, r *http.Request, rq *request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	data := searchPage{Q: q}
	if q != "" {
		res, err := u.store.Search(r.Context(), q, 10)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		for _, e := range store.SearchEntities {
			g := searchGroup{Entity: e, Label: rq.T("e." + e)}
			for _, h := range res.Hits {
				if h.Entity == e {
					g.Hits = append(g.Hits, h)
				}
			}
			if res.More[e] {
				g.More = "/e/" + e + "?q=" + url.QueryEscape(q)
			}
			if len(g.Hits) > 0 {
				data.Groups = append(data.Groups, g)
				data.Total += len(g.Hits)
			}
		}
	}
	title := rq.T("search.title")
	if q != "" {
		title = q + " — " + title
	}
	u.render(w, r, rq, http.StatusOK, "search", title, "", data)
}

// telHref is a phone's tel: link: its digits and a leading +.
func telHref(phone string) string {
	var b strings.Builder
	for i, c := range strings.TrimSpace(phone) {
		if (c >= '0' && c <= '9') || (c == '+' && i == 0) {
			b.WriteRune(c)
		}
	}
	return "tel:" + b.String()
}
