package google_test

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/connector/google"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

var loopback = httpx.OutboundPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

// env is a connected user's sync against the fake.
type env struct {
	t     testing.TB
	ctx   context.Context
	f     *fake
	sv    *google.Service
	st    *store.Store
	user  int64
	actor crm.Actor
	box   *secret.Box
	deps  google.Deps
}

func newEnv(t testing.TB, d *db.DB) *env {
	t.Helper()
	ctx := context.Background()
	f := newFake(t)
	box, err := secret.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(d)
	admin := storetest.Admin(t, st)
	reg := connection.NewRegistry(nil)
	hc := httpx.NewOutboundClient(loopback)
	deps := google.Deps{DB: d, Store: st, Box: box, HTTP: hc, BaseURL: "https://crm.example.ru",
		Endpoints: google.Endpoints{Auth: f.srv.URL + "/auth", Token: f.srv.URL + "/token", People: f.srv.URL + "/",
			Calendar: f.srv.URL + "/calendar/v3/", UserInfo: f.srv.URL + "/userinfo"},
		Backoff: time.Millisecond, MaxWait: 10 * time.Millisecond, Every: time.Hour, Debounce: time.Microsecond}
	conns := connection.NewStore(d, box, reg)
	deps.Conns = conns
	if err := google.Register(reg, deps); err != nil {
		t.Fatal(err)
	}
	if _, err := conns.Create(ctx, admin.UserID, connection.Input{Type: google.Type, Name: "Google",
		Settings: map[string]any{"client_id": "1-abc.apps.googleusercontent.com", "client_secret": "s3cret"}}); err != nil {
		t.Fatal(err)
	}
	sv, err := google.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, f: f, sv: sv, st: st, user: admin.UserID, actor: admin, box: box, deps: deps}
	return e
}

