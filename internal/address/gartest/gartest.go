// Package gartest writes generated ФИАС/ГАР dumps of any size in the
// official file and element shapes, for the importer's benchmarks and the
// command's crash test. The names are made of Russian syllables so that
// prefixes spread as they do in real data.
package gartest

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Region describes the generated region: Cities cities, each with
// StreetsPerCity streets, each with HousesPerStreet houses (every fifth
// with a корпус).
type Region struct {
	Code            int
	Cities          int
	StreetsPerCity  int
	HousesPerStreet int
	Seed            uint64
}

// Counts are what Write wrote.
type Counts struct {
	Objects int // address objects (region, cities, streets)
	Houses  int
}

var syllables = []string{"ка", "ло", "ми", "ре", "ту", "на", "во", "се", "ли", "да", "ро", "жи", "пу", "ве", "зо", "ба", "ча", "ле", "ко", "ры", "гор", "лес", "бер", "сос", "ёл"}

func name(r *rand.Rand, suffixes []string) string {
	var b strings.Builder
	for i := 0; i < 2+r.IntN(2); i++ {
		b.WriteString(syllables[r.IntN(len(syllables))])
	}
	b.WriteString(suffixes[r.IntN(len(suffixes))])
	s := []rune(b.String())
	return strings.ToUpper(string(s[0])) + string(s[1:])
}

// GUID is the OBJECTGUID Write gives object id.
func GUID(id int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", id, id) }

// Write writes the region's AS_ADDR_OBJ, AS_HOUSES, AS_ADM_HIERARCHY,
// AS_ADDR_OBJ_PARAMS and AS_HOUSES_PARAMS files into dir/<code>/.
func Write(dir string, reg Region) (Counts, error) {
	var c Counts
	folder := filepath.Join(dir, fmt.Sprint(reg.Code))
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return c, err
	}
	type file struct {
		f    *os.File
		w    *bufio.Writer
		root string // the document element, closed at the end
	}
	open := func(kind, root string, n int) (*file, error) {
		f, err := os.Create(filepath.Join(folder, fmt.Sprintf("AS_%s_20240105_%08x-1111-4222-8333-%012x.XML", kind, n, reg.Code)))
		if err != nil {
			return nil, err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<%s>\n", root)
		return &file{f, w, root}, nil
	}
	objs, err := open("ADDR_OBJ", "ADDRESSOBJECTS", 1)
	if err != nil {
		return c, err
	}
	houses, err := open("HOUSES", "HOUSES", 2)
	if err != nil {
		return c, err
	}
	hier, err := open("ADM_HIERARCHY", "ITEMS", 3)
	if err != nil {
		return c, err
	}
	oparams, err := open("ADDR_OBJ_PARAMS", "PARAMS", 4)
	if err != nil {
		return c, err
	}
	hparams, err := open("HOUSES_PARAMS", "PARAMS", 5)
	if err != nil {
		return c, err
	}
	const dates = `UPDATEDATE="2024-01-05" STARTDATE="2020-01-01" ENDDATE="2079-06-06"`
	r := rand.New(rand.NewPCG(reg.Seed, uint64(reg.Code)))
	id := 0
	obj := func(n, typ string, level, parent int, path string) int {
		id++
		fmt.Fprintf(objs.w, "  <OBJECT ID=\"%d\" OBJECTID=\"%d\" OBJECTGUID=\"%s\" CHANGEID=\"%d\" NAME=\"%s\" TYPENAME=\"%s\" LEVEL=\"%d\" OPERTYPEID=\"10\" %s ISACTUAL=\"1\" ISACTIVE=\"1\"/>\n",
			id, id, GUID(id), id, n, typ, level, dates)
		hierItem(hier.w, id, parent, path, reg.Code, dates)
		c.Objects++
		return id
	}
	region := obj(fmt.Sprintf("Регион %d", reg.Code), "обл", 1, 0, "")
	for ci := 0; ci < reg.Cities; ci++ {
		city := obj(name(r, []string{"ск", "ово", "ино", "град", "ь"}), "г", 5, region, fmt.Sprint(region))
		fmt.Fprintf(oparams.w, "  <PARAM ID=\"%d\" OBJECTID=\"%d\" CHANGEID=\"%d\" CHANGEIDEND=\"0\" TYPEID=\"10\" VALUE=\"%02d0000%05d00\" %s/>\n", city, city, city, reg.Code, ci, dates)
		for si := 0; si < reg.StreetsPerCity; si++ {
			typ := []string{"ул", "ул", "ул", "пер", "пр-кт", "наб", "ш", "б-р"}[r.IntN(8)]
			street := obj(name(r, []string{"ская", "ная", "овая", "инская"}), typ, 8, city, fmt.Sprintf("%d.%d", region, city))
			for hi := 1; hi <= reg.HousesPerStreet; hi++ {
				id++
				add := ""
				if hi%5 == 0 {
					add = ` ADDNUM1="1" ADDTYPE1="1"`
				}
				fmt.Fprintf(houses.w, "  <HOUSE ID=\"%d\" OBJECTID=\"%d\" OBJECTGUID=\"%s\" CHANGEID=\"%d\" HOUSENUM=\"%d\"%s HOUSETYPE=\"2\" OPERTYPEID=\"10\" %s ISACTUAL=\"1\" ISACTIVE=\"1\"/>\n",
					id, id, GUID(id), id, hi, add, dates)
				hierItem(hier.w, id, street, fmt.Sprintf("%d.%d.%d", region, city, street), reg.Code, dates)
				fmt.Fprintf(hparams.w, "  <PARAM ID=\"%d\" OBJECTID=\"%d\" CHANGEID=\"%d\" CHANGEIDEND=\"0\" TYPEID=\"5\" VALUE=\"%06d\" %s/>\n", id, id, id, 100000+ci, dates)
				c.Houses++
			}
		}
	}
	for _, f := range []*file{objs, houses, hier, oparams, hparams} {
		fmt.Fprintf(f.w, "</%s>\n", f.root)
		if err := f.w.Flush(); err != nil {
			return c, err
		}
		if err := f.f.Close(); err != nil {
			return c, err
		}
	}
	return c, nil
}

func hierItem(w *bufio.Writer, id, parent int, path string, region int, dates string) {
	p := ""
	if parent != 0 {
		p = fmt.Sprintf(` PARENTOBJID="%d"`, parent)
		path += "."
	}
	fmt.Fprintf(w, "  <ITEM ID=\"%d\" OBJECTID=\"%d\"%s CHANGEID=\"%d\" REGIONCODE=\"%d\" %s ISACTIVE=\"1\" PATH=\"%s%d\"/>\n",
		id, id, p, id, region, dates, path, id)
}
