package commerceml

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// RootElement is the root of every CommerceML 2 document.
const RootElement = "КоммерческаяИнформация"

// ErrSyntax is wrapped by every error about the document itself (as
// opposed to reading its bytes), so callers can tell bad input apart.
var ErrSyntax = errors.New("malformed CommerceML")

// Error is a failure at a place in a document.
type Error struct {
	File    string
	Line    int
	Element string
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("commerceml: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(" ")
	}
	fmt.Fprintf(&b, "line %d", e.Line)
	if e.Element != "" {
		fmt.Fprintf(&b, ", element <%s>", e.Element)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Reader streams the entities of a CommerceML document. Next returns, in
// document order, *Group, *Catalog, *Good, *Offers, *PriceType, *Offer and
// *Document values, then io.EOF.
type Reader struct {
	d      *xml.Decoder
	file   string
	Header Header
	stack  []string
	queue  []any
	// pending is the header of a Каталог or ПакетПредложений still being
	// read; it is emitted at its first list or at its end.
	pending any
	started bool
	done    bool
}

// NewReader reads a document from r; file names it in errors.
func NewReader(r io.Reader, file string) *Reader {
	d := xml.NewDecoder(skipBOM(r))
	d.CharsetReader = charsetReader
	d.Strict = true
	return &Reader{d: d, file: file}
}

func (r *Reader) line() int {
	l, _ := r.d.InputPos()
	return l
}

func (r *Reader) fail(elem string, err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) && se.Msg == "unexpected EOF" || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("document ends before its elements are closed (truncated?)")
	}
	if !utf8.ValidString(err.Error()) {
		// encoding/xml quotes the offending bytes; name the likely cause
		// instead of echoing them.
		err = errors.New("bytes that are not valid in the declared encoding (UTF-8 declared for a windows-1251 file?)")
	}
	return &Error{File: r.file, Line: r.line(), Element: elem, Err: fmt.Errorf("%w: %w", ErrSyntax, err)}
}

func (r *Reader) parent(n int) string {
	if len(r.stack) < n {
		return ""
	}
	return r.stack[len(r.stack)-n]
}

