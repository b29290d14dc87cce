package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/httpx"
)

// addressRoutes serves suggestions of Russian addresses from the imported
// ФИАС/ГАР data (obmen address import): city, then street within it, then
// house, as a user fills an address block.
func (a *API) addressRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/v1/address/suggest",
		"Suggest addresses (ФИАС/ГАР): q the text typed, level city|street|house, parent the fias_id of the chosen city (for streets) or street (for houses), limit up to 50",
		nil, ListResponse[address.Suggestion]{}, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Addresses, authz.Read, 0); err != nil {
				return err
			}
			v := r.URL.Query()
			q := address.Query{Text: v.Get("q"), Level: address.Level(v.Get("level")), Parent: v.Get("parent")}
			if q.Level == "" {
				q.Level = address.LevelCity
			}
			switch q.Level {
			case address.LevelCity, address.LevelStreet, address.LevelHouse:
			default:
				return httpx.Errorf(http.StatusBadRequest, "bad_request", "level", "level must be city, street or house")
			}
			if q.Level != address.LevelCity && q.Parent == "" {
				return httpx.Errorf(http.StatusBadRequest, "bad_request", "parent", "a %s is suggested within a parent: give parent, the fias_id of the chosen %s", q.Level,
					map[address.Level]string{address.LevelStreet: "city", address.LevelHouse: "street"}[q.Level])
			}
			if len(q.Text) > 200 {
				return httpx.Errorf(http.StatusBadRequest, "bad_request", "q", "q is longer than 200 bytes")
			}
			if s := v.Get("limit"); s != "" {
				n, err := strconv.Atoi(s)
				if err != nil || n < 1 || n > 50 {
					return httpx.Errorf(http.StatusBadRequest, "bad_request", "limit", "limit must be 1–50")
				}
				q.Limit = n
			}
			out, err := a.addrSuggester().Suggest(r.Context(), q)
			if errors.Is(err, address.ErrUnknownParent) {
				return httpx.Errorf(http.StatusBadRequest, "bad_request", "parent", "parent %q is not an imported address object", q.Parent)
			}
			return writeList(w, out, err)
		})
}

// SetAddressSource sets where suggestions come from (the imported base,
// or DaData once an admin enters a key; the admin UI shares it). nil:
// the imported base alone.
func (a *API) SetAddressSource(s *address.Source) { a.addr = s }

func (a *API) addrSuggester() address.Suggester {
	if a.addr != nil {
		return a.addr
	}
	return address.Local{DB: a.store.DB()}
}
