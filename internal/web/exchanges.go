package web

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/automation"
)

// A record card's exchanges with an external system (issue 16: "shows on
// the order card what was sent and what the portal answered"): the steps
// of connector actions that sent the record, and of the portal's events
// applied to it, read from the runs' steps journal.

// exchangeSources: per entity, the connectors' action prefix and the key
// under which an applied event's output names the record.
var exchangeSources = map[string]struct{ prefix, key string }{
	"sales_order": {"bitrix24.", "sales_order_id"},
	"contact":     {"bitrix24.", "contact_id"},
	"account":     {"bitrix24.", "account_id"},
}

// exchangeApplies are the actions whose output names the record they
// changed (an event from the portal).
var exchangeApplies = []string{"bitrix24.event.apply"}

// exchangeRow is one exchange as the card shows it.
type exchangeRow struct {
	At     time.Time
	Action string
	// Sent is the step's input in short, Answer its output (the
	// portal's ids and what came of it), Error the refusal.
	Sent, Answer, Error string
	OK                  bool
	// RunID links the run, for those who may read the journal.
	RunID int64
}

// maxExchangeText bounds each cell: the card shows a glance, the run
// the whole.
const maxExchangeText = 240

// cardExchanges are the record's last exchanges, newest first.
func (u *UI) cardExchanges(ctx context.Context, rq *request, entity string, id int64) ([]exchangeRow, error) {
	src, ok := exchangeSources[entity]
	if !ok || u.auto == nil {
		return nil, nil
	}
	steps, err := u.auto.RecordSteps(ctx, automation.RecordStepsQuery{Entity: entity, RecordID: id, ActionPrefix: src.prefix,
		OutputKey: src.key, OutputActions: exchangeApplies, Limit: 20})
	if err != nil {
		return nil, err
	}
	runs := authz.Can(rq.User, authz.Automation, authz.Read)
	msgs := u.auto.Registry().Messages()
	var out []exchangeRow
	for _, st := range steps {
		row := exchangeRow{At: st.StartedAt, Action: msgs.Text("action."+st.Action, st.Action).In(rq.Lang), OK: st.Result == "OK",
			Sent: short(st.Input, "connection"), Answer: short(st.Output), Error: clipText(st.Error)}
		if runs {
			row.RunID = st.RunID
		}
		out = append(out, row)
	}
	return out, nil
}

// short is a JSON-like value in one line: an object's keys in order,
// empty values and the keys named left out.
func short(v any, skip ...string) string {
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return ""
		}
		return clipText(fmt.Sprint(v))
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		x := m[k]
		if slices.Contains(skip, k) || x == nil || x == "" || fmt.Sprint(x) == "0" || fmt.Sprint(x) == "false" || fmt.Sprint(x) == "[]" {
			continue
		}
		switch y := x.(type) {
		case map[string]any:
			x = "{" + short(y) + "}"
		case []any:
			var items []string
			for _, it := range y {
				items = append(items, fmt.Sprint(it))
			}
			x = strings.Join(items, " ")
		}
		parts = append(parts, k+": "+fmt.Sprint(x))
	}
	return clipText(strings.Join(parts, " · "))
}

func clipText(s string) string {
	if r := []rune(s); len(r) > maxExchangeText {
		return string(r[:maxExchangeText-1]) + "…"
	}
	return s
}
