package mail

import (
	"context"
	"net/http"

	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/intake"
)

// CollectorList is the list envelope.
type CollectorList struct {
	Items []Collector `json:"items"`
}

// RegisterAPI adds the collectors' routes (admin): CRUD under
// /api/v1/intake/collectors and POST …/{id}/run to run one now.
func RegisterAPI(mux *http.ServeMux, admin intake.AdminHandler, s *Service, maxBody int64) {
	intake.RegisterCRUD(mux, admin, maxBody, s, intake.Resource[Collector]{
		Path: "/api/v1/intake/collectors", What: "collector",
		Summaries: [5]string{"Mail collectors", "Add a mail collector (the password is write-only, stored encrypted)",
			"A mail collector", "Replace a mail collector's settings (an empty password keeps the stored one)", "Delete a mail collector"},
		New:      func() Collector { return Collector{Enabled: true} },
		ID:       func(c Collector) int64 { return c.ID },
		List:     func(cs []Collector) any { return CollectorList{Items: cs} },
		Envelope: CollectorList{},
	})
	id := func(r *http.Request) (int64, error) { return httpx.PathID(r, "id", "collector") }
	admin(mux, "POST /api/v1/intake/collectors/{id}/run", "Run a mail collector now; answers what it did", nil, Stats{},
		func(w http.ResponseWriter, r *http.Request) error {
			n, err := id(r)
			if err != nil {
				return err
			}
			if _, err := s.Get(r.Context(), n); err != nil {
				return err
			}
			// A run that has started finishes even if the caller goes.
			st, err := s.Run(context.WithoutCancel(r.Context()), n)
			if err != nil && st.Error == "" {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, st)
			return nil
		})
}
