package google_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connector/google"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
)

// BenchmarkFirstSync is a first sync of 2,000 Google contacts into an
// empty Obmen (pages of 1,000 from the fake), then an idle incremental
// run; it reports contacts/s of the first and the idle run's time.
func BenchmarkFirstSync(b *testing.B) {
	const n = 2000
	for range b.N {
		b.StopTimer()
		d := storetest.OpenSQLite(b)
		e := newEnv(b, d)
		e.f.pageSize = 1000
		e.connect()
		e.settings(func(s *google.Settings) { s.Calendar = false })
		for i := range n {
			e.f.addPerson(map[string]any{"names": names(fmt.Sprintf("Имя%d", i), "Фамилия"), "emailAddresses": emails(fmt.Sprintf("p%d@example.ru", i)),
				"phoneNumbers": phones(fmt.Sprintf("+7 916 %03d-%02d-%02d", i/10000, (i/100)%100, i%100))}, past)
		}
		b.StartTimer()
		start := time.Now()
		res := e.run()
		first := time.Since(start)
		start = time.Now()
		e.run()
		idle := time.Since(start)
		if res.Contacts.ToObmen.Created != n {
			b.Fatalf("%+v", res.Contacts)
		}
		b.ReportMetric(float64(n)/first.Seconds(), "contacts/s")
		b.ReportMetric(float64(idle.Milliseconds()), "idle-ms")
	}
}

// BenchmarkFirstPush is a first sync of 2,000 Obmen contacts to an empty
// Google account (batches of 200); it reports contacts/s.
func BenchmarkFirstPush(b *testing.B) {
	const n = 2000
	for range b.N {
		b.StopTimer()
		e := newEnv(b, storetest.OpenSQLite(b))
		e.connect()
		e.settings(func(s *google.Settings) { s.Calendar = false })
		for i := range n {
			e.contact(crm.Contact{Name: fmt.Sprintf("Имя%d", i), LastName: "Фамилия", Comms: crm.Comms{Emails: []crm.Comm{{Value: fmt.Sprintf("o%d@example.ru", i)}}}})
		}
		b.StartTimer()
		start := time.Now()
		res := e.run()
		first := time.Since(start)
		if res.Contacts.ToGoogle.Created != n {
			b.Fatalf("%+v", res.Contacts)
		}
		b.ReportMetric(float64(n)/first.Seconds(), "contacts/s")
	}
}
