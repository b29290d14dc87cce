package exchange

import (
	"encoding/csv"
	"io"
	"net/http"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/spreadsheet"
)

// HandleFunc is internal/api's registration for administrators' routes
// (authentication, the role check, OpenAPI, error mapping).
type HandleFunc func(mux *http.ServeMux, pattern, summary string, req, resp any, h func(w http.ResponseWriter, r *http.Request) error)

// EntryList is the list envelope; NextBefore, when not 0, pages on.
type EntryList struct {
	Items      []Entry `json:"items"`
	NextBefore int64   `json:"next_before"`
}

// Requisite is a requisite 1C keeps on an order.
type Requisite struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// RegisterAPI adds the journal and settings routes under /api/v1.
func RegisterAPI(mux *http.ServeMux, handle HandleFunc, s *Service) {
	handle(mux, "GET /api/v1/exchanges", "1C exchange journal, newest first (admin; ?before=, limit=)", nil, EntryList{},
		func(w http.ResponseWriter, r *http.Request) error {
			before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
			limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
			items, err := s.ListEntries(r.Context(), before, limit)
			if err != nil {
				return err
			}
			out := EntryList{Items: items}
			if limit <= 0 || limit > 500 {
				limit = 50
			}
			if len(items) == limit {
				out.NextBefore = items[len(items)-1].ID
			}
			httpx.WriteJSON(w, http.StatusOK, out)
			return nil
		})
	handle(mux, "GET /api/v1/exchanges/{id}", "One 1C exchange (admin)", nil, Entry{},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := httpx.PathID(r, "id", "exchange")
			if err != nil {
				return err
			}
			e, err := s.GetEntry(r.Context(), id)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, e)
			return nil
		})
	handle(mux, "GET /api/v1/exchanges/{id}/file", "The raw file of a 1C exchange, while kept (admin); a web shop's run keeps each file it sent and received: ?name= picks one (import.xml, offers.xml, catalog.zip; from-site.xml, to-site.xml)", nil, nil,
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := httpx.PathID(r, "id", "exchange")
			if err != nil {
				return err
			}
			e, err := s.GetEntry(r.Context(), id)
			if err != nil {
				return err
			}
			if err := ServeEntryFile(w, e, r.URL.Query().Get("name")); err != nil {
				return httpx.Errorf(http.StatusNotFound, "not_found", "", "%s", err.Error())
			}
			return nil
		})
	handle(mux, "GET /api/v1/exchanges/{id}/skipped.csv", "The items a 1C exchange skipped or refused, as CSV: Ид, name, file, line, reason (admin)", nil, nil,
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := httpx.PathID(r, "id", "exchange")
			if err != nil {
				return err
			}
			e, err := s.GetEntry(r.Context(), id)
			if err != nil {
				return err
			}
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="exchange-`+strconv.FormatInt(id, 10)+`-skipped.csv"`)
			return WriteSkippedCSV(w, e.Skipped)
		})
	handle(mux, "GET /api/v1/exchanges/settings", "1C exchange settings (admin)", nil, Settings{},
		func(w http.ResponseWriter, r *http.Request) error {
			set, err := LoadSettings(r.Context(), s.store)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, set)
			return nil
		})
	handle(mux, "PUT /api/v1/exchanges/settings", "Replace the 1C exchange settings (admin)", Settings{}, Settings{},
		func(w http.ResponseWriter, r *http.Request) error {
			b, e := httpx.ReadBody(r, 1<<20)
			if e != nil {
				return e
			}
			var set Settings
			if e := httpx.DecodeJSON(b, &set); e != nil {
				return e
			}
			out, err := SaveSettings(r.Context(), s.store, crm.Actor{}, set)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, out)
			return nil
		})
	handle(mux, "GET /api/v1/exchanges/orders/{id}/requisites", "Requisites 1C keeps on a sales order (admin)", nil, []Requisite{},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := httpx.PathID(r, "id", "exchange")
			if err != nil {
				return err
			}
			rows, err := s.db.Read.QueryContext(r.Context(), "SELECT name, value FROM cml_order_requisites WHERE order_id = $1 ORDER BY name", id)
			if err != nil {
				return err
			}
			defer rows.Close()
			out := []Requisite{}
			for rows.Next() {
				var q Requisite
				if err := rows.Scan(&q.Name, &q.Value); err != nil {
					return err
				}
				out = append(out, q)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, out)
			return nil
		})
}

// WriteSkippedCSV writes skipped items as CSV with a header row; a UTF-8
// byte order mark first, so that Excel opens the Cyrillic right.
func WriteSkippedCSV(w io.Writer, items []SkippedItem) error {
	if _, err := w.Write([]byte{0xEF, 0xBB, 0xBF}); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"Ид", "Наименование", "Файл", "Строка", "Причина"})
	for _, it := range items {
		_ = cw.Write([]string{spreadsheet.Text(it.ID), spreadsheet.Text(it.Name), spreadsheet.Text(it.File), strconv.Itoa(it.Line), spreadsheet.Text(it.Reason)})
	}
	cw.Flush()
	return cw.Error()
}
