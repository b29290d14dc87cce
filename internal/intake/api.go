package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/intake/order"
	"github.com/obmen/obmen/internal/store"
)

// UserHandler registers an endpoint for any authenticated caller
// (api.API.HandleUser).
type UserHandler func(mux *http.ServeMux, pattern, summary string, req, resp any, h func(w http.ResponseWriter, r *http.Request, user crm.User, actor crm.Actor) error)

// AdminHandler registers an endpoint whose access is authz's rule for
// intake (api.API.HandleFor(authz.Intake)): administrators.
type AdminHandler func(mux *http.ServeMux, pattern, summary string, req, resp any, h func(w http.ResponseWriter, r *http.Request) error)

// OrderResponse answers POST /api/v1/intake/orders.
type OrderResponse struct {
	Result
	Lead crm.Lead `json:"lead"`
}

// RegisterAPI adds POST /api/v1/intake/orders and GET
// /api/v1/intake/journal.
func RegisterAPI(mux *http.ServeMux, user UserHandler, admin AdminHandler, s *Service, maxBody int64) {
	if maxBody <= 0 {
		maxBody = order.MaxSize
	}
	user(mux, "POST /api/v1/intake/orders", "Take a site's order/lead (seed-004 JSON, UTF-8 or windows-1251) as a lead with its account, contact link and calendar activity; honours Idempotency-Key",
		nil, OrderResponse{}, func(w http.ResponseWriter, r *http.Request, u crm.User, actor crm.Actor) error {
			return s.postOrder(w, r, u, actor, maxBody)
		})
	admin(mux, "GET /api/v1/intake/journal", "Read the intake journal: every form submit, HTTP post and mail message with its outcome", nil, []Entry{},
		func(w http.ResponseWriter, r *http.Request) error {
			q := JournalQuery{Source: r.URL.Query().Get("source"), Outcome: r.URL.Query().Get("outcome")}
			for name, dst := range map[string]*int64{"source_id": &q.SourceID, "before": &q.Before} {
				if v := r.URL.Query().Get(name); v != "" {
					n, err := strconv.ParseInt(v, 10, 64)
					if err != nil {
						return httpx.Errorf(http.StatusBadRequest, "bad_request", name, "%q is not a number", v)
					}
					*dst = n
				}
			}
			if v := r.URL.Query().Get("limit"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 500 {
					return httpx.Errorf(http.StatusBadRequest, "bad_request", "limit", "must be 1 to 500")
				}
				q.Limit = n
			}
			es, err := s.ListJournal(r.Context(), q)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": es})
			return nil
		})
}

