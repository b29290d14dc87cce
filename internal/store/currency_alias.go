package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/crm"
)

// CurrencyAlias maps a spelling 1C or an old system writes ("грн",
// "руб.", "у.е.") to an ISO 4217 code.
type CurrencyAlias struct {
	Alias string `json:"alias"`
	Code  string `json:"code"`
}

// ListCurrencyAliases returns the alias table, by alias.
func (s *Store) ListCurrencyAliases(ctx context.Context) ([]CurrencyAlias, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT alias, code FROM currency_aliases ORDER BY alias")
	if err != nil {
		return nil, fmt.Errorf("store: currency aliases: %w", err)
	}
	defer rows.Close()
	out := []CurrencyAlias{}
	for rows.Next() {
		var a CurrencyAlias
		if err := rows.Scan(&a.Alias, &a.Code); err != nil {
			return nil, fmt.Errorf("store: currency aliases: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CurrencyAliasMap is the alias table as upper-cased alias → ISO code.
func (s *Store) CurrencyAliasMap(ctx context.Context) (map[string]string, error) {
	as, err := s.ListCurrencyAliases(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(as))
	for _, a := range as {
		m[strings.ToUpper(a.Alias)] = a.Code
	}
	return m, nil
}

func normalizeAlias(a *CurrencyAlias) error {
	a.Alias = strings.ToUpper(strings.TrimSpace(a.Alias))
	a.Code = strings.ToUpper(strings.TrimSpace(a.Code))
	if a.Alias == "" {
		return crm.Invalid("alias", "required")
	}
	if n := len([]rune(a.Alias)); n > 50 {
		return crm.Invalid("alias", "longer than %d characters", 50)
	}
	c := crm.Currency{Code: a.Code, Rate: "1"}
	if err := c.Normalize(); err != nil || c.Code != a.Code {
		return crm.Invalid("code", "%q is not an ISO 4217 currency code", a.Code)
	}
	return nil
}

// SetCurrencyAlias adds or changes an alias.
func (s *Store) SetCurrencyAlias(ctx context.Context, actor crm.Actor, a CurrencyAlias) (CurrencyAlias, error) {
	if err := normalizeAlias(&a); err != nil {
		return a, err
	}
	err := s.Write(ctx, actor, func(t *Tx) error {
		_, err := t.tx.ExecContext(t.ctx, "INSERT INTO currency_aliases (alias, code) VALUES ($1, $2) ON CONFLICT (alias) DO UPDATE SET code = excluded.code",
			a.Alias, a.Code)
		if err != nil {
			return fmt.Errorf("store: currency alias %q: %w", a.Alias, err)
		}
		return nil
	})
	return a, err
}

// DeleteCurrencyAlias removes an alias.
func (s *Store) DeleteCurrencyAlias(ctx context.Context, actor crm.Actor, alias string) error {
	alias = strings.ToUpper(strings.TrimSpace(alias))
	return s.Write(ctx, actor, func(t *Tx) error {
		res, err := t.tx.ExecContext(t.ctx, "DELETE FROM currency_aliases WHERE alias = $1", alias)
		if err != nil {
			return fmt.Errorf("store: delete currency alias %q: %w", alias, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return NotFound("currency alias", alias)
		}
		return nil
	})
}

// resolveCurrency maps a code through the alias table ("ГРН" → UAH), for
// a currency an administrator activates under the name 1C writes.
func resolveCurrency(t txq, code string) (string, error) {
	var iso string
	err := t.q.QueryRowContext(t.ctx, "SELECT code FROM currency_aliases WHERE alias = $1", strings.ToUpper(strings.TrimSpace(code))).Scan(&iso)
	if errors.Is(err, sql.ErrNoRows) {
		return crm.CanonicalCurrency(code), nil
	}
	if err != nil {
		return "", fmt.Errorf("store: currency alias %q: %w", code, err)
	}
	return iso, nil
}
