package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// ownerOf is the instance whose process holds the client end of a
// loopback connection to a fake (remote is the request's RemoteAddr, the
// fake listens on server): the test kills the very instance a fake is
// answering. -1 when no instance holds it (its process ended).
func (c *cluster) ownerOf(remote, server string) int {
	c.t.Helper()
	_, cport, err := net.SplitHostPort(remote)
	if err != nil {
		c.t.Fatalf("owner of %q: %v", remote, err)
	}
	_, sport, err := net.SplitHostPort(server)
	if err != nil {
		c.t.Fatalf("owner of a connection to %q: %v", server, err)
	}
	inode := socketInode(cport, sport)
	if inode == "" {
		return -1
	}
	want := "socket:[" + inode + "]"
	for i := range c.srv {
		s := c.instance(i)
		select {
		case <-s.done:
			continue
		default:
		}
		dir := fmt.Sprintf("/proc/%d/fd", s.cmd.Process.Pid)
		fds, _ := os.ReadDir(dir)
		for _, fd := range fds {
			if l, err := os.Readlink(dir + "/" + fd.Name()); err == nil && l == want {
				return i
			}
		}
	}
	return -1
}

// socketInode finds in /proc/net/tcp{,6} the socket whose local port is
// local and remote port remote (decimal), and returns its inode.
func socketInode(local, remote string) string {
	lp, _ := strconv.Atoi(local)
	rp, _ := strconv.Atoi(remote)
	l, r := fmt.Sprintf(":%04X", lp), fmt.Sprintf(":%04X", rp)
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(fs) >= 10 && strings.HasSuffix(fs[1], l) && strings.HasSuffix(fs[2], r) {
				f.Close()
				return fs[9]
			}
		}
		f.Close()
	}
	return ""
}

// connectedTo lists the instances with a connection open to a loopback
// port (a real server the test runs, as Dovecot): the ones at work on it.
func (c *cluster) connectedTo(port int) []int {
	r := fmt.Sprintf(":%04X", port)
	inodes := map[string]bool{}
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) >= 10 && strings.HasSuffix(fs[2], r) && fs[3] == "01" { // ESTABLISHED
				inodes["socket:["+fs[9]+"]"] = true
			}
		}
		f.Close()
	}
	var out []int
	for i := range c.srv {
		s := c.instance(i)
		select {
		case <-s.done:
			continue
		default:
		}
		dir := fmt.Sprintf("/proc/%d/fd", s.cmd.Process.Pid)
		fds, _ := os.ReadDir(dir)
		for _, fd := range fds {
			if l, err := os.Readlink(dir + "/" + fd.Name()); err == nil && inodes[l] {
				out = append(out, i)
				break
			}
		}
	}
	return out
}
