package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// Import limits: one upload, its rows.
const (
	maxImportBytes = 4 << 20
	maxImportRows  = 10000
)

// importers create records of the entities that can be imported, all or
// none (store.Import*).
func importerOf(s *store.Store, entity string) func(ctx context.Context, a crm.Actor, patches []record, dryRun bool) ([]int64, []store.ImportError, error) {
	switch entity {
	case store.EntityLead:
		return importVia(s.ImportLeads)
	case store.EntityContact:
		return importVia(s.ImportContacts)
	case store.EntityAccount:
		return importVia(s.ImportAccounts)
	}
	return nil
}

func importVia[T any](imp func(context.Context, crm.Actor, []T, bool) ([]int64, []store.ImportError, error)) func(context.Context, crm.Actor, []record, bool) ([]int64, []store.ImportError, error) {
	return func(ctx context.Context, a crm.Actor, patches []record, dryRun bool) ([]int64, []store.ImportError, error) {
		vs := make([]T, len(patches))
		var bad []store.ImportError
		for i, p := range patches {
			b, err := json.Marshal(p)
			if err != nil {
				return nil, nil, err
			}
			if e := httpx.DecodeJSON(b, &vs[i]); e != nil {
				bad = append(bad, store.ImportError{Row: i + 1, Field: e.Field, Message: e.Message})
			}
		}
		if len(bad) > 0 {
			return nil, bad, nil
		}
		return imp(ctx, a, vs, dryRun)
	}
}

// decodeCSV reads an uploaded table: UTF-8 (with or without BOM) or, when
// that is not valid, Windows-1251 (what Russian Excel saves); ";" or ","
// as separator, whichever the header line has more of.
func decodeCSV(b []byte) (string, rune, [][]string, error) {
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	if !utf8.Valid(b) {
		d, err := charmap.Windows1251.NewDecoder().Bytes(b)
		if err != nil {
			return "", 0, nil, fmt.Errorf("the file is neither UTF-8 nor Windows-1251: %w", err)
		}
		b = d
	}
	text := string(b)
	head, _, _ := strings.Cut(text, "\n")
	delim := ','
	if strings.Count(head, ";") > strings.Count(head, ",") {
		delim = ';'
	}
	rows, err := readCSV(text, delim)
	return text, delim, rows, err
}

func readCSV(text string, delim rune) ([][]string, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.Comma, r.FieldsPerRecord, r.LazyQuotes = delim, -1, true
	var rows [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err // csv.ParseError names the line and column
		}
		if len(rows) > maxImportRows {
			return nil, fmt.Errorf("more than %d rows; split the file", maxImportRows)
		}
		rows = append(rows, rec)
	}
	if len(rows) < 2 {
		return nil, errors.New("the file needs a header line and at least one row")
	}
	return rows, nil
}

type mapCol struct {
	Index   int
	Header  string
	Field   string
	Samples []string
}

type importError struct {
	Line         int
	Field, Error string
}

type importData struct {
	Entity   string
	Entities []option
	Data     string
	Delim    string
	Cols     []mapCol
	Fields   []option
	Error    string
	Errors   []importError
	Preview  [][]string
	Heads    []string
	Checked  int
	Imported int
	ListURL  string
	// Dups are the rows that duplicate a record or an earlier row;
	// DupMode what the import does with them (skip, update, create).
	Dups    []importDup
	DupMode string
	Updated int
	Skipped int
	Done    bool
}

// importable are the fields a column can go to.
func importable(e *entity, t func(string) string) []option {
	out := []option{{"", t("imp.skip")}}
	for _, f := range e.Fields {
		// An address block is several columns' worth: not one column.
		if f.RO || f.Kind == kLong && f.Name != "comments" || f.Kind == kAddress {
			continue
		}
		out = append(out, option{f.Name, t("f." + f.Name)})
	}
	return out
}

// guessField maps a header to a field by name or label, in either language.
func guessField(e *entity, header string) string {
	h := strings.ToLower(strings.TrimSpace(header))
	for _, f := range e.Fields {
		if f.RO || f.Kind == kAddress {
			continue
		}
		if h == f.Name || h == strings.ToLower(translate("ru", "f."+f.Name)) || h == strings.ToLower(translate("en", "f."+f.Name)) {
			return f.Name
		}
	}
	switch {
	case strings.Contains(h, "телефон") || strings.Contains(h, "phone"):
		return "phones"
	case strings.Contains(h, "mail") || strings.Contains(h, "почта"):
		return "emails"
	}
	return ""
}

