package exchange

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/store"
)

// Who may exchange (issue 25): 1C signs in with a user's login and one of
// the user's API keys, and the exchange then runs as that user.
//   - type=sale needs the "1C exchange" permission (store.PermExchange1C):
//     mode=query sends only the orders the user may see, an uploaded
//     orders file changes only the orders the user may change.
//   - type=catalog also needs the "1C catalog" permission
//     (store.PermCatalog1C): the catalog is shared by everyone.
//
// Administrators hold both. The recommended setup is a user of its own
// for 1C, granted the permission and access to every record.
//
// The refusals are 1C's failure reason, shown in its exchange log to
// whoever set 1C up: in Russian, naming what to ask the administrator
// (messages/ru.json; en.json for the day 1C is set up in English).

//go:embed messages/*.json
var messageFiles embed.FS

var messages = func() *i18n.Catalog {
	c := i18n.New()
	if err := c.Add(messageFiles, "messages"); err != nil {
		panic(err) // embedded; TestRefusalMessages reads them
	}
	return c
}()

// errRefused marks a refusal of the user's permission or access.
var errRefused = errors.New(messages.T(i18n.Ru, "exchange.refused"))

// refusal is a refusal worded for 1C's log: message key with its
// arguments, marked errRefused.
func refusal(key string, args ...any) error {
	return fmt.Errorf("%w: %s", errRefused, fmt.Sprintf(messages.T(i18n.Ru, key), args...))
}

// permitted reports whether u may exchange type typ.
func (s *Service) permitted(ctx context.Context, u crm.User, typ string) error {
	if !u.Active {
		return refusal("exchange.user_disabled", u.Login)
	}
	ok, err := s.store.HasPermission(ctx, u, store.PermExchange1C)
	if err != nil {
		return err
	}
	if !ok {
		return refusal("exchange.no_exchange_permission", u.Login)
	}
	if typ != "catalog" {
		return nil
	}
	ok, err = s.store.HasPermission(ctx, u, store.PermCatalog1C)
	if err != nil {
		return err
	}
	if !ok {
		return refusal("exchange.no_catalog_permission", u.Login)
	}
	return nil
}

// authorize checks, at every call of a session, that its user is still
// active and permitted and its key not revoked, and returns ctx limited
// to the records the user may see and change.
func (s *Service) authorize(ctx context.Context, sess *session, typ string) (context.Context, error) {
	u, err := s.store.GetUser(store.Unscoped(ctx), sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return ctx, refusal("exchange.session_user_deleted")
	}
	if err != nil {
		return ctx, err
	}
	sess.User = u
	if sess.KeyID != 0 {
		ok, err := s.store.APIKeyActive(ctx, sess.KeyID)
		if err != nil {
			return ctx, err
		}
		if !ok {
			return ctx, refusal("exchange.session_key_revoked")
		}
	}
	if err := s.permitted(ctx, u, typ); err != nil {
		return ctx, err
	}
	return s.store.ScopeFor(ctx, u)
}
