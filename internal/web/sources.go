package web

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/intake"
	"github.com/obmen/obmen/internal/store"
)

// IntakeIntegration is lead intake's page (the orders endpoint, mail
// collectors, web forms): its journal of every accepted or refused
// submission.
func IntakeIntegration(svc *intake.Service) Integration {
	return Integration{Name: "intake",
		Title: map[string]string{"ru": "Приём заявок", "en": "Lead intake"},
		About: map[string]string{
			"ru": "Заявки с сайта (POST /api/v1/intake/orders), из почты (сборщики IMAP) и веб-форм. Формы и сборщики настраиваются здесь или через REST API (/api/v1/webforms, /api/v1/intake/collectors).",
			"en": "Leads from the website (POST /api/v1/intake/orders), mail (IMAP collectors) and web forms. Forms and collectors are set up here or through the REST API (/api/v1/webforms, /api/v1/intake/collectors).",
		},
		SettingsURL: "/admin/webforms",
		Links:       []IntegrationLink{{URL: "/admin/collectors", Title: map[string]string{"ru": "Сборщики почты", "en": "Mail collectors"}}},
		Resource:    authz.Intake,
		Journal:     intakeJournal{svc}}
}

type intakeJournal struct{ svc *intake.Service }

func (intakeJournal) Name() string { return "intake" }

func (j intakeJournal) Journal(ctx context.Context, failed bool, limit int) ([]JournalEntry, error) {
	q := intake.JournalQuery{Limit: limit}
	if failed {
		q.Outcome = intake.OutcomeFailed
	}
	es, err := j.svc.ListJournal(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]JournalEntry, 0, len(es))
	for _, e := range es {
		msg := e.Error
		if e.Field != "" {
			msg = e.Field + ": " + msg
		}
		out = append(out, JournalEntry{ID: e.ID, At: e.CreatedAt, Integration: strings.TrimSpace(e.Source + " " + e.Ref), Direction: "in",
			Status: e.Outcome, Failed: e.Outcome == intake.OutcomeFailed, Error: msg})
	}
	return out, nil
}

// Payload is the journal entry itself (what came in, what it became).
func (j intakeJournal) Payload(ctx context.Context, id int64) (any, error) {
	es, err := j.svc.ListJournal(ctx, intake.JournalQuery{Before: id + 1, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(es) == 0 || es[0].ID != id {
		return nil, store.NotFound("intake journal entry", id)
	}
	return es[0], nil
}

// ExchangeIntegration is the 1C exchange's page (CommerceML over
// /1c_exchange.php): its journal of exchange sessions.
func ExchangeIntegration(svc *exchange.Service) Integration {
	return Integration{Name: "1c",
		Title: map[string]string{"ru": "Обмен с 1С", "en": "1C exchange"},
		About: map[string]string{
			"ru": "Обмен товарами, остатками и заказами с 1С по протоколу CommerceML (адрес /1c_exchange.php). Файлы обменов скачиваются через /api/v1/exchanges/{id}/file.",
			"en": "Products, stock and orders exchanged with 1C over CommerceML (/1c_exchange.php). Exchange files download from /api/v1/exchanges/{id}/file.",
		},
		SettingsURL: "/admin/1c",
		Resource:    authz.Exchange1C,
		Journal:     exchangeJournal{svc}}
}

type exchangeJournal struct{ svc *exchange.Service }

func (exchangeJournal) Name() string { return "1c" }

func (j exchangeJournal) Journal(ctx context.Context, failed bool, limit int) ([]JournalEntry, error) {
	es, err := j.svc.ListEntries(ctx, 0, limit)
	if err != nil {
		return nil, err
	}
	var out []JournalEntry
	for _, e := range es {
		// A partly failed exchange answered success to 1C with items
		// refused or skipped: it is shown with the failures.
		bad := e.Status == exchange.StatusFailure || e.PartlyFailed
		if failed && !bad {
			continue
		}
		dir, who := "in", "1С "
		if e.Direction == exchange.DirOut {
			dir = "out"
		}
		if e.Direction == site.DirSite {
			// A run of the exchange with a web shop, Obmen playing 1C.
			dir, who = "site", "сайт "
		}
		msg := e.Error
		if msg == "" && len(e.Problems) > 0 {
			msg = strings.Join(e.Problems, "; ")
		}
		status := e.Status
		if e.PartlyFailed && e.Status == exchange.StatusSuccess {
			status = "partly_failed"
		}
		out = append(out, JournalEntry{ID: e.ID, At: e.StartedAt, Integration: who + e.Type + " " + e.Filename, Direction: dir,
			Status: status, Failed: bad, Error: msg, Skipped: len(e.Skipped)})
	}
	return out, nil
}

func (j exchangeJournal) Payload(ctx context.Context, id int64) (any, error) {
	return j.svc.GetEntry(ctx, id)
}

// Files implements FileSource: what the exchange or the site run keeps.
func (j exchangeJournal) Files(payload any) []string {
	e, ok := payload.(exchange.Entry)
	if !ok {
		return nil
	}
	return exchange.EntryFiles(e)
}

// ServeFile implements FileSource.
func (j exchangeJournal) ServeFile(ctx context.Context, w http.ResponseWriter, id int64, name string) error {
	e, err := j.svc.GetEntry(ctx, id)
	if err != nil {
		return err
	}
	return exchange.ServeEntryFile(w, e, name)
}

// SkippedCSV implements SkippedSource: the exchange's skipped and refused
// items as the API's /exchanges/{id}/skipped.csv gives them.
func (j exchangeJournal) SkippedCSV(ctx context.Context, w io.Writer, id int64) error {
	e, err := j.svc.GetEntry(ctx, id)
	if err != nil {
		return err
	}
	return exchange.WriteSkippedCSV(w, e.Skipped)
}
