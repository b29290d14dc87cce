package automation

// Template is a ready bundle of the gallery that needs no connection: a
// user copies it into the editor and adjusts it before switching it on.
// The gallery (internal/automation/gallery) holds every template, these
// and the ones bound to connections, as embedded JSON.
type Template struct {
	Name        string     `json:"name"`
	Title       Text       `json:"title"`
	Description Text       `json:"description"`
	Definition  Definition `json:"definition"`
}

// TemplateList is GET /api/v1/bundles/templates's envelope.
type TemplateList struct {
	Items []Template `json:"items"`
}