// connect goes through the consent: the state from the consent URL comes
// back with Google's code.
func (e *env) connect() {
	e.t.Helper()
	u, err := e.sv.ConnectURL(e.ctx, e.user)
	if err != nil {
		e.t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	q := pu.Query()
	if q.Get("access_type") != "offline" || q.Get("redirect_uri") != "https://crm.example.ru/google/callback" || q.Get("client_id") == "" {
		e.t.Fatalf("consent URL %s", u)
	}
	if err := e.sv.Complete(e.ctx, e.user, q.Get("state"), "good-code"); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) settings(mut func(*google.Settings)) {
	e.t.Helper()
	s := google.DefaultSettings()
	if mut != nil {
		mut(&s)
	}
	if _, err := e.sv.SaveSettings(e.ctx, e.user, s); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) run() google.Result {
	e.t.Helper()
	res, err := e.sv.Run(e.ctx, e.user)
	if err != nil {
		e.t.Fatalf("run: %v (%+v)", err, res)
	}
	if len(res.Errors) > 0 {
		e.t.Fatalf("run errors: %v", res.Errors)
	}
	return res
}

func (e *env) contact(c crm.Contact) crm.Contact {
	e.t.Helper()
	c.AssignedByID = e.user
	got, err := e.st.CreateContact(e.ctx, e.actor, c)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

// contacts are the user's live contacts by id.
func (e *env) contacts() map[int64]crm.Contact {
	e.t.Helper()
	out := map[int64]crm.Contact{}
	cur := ""
	for {
		cs, next, err := e.st.ListContacts(e.ctx, store.ListParams{Limit: 500, Cursor: cur})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, c := range cs {
			out[c.ID] = c
		}
		if next == "" {
			return out
		}
		cur = next
	}
}

func byName(cs map[int64]crm.Contact, name string) (crm.Contact, int) {
	var found crm.Contact
	n := 0
	for _, c := range cs {
		if c.Name == name {
			found = c
			n++
		}
	}
	return found, n
}

func personByGiven(ps map[string]map[string]any, given string) (string, map[string]any, int) {
	var rn string
	var p map[string]any
	n := 0
	for k, v := range ps {
		if names, _ := v["names"].([]any); len(names) > 0 {
			if names[0].(map[string]any)["givenName"] == given {
				rn, p = k, v
				n++
			}
		}
	}
	return rn, p, n
}

func names(given, family string) []any {
	return []any{map[string]any{"givenName": given, "familyName": family}}
}

func emails(vs ...string) []any {
	var out []any
	for _, v := range vs {
		out = append(out, map[string]any{"value": v, "type": "work"})
	}
	return out
}

func phones(vs ...string) []any {
	var out []any
	for _, v := range vs {
		out = append(out, map[string]any{"value": v, "type": "mobile"})
	}
	return out
}

var past = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

func TestContactsFirstSyncIncrementalAndDeletes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.connect()
		e.settings(func(s *google.Settings) { s.Calendar = false })
		// Google: three people (two pages), one of whom Obmen has by e-mail.
		e.f.addPerson(map[string]any{"names": names("Иван", "Петров"), "emailAddresses": emails("ivan@example.ru"),
			"phoneNumbers": phones("+7 916 111-22-33")}, past)
		e.f.addPerson(map[string]any{"names": names("Мария", "Сидорова"), "birthdays": []any{map[string]any{"date": map[string]any{"year": 1990, "month": 5, "day": 17}}}}, past)
		e.f.addPerson(map[string]any{"names": names("Олег", "Кузнецов"), "emailAddresses": emails("oleg@example.ru")}, past)
		olegHere := e.contact(crm.Contact{Name: "Олег", LastName: "Кузнецов", Position: "Директор",
			Comms: crm.Comms{Emails: []crm.Comm{{Value: "OLEG@example.ru"}}}})
		e.contact(crm.Contact{Name: "Анна", LastName: "Смирнова", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 903 555-44-33", ValueType: "MOBILE"}}}})

		res := e.run()
		if !res.Contacts.Full || res.Contacts.ToObmen.Created != 2 || res.Contacts.ToGoogle.Created != 1 {
			t.Fatalf("first run: %+v", res.Contacts)
		}
		cs := e.contacts()
		if len(cs) != 4 {
			t.Fatalf("%d contacts in Obmen, want 4", len(cs))
		}
		if m, _ := byName(cs, "Мария"); m.Birthdate != "1990-05-17" || m.LastName != "Сидорова" {
			t.Fatalf("Мария: %+v", m)
		}
		if i, _ := byName(cs, "Иван"); len(i.Phones) != 1 || i.Phones[0].ValueType != "MOBILE" || len(i.Emails) != 1 {
			t.Fatalf("Иван: %+v", i.Comms)
		}
		ps := e.f.livePersons()
		if len(ps) != 4 {
			t.Fatalf("%d people in Google, want 4", len(ps))
		}
		_, anna, _ := personByGiven(ps, "Анна")
		if anna["phoneNumbers"].([]any)[0].(map[string]any)["type"] != "mobile" {
			t.Fatalf("Анна in Google: %v", anna)
		}
		// Paired by e-mail, not duplicated; Google's copy is older (2020),
		// so Obmen's fields win and go there.
		if _, n := byName(cs, "Олег"); n != 1 {
			t.Fatalf("Олег %d times", n)
		}
		_, oleg, n := personByGiven(ps, "Олег")
		if n != 1 || oleg["organizations"] == nil {
			t.Fatalf("Олег in Google (%d): %v", n, oleg)
		}

		// Nothing changed: the next run reads by sync token and does nothing.
		res = e.run()
		if res.Contacts.Full || res.Contacts.ToObmen != (google.Counts{}) || res.Contacts.ToGoogle != (google.Counts{}) {
			t.Fatalf("idle run: %+v", res.Contacts)
		}
		if e.f.seen("syncToken=people-sync-") == 0 {
			t.Fatal("the incremental run sent no sync token")
		}

		// A change on each side goes across.
		rnIvan, _, _ := personByGiven(e.f.livePersons(), "Иван")
		e.f.editPerson(rnIvan, time.Now(), func(p map[string]any) { p["names"] = names("Иван", "Петров-Водкин") })
		if _, err := e.st.UpdateContact(e.ctx, e.actor, olegHere.ID, func(c *crm.Contact) error { c.Position = "Учредитель"; return nil }); err != nil {
			t.Fatal(err)
		}
		res = e.run()
		if res.Contacts.ToObmen.Updated != 1 || res.Contacts.ToGoogle.Updated != 1 {
			t.Fatalf("changes: %+v", res.Contacts)
		}
		if i, _ := byName(e.contacts(), "Иван"); i.LastName != "Петров-Водкин" {
			t.Fatalf("Иван: %+v", i)
		}
		_, oleg, _ = personByGiven(e.f.livePersons(), "Олег")
		if oleg["organizations"].([]any)[0].(map[string]any)["title"] != "Учредитель" {
			t.Fatalf("Олег in Google: %v", oleg)
		}

		// Deletes go across too.
		rnMaria, _, _ := personByGiven(e.f.livePersons(), "Мария")
		e.f.deletePerson(rnMaria)
		anna2, _ := byName(e.contacts(), "Анна")
		if err := e.st.Delete(e.ctx, e.actor, store.EntityContact, anna2.ID); err != nil {
			t.Fatal(err)
		}
		res = e.run()
		if res.Contacts.ToObmen.Deleted != 1 || res.Contacts.ToGoogle.Deleted != 1 {
			t.Fatalf("deletes: %+v", res.Contacts)
		}
		cs = e.contacts()
		if _, n := byName(cs, "Мария"); n != 0 {
			t.Fatal("Мария is still in Obmen")
		}
		if _, _, n := personByGiven(e.f.livePersons(), "Анна"); n != 0 {
			t.Fatal("Анна is still in Google")
		}
		if res := e.run(); res.Contacts.ToObmen != (google.Counts{}) || res.Contacts.ToGoogle != (google.Counts{}) {
			t.Fatalf("idle run after deletes: %+v", res.Contacts)
		}
	})
}

func TestContactsExpiredTokenNoDuplicates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.connect()
		e.settings(func(s *google.Settings) { s.Calendar = false })
		for _, n := range []string{"А", "Б", "В", "Г", "Д"} {
			e.f.addPerson(map[string]any{"names": names(n, "Тестов")}, past)
		}
		e.contact(crm.Contact{Name: "Е", LastName: "Местный"})
		e.run()
		// A week without syncs: the token expired, and meanwhile one
		// person changed and one was deleted in Google.
		rnB, _, _ := personByGiven(e.f.livePersons(), "Б")
		rnV, _, _ := personByGiven(e.f.livePersons(), "В")
		e.f.editPerson(rnB, time.Now(), func(p map[string]any) { p["names"] = names("Б", "Изменённый") })
		e.f.deletePerson(rnV)
		e.f.expireTokens()
		res := e.run()
		if !res.Contacts.Full || res.Contacts.ToObmen.Created != 0 || res.Contacts.ToGoogle.Created != 0 {
			t.Fatalf("resync: %+v", res.Contacts)
		}
		if res.Contacts.ToObmen.Updated != 1 || res.Contacts.ToObmen.Deleted != 1 {
			t.Fatalf("resync: %+v", res.Contacts)
		}
		if e.f.seen("syncToken=people-sync-") == 0 {
			t.Fatal("the expired token was not tried")
		}
		cs := e.contacts()
		if len(cs) != 5 {
			t.Fatalf("%d contacts, want 5 (6 less В)", len(cs))
		}
		if len(e.f.livePersons()) != 5 {
			t.Fatalf("%d people, want 5", len(e.f.livePersons()))
		}
		if b, _ := byName(cs, "Б"); b.LastName != "Изменённый" {
			t.Fatalf("Б: %+v", b)
		}
	})
}

