package address

import (
	"context"

	"github.com/obmen/obmen/internal/db"
)

// Suggester offers addresses as a user types them: the imported ФИАС/ГАР
// base (Local) or a hosted service an admin chose.
type Suggester interface {
	Suggest(ctx context.Context, q Query) ([]Suggestion, error)
}

// Local suggests from the addresses imported into the database.
type Local struct{ DB *db.DB }

// Suggest is the package's Suggest on l.DB.
func (l Local) Suggest(ctx context.Context, q Query) ([]Suggestion, error) {
	return Suggest(ctx, l.DB, q)
}
