package bitrix24

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// fingerprint is what deal.upsert sends of an order, hashed: the deal's
// fields (the stage through status_map included), the product rows, and
// the client's fields. The portal's ids are left out: they are the
// same on every update.
func (d Deps) fingerprint(p Portal, o crm.SalesOrder, contact *crm.Contact, account *crm.Account) string {
	deal := d.dealFields(p, o)
	delete(deal, "CATEGORY_ID")
	v := map[string]any{"deal": deal, "rows": productRows(o.Items)}
	if contact != nil {
		v["contact"] = contactFields(*contact)
	}
	if account != nil {
		var cmds []any
		for _, c := range companyCmds(p, *account, 0) {
			cmds = append(cmds, []any{c.Key, c.Method, c.Params})
		}
		v["company"] = cmds
	}
	b, _ := json.Marshal(v) // maps marshal with sorted keys: the same order, the same bytes
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// sentFingerprint is the fingerprint last stored for the order, "" when
// none is.
func (d Deps) sentFingerprint(ctx context.Context, system string, orderID int64) (string, error) {
	var fp string
	err := d.DB.Reader().QueryRowContext(ctx, "SELECT fingerprint FROM bitrix24_sent WHERE system = $1 AND sales_order_id = $2", system, orderID).Scan(&fp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("bitrix24: read what was sent of order %d: %w", orderID, err)
	}
	return fp, nil
}

// storeFingerprint records what the portal now has of the order.
func (d Deps) storeFingerprint(ctx context.Context, system string, orderID int64, fp string) error {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	err := d.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO bitrix24_sent (system, sales_order_id, fingerprint, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (system, sales_order_id) DO UPDATE SET fingerprint = excluded.fingerprint, updated_at = excluded.updated_at`,
			system, orderID, fp, now().UnixMicro())
		return err
	})
	if err != nil {
		return fmt.Errorf("bitrix24: store what was sent of order %d: %w", orderID, err)
	}
	return nil
}
