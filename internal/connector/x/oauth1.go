package x

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Keys are an app's OAuth 1.0a user-context credentials: the app's
// consumer key and secret (the seed's "Consumer Key" and "Consumer
// Secret") and the access token and secret of the account that posts.
type Keys struct {
	ConsumerKey    string
	ConsumerSecret string
	Token          string
	TokenSecret    string
}

// enc is OAuth 1.0a's percent-encoding (RFC 3986: only A-Z a-z 0-9 - . _ ~
// stay as they are).
func enc(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// Authorization is the "OAuth …" header of a request (RFC 5849, HMAC-
// SHA1): the signature covers the method, the URL without its query,
// the query's parameters and the oauth_ ones; a JSON body is not signed
// (only a form body would be).
func (k Keys) Authorization(method, rawURL string, now time.Time, nonce string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	oauth := map[string]string{
		"oauth_consumer_key":     k.ConsumerKey,
		"oauth_nonce":            nonce,
		"oauth_signature_method": "HMAC-SHA1",
		"oauth_timestamp":        strconv.FormatInt(now.Unix(), 10),
		"oauth_token":            k.Token,
		"oauth_version":          "1.0",
	}
	var pairs []string
	for name, vs := range u.Query() {
		for _, v := range vs {
			pairs = append(pairs, enc(name)+"="+enc(v))
		}
	}
	for name, v := range oauth {
		pairs = append(pairs, enc(name)+"="+enc(v))
	}
	sort.Strings(pairs)
	base := strings.ToUpper(method) + "&" + enc(u.Scheme+"://"+u.Host+u.EscapedPath()) + "&" + enc(strings.Join(pairs, "&"))
	m := hmac.New(sha1.New, []byte(enc(k.ConsumerSecret)+"&"+enc(k.TokenSecret)))
	m.Write([]byte(base))
	oauth["oauth_signature"] = base64.StdEncoding.EncodeToString(m.Sum(nil))
	names := make([]string, 0, len(oauth))
	for name := range oauth {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("OAuth ")
	for i, name := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(enc(name) + `="` + enc(oauth[name]) + `"`)
	}
	return b.String(), nil
}

// nonce is a request's random oauth_nonce.
func nonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
