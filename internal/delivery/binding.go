package delivery

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// Binding is an event handler registered through the Bitrix24-compatible
// event.bind: an outbound webhook of kind bitrix for one event, owned by
// the incoming webhook that made it (its integration), sent also the
// changes its owner makes, as Bitrix24 sends them. It is told from the
// webhooks admins make by its bound_auth_type, which admin-made webhooks
// lack (NULL).
//
// The admin API lists, disables and deletes bindings like any webhook.
type Binding struct {
	ID       int64
	Event    string // ONCRMLEADADD …
	Handler  string // URL
	AuthType int64  // user id; 0: the user who raised the event
}

// ErrAlreadyBound is returned by Bind for an event and handler its owner
// has bound already.
var ErrAlreadyBound = errors.New("delivery: handler already bound")

// MaxBindings is how many handlers one owner (an incoming webhook, as a
// Bitrix24 application) may bind. Every binding of an event is a POST per
// change, so without a cap one webhook multiplies each change into as
// many requests as it likes. 50 is well above what an application binds
// (one handler per event it follows; Obmen raises 22 events).
const MaxBindings = 50

// ErrTooManyBindings is returned by Bind when its owner has MaxBindings.
var ErrTooManyBindings = fmt.Errorf("delivery: at most %d handlers per application", MaxBindings)

// bindingName is the name of every binding in the admin API's list.
const bindingName = "event.bind"

// Bind stores a binding for owner, an incoming webhook of user userID
// (whose access the binding's deliveries then follow). Every binding of
// one owner carries the same application token, made on its first
// binding, as Bitrix24 sends one token per application. An owner has at
// most MaxBindings.
func (s *Service) Bind(ctx context.Context, owner string, userID int64, b Binding) (Binding, error) {
	w := Webhook{Kind: KindBitrix, Name: bindingName, URL: strings.TrimSpace(b.Handler),
		Events: []string{strings.ToUpper(strings.TrimSpace(b.Event))}, Integration: owner, IncludeEcho: true, Active: true,
		OwnerUserID: userID}
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT url, events, token FROM outbound_webhooks WHERE integration = $1 AND kind = $2 AND bound_auth_type IS NOT NULL`,
			owner, KindBitrix)
		if err != nil {
			return err
		}
		defer rows.Close()
		var sealed string
		n := 0
		for rows.Next() {
			var u, evs, tok string
			if err := rows.Scan(&u, &evs, &tok); err != nil {
				return err
			}
			if u == w.URL && evs == w.Events[0] {
				return ErrAlreadyBound
			}
			sealed = tok
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if n >= MaxBindings {
			return ErrTooManyBindings
		}
		if sealed != "" {
			if w.Token, err = s.box.Open(sealed); err != nil {
				return fmt.Errorf("open token: %w", err)
			}
		} else {
			w.Token = rand.Text()
			if sealed, err = s.seal(w.Token); err != nil {
				return err
			}
		}
		if err := w.validate(); err != nil {
			return err
		}
		now := s.now().Truncate(time.Microsecond).UnixMicro()
		return tx.QueryRowContext(ctx, `INSERT INTO outbound_webhooks (kind, name, url, events, token, integration, include_echo, active, disabled_reason, created_at, updated_at, bound_auth_type, owner_user_id, since_event)
			VALUES ($1, $2, $3, $4, $5, $6, TRUE, TRUE, '', $7, $7, $8, $9, `+logEnd+`) RETURNING id`,
			w.Kind, w.Name, w.URL, w.Events[0], sealed, owner, now, b.AuthType, userID).Scan(&b.ID)
	})
	if err != nil {
		if _, ok := crm.AsFieldError(err); ok || errors.Is(err, ErrAlreadyBound) || errors.Is(err, ErrTooManyBindings) {
			return Binding{}, err
		}
		return Binding{}, fmt.Errorf("delivery: bind %s: %w", w.Events[0], err)
	}
	b.Event, b.Handler = w.Events[0], w.URL
	s.busy()
	return b, nil
}

// Unbind removes owner's bindings of event to handler (of one auth_type
// when authType is not nil) with their deliveries, and says how many.
func (s *Service) Unbind(ctx context.Context, owner, event, handler string, authType *int64) (int, error) {
	q := "SELECT id FROM outbound_webhooks WHERE integration = $1 AND kind = $2 AND bound_auth_type IS NOT NULL AND events = $3 AND url = $4"
	args := []any{owner, KindBitrix, strings.ToUpper(strings.TrimSpace(event)), strings.TrimSpace(handler)}
	if authType != nil {
		q += " AND bound_auth_type = $5"
		args = append(args, *authType)
	}
	var n int
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		n, err = deleteBindings(ctx, tx, q, args...)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delivery: unbind %s: %w", event, err)
	}
	return n, nil
}

// Bindings lists owner's bindings by id.
func (s *Service) Bindings(ctx context.Context, owner string) ([]Binding, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT id, events, url, bound_auth_type FROM outbound_webhooks
		WHERE integration = $1 AND kind = $2 AND bound_auth_type IS NOT NULL ORDER BY id`, owner, KindBitrix)
	if err != nil {
		return nil, fmt.Errorf("delivery: list bindings: %w", err)
	}
	defer rows.Close()
	out := []Binding{}
	for rows.Next() {
		var b Binding
		if err := rows.Scan(&b.ID, &b.Event, &b.Handler, &b.AuthType); err != nil {
			return nil, fmt.Errorf("delivery: list bindings: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delivery: list bindings: %w", err)
	}
	return out, nil
}

