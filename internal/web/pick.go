package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/store"
)

// pickResult is one record a picker offers.
type pickResult struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
	Hint  string `json:"hint,omitempty"`
}

// maxPick bounds the matches a picker shows.
const maxPick = 10

// pick answers a record picker: the records of an entity the user may see
// that match q (the list's search: names, phones, e-mails, INN, numbers)
// or whose number is q, as JSON.
func (u *UI) pick(w http.ResponseWriter, r *http.Request, rq *request) {
	e, ok := u.byPath[r.PathValue("entity")]
	if !ok {
		http.Error(w, "no such entity", http.StatusNotFound)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	out := []pickResult{}
	seen := map[int64]bool{}
	if id, err := strconv.ParseInt(strings.TrimPrefix(q, "#"), 10, 64); err == nil && id > 0 {
		if rec, err := e.get(r.Context(), id); err == nil && rec["deleted_at"] == nil {
			out = append(out, pickResult{ID: id, Title: titleOf(e.Name, rec), Hint: "№ " + strconv.FormatInt(id, 10)})
			seen[id] = true
		}
	}
	if q != "" {
		recs, _, err := e.list(r.Context(), store.ListParams{Q: q, Limit: maxPick, Sort: "-created_at"})
		if err != nil {
			u.log.Warn("web: picker", "entity", e.Name, "err", err)
		}
		for _, rec := range recs {
			if id := rec.ID(); !seen[id] && len(out) < maxPick {
				out = append(out, pickResult{ID: id, Title: titleOf(e.Name, rec), Hint: pickHint(rec)})
				seen[id] = true
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// pickHint tells apart records of the same name: a phone, an e-mail, an
// INN or a product's article.
func pickHint(rec record) string {
	for _, k := range []string{"phones", "emails"} {
		if s := commsText(rec[k]); s != "" {
			return s
		}
	}
	if s := strOf(rec["inn"]); s != "" {
		return s
	}
	return strOf(rec["article"])
}

// chosenJSON is a picker's chosen records ([{id, title, entity}]) from a
// field's links.
func chosenJSON(links []option) string {
	type chosen struct {
		ID     int64  `json:"id"`
		Title  string `json:"title"`
		Entity string `json:"entity"`
	}
	out := []chosen{}
	for _, l := range links {
		parts := strings.Split(l.Value, "/") // /e/<entity>/<id>
		if len(parts) != 4 {
			continue
		}
		id, _ := strconv.ParseInt(parts[3], 10, 64)
		out = append(out, chosen{ID: id, Title: l.Label, Entity: parts[2]})
	}
	b, _ := json.Marshal(out)
	return string(b)
}
