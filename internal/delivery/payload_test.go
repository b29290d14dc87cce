package delivery

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/events"
)

func TestBitrixEventNames(t *testing.T) {
	for _, tt := range []struct{ entity, action, want string }{
		{"lead", events.Create, "ONCRMLEADADD"},
		{"deal", events.Update, "ONCRMDEALUPDATE"},
		{"account", events.Delete, "ONCRMCOMPANYDELETE"},
		{"contact", events.Restore, "ONCRMCONTACTADD"},
		{"lead", events.Convert, "ONCRMLEADUPDATE"},
		{"activity", events.Purge, "ONCRMACTIVITYDELETE"},
		{"invoice", events.Create, "ONCRMINVOICEADD"},
		{"ticket", events.Create, ""},
	} {
		if got := BitrixEventName(tt.entity, tt.action); got != tt.want {
			t.Errorf("%s/%s = %q, want %q", tt.entity, tt.action, got, tt.want)
		}
	}
	if n := len(BitrixEventNames()); n != 22 {
		t.Fatalf("%d event names", n)
	}
}

// The form must parse the way PHP and Bitrix24 handlers read it.
func TestBitrixFormShape(t *testing.T) {
	ev := events.Event{ID: 5, Entity: "deal", RecordID: 39, Action: events.Update, CreatedAt: time.Unix(1707749333, 0)}
	f := BitrixForm(ev, "ONCRMDEALUPDATE", 7, "e57xiy964jb6slr0gfa0j6lpigf7gnij", Portal{Domain: "crm.example.ru", MemberID: "51e2c566"})
	back, err := url.ParseQuery(f.Encode())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"event": "ONCRMDEALUPDATE", "event_handler_id": "7", "data[FIELDS][ID]": "39", "ts": "1707749333",
		"auth[domain]": "crm.example.ru", "auth[client_endpoint]": "https://crm.example.ru/rest/",
		"auth[member_id]": "51e2c566", "auth[application_token]": "e57xiy964jb6slr0gfa0j6lpigf7gnij",
		"auth[scope]": "crm", "auth[status]": "L",
	}
	for k, v := range want {
		if back.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, back.Get(k), v)
		}
	}
	// An Obmen reached over plain HTTP (a loopback test) names that URL.
	f = BitrixForm(ev, "ONCRMDEALUPDATE", 7, "t", Portal{Domain: "127.0.0.1:8080", MemberID: "m", BaseURL: "http://127.0.0.1:8080/"})
	if got := f.Get("auth[client_endpoint]"); got != "http://127.0.0.1:8080/rest/" {
		t.Errorf("client_endpoint over HTTP = %q", got)
	}
}

