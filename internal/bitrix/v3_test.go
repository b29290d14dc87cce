package bitrix_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestRESTv3Address: /rest/api/{user}/{code}/{method} authenticates the
// webhook and answers REST 3.0's ERROR_METHOD_NOT_FOUND (Obmen serves no
// REST 3.0 method), not INVALID_CREDENTIALS; a wrong code still is.
func TestRESTv3Address(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		e = e.with(t)
		v3 := strings.Replace(e.base, "/rest/", "/rest/api/", 1)
		for _, tc := range []struct {
			url, code string
			status    int
			msgPart   string
		}{
			{v3 + "crm.deal.list", "ERROR_METHOD_NOT_FOUND", http.StatusNotFound, "at /rest/{user_id}/{code}/"},
			{v3 + "tasks.task.get", "ERROR_METHOD_NOT_FOUND", http.StatusNotFound, "Method not found!"},
			{fmt.Sprintf("%s/rest/api/%d/wrongcode/crm.deal.list", e.srv.URL, e.admin.UserID), "INVALID_CREDENTIALS", http.StatusUnauthorized, "Invalid"},
			{e.srv.URL + "/rest/api/crm.deal.list", "NO_AUTH_FOUND", http.StatusUnauthorized, ""},
		} {
			req, err := http.NewRequest(http.MethodPost, tc.url, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			a := e.do(req)
			code, _ := a.Doc.Lookup("error", "code")
			msg, _ := a.Doc.Lookup("error", "message")
			if a.Status != tc.status || code != tc.code || !strings.Contains(msg.(string), tc.msgPart) {
				t.Errorf("%s: %d %s, want %d %s with %q", tc.url, a.Status, a.Body, tc.status, tc.code, tc.msgPart)
			}
			if _, has := a.Doc.Get("result"); has {
				t.Errorf("%s: an error answer has no result: %s", tc.url, a.Body)
			}
		}
	})
}
