package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/bitrix"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/delivery"
)

// The webhooks pages (admins only): incoming webhooks of the
// Bitrix24-compatible API (create for a user with scopes, the URL shown
// once, disable, delete) and outbound webhooks (create, disable, delete,
// each one's deliveries with their attempts and a manual retry).

// SetWebhooks gives the UI the incoming and outbound webhooks to manage;
// baseURL is the server's public address, for the incoming webhooks' URLs.
func (u *UI) SetWebhooks(in *bitrix.Webhooks, out *delivery.Service, baseURL string) {
	u.inHooks, u.outHooks, u.baseURL = in, out, strings.TrimRight(baseURL, "/")
}

type webhooksData struct {
	Users     []crm.User
	UserName  map[int64]string
	Incoming  []bitrix.Webhook
	Outbound  []delivery.Webhook
	Scopes    []string
	Events    []string
	NewURL    string // an incoming webhook just made: its URL, shown once
	Error     string
	Form      url.Values
	FormHooks string // which form Error is about: "in" or "out"
}

func (u *UI) webhooks(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Webhooks) || !u.hooksReady(w, r, rq) {
		return
	}
	u.showWebhooks(w, r, rq, http.StatusOK, webhooksData{})
}

func (u *UI) hooksReady(w http.ResponseWriter, r *http.Request, rq *request) bool {
	if u.inHooks == nil || u.outHooks == nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return false
	}
	return true
}

func (u *UI) showWebhooks(w http.ResponseWriter, r *http.Request, rq *request, status int, d webhooksData) {
	ctx := r.Context()
	var err error
	if d.Users, err = u.store.ListUsers(ctx); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d.UserName = map[int64]string{}
	for _, x := range d.Users {
		d.UserName[x.ID] = x.Login
	}
	if d.Incoming, err = u.inHooks.ListWebhooks(ctx, 0); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if d.Outbound, err = u.outHooks.List(ctx); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if d.Form == nil {
		d.Form = url.Values{}
	}
	d.Scopes, d.Events = bitrix.KnownScopes, delivery.BitrixEventNames()
	if u.bitrixScopes != nil {
		d.Scopes = u.bitrixScopes()
	}
	u.render(w, r, rq, status, "webhooks", rq.T("hooks.title"), "integrations", d)
}

// createIncoming makes an incoming webhook and shows its URL once.
func (u *UI) createIncoming(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Webhooks) || !u.hooksReady(w, r, rq) {
		return
	}
	f := r.PostForm
	userID, _ := strconv.ParseInt(f.Get("user_id"), 10, 64)
	scopes := f["scope"]
	hook, code, err := u.inHooks.CreateWebhook(r.Context(), userID, strings.TrimSpace(f.Get("name")), scopes)
	if err != nil {
		u.showWebhooks(w, r, rq, http.StatusUnprocessableEntity, webhooksData{Error: err.Error(), Form: f, FormHooks: "in"})
		return
	}
	u.showWebhooks(w, r, rq, http.StatusCreated, webhooksData{NewURL: u.baseURL + "/rest/" + strconv.FormatInt(hook.UserID, 10) + "/" + code + "/"})
}

// incomingAction enables, disables or deletes an incoming webhook.
func (u *UI) incomingAction(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Webhooks) || !u.hooksReady(w, r, rq) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	var err error
	switch r.PathValue("action") {
	case "enable", "disable":
		err = u.inHooks.SetWebhookActive(r.Context(), id, r.PathValue("action") == "enable")
	case "delete":
		err = u.inHooks.DeleteWebhook(r.Context(), id)
	default:
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/admin/webhooks?flash=card.saved")
}

// createOutbound subscribes a URL to changes.
func (u *UI) createOutbound(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Webhooks) || !u.hooksReady(w, r, rq) {
		return
	}
	f := r.PostForm
	hook := delivery.Webhook{Kind: f.Get("kind"), Name: strings.TrimSpace(f.Get("name")), URL: strings.TrimSpace(f.Get("url")),
		Token: f.Get("token"), IncludeEcho: f.Get("include_echo") == "on", Active: true}
	hook.Events = append(hook.Events, f["event"]...)
	for _, e := range strings.Split(f.Get("native_events"), ",") {
		if e = strings.TrimSpace(e); e != "" && hook.Kind == delivery.KindNative {
			hook.Events = append(hook.Events, e)
		}
	}
	if hook.Kind == delivery.KindNative {
		hook.Events = slices.DeleteFunc(hook.Events, func(e string) bool { return strings.HasPrefix(e, "ONCRM") })
	}
	if _, err := u.outHooks.Create(r.Context(), hook); err != nil {
		msg := err.Error()
		if fe, ok := crm.AsFieldError(err); ok {
			msg = rq.T("f."+fe.Field) + ": " + fieldMessage(rq, fe)
		}
		u.showWebhooks(w, r, rq, http.StatusUnprocessableEntity, webhooksData{Error: msg, Form: f, FormHooks: "out"})
		return
	}
	back(w, r, "/admin/webhooks?flash=card.created")
}

// outboundAction enables, disables or deletes an outbound webhook.
func (u *UI) outboundAction(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Webhooks) || !u.hooksReady(w, r, rq) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	var err error
	switch a := r.PathValue("action"); a {
	case "enable", "disable":
		_, err = u.outHooks.Update(r.Context(), id, func(h *delivery.Webhook) error {
			h.Active = a == "enable"
			if h.Active {
				h.DisabledReason = ""
			}
			return nil
		})
	case "delete":
		err = u.outHooks.Delete(r.Context(), id)
	default:
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/admin/webhooks?flash=card.saved")
}

type webhookData struct {
	Hook       delivery.Webhook
	Deliveries []delivery.Delivery
	Status     string
	Error      string
}

// outboundShow is one outbound webhook's delivery journal: every delivery
// with its attempts (time, status code, latency, error, response
// excerpt), failed ones with a retry button.
func (u *UI) outboundShow(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Webhooks) || !u.hooksReady(w, r, rq) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	hook, err := u.outHooks.Get(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d := webhookData{Hook: hook, Status: r.URL.Query().Get("status")}
	if d.Deliveries, err = u.outHooks.Deliveries(r.Context(), id, delivery.DeliveryQuery{Status: d.Status, Limit: 200}); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	u.render(w, r, rq, http.StatusOK, "webhook", hook.Name, "integrations", d)
}

// retryDelivery sends a failed delivery again.
func (u *UI) retryDelivery(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.allow(w, r, rq, authz.Webhooks) || !u.hooksReady(w, r, rq) {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	did, err := strconv.ParseInt(r.PathValue("delivery"), 10, 64)
	if err != nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	if err := u.outHooks.Retry(r.Context(), did); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/admin/webhooks/outbound/"+strconv.FormatInt(id, 10)+"?flash=hooks.retried")
}

// SetBitrixScopes gives the scopes the Bitrix24-compatible REST serves:
// the new-webhook form offers only those.
func (u *UI) SetBitrixScopes(f func() []string) { u.bitrixScopes = f }
