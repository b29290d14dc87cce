// Package bitrix serves a Bitrix24-compatible REST API over Obmen's CRM:
// incoming webhooks at /rest/{user_id}/{code}/{method}, parameters in
// Bitrix24's encodings (PHP-style brackets or JSON), answers in its
// envelope, field names and types, so that a tool written for Bitrix24
// works against Obmen by changing the portal URL.
package bitrix

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/delivery"
	"github.com/obmen/obmen/internal/store"
)

// Options tune a Handler; the zero value is usable.
type Options struct {
	// Location is the zone dates are answered in (Bitrix24 answers in the
	// portal's zone); default time.Local.
	Location *time.Location
	// MaxBody bounds a request body; default 8 MiB.
	MaxBody int64
	// Now is the clock; default time.Now.
	Now func() time.Time
	// RateLimit is the calls a second a webhook may make on average, as
	// Bitrix24's leaky bucket drains; 0 (the default) is no limit. A call
	// over the limit is answered 503 QUERY_LIMIT_EXCEEDED.
	RateLimit float64
	// Burst is the bucket: the calls a webhook may make at once; 0 is
	// RateLimit rounded up.
	Burst int
	// Delivery keeps and sends the bindings of event.bind; without it the
	// event.* methods are not served.
	Delivery *delivery.Service
	// BaseURL is how clients reach this server (https://crm.example.ru),
	// for the client_endpoint of OAuth answers; MemberID is the portal's
	// stable id (member_id) in them.
	BaseURL  string
	MemberID string
}

// Handler serves the Bitrix24-compatible API. Mount it at "/rest/".
type Handler struct {
	db      *db.DB
	store   *store.Store
	hooks   *Webhooks
	log     *slog.Logger
	loc     *time.Location
	maxBody int64
	now     func() time.Time
	methods map[string]method
	limit   *limiter // nil: no rate limit
	// delivery is where event.bind's bindings live; nil: no event.*.
	delivery *delivery.Service

	baseURL, memberID string

	touchMu sync.Mutex
	touched map[int64]time.Time // webhook id → last recorded use
}

// method is one API method: the scopes that allow it (any of them; none
// for the "basic" methods every webhook may call) and its function.
type method struct {
	scopes []string
	fn     func(ctx context.Context, c *call) (reply, error)
}

// call is one method call: who makes it and with what parameters.
type call struct {
	hook    Webhook
	user    crm.User
	params  *Array
	inBatch bool // a command of a batch, which may not be a batch itself
}

// actor is who the call's writes are made as.
func (c *call) actor() crm.Actor { return c.hook.Actor() }

// NewHandler returns the API over a database and its store, mounted at
// "/rest/".
func NewHandler(d *db.DB, s *store.Store, log *slog.Logger) http.Handler {
	return New(d, s, log, Options{})
}

