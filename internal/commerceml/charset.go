// Package commerceml reads and writes CommerceML 2 documents (schema
// versions 2.04–2.10): the catalog (import.xml), the offers package
// (offers.xml, and the prices/rests split files of 2.08+) and the orders
// document. Reading streams token by token, holding one element (a
// product, an offer, an order) at a time, so memory does not grow with
// the file. The package knows nothing of HTTP or the store: the exchange
// with 1C lives in commerceml/exchange, and a later connector can play 1C
// toward web shops with the same code.
package commerceml

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

// Encoding is the character set of a document.
type Encoding string

// The encodings 1C writes.
const (
	UTF8        Encoding = "UTF-8"
	Windows1251 Encoding = "windows-1251"
)

// ParseEncoding names an encoding from a setting or an XML declaration.
func ParseEncoding(label string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "", "utf-8", "utf8":
		return UTF8, nil
	case "windows-1251", "cp1251", "cp-1251", "win-1251", "x-cp1251":
		return Windows1251, nil
	}
	return "", fmt.Errorf("commerceml: unsupported encoding %q (UTF-8 or windows-1251)", label)
}

// charsetReader is the xml.Decoder's CharsetReader: the declaration names
// the encoding, and only the two 1C uses are accepted.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	enc, err := ParseEncoding(label)
	if err != nil {
		return nil, err
	}
	if enc == Windows1251 {
		return charmap.Windows1251.NewDecoder().Reader(input), nil
	}
	return input, nil
}

// skipBOM drops a UTF-8 byte order mark, which 1C writes and
// encoding/xml does not expect before the declaration.
func skipBOM(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
	}
	return br
}

// encoder returns a writer in enc over w. Characters windows-1251 lacks
// become numeric character references, never lost silently.
func encoder(enc Encoding, w io.Writer) io.Writer {
	if enc == Windows1251 {
		return encoding.HTMLEscapeUnsupported(charmap.Windows1251.NewEncoder()).Writer(w)
	}
	return w
}