// postOrder reads the body in its charset, refuses a bad file with the
// field at fault (journaled), replays a known Idempotency-Key, and
// otherwise creates the lead and answers once it is committed.
func (s *Service) postOrder(w http.ResponseWriter, r *http.Request, u crm.User, actor crm.Actor, maxBody int64) error {
	body, he := httpx.ReadBody(r, maxBody)
	if he != nil {
		return he
	}
	charset := ""
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if _, params, err := mime.ParseMediaType(ct); err == nil {
			charset = params["charset"]
		}
	}
	src := Source{Kind: SourceHTTP, UserID: u.ID, Actor: actor, Ref: "user:" + strconv.FormatInt(u.ID, 10)}
	if v := r.URL.Query().Get("assigned_by_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return httpx.Errorf(http.StatusBadRequest, "bad_request", "assigned_by_id", "%q is not a user id", v)
		}
		src.UserID, src.Fixed = id, true
		// Checked before anything is written: a manager may put a lead on
		// a user whose records they may change, no one else.
		if sc := store.ScopeOf(r.Context()); sc != nil && !sc.Edits(id) {
			err := httpx.Errorf(http.StatusForbidden, "forbidden", "assigned_by_id", "you may not assign records to user %d", id)
			_ = s.Fail(r.Context(), src, err)
			return err
		}
	}
	key := r.Header.Get("Idempotency-Key")
	var idem store.Idempotency
	if key != "" {
		if len(key) > 255 {
			return httpx.Errorf(http.StatusBadRequest, "bad_request", "Idempotency-Key", "must have 1 to 255 characters")
		}
		h := sha256.New()
		h.Write([]byte(r.Method + " " + r.URL.Path + "?" + r.URL.RawQuery + "\n"))
		h.Write(body)
		idem = store.Idempotency{UserID: u.ID, Key: key, Method: r.Method, Path: r.URL.Path, RequestHash: hex.EncodeToString(h.Sum(nil))}
		src.Ref = "Idempotency-Key: " + key
		if done, err := s.replay(w, r, idem); done || err != nil {
			return err
		}
	}
	o, err := order.Parse(body, charset, order.Options{})
	if err != nil {
		return faultHTTP(s.Fail(r.Context(), src, err))
	}
	var hook Hook
	if key != "" {
		hook = func(t *store.Tx, res *Result) error {
			return t.RememberIdempotentResult(idem, res.Entity, res.RecordID, res)
		}
	}
	res, err := s.CreateLead(r.Context(), src, o, hook)
	if key != "" && errors.Is(err, store.ErrConflict) {
		// A request with the same key committed first.
		if done, err := s.replay(w, r, idem); done || err != nil {
			return err
		}
	}
	if err != nil {
		return faultHTTP(err)
	}
	l, err := s.store.GetLead(r.Context(), res.LeadID)
	if err != nil {
		return err
	}
	out, err := json.Marshal(OrderResponse{Result: res, Lead: l})
	if err != nil {
		return fmt.Errorf("intake: encode the answer: %w", err)
	}
	if key != "" {
		// A retry answers these very bytes; if this write is lost, it
		// rebuilds the answer from the result kept with the lead.
		if err := s.store.SaveIdempotentBody(r.Context(), idem.UserID, idem.Key, out); err != nil {
			s.log.Warn("intake: keep the answer for Idempotency-Key", "key", key, "err", err)
		}
	}
	writeOrder(w, http.StatusCreated, res.LeadID, out)
	return nil
}

func writeOrder(w http.ResponseWriter, status int, leadID int64, body []byte) {
	w.Header().Set("Location", "/api/v1/leads/"+strconv.FormatInt(leadID, 10))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\n"))
}

func (s *Service) replay(w http.ResponseWriter, r *http.Request, idem store.Idempotency) (bool, error) {
	prev, err := s.store.LookupIdempotency(r.Context(), idem.UserID, idem.Key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	if prev.RequestHash != idem.RequestHash {
		return true, httpx.Errorf(http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key", "this key was used with a different request")
	}
	w.Header().Set("Idempotent-Replayed", "true")
	if len(prev.Body) > 0 {
		writeOrder(w, prev.Status, prev.ID, prev.Body)
		return true, nil
	}
	l, err := s.store.GetLead(store.Unscoped(r.Context()), prev.ID)
	if err != nil {
		return true, err
	}
	res := Result{Entity: prev.Entity, RecordID: prev.ID, LeadID: prev.ID, AccountID: l.AccountID, ContactID: l.ContactID}
	if len(prev.Result) > 0 {
		if err := json.Unmarshal(prev.Result, &res); err != nil {
			return true, fmt.Errorf("intake: replay of Idempotency-Key %q: %w", idem.Key, err)
		}
	}
	body, err := json.Marshal(OrderResponse{Result: res, Lead: l})
	if err != nil {
		return true, err
	}
	writeOrder(w, prev.Status, prev.ID, body)
	return true, nil
}

// faultHTTP turns a content fault into a 422 naming the field.
func faultHTTP(err error) error {
	if f, ok := AsFault(err); ok {
		msg := f.Message
		if f.Line > 0 {
			msg = "line " + strconv.Itoa(f.Line) + ": " + msg
		}
		return &httpx.Error{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Field: f.Field, Message: msg}
	}
	if errors.Is(err, context.Canceled) {
		return httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "request cancelled")
	}
	return err
}
