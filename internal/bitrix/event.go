package bitrix

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/delivery"
)

// The errors of event.bind (b24restdocs api-reference/events/event-bind.md);
// Bitrix24 reports a duplicate binding and a missing argument as ERROR_CORE.
var (
	errEventNotFound = &Error{Status: http.StatusBadRequest, Code: "ERROR_EVENT_NOT_FOUND", Description: "Event not found"}
	errAlreadyBound  = &Error{Status: http.StatusBadRequest, Code: "ERROR_CORE", Description: "Handler already binded"}
	// errTooManyBindings is the answer past delivery.MaxBindings handlers
	// (or as many offline bindings) of one webhook. b24restdocs documents
	// no number and no code for Bitrix24's own cap; the refusal comes as
	// its other event.bind refusals do, ERROR_CORE with HTTP 400.
	errTooManyBindings = &Error{Status: http.StatusBadRequest, Code: "ERROR_CORE",
		Description: "Handlers limit exceeded: an application binds at most " + strconv.Itoa(delivery.MaxBindings) + " handlers"}
)

func errArgumentNull(name string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "ERROR_CORE", Description: "Argument '" + name + "' is null or empty"}
}

// bindingOwner is whose bindings a call sees: its webhook's, the same
// integration its writes are made as.
func bindingOwner(c *call) string { return c.hook.Actor().Integration }

// eventArgs reads the event and handler parameters; event must be one
// Obmen raises.
func eventArgs(c *call) (event, handler string, err error) {
	event, err = c.paramText("event")
	if err != nil {
		return "", "", err
	}
	event = strings.ToUpper(strings.TrimSpace(event))
	if event == "" {
		return "", "", errArgumentNull("EVENT")
	}
	handler, err = c.paramText("handler")
	if err != nil {
		return "", "", err
	}
	handler = strings.TrimSpace(handler)
	if handler == "" {
		return "", "", errArgumentNull("HANDLER")
	}
	return event, handler, nil
}

// authTypeArg reads auth_type: absent (nil), or a user id, 0 for "the user
// who raised the event".
func authTypeArg(c *call) (*int64, error) {
	s, err := c.paramText("auth_type")
	if err != nil {
		return nil, err
	}
	if _, given := c.param("auth_type"); !given {
		return nil, nil
	}
	if s == "" {
		var zero int64
		return &zero, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return nil, crmError("Field auth_type: must be a user id")
	}
	return &n, nil
}

// eventBind is "event.bind": deliveries of event to handler, in Bitrix24's
// outbound form, through internal/delivery (its retries, journal and SSRF
// guard). With event_type=offline it is offlineBind: changes are queued
// for event.offline.* instead.
func (h *Handler) eventBind(ctx context.Context, c *call) (reply, error) {
	if isOffline(c) {
		return h.offlineBind(ctx, c)
	}
	event, handler, err := eventArgs(c)
	if err != nil {
		return reply{}, err
	}
	if !slices.Contains(delivery.BitrixEventNames(), event) {
		return reply{}, errEventNotFound
	}
	if t, _ := c.paramText("event_type"); t != "" && !strings.EqualFold(t, "online") {
		return reply{}, crmError("Field event_type: %q is not one of online, offline", t)
	}
	at, err := authTypeArg(c)
	if err != nil {
		return reply{}, err
	}
	b := delivery.Binding{Event: event, Handler: handler}
	if at != nil {
		b.AuthType = *at
	}
	// As in Bitrix24, a user who is not an administrator may bind only
	// for themselves.
	if b.AuthType != 0 && b.AuthType != c.user.ID && c.user.Role != crm.RoleAdmin {
		return reply{}, &Error{Status: http.StatusForbidden, Code: "ACCESS_DENIED", Description: "Access denied"}
	}
	// The binding is the webhook user's: its deliveries carry only the
	// changes that user may see, and stop while the user is disabled.
	_, err = h.delivery.Bind(ctx, bindingOwner(c), c.hook.UserID, b)
	if errors.Is(err, delivery.ErrAlreadyBound) {
		return reply{}, errAlreadyBound
	}
	if errors.Is(err, delivery.ErrTooManyBindings) {
		return reply{}, errTooManyBindings
	}
	if fe, ok := crm.AsFieldError(err); ok {
		return reply{}, crmError("Field HANDLER: %s", fe.Message)
	}
	if err != nil {
		return reply{}, err
	}
	return reply{result: true}, nil
}

// eventUnbind is "event.unbind": {"count": N} bindings removed.
func (h *Handler) eventUnbind(ctx context.Context, c *call) (reply, error) {
	if isOffline(c) {
		return h.offlineUnbind(ctx, c)
	}
	event, handler, err := eventArgs(c)
	if err != nil {
		return reply{}, err
	}
	at, err := authTypeArg(c)
	if err != nil {
		return reply{}, err
	}
	n, err := h.delivery.Unbind(ctx, bindingOwner(c), event, handler, at)
	if err != nil {
		return reply{}, err
	}
	return reply{result: NewArray().Set("count", n)}, nil
}

// eventGet is "event.get": the webhook's bindings, auth_type as text and
// offline as a number, as Bitrix24 answers them.
func (h *Handler) eventGet(ctx context.Context, c *call) (reply, error) {
	bs, err := h.delivery.Bindings(ctx, bindingOwner(c))
	if err != nil {
		return reply{}, err
	}
	out := List()
	for _, b := range bs {
		out.Append(NewArray().
			Set("event", b.Event).
			Set("handler", b.Handler).
			Set("auth_type", strconv.FormatInt(b.AuthType, 10)).
			Set("offline", 0))
	}
	off, err := h.offlineBindings(ctx, bindingOwner(c))
	if err != nil {
		return reply{}, err
	}
	for _, a := range off {
		out.Append(a)
	}
	return reply{result: out}, nil
}
