package db_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// Migration 0058 moves the four connectors' webhook journals into
// connection_journal: every row, in the order they were written, each
// field in its place (Telegram's update_id as the ref, 0 as none).
func TestMigrateConnectionJournal(t *testing.T) {
	eachBeforeMigration(t, 58, func(t *testing.T, m beforeMigration) {
		m.exec(`INSERT INTO telephony_journal (connection_id, event, call_id, outcome, activity_id, error, created_at) VALUES (1, 'NOTIFY_END', 'call-7', 'stored', 70, '', 10)`)
		m.exec(`INSERT INTO telegram_journal (connection_id, update_id, outcome, message_id, error, created_at) VALUES (2, 0, 'refused', 0, 'секрет не совпал', 20)`)
		m.exec(`INSERT INTO telegram_journal (connection_id, update_id, outcome, message_id, error, created_at) VALUES (2, 9001, 'stored', 5, '', 30)`)
		m.exec(`INSERT INTO vk_journal (connection_id, event_id, event_type, outcome, message_id, error, created_at) VALUES (3, 'ev-1', 'message_new', 'stored', 6, '', 15)`)
		m.exec(`INSERT INTO channel_journal (channel, connection_id, event_id, outcome, message_id, error, created_at) VALUES ('facebook', 4, 'm_1', 'duplicate', 0, '', 25)`)
		if _, err := m.apply(); err != nil {
			t.Fatal(err)
		}
		rows, err := m.Read.QueryContext(context.Background(), `SELECT connection_id, event, ref, outcome, record_id, error, created_at FROM connection_journal ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var conn, rec, at int64
			var event, ref, outcome, msg string
			if err := rows.Scan(&conn, &event, &ref, &outcome, &rec, &msg, &at); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%d|%s|%s|%s|%d|%s|%d", conn, event, ref, outcome, rec, msg, at))
		}
		want := []string{
			"1|NOTIFY_END|call-7|stored|70||10",
			"3|message_new|ev-1|stored|6||15",
			"2|||refused|0|секрет не совпал|20",
			"4||m_1|duplicate|0||25",
			"2||9001|stored|5||30",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("connection_journal:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, old := range []string{"telephony_journal", "telegram_journal", "vk_journal", "channel_journal"} {
			if _, err := m.Read.ExecContext(context.Background(), "SELECT 1 FROM "+old); err == nil {
				t.Errorf("%s is still there", old)
			}
		}
	})
}
