package secret

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	dir := t.TempDir()
	b, err := Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	s, err := b.Seal("пароль от 1С")
	if err != nil || !strings.HasPrefix(s, "v1:") || strings.Contains(s, "пароль") {
		t.Fatalf("sealed %q %v", s, err)
	}
	s2, _ := b.Seal("пароль от 1С")
	if s == s2 {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	// A second load reads the same key.
	b2, err := Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := b2.Open(s); err != nil || p != "пароль от 1С" {
		t.Fatalf("open: %q %v", p, err)
	}
	// Another key cannot open it; damage is detected.
	other, _ := Load(base64.StdEncoding.EncodeToString(make([]byte, 32)), "")
	if _, err := other.Open(s); err == nil {
		t.Fatal("opened with another key")
	}
	// Damage one character in the middle (always to another one: a fixed
	// replacement equal to the original left the value whole, 1 in 4096).
	i := len(s) / 2
	bad := byte('A')
	if s[i] == bad {
		bad = 'B'
	}
	if _, err := b.Open(s[:i] + string(bad) + s[i+1:]); err == nil {
		t.Fatal("opened a damaged value")
	}
	if _, err := b.Open("plain"); err == nil {
		t.Fatal("opened an unsealed value")
	}
	if e, _ := b.Seal(""); e != "" {
		t.Fatal("empty secret sealed")
	}
	if _, err := Load("not base64!", ""); err == nil {
		t.Fatal("bad env key accepted")
	}
	if _, err := Load(base64.StdEncoding.EncodeToString([]byte("short")), ""); err == nil {
		t.Fatal("short key accepted")
	}
}

// Two processes starting together on a new data directory end up with one
// key: the loser of the O_EXCL race reads the winner's file.
func TestLoadRace(t *testing.T) {
	dir := t.TempDir()
	boxes := make(chan *Box, 8)
	for i := 0; i < 8; i++ {
		go func() {
			b, err := Load("", dir)
			if err != nil {
				t.Error(err)
			}
			boxes <- b
		}()
	}
	first := <-boxes
	sealed, _ := first.Seal("x")
	for i := 1; i < 8; i++ {
		b := <-boxes
		if b == nil {
			t.Fatal("load failed")
		}
		if p, err := b.Open(sealed); err != nil || p != "x" {
			t.Fatal("two keys were created")
		}
	}
}
