package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dedup"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// resource is a CRM entity served as a REST collection: list, create, get,
// patch, delete (into the recycle bin), restore, timeline and comments.
type resource[T any] struct {
	path     string // URL segment: "leads"
	entity   string // store entity name: "lead"
	readOnly []string
	get      func(ctx context.Context, id int64) (T, error)
	list     func(ctx context.Context, p store.ListParams) ([]T, string, error)
	create   func(ctx context.Context, a crm.Actor, v T) (T, error)
	update   func(ctx context.Context, a crm.Actor, id int64, mutate func(*T) error) (T, error)
	// defaults, when set, gives a new record's values for fields a create
	// leaves out (a product is active unless it says otherwise).
	defaults func() T
	// probe, when set, reads a new record's keys for the entity's
	// duplicate rule (internal/dedup).
	probe func(*T) dedup.Probe
}

// shown is a record as an answer shows it: with photo_url when its kind
// has photos (crm.PhotoOwnerTypes) and it has one.
func shown[T any](a *API, ctx context.Context, entity string, vs ...T) ([]any, error) {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	if !slices.Contains(crm.PhotoOwnerTypes, entity) || len(vs) == 0 {
		return out, nil
	}
	ids := make([]int64, len(vs))
	for i := range vs {
		ids[i] = idOf(&vs[i])
	}
	// The photo route under the server's public address, the picture's
	// hash as a version: a client may cache it for good.
	urls, err := a.store.PhotoURLs(ctx, a.baseURL, entity, ids)
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		if u := urls[id]; u != "" {
			out[i] = withPhotoURL{v: vs[i], url: u}
		}
	}
	return out, nil
}

// writeShown answers status with one record as shown.
func writeShown[T any](a *API, ctx context.Context, w http.ResponseWriter, status int, entity string, v T) error {
	out, err := shown(a, ctx, entity, v)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, status, out[0])
	return nil
}

// ListResponse is the body of a list.
type ListResponse[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

var listReserved = map[string]bool{"q": true, "phone": true, "email": true, "inn": true, "sort": true, "cursor": true, "limit": true, "deleted": true}

var filterOps = map[string]bool{"eq": true, "ne": true, "gt": true, "gte": true, "lt": true, "lte": true, "in": true, "like": true}

// parseList reads the list parameters of a query string.
func parseList(r *http.Request) (store.ListParams, error) {
	q := r.URL.Query()
	p := store.ListParams{Q: q.Get("q"), Phone: q.Get("phone"), Email: q.Get("email"), INN: q.Get("inn"), Sort: q.Get("sort"), Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, httpx.Errorf(http.StatusBadRequest, "bad_request", "limit", "%q is not a positive number", v)
		}
		p.Limit = n
	}
	if v := q.Get("deleted"); v != "" {
		p.Deleted = v == "true" || v == "1"
	}
	for key, vals := range q {
		if listReserved[key] {
			continue
		}
		field, op := key, "eq"
		if i := strings.LastIndexByte(key, '.'); i > 0 && filterOps[key[i+1:]] {
			field, op = key[:i], key[i+1:]
		}
		for _, v := range vals {
			p.Filters = append(p.Filters, store.Filter{Field: field, Op: op, Value: v})
		}
	}
	return p, nil
}

