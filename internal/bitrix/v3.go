package bitrix

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// REST 3.0 (b24restdocs api-reference/rest-v3.md) is called at
// /rest/api/{user_id}/{code}/{method}. It serves only the methods Bitrix24
// has moved to it (tasks, knowledge base, mail, humanresources.*, event
// log …), none of which Obmen has; the CRM methods Obmen serves live at
// the old address only, as in Bitrix24. So a webhook's call there is
// authenticated like any other and answered ERROR_METHOD_NOT_FOUND (404)
// in REST 3.0's error form, {"error":{"code","message"}}, which tells a
// client to use /rest/{user_id}/{code}/ — not 401 INVALID_CREDENTIALS,
// which blamed a good webhook.
func (h *Handler) serveV3(w http.ResponseWriter, r *http.Request, parts []string) {
	fail := func(e *Error) {
		writeAnswer(w, e.Status, NewArray().Set("error", NewArray().Set("code", e.Code).Set("message", e.Description)))
	}
	if len(parts) < 3 {
		// /rest/api/{method}: an application's call, without its token.
		fail(errNoAuth)
		return
	}
	userID, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || userID <= 0 || len(parts[1]) == 0 || len(parts[1]) > 64 {
		fail(errInvalidCredentials)
		return
	}
	hook, _, err := h.hooks.Authenticate(r.Context(), userID, parts[1])
	if errors.Is(err, ErrInvalidCredentials) {
		h.log.Warn("bitrix: rejected webhook", "remote", r.RemoteAddr, "user_id", userID, "api", "v3")
		fail(errInvalidCredentials)
		return
	}
	if err != nil {
		h.log.Error("bitrix: check webhook", "err", err)
		fail(errInternal)
		return
	}
	if !h.limit.allow(hook.ID, h.now()) {
		fail(errQueryLimit)
		return
	}
	h.touch(hook)
	name := methodName(strings.Join(parts[2:], "/"))
	msg := "Method not found! REST 3.0 methods are not served; call " + name + " at /rest/{user_id}/{code}/"
	if _, ok := h.methods[name]; !ok {
		msg = "Method not found!"
	}
	fail(&Error{Status: http.StatusNotFound, Code: "ERROR_METHOD_NOT_FOUND", Description: msg})
}
