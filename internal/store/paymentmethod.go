package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// Payment methods (migration 0033): a dictionary, like units and
// currencies; writes are admins' and log no change event.

const paymentMethodColumns = "id, name, client_type, print_form, url_template, active, sort, created_at, updated_at"

func scanPaymentMethod(sc interface{ Scan(...any) error }) (crm.PaymentMethod, error) {
	var m crm.PaymentMethod
	var created, updated int64
	err := sc.Scan(&m.ID, &m.Name, &m.ClientType, &m.PrintForm, &m.URLTemplate, &m.Active, &m.Sort, &created, &updated)
	m.CreatedAt, m.UpdatedAt = fromMicro(created), fromMicro(updated)
	return m, err
}

// ListPaymentMethods returns the payment methods in their sort order.
func (s *Store) ListPaymentMethods(ctx context.Context) ([]crm.PaymentMethod, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT "+paymentMethodColumns+" FROM payment_methods ORDER BY sort, id")
	if err != nil {
		return nil, fmt.Errorf("store: payment methods: %w", err)
	}
	defer rows.Close()
	out := []crm.PaymentMethod{}
	for rows.Next() {
		m, err := scanPaymentMethod(rows)
		if err != nil {
			return nil, fmt.Errorf("store: payment methods: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func getPaymentMethod(t txq, id int64) (crm.PaymentMethod, error) {
	m, err := scanPaymentMethod(t.q.QueryRowContext(t.ctx, "SELECT "+paymentMethodColumns+" FROM payment_methods WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, NotFound("payment method", id)
	}
	if err != nil {
		return m, fmt.Errorf("store: payment method %d: %w", id, err)
	}
	return m, nil
}

// GetPaymentMethod returns a payment method.
func (s *Store) GetPaymentMethod(ctx context.Context, id int64) (crm.PaymentMethod, error) {
	return getPaymentMethod(s.rq(ctx), id)
}

// CreatePaymentMethod adds a payment method.
func (s *Store) CreatePaymentMethod(ctx context.Context, actor crm.Actor, m crm.PaymentMethod) (crm.PaymentMethod, error) {
	if err := m.Normalize(); err != nil {
		return m, err
	}
	err := s.Write(ctx, actor, func(t *Tx) error {
		m.CreatedAt = t.now.Truncate(time.Microsecond)
		m.UpdatedAt = m.CreatedAt
		err := t.tx.QueryRowContext(t.ctx, `INSERT INTO payment_methods (name, client_type, print_form, url_template, active, sort, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			m.Name, m.ClientType, m.PrintForm, m.URLTemplate, m.Active, m.Sort, micro(m.CreatedAt), micro(m.UpdatedAt)).Scan(&m.ID)
		if err != nil {
			return fmt.Errorf("store: create payment method %q: %w", m.Name, err)
		}
		return nil
	})
	return m, err
}

// UpdatePaymentMethod replaces a payment method's fields.
func (s *Store) UpdatePaymentMethod(ctx context.Context, actor crm.Actor, m crm.PaymentMethod) (crm.PaymentMethod, error) {
	if err := m.Normalize(); err != nil {
		return m, err
	}
	err := s.Write(ctx, actor, func(t *Tx) error {
		old, err := getPaymentMethod(t.rq(), m.ID)
		if err != nil {
			return err
		}
		m.CreatedAt, m.UpdatedAt = old.CreatedAt, t.now.Truncate(time.Microsecond)
		if _, err := t.tx.ExecContext(t.ctx, `UPDATE payment_methods SET name = $1, client_type = $2, print_form = $3, url_template = $4,
			active = $5, sort = $6, updated_at = $7 WHERE id = $8`,
			m.Name, m.ClientType, m.PrintForm, m.URLTemplate, m.Active, m.Sort, micro(m.UpdatedAt), m.ID); err != nil {
			return fmt.Errorf("store: update payment method %d: %w", m.ID, err)
		}
		return nil
	})
	return m, err
}

// DeletePaymentMethod removes a payment method no invoice uses (counting
// the recycle bin).
func (s *Store) DeletePaymentMethod(ctx context.Context, actor crm.Actor, id int64) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		var n int64
		if err := t.tx.QueryRowContext(t.ctx, "SELECT COUNT(*) FROM invoices WHERE payment_method_id = $1", id).Scan(&n); err != nil {
			return fmt.Errorf("store: payment method %d in use: %w", id, err)
		}
		if n > 0 {
			return crm.Invalid("id", "payment method %d is used by %d invoices (counting the recycle bin)", id, n)
		}
		res, err := t.tx.ExecContext(t.ctx, "DELETE FROM payment_methods WHERE id = $1", id)
		if err != nil {
			return fmt.Errorf("store: delete payment method %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return NotFound("payment method", id)
		}
		return nil
	})
}
