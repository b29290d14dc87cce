package address_test

import (
	"context"
	"testing"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestImportAnalyzes: an import leaves the planner statistics of the
// address tables (sqlite_stat1; PostgreSQL's pg_stats), a rerun that
// finds every file done does not redo them, and the lineage of a house
// names its street, city and region.
func TestImportAnalyzes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		importDir(t, d, "testdata/gar")
		stats := `SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl IN ('address_keys', 'address_objects')`
		if d.Dialect == db.Postgres {
			stats = `SELECT COUNT(*) FROM pg_stats WHERE tablename IN ('address_keys', 'address_objects')`
		}
		if n := count(t, d, stats); n == 0 {
			t.Fatalf("no statistics after the import")
		}
		if st := importDir(t, d, "testdata/gar"); st.Skipped != st.Files {
			t.Fatalf("rerun: %+v", st)
		}
		l, err := address.LineageOf(context.Background(), d, guid(1704))
		if err != nil {
			t.Fatal(err)
		}
		want := address.Lineage{Region: address.Ref{GUID: guid(1601)}, City: address.Ref{GUID: guid(1602), KLADR: "1600000100000"},
			Street: address.Ref{GUID: guid(1604)}, House: address.Ref{GUID: guid(1704)}}
		if l != want {
			t.Fatalf("lineage of house 1704:\n got %+v\nwant %+v", l, want)
		}
		if _, err := address.LineageOf(context.Background(), d, "00000000-0000-4000-8000-000000000000"); err != address.ErrUnknownParent {
			t.Fatalf("lineage of an unknown id: %v", err)
		}
	})
}
