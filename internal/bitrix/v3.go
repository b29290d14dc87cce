package bitrix

import (
	"net/http"
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
	if _, _, e := h.authenticate(r, parts[0], parts[1], "v3"); e != nil {
		fail(e)
		return
	}
	name := methodName(strings.Join(parts[2:], "/"))
	msg := "Method not found! REST 3.0 methods are not served; call " + name + " at /rest/{user_id}/{code}/"
	if _, ok := h.methods[name]; !ok {
		msg = "Method not found!"
	}
	fail(&Error{Status: http.StatusNotFound, Code: "ERROR_METHOD_NOT_FOUND", Description: msg})
}
