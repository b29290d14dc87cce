package telephony

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/obmen/obmen/internal/connection"
)

// MangoURL is Mango Office's VPBX API.
const MangoURL = "https://app.mango-office.ru/vpbx"

// TypeMango is the Mango Office connection type.
const TypeMango = "mango"

// mangoOK is Mango Office's result code of an accepted command.
const mangoOK = 1000

// MangoAccount is a mango connection's settings: the VPBX's API key and
// salt (Настройки → Интеграции → API).
type MangoAccount struct {
	Key  string
	Salt string
	URL  string
	// Line is the number shown to the customer (line_number), optional.
	Line string
}

// MangoOf reads a saved mango connection's settings.
func MangoOf(s connection.Settings) MangoAccount {
	return MangoAccount{Key: s.String("key"), Salt: s.String("salt"), URL: s.String("url"), Line: s.String("line_number")}
}

func (a MangoAccount) url() string { return connection.BaseURL(a.URL, MangoURL) }

// Problems checks the settings beyond what the type's fields say (key and
// salt are required fields).
func (a MangoAccount) Problems() []connection.Problem {
	return connection.CheckBaseURL("url", a.URL, MangoURL)
}

// MangoSign is the sign of a request: hex SHA-256 of key + json + salt.
func MangoSign(key, salt, js string) string {
	h := sha256.Sum256([]byte(key + js + salt))
	return hex.EncodeToString(h[:])
}

// Mango orders callbacks through Mango Office's VPBX API.
type Mango struct {
	Account MangoAccount
	HTTP    *http.Client
}

// post sends a command as the form fields vpbx_api_key, sign and json
// and returns the answer's body; a result other than 1000 is a *Refused.
func (m Mango) post(ctx context.Context, path string, body any) ([]byte, error) {
	js, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	form := url.Values{"vpbx_api_key": {m.Account.Key}, "sign": {MangoSign(m.Account.Key, m.Account.Salt, string(js))}, "json": {string(js)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Account.url()+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("mango: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := m.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mango %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("mango %s: %w", path, err)
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return nil, fmt.Errorf("mango %s: HTTP %d: %s", path, resp.StatusCode, snippet(b))
	}
	var ans struct {
		Result  *int   `json:"result"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(b, &ans); err != nil || resp.StatusCode != http.StatusOK || (ans.Result != nil && *ans.Result != mangoOK) {
		msg := strings.TrimSpace(ans.Message)
		switch {
		case ans.Result != nil && msg != "":
			msg = fmt.Sprintf("result %d: %s", *ans.Result, msg)
		case ans.Result != nil:
			msg = fmt.Sprintf("result %d", *ans.Result)
		default:
			msg = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, snippet(b))
		}
		return nil, &Refused{Provider: "mango", Message: msg, Class: classOfStatus(resp.StatusCode)}
	}
	return b, nil
}

// Callback sends commands/callback: Mango rings the employee's
// extension (the line), then to_number. Mango answers no id of the call;
// the id is the command_id sent, the same on every attempt of a step.
func (m Mango) Callback(ctx context.Context, r Request) (string, error) {
	id := actionID(r.ID)
	cmd := map[string]any{"command_id": id, "from": map[string]any{"extension": r.Line}, "to_number": strings.TrimPrefix(r.Phone, "+")}
	if l := strings.TrimSpace(m.Account.Line); l != "" {
		cmd["line_number"] = strings.TrimPrefix(l, "+")
	}
	if _, err := m.post(ctx, "/commands/callback", cmd); err != nil {
		return "", err
	}
	return id, nil
}

// Check lists the VPBX's users: a signed call that changes nothing.
func (m Mango) Check(ctx context.Context) error {
	_, err := m.post(ctx, "/config/users/request", map[string]any{})
	if r, ok := err.(*Refused); ok {
		return connection.Fail(r.Class, err)
	}
	return err
}

// MangoType is the mango connection type.
func MangoType(hc *http.Client) connection.Type {
	return connection.Type{
		Journal: "activity",
		Name:    TypeMango,
		Fields: []connection.Field{
			{Name: "key", Type: connection.String, Required: true},
			{Name: "salt", Type: connection.String, Required: true, Secret: true},
			{Name: "url", Type: connection.String, Default: MangoURL},
			{Name: "line_number", Type: connection.String},
			{Name: "create_leads", Type: connection.Boolean, Default: true},
		},
		Validate: func(s connection.Settings) []connection.Problem { return MangoOf(s).Problems() },
		Check: func(ctx context.Context, s connection.Settings) error {
			return Mango{Account: MangoOf(s), HTTP: hc}.Check(ctx)
		},
	}
}