func TestNativeSignature(t *testing.T) {
	ev := events.Event{ID: 9, Entity: "lead", RecordID: 3, Action: events.Create, Actor: "user:1", CreatedAt: time.Unix(1700000000, 0).UTC(),
		Changes: map[string]events.Change{"title": {Old: json.RawMessage("null"), New: json.RawMessage(`"x"`)}}}
	body, err := NativeBody(ev)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("s3cret")
	now := time.Unix(1700000100, 0)
	sig := Sign(secret, body, now)
	if err := Verify(secret, body, sig, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	for name, check := range map[string]func() error{
		"tampered body": func() error { return Verify(secret, append([]byte{}, append(body, ' ')...), sig, now, time.Minute) },
		"wrong secret":  func() error { return Verify([]byte("other"), body, sig, now, time.Minute) },
		"too old":       func() error { return Verify(secret, body, sig, now.Add(time.Hour), 5*time.Minute) },
		"malformed":     func() error { return Verify(secret, body, "v1=abc", now, time.Minute) },
	} {
		if check() == nil {
			t.Errorf("%s accepted", name)
		}
	}
	var p NativePayload
	if err := json.Unmarshal(body, &p); err != nil || p.EventID != 9 || string(p.Changes["title"].New) != `"x"` {
		t.Fatalf("payload %s", body)
	}
}

// A change of an invoice's status raises ONCRMINVOICESETSTATUS besides the
// update; other changes, and other entities' status changes, do not.
func TestInvoiceSetStatus(t *testing.T) {
	status := map[string]events.Change{"status": {Old: []byte(`"draft"`), New: []byte(`"paid"`)}}
	title := map[string]events.Change{"comments": {Old: []byte(`""`), New: []byte(`"x"`)}}
	setStatus := &Webhook{Kind: KindBitrix, Active: true, Events: []string{"ONCRMINVOICESETSTATUS"}}
	both := &Webhook{Kind: KindBitrix, Active: true, Events: []string{"ONCRMINVOICESETSTATUS", "ONCRMINVOICEUPDATE"}}
	for _, tt := range []struct {
		name    string
		ev      events.Event
		hook    *Webhook
		matches bool
		event   string
	}{
		{"status decoded", events.Event{Entity: "invoice", Action: events.Update, Changes: status}, setStatus, true, "ONCRMINVOICESETSTATUS"},
		{"status raw", events.Event{Entity: "invoice", Action: events.Update, Encoded: []byte(`{"status":{"old":"draft","new":"paid"}}`)}, setStatus, true, "ONCRMINVOICESETSTATUS"},
		{"other field", events.Event{Entity: "invoice", Action: events.Update, Changes: title}, setStatus, false, ""},
		{"other field raw", events.Event{Entity: "invoice", Action: events.Update, Encoded: []byte(`{"comments":{"old":"","new":"x"}}`)}, setStatus, false, ""},
		{"created", events.Event{Entity: "invoice", Action: events.Create, Changes: status}, setStatus, false, ""},
		{"a deal's stage", events.Event{Entity: "deal", Action: events.Update, Changes: status}, setStatus, false, ""},
		{"both chosen: the update", events.Event{Entity: "invoice", Action: events.Update, Changes: status}, both, true, "ONCRMINVOICEUPDATE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.ev.ID = 1 // as logged
			if got := Matches(tt.hook, &tt.ev); got != tt.matches {
				t.Errorf("Matches = %t, want %t", got, tt.matches)
			}
			if got := bitrixEventFor(tt.hook, &tt.ev); got != tt.event {
				t.Errorf("event = %q, want %q", got, tt.event)
			}
		})
	}
}

// TestNativeBodyRaw: an event passed on as the log holds it (Encoded)
// makes the same body, byte for byte, as the event decoded — the first
// attempt and River's retries of it sign and send the same bytes — and
// changes the log holds broken are refused with the event named.
func TestNativeBodyRaw(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 123456000, time.UTC)
	// The log's bytes, as a writer makes them; the worker used to decode
	// them into Changes and encode them again.
	encoded, err := events.CreateChanges(map[string]any{
		"title":   "ООО «Ромашка» <b>&</b> \"кавычки\"",
		"amount":  json.Number("12345678901234567890"),
		"phones":  []map[string]string{{"value": "+7 906 000-48-85", "value_type": "WORK"}},
		"address": map[string]any{"city": "Москва", "zip": ""},
		"<key>":   true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var changes map[string]events.Change
	if err := json.Unmarshal(encoded, &changes); err != nil {
		t.Fatal(err)
	}
	decoded := events.Event{ID: 41, Entity: "lead", RecordID: 7, Action: events.Create, Actor: "api", CreatedAt: at, Changes: changes}
	raw := decoded
	raw.Changes, raw.Encoded = nil, encoded
	want, err := NativeBody(decoded)
	if err != nil {
		t.Fatal(err)
	}
	got, err := NativeBody(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("raw body\n%s\nwant (decoded)\n%s", got, want)
	}
	var p NativePayload
	if err := json.Unmarshal(got, &p); err != nil || string(p.Changes["amount"].New) != "12345678901234567890" {
		t.Fatalf("payload %s (%v)", got, err)
	}
	raw.Encoded = json.RawMessage(`{"title":{"old":null,"new":`)
	if _, err := NativeBody(raw); err == nil || !strings.Contains(err.Error(), "event 41") {
		t.Fatalf("broken changes: %v, want an error naming event 41", err)
	}
}