func TestContactsConflicts(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rule       string
		googleLate bool
		want       string // the last name both sides end with
	}{
		{"later/google-later", google.LaterWins, true, "Гугл"},
		{"later/obmen-later", google.LaterWins, false, "Обмен"},
		{"obmen/google-later", google.ObmenWins, true, "Обмен"},
		{"obmen/obmen-later", google.ObmenWins, false, "Обмен"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, d *db.DB) {
				e := newEnv(t, d)
				e.connect()
				e.settings(func(s *google.Settings) { s.Calendar = false; s.Conflict = tc.rule })
				c := e.contact(crm.Contact{Name: "Пётр", LastName: "Исходный"})
				e.run()
				rn, _, _ := personByGiven(e.f.livePersons(), "Пётр")
				// Both sides change the last name before the next run.
				googleAt := time.Now().Add(-time.Hour)
				if tc.googleLate {
					googleAt = time.Now().Add(time.Hour)
				}
				if _, err := e.st.UpdateContact(e.ctx, e.actor, c.ID, func(c *crm.Contact) error { c.LastName = "Обмен"; return nil }); err != nil {
					t.Fatal(err)
				}
				e.f.editPerson(rn, googleAt, func(p map[string]any) { p["names"] = names("Пётр", "Гугл") })
				e.run()
				got, err := e.st.GetContact(e.ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				_, p, _ := personByGiven(e.f.livePersons(), "Пётр")
				remote := p["names"].([]any)[0].(map[string]any)["familyName"]
				if got.LastName != tc.want || remote != tc.want {
					t.Fatalf("Obmen %q, Google %q, want both %q", got.LastName, remote, tc.want)
				}
				if res := e.run(); res.Contacts.ToObmen != (google.Counts{}) || res.Contacts.ToGoogle != (google.Counts{}) {
					t.Fatalf("not settled: %+v", res.Contacts)
				}
			})
		})
	}
}