// New returns the API with options.
func New(d *db.DB, s *store.Store, log *slog.Logger, o Options) *Handler {
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 8 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	hooks := NewWebhooks(d)
	hooks.now = func() time.Time { return o.Now().UTC() }
	h := &Handler{db: d, store: s, hooks: hooks, log: log, loc: o.Location, maxBody: o.MaxBody, now: o.Now,
		touched: map[int64]time.Time{}, limit: newLimiter(d, o.RateLimit, o.Burst), delivery: o.Delivery,
		baseURL: strings.TrimRight(o.BaseURL, "/"), memberID: o.MemberID}
	crmScope := []string{"crm"}
	userScope := []string{"user", "user_brief", "user_basic"}
	h.methods = map[string]method{
		"batch":        {nil, h.batch},
		"methods":      {nil, h.methodsList},
		"scope":        {nil, h.scopeList},
		"server.time":  {nil, h.serverTime},
		"profile":      {nil, h.profile},
		"user.current": {userScope, h.userCurrent},
		"user.get":     {userScope, h.userGet},

		"crm.deal.productrows.get": {crmScope, h.dealRows().get},
		"crm.deal.productrows.set": {crmScope, h.dealRows().put},
		"crm.lead.productrows.get": {crmScope, h.leadRows().get},
		"crm.lead.productrows.set": {crmScope, h.leadRows().put},
		"crm.status.list":          {crmScope, h.statusList},
		"crm.vat.list":             {crmScope, h.vatList},
		"crm.measure.list":         {crmScope, h.measureList},
		"crm.status.entity.types":  {crmScope, h.statusEntityTypes},
		"crm.status.entity.items":  {crmScope, h.statusEntityItems},
		"crm.category.list":        {crmScope, h.categoryList},
		"crm.dealcategory.list":    {crmScope, h.dealCategoryList},
		"crm.duplicate.findbycomm": {crmScope, h.duplicateFindByComm},

		"crm.timeline.comment.add":  {crmScope, h.timelineCommentAdd},
		"crm.timeline.comment.list": {crmScope, h.timelineCommentList},

		"crm.activity.add":    {crmScope, h.activityAdd},
		"crm.activity.get":    {crmScope, h.activityGet},
		"crm.activity.update": {crmScope, h.activityUpdate},
		"crm.activity.delete": {crmScope, h.activityDelete},
		"crm.activity.list":   {crmScope, h.activityList},

		"crm.requisite.add":               {crmScope, h.requisiteAdd},
		"crm.requisite.get":               {crmScope, h.requisiteGet},
		"crm.requisite.update":            {crmScope, h.requisiteUpdate},
		"crm.requisite.delete":            {crmScope, h.requisiteDelete},
		"crm.requisite.list":              {crmScope, h.requisiteList},
		"crm.requisite.fields":            {crmScope, h.requisiteFields},
		"crm.requisite.bankdetail.add":    {crmScope, h.bankDetailAdd},
		"crm.requisite.bankdetail.get":    {crmScope, h.bankDetailGet},
		"crm.requisite.bankdetail.update": {crmScope, h.bankDetailUpdate},
		"crm.requisite.bankdetail.delete": {crmScope, h.bankDetailDelete},
		"crm.requisite.bankdetail.list":   {crmScope, h.bankDetailList},
		"crm.requisite.bankdetail.fields": {crmScope, h.bankDetailFields},
		"crm.requisite.preset.list":       {crmScope, h.requisitePresetList},
	}
	if h.delivery != nil {
		// Bitrix24 asks no scope of the event methods: any valid
		// webhook may bind its handlers.
		h.methods["event.bind"] = method{nil, h.eventBind}
		h.methods["event.unbind"] = method{nil, h.eventUnbind}
		h.methods["event.get"] = method{nil, h.eventGet}
	}
	registerRecords(h.methods, "lead", crmScope, h.leads())
	h.registerItem(crmScope) // the universal crm.item.* (issue 19)
	h.registerInvoice(crmScope)
	h.registerSystem(crmScope, userScope)
	h.contactCRUD().register(h.methods, "contact", crmScope)
	h.companyCRUD().register(h.methods, "company", crmScope)
	h.dealCRUD().register(h.methods, "deal", crmScope)
	h.productCRUD().register(h.methods, "product", crmScope)
	h.dealContacts().register(h.methods, "crm.deal.contact", crmScope)
	h.companyContacts().register(h.methods, "crm.company.contact", crmScope)
	h.contactCompanies().register(h.methods, "crm.contact.company", crmScope)
	return h
}

// Webhooks is the webhook table the handler authenticates against.
func (h *Handler) Webhooks() *Webhooks { return h.hooks }

// ServeHTTP answers /rest/{user_id}/{code}/{method}[.json].
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	answer := func(status int, body *Array) {
		finish := h.now()
		body.Set("time", timing{start: start, finish: finish, processing: finish.Sub(start)}.array(h.loc))
		writeAnswer(w, status, body)
	}
	// Errors carry no time block, as in Bitrix24.
	fail := func(e *Error) { writeAnswer(w, e.Status, errorBody(e)) }

	if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, POST")
		fail(&Error{Status: http.StatusMethodNotAllowed, Code: "INVALID_REQUEST", Description: "Use GET or POST"})
		return
	}
	rest, _ := strings.CutPrefix(r.URL.Path, "/rest/")
	parts := strings.Split(rest, "/")
	if parts[0] == "api" {
		h.serveV3(w, r, parts[1:])
		return
	}
	var hook Webhook
	var user crm.User
	var e *Error
	var name string
	var params *Array
	switch {
	case len(parts) == 1:
		// /rest/{method}?auth=…: an OAuth application's call
		// (settings/oauth/index.md), the token in the query or the body;
		// it is not a parameter of the method.
		var err error
		if params, err = readParams(r, h.maxBody); err != nil {
			fail(toError(err, nil))
			return
		}
		hook, user, e = h.authenticateToken(r, params)
		params.Delete("auth")
		name = methodName(parts[0])
	case len(parts) < 3:
		e = errNoAuth
	default:
		hook, user, e = h.authenticate(r, parts[0], parts[1], "v2")
		name = methodName(strings.Join(parts[2:], "/"))
	}
	if e != nil {
		fail(e)
		return
	}
	if params == nil {
		var err error
		if params, err = readParams(r, h.maxBody); err != nil {
			fail(toError(err, nil))
			return
		}
	}
	c := &call{hook: hook, user: user, params: params}
	// A manager's webhook sees and changes only the manager's records.
	ctx, err := h.store.ScopeFor(r.Context(), user)
	if err != nil {
		h.log.Error("bitrix: access of webhook user", "err", err)
		fail(errInternal)
		return
	}
	rep, e := h.invoke(ctx, c, name)
	if e != nil {
		fail(e)
		return
	}
	body := NewArray().Set("result", rep.result)
	if rep.next != nil {
		body.Set("next", *rep.next)
	}
	if rep.total != nil {
		body.Set("total", *rep.total)
	}
	answer(http.StatusOK, body)
}

