package address

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// fileKind is one of the ГАР files the importer reads; the others (flats,
// rooms, steads, municipal hierarchy, history, type dictionaries) are
// skipped. The order is the order of import within a region: objects
// before the hierarchy that links them, before the parameters set on them.
type fileKind int

const (
	kindAddrObj fileKind = iota
	kindHouses
	kindHierarchy
	kindAddrObjParams
	kindHousesParams
)

// element is the name of each kind's record element.
var element = map[fileKind]string{
	kindAddrObj: "OBJECT", kindHouses: "HOUSE", kindHierarchy: "ITEM",
	kindAddrObjParams: "PARAM", kindHousesParams: "PARAM",
}

// garFile matches the names of the files read, e.g.
// AS_ADDR_OBJ_20240101_8f5e…​.XML; AS_ADDR_OBJ_DIVISION and the type
// dictionaries do not match.
var garFile = regexp.MustCompile(`(?i)^AS_(ADDR_OBJ|HOUSES|ADM_HIERARCHY|ADDR_OBJ_PARAMS|HOUSES_PARAMS)_\d{8}_[0-9a-f-]{36}\.xml$`)

// classify tells whether name (a path inside the dump, "77/AS_HOUSES_….XML")
// is a file the importer reads, of which kind and region (the folder name).
func classify(name string) (fileKind, int, bool) {
	name = strings.ReplaceAll(name, "\\", "/")
	m := garFile.FindStringSubmatch(path.Base(name))
	if m == nil {
		return 0, 0, false
	}
	region, err := strconv.Atoi(path.Base(path.Dir(name)))
	if err != nil || region <= 0 {
		return 0, 0, false
	}
	kind := map[string]fileKind{"ADDR_OBJ": kindAddrObj, "HOUSES": kindHouses, "ADM_HIERARCHY": kindHierarchy,
		"ADDR_OBJ_PARAMS": kindAddrObjParams, "HOUSES_PARAMS": kindHousesParams}[strings.ToUpper(m[1])]
	return kind, region, true
}

// attrs is one record's attributes, reused from record to record.
type attrs map[string]string

func (a attrs) int64(name string) (int64, error) {
	v, ok := a[name]
	if !ok || v == "" {
		return 0, fmt.Errorf("attribute %s missing", name)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s=%q is not a number", name, v)
	}
	return n, nil
}

// walk streams r token by token and calls fn with the attributes of each
// record element named elem, numbered from 1. Memory stays constant: no
// tree is built and the attribute map is reused. A parse error names the
// line and the record.
func walk(r io.Reader, elem string, fn func(n int64, a attrs) error) error {
	dec := xml.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	// The dump is UTF-8; a declared windows-1251 would be another dump.
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		if strings.EqualFold(label, "utf-8") {
			return in, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	a := attrs{}
	var n int64
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			line, _ := dec.InputPos()
			return fmt.Errorf("line %d (after record %d): %w", line, n, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != elem {
			continue
		}
		n++
		clear(a)
		for _, at := range se.Attr {
			a[at.Name.Local] = at.Value
		}
		if err := fn(n, a); err != nil {
			line, _ := dec.InputPos()
			return fmt.Errorf("line %d, %s %d: %w", line, elem, n, err)
		}
	}
}
