// Package schematest validates the CommerceML documents Obmen writes
// against the schema of the version they declare, with xmllint. Tests of
// the writer and of the exchange's query answer use it; it is not linked
// into the binary.
//
// The schemas are in ../testdata/xsd (see the README there). When
// OBMEN_CML_XSD_DIR names a folder holding 1C's official schema files
// (commerceml-2.08.xsd, commerceml-2.09.xsd, commerceml-2.10.xsd), each
// document is validated against the official file of its version too.
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
	if official := os.Getenv("OBMEN_CML_XSD_DIR"); official != "" {
		p := filepath.Join(official, "commerceml-"+SchemaVersion(v)+".xsd")
		if _, err := os.Stat(p); err == nil {
			schemas = append(schemas, p)
		}
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
