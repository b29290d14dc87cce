package dav

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
)

// XML namespaces the layer speaks.
const (
	nsDAV     = "DAV:"
	nsCardDAV = "urn:ietf:params:xml:ns:carddav"
	nsCalDAV  = "urn:ietf:params:xml:ns:caldav"
	nsCS      = "http://calendarserver.org/ns/"
)

// node is an element of a small XML tree: enough to read a client's
// REPORT body and to rewrite a go-webdav multistatus (go-webdav keeps its
// XML types internal, so the layer on top of it works on the text).
type node struct {
	Name xml.Name
	Attr []xml.Attr
	Kids []*node
	Text string // character data of a leaf
}

// parseXML reads one document into a tree; comments, processing
// instructions and white space between elements are dropped.
func parseXML(r io.Reader) (*node, error) {
	d := xml.NewDecoder(r)
	var stack []*node
	var root *node
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("dav: XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{Name: t.Name}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					continue // namespaces are written afresh
				}
				n.Attr = append(n.Attr, a)
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Kids = append(p.Kids, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("dav: XML: no element")
	}
	return root, nil
}

func el(space, local string, kids ...*node) *node {
	return &node{Name: xml.Name{Space: space, Local: local}, Kids: kids}
}

func text(space, local, s string) *node {
	return &node{Name: xml.Name{Space: space, Local: local}, Text: s}
}

// child is the first child named space:local, nil when there is none.
func (n *node) child(space, local string) *node {
	if n == nil {
		return nil
	}
	for _, k := range n.Kids {
		if k.Name.Space == space && k.Name.Local == local {
			return k
		}
	}
	return nil
}

func (n *node) is(space, local string) bool {
	return n != nil && n.Name.Space == space && n.Name.Local == local
}

var prefixes = map[string]string{nsDAV: "d", nsCardDAV: "card", nsCalDAV: "cal", nsCS: "cs"}

// marshal writes the tree as a document, every namespace declared once
// on the root.
func (n *node) marshal() []byte {
	spaces := map[string]string{}
	var collect func(*node)
	collect = func(m *node) {
		for _, s := range append([]string{m.Name.Space}, attrSpaces(m)...) {
			if s == "" || spaces[s] != "" {
				continue
			}
			p := prefixes[s]
			if p == "" {
				p = fmt.Sprintf("ns%d", len(spaces))
			}
			spaces[s] = p
		}
		for _, k := range m.Kids {
			collect(k)
		}
	}
	collect(n)
	var b bytes.Buffer
	b.WriteString(xml.Header)
	var decl []string
	for s, p := range spaces {
		decl = append(decl, fmt.Sprintf(` xmlns:%s="%s"`, p, escape(s)))
	}
	sort.Strings(decl)
	n.write(&b, spaces, strings.Join(decl, ""))
	return b.Bytes()
}

func attrSpaces(n *node) []string {
	var out []string
	for _, a := range n.Attr {
		out = append(out, a.Name.Space)
	}
	return out
}

func qname(spaces map[string]string, name xml.Name) string {
	if name.Space == "" {
		return name.Local
	}
	return spaces[name.Space] + ":" + name.Local
}

func (n *node) write(b *bytes.Buffer, spaces map[string]string, decl string) {
	name := qname(spaces, n.Name)
	b.WriteString("<" + name + decl)
	for _, a := range n.Attr {
		fmt.Fprintf(b, ` %s="%s"`, qname(spaces, a.Name), escape(a.Value))
	}
	if len(n.Kids) == 0 && n.Text == "" {
		b.WriteString("/>")
		return
	}
	b.WriteString(">")
	if len(n.Kids) == 0 {
		b.WriteString(escape(n.Text))
	}
	for _, k := range n.Kids {
		k.write(b, spaces, "")
	}
	b.WriteString("</" + name + ">")
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
