package db

import (
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"

	"modernc.org/sqlite"
)

// Fold is the SQL function that folds text for case-insensitive
// comparison in every alphabet: WHERE obmen_fold(title) LIKE
// obmen_fold($1). SQLite's own lower() and LIKE fold ASCII only, and
// PostgreSQL's LIKE folds nothing; both engines have obmen_fold (SQLite
// from registerFold, PostgreSQL from migration 0017), so one SQL text
// serves both.
const Fold = "obmen_fold"

var foldOnce sync.Once

// registerFold registers obmen_fold with the SQLite driver, for the
// connections opened after it: Go's Unicode lower case, as the search
// column is lowered in Go (store.searchText), NULL staying NULL.
func registerFold() {
	foldOnce.Do(func() {
		sqlite.MustRegisterDeterministicScalarFunction(Fold, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case nil:
				return nil, nil
			case string:
				return strings.ToLower(v), nil
			case []byte:
				return strings.ToLower(string(v)), nil
			case int64, float64:
				return fmt.Sprint(v), nil
			}
			return nil, fmt.Errorf("db: %s: cannot fold %T", Fold, args[0])
		})
	})
}
