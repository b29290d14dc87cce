package mail_test

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/obmen/obmen/internal/intake/mail/dovecottest"
)

// dovecot is a real IMAP server (Debian's dovecot-imapd) run by the test
// (internal/intake/mail/dovecottest, shared with the SMTP connector's
// tests).
type dovecot struct{ *dovecottest.Server }

const dovecotPassword = dovecottest.Password

func startDovecot(t testing.TB) *dovecot {
	t.Helper()
	return &dovecot{Server: dovecottest.Start(t)}
}

// client logs in as a user on the plain port.
func (d *dovecot) client(t testing.TB, login string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(net.JoinHostPort("127.0.0.1", strconv.Itoa(d.Port)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(login, dovecotPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// appendMsg stores a raw message in a folder (APPEND).
func appendMsg(t testing.TB, c *imapclient.Client, folder string, raw string) {
	t.Helper()
	appendAt(t, c, folder, raw, time.Time{})
}

// appendAt stores a raw message with an internal date (zero: now).
func appendAt(t testing.TB, c *imapclient.Client, folder string, raw string, at time.Time) {
	t.Helper()
	raw = strings.ReplaceAll(strings.ReplaceAll(raw, "\r\n", "\n"), "\n", "\r\n")
	var opts *imap.AppendOptions
	if !at.IsZero() {
		opts = &imap.AppendOptions{Time: at}
	}
	cmd := c.Append(folder, int64(len(raw)), opts)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("append to %s: %v", folder, err)
	}
}

// count returns the number of messages in a folder and how many carry
// flag ("" for none).
func count(t testing.TB, c *imapclient.Client, folder string, flag imap.Flag) (int, int) {
	t.Helper()
	data, err := c.Status(folder, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	n := int(*data.NumMessages)
	if flag == "" || n == 0 {
		return n, 0
	}
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	res, err := c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{flag}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	// Deselect: STATUS of a selected mailbox may lag behind.
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	return n, len(res.AllUIDs())
}