func (u *UI) importEntity(w http.ResponseWriter, r *http.Request, rq *request, name string) (*entity, bool) {
	e, ok := u.byPath[name]
	if !ok || importerOf(u.store, name) == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return nil, false
	}
	return e, true
}

func importEntities(t func(string) string) []option {
	return []option{{store.EntityLead, t("e.lead")}, {store.EntityContact, t("e.contact")}, {store.EntityAccount, t("e.account")}}
}

func (u *UI) importPage(w http.ResponseWriter, r *http.Request, rq *request) {
	name := r.URL.Query().Get("entity")
	if name == "" {
		name = store.EntityLead
	}
	if _, ok := u.importEntity(w, r, rq, name); !ok {
		return
	}
	u.render(w, r, rq, http.StatusOK, "import", rq.T("imp.title"), name, importData{Entity: name, Entities: importEntities(rq.T)})
}

// importUpload reads the file and shows the column mapping.
func (u *UI) importUpload(w http.ResponseWriter, r *http.Request, rq *request) {
	name := r.FormValue("entity")
	e, ok := u.importEntity(w, r, rq, name)
	if !ok {
		return
	}
	d := importData{Entity: name, Entities: importEntities(rq.T)}
	f, _, err := r.FormFile("file")
	if err != nil {
		d.Error = rq.T("imp.no_file")
		u.render(w, r, rq, http.StatusUnprocessableEntity, "import", rq.T("imp.title"), name, d)
		return
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxImportBytes+1))
	if err == nil && len(b) > maxImportBytes {
		err = fmt.Errorf("the file is larger than %d MiB", maxImportBytes>>20)
	}
	var rows [][]string
	var delim rune
	if err == nil {
		d.Data, delim, rows, err = decodeCSV(b)
	}
	if err != nil {
		d.Error = "CSV: " + err.Error()
		u.render(w, r, rq, http.StatusUnprocessableEntity, "import", rq.T("imp.title"), name, d)
		return
	}
	d.Delim = string(delim)
	d.Fields = importable(e, rq.T)
	for i, h := range rows[0] {
		c := mapCol{Index: i, Header: h, Field: guessField(e, h)}
		for _, row := range rows[1:min(len(rows), 4)] {
			if i < len(row) {
				c.Samples = append(c.Samples, row[i])
			}
		}
		d.Cols = append(d.Cols, c)
	}
	u.render(w, r, rq, http.StatusOK, "import", rq.T("imp.title"), name, d)
}

