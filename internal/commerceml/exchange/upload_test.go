package exchange

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"import.xml", "import0_1.xml", "import_files/ab/abc.jpg", "Файл.xml"} {
		if _, err := CleanName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "c:\\x", "a\\..\\b", "x\x00", "a/", "..", "\x01"} {
		if _, err := CleanName(bad); !errors.Is(err, ErrUpload) {
			t.Errorf("%q accepted", bad)
		}
	}
}

type brokenReader struct{ n int }

func (b *brokenReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := min(len(p), b.n)
	b.n -= n
	return n, nil
}

func TestAppendChunk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := AppendChunk(dir, "sub/import.xml", strings.NewReader("abc"), 10, 100); err != nil {
		t.Fatal(err)
	}
	if n, err := AppendChunk(dir, "sub/import.xml", strings.NewReader("def"), 10, 100); err != nil || n != 6 {
		t.Fatal(n, err)
	}
	// A broken chunk leaves the file as it was.
	if _, err := AppendChunk(dir, "sub/import.xml", &brokenReader{n: 4}, 10, 100); !errors.Is(err, ErrUpload) || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("broken chunk: %v", err)
	}
	if _, err := AppendChunk(dir, "sub/import.xml", strings.NewReader("0123456789X"), 10, 100); err == nil || !strings.Contains(err.Error(), "file_limit") {
		t.Fatalf("oversized chunk: %v", err)
	}
	if _, err := AppendChunk(dir, "sub/import.xml", strings.NewReader("0123456"), 10, 12); err == nil || !strings.Contains(err.Error(), "larger than 12") {
		t.Fatalf("oversized file: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "sub/import.xml"))
	if string(b) != "abcdef" {
		t.Fatalf("file is %q", b)
	}
	if _, err := AppendChunk(dir, "../escape", strings.NewReader("x"), 10, 100); !errors.Is(err, ErrUpload) {
		t.Fatal("traversal accepted")
	}
}

func makeZip(t testing.TB, entries map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range entries {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var testLimits = ZipLimits{MaxFiles: 100, MaxUnpacked: 10 << 20, MaxRatio: 100}

func TestUnzip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		entries map[string][]byte
		lim     ZipLimits
		want    string // error text, "" for success
	}{
		{"ok", map[string][]byte{"import.xml": []byte("<x/>"), "import_files/ab/a.jpg": []byte("jpg")}, testLimits, ""},
		{"zip slip", map[string][]byte{"../../evil.xml": []byte("x")}, testLimits, "\"..\""},
		{"absolute", map[string][]byte{"/etc/evil": []byte("x")}, testLimits, "absolute"},
		{"backslash", map[string][]byte{"..\\evil": []byte("x")}, testLimits, "absolute or not a plain"},
		{"bomb by ratio", map[string][]byte{"bomb.xml": bytes.Repeat([]byte{0}, 8<<20)}, testLimits, "zip bomb"},
		{"too big", map[string][]byte{"big.xml": bytes.Repeat([]byte("abcdefghij"), 300)}, ZipLimits{MaxUnpacked: 1000, MaxRatio: 1000}, "more than 1000 bytes"},
		{"too many files", map[string][]byte{"a": nil, "b": nil, "c": nil}, ZipLimits{MaxFiles: 2, MaxUnpacked: 100, MaxRatio: 10}, "3 files"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "upload.zip")
			_ = os.WriteFile(src, makeZip(t, c.entries), 0o600)
			out := filepath.Join(dir, "out")
			files, err := Unzip(src, out, c.lim)
			if c.want == "" {
				if err != nil || len(files) != len(c.entries) {
					t.Fatalf("%v %v", files, err)
				}
				b, _ := os.ReadFile(filepath.Join(out, "import_files/ab/a.jpg"))
				if string(b) != "jpg" {
					t.Fatal("content")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrUpload) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			// Nothing escapes and nothing half-written stays.
			_ = filepath.Walk(dir, func(p string, info os.FileInfo, _ error) error {
				if info != nil && !info.IsDir() && p != src {
					t.Errorf("left behind: %s", p)
				}
				return nil
			})
		})
	}
	if _, err := Unzip("/nonexistent.zip", t.TempDir(), testLimits); !errors.Is(err, ErrUpload) {
		t.Fatal("missing archive")
	}
}

func FuzzUnzip(f *testing.F) {
	f.Add(makeZip(f, map[string][]byte{"import.xml": []byte("<x/>")}))
	f.Add(makeZip(f, map[string][]byte{"../x": []byte("x"), "a/b/c": bytes.Repeat([]byte("a"), 5000)}))
	f.Add([]byte("PK\x03\x04garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		src := filepath.Join(dir, "in.zip")
		_ = os.WriteFile(src, data, 0o600)
		out := filepath.Join(dir, "out")
		files, err := Unzip(src, out, ZipLimits{MaxFiles: 50, MaxUnpacked: 1 << 20, MaxRatio: 50})
		if err != nil && !errors.Is(err, ErrUpload) && !strings.Contains(err.Error(), "exchange:") {
			t.Fatalf("unexpected error kind: %v", err)
		}
		// Whatever happened, nothing was written outside out.
		_ = filepath.Walk(dir, func(p string, info os.FileInfo, _ error) error {
			if info != nil && !info.IsDir() && p != src && !strings.HasPrefix(p, out+string(filepath.Separator)) {
				t.Fatalf("wrote outside: %s", p)
			}
			return nil
		})
		_ = files
	})
}
