// Package schematest validates the CommerceML documents Obmen writes
// against the schema of the version they declare, with xmllint. Tests of
// the writer and of the exchange's query answer use it; it is not linked
// into the binary.
//
// The schemas are in ../testdata/xsd (see the README there): Obmen's
// schemas of the orders document, and 1C's official commerceml.xsd of
// 2.08 and 2.10, against which every document is validated too (the
// catalog and the offers Obmen writes to sites as well as its orders).
// When OBMEN_CML_XSD_DIR names a folder holding more official files
// (commerceml-2.09.xsd), a document of that version is checked against it.
package schematest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

// Namespace is the one the official schemas of 2.03–2.10 declare.
const Namespace = "urn:1C.ru:commerceml_2"

var versionRE = regexp.MustCompile(`ВерсияСхемы="([0-9.]+)"`)

// SchemaVersion is the version whose schema checks a document declaring
// v: 2.08, 2.09 and 2.10 have their own; the official schemas of 2.03 to
// 2.07 are not published where Obmen's sources could find them, so those
// documents are held to 2.08, the oldest published (its Документ has the
// elements and the order of the 2.0x documents 1C writes).
func SchemaVersion(v string) string {
	switch v {
	case "2.09", "2.10":
		return v
	}
	return "2.08"
}

func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "xsd")
}

// Validate fails t unless doc (as written, in its own encoding) is valid
// against the schema of the version it declares, in the namespace that
// schema has.
func Validate(t testing.TB, doc []byte) {
	t.Helper()
	if err := Check(doc); err != nil {
		t.Fatal(err)
	}
}

// Check is Validate returning the error.
func Check(doc []byte) error {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		return fmt.Errorf("schematest: xmllint not found (apt-get install libxml2-utils; scripts/test.sh installs it)")
	}
	head := doc[:min(len(doc), 512)]
	if bytes.Contains(bytes.ToLower(head), []byte("windows-1251")) {
		if u, err := charmap.Windows1251.NewDecoder().Bytes(head); err == nil {
			head = u
		}
	}
	m := versionRE.FindSubmatch(head)
	if m == nil {
		return fmt.Errorf("schematest: the document declares no ВерсияСхемы")
	}
	v := string(m[1])
	if !bytes.Contains(head, []byte(`xmlns="`+Namespace+`"`)) {
		return fmt.Errorf("schematest: the document does not declare the default namespace %s", Namespace)
	}
	schemas := []string{filepath.Join(dir(), "orders-"+SchemaVersion(v)+".xsd")}
	official, temp, err := Official(v)
	if err != nil {
		return err
	}
	if temp {
		defer os.Remove(official)
	}
	if official != "" {
		schemas = append(schemas, official)
	}
	f, err := os.CreateTemp("", "cml-*.xml")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(doc); err != nil {
		f.Close()
		return err
	}
	f.Close()
	for _, s := range schemas {
		out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", s, f.Name()).CombinedOutput()
		if err != nil {
			return fmt.Errorf("schematest: a %s document is not valid against %s:\n%s", v, s, strings.ReplaceAll(string(out), f.Name(), "document"))
		}
	}
	return nil
}

// unitType is the official 2.08 schema's ЕдиницаТип: an ОКЕИ code of 3–4
// characters.
const unitType = `<xsd:restriction base="xsd:string">
            <xsd:maxLength value="4"/>
            <xsd:minLength value="3"/>
        </xsd:restriction>`

// Official is the path of 1C's official schema that checks a document
// declaring version v ("" when there is none): the file of v in
// ../testdata/xsd (2.08, 2.10) or in OBMEN_CML_XSD_DIR (2.09). No official
// schema of 2.03–2.07 is published where Obmen's sources could find it;
// their documents are checked against the 2.08 file with one difference
// of 1C's own files of those versions: a price's <Единица> is the unit's
// short name ("шт"), which 2.08's ЕдиницаТип (an ОКЕИ code of 3–4
// characters) refuses — Official then answers a temporary copy of the
// 2.08 file with ЕдиницаТип a plain string (temp), which the caller
// removes.
func Official(v string) (path string, temp bool, err error) {
	sv := SchemaVersion(v)
	p := filepath.Join(dir(), "commerceml-"+sv+".xsd")
	if _, err := os.Stat(p); err != nil {
		p = ""
		if d := os.Getenv("OBMEN_CML_XSD_DIR"); d != "" {
			if _, err := os.Stat(filepath.Join(d, "commerceml-"+sv+".xsd")); err == nil {
				p = filepath.Join(d, "commerceml-"+sv+".xsd")
			}
		}
	}
	if p == "" || sv == v {
		return p, false, nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", false, err
	}
	i := bytes.Index(b, []byte(`<xsd:simpleType name="ЕдиницаТип">`))
	j := bytes.Index(b[max(i, 0):], []byte(unitType))
	if i < 0 || j < 0 {
		return "", false, fmt.Errorf("schematest: %s has no ЕдиницаТип of 3–4 characters to relax for a %s document", p, v)
	}
	relaxed := append(append(append([]byte{}, b[:i+j]...), `<xsd:restriction base="xsd:string"/>`...), b[i+j+len(unitType):]...)
	f, err := os.CreateTemp("", "commerceml-"+v+"-*.xsd")
	if err != nil {
		return "", false, err
	}
	if _, err := f.Write(relaxed); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", false, err
	}
	return f.Name(), true, f.Close()
}
