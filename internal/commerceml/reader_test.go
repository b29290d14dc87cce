package commerceml

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// dump reads a whole document into one line of JSON per entity.
func dump(r io.Reader, name string) (string, error) {
	rd := NewReader(r, name)
	var b strings.Builder
	for {
		v, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return b.String(), err
		}
		j, _ := json.Marshal(v)
		fmt.Fprintf(&b, "%T %s\n", v, j)
	}
	fmt.Fprintf(&b, "header %+v\n", rd.Header)
	return b.String(), nil
}

func TestGoldenDocuments(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*.xml")
	if len(files) < 12 {
		t.Fatalf("only %d test documents", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			got, err := dump(fh, filepath.Base(f))
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			golden := strings.TrimSuffix(f, ".xml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from golden:\n%s", f, got)
			}
		})
	}
}

// The same content in cp1251 and in UTF-8 with a BOM reads the same.
func TestEncodingsReadAlike(t *testing.T) {
	t.Parallel()
	read := func(name string) string {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := dump(bytes.NewReader(b), "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// The version differs by design.
		return strings.NewReplacer("2.04", "V", "2.05", "V").Replace(s)
	}
	if a, b := read("import_204_cp1251.xml"), read("import_205_bom.xml"); a != b {
		t.Errorf("cp1251 and UTF-8+BOM differ:\n%s\n---\n%s", a, b)
	}
}

func TestReaderErrors(t *testing.T) {
	t.Parallel()
	utf := func(body string) string {
		return `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + body
	}
	cases := []struct {
		name, doc, want string
	}{
		{"malformed", utf("<КоммерческаяИнформация ВерсияСхемы=\"2.04\">\n<Каталог><Товары><Товар><Ид>1</Ид></Товр></Товары></Каталог></КоммерческаяИнформация>"), "line 3, element <Товар>"},
		{"truncated", utf("<КоммерческаяИнформация ВерсияСхемы=\"2.04\">\n<Каталог>\n<Товары>"), "truncated"},
		{"empty", "", "empty document"},
		{"wrong root", utf("<html></html>"), "root element is <html>"},
		{"doctype", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><КоммерческаяИнформация/>`, "DOCTYPE"},
		{"entity", utf("<КоммерческаяИнформация ВерсияСхемы=\"2.04\"><Документ><Номер>&e;</Номер></Документ></КоммерческаяИнформация>"), "element <Документ>"},
		{"unknown encoding", `<?xml version="1.0" encoding="KOI8-R"?><КоммерческаяИнформация/>`, "unsupported encoding"},
		{"cp1251 bytes declared UTF-8", utf("<КоммерческаяИнформация ВерсияСхемы=\"2.04\"><Документ><Номер>\xcd\xee\xec\xe5\xf0</Номер></Документ></КоммерческаяИнформация>"), "invalid UTF-8"},
		{"version", utf(`<КоммерческаяИнформация ВерсияСхемы="3.1"/>`), "schema version \"3.1\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := dump(strings.NewReader(c.doc), "import.xml")
			if err == nil {
				t.Fatalf("no error")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "import.xml") {
				t.Fatalf("error %q does not contain %q and the file name", err, c.want)
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %T is not a *commerceml.Error wrapping ErrSyntax", err)
			}
		})
	}
}

func TestServiceAndVAT(t *testing.T) {
	t.Parallel()
	cases := []struct {
		reqs    []Requisite
		service bool
	}{
		{nil, false},
		{[]Requisite{{"ВидНоменклатуры", "Товар"}}, false},
		{[]Requisite{{"ВидНоменклатуры", "Услуга"}}, true},
		{[]Requisite{{"ТипНоменклатуры", " услуга "}}, true},
		{[]Requisite{{"ВидНоменклатуры", "Товар"}, {"ТипНоменклатуры", "Услуга"}}, true},
	}
	for i, c := range cases {
		g := Good{Requisites: c.reqs}
		if g.IsService() != c.service {
			t.Errorf("case %d: IsService = %v", i, !c.service)
		}
	}
	o := Offer{ID: "abc#def"}
	if o.GoodID() != "abc" {
		t.Errorf("GoodID %q", o.GoodID())
	}
}

func FuzzReader(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.xml")
	for _, fn := range files {
		b, _ := os.ReadFile(fn)
		f.Add(b)
	}
	f.Add([]byte(`<КоммерческаяИнформация><Классификатор><Группы><Группа><Группы><Группа/></Группы></Группа></Группы></Классификатор></КоммерческаяИнформация>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rd := NewReader(bytes.NewReader(b), "fuzz.xml")
		for i := 0; i < 100000; i++ {
			v, err := rd.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %T %v is not a *Error", err, err)
				}
				return
			}
			if v == nil {
				t.Fatal("nil entity without error")
			}
		}
	})
}
