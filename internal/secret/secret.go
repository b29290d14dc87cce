// Package secret encrypts the secrets Obmen keeps for others — connector
// passwords, webhook tokens and signing keys — so that a copy of the
// database alone does not give them away. AES-256-GCM with a key that
// lives outside the database: OBMEN_SECRET_KEY (base64 of 32 bytes), or a
// key file in the data directory created on first use. Several instances
// on one PostgreSQL must share the key (set OBMEN_SECRET_KEY on each).
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// prefix marks sealed values and names the scheme, so that it can change.
const prefix = "v1:"

// Box seals and opens secrets with one key.
type Box struct {
	aead cipher.AEAD
	id   []byte // HMAC of a fixed label under the key, for ID
	key  []byte // for Derive
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("obmen installation id"))
	return &Box{aead: aead, id: m.Sum(nil), key: slices.Clone(key)}, nil
}

// Derive returns a 32-byte key for one purpose (label), the same on every
// instance that shares this installation's key: an HMAC of the label
// under the key, which does not reveal the key.
func (b *Box) Derive(label string) []byte {
	m := hmac.New(sha256.New, b.key)
	m.Write([]byte("obmen derived key: " + label))
	return m.Sum(nil)
}

// Load returns the Box of this installation: the key from envKey (base64)
// when set, else from dataDir/secret.key, created (mode 0600) when absent.
func Load(envKey, dataDir string) (*Box, error) {
	if envKey != "" {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(envKey))
		if err != nil {
			return nil, fmt.Errorf("secret: OBMEN_SECRET_KEY is not base64: %w", err)
		}
		return New(key)
	}
	path := filepath.Join(dataDir, "secret.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		enc := base64.StdEncoding.EncodeToString(key) + "\n"
		// Write a temporary file, then link it into place: link fails if
		// the name exists, so two processes starting together agree on
		// one key, and the key file is never seen half written.
		tmp, ferr := os.CreateTemp(dataDir, ".secret.key-*")
		if ferr != nil {
			return nil, fmt.Errorf("secret: %w", ferr)
		}
		defer os.Remove(tmp.Name())
		_, werr := tmp.WriteString(enc)
		if serr := tmp.Sync(); werr == nil {
			werr = serr
		}
		if cerr := tmp.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Chmod(tmp.Name(), 0o600)
		}
		if werr != nil {
			return nil, fmt.Errorf("secret: write %s: %w", path, werr)
		}
		ferr = os.Link(tmp.Name(), path)
		if ferr == nil {
			return New(key)
		}
		if !errors.Is(ferr, os.ErrExist) {
			return nil, fmt.Errorf("secret: create %s: %w", path, ferr)
		}
		// Another process created it first: use its key.
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("secret: read %s: %w", path, err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("secret: %s is not base64: %w", path, err)
	}
	return New(key)
}

// Seal encrypts plain; "" stays "" (no secret set).
func (b *Box) Seal(plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secret: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(plain), nil)
	return prefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value made by Seal.
func (b *Box) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", errors.New("secret: value is not sealed by this version")
	}
	raw, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", errors.New("secret: sealed value is damaged")
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", errors.New("secret: cannot open the value: wrong key or damaged data")
	}
	return string(plain), nil
}

// ID is a short, stable identifier derived from the key (not the key: a
// one-way hash), for naming this installation to others.
func (b *Box) ID() string {
	sum := sha256.Sum256(b.id)
	return hex.EncodeToString(sum[:16])
}