// Next returns the next entity or io.EOF.
func (r *Reader) Next() (any, error) {
	for {
		if len(r.queue) > 0 {
			v := r.queue[0]
			r.queue = r.queue[1:]
			return v, nil
		}
		if r.done {
			return nil, io.EOF
		}
		tok, err := r.d.Token()
		if err == io.EOF {
			if !r.started {
				return nil, r.fail("", errors.New("empty document: no <"+RootElement+">"))
			}
			if len(r.stack) > 0 {
				return nil, r.fail(r.parent(1), errors.New("document ends before its elements are closed (truncated?)"))
			}
			r.done = true
			continue
		}
		if err != nil {
			return nil, r.fail(r.parent(1), err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			// No DOCTYPE: encoding/xml would not expand its entities, but
			// a document that has one is not from 1C.
			return nil, r.fail(r.parent(1), errors.New("DOCTYPE and other directives are not allowed"))
		case xml.CharData:
			if !r.started && len(strings.TrimSpace(string(t))) > 0 {
				return nil, r.fail("", errors.New("text before the root element"))
			}
		case xml.EndElement:
			r.stack = r.stack[:len(r.stack)-1]
			if r.pending != nil && (t.Name.Local == "Каталог" || t.Name.Local == "ПакетПредложений") {
				r.queue = append(r.queue, r.pending)
				r.pending = nil
			}
			if len(r.stack) == 0 {
				r.done = true
			}
		case xml.StartElement:
			if err := r.start(t); err != nil {
				return nil, err
			}
		}
	}
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// start handles an opening tag: either an entity, decoded whole, or a
// container we step into.
func (r *Reader) start(t xml.StartElement) error {
	name := t.Name.Local
	line := r.line()
	if !r.started {
		if name != RootElement {
			return r.fail(name, fmt.Errorf("root element is <%s>, want <%s>", name, RootElement))
		}
		r.started = true
		r.Header = Header{Version: attr(t, "ВерсияСхемы"), Date: attr(t, "ДатаФормирования")}
		if err := CheckVersion(r.Header.Version); err != nil {
			return r.fail(name, err)
		}
		r.stack = append(r.stack, name)
		return nil
	}
	decode := func(v any) error {
		if err := r.d.DecodeElement(v, &t); err != nil {
			return r.fail(name, err)
		}
		return nil
	}
	p1, p2 := r.parent(1), r.parent(2)
	switch {
	case name == "Группа" && p1 == "Группы" && p2 == "Классификатор":
		var g xmlGroup
		if err := decode(&g); err != nil {
			return err
		}
		g.flatten("", line, &r.queue)
		return nil
	case name == "Товар" && p1 == "Товары" && p2 == "Каталог":
		g := &Good{}
		if err := decode(g); err != nil {
			return err
		}
		g.Line = line
		r.queue = append(r.queue, g)
		return nil
	case name == "ТипЦены" && p1 == "ТипыЦен":
		pt := &PriceType{}
		if err := decode(pt); err != nil {
			return err
		}
		pt.Line = line
		r.flushPending()
		r.queue = append(r.queue, pt)
		return nil
	case name == "Предложение" && p1 == "Предложения":
		o := &Offer{}
		if err := decode(o); err != nil {
			return err
		}
		o.Line = line
		r.queue = append(r.queue, o)
		return nil
	case name == "Документ" && (p1 == RootElement || p1 == "Контейнер"):
		doc := &Document{}
		if err := decode(doc); err != nil {
			return err
		}
		doc.Line = line
		doc.normalize()
		r.queue = append(r.queue, doc)
		return nil
	case name == "Каталог" && p1 == RootElement:
		r.pending = &Catalog{OnlyChanges: attr(t, "СодержитТолькоИзменения") == "true", Line: line}
	case name == "ПакетПредложений" && p1 == RootElement:
		r.pending = &Offers{OnlyChanges: attr(t, "СодержитТолькоИзменения") == "true", Line: line}
	case (p1 == "Каталог" || p1 == "ПакетПредложений") && r.pending != nil:
		switch name {
		case "Ид", "Наименование", "ИдКлассификатора", "ИдКаталога":
			var s string
			if err := decode(&s); err != nil {
				return err
			}
			r.setHeader(name, strings.TrimSpace(s))
			return nil
		case "Товары", "Предложения", "ТипыЦен":
			r.flushPending()
		}
	}
	r.stack = append(r.stack, name)
	return nil
}

func (r *Reader) flushPending() {
	if r.pending != nil {
		r.queue = append(r.queue, r.pending)
		r.pending = nil
	}
}

func (r *Reader) setHeader(name, v string) {
	switch h := r.pending.(type) {
	case *Catalog:
		switch name {
		case "Ид":
			h.ID = v
		case "Наименование":
			h.Name = v
		case "ИдКлассификатора":
			h.ClassifierID = v
		}
	case *Offers:
		switch name {
		case "Ид":
			h.ID = v
		case "Наименование":
			h.Name = v
		case "ИдКлассификатора":
			h.ClassifierID = v
		case "ИдКаталога":
			h.CatalogID = v
		}
	}
}

type xmlGroup struct {
	ID     string     `xml:"Ид"`
	Name   string     `xml:"Наименование"`
	Groups []xmlGroup `xml:"Группы>Группа"`
}

// flatten queues a group before its subgroups, so parents come first.
func (g *xmlGroup) flatten(parent string, line int, out *[]any) {
	*out = append(*out, &Group{ID: strings.TrimSpace(g.ID), Name: strings.TrimSpace(g.Name), ParentID: parent, Line: line})
	for i := range g.Groups {
		g.Groups[i].flatten(strings.TrimSpace(g.ID), line, out)
	}
}

// CheckVersion accepts the schema versions this package reads: 2.0x and
// 2.10 (1C has written 2.03 to 2.10).
func CheckVersion(v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil // some exports omit it; read as 2.04
	}
	major, minor, ok := strings.Cut(v, ".")
	if !ok || major != "2" || len(minor) != 2 || minor < "03" || minor > "10" {
		return fmt.Errorf("schema version %q is not supported: Obmen reads CommerceML 2.03 to 2.10 (in 1C, set the exchange node's schema version to 2.10 or 2.08; 3.x is not read)", v)
	}
	return nil
}
