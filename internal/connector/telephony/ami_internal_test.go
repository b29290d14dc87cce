package telephony

import (
	"bufio"
	"strings"
	"testing"
)

// FuzzAMIRead: the AMI reader takes whatever a server sends without
// panicking, and a message it returns has lower-case keys without the
// line ends.
func FuzzAMIRead(f *testing.F) {
	f.Add("Response: Success\r\nActionID: x\r\nMessage: Authentication accepted\r\n\r\n")
	f.Add("\r\n\r\nEvent: FullyBooted\r\nPrivilege: system,all\r\n\r\nResponse: Error\r\nMessage: Authentication failed\r\n\r\n")
	f.Add("Response: Follows\r\nno colon here\r\n: empty key\r\n\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		ac := &amiConn{r: bufio.NewReader(strings.NewReader(s))}
		for range 64 {
			m, err := ac.read()
			if err != nil {
				return
			}
			if len(m) == 0 {
				t.Fatal("an empty message")
			}
			for k, v := range m {
				if k != strings.ToLower(k) || strings.ContainsAny(k+v, "\r\n") {
					t.Fatalf("key %q value %q", k, v)
				}
			}
		}
	})
}

func TestAMIRead(t *testing.T) {
	ac := &amiConn{r: bufio.NewReader(strings.NewReader("\r\nEvent: FullyBooted\r\nStatus: Fully Booted\r\n\r\nResponse: Error\r\nActionID: a1\r\nMessage: Extension does not exist.\r\n\r\n"))}
	for _, want := range []map[string]string{
		{"event": "FullyBooted", "status": "Fully Booted"},
		{"response": "Error", "actionid": "a1", "message": "Extension does not exist."},
	} {
		m, err := ac.read()
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != len(want) {
			t.Fatalf("%v, want %v", m, want)
		}
		for k, v := range want {
			if m[k] != v {
				t.Fatalf("%s = %q, want %q", k, m[k], v)
			}
		}
	}
}