func TestContactsFieldMappingAndDirection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.connect()
		// Only names and the position, the position as the department;
		// Obmen → Google only.
		e.settings(func(s *google.Settings) {
			s.Calendar = false
			s.Direction = google.ToGoogle
			s.ContactFields = []google.Pair{{CRM: "name", Google: "names.givenName"}, {CRM: "last_name", Google: "names.familyName"},
				{CRM: "position", Google: "organizations.department"}}
		})
		e.contact(crm.Contact{Name: "Ольга", LastName: "Новикова", Position: "Бухгалтерия", Comments: "не в Google",
			Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 495 123-45-67"}}}})
		e.f.addPerson(map[string]any{"names": names("Чужой", "Контакт")}, past)
		res := e.run()
		if res.Contacts.ToGoogle.Created != 1 || res.Contacts.ToObmen.Created != 0 {
			t.Fatalf("%+v", res.Contacts)
		}
		if len(e.contacts()) != 1 {
			t.Fatal("Obmen → Google only brought a contact from Google")
		}
		_, p, _ := personByGiven(e.f.livePersons(), "Ольга")
		if p["organizations"].([]any)[0].(map[string]any)["department"] != "Бухгалтерия" || p["phoneNumbers"] != nil || p["biographies"] != nil {
			t.Fatalf("mapped person: %v", p)
		}
	})
	bad := google.DefaultSettings()
	bad.Direction = "sideways"
	bad.ContactFields = []google.Pair{{CRM: "phones", Google: "names.givenName"}, {CRM: "nope", Google: "names.familyName"}}
	err := bad.Normalize()
	var fes crm.FieldErrors
	if !errors.As(err, &fes) || len(fes) != 3 || fes[0].Field != "direction" || fes[1].Field != "contact_fields[0]" ||
		fes[2].Field != "contact_fields[1].crm" || fes[2].Code != "google_field_unknown" {
		t.Fatalf("%v", err)
	}
}

func TestRemoveSyncKeepsData(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.connect()
		e.settings(nil)
		e.f.addPerson(map[string]any{"names": names("Остаётся", "Везде")}, past)
		e.contact(crm.Contact{Name: "Тоже", LastName: "Остаётся"})
		e.run()
		if err := e.sv.Remove(e.ctx, e.user); err != nil {
			t.Fatal(err)
		}
		if _, err := e.sv.Get(e.ctx, e.user); !errors.Is(err, google.ErrNoSync) {
			t.Fatalf("sync still there: %v", err)
		}
		if len(e.contacts()) != 2 || len(e.f.livePersons()) != 2 {
			t.Fatalf("%d contacts, %d people after removing the sync", len(e.contacts()), len(e.f.livePersons()))
		}
		var links int
		if err := d.Reader().QueryRowContext(e.ctx, "SELECT COUNT(*) FROM google_links").Scan(&links); err != nil || links != 0 {
			t.Fatalf("%d links left (%v)", links, err)
		}
	})
}

