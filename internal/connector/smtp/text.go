package smtp

import (
	"strings"

	"golang.org/x/net/html"
)

// plainOf is the text alternative of an HTML body: the text of the
// document with line breaks where blocks end and links' addresses after
// their text, scripts and styles left out.
func plainOf(doc string) string {
	z := html.NewTokenizer(strings.NewReader(doc))
	var b strings.Builder
	skip := 0
	var href []string
	nl := func() {
		s := b.String()
		if s != "" && !strings.HasSuffix(s, "\n") {
			b.WriteString("\n")
		}
	}
	for {
		switch z.Next() {
		case html.ErrorToken:
			return tidy(b.String())
		case html.TextToken:
			if skip == 0 {
				raw := z.Raw()
				words := strings.Join(strings.Fields(html.UnescapeString(string(raw))), " ")
				if cur := b.String(); len(raw) > 0 && isSpace(raw[0]) && cur != "" && !strings.HasSuffix(cur, " ") && !strings.HasSuffix(cur, "\n") && words != "" {
					b.WriteString(" ")
				}
				b.WriteString(words)
				if words != "" && isSpace(raw[len(raw)-1]) {
					b.WriteString(" ")
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch t := string(name); t {
			case "script", "style", "head", "title":
				skip++
			case "br":
				b.WriteString("\n")
			case "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "blockquote":
				nl()
				if t == "li" {
					b.WriteString("- ")
				}
			case "a":
				link := ""
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					if string(k) == "href" {
						link = string(v)
					}
				}
				href = append(href, link)
			case "td", "th":
				b.WriteString(" ")
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch t := string(name); t {
			case "script", "style", "head", "title":
				if skip > 0 {
					skip--
				}
			case "p", "div", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote":
				nl()
			case "a":
				if n := len(href); n > 0 {
					if l := href[n-1]; strings.HasPrefix(l, "http") || strings.HasPrefix(l, "mailto:") {
						b.WriteString(" (" + l + ")")
					}
					href = href[:n-1]
				}
			}
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// tidy trims each line and keeps at most one empty line in a row.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	empty := 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			empty++
			if empty > 1 || len(out) == 0 {
				continue
			}
		} else {
			empty = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n")) + "\n"
}
