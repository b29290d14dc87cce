package action

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/store"
)

// idemMethod is the method under which the store keeps the keys of
// automation steps, apart from the REST API's.
const idemMethod = "AUTOMATION"

// idempotencyOf is the step's key for a create made by action with input.
func idempotencyOf(c *automation.Call, action string, input any) store.Idempotency {
	return store.Idempotency{UserID: c.Actor.UserID, Key: c.Key(), Method: idemMethod, Path: action, RequestHash: hashInput(input)}
}

// hashInput identifies an input: its JSON, whose object keys
// encoding/json writes sorted.
func hashInput(input any) string {
	b, _ := json.Marshal(input)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// replay finds what an earlier attempt of the step created under its key
// (ok false: nothing yet). A retried step gets the first attempt's
// record even when its input renders differently now (a template naming
// the time): the step happened once, and that is its result.
func replay[T any](ctx context.Context, c *automation.Call, s *store.Store, idem store.Idempotency, entity string,
	get func(context.Context, int64) (T, error)) (T, bool, error) {
	var zero T
	prev, err := s.LookupIdempotency(ctx, idem.UserID, idem.Key)
	if errors.Is(err, store.ErrNotFound) {
		return zero, false, nil
	}
	if err != nil {
		return zero, false, fail(err)
	}
	if prev.Entity != entity {
		return zero, false, fmt.Errorf("action: the step's key %q already made %s %d, not a %s", idem.Key, entityWords(prev.Entity), prev.ID, entityWords(entity))
	}
	if prev.RequestHash != idem.RequestHash {
		logger(c).Warn("automation: a retried step's input differs from its first attempt's; it returns what the first made",
			"key", idem.Key, "entity", entity, "id", prev.ID)
	}
	v, err := get(ctx, prev.ID)
	if err != nil {
		return zero, false, failOn(err, entity, prev.ID)
	}
	return v, true, nil
}

// createOnce runs create under the step's key, so that it is made once
// whatever the number of attempts; a concurrent attempt that committed
// first is answered with its record.
func createOnce[T any](ctx context.Context, c *automation.Call, s *store.Store, idem store.Idempotency, entity string,
	get func(context.Context, int64) (T, error), create func(context.Context) (T, error)) (T, error) {
	v, err := create(store.WithIdempotency(ctx, idem))
	if errors.Is(err, store.ErrConflict) {
		if made, ok, rerr := replay(ctx, c, s, idem, entity, get); ok || rerr != nil {
			return made, rerr
		}
	}
	if err != nil {
		return v, fail(err)
	}
	return v, nil
}
