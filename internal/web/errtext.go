package web

import (
	"regexp"
	"strings"
)

// Network and mail-server errors as Go reports them ("dial tcp
// 10.0.0.5:993: connect: connection refused") said in the user's
// language, naming the server; an unknown error keeps its text after a
// sentence that says what failed.

var hostPort = regexp.MustCompile(`(?:dial tcp|lookup) ([^\s:]+(?::\d+)?)`)

// netErrorRules are tried in order; the first whose needle the error
// contains gives the message key.
var netErrorRules = []struct{ needle, key string }{
	{"connection refused", "neterr.refused"},
	{"no such host", "neterr.no_host"},
	{"i/o timeout", "neterr.timeout"},
	{"deadline exceeded", "neterr.timeout"},
	{"certificate", "neterr.tls"},
	{"tls:", "neterr.tls"},
	{"network is unreachable", "neterr.unreachable"},
	{"no route to host", "neterr.unreachable"},
	{"connection reset", "neterr.reset"},
	{"authenticat", "neterr.auth"},
	{"login failed", "neterr.auth"},
	{"invalid credentials", "neterr.auth"},
	{"not allowed", "neterr.blocked"},
	{"private address", "neterr.blocked"},
}

// netErrorText says a connection error in lang; "" stays "".
func netErrorText(lang, raw string) string {
	if raw == "" {
		return ""
	}
	low := strings.ToLower(raw)
	server := ""
	if m := hostPort.FindStringSubmatch(raw); m != nil {
		server = m[1]
	}
	for _, r := range netErrorRules {
		if strings.Contains(low, r.needle) {
			msg := translate(lang, r.key)
			if server != "" {
				return translate(lang, "neterr.server") + " " + server + ": " + msg
			}
			return msg
		}
	}
	return translate(lang, "neterr.other") + ": " + raw
}
