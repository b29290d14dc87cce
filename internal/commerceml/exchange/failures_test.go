package exchange_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/commerceml/exchange"
)

// snapshot is what a failed exchange must not change.
func (e *env) snapshot() string {
	e.t.Helper()
	var n, ev int64
	if err := e.d.Read.QueryRow("SELECT COUNT(*) FROM products").Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	if err := e.d.Read.QueryRow("SELECT COUNT(*) FROM events").Scan(&ev); err != nil {
		e.t.Fatal(err)
	}
	var cats, units int64
	_ = e.d.Read.QueryRow("SELECT COUNT(*) FROM catalogs").Scan(&cats)
	_ = e.d.Read.QueryRow("SELECT COUNT(*) FROM units").Scan(&units)
	// Nothing of a failed file stays staged either.
	var staged int64
	_ = e.d.Read.QueryRow("SELECT (SELECT COUNT(*) FROM cml_stage_products) + (SELECT COUNT(*) FROM cml_stage_other) + (SELECT COUNT(*) FROM cml_stage_src)").Scan(&staged)
	return fmt.Sprintf("products=%d events=%d catalogs=%d units=%d staged=%d", n, ev, cats, units, staged)
}

// Bad input of every kind: a precise failure, a journal entry, nothing
// changed, and the server goes on.
func TestFailures(t *testing.T) {
	good := func(t testing.TB) string { return string(testdata(t, "import_207.xml")) }
	// The catalog breaks after two goods have been read.
	malformed := func(t testing.TB) []byte {
		s := good(t)
		i := strings.Index(s, "<Ид>a1b2c3d4-0001-11e0-8000-000000000003</Ид>")
		return []byte(s[:i] + "<Ид>x</Идентификатор>" + s[i+len("<Ид>a1b2c3d4-0001-11e0-8000-000000000003</Ид>"):])
	}
	cases := []struct {
		name     string
		file     string
		data     func(t testing.TB) []byte
		settings func(*exchange.Settings)
		stage    string // "file" when the upload itself is refused
		want     string
	}{
		{"malformed XML", "import.xml", malformed, nil, "import", "failure\ncommerceml: import.xml line 74, element <Товар>: malformed CommerceML: XML syntax error on line 74: element <Ид> closed by </Идентификатор>"},
		{"wrong encoding", "import.xml", func(t testing.TB) []byte {
			b := testdata(t, "import_204_cp1251.xml")
			return bytes.Replace(b, []byte(`encoding="windows-1251"`), []byte(`encoding="UTF-8"`), 1)
		}, nil, "import", "import.xml line 2: malformed CommerceML: bytes that are not valid in the declared encoding"},
		{"unknown encoding", "import.xml", func(t testing.TB) []byte {
			return []byte(strings.Replace(good(t), `encoding="UTF-8"`, `encoding="KOI8-R"`, 1))
		}, nil, "import", "unsupported encoding \"KOI8-R\""},
		{"truncated file", "import.xml", func(t testing.TB) []byte { s := good(t); return []byte(s[:len(s)*2/3]) }, nil, "import",
			"element <Товар>: malformed CommerceML: document ends before its elements are closed (truncated?)"},
		{"DOCTYPE", "import.xml", func(t testing.TB) []byte {
			return []byte(strings.Replace(good(t), "?>", "?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>", 1))
		}, nil, "import", "DOCTYPE and other directives are not allowed"},
		{"orders sent as catalog", "import.xml", func(t testing.TB) []byte { return testdata(t, "orders_207.xml") }, nil, "import", "an orders document belongs to type=sale"},
		{"oversized file", "import.xml", func(t testing.TB) []byte { return []byte(good(t)) }, func(s *exchange.Settings) { s.MaxFileBytes = 3000; s.FileLimit = 1000 }, "file",
			"failure\nupload refused: import.xml would be larger than 3000 bytes"},
		{"traversal", "../../import.xml", func(t testing.TB) []byte { return []byte(good(t)) }, nil, "file", "has an empty, \".\" or \"..\" part"},
		{"absolute", "/tmp/import.xml", func(t testing.TB) []byte { return []byte(good(t)) }, nil, "file", "is absolute"},
		{"zip slip", "import.xml", func(t testing.TB) []byte {
			return zipOf(t, map[string][]byte{"../../import.xml": []byte(good(t))})
		}, nil, "import", "archive entry: upload refused: file name \"../../import.xml\" has an empty"},
		{"zip bomb", "import.xml", func(t testing.TB) []byte {
			return zipOf(t, map[string][]byte{"import.xml": bytes.Repeat([]byte(" "), 20<<20)})
		}, nil, "import", "zip bomb"},
		{"unpacked size", "import.xml", func(t testing.TB) []byte {
			return zipOf(t, map[string][]byte{"import.xml": []byte(good(t))})
		}, func(s *exchange.Settings) { s.MaxUnpackedBytes = 1000 }, "import", "archive unpacks to more than 1000 bytes"},
		{"not uploaded", "import.xml", nil, nil, "import", "failure\nimport.xml was not uploaded in this session"},
	}
	each(t, func(t *testing.T, e *env) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.t = t
				e.settings(func(s *exchange.Settings) {
					if c.settings != nil {
						c.settings(s)
					}
				})
				before := e.snapshot()
				one := e.oneC()
				one.checkauth("catalog")
				name := c.file
				var out string
				if c.data != nil {
					data := c.data(t)
					if bytes.HasPrefix(data, []byte("PK")) {
						name = "upload.zip"
					}
					out = one.upload("catalog", name, data, 1000)
				}
				if c.stage == "import" {
					if c.data != nil && out != "success\n" {
						t.Fatalf("upload: %q", out)
					}
					out, _ = one.importAll(c.file)
				}
				if !strings.HasPrefix(out, "failure\n") || !strings.Contains(out, c.want) {
					t.Fatalf("answer %q, want failure with %q", out, c.want)
				}
				if after := e.snapshot(); after != before {
					t.Fatalf("changed: %s → %s", before, after)
				}
				en := e.entries()[0]
				if en.Status != "failure" || en.FinishedAt == nil || !strings.Contains(en.Error, strings.TrimPrefix(c.want, "failure\n")) {
					t.Fatalf("journal: %+v", en)
				}
			})
		}
		// A chunk cut off mid-way by a broken connection.
		t.Run("connection broken mid-chunk", func(t *testing.T) {
			e.t = t
			e.settings(func(*exchange.Settings) {})
			one := e.oneC()
			one.checkauth("catalog")
			before := e.snapshot()
			n := len(e.entries())
			conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			q := url.Values{"type": {"catalog"}, "mode": {"file"}, "filename": {"import.xml"}}
			fmt.Fprintf(conn, "POST /1c_exchange.php?%s HTTP/1.1\r\nHost: x\r\nCookie: %s=%s\r\nContent-Length: 5000\r\n\r\n%s",
				q.Encode(), exchange.CookieName, one.cookie, strings.Repeat("x", 100))
			_ = conn.(*net.TCPConn).CloseWrite()
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err == nil {
				res.Body.Close()
			}
			ents := e.entries()
			if len(ents) != n+1 || ents[0].Status != "failure" || !strings.Contains(ents[0].Error, "import.xml arrived incomplete after 100 bytes") {
				t.Fatalf("journal: %+v", ents[0])
			}
			// The import of that file answers why it cannot be done.
			if out, _ := one.importAll("import.xml"); !strings.Contains(out, "arrived incomplete") {
				t.Fatalf("after a broken chunk: %q", out)
			}
			if after := e.snapshot(); after != before {
				t.Fatalf("changed: %s → %s", before, after)
			}
		})
		// And the server still works.
		t.Run("still serving", func(t *testing.T) {
			e.t = t
			e.settings(func(*exchange.Settings) {})
			one := e.oneC()
			one.checkauth("catalog")
			if out := one.upload("catalog", "import.xml", testdata(t, "import_207.xml"), 1000); out != "success\n" {
				t.Fatal(out)
			}
			if out, _ := one.importAll("import.xml"); out != "success\n" {
				t.Fatal(out)
			}
		})
	})
}
