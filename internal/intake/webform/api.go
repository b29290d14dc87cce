package webform

import (
	"net/http"

	"github.com/obmen/obmen/internal/intake"
)

// FormList is the list envelope.
type FormList struct {
	Items []Form `json:"items"`
}

// RegisterAPI adds the forms' CRUD under /api/v1/webforms (admin); every
// record carries its public id, submit URL and generated HTML.
func RegisterAPI(mux *http.ServeMux, admin intake.AdminHandler, s *Service, maxBody int64) {
	intake.RegisterCRUD(mux, admin, maxBody, s, intake.Resource[Form]{
		Path: "/api/v1/webforms", What: "form",
		Summaries: [5]string{"Web forms", "Add a web form; the answer carries its public id and the HTML to paste into a site",
			"A web form with its HTML", "Replace a web form's settings (its public id stays)", "Delete a web form"},
		New:      func() Form { return Form{Enabled: true, MinFillSeconds: DefaultMinFillSeconds} },
		ID:       func(f Form) int64 { return f.ID },
		List:     func(fs []Form) any { return FormList{Items: fs} },
		Envelope: FormList{},
	})
}
