package smtp_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/intake/mail/dovecottest"
)

// mta is a real MTA (Debian's exim4-daemon-light) run by the test on
// loopback with a throw-away configuration in a temporary directory,
// delivering mail for example.test to the maildirs of a Dovecot
// (dovecottest) that reads it back over IMAP. Its ports:
//   - Plain: no TLS, no AUTH (a relay on the LAN: security none);
//   - STARTTLS: STARTTLS offered, AUTH required to send;
//   - SSL: TLS from the first byte, AUTH required to send.
//
// AUTH (PLAIN, LOGIN) is offered only over TLS and takes mtaLogin with
// mtaPassword. Recipients are u1…u9@example.test; any other local part is
// refused at RCPT.
type mta struct {
	Plain, STARTTLS, SSL int
	Dovecot              *dovecottest.Server
	dir                  string
}

const (
	mtaLogin    = "sender"
	mtaPassword = "s3cret-пароль"
	mtaDomain   = "example.test"
)

func findExim(t testing.TB) string {
	for _, p := range []string{"exim4", "exim"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	for _, p := range []string{"/usr/sbin/exim4", "/usr/sbin/exim"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("exim is not installed: apt-get install -y exim4-daemon-light (scripts/test.sh does it: ensure_mta)")
	return ""
}

func startMTA(t testing.TB) *mta {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("the test MTA (exim) runs as root: run the tests as root (CI does)")
	}
	bin := findExim(t)
	dc := dovecottest.Start(t)
	dir, err := os.MkdirTemp("", "obmen-exim-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ports := dovecottest.FreePorts(t, 3)
	m := &mta{Plain: ports[0], STARTTLS: ports[1], SSL: ports[2], Dovecot: dc, dir: dir}
	for name, text := range map[string]string{"cert.pem": dc.CertPEM, "key.pem": dc.KeyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	// Exim runs as its own user and reads the key as that user.
	eximUser := "Debian-exim"
	if _, err := user.Lookup(eximUser); err != nil {
		eximUser = "exim"
	}
	u, err := user.Lookup(eximUser)
	if err != nil {
		t.Fatalf("look up the exim user: %v", err)
	}
	euid, _ := strconv.Atoi(u.Uid)
	egid, _ := strconv.Atoi(u.Gid)
	// Exim given its configuration with -C drops root before it
	// delivers, so it delivers as its own user; the maildirs are open to
	// it and to Dovecot's user alike.
	for i := 1; i <= 9; i++ {
		for _, sub := range []string{"", "cur", "new", "tmp"} {
			p := filepath.Join(dc.MailDir, "u"+strconv.Itoa(i), sub)
			if err := os.MkdirAll(p, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o777); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Root in a container may lack CAP_DAC_OVERRIDE: the directories
	// both root and exim's user write are open to both.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"spool", "log"} {
		p := filepath.Join(dir, sub)
		if err := os.Mkdir(p, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	// Exim refuses paths made of data the message brought (tainted);
	// $local_part_data is the router's own copy of the matched name.
	conf := fmt.Sprintf(`primary_hostname = mx.%[1]s
domainlist local_domains = %[1]s
local_interfaces = 127.0.0.1
daemon_smtp_ports = %[2]d : %[3]d : %[4]d
tls_on_connect_ports = %[4]d
exim_user = %[5]s
exim_group = %[6]d
never_users =
spool_directory = %[7]s/spool
log_file_path = %[7]s/log/%%slog
pid_file_path = %[7]s/exim.pid
tls_certificate = %[7]s/cert.pem
tls_privatekey = %[7]s/key.pem
tls_advertise_hosts = ${if eq{$received_port}{%[2]d}{}{*}}
auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}
acl_smtp_rcpt = acl_rcpt
message_size_limit = 50M
smtp_accept_max = 200
smtp_accept_queue_per_connection = 0
host_lookup = 
rfc1413_hosts =
queue_run_max = 0

begin acl
acl_rcpt:
  deny    condition = ${if eq{$received_port}{%[2]d}{no}{yes}}
          !authenticated = *
          message = 530 authentication required
  deny    domains = !+local_domains
          message = relay not permitted
  accept  local_parts = u1 : u2 : u3 : u4 : u5 : u6 : u7 : u8 : u9
  deny    message = unknown user

begin routers
local_user:
  driver = accept
  domains = +local_domains
  local_parts = u1 : u2 : u3 : u4 : u5 : u6 : u7 : u8 : u9
  transport = maildir

begin transports
maildir:
  driver = appendfile
  directory = %[9]s/${local_part_data}
  maildir_format
  create_directory
  delivery_date_add
  envelope_to_add
  return_path_add
  user = %[8]s
  mode = 0666
  directory_mode = 0777

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and{{eq{$auth2}{%[10]s}}{eq{$auth3}{%[11]s}}}}
  server_set_id = $auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${if and{{eq{$auth1}{%[10]s}}{eq{$auth2}{%[11]s}}}}
  server_set_id = $auth1
`, mtaDomain, m.Plain, m.STARTTLS, m.SSL, eximUser, egid, dir, eximUser, dc.MailDir, mtaLogin, mtaPassword)
	confPath := filepath.Join(dir, "exim.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error {
		if p == confPath || p == dir {
			return nil
		}
		return os.Chown(p, euid, egid)
	})
	// -bdf: the daemon in the foreground, stopped by the test; -odb:
	// each message delivered by a process of its own, after the SMTP
	// session has its answer (-odi would hold QUIT ~200 ms here).
	cmd := exec.Command(bin, "-C", confPath, "-bdf", "-odb")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, _ := os.Create(filepath.Join(dir, "stdout.log"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start exim: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for _, port := range []int{m.Plain, m.STARTTLS, m.SSL} {
		for {
			c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				m.dump(t)
				t.Fatalf("exim did not start on port %d: %v", port, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return m
}

// dump logs what exim wrote, for a failing test.
func (m *mta) dump(t testing.TB) {
	t.Helper()
	for _, f := range []string{"stdout.log", "log/mainlog", "log/rejectlog", "log/paniclog"} {
		if b, err := os.ReadFile(filepath.Join(m.dir, f)); err == nil && len(b) > 0 {
			t.Logf("exim %s:\n%s", f, b)
		}
	}
}