func TestRetriesOn429And5xx(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.connect()
		e.settings(nil)
		e.f.addPerson(map[string]any{"names": names("Повтор", "Запросов")}, past)
		e.f.addEvent(map[string]any{"summary": "Встреча", "start": map[string]any{"dateTime": "2026-12-07T10:00:00+03:00"},
			"end": map[string]any{"dateTime": "2026-12-07T11:00:00+03:00"}}, past)
		e.f.fail("/connections", 429, 503)
		e.f.fail("/events", 500, 429)
		e.f.fail(":batchCreateContacts", 502)
		e.contact(crm.Contact{Name: "Новый"})
		res := e.run()
		if res.Contacts.ToObmen.Created != 1 || res.Calendar.ToObmen.Created != 1 || res.Contacts.ToGoogle.Created != 1 {
			t.Fatalf("%+v", res)
		}
		// Past the attempts the failure is the run's error.
		e.f.fail("/connections", 503, 503, 503, 503, 503)
		if _, err := e.sv.Run(e.ctx, e.user); err == nil {
			t.Fatal("five 503s in a row succeeded")
		}
		got, err := e.sv.Get(e.ctx, e.user)
		if err != nil || got.LastResult == nil || len(got.LastResult.Errors) == 0 {
			t.Fatalf("last result: %+v %v", got.LastResult, err)
		}
	})
}

func TestOAuthState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		u, err := e.sv.ConnectURL(e.ctx, e.user)
		if err != nil {
			t.Fatal(err)
		}
		pu, _ := url.Parse(u)
		state := pu.Query().Get("state")
		if err := e.sv.Complete(e.ctx, e.user, state+"x", "good-code"); !errors.Is(err, google.ErrBadState) {
			t.Fatalf("a wrong state: %v", err)
		}
		if err := e.sv.Complete(e.ctx, e.user, state, "good-code"); err != nil {
			t.Fatal(err)
		}
		if err := e.sv.Complete(e.ctx, e.user, state, "good-code"); !errors.Is(err, google.ErrBadState) {
			t.Fatalf("a state used twice: %v", err)
		}
		s, err := e.sv.Get(e.ctx, e.user)
		if err != nil || !s.Connected || s.Account != "manager@gmail.com" {
			t.Fatalf("%+v %v", s, err)
		}
		var sealed string
		if err := d.Reader().QueryRowContext(e.ctx, "SELECT refresh_token FROM google_syncs WHERE user_id = $1", e.user).Scan(&sealed); err != nil || sealed == "" || sealed == "refresh-1" {
			t.Fatalf("refresh token at rest: %q %v", sealed, err)
		}
	})
}

func TestScheduleAndChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		if n, err := e.sv.RunDue(e.ctx); err != nil || n != 0 {
			t.Fatalf("nothing connected: %d %v", n, err)
		}
		e.connect()
		e.settings(func(s *google.Settings) { s.Calendar = false })
		c := e.contact(crm.Contact{Name: "Расписание"})
		if n, err := e.sv.RunDue(e.ctx); err != nil || n != 1 {
			t.Fatalf("due after connecting: %d %v", n, err)
		}
		if _, _, n := personByGiven(e.f.livePersons(), "Расписание"); n != 1 {
			t.Fatal("the scheduled run did not send the contact")
		}
		if n, err := e.sv.RunDue(e.ctx); err != nil || n != 0 {
			t.Fatalf("nothing due: %d %v", n, err)
		}
		// A change in Obmen makes the sync due (after the debounce).
		if _, err := e.st.UpdateContact(e.ctx, e.actor, c.ID, func(c *crm.Contact) error { c.LastName = "Изменение"; return nil }); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // the debounce of the test's service
		if n, err := e.sv.RunDue(e.ctx); err != nil || n != 1 {
			t.Fatalf("due after a change: %d %v", n, err)
		}
		if _, p, _ := personByGiven(e.f.livePersons(), "Расписание"); p["names"].([]any)[0].(map[string]any)["familyName"] != "Изменение" {
			t.Fatalf("%v", p)
		}
		if n, err := e.sv.RunDue(e.ctx); err != nil || n != 0 {
			t.Fatalf("its own changes made it due again: %d %v", n, err)
		}
	})
}

// A burst of commits enqueues one tick, after the debounce.
func TestPokeEnqueuesOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		var mu sync.Mutex
		n := 0
		done := make(chan struct{}, 10)
		e.sv.Start(e.ctx, func(context.Context) error {
			mu.Lock()
			n++
			mu.Unlock()
			done <- struct{}{}
			return nil
		})
		defer e.sv.Stop()
		for range 100 {
			e.sv.Poke()
		}
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("no tick enqueued")
		}
		e.sv.Poke() // a new burst arms again
		<-done
		mu.Lock()
		defer mu.Unlock()
		if n != 2 {
			t.Fatalf("%d ticks for two bursts", n)
		}
	})
}