// requestHash identifies a request for Idempotency-Key reuse checks.
func requestHash(method, path string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method + " " + path + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

var idemKeyOK = func(k string) bool { return len(k) >= 1 && len(k) <= 255 }

// register adds the routes of a resource.
func register[T any](a *API, mux *http.ServeMux, res resource[T]) {
	base := "/api/v1/" + res.path
	readOnly := map[string]bool{}
	for k := range crm.ReadOnlyFields {
		readOnly[k] = true
	}
	for _, k := range res.readOnly {
		readOnly[k] = true
	}
	hasPhoto := slices.Contains(crm.PhotoOwnerTypes, res.entity)
	if hasPhoto {
		readOnly["photo_url"] = true // the photo is set at …/{id}/photo
	}
	// The keys as they appear in a body without escapes: one that has
	// none of them (the usual one) is not decoded once more for its keys.
	var quoted [][]byte
	for k := range readOnly {
		quoted = append(quoted, []byte(`"`+k+`"`))
	}
	checkReadOnly := func(body []byte) error {
		if !bytes.Contains(body, []byte{'\\'}) && !slices.ContainsFunc(quoted, func(q []byte) bool { return bytes.Contains(body, q) }) {
			return nil
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil // DecodeJSON reports it precisely
		}
		for k := range m {
			if readOnly[k] {
				return httpx.Errorf(http.StatusBadRequest, "read_only_field", k, "%s is set by the server and cannot be written", k)
			}
		}
		return nil
	}

	a.handle(mux, "GET "+base, "List "+res.path, nil, ListResponse[T]{}, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		lp, err := parseList(r)
		if err != nil {
			return err
		}
		// The list's read also reads its records' photos (PostgreSQL):
		// shown then asks nothing more.
		ctx := store.WithPhotoMemo(r.Context())
		items, next, err := res.list(ctx, lp)
		if err != nil {
			return err
		}
		if hasPhoto {
			out, err := shown(a, ctx, res.entity, items...)
			if err != nil {
				return err
			}
			httpx.WriteJSON(w, http.StatusOK, ListResponse[any]{Items: out, NextCursor: next})
			return nil
		}
		httpx.WriteJSON(w, http.StatusOK, ListResponse[T]{Items: items, NextCursor: next})
		return nil
	})

	var zero T
	a.handle(mux, "POST "+base, "Create a "+res.entity, zero, zero, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		if e := httpx.CheckJSONContentType(r); e != nil {
			return e
		}
		body, e := httpx.ReadBody(r, a.maxBody)
		if e != nil {
			return e
		}
		if err := checkReadOnly(body); err != nil {
			return err
		}
		var v T
		if res.defaults != nil {
			v = res.defaults()
		}
		if e := httpx.DecodeJSON(body, &v); e != nil {
			return e
		}
		ctx := r.Context()
		key := r.Header.Get("Idempotency-Key")
		var idem store.Idempotency
		if key != "" {
			if !idemKeyOK(key) {
				return httpx.Errorf(http.StatusBadRequest, "bad_request", "Idempotency-Key", "must have 1 to 255 characters")
			}
			idem = store.Idempotency{UserID: p.User.ID, Key: key, Method: r.Method, Path: r.URL.Path, RequestHash: requestHash(r.Method, r.URL.Path, body)}
			if done, err := replay(a, w, r, res.entity, res.get, idem); done || err != nil {
				return err
			}
			ctx = store.WithIdempotency(ctx, idem)
		}
		var dups []dedup.Match
		var later *dedup.Later
		if res.probe != nil && r.URL.Query().Get("duplicates") != "allow" {
			var d dedup.Decision
			var err error
			ctx, later, d, err = dedup.CheckCreate(ctx, a.store, res.entity, res.probe(&v))
			if err != nil {
				return err
			}
			if d.Duplicate() && d.Rule.Action == dedup.Refuse {
				m := d.Matches[0]
				return &httpx.Error{Status: http.StatusConflict, Code: "duplicate", Field: m.By, Details: d.Matches,
					Message: fmt.Sprintf("%s %d «%s» has the same %s; the duplicate rule refuses a new %s (add ?duplicates=allow to create it anyway)", m.Entity, m.ID, m.Title, m.By, res.entity)}
			}
			if d.Duplicate() {
				dups = d.Matches
			}
		}
		created, err := res.create(ctx, p.Actor, v)
		if err == nil && later != nil {
			// The record is made: a failed look for what it may duplicate
			// must not answer an error (a client would create it again).
			var lerr error
			if dups, lerr = later.Matches(ctx, a.store, idOf(&created)); lerr != nil {
				a.log.Error("api: duplicates of a new record", "entity", res.entity, "id", idOf(&created), "err", lerr)
			}
		}
		if err == nil && len(dups) > 0 {
			// Warn (link and merge act on the intake paths, where no one
			// decides): the records it may duplicate, "lead/5 contact/1".
			var refs []string
			for _, m := range dups {
				refs = append(refs, m.Entity+"/"+strconv.FormatInt(m.ID, 10))
			}
			w.Header().Set("Obmen-Duplicates", strings.Join(refs, " "))
		}
		if key != "" && errors.Is(err, store.ErrConflict) {
			// Another request with the same key committed first.
			if done, err := replay(a, w, r, res.entity, res.get, idem); done || err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
		w.Header().Set("Location", base+"/"+strconv.FormatInt(idOf(&created), 10))
		// A record this request made has no photo yet (one is set by its
		// own PUT): no photo_url, and no read for it on every create.
		httpx.WriteJSON(w, http.StatusCreated, created)
		return nil
	})

	a.handle(mux, "GET "+base+"/{id}", "Get a "+res.entity, nil, zero, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		ctx := store.WithPhotoMemo(r.Context())
		v, err := res.get(ctx, id)
		if err != nil {
			return err
		}
		return writeShown(a, ctx, w, http.StatusOK, res.entity, v)
	})

	a.handle(mux, "PATCH "+base+"/{id}", "Change fields of a "+res.entity+" (JSON merge patch: fields not sent stay, objects merge, arrays are replaced, null clears)", zero, zero,
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if e := httpx.CheckJSONContentType(r); e != nil {
				return e
			}
			body, e := httpx.ReadBody(r, a.maxBody)
			if e != nil {
				return e
			}
			if err := checkReadOnly(body); err != nil {
				return err
			}
			// Validate the patch's shape before taking the write lock.
			var probe T
			if e := httpx.DecodeJSON(body, &probe); e != nil {
				return e
			}
			// JSON merge patch (RFC 7396): fields not sent stay, objects
			// merge, arrays are replaced whole, null clears.
			v, err := res.update(r.Context(), p.Actor, id, func(cur *T) error {
				doc, err := json.Marshal(cur)
				if err != nil {
					return err
				}
				merged, err := httpx.MergePatch(doc, body)
				if err != nil {
					return httpx.Errorf(http.StatusBadRequest, "invalid_json", "", "%v", err)
				}
				var next T
				if e := httpx.DecodeJSON(merged, &next); e != nil {
					return e
				}
				*cur = next
				return nil
			})
			if err != nil {
				return err
			}
			return writeShown(a, r.Context(), w, http.StatusOK, res.entity, v)
		})

	a.handle(mux, "DELETE "+base+"/{id}", "Move a "+res.entity+" to the recycle bin", nil, nil, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := a.store.Delete(r.Context(), p.Actor, res.entity, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})

	a.handle(mux, "POST "+base+"/{id}/restore", "Restore a "+res.entity+" from the recycle bin", nil, zero, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := a.store.Restore(r.Context(), p.Actor, res.entity, id); err != nil {
			return err
		}
		v, err := res.get(r.Context(), id)
		if err != nil {
			return err
		}
		return writeShown(a, r.Context(), w, http.StatusOK, res.entity, v)
	})

	a.timelineRoutes(mux, base, res.entity)
	a.photoRoutes(mux, base, res.entity)
}

