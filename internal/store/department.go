package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/obmen/obmen/internal/crm"
)

// Departments: the company's structure, a tree under the root department
// (id 1), and the departments each user belongs to. Like users, their
// writes emit no change events.

const departmentColumns = "id, name, sort, parent_id, head_user_id"

func scanDepartment(sc interface{ Scan(...any) error }) (crm.Department, error) {
	var d crm.Department
	var parent sql.NullInt64
	if err := sc.Scan(&d.ID, &d.Name, &d.Sort, &parent, &d.HeadUserID); err != nil {
		return d, err
	}
	if parent.Valid {
		d.ParentID = &parent.Int64
	}
	return d, nil
}

// ListDepartments returns all departments by sort, then id.
func (s *Store) ListDepartments(ctx context.Context) ([]crm.Department, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT "+departmentColumns+" FROM departments ORDER BY sort, id")
	if err != nil {
		return nil, fmt.Errorf("store: list departments: %w", err)
	}
	defer rows.Close()
	out := []crm.Department{}
	for rows.Next() {
		d, err := scanDepartment(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list departments: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func getDepartment(t txq, id int64) (crm.Department, error) {
	d, err := scanDepartment(t.q.QueryRowContext(t.ctx, "SELECT "+departmentColumns+" FROM departments WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, NotFound("department", id)
	}
	if err != nil {
		return d, fmt.Errorf("store: department %d: %w", id, err)
	}
	return d, nil
}

// GetDepartment returns a department by id.
func (s *Store) GetDepartment(ctx context.Context, id int64) (crm.Department, error) {
	return getDepartment(s.rq(ctx), id)
}

// checkDepartmentRefs checks that d's parent and head exist and that the
// parent is not d itself or one of its descendants (no cycles).
func checkDepartmentRefs(t txq, d crm.Department) error {
	if d.HeadUserID != 0 {
		var n int
		if err := t.q.QueryRowContext(t.ctx, "SELECT COUNT(*) FROM users WHERE id = $1", d.HeadUserID).Scan(&n); err != nil {
			return fmt.Errorf("store: department head %d: %w", d.HeadUserID, err)
		}
		if n == 0 {
			return crm.Invalid("head_user_id", "no user with id %d", d.HeadUserID)
		}
	}
	if d.ParentID == nil {
		return nil
	}
	// Walk up from the parent: reaching d means d would be its own
	// ancestor. The walk is bounded by the number of departments.
	seen := map[int64]bool{}
	for id := *d.ParentID; ; {
		if d.ID != 0 && id == d.ID {
			return crm.Invalid("parent_id", "department %d cannot be placed under itself or its own sub-department", d.ID)
		}
		if seen[id] {
			return fmt.Errorf("store: department %d: the tree has a cycle", id)
		}
		seen[id] = true
		p, err := getDepartment(t, id)
		if errors.Is(err, ErrNotFound) {
			return crm.Invalid("parent_id", "no department with id %d", id)
		}
		if err != nil {
			return err
		}
		if p.ParentID == nil {
			return nil
		}
		id = *p.ParentID
	}
}

// CreateDepartment adds a department. A department without a parent goes
// under the root: there is one root, as in Bitrix24.
func (s *Store) CreateDepartment(ctx context.Context, actor crm.Actor, d crm.Department) (crm.Department, error) {
	if err := d.Normalize(); err != nil {
		return d, err
	}
	d.ID = 0
	err := s.Write(ctx, actor, func(t *Tx) error {
		if d.ParentID == nil {
			var root int64
			err := t.tx.QueryRowContext(t.ctx, "SELECT id FROM departments WHERE parent_id IS NULL ORDER BY id LIMIT 1").Scan(&root)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: root department: %w", err)
			}
			if err == nil {
				d.ParentID = &root
			}
		}
		if err := checkDepartmentRefs(t.rq(), d); err != nil {
			return err
		}
		now := micro(t.now)
		err := t.tx.QueryRowContext(t.ctx, `INSERT INTO departments (name, sort, parent_id, head_user_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`, d.Name, d.Sort, d.ParentID, d.HeadUserID, now).Scan(&d.ID)
		if err != nil {
			return fmt.Errorf("store: create department %q: %w", d.Name, err)
		}
		return nil
	})
	return d, err
}

// ChangeDepartment applies mutate to department id and saves it. The root
// keeps having no parent.
func (s *Store) ChangeDepartment(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.Department) error) (crm.Department, error) {
	var out crm.Department
	err := s.Write(ctx, actor, func(t *Tx) error {
		d, err := getDepartment(t.rq(), id)
		if err != nil {
			return err
		}
		wasRoot := d.ParentID == nil
		if err := mutate(&d); err != nil {
			return err
		}
		d.ID = id
		if err := d.Normalize(); err != nil {
			return err
		}
		if wasRoot && d.ParentID != nil {
			return crm.Invalid("parent_id", "the root department cannot be moved")
		}
		if !wasRoot && d.ParentID == nil {
			return crm.Invalid("parent_id", "required: only the root department has no parent")
		}
		if err := checkDepartmentRefs(t.rq(), d); err != nil {
			return err
		}
		if _, err := t.tx.ExecContext(t.ctx, "UPDATE departments SET name = $1, sort = $2, parent_id = $3, head_user_id = $4, updated_at = $5 WHERE id = $6",
			d.Name, d.Sort, d.ParentID, d.HeadUserID, micro(t.now), id); err != nil {
			return fmt.Errorf("store: update department %d: %w", id, err)
		}
		out = d
		return nil
	})
	return out, err
}

// DeleteDepartment removes a department. The root, a department with
// sub-departments and one with members stay: their people and children
// would be left nowhere.
func (s *Store) DeleteDepartment(ctx context.Context, actor crm.Actor, id int64) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		d, err := getDepartment(t.rq(), id)
		if err != nil {
			return err
		}
		if d.ParentID == nil {
			return crm.Invalid("id", "the root department cannot be deleted")
		}
		var subs, members int
		if err := t.tx.QueryRowContext(t.ctx, `SELECT (SELECT COUNT(*) FROM departments WHERE parent_id = $1),
			(SELECT COUNT(*) FROM user_departments WHERE department_id = $1)`, id).Scan(&subs, &members); err != nil {
			return fmt.Errorf("store: delete department %d: %w", id, err)
		}
		if subs > 0 {
			return crm.Invalid("id", "department %d has %d sub-departments; move them first", id, subs)
		}
		if members > 0 {
			return crm.Invalid("id", "department %d has %d members; move them first", id, members)
		}
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM departments WHERE id = $1", id); err != nil {
			return fmt.Errorf("store: delete department %d: %w", id, err)
		}
		return nil
	})
}

