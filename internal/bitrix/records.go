package bitrix

import (
	"context"

	"github.com/obmen/obmen/internal/crm"
)

// records are one entity's record operations in Bitrix24's legacy field
// names (TITLE, ASSIGNED_BY_ID, PHONE, UF_CRM_*): the one implementation
// that reads and writes records for both API generations. The legacy
// crm.{lead,deal,contact,company,…}.* methods call them directly
// (methodsOf); the universal crm.item.* methods (item.go) translate
// camelCase names and values to and from them.
type records interface {
	entityName() string // the store's entity
	addRecord(ctx context.Context, a crm.Actor, fields *Array) (int64, error)
	// getRecord answers every field, as crm.{entity}.get does.
	getRecord(ctx context.Context, id int64) (*Array, error)
	updateRecord(ctx context.Context, a crm.Actor, id int64, fields *Array) error
	deleteRecord(ctx context.Context, a crm.Actor, id int64) error
	// listRecords answers one page: the records, the start and the total
	// (nil when start is -1).
	listRecords(ctx context.Context, la listArgs) ([]*Array, int64, *int64, error)
	// describeRecords answers crm.{entity}.fields.
	describeRecords(ctx context.Context) (*Array, error)
}
