package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// siteKinds are the kinds of run of a site exchange, with their names in
// the notifications and the journal's type of each.
var siteKinds = []struct{ kind, typ, what string }{
	{"catalog", "catalog", "выгрузка каталога"},
	{"orders", "sale", "обмен заказами"},
}

// siteAlerts are the notifications of the exchanges with web shops
// (internal/commerceml/site, table site_exchanges): a kind of run that
// has failed alert_after times in a row, and one alerted that works
// again. They go to the site's responsible user and the administrators.
//
// A failing streak is named by the last successful run before it (its
// journal entry id; 0: none yet), so the dedup key makes one alert per
// streak however many scans see it; the recovery names the same streak
// and is made only when its alert was.
func siteAlerts(ctx context.Context, tx *sql.Tx, admins []int64) ([]Notification, error) {
	type siteRow struct {
		id       int64
		name     string
		failures [2]int
		set      struct {
			AlertAfter  int   `json:"alert_after"`
			Responsible int64 `json:"responsible_user_id"`
		}
	}
	rows, err := tx.QueryContext(ctx, "SELECT id, name, settings, catalog_failures, orders_failures FROM site_exchanges ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("notify: site exchanges: %w", err)
	}
	var sites []siteRow
	for rows.Next() {
		var r siteRow
		var raw string
		if err := rows.Scan(&r.id, &r.name, &raw, &r.failures[0], &r.failures[1]); err != nil {
			rows.Close()
			return nil, fmt.Errorf("notify: site exchanges: %w", err)
		}
		_ = json.Unmarshal([]byte(raw), &r.set) // a zero alert_after is 1, as the site package reads it
		sites = append(sites, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notify: site exchanges: %w", err)
	}
	var out []Notification
	for _, r := range sites {
		to := admins
		if r.set.Responsible != 0 && !slices.Contains(admins, r.set.Responsible) {
			to = append(slices.Clone(admins), r.set.Responsible)
		}
		for i, k := range siteKinds {
			var n Notification
			switch f := r.failures[i]; {
			case f >= max(r.set.AlertAfter, 1):
				streak, err := lastSuccess(ctx, tx, r.id, k.typ, 0)
				if err != nil {
					return nil, err
				}
				var msg string
				err = tx.QueryRowContext(ctx, `SELECT error FROM cml_exchanges WHERE site_id = $1 AND direction = 'site' AND type = $2 AND status = 'failure'
					ORDER BY id DESC LIMIT 1`, r.id, k.typ).Scan(&msg)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return nil, fmt.Errorf("notify: site exchange %d: %w", r.id, err)
				}
				n = Notification{Kind: KindSiteFailing, RecordID: r.id, Title: fmt.Sprintf("Обмен с сайтом «%s» не работает: %s", r.name, k.what),
					Body:  fmt.Sprintf("Неудачных запусков подряд: %d. Последняя ошибка: %s", f, msg),
					dedup: fmt.Sprintf("site:%d:%s:%d", r.id, k.kind, streak)}
			case f == 0:
				// Working: the streak the last success ended, if it was
				// alerted.
				last, err := lastSuccess(ctx, tx, r.id, k.typ, 0)
				if err != nil {
					return nil, err
				}
				if last == 0 {
					continue
				}
				streak, err := lastSuccess(ctx, tx, r.id, k.typ, last)
				if err != nil {
					return nil, err
				}
				// Its alert, to any of today's recipients (by the dedup
				// key: its unique index answers).
				alerted := 0
				for _, u := range to {
					var c int
					if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM notifications WHERE dedup = $1",
						fmt.Sprintf("site:%d:%s:%d:%d", r.id, k.kind, streak, u)).Scan(&c); err != nil {
						return nil, fmt.Errorf("notify: site exchange %d: %w", r.id, err)
					}
					alerted += c
				}
				if alerted == 0 {
					continue
				}
				n = Notification{Kind: KindSiteRecovered, RecordID: r.id, Title: fmt.Sprintf("Обмен с сайтом «%s» снова работает: %s", r.name, k.what),
					Body: "Последний запуск прошёл успешно.", dedup: fmt.Sprintf("site-ok:%d:%s:%d", r.id, k.kind, streak)}
			default:
				continue
			}
			for _, u := range to {
				x := n
				x.UserID, x.dedup = u, fmt.Sprintf("%s:%d", n.dedup, u)
				out = append(out, x)
			}
		}
	}
	return out, nil
}

// lastSuccess is the journal id of a site's last successful run of a
// type before the entry before (0: any), 0 if none.
func lastSuccess(ctx context.Context, tx *sql.Tx, site int64, typ string, before int64) (int64, error) {
	if before == 0 {
		before = 1 << 62
	}
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM cml_exchanges WHERE site_id = $1 AND direction = 'site' AND type = $2
		AND status = 'success' AND id < $3`, site, typ, before).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("notify: site exchange %d: journal: %w", site, err)
	}
	return id, nil
}
