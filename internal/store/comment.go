package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
)

// ActionComment is the event action of a comment added to a record.
const ActionComment = "comment"

// EntityComment names a comment where an idempotency key remembers one.
const EntityComment = "comment"

// maxCommentLen is the longest comment body, in characters.
const maxCommentLen = 65000

// recordExists returns NotFound unless record id of entity (a key of
// entityTables) exists, and is live when live is set.
func recordExists(t txq, entity string, id int64, live bool) error {
	var deleted int64
	err := t.q.QueryRowContext(t.ctx, "SELECT deleted_at FROM "+entityTables[entity]+" WHERE id = $1", id).Scan(&deleted)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && live && deleted != 0) {
		return NotFound(entity, id)
	}
	if err != nil {
		return fmt.Errorf("store: %s %d: %w", entity, id, err)
	}
	return nil
}

// AddComment adds a comment to a live record of one of crm.OwnerTypes, with an event on that
// record (action "comment", change "comment" holding the body). Under an
// idempotency key (WithIdempotency) the key remembers the comment, as
// entity "comment".
func (s *Store) AddComment(ctx context.Context, actor crm.Actor, entity string, recordID int64, body string) (crm.Comment, error) {
	c := crm.Comment{Entity: entity, RecordID: recordID, Body: strings.TrimSpace(body), AuthorID: actor.UserID}
	if c.Body == "" {
		return c, crm.Invalid("body", "required")
	}
	if utf8.RuneCountInString(c.Body) > maxCommentLen {
		return c, crm.Invalid("body", "longer than %d characters", maxCommentLen)
	}
	if !slices.Contains(crm.OwnerTypes, entity) {
		return c, crm.Invalid("entity", "%q is not one of %s", entity, strings.Join(crm.OwnerTypes, ", "))
	}
	err := s.Write(ctx, actor, func(t *Tx) error {
		if err := recordExists(t.rq(), entity, recordID, true); err != nil {
			return err
		}
		if err := editableID(t.rq(), entity, recordID); err != nil {
			return err
		}
		c.CreatedAt = t.now.Truncate(time.Microsecond)
		if err := t.tx.QueryRowContext(t.ctx, "INSERT INTO comments (entity, record_id, body, author_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
			entity, recordID, c.Body, c.AuthorID, micro(c.CreatedAt)).Scan(&c.ID); err != nil {
			return fmt.Errorf("store: comment on %s %d: %w", entity, recordID, err)
		}
		t.remember(EntityComment, c.ID)
		t.Emit(entity, recordID, ActionComment, map[string]events.Change{
			"comment": {Old: null(), New: jsonRaw(c.Body)},
		})
		return nil
	})
	return c, err
}

const commentColumns = "id, entity, record_id, body, author_id, created_at"

func scanComments(t txq, query string, args ...any) ([]crm.Comment, error) {
	rows, err := t.q.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: comments: %w", err)
	}
	defer rows.Close()
	out := []crm.Comment{}
	for rows.Next() {
		var c crm.Comment
		var at int64
		if err := rows.Scan(&c.ID, &c.Entity, &c.RecordID, &c.Body, &c.AuthorID, &at); err != nil {
			return nil, fmt.Errorf("store: comments: %w", err)
		}
		c.CreatedAt = fromMicro(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// ListComments returns the comments on a record, oldest first.
func (s *Store) ListComments(ctx context.Context, entity string, recordID int64) ([]crm.Comment, error) {
	if _, ok := entityTables[entity]; !ok {
		return nil, crm.Invalid("entity", "%q is not a CRM entity", entity)
	}
	if err := allowedID(s.rq(ctx), entity, recordID); err != nil {
		return nil, err
	}
	return scanComments(s.rq(ctx), "SELECT "+commentColumns+" FROM comments WHERE entity = $1 AND record_id = $2 ORDER BY id", entity, recordID)
}

// Kinds of timeline items.
const (
	TimelineComment  = "comment"
	TimelineActivity = "activity"
	TimelineEvent    = "event"
)

// TimelineItem is one entry of a record's timeline: a comment, a linked
// activity or a change event, exactly one of which is set.
type TimelineItem struct {
	Kind     string        `json:"kind"`
	At       time.Time     `json:"at"`
	Comment  *crm.Comment  `json:"comment,omitempty"`
	Activity *crm.Activity `json:"activity,omitempty"`
	Event    *events.Event `json:"event,omitempty"`
}

// Timeline returns what happened to a record (live or in the recycle bin),
// newest first, at most limit items (default 100, at most 1000): its
// comments (at their creation), its live activities (at their start, or
// creation when they have none) and its change events. Comment events are
// left out, as the comments themselves are there.
func (s *Store) Timeline(ctx context.Context, entity string, recordID int64, limit int) ([]TimelineItem, error) {
	if _, ok := entityTables[entity]; !ok {
		return nil, crm.Invalid("entity", "%q is not a CRM entity", entity)
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	t := s.rq(ctx)
	if err := recordExists(t, entity, recordID, false); err != nil {
		return nil, err
	}
	if err := allowedID(t, entity, recordID); err != nil {
		return nil, err
	}
	var items []TimelineItem

	comments, err := scanComments(t, "SELECT "+commentColumns+" FROM comments WHERE entity = $1 AND record_id = $2 ORDER BY id DESC LIMIT $3",
		entity, recordID, limit)
	if err != nil {
		return nil, err
	}
	for i := range comments {
		items = append(items, TimelineItem{Kind: TimelineComment, At: comments[i].CreatedAt, Comment: &comments[i]})
	}

	acts, err := scanActivities(t, "SELECT "+activityColumns+` FROM activities WHERE owner_type = $1 AND owner_id = $2 AND deleted_at = 0
		ORDER BY CASE WHEN start_at <> 0 THEN start_at ELSE created_at END DESC, id DESC LIMIT $3`, entity, recordID, limit)
	if err != nil {
		return nil, err
	}
	if acts, err = withActivityExtra(t, acts); err != nil {
		return nil, err
	}
	for i := range acts {
		at := acts[i].CreatedAt
		if acts[i].StartAt != nil {
			at = *acts[i].StartAt
		}
		items = append(items, TimelineItem{Kind: TimelineActivity, At: at, Activity: &acts[i]})
	}

	// The record's newest events, read backwards through events_record.
	evs, err := events.Read(ctx, s.db.Reader(), events.Query{Entity: entity, RecordID: recordID, Newest: true,
		SkipAction: ActionComment, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("store: timeline of %s %d: %w", entity, recordID, err)
	}
	for i := range evs {
		items = append(items, TimelineItem{Kind: TimelineEvent, At: evs[i].CreatedAt, Event: &evs[i]})
	}

	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if !a.At.Equal(b.At) {
			return a.At.After(b.At)
		}
		if a.Kind != b.Kind {
			return a.Kind > b.Kind // event, comment, activity
		}
		return a.id() > b.id()
	})
	if len(items) > limit {
		items = items[:limit]
	}
	if items == nil {
		items = []TimelineItem{}
	}
	return items, nil
}

func (it TimelineItem) id() int64 {
	switch {
	case it.Comment != nil:
		return it.Comment.ID
	case it.Activity != nil:
		return it.Activity.ID
	case it.Event != nil:
		return it.Event.ID
	}
	return 0
}