// invoke runs a method for a call: it checks that the method exists and
// that the webhook has its scope, and maps errors to Bitrix24's.
func (h *Handler) invoke(ctx context.Context, c *call, name string) (reply, *Error) {
	m, ok := h.methods[name]
	if !ok {
		return reply{}, errMethodNotFound
	}
	if len(m.scopes) > 0 && !slices.ContainsFunc(m.scopes, c.hook.HasScope) {
		return reply{}, errInsufficientScope
	}
	rep, err := m.fn(ctx, c)
	if err == nil {
		return rep, nil
	}
	if e := toError(err, leadFieldName); e != nil {
		return reply{}, e
	}
	h.log.Error("bitrix: method failed", "method", name, "webhook_id", c.hook.ID, "err", err)
	return reply{}, errInternal
}

// touch records a webhook's use at most once a minute, off the request
// path: a write per call would cost more than the call.
// authenticate checks the webhook in a URL's {user_id}/{code} (any API
// version: api names it in the log), takes a request from its leaky bucket
// and notes its use; the error is the answer to give.
func (h *Handler) authenticate(r *http.Request, user, code, api string) (Webhook, crm.User, *Error) {
	userID, err := strconv.ParseInt(user, 10, 64)
	if err != nil || userID <= 0 || len(code) == 0 || len(code) > 64 {
		return Webhook{}, crm.User{}, errInvalidCredentials
	}
	hook, u, err := h.hooks.Authenticate(r.Context(), userID, code)
	if errors.Is(err, ErrInvalidCredentials) {
		h.log.Warn("bitrix: rejected webhook", "remote", r.RemoteAddr, "user_id", userID, "api", api)
		return Webhook{}, crm.User{}, errInvalidCredentials
	}
	if err != nil {
		h.log.Error("bitrix: check webhook", "err", err)
		return Webhook{}, crm.User{}, errInternal
	}
	if !h.limit.allow(r.Context(), hook.ID, h.now()) {
		return Webhook{}, crm.User{}, errQueryLimit
	}
	h.touch(hook)
	return hook, u, nil
}

// authenticateToken checks the OAuth access token in the auth parameter,
// takes a request from its webhook's bucket and notes the use.
func (h *Handler) authenticateToken(r *http.Request, params *Array) (Webhook, crm.User, *Error) {
	v, _ := params.Get("auth")
	token, _ := scalarText(v)
	if token == "" {
		return Webhook{}, crm.User{}, errNoAuth
	}
	hook, u, err := h.hooks.AuthenticateToken(r.Context(), token)
	if errors.Is(err, ErrExpiredToken) {
		return Webhook{}, crm.User{}, errExpiredToken
	}
	if errors.Is(err, ErrInvalidCredentials) {
		h.log.Warn("bitrix: rejected access token", "remote", r.RemoteAddr)
		return Webhook{}, crm.User{}, errNoAuth
	}
	if err != nil {
		h.log.Error("bitrix: check access token", "err", err)
		return Webhook{}, crm.User{}, errInternal
	}
	if !h.limit.allow(r.Context(), hook.ID, h.now()) {
		return Webhook{}, crm.User{}, errQueryLimit
	}
	h.touch(hook)
	return hook, u, nil
}

func (h *Handler) touch(hook Webhook) {
	now := h.now()
	h.touchMu.Lock()
	prev, ok := h.touched[hook.ID]
	if !ok && hook.LastUsedAt != nil {
		prev = *hook.LastUsedAt
	}
	if now.Sub(prev) < time.Minute {
		h.touchMu.Unlock()
		return
	}
	h.touched[hook.ID] = now
	h.touchMu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.hooks.Touch(ctx, hook.ID, now); err != nil {
			h.log.Warn("bitrix: record webhook use", "webhook_id", hook.ID, "err", err)
		}
	}()
}

// methodNames lists the methods allowed passes, sorted.
func (h *Handler) methodNames(allowed func(m method) bool) []string {
	var out []string
	for name, m := range h.methods {
		if allowed(m) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Scopes are the scopes the served methods ask for: what a new webhook
// is worth giving (a scope without a method here would only mislead).
func (h *Handler) Scopes() []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range h.methods {
		for _, s := range m.scopes {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out
}
