package moysklad_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connector/moysklad"
)

// pollAll polls until nothing new, as the engine would, keeping every
// item key; a key seen twice is a duplicate run.
func pollAll(t *testing.T, c *moysklad.Client, cur moysklad.Cursor, seen map[string]int, pages int) moysklad.Cursor {
	t.Helper()
	for range 100 {
		items, next, err := c.PollOrders(t.Context(), cur, pages)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			seen[it.Key]++
		}
		if len(items) == 0 {
			return next
		}
		cur = next
	}
	t.Fatal("the poll never ends")
	return cur
}

// No miss, no repeat: orders sharing one moment (more than a page of
// them), orders changed between polls and while the pages are read, and
// a poll repeated from the old cursor (a crash between the fetch and the
// cursor's store: the engine stores them together, so the same items
// come again with the same keys and make no second run).
func TestPollNoMissNoDuplicate(t *testing.T) {
	f := newFake(t)
	c := fakeClient(f, basicAccount(f), fast)
	var ids []string
	for i := range 150 { // one moment for 150 orders: past a page of 100
		_ = i
		ids = append(ids, f.AddOrder("2026-12-05 10:00:00.000", 0)["id"].(string))
	}
	for i := range 30 {
		ids = append(ids, f.AddOrder(fmt.Sprintf("2026-12-05 10:00:%02d.%03d", 1+i/3, 100*(i%3)), 0)["id"].(string))
	}
	seen := map[string]int{}
	since := moysklad.Cursor{Updated: "2026-12-05 00:00:00.000"}
	cur := pollAll(t, c, since, seen, 1)
	if len(seen) != 180 {
		t.Fatalf("%d of 180 orders seen", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("%s seen %d times", k, n)
		}
	}

	// A restart between the fetch and the cursor's store: the same
	// cursor polled again gives the same keys.
	f.Touch(ids[3], "2026-12-05 10:05:00.000", 1, 0)
	f.Touch(ids[160], "2026-12-05 10:05:00.000", 2, 150000)
	first, _, err := c.PollOrders(t.Context(), cur, 10)
	if err != nil {
		t.Fatal(err)
	}
	again, next, err := c.PollOrders(t.Context(), cur, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || len(again) != 2 || first[0].Key != again[0].Key || first[1].Key != again[1].Key {
		t.Fatalf("%v / %v", keys(first), keys(again))
	}
	delivered := first[0]
	if delivered.Data["id"] != ids[160] {
		delivered = first[1] // same moment: by id
	}
	if delivered.Data["id"] != ids[160] || delivered.Data["state"] != "Доставлен" || delivered.Data["payedSum"] != 1500.0 {
		t.Fatalf("item data %v", delivered.Data)
	}
	for _, it := range first {
		seen[it.Key]++
	}
	// A third order changes within the same second as the cursor,
	// later: overlapping windows (updated>= the cursor's second) find
	// it and not the two before.
	f.Touch(ids[100], "2026-12-05 10:05:00.400", 1, 0)
	cur = pollAll(t, c, next, seen, 10)
	if len(seen) != 183 {
		t.Fatalf("%d keys, want 183", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("%s seen %d times", k, n)
		}
	}
	// Nothing new: nothing.
	items, _, err := c.PollOrders(t.Context(), cur, 10)
	if err != nil || len(items) != 0 {
		t.Fatalf("%v %v", keys(items), err)
	}
}

// An order changed while the pages are read moves to the end of the
// list; keyset paging still sees every other order.
func TestPollOrderMovesWhilePaging(t *testing.T) {
	f := newFake(t)
	c := fakeClient(f, basicAccount(f), fast)
	var ids []string
	for i := range 250 {
		ids = append(ids, f.AddOrder(fmt.Sprintf("2026-12-05 09:%02d:%02d.000", i/60, i%60), 0)["id"].(string))
	}
	seen := map[string]int{}
	items, cur, err := c.PollOrders(t.Context(), moysklad.Cursor{Updated: "2026-12-05 00:00:00"}, 1) // the first page
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		seen[it.Key]++
	}
	f.Touch(ids[5], "2026-12-05 11:00:00.000", 1, 0) // was on page 1, now last
	pollAll(t, c, cur, seen, 1)
	if len(seen) != 251 {
		t.Fatalf("%d keys, want 251 (250 orders and one change)", len(seen))
	}
	for _, id := range ids {
		found := false
		for k := range seen {
			found = found || strings.Contains(k, id)
		}
		if !found {
			t.Fatalf("order %s missed", id)
		}
	}
}

// A webhook names the orders that changed, once each, leaving out other
// entities; the push only makes the poll due, so pushed and polled
// changes share the poll's keys (TestSeedBundlesEndToEnd runs one).
func TestParseWebhook(t *testing.T) {
	f := newFake(t)
	o := f.AddOrder("2026-12-05 10:00:00.000", 0)
	body := fmt.Sprintf(`{"auditContext":{"meta":{"type":"audit","href":"%[1]s/audit/75fe3b73-db16-11eb-c0a8-800d00000004"},"moment":"2026-12-05 10:01:00","uid":"admin@shop"},
		"events":[{"meta":{"type":"customerorder","href":"%[2]s"},"updatedFields":["state","payedSum"],"action":"UPDATE","accountId":"9171a53c-b719-11eb-c0a8-800d00000001"},
		{"meta":{"type":"product","href":"%[1]s/entity/product/75c896d0-db16-11eb-c0a8-800d00000002"},"action":"UPDATE","accountId":"9171a53c-b719-11eb-c0a8-800d00000001"},
		{"meta":{"type":"customerorder","href":"%[2]s"},"action":"UPDATE","accountId":"9171a53c-b719-11eb-c0a8-800d00000001"}]}`,
		f.Base(), o["meta"].(map[string]any)["href"])
	hrefs, err := moysklad.ParseWebhook([]byte(body))
	if err != nil || len(hrefs) != 1 || hrefs[0] != o["meta"].(map[string]any)["href"] {
		t.Fatalf("%v %v", hrefs, err)
	}
}