// replay answers a request whose Idempotency-Key was seen before. done is
// false when the key is new.
func replay[T any](a *API, w http.ResponseWriter, r *http.Request, entity string, get func(context.Context, int64) (T, error), idem store.Idempotency) (bool, error) {
	prev, err := a.store.LookupIdempotency(r.Context(), idem.UserID, idem.Key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	if prev.RequestHash != idem.RequestHash {
		return true, httpx.Errorf(http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key", "this key was used with a different request")
	}
	v, err := get(r.Context(), prev.ID)
	if err != nil {
		return true, err
	}
	w.Header().Set("Idempotent-Replayed", "true")
	if err := writeShown(a, r.Context(), w, prev.Status, entity, v); err != nil {
		w.Header().Del("Idempotent-Replayed") // the error is this request's own
		return true, err
	}
	return true, nil
}

// idOf reads the ID of a record (every record embeds crm.Meta: its
// method, without reflection's field lookup by name — a fortieth of the
// server's CPU on the create path).
func idOf(v any) int64 {
	if m, ok := v.(interface{ RecordMeta() *crm.Meta }); ok {
		return m.RecordMeta().ID
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return 0
	}
	f := rv.FieldByName("ID")
	if !f.IsValid() || f.Kind() != reflect.Int64 {
		return 0
	}
	return f.Int()
}
