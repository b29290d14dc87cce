package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/connection"
)

// journalPage is how many entries of a connection's journal its page
// shows at a time.
const journalPage = 50

// journalView is the connection page's journal: the newest entries (or
// those before ?journal_before=), with a link to the older ones.
type journalView struct {
	Rows []connJournalRow
	// Older is the id to page back from ("" when there is nothing
	// older); Paged says this is not the newest page.
	Older string
	Paged bool
}

type connJournalRow struct {
	At     time.Time
	Level  string // "ok", "info" or "error": the row's mark
	Event  string
	Ref    string
	Text   string // the error, or the outcome when there is none
	Link   string // the record it made or touched, "" for none
	Record int64
}

// journalLevel grades an entry's outcome.
func journalLevel(outcome, errText string) string {
	switch outcome {
	case "failed", "refused", "error":
		return "error"
	case "duplicate", "ignored", "skipped":
		return "info"
	}
	if errText != "" {
		return "error"
	}
	return "ok"
}

// connJournal reads the page of connection c's journal the request asks
// for (journal_before); nil for a type that keeps none.
func (u *UI) connJournal(ctx context.Context, r *http.Request, c connection.Connection) (*journalView, error) {
	t, _ := u.conns.Registry().Type(c.Type)
	if t.Journal == "" {
		return nil, nil // a type that keeps none
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("journal_before"), 10, 64)
	es, err := u.conns.Journal(ctx, c.ID, before, journalPage+1)
	if err != nil {
		return nil, err
	}
	v := &journalView{Paged: before > 0}
	if len(es) > journalPage {
		es = es[:journalPage]
		v.Older = strconv.FormatInt(es[len(es)-1].ID, 10)
	}
	for _, e := range es {
		row := connJournalRow{At: e.CreatedAt, Level: journalLevel(e.Outcome, e.Error), Event: e.Event, Ref: e.Ref, Text: e.Error, Record: e.RecordID}
		if row.Text == "" {
			row.Text = e.Outcome
		}
		if e.RecordID > 0 {
			row.Link = "/e/" + t.Journal + "/" + strconv.FormatInt(e.RecordID, 10)
		}
		v.Rows = append(v.Rows, row)
	}
	return v, nil
}
