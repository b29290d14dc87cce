package automation

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
)

// HandleUser registers one endpoint for any signed-in user or API key:
// internal/api's, which authenticates, records the route for OpenAPI and
// maps returned errors (store.ErrNotFound → 404, *httpx.Error as it is).
type HandleUser func(mux *http.ServeMux, pattern, summary string, req, resp any,
	h func(w http.ResponseWriter, r *http.Request, user crm.User, actor crm.Actor) error)

// List envelopes.
type (
	BundleList struct {
		Items []Bundle `json:"items"`
	}
	ActionList struct {
		Items []Description `json:"items"`
	}
	TriggerList struct {
		Items []TriggerInfo `json:"items"`
	}
	// Export is the file export writes and import reads.
	Export struct {
		Obmen   string       `json:"obmen"`
		Bundles []Definition `json:"bundles"`
	}
	ManualRun struct {
		Entity   string `json:"entity"`
		RecordID int64  `json:"record_id"`
	}
	ImportResult struct {
		Items []Bundle `json:"items"`
	}
)

// ExportFormat names export files.
const ExportFormat = "bundles/1"

// RegisterAPI adds the bundle and run routes under /api/v1. Bundles and
// runs are for administrators; a manual run is for any user who may see
// the record.
func RegisterAPI(mux *http.ServeMux, handle HandleUser, s *Service, maxBody int64) {
	admin := func(pattern, summary string, req, resp any, h func(w http.ResponseWriter, r *http.Request, actor crm.Actor) error) {
		method, _, _ := strings.Cut(pattern, " ")
		handle(mux, pattern, summary+" (admin)", req, resp, func(w http.ResponseWriter, r *http.Request, u crm.User, a crm.Actor) error {
			if !authz.Can(u, authz.Automation, authz.ActionOf(method)) {
				return httpx.Errorf(http.StatusForbidden, "forbidden", "", "only administrators manage automation")
			}
			return apiError(h(w, r, a))
		})
	}
	readDef := func(r *http.Request) (Definition, error) {
		var d Definition
		if err := httpx.ReadJSON(r, maxBody, &d); err != nil {
			return d, err
		}
		return d, nil
	}
	admin("GET /api/v1/bundles", "Automation bundles", nil, BundleList{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		bs, err := s.List(r.Context())
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, BundleList{Items: bs})
		return nil
	})
	admin("POST /api/v1/bundles", "Create a bundle", Definition{}, Bundle{}, func(w http.ResponseWriter, r *http.Request, a crm.Actor) error {
		d, err := readDef(r)
		if err != nil {
			return err
		}
		b, err := s.Create(r.Context(), a, d)
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/api/v1/bundles/"+strconv.FormatInt(b.ID, 10))
		httpx.WriteJSON(w, http.StatusCreated, b)
		return nil
	})
	admin("POST /api/v1/bundles/validate", "Check a bundle without saving it", Definition{}, nil, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		d, err := readDef(r)
		if err != nil {
			return err
		}
		if err := s.Validate(d); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	admin("POST /api/v1/bundles/test", "Test a bundle not yet saved (writes disabled)", TestRequest{}, TestResult{}, func(w http.ResponseWriter, r *http.Request, a crm.Actor) error {
		var req TestRequest
		if err := httpx.ReadJSON(r, maxBody, &req); err != nil {
			return err
		}
		res, err := s.Test(r.Context(), a, 0, req)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, res)
		return nil
	})
	admin("GET /api/v1/bundles/export", "Export bundles (ids=1,2; all when absent), secrets left out", nil, Export{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		var ids []int64
		for _, p := range strings.FieldsFunc(r.URL.Query().Get("ids"), func(c rune) bool { return c == ',' || c == ' ' }) {
			id, err := strconv.ParseInt(p, 10, 64)
			if err != nil || id <= 0 {
				return httpx.Errorf(http.StatusBadRequest, "bad_request", "ids", "%q is not a bundle id", p)
			}
			ids = append(ids, id)
		}
		defs, err := s.Export(r.Context(), ids)
		if err != nil {
			return err
		}
		if defs == nil {
			defs = []Definition{}
		}
		w.Header().Set("Content-Disposition", `attachment; filename="obmen-bundles.json"`)
		httpx.WriteJSON(w, http.StatusOK, Export{Obmen: ExportFormat, Bundles: defs})
		return nil
	})
	admin("POST /api/v1/bundles/import", "Import bundles: an export file, a list of definitions or one definition; all or none", Export{}, ImportResult{},
		func(w http.ResponseWriter, r *http.Request, a crm.Actor) error {
			body, herr := httpx.ReadBody(r, maxBody)
			if herr != nil {
				return herr
			}
			defs, err := ParseImport(body)
			if err != nil {
				return err
			}
			bs, err := s.Import(r.Context(), a, defs)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusCreated, ImportResult{Items: bs})
			return nil
		})
	// GET /api/v1/bundles/templates, the templates to copy, is the
	// gallery's (internal/automation/gallery), which holds every template.
	admin("GET /api/v1/bundles/{id}", "A bundle", nil, Bundle{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		id, err := httpx.PathID(r, "id", "bundle")
		if err != nil {
			return err
		}
		b, err := s.Get(r.Context(), id)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, b)
		return nil
	})
	admin("PUT /api/v1/bundles/{id}", "Save a bundle's new version", Definition{}, Bundle{}, func(w http.ResponseWriter, r *http.Request, a crm.Actor) error {
		id, err := httpx.PathID(r, "id", "bundle")
		if err != nil {
			return err
		}
		d, err := readDef(r)
		if err != nil {
			return err
		}
		b, err := s.Update(r.Context(), a, id, d)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, b)
		return nil
	})
	admin("DELETE /api/v1/bundles/{id}", "Delete a bundle with its runs", nil, nil, func(w http.ResponseWriter, r *http.Request, a crm.Actor) error {
		id, err := httpx.PathID(r, "id", "bundle")
		if err != nil {
			return err
		}
		if err := s.Delete(r.Context(), a, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	for _, op := range []string{"activate", "deactivate", "copy", "webhook-url"} {
		summary := map[string]string{"activate": "Switch a bundle on", "deactivate": "Switch a bundle off",
			"copy": "Copy a bundle (the copy is off)", "webhook-url": "Give a webhook bundle a new secret URL"}[op]
		admin("POST /api/v1/bundles/{id}/"+op, summary, nil, Bundle{}, func(w http.ResponseWriter, r *http.Request, a crm.Actor) error {
			id, err := httpx.PathID(r, "id", "bundle")
			if err != nil {
				return err
			}
			var b Bundle
			status := http.StatusOK
			switch op {
			case "activate", "deactivate":
				b, err = s.SetActive(r.Context(), a, id, op == "activate")
			case "copy":
				b, err = s.Copy(r.Context(), a, id)
				status = http.StatusCreated
			default:
				b, err = s.RotateHook(r.Context(), a, id)
			}
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, status, b)
			return nil
		})
	}
	admin("GET /api/v1/bundles/{id}/versions/{version}", "One saved version of a bundle", nil, Definition{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		id, err := httpx.PathID(r, "id", "bundle")
		if err != nil {
			return err
		}
		v, err := httpx.PathID(r, "version", "version")
		if err != nil {
			return err
		}
		d, err := s.Version(r.Context(), id, int(v))
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, d)
		return nil
	})
	admin("POST /api/v1/bundles/{id}/test", "Test a bundle on a past event, a record or given data (writes disabled)", TestRequest{}, TestResult{},
		func(w http.ResponseWriter, r *http.Request, a crm.Actor) error {
			id, err := httpx.PathID(r, "id", "bundle")
			if err != nil {
				return err
			}
			var req TestRequest
			if err := httpx.ReadJSON(r, maxBody, &req); err != nil {
				return err
			}
			res, err := s.Test(r.Context(), a, id, req)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, res)
			return nil
		})
	admin("GET /api/v1/bundles/{id}/runs", "A bundle's runs, newest first (status=, before=, limit=)", nil, RunList{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		id, err := httpx.PathID(r, "id", "bundle")
		if err != nil {
			return err
		}
		q, err := runQuery(r)
		if err != nil {
			return err
		}
		q.BundleID = id
		if _, err := s.Get(r.Context(), id); err != nil {
			return err
		}
		list, err := s.ListRuns(r.Context(), q)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, list)
		return nil
	})
	admin("GET /api/v1/bundles/{id}/stats", "A bundle's runs counted by status", nil, RunStats{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		id, err := httpx.PathID(r, "id", "bundle")
		if err != nil {
			return err
		}
		if _, err := s.Get(r.Context(), id); err != nil {
			return err
		}
		st, err := s.Stats(r.Context(), id)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, st)
		return nil
	})
	handle(mux, "POST /api/v1/bundles/{id}/run", "Run a manual bundle on a record", ManualRun{}, Run{},
		func(w http.ResponseWriter, r *http.Request, u crm.User, _ crm.Actor) error {
			id, err := httpx.PathID(r, "id", "bundle")
			if err != nil {
				return err
			}
			var req ManualRun
			if err := httpx.ReadJSON(r, maxBody, &req); err != nil {
				return err
			}
			if (req.Entity == "") != (req.RecordID == 0) {
				return httpx.Errorf(http.StatusBadRequest, "bad_request", "record_id", "give entity and record_id together")
			}
			run, err := s.RunManual(r.Context(), u, id, req.Entity, req.RecordID)
			if err != nil {
				return apiError(err)
			}
			if !authz.Can(u, authz.Automation, authz.Read) {
				// The journal is for administrators.
				run = Run{ID: run.ID, BundleID: run.BundleID, Status: run.Status, CreatedAt: run.CreatedAt}
			}
			httpx.WriteJSON(w, http.StatusAccepted, run)
			return nil
		})
	admin("GET /api/v1/runs", "The journal of runs, newest first (bundle_id=, status=, entity=, record_id=, before=, limit=)", nil, RunList{},
		func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
			q, err := runQuery(r)
			if err != nil {
				return err
			}
			if v := r.URL.Query().Get("bundle_id"); v != "" {
				if q.BundleID, err = strconv.ParseInt(v, 10, 64); err != nil {
					return httpx.Errorf(http.StatusBadRequest, "bad_request", "bundle_id", "%q is not a number", v)
				}
			}
			list, err := s.ListRuns(r.Context(), q)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, list)
			return nil
		})
	admin("GET /api/v1/runs/{id}", "A run with its trigger data and steps", nil, Run{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		id, err := httpx.PathID(r, "id", "run")
		if err != nil {
			return err
		}
		run, err := s.GetRun(r.Context(), id)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, run)
		return nil
	})
	for _, op := range []string{"replay", "retry", "cancel"} {
		summary := map[string]string{"replay": "Run the same trigger data again with the bundle's current version",
			"retry": "Continue a failed run from its failed step", "cancel": "Cancel a run that is not over"}[op]
		admin("POST /api/v1/runs/{id}/"+op, summary, nil, Run{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
			id, err := httpx.PathID(r, "id", "run")
			if err != nil {
				return err
			}
			var run Run
			status := http.StatusOK
			switch op {
			case "replay":
				run, err = s.Replay(r.Context(), id)
				status = http.StatusAccepted
			case "retry":
				run, err = s.Retry(r.Context(), id)
				status = http.StatusAccepted
			default:
				run, err = s.Cancel(r.Context(), id)
			}
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, status, run)
			return nil
		})
	}
	admin("GET /api/v1/actions", "The actions bundles can use, described", nil, ActionList{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		httpx.WriteJSON(w, http.StatusOK, ActionList{Items: s.reg.Actions()})
		return nil
	})
	handle(mux, "POST /api/v1/actions/{name}",
		"Call an action directly with its input as the body: 200 with result OK or ERROR, 400 invalid_input for an input the action refuses (field), 404 unknown action; administrators and users (and their API keys) holding the \"actions\" permission; the action runs as the caller; Idempotency-Key replays the stored answer",
		map[string]any{}, CallResponse{}, func(w http.ResponseWriter, r *http.Request, u crm.User, a crm.Actor) error {
			if e := httpx.CheckJSONContentType(r); e != nil {
				return e
			}
			body, herr := httpx.ReadBody(r, maxBody)
			if herr != nil {
				return herr
			}
			ans, err := s.CallAction(r.Context(), CallRequest{User: u, Actor: a, Action: r.PathValue("name"), Body: body,
				IdemKey: r.Header.Get("Idempotency-Key")})
			if err != nil {
				return err
			}
			if ans.Replayed {
				w.Header().Set("Idempotent-Replayed", "true")
			}
			if ans.Status == http.StatusBadRequest {
				// An input the action refused: the API's error envelope,
				// naming the field; the action's output in details.
				return &httpx.Error{Status: http.StatusBadRequest, Code: "invalid_input", Field: ans.Response.Field,
					Message: ans.Response.Error, Details: ans.Response.Output}
			}
			httpx.WriteJSON(w, ans.Status, ans.Response)
			return nil
		})
	admin("GET /api/v1/actions/calls", "The journal of action calls, direct (source api) and bundle steps (source bundle), newest first (action=, result=OK|ERROR, source=, before=, limit=)", nil, CallList{},
		func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
			q := r.URL.Query()
			cq := CallQuery{Action: q.Get("action"), Result: q.Get("result"), Source: q.Get("source"), Before: q.Get("before")}
			if v := q.Get("limit"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n <= 0 {
					return httpx.Errorf(http.StatusBadRequest, "bad_request", "limit", "%q is not a positive number", v)
				}
				cq.Limit = n
			}
			list, err := s.ListCalls(r.Context(), cq)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, list)
			return nil
		})
	admin("GET /api/v1/triggers", "The triggers bundles can start on, described", nil, TriggerList{}, func(w http.ResponseWriter, r *http.Request, _ crm.Actor) error {
		httpx.WriteJSON(w, http.StatusOK, TriggerList{Items: s.reg.Triggers()})
		return nil
	})
}

