package commerceml

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// countingSink counts what reaches the destination, and keeps none of it.
type countingSink struct{ n int }

func (s *countingSink) Write(p []byte) (int, error) { s.n += len(p); return len(p), nil }

// The catalog and offers writers stream: a site export of 100,000 goods
// must not hold its documents in memory (issue 18: each process under
// 200 MB). While 20,000 goods and offers are written, what has reached
// the destination trails what was written by no more than the writer's
// buffer, and the live heap after them is what it was before — nothing is
// kept per good. In UTF-8 and windows-1251 (its encoder sits between the
// buffer and the destination). Sizes, never timings.
func TestWritersStream(t *testing.T) {
	const n = 20000
	const slack = 64 << 10 // the 32 KiB buffer, and the encoder's own
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	for _, enc := range []Encoding{UTF8, Windows1251} {
		t.Run(string(enc), func(t *testing.T) {
			var cs, offs countingSink
			cw, err := NewCatalogWriter(&cs, enc, "2.05", at, Catalog{ID: "cat", ClassifierID: "cls", Name: "Каталог"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ow, err := NewOffersWriter(&offs, enc, "2.05", at, Offers{ID: "o", CatalogID: "cat", Name: "Предложения"}, []PriceType{{ID: "r", Name: "Розничная", Currency: "RUB"}})
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			// Each good below is over 200 bytes, each offer over 150, in
			// either encoding.
			const goodBytes, offerBytes = 200, 150
			for i := range n {
				id := fmt.Sprintf("p%06d", i)
				g := Good{ID: id, Article: "ART-" + id, Name: "Товар номер " + id, Unit: Unit{Code: "796", Short: "шт"}, Description: "Описание товара " + id,
					Pictures: []string{"import_files/" + id[1:3] + "/" + id + ".jpg"}}
				if err := cw.Good(&g); err != nil {
					t.Fatal(err)
				}
				qty := "7"
				o := Offer{ID: id, Name: g.Name, Prices: []Price{{TypeID: "r", PerUnit: "100.00", Currency: "RUB", Unit: "796"}}, Quantity: &qty}
				if err := ow.Offer(&o); err != nil {
					t.Fatal(err)
				}
				if w := (i + 1) * goodBytes; cs.n < w-slack {
					t.Fatalf("after %d goods %d bytes reached import.xml, want at least %d: the writer holds the document", i+1, cs.n, w-slack)
				}
				if w := (i + 1) * offerBytes; offs.n < w-slack {
					t.Fatalf("after %d offers %d bytes reached offers.xml, want at least %d: the writer holds the document", i+1, offs.n, w-slack)
				}
			}
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<20 {
				t.Errorf("the live heap grew by %d KiB over %d goods and offers: the writers keep something per good", grew>>10, n)
			}
			if err := cw.Close(); err != nil {
				t.Fatal(err)
			}
			if err := ow.Close(); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: import.xml %d KiB, offers.xml %d KiB", enc, cs.n>>10, offs.n>>10)
		})
	}
}