// DeleteBindingsTx removes every binding of owner with its deliveries, in
// the caller's transaction: deleting an incoming webhook takes its
// handlers with it, as uninstalling a Bitrix24 application does.
func DeleteBindingsTx(ctx context.Context, tx *sql.Tx, owner string) error {
	_, err := deleteBindings(ctx, tx, "SELECT id FROM outbound_webhooks WHERE integration = $1 AND kind = $2 AND bound_auth_type IS NOT NULL",
		owner, KindBitrix)
	if err != nil {
		return fmt.Errorf("delivery: delete bindings of %s: %w", owner, err)
	}
	return nil
}

// ownerDisabled is the disabled_reason of the bindings whose incoming
// webhook is disabled; enabling it again re-enables only those (a binding
// disabled for another reason, a 410 Gone, stays disabled).
const ownerDisabled = "its incoming webhook is disabled"

// SetBindingsActiveTx follows the owner's incoming webhook being disabled
// or enabled again, in that change's transaction: its bindings stop, or
// start again, with it. Deliveries pending for a stopped binding end as
// failed, as for any disabled webhook.
func SetBindingsActiveTx(ctx context.Context, tx *sql.Tx, owner string, active bool, now time.Time) error {
	var err error
	if active {
		// Sent only the changes logged from now on, not those made while
		// they were off.
		_, err = tx.ExecContext(ctx, `UPDATE outbound_webhooks SET active = TRUE, disabled_reason = '', updated_at = $1, since_event = `+logEnd+`
			WHERE integration = $2 AND kind = $3 AND bound_auth_type IS NOT NULL AND active = FALSE AND disabled_reason = $4`,
			now.UnixMicro(), owner, KindBitrix, ownerDisabled)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE outbound_webhooks SET active = FALSE, disabled_reason = $4, updated_at = $1
			WHERE integration = $2 AND kind = $3 AND bound_auth_type IS NOT NULL AND active = TRUE`,
			now.UnixMicro(), owner, KindBitrix, ownerDisabled)
	}
	if err != nil {
		return fmt.Errorf("delivery: set bindings of %s active=%t: %w", owner, active, err)
	}
	return nil
}

// deleteBindings deletes the webhooks the query selects, with their
// deliveries and journal, and says how many.
func deleteBindings(ctx context.Context, tx *sql.Tx, q string, args ...any) (int, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, id := range ids {
		for _, del := range []string{
			"DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE webhook_id = $1)",
			"DELETE FROM deliveries WHERE webhook_id = $1",
			"DELETE FROM outbound_webhooks WHERE id = $1",
		} {
			if _, err := tx.ExecContext(ctx, del, id); err != nil {
				return 0, err
			}
		}
	}
	return len(ids), nil
}
