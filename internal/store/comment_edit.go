package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
)

func getComment(t txq, id int64) (crm.Comment, error) {
	cs, err := scanComments(t, "SELECT "+commentColumns+" FROM comments WHERE id = $1", id)
	if err != nil {
		return crm.Comment{}, err
	}
	if len(cs) == 0 {
		return crm.Comment{}, NotFound("comment", id)
	}
	return cs[0], nil
}

// GetComment returns a comment by id, if its record is one the caller
// may see.
func (s *Store) GetComment(ctx context.Context, id int64) (crm.Comment, error) {
	c, err := getComment(s.rq(ctx), id)
	if err != nil {
		return c, err
	}
	if err := allowedID(s.rq(ctx), c.Entity, c.RecordID); err != nil {
		return c, err
	}
	return c, nil
}

// changeComment runs change on comment id inside a write, after checking
// that the record is editable by the caller and that the actor wrote the
// comment or is an administrator: a comment is its author's words.
func (s *Store) changeComment(ctx context.Context, actor crm.Actor, id int64, change func(t *Tx, c crm.Comment) error) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		c, err := getComment(t.rq(), id)
		if err != nil {
			return err
		}
		if err := editableID(t.rq(), c.Entity, c.RecordID); err != nil {
			return err
		}
		if c.AuthorID != actor.UserID {
			var role string
			err := t.tx.QueryRowContext(t.ctx, "SELECT role FROM users WHERE id = $1", actor.UserID).Scan(&role)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: comment %d: %w", id, err)
			}
			if role != crm.RoleAdmin {
				return fmt.Errorf("store: comment %d is user %d's: %w", id, c.AuthorID, ErrForbidden)
			}
		}
		return change(t, c)
	})
}

// UpdateComment replaces a comment's body, with a "comment" event on its
// record holding the old and the new text.
func (s *Store) UpdateComment(ctx context.Context, actor crm.Actor, id int64, body string) (crm.Comment, error) {
	body = strings.TrimSpace(body)
	if body == "" {
		return crm.Comment{}, crm.Invalid("body", "required")
	}
	if utf8.RuneCountInString(body) > maxCommentLen {
		return crm.Comment{}, crm.Invalid("body", "longer than %d characters", maxCommentLen)
	}
	var out crm.Comment
	err := s.changeComment(ctx, actor, id, func(t *Tx, c crm.Comment) error {
		if _, err := t.tx.ExecContext(t.ctx, "UPDATE comments SET body = $1 WHERE id = $2", body, id); err != nil {
			return fmt.Errorf("store: update comment %d: %w", id, err)
		}
		if body != c.Body {
			t.Emit(c.Entity, c.RecordID, ActionComment, map[string]events.Change{"comment": {Old: jsonRaw(c.Body), New: jsonRaw(body)}})
		}
		c.Body = body
		out = c
		return nil
	})
	return out, err
}

// DeleteComment removes a comment, with a "comment" event on its record
// holding the removed text.
func (s *Store) DeleteComment(ctx context.Context, actor crm.Actor, id int64) error {
	return s.changeComment(ctx, actor, id, func(t *Tx, c crm.Comment) error {
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM comments WHERE id = $1", id); err != nil {
			return fmt.Errorf("store: delete comment %d: %w", id, err)
		}
		t.Emit(c.Entity, c.RecordID, ActionComment, map[string]events.Change{"comment": {Old: jsonRaw(c.Body), New: null()}})
		return nil
	})
}