// importRun maps the rows, validates them all (dry run) and, when asked
// and nothing is wrong, creates them all in one transaction.
func (u *UI) importRun(w http.ResponseWriter, r *http.Request, rq *request) {
	f := r.PostForm
	name := f.Get("entity")
	e, ok := u.importEntity(w, r, rq, name)
	if !ok {
		return
	}
	d := importData{Entity: name, Entities: importEntities(rq.T), Data: f.Get("data"), Delim: f.Get("delim"), Fields: importable(e, rq.T)}
	delim := ','
	if d.Delim == ";" {
		delim = ';'
	}
	rows, err := readCSV(d.Data, delim)
	if err != nil {
		d.Error = "CSV: " + err.Error()
		u.render(w, r, rq, http.StatusUnprocessableEntity, "import", rq.T("imp.title"), name, d)
		return
	}
	allowed := map[string]bool{}
	for _, o := range d.Fields {
		allowed[o.Value] = o.Value != ""
	}
	mapping := map[int]string{}
	for i, h := range rows[0] {
		c := mapCol{Index: i, Header: h, Field: f.Get("map." + strconv.Itoa(i))}
		if !allowed[c.Field] {
			c.Field = ""
		}
		if c.Field != "" {
			mapping[i] = c.Field
			d.Heads = append(d.Heads, rq.T("f."+c.Field))
		}
		for _, row := range rows[1:min(len(rows), 4)] {
			if i < len(row) {
				c.Samples = append(c.Samples, row[i])
			}
		}
		d.Cols = append(d.Cols, c)
	}
	lk := u.lookupsFor(r.Context(), rq)
	var patches []record
	var lines []int // the file's line of each patch
	for n, row := range rows[1:] {
		vals := map[string]string{}
		var line []string
		for i, field := range mapping {
			if i < len(row) {
				v := strings.TrimSpace(row[i])
				if fl, _ := e.Field(field); fl.Kind == kStatus {
					// A status may be given by its name.
					for _, st := range lk.statusList(fl.Dict) {
						if strings.EqualFold(st.Name, v) {
							v = st.StatusID
						}
					}
				}
				vals[field] = v
			}
		}
		for _, fl := range e.Fields {
			if _, ok := vals[fl.Name]; ok {
				line = append(line, vals[fl.Name])
			}
		}
		if fl := vals; len(fl) == 0 {
			continue
		}
		get := func(k string) string { return vals[k] }
		has := func(k string) bool { _, ok := vals[k]; return ok }
		p, fe := parseForm(e, get, has, record{}, rq.T, rq.Loc)
		if fe != nil {
			d.Errors = append(d.Errors, importError{Line: n + 2, Field: rq.T("f." + fe.Field), Error: fieldMessage(rq, fe)})
			p = record{}
		}
		patches = append(patches, p)
		lines = append(lines, n+2)
		if len(d.Preview) < 20 {
			d.Preview = append(d.Preview, line)
		}
	}
	// Heads in the entity's field order, as the preview lines are.
	d.Heads = d.Heads[:0]
	for _, fl := range e.Fields {
		for _, m := range mapping {
			if m == fl.Name {
				d.Heads = append(d.Heads, rq.T("f."+fl.Name))
				break
			}
		}
	}
	d.Checked = len(patches)
	if len(mapping) == 0 {
		d.Error = rq.T("imp.no_mapping")
	}
	d.DupMode = f.Get("dup_mode")
	if d.DupMode != dupUpdate && d.DupMode != dupCreate {
		d.DupMode = dupSkip
	}
	if len(d.Errors) == 0 && d.Error == "" {
		dups, err := findImportDups(r.Context(), u.store, name, patches, func(i int) int { return lines[i] })
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		ups := map[int64]record{}
		create, createLines := patches, lines
		if len(dups) > 0 && d.DupMode != dupCreate {
			create, createLines = nil, nil
			for i, p := range patches {
				dup, ok := dups[i]
				switch {
				case !ok:
					create, createLines = append(create, p), append(createLines, lines[i])
				case d.DupMode == dupUpdate && dup.ID != 0:
					ups[dup.ID] = p
				default:
					d.Skipped++
				}
			}
		}
		for i := range patches {
			if dup, ok := dups[i]; ok {
				d.Dups = append(d.Dups, dup)
			}
		}
		dry := !f.Has("import")
		ids, bad, err := importerOf(u.store, name)(r.Context(), rq.Actor(), create, dry)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		if !dry && len(bad) == 0 && len(ups) > 0 {
			if err := u.updateExisting(r.Context(), rq.Actor(), name, ups); err != nil {
				if !invalid(err) {
					u.failErr(w, r, rq, err)
					return
				}
				d.Error = fieldMsg(rq, err)
			} else {
				d.Updated = len(ups)
			}
		}
		for _, b := range bad {
			field := b.Field
			if i := strings.IndexAny(field, "[."); i > 0 {
				field = field[:i]
			}
			line := b.Row + 1
			if b.Row >= 1 && b.Row <= len(createLines) {
				line = createLines[b.Row-1]
			}
			d.Errors = append(d.Errors, importError{Line: line, Field: rq.T("f." + field), Error: b.Message})
		}
		d.Imported = len(ids)
		d.Done = !dry && len(d.Errors) == 0 && d.Error == ""
		d.ListURL = "/e/" + name + "?sort=-created_at"
	}
	if lk.err != nil {
		u.failErr(w, r, rq, lk.err)
		return
	}
	status := http.StatusOK
	if len(d.Errors) > 0 || d.Error != "" {
		status = http.StatusUnprocessableEntity
	}
	u.render(w, r, rq, status, "import", rq.T("imp.title"), name, d)
}