// UserDepartments returns the departments of every user that has any, by
// user id, each list by department id.
func (s *Store) UserDepartments(ctx context.Context) (map[int64][]int64, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT user_id, department_id FROM user_departments ORDER BY user_id, department_id")
	if err != nil {
		return nil, fmt.Errorf("store: user departments: %w", err)
	}
	defer rows.Close()
	out := map[int64][]int64{}
	for rows.Next() {
		var u, d int64
		if err := rows.Scan(&u, &d); err != nil {
			return nil, fmt.Errorf("store: user departments: %w", err)
		}
		out[u] = append(out[u], d)
	}
	return out, rows.Err()
}

// SetUserDepartments replaces the departments user userID belongs to.
func (s *Store) SetUserDepartments(ctx context.Context, actor crm.Actor, userID int64, departments []int64) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		var n int
		if err := t.tx.QueryRowContext(t.ctx, "SELECT COUNT(*) FROM users WHERE id = $1", userID).Scan(&n); err != nil {
			return fmt.Errorf("store: user %d departments: %w", userID, err)
		}
		if n == 0 {
			return NotFound("user", userID)
		}
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM user_departments WHERE user_id = $1", userID); err != nil {
			return fmt.Errorf("store: user %d departments: %w", userID, err)
		}
		seen := map[int64]bool{}
		for _, d := range departments {
			if seen[d] {
				continue
			}
			seen[d] = true
			if _, err := getDepartment(t.rq(), d); errors.Is(err, ErrNotFound) {
				return crm.Invalid("departments", "no department with id %d", d)
			} else if err != nil {
				return err
			}
			if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO user_departments (user_id, department_id) VALUES ($1, $2)", userID, d); err != nil {
				return fmt.Errorf("store: user %d department %d: %w", userID, d, err)
			}
		}
		return nil
	})
}
