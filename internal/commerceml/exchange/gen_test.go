package exchange_test

import "github.com/obmen/obmen/internal/bench"

// The generated catalog of the tests and the benchmark is the one "obmen
// bench --onec-products" sends.
var (
	genCatalog = bench.WriteCatalog
	genGoods   = bench.WriteGoods
	genOffers  = bench.WriteOffers
)
