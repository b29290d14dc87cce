package address

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/db"
)

// Ref names one imported object: its OBJECTGUID and КЛАДР code.
type Ref struct {
	GUID  string `json:"fias_id"`
	KLADR string `json:"kladr_id"`
}

// Lineage is the parts an object lies in, as an address block fills
// them: the region, the city (or settlement), the street and the house;
// a part the object is not under is the zero Ref.
type Lineage struct {
	Region Ref `json:"region"`
	City   Ref `json:"city"`
	Street Ref `json:"street"`
	House  Ref `json:"house"`
}

// LineageOf walks up from the object guid names to its region, so that a
// block showing a stored address can offer the streets of its city and
// the houses of its street. ErrUnknownParent when guid is not imported
// (an id from elsewhere, or a base imported since without it).
func LineageOf(ctx context.Context, d *db.DB, guid string) (Lineage, error) {
	var l Lineage
	var id int64
	err := d.Read.QueryRowContext(ctx, `SELECT object_id FROM address_objects WHERE guid = $1 AND active = 1`,
		strings.ToLower(strings.TrimSpace(guid))).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return l, ErrUnknownParent
	}
	if err != nil {
		return l, fmt.Errorf("address: lineage of %s: %w", guid, err)
	}
	for depth := 0; id != 0 && depth < maxDepth; depth++ {
		var r row
		err := d.Read.QueryRowContext(ctx, `SELECT COALESCE(parent_id, 0), level, kind, guid, type_name, kladr FROM address_objects WHERE object_id = $1`, id).
			Scan(&r.parent, &r.level, &r.kind, &r.guid, &r.typeName, &r.kladr)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return l, fmt.Errorf("address: lineage of %s: %w", guid, err)
		}
		ref := Ref{GUID: r.guid, KLADR: r.kladr}
		switch {
		case r.kind == 3:
			l.House = ref
		case r.level == 7 || r.level == 8:
			if l.Street.GUID == "" {
				l.Street = ref
			}
		case r.level >= 4 && r.level <= 6:
			if l.City.GUID == "" {
				l.City = ref
			}
		case r.level == 1:
			l.Region = ref
			if l.City.GUID == "" && TypeKey(r.typeName) == "г" {
				l.City = ref // Москва, Санкт-Петербург, Севастополь
			}
		}
		id = r.parent
	}
	return l, nil
}
