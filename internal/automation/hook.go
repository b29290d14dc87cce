package automation

import (
	"context"
	"database/sql"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
)

// RegisterHooks serves the webhook trigger: POST (or GET) /hooks/{token}.
func (s *Service) RegisterHooks(mux *http.ServeMux) {
	mux.HandleFunc("POST /hooks/{token}", s.serveHook)
	mux.HandleFunc("GET /hooks/{token}", s.serveHook)
	mux.HandleFunc("PUT /hooks/{token}", s.serveHook)
	// A connection's hook URL: what its remote system pushes.
	mux.HandleFunc("POST /hooks/c/{token}", s.serveConnectionHook)
	mux.HandleFunc("GET /hooks/c/{token}", s.serveConnectionHook)
	// Some remotes add their own path to the URL they are given (Mango
	// Office: {url}/events/call); only a PushReceiver takes one.
	mux.HandleFunc("POST /hooks/c/{token}/{path...}", s.serveConnectionHook)
}

// hookHeadersKept leaves out what is a credential or only transport.
var hookHeadersDropped = map[string]bool{"authorization": true, "cookie": true, "proxy-authorization": true, "connection": true}

// serveHook takes a request to a webhook bundle's secret URL: the body
// (JSON, a form or query parameters) becomes the trigger data of a run,
// answered 202 once the run is durably queued. A retry with the same
// Idempotency-Key header makes no second run.
func (s *Service) serveHook(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if ok, wait := s.ipLimiter.Allow(r.Context(), "ip:"+httpx.ClientIP(r)); !ok {
		httpx.TooManyRequests(w, wait)
		return
	}
	if len(token) < 16 || len(token) > 128 {
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "not_found", "", "no webhook at this address"))
		return
	}
	var id int64
	var version int
	var active bool
	var typ string
	err := s.db.Read.QueryRowContext(r.Context(), "SELECT id, version, active, trigger_type FROM automation_bundles WHERE hook_hash = $1",
		hashToken(token)).Scan(&id, &version, &active, &typ)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && typ != TriggerWebhook) {
		httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, "not_found", "", "no webhook at this address"))
		return
	}
	if err != nil {
		s.log.Error("automation: webhook lookup", "err", err)
		httpx.WriteError(w, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "try again later"))
		return
	}
	if ok, wait := s.hookLimiter.Allow(r.Context(), "bundle:"+strconv.FormatInt(id, 10)); !ok {
		httpx.TooManyRequests(w, wait)
		return
	}
	if !active {
		httpx.WriteError(w, httpx.Errorf(http.StatusConflict, "bundle_inactive", "", "the bundle of this webhook is switched off"))
		return
	}
	data, herr := s.hookData(r)
	if herr != nil {
		httpx.WriteError(w, herr)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		key = r.Header.Get("X-Request-Id")
	}
	if len(key) > 200 {
		httpx.WriteError(w, httpx.Errorf(http.StatusBadRequest, "bad_request", "Idempotency-Key", "longer than 200 characters"))
		return
	}
	if key == "" {
		key = randomKey()
	}
	runID, err := s.fireOne(r.Context(), id, version, TriggerWebhook, "hook:"+key, data, "")
	if err != nil {
		s.log.Error("automation: webhook", "bundle", id, "err", err)
		httpx.WriteError(w, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "the run could not be queued; try again"))
		return
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]any{"run_id": runID, "status": StatusQueued})
}

