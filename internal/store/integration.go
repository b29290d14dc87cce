package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
)

// Integration permissions an administrator grants a user and so every API
// key of the user (issue 25): an integration surface runs as a user that
// holds its permission, within that user's record access.
const (
	// PermExchange1C signs in to the 1C exchange (/1c_exchange.php) and
	// exchanges orders (type=sale): the orders the user may see are sent,
	// the ones the user may change are updated.
	PermExchange1C = "1c_exchange"
	// PermCatalog1C also imports 1C's catalog (type=catalog), which
	// changes the products, prices and stock everyone shares.
	PermCatalog1C = "1c_catalog"
	// PermActions calls automation actions directly (POST
	// /api/v1/actions/{name}): the action runs as the user, within the
	// user's record access.
	PermActions = "actions"
)

// Permissions are the integration permissions there are, in the order
// pages list them.
var Permissions = []string{PermExchange1C, PermCatalog1C, PermActions}

// UserPermissions returns the integration permissions granted to a user
// (sorted; administrators hold them all whether listed or not, see
// HasPermission).
func (s *Store) UserPermissions(ctx context.Context, userID int64) ([]string, error) {
	return userPermissions(ctx, s.db.Reader(), userID)
}

func userPermissions(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, userID int64) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT permission FROM integration_permissions WHERE user_id = $1 ORDER BY permission", userID)
	if err != nil {
		return nil, fmt.Errorf("store: permissions of user %d: %w", userID, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("store: permissions of user %d: %w", userID, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: permissions of user %d: %w", userID, err)
	}
	return out, nil
}

// SetUserPermissions replaces the integration permissions of a user.
// PermCatalog1C needs PermExchange1C: without it the user cannot sign in
// to the exchange at all.
func (s *Store) SetUserPermissions(ctx context.Context, actor crm.Actor, userID int64, perms []string) error {
	seen := map[string]bool{}
	for i, p := range perms {
		field := "permissions[" + strconv.Itoa(i) + "]"
		switch {
		case !slices.Contains(Permissions, p):
			return crm.Invalid(field, "%q is not a permission (%v)", p, Permissions)
		case seen[p]:
			return crm.Invalid(field, "%q is listed twice", p)
		}
		seen[p] = true
	}
	if seen[PermCatalog1C] && !seen[PermExchange1C] {
		return crm.Invalid("permissions", "%s needs %s: the catalog is imported through the 1C exchange", PermCatalog1C, PermExchange1C)
	}
	return s.Write(ctx, actor, func(t *Tx) error {
		var one int
		if err := t.tx.QueryRowContext(t.ctx, "SELECT 1 FROM users WHERE id = $1", userID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return NotFound("user", userID)
			}
			return fmt.Errorf("store: permissions of user %d: %w", userID, err)
		}
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM integration_permissions WHERE user_id = $1", userID); err != nil {
			return fmt.Errorf("store: permissions of user %d: %w", userID, err)
		}
		for _, p := range Permissions {
			if !seen[p] {
				continue
			}
			if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO integration_permissions (user_id, permission) VALUES ($1, $2)", userID, p); err != nil {
				return fmt.Errorf("store: permissions of user %d: %w", userID, err)
			}
		}
		return nil
	})
}

// HasPermission reports whether u holds an integration permission:
// administrators hold every one, other users the ones granted. Not
// cached: a permission taken back stops the next call.
func (s *Store) HasPermission(ctx context.Context, u crm.User, perm string) (bool, error) {
	if !u.Active {
		return false, nil
	}
	if u.Role == crm.RoleAdmin {
		return true, nil
	}
	var one int
	err := s.db.Reader().QueryRowContext(ctx, "SELECT 1 FROM integration_permissions WHERE user_id = $1 AND permission = $2", u.ID, perm).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: permission %s of user %d: %w", perm, u.ID, err)
	}
	return true, nil
}

// APIKeyActive reports whether an API key exists and is not revoked.
func (s *Store) APIKeyActive(ctx context.Context, keyID int64) (bool, error) {
	var one int
	err := s.db.Reader().QueryRowContext(ctx, "SELECT 1 FROM api_keys WHERE id = $1 AND revoked_at = 0", keyID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: API key %d: %w", keyID, err)
	}
	return true, nil
}
