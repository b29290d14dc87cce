package facebook

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeAnswer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		kind    string
		subcode int
		id      string
		fails   bool
	}{
		{"sent", 200, `{"recipient_id":"1254477777772919","message_id":"m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM"}`, "", 0, "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM", false},
		{"token", 400, `{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"H2il2t5bn4e"}}`, KindToken, 463, "", true},
		{"window", 400, `{"error":{"message":"(#10) This message is sent outside of allowed window.","type":"OAuthException","code":10,"error_subcode":2018278,"fbtrace_id":"x"}}`, KindWindow, 2018278, "", true},
		{"rate 4", 400, `{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4}}`, KindRate, 0, "", true},
		{"rate 32", 400, `{"error":{"message":"(#32) Page request limit reached","type":"OAuthException","code":32}}`, KindRate, 0, "", true},
		{"rate 613", 400, `{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613}}`, KindRate, 0, "", true},
		{"permission 10", 403, `{"error":{"message":"(#10) Application does not have permission for this action","type":"OAuthException","code":10}}`, KindPermission, 0, "", true},
		{"permission 200", 403, `{"error":{"message":"(#200) Requires pages_messaging permission","type":"OAuthException","code":200}}`, KindPermission, 0, "", true},
		{"unavailable", 400, `{"error":{"message":"(#551) This person isn't available right now.","type":"OAuthException","code":551,"error_subcode":1545041}}`, KindUnavailable, 1545041, "", true},
		{"no user", 400, `{"error":{"message":"(#100) No matching user found","type":"OAuthException","code":100,"error_subcode":2018001}}`, KindNoUser, 2018001, "", true},
		{"other", 500, `{"error":{"message":"An unknown error has occurred.","type":"OAuthException","code":1}}`, KindOther, 0, "", true},
		{"5xx without object", 502, `{}`, KindOther, 0, "", true},
		{"not json", 502, `<html>Bad Gateway</html>`, "", 0, "", true},
	} {
		var s Sent
		err := DecodeAnswer(tc.status, []byte(tc.body), &s)
		var ae *APIError
		switch {
		case !tc.fails && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.fails && err == nil:
			t.Errorf("%s: no error", tc.name)
		case tc.kind != "" && (!errors.As(err, &ae) || ae.Kind() != tc.kind || ae.Subcode != tc.subcode || ae.Status != tc.status):
			t.Errorf("%s: %#v", tc.name, err)
		case tc.kind == "" && errors.As(err, &ae):
			t.Errorf("%s: an API error from a non-answer: %v", tc.name, err)
		case s.MessageID != tc.id:
			t.Errorf("%s: message %q", tc.name, s.MessageID)
		}
	}
}

func TestValidSignature(t *testing.T) {
	body := []byte(`{"object":"page","entry":[]}`)
	secret := "0123456789abcdef"
	good := "sha256=" + Proof(string(body), secret) // the same HMAC-SHA256, hex
	for _, tc := range []struct {
		header string
		secret string
		ok     bool
	}{
		{good, secret, true},
		{strings.ToUpper(good[:7]) + good[7:], secret, false},
		{good, "other", false},
		{good, "", false},
		{"", secret, false},
		{"sha256=", secret, false},
		{"sha256=zz", secret, false},
		{good[:len(good)-2], secret, false},
	} {
		if got := ValidSignature(tc.header, body, tc.secret); got != tc.ok {
			t.Errorf("%q with %q: %v", tc.header, tc.secret, got)
		}
	}
}

func FuzzParseDelivery(f *testing.F) {
	f.Add([]byte(`{"object":"page","entry":[{"id":"1","time":1,"messaging":[{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"m","text":"hi"}}]}]}`))
	f.Add([]byte(`{"object":"page","entry":[{"messaging":[{"sender":{"id":"2"},"read":{"watermark":1}}]}]}`))
	f.Add([]byte(`{"object":"user"}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseDelivery(b)
		if err != nil {
			return
		}
		if p.Object != "page" {
			t.Fatalf("accepted object %q", p.Object)
		}
		for _, e := range p.Entry {
			for _, ev := range e.Messaging {
				if ev.Message != nil && (ev.Sender.ID == "" || ev.Message.MID == "") {
					t.Fatalf("accepted a message without ids: %+v", ev)
				}
			}
		}
	})
}

func FuzzDecodeAnswer(f *testing.F) {
	f.Add(200, []byte(`{"recipient_id":"1","message_id":"m_1"}`))
	f.Add(400, []byte(`{"error":{"message":"x","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"a"}}`))
	f.Add(502, []byte(`<html>`))
	f.Fuzz(func(t *testing.T, status int, b []byte) {
		var s Sent
		err := DecodeAnswer(status, b, &s)
		if err == nil && (status < 200 || status > 299) {
			t.Fatalf("HTTP %d accepted", status)
		}
		var ae *APIError
		if errors.As(err, &ae) {
			_ = ae.Kind()
			_ = ae.Error()
		}
	})
}