// apiError turns a refused definition into the API's envelope: the first
// problem as the message, every problem in details.
func apiError(err error) error {
	var inv *InvalidError
	if errors.As(err, &inv) && len(inv.Problems) > 0 {
		p := inv.Problems[0]
		field := p.Field
		if p.Step != "" {
			field = "steps[" + p.Step + "]." + p.Field
		}
		e := httpx.Errorf(http.StatusUnprocessableEntity, "invalid_bundle", field, "%s", p.Message)
		if p.Step != "" {
			e.Message = "step " + strconv.Quote(p.Step) + ": " + p.Field + ": " + p.Message
		}
		e.Details = inv.Problems
		return e
	}
	return err
}

func runQuery(r *http.Request) (RunQuery, error) {
	q := r.URL.Query()
	out := RunQuery{Status: q.Get("status"), Entity: q.Get("entity")}
	switch out.Status {
	case "", StatusQueued, StatusRunning, StatusWaiting, StatusOK, StatusError, StatusFiltered, StatusCancelled:
	default:
		return out, httpx.Errorf(http.StatusBadRequest, "bad_request", "status", "%q is not a run status", out.Status)
	}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"record_id", &out.RecordID}, {"before", &out.Before}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return out, httpx.Errorf(http.StatusBadRequest, "bad_request", p.name, "%q is not a number", v)
			}
			*p.dst = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return out, httpx.Errorf(http.StatusBadRequest, "bad_request", "limit", "%q is not a number from 1 to 500", v)
		}
		out.Limit = n
	}
	return out, nil
}

// ParseImport reads what import takes: an export file, a list of
// definitions or one definition (the API and the web UI's upload).
func ParseImport(body []byte) ([]Definition, error) {
	trimmed := strings.TrimSpace(string(body))
	if strings.HasPrefix(trimmed, "[") {
		var defs []Definition
		if e := httpx.DecodeJSON(body, &defs); e != nil {
			return nil, e
		}
		return defs, nil
	}
	var probe map[string]json.RawMessage
	if e := httpx.DecodeJSON(body, &probe); e != nil {
		return nil, e
	}
	if _, ok := probe["bundles"]; ok {
		var ex Export
		if e := httpx.DecodeJSON(body, &ex); e != nil {
			return nil, e
		}
		return ex.Bundles, nil
	}
	var d Definition
	if e := httpx.DecodeJSON(body, &d); e != nil {
		return nil, e
	}
	return []Definition{d}, nil
}
