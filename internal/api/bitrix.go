package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/authz"
	"github.com/obmen/obmen/internal/bitrix"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
)

// BitrixWebhookInput creates an incoming webhook of the Bitrix24-compatible
// API for a user.
type BitrixWebhookInput struct {
	UserID int64    `json:"user_id"`
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

// BitrixWebhookCreated carries the webhook's URL, shown only here: the code
// in it is stored hashed.
type BitrixWebhookCreated struct {
	bitrix.Webhook
	URL string `json:"url"`
}

// BitrixAppCreated is an OAuth application registered on a webhook, with
// its client secret and first token pair, shown only here (they are
// stored hashed). Calls go to ClientEndpoint with auth=AccessToken; the
// pair is renewed at TokenURL with grant_type=refresh_token.
type BitrixAppCreated struct {
	bitrix.App
	ClientSecret   string    `json:"client_secret"`
	AccessToken    string    `json:"access_token"`
	RefreshToken   string    `json:"refresh_token"`
	Expires        time.Time `json:"expires"`
	ClientEndpoint string    `json:"client_endpoint"`
	TokenURL       string    `json:"token_url"`
}

// SetBitrix enables the endpoints that manage Bitrix24-compatible incoming
// webhooks; baseURL is the server's public address.
func (a *API) SetBitrix(hooks *bitrix.Webhooks, baseURL string) {
	a.bitrixHooks, a.baseURL = hooks, strings.TrimRight(baseURL, "/")
}

// BitrixWebhookURL is the address a webhook is called at.
func BitrixWebhookURL(baseURL string, userID int64, code string) string {
	return strings.TrimRight(baseURL, "/") + "/rest/" + strconv.FormatInt(userID, 10) + "/" + code + "/"
}

func (a *API) bitrixRoutes(mux *http.ServeMux) {
	if a.bitrixHooks == nil {
		return
	}
	hooks := a.bitrixHooks
	a.handle(mux, "GET /api/v1/bitrix/webhooks", "Incoming webhooks of the Bitrix24-compatible API (admin: all; others: their own)", nil, ListResponse[bitrix.Webhook]{},
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			user := p.User.ID
			if p.IsAdmin() {
				user = 0
			}
			hs, err := hooks.ListWebhooks(r.Context(), user)
			return writeList(w, hs, err)
		})
	a.handle(mux, "POST /api/v1/bitrix/webhooks", "Create an incoming webhook for a user with scopes (admin); the URL is in this answer only",
		BitrixWebhookInput{}, BitrixWebhookCreated{}, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Webhooks, authz.Write, 0); err != nil {
				return err
			}
			var in BitrixWebhookInput
			if err := a.body(r, &in); err != nil {
				return err
			}
			if in.UserID == 0 {
				in.UserID = p.User.ID
			}
			if _, err := a.store.GetUser(r.Context(), in.UserID); err != nil {
				return crm.Invalid("user_id", "no user with id %d", in.UserID)
			}
			hook, code, err := hooks.CreateWebhook(r.Context(), in.UserID, in.Name, in.Scopes)
			if err != nil {
				return err
			}
			w.Header().Set("Cache-Control", "no-store")
			httpx.WriteJSON(w, http.StatusCreated, BitrixWebhookCreated{Webhook: hook, URL: BitrixWebhookURL(a.baseURL, hook.UserID, code)})
			return nil
		})
	a.handle(mux, "POST /api/v1/bitrix/webhooks/{id}/app", "Register an OAuth application on an incoming webhook (admin): it acts as the webhook; the secret and first tokens are in this answer only",
		nil, BitrixAppCreated{}, func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Webhooks, authz.Write, 0); err != nil {
				return err
			}
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			app, secret, err := hooks.CreateApp(r.Context(), id)
			if err != nil {
				return err
			}
			tok, err := hooks.IssueTokens(r.Context(), id)
			if err != nil {
				return err
			}
			w.Header().Set("Cache-Control", "no-store")
			httpx.WriteJSON(w, http.StatusCreated, BitrixAppCreated{App: app, ClientSecret: secret, AccessToken: tok.AccessToken,
				RefreshToken: tok.RefreshToken, Expires: tok.Expires, ClientEndpoint: a.baseURL + "/rest/", TokenURL: a.baseURL + "/oauth/token/"})
			return nil
		})
	a.handle(mux, "DELETE /api/v1/bitrix/webhooks/{id}", "Delete an incoming webhook (admin)", nil, nil,
		func(w http.ResponseWriter, r *http.Request, p *Principal) error {
			if err := authorize(p, authz.Webhooks, authz.Write, 0); err != nil {
				return err
			}
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			return writeNone(w, hooks.DeleteWebhook(r.Context(), id))
		})
}
