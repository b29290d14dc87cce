package address

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/obmen/obmen/internal/address/gartest"
)

// xsdFor names the official ГАР schema (testdata/xsd, as published with
// the dump) of each file kind.
var xsdFor = map[fileKind]string{
	kindAddrObj:       "AS_ADDR_OBJ_2_251_01_04_01_01.xsd",
	kindHouses:        "AS_HOUSES_2_251_08_04_01_01.xsd",
	kindHierarchy:     "AS_ADM_HIERARCHY_2_251_04_04_01_01.xsd",
	kindAddrObjParams: "AS_PARAM_2_251_02_04_01_01.xsd",
	kindHousesParams:  "AS_PARAM_2_251_02_04_01_01.xsd",
}

// TestFixturesValidateAgainstOfficialXSD keeps the fixtures honest: every
// file of testdata/gar and testdata/delta is valid against the schema the
// Federal Tax Service publishes for its kind.
func TestFixturesValidateAgainstOfficialXSD(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("OBMEN_TEST_CI") != "" || os.Getenv("CI") != "" {
			t.Fatal("xmllint not found (apt-get install libxml2-utils; scripts/test.sh installs it)")
		}
		t.Skip("xmllint not found")
	}
	// The generator of the benchmarks and the crash test writes the same
	// shapes.
	gen := t.TempDir()
	if _, err := gartest.Write(gen, gartest.Region{Code: 7, Cities: 2, StreetsPerCity: 3, HousesPerStreet: 6}); err != nil {
		t.Fatal(err)
	}
	generated, _ := filepath.Glob(filepath.Join(gen, "7", "*.XML"))
	files, _ := filepath.Glob("testdata/*/*/*.XML")
	files = append(files, generated...)
	if len(files) < 15 {
		t.Fatalf("found %d fixture files, want the two regions and the delta", len(files))
	}
	for _, f := range files {
		rel := filepath.Join(filepath.Base(filepath.Dir(f)), filepath.Base(f))
		kind, _, ok := classify(rel)
		if !ok {
			t.Errorf("%s: not a ГАР file name the importer reads", f)
			continue
		}
		out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", filepath.Join("testdata", "xsd", xsdFor[kind]), f).CombinedOutput()
		if err != nil {
			t.Errorf("%s is not valid against %s:\n%s", f, xsdFor[kind], out)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name   string
		kind   fileKind
		region int
		ok     bool
	}{
		{"77/AS_ADDR_OBJ_20240105_0a1b2c3d-1111-4222-8333-444455556666.XML", kindAddrObj, 77, true},
		{"gar/01/as_houses_20240105_0a1b2c3d-1111-4222-8333-444455556666.xml", kindHouses, 1, true},
		{"16/AS_ADDR_OBJ_PARAMS_20240105_0a1b2c3d-1111-4222-8333-444455556666.XML", kindAddrObjParams, 16, true},
		{"16/AS_HOUSES_PARAMS_20240105_0a1b2c3d-1111-4222-8333-444455556666.XML", kindHousesParams, 16, true},
		{"16/AS_ADM_HIERARCHY_20240105_0a1b2c3d-1111-4222-8333-444455556666.XML", kindHierarchy, 16, true},
		{"16/AS_MUN_HIERARCHY_20240105_0a1b2c3d-1111-4222-8333-444455556666.XML", 0, 0, false},
		{"16/AS_ADDR_OBJ_DIVISION_20240105_0a1b2c3d-1111-4222-8333-444455556666.XML", 0, 0, false},
		{"AS_ADDR_OBJ_TYPES_20240105_0a1b2c3d-1111-4222-8333-444455556666.XML", 0, 0, false},
		{"AS_ADDR_OBJ_20240105_0a1b2c3d-1111-4222-8333-444455556666.XML", 0, 0, false}, // no region folder
		{"16/AS_STEADS_20240105_0a1b2c3d-1111-4222-8333-444455556666.XML", 0, 0, false},
	} {
		kind, region, ok := classify(tc.name)
		if ok != tc.ok || kind != tc.kind || region != tc.region {
			t.Errorf("classify(%s) = %v, %d, %v; want %v, %d, %v", tc.name, kind, region, ok, tc.kind, tc.region, tc.ok)
		}
	}
}