// hookData is a webhook request as trigger data.
func (s *Service) hookData(r *http.Request) (map[string]any, *httpx.Error) {
	body, herr := httpx.ReadBody(r, s.maxHookBody)
	if herr != nil {
		return nil, herr
	}
	query := map[string]any{}
	for k, vs := range r.URL.Query() {
		query[k] = formValue(vs)
	}
	headers := map[string]any{}
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if !hookHeadersDropped[lk] {
			headers[lk] = strings.Join(vs, ", ")
		}
	}
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var parsed any
	trimmed := strings.TrimSpace(string(body))
	switch {
	case trimmed == "":
		parsed = query
	case ctype == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, httpx.Errorf(http.StatusBadRequest, "invalid_form", "", "the form body does not parse: %v", err)
		}
		m := map[string]any{}
		for k, vs := range vals {
			m[k] = formValue(vs)
		}
		parsed = m
	case ctype == "application/json" || strings.HasSuffix(ctype, "+json") || trimmed[0] == '{' || trimmed[0] == '[':
		v, err := DecodeValue(body)
		if err != nil {
			if e := httpx.DecodeJSON(body, new(any)); e != nil {
				return nil, e
			}
			return nil, httpx.Errorf(http.StatusBadRequest, "invalid_json", "", "%v", err)
		}
		parsed = v
	default:
		parsed = string(body)
	}
	return map[string]any{"body": parsed, "query": query, "headers": headers, "method": r.Method, "content_type": ctype,
		"ip": httpx.ClientIP(r), "received_at": s.now().UTC().Format(time.RFC3339Nano)}, nil
}

// formValue is one value as a string, several as a list.
func formValue(vs []string) any {
	if len(vs) == 1 {
		return vs[0]
	}
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// fireOne makes one run of a bundle with trigger data, unique by key; it
// returns the run's id (the existing run's for a key seen before).
func (s *Service) fireOne(ctx context.Context, id int64, version int, typ, key string, data map[string]any, entity string) (int64, error) {
	c, err := s.compiledVersion(ctx, id, version)
	if err != nil {
		return 0, err
	}
	r := newRun{bundleID: id, version: version, status: StatusQueued, triggerType: typ, key: key, trigger: mustJSON(data), entity: entity}
	if rec, ok := data["record"].(map[string]any); ok {
		if rid, ok := rec["id"].(int64); ok {
			r.recordID = rid
		}
	}
	if c.OrderKey != nil {
		k, err := c.OrderKey.Render(map[string]any{"trigger": data})
		if err != nil {
			r.status, r.err = StatusError, "order_key: "+err.Error()
		} else {
			r.orderKey = textOf(k)
		}
	}
	var runID int64
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		ids, err := s.insertRuns(ctx, tx, []newRun{r})
		if err != nil {
			return err
		}
		runID = ids[0]
		if runID == 0 {
			return tx.QueryRowContext(ctx, "SELECT id FROM automation_runs WHERE bundle_id = $1 AND trigger_key = $2", id, key).Scan(&runID)
		}
		return nil
	})
	return runID, err
}

// RunManual starts a manual bundle on a record the user may see (the
// "Run" button of a card): trigger.record is that record, trigger.user
// who pressed it.
func (s *Service) RunManual(ctx context.Context, user crm.User, bundleID int64, entity string, recordID int64) (Run, error) {
	b, err := s.Get(ctx, bundleID)
	if err != nil {
		return Run{}, err
	}
	if b.Trigger.Type != TriggerManual {
		return Run{}, httpx.Errorf(http.StatusConflict, "not_manual", "trigger.type", "bundle %d starts on %s, not by hand", bundleID, b.Trigger.Type)
	}
	if !b.Active {
		return Run{}, httpx.Errorf(http.StatusConflict, "bundle_inactive", "active", "bundle %d is switched off", bundleID)
	}
	data := map[string]any{"entity": entity, "user": map[string]any{"id": user.ID, "login": user.Login,
		"name": strings.TrimSpace(user.FirstName + " " + user.LastName), "email": user.Email}}
	if b.Trigger.Entity != "" && entity != b.Trigger.Entity {
		return Run{}, httpx.Errorf(http.StatusUnprocessableEntity, "wrong_entity", "entity", "bundle %d runs on a %s, not a %s", bundleID, b.Trigger.Entity, entity)
	}
	if entity != "" {
		// Read in the user's scope: a manager runs bundles only on records
		// they may see.
		rec, err := s.records.Record(ctx, entity, recordID)
		if err != nil {
			return Run{}, err
		}
		data["record"] = rec
	}
	id, err := s.fireOne(ctx, bundleID, b.Version, TriggerManual, "manual:"+randomKey(), data, entity)
	if err != nil {
		return Run{}, err
	}
	return s.GetRun(ctx, id)
}
