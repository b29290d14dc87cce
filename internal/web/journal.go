package web

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/delivery"
)

// JournalEntry is one exchange of an integration, as the generic journal
// view shows it.
type JournalEntry struct {
	ID          int64
	At          time.Time
	Integration string // the source's name or a finer one ("webhook: CRM sync")
	Direction   string // "out" or "in"
	Status      string
	Failed      bool
	Error       string
}

// JournalSource is an integration's exchange journal. Each integration
// (outbound webhooks today; 1C exchange, intake later) adds one with
// UI.AddJournal, and the Integrations section and the home page show it.
type JournalSource interface {
	// Name is the source's short, URL-safe name ("webhooks").
	Name() string
	// Journal lists the newest entries, only failures when failed is set.
	Journal(ctx context.Context, failed bool, limit int) ([]JournalEntry, error)
	// Payload is what an entry carried, for the "payload" link.
	Payload(ctx context.Context, id int64) (any, error)
}

// AddJournal registers an integration's journal.
func (u *UI) AddJournal(src JournalSource) { u.journal = append(u.journal, src) }

func (u *UI) source(name string) JournalSource {
	for _, s := range u.journal {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

type journalRow struct {
	JournalEntry
	Source, When, PayloadURL string
}

// journalRows merges the newest entries of every source.
func (u *UI) journalRows(ctx context.Context, only string, failed bool, limit int) ([]journalRow, error) {
	var rows []journalRow
	for _, src := range u.journal {
		if only != "" && src.Name() != only {
			continue
		}
		es, err := src.Journal(ctx, failed, limit)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			rows = append(rows, journalRow{JournalEntry: e, Source: src.Name(), When: e.At.Local().Format("02.01.2006 15:04:05"),
				PayloadURL: "/integrations/" + src.Name() + "/" + strconv.FormatInt(e.ID, 10)})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].At.After(rows[j].At) })
	if len(rows) > limit {
		rows = rows[:limit]
	}
	return rows, nil
}

type integrationsData struct {
	Sources []string
	Source  string
	Failed  bool
	Rows    []journalRow
}

func (u *UI) integrations(w http.ResponseWriter, r *http.Request, rq *request) {
	q := r.URL.Query()
	d := integrationsData{Source: q.Get("source"), Failed: q.Get("failed") == "1"}
	for _, s := range u.journal {
		d.Sources = append(d.Sources, s.Name())
	}
	var err error
	if d.Rows, err = u.journalRows(r.Context(), d.Source, d.Failed, 200); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	u.render(w, r, rq, http.StatusOK, "integrations", rq.T("int.title"), "integrations", d)
}

func (u *UI) journalPayload(w http.ResponseWriter, r *http.Request, rq *request) {
	src := u.source(r.PathValue("source"))
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	if src == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	v, err := src.Payload(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	u.render(w, r, rq, http.StatusOK, "payload", rq.T("int.payload"), "integrations", string(b))
}

// Deliveries is the outbound-webhook delivery journal as a journal source.
type Deliveries struct{ Service *delivery.Service }

// Name implements JournalSource.
func (Deliveries) Name() string { return "webhooks" }

// Journal implements JournalSource: the newest deliveries of every webhook.
func (d Deliveries) Journal(ctx context.Context, failed bool, limit int) ([]JournalEntry, error) {
	hooks, err := d.Service.List(ctx)
	if err != nil {
		return nil, err
	}
	status := ""
	if failed {
		status = delivery.StatusFailed
	}
	var out []JournalEntry
	for _, h := range hooks {
		ds, err := d.Service.Deliveries(ctx, h.ID, delivery.DeliveryQuery{Status: status, Limit: limit})
		if err != nil {
			return nil, err
		}
		for _, x := range ds {
			out = append(out, JournalEntry{ID: x.ID, At: x.UpdatedAt, Integration: "webhook: " + h.Name, Direction: "out",
				Status: x.Status, Failed: x.Status == delivery.StatusFailed, Error: x.LastError})
		}
	}
	return out, nil
}

// Payload implements JournalSource: the delivery with its attempts.
func (d Deliveries) Payload(ctx context.Context, id int64) (any, error) {
	return d.Service.Delivery(ctx, id)
}
