package mail

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"

	"golang.org/x/text/encoding/charmap"
)

// Attachment is a file attached to a message, decoded from its transfer
// encoding; Charset is what its Content-Type says ("" when nothing).
type Attachment struct {
	Name    string
	Type    string
	Charset string
	Data    []byte
	// TooBig: the file was over the bound of a part (8 MB) and Data is
	// empty (ParseLetter keeps the name to say so on the lead).
	TooBig bool
}

// maxParts bounds the MIME parts walked in one message.
const maxParts = 200

// wordDecoder decodes RFC 2047 headers in the charsets Russian mail uses.
var wordDecoder = &mime.WordDecoder{CharsetReader: func(cs string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(cs) {
	case "windows-1251", "cp1251", "x-cp1251":
		return charmap.Windows1251.NewDecoder().Reader(r), nil
	case "koi8-r":
		return charmap.KOI8R.NewDecoder().Reader(r), nil
	case "koi8-u":
		return charmap.KOI8U.NewDecoder().Reader(r), nil
	}
	return nil, fmt.Errorf("charset %q is not supported", cs)
}}

// DecodeHeader decodes an RFC 2047 header value; undecodable words are
// kept as they came.
func DecodeHeader(v string) string {
	out, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		return v
	}
	return out
}

// HasKeyword reports whether a subject carries the keyword as a word
// ("ORDER: 123", "[ORDER] 123"; not "REORDER"), in any case.
func HasKeyword(subject, keyword string) bool {
	if keyword == "" {
		return true
	}
	re, err := regexp.Compile(`(?i)(^|[^\pL\pN_])` + regexp.QuoteMeta(keyword) + `($|[^\pL\pN_])`)
	if err != nil {
		return false
	}
	return re.MatchString(subject)
}

// Attachments reads a raw RFC 5322 message and returns its attachments in
// MIME order: parts with a Content-Disposition of attachment or with a
// file name, at any depth. The body text is ignored.
func Attachments(raw []byte) ([]Attachment, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("mail: read message: %w", err)
	}
	var out []Attachment
	err = walkMIME(headerOf(m.Header), m.Body, func(p mimePart) error {
		if p.disp != "attachment" && p.name == "" {
			return nil // body text: ignored
		}
		data, err := decodeTransfer(p.cte, p.body)
		if err != nil {
			return fmt.Errorf("mail: attachment %q: %w", p.name, err)
		}
		out = append(out, Attachment{Name: DecodeHeader(p.name), Type: p.mt, Charset: p.params["charset"], Data: data})
		return nil
	})
	return out, err
}

type partHeader struct{ ctype, disp, cte string }

// headerOf takes what the walk reads of a message's or a part's header.
func headerOf(h interface{ Get(string) string }) partHeader {
	return partHeader{h.Get("Content-Type"), h.Get("Content-Disposition"), h.Get("Content-Transfer-Encoding")}
}

// mimePart is a leaf of a message's MIME tree: its media type (text/plain
// when unreadable) and parameters, its disposition, its file name
// (Content-Disposition's filename, else Content-Type's name, undecoded),
// its transfer encoding and its body, still encoded.
type mimePart struct {
	mt     string
	params map[string]string
	disp   string
	name   string
	cte    string
	body   io.Reader
}

// walkMIME calls leaf on every part of a message that is not multipart, in
// MIME order, descending into multiparts; at most maxParts parts, 10
// levels deep. Attachments and ParseLetter differ only in their leaf.
func walkMIME(h partHeader, body io.Reader, leaf func(mimePart) error) error {
	n := 0
	return walkPart(h, body, leaf, &n, 0)
}

func walkPart(h partHeader, body io.Reader, leaf func(mimePart) error, n *int, depth int) error {
	*n++
	if *n > maxParts || depth > 10 {
		return errors.New("mail: too many MIME parts")
	}
	mt, params, err := mime.ParseMediaType(h.ctype)
	if err != nil {
		mt, params = "text/plain", map[string]string{}
	}
	if strings.HasPrefix(mt, "multipart/") {
		if params["boundary"] == "" {
			return fmt.Errorf("mail: %s without a boundary", mt)
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("mail: read MIME part: %w", err)
			}
			if err := walkPart(headerOf(p.Header), p, leaf, n, depth+1); err != nil {
				return err
			}
		}
	}
	disp, dparams, _ := mime.ParseMediaType(h.disp)
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	return leaf(mimePart{mt: mt, params: params, disp: disp, name: name, cte: h.cte, body: body})
}

func decodeTransfer(cte string, r io.Reader) ([]byte, error) {
	const max = 8 << 20
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &stripSpace{r: r})
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if len(b) > max {
		return nil, errTooBig
	}
	return b, nil
}

// errTooBig is a part over the bound of decodeTransfer.
var errTooBig = fmt.Errorf("over %d bytes", 8<<20)

// stripSpace drops line breaks and spaces from base64 text.
type stripSpace struct{ r io.Reader }

func (s *stripSpace) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