// A new bundle starts at the account's latest change: no history, and
// nothing after it missed.
func TestPollStart(t *testing.T) {
	f := newFake(t)
	c := fakeClient(f, basicAccount(f), fast)
	cur, err := c.StartCursor(t.Context())
	if err != nil || cur.Updated != "1970-01-01 03:00:00.000" {
		t.Fatalf("%v %v", cur, err)
	}
	a := f.AddOrder("2026-12-05 10:00:00.000", 0)
	b := f.AddOrder("2026-12-05 10:00:00.000", 0)
	f.AddOrder("2026-12-04 10:00:00.000", 0)
	items, cur, err := c.PollOrders(t.Context(), moysklad.Cursor{}, 10)
	if err != nil || len(items) != 0 || cur.Updated != "2026-12-05 10:00:00.000" || len(cur.IDs) != 2 {
		t.Fatalf("%v %v %v", keys(items), cur, err)
	}
	f.Touch(a["id"].(string), "2026-12-05 10:00:00.500", 1, 0)
	c2 := f.AddOrder("2026-12-05 10:00:00.000", 0) // made at the same moment, after the start
	items, _, err = c.PollOrders(t.Context(), cur, 10)
	if err != nil || len(items) != 2 || items[0].Data["id"] != c2["id"] && items[1].Data["id"] != c2["id"] {
		t.Fatalf("%v %v", keys(items), err)
	}
	_ = b
}

func TestParseWebhookErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{`, "webhook body"},
		{`{"auditContext":{}}`, "no events"},
		{`{"events":[{"meta":{"type":"customerorder","href":"ftp://x/1"},"action":"UPDATE"}]}`, "events[0].meta.href"},
		{`{"events":[{"meta":{"type":"customerorder","href":"https://api.moysklad.ru/api/remap/1.2/entity/customerorder/metadata"},"action":"UPDATE"}]}`, "names no order"},
	} {
		if _, err := moysklad.ParseWebhook([]byte(tc.body)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.body, err, tc.want)
		}
	}
	hrefs, err := moysklad.ParseWebhook([]byte(`{"events":[{"meta":{"type":"customerorder","href":"https://api.moysklad.ru/api/remap/1.2/entity/customerorder/d9ceb08f-01ae-11e6-9464-e4de00000020"},"action":"DELETE"}]}`))
	if err != nil || len(hrefs) != 0 {
		t.Fatalf("a deletion: %v %v", hrefs, err)
	}
}

func TestParseMoment(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2016-08-23 15:21:09", time.Date(2016, 8, 23, 12, 21, 9, 0, time.UTC)},
		{"2016-08-23 15:21:09.123", time.Date(2016, 8, 23, 12, 21, 9, 123e6, time.UTC)},
		{"2016-08-23 15:21", time.Date(2016, 8, 23, 12, 21, 0, 0, time.UTC)},
	} {
		got, err := moysklad.ParseMoment(tc.in)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%s: %v %v", tc.in, got.UTC(), err)
		}
	}
	for _, bad := range []string{"", "2016-08-23T15:21:09Z", "23.08.2016 15:21"} {
		if _, err := moysklad.ParseMoment(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(`{"events":[{"meta":{"type":"customerorder","href":"https://api.moysklad.ru/api/remap/1.2/entity/customerorder/d9ceb08f-01ae-11e6-9464-e4de00000020"},"action":"UPDATE","accountId":"x","updatedFields":["state"]}]}`))
	f.Add([]byte(`{"events":[]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		hrefs, err := moysklad.ParseWebhook(body)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, h := range hrefs {
			if seen[h] || !strings.Contains(h, "://") {
				t.Fatalf("%q in %q", h, hrefs)
			}
			seen[h] = true
		}
	})
}

func FuzzParseMoment(f *testing.F) {
	for _, s := range []string{"2016-08-23 15:21:09", "2016-08-23 15:21:09.123", "2016-08-23 15:21", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := moysklad.ParseMoment(s)
		if err != nil {
			return
		}
		// A moment read back from its own writing is the same moment.
		again, err := moysklad.ParseMoment(m.In(m.Location()).Format("2006-01-02 15:04:05.000000000"))
		if err != nil || !again.Equal(m) {
			t.Fatalf("%q: %v then %v (%v)", s, m, again, err)
		}
	})
}

func FuzzParseCursor(f *testing.F) {
	f.Add(`{"updated":"2026-12-05 10:00:00.000","ids":["a"]}`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := moysklad.ParseCursor(s)
		if err != nil {
			return
		}
		if _, err := moysklad.ParseCursor(c.String()); err != nil {
			t.Fatalf("%q: its own writing %q: %v", s, c.String(), err)
		}
	})
}

func keys(items []automation.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Key
	}
	return out
}
