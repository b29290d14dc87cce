package bitrix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// maxNesting is PHP's max_input_nesting_level: a parameter nested deeper
// is dropped whole, as PHP drops it.
const maxNesting = 64

// ParseQuery parses a query string or form body as PHP's parse_str does,
// brackets and all: fields[TITLE]=x sets root["fields"]["TITLE"],
// select[]=ID appends, fields[PHONE][0][VALUE]=… nests. Later pairs win.
// Like PHP it never fails: malformed pairs are read as PHP reads them.
func ParseQuery(s string) *Array {
	root := NewArray()
	parseQueryInto(root, s)
	return root
}

func parseQueryInto(root *Array, s string) {
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		setParam(root, phpURLDecode(k), phpURLDecode(v))
	}
}

// setParam stores value under a PHP variable name such as
// "fields[PHONE][0][VALUE]", following php_register_variable_ex.
func setParam(root *Array, name string, value any) {
	name = strings.TrimLeft(name, " ")
	if i := strings.IndexByte(name, 0); i >= 0 {
		name = name[:i] // PHP variable names are C strings
	}
	open := strings.IndexByte(name, '[')
	base := name
	if open >= 0 {
		base = name[:open]
	}
	// PHP cannot have ' ' or '.' in a variable name and writes '_'.
	base = strings.NewReplacer(" ", "_", ".", "_").Replace(base)
	if base == "" {
		return
	}
	if open < 0 {
		root.Set(base, value)
		return
	}
	var path []*string // nil: append ([])
	rest := name[open:]
	for {
		rest = rest[1:] // the '['
		if strings.HasPrefix(rest, "]") {
			path = append(path, nil)
			rest = rest[1:]
		} else {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				if len(path) == 0 {
					// a[b=1: not an index; PHP keeps it in the name.
					root.Set(base+"_"+strings.NewReplacer(" ", "_", ".", "_", "[", "_").Replace(rest), value)
					return
				}
				break // a[b][c=1: the tail is ignored
			}
			idx := rest[:end]
			path = append(path, &idx)
			rest = rest[end+1:]
		}
		if len(path) > maxNesting {
			root.Delete(base)
			return
		}
		if !strings.HasPrefix(rest, "[") {
			break
		}
	}
	cur, ok := root.vals[base].(*Array)
	if !ok {
		cur = NewArray()
		root.Set(base, cur)
	}
	for i, p := range path {
		last := i == len(path)-1
		if last {
			if p == nil {
				cur.Append(value)
			} else {
				cur.Set(*p, value)
			}
			return
		}
		var child *Array
		if p != nil {
			child, _ = cur.vals[*p].(*Array)
		}
		if child == nil {
			child = NewArray()
			if p == nil {
				cur.Append(child)
			} else {
				cur.Set(*p, child)
			}
		}
		cur = child
	}
}

// phpURLDecode decodes as PHP's urldecode: '+' is a space, %XX a byte, and
// a '%' not followed by two hex digits stays as it is.
func phpURLDecode(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// DecodeJSON reads a JSON object into an Array, keeping the order of keys
// (multi-field items keyed "n0", "n1" must stay in order) and numbers as
// json.Number.
func DecodeJSON(b []byte) (*Array, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("bitrix: JSON body: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("bitrix: JSON body: not an object")
	}
	v, err := decodeJSONContainer(dec, '{')
	if err != nil {
		return nil, fmt.Errorf("bitrix: JSON body: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("bitrix: JSON body: data after the object")
	}
	return v, nil
}

func decodeJSONContainer(dec *json.Decoder, open json.Delim) (*Array, error) {
	a := NewArray()
	for dec.More() {
		key := ""
		if open == '{' {
			tok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key = tok.(string) // object keys are strings
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v any = tok
		if d, ok := tok.(json.Delim); ok {
			if v, err = decodeJSONContainer(dec, d); err != nil {
				return nil, err
			}
		}
		if open == '{' {
			a.Set(key, v)
		} else {
			a.Append(v)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return nil, err
	}
	return a, nil
}

// readParams gathers a call's parameters as Bitrix24 does: the query
// string, then the body — form-encoded, multipart (files are not taken)
// or JSON — whose top-level keys win.
func readParams(r *http.Request, maxBody int64) (*Array, error) {
	params := ParseQuery(r.URL.RawQuery)
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return params, nil
	}
	mt, mp, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		return params, readMultipart(r, mp["boundary"], params, maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, badRequest("INVALID_REQUEST", "Could not read the request body: %v", err)
	}
	if int64(len(body)) > maxBody {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "INVALID_REQUEST", Description: fmt.Sprintf("Request body is larger than %d bytes", maxBody)}
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return params, nil
	}
	isJSON := mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		(mt != "application/x-www-form-urlencoded" && trimmed[0] == '{')
	if !isJSON {
		parseQueryInto(params, string(body))
		return params, nil
	}
	obj, err := DecodeJSON(trimmed)
	if err != nil {
		return nil, badRequest("INVALID_REQUEST", "%s", strings.TrimPrefix(err.Error(), "bitrix: "))
	}
	for _, k := range obj.Keys() {
		v, _ := obj.Get(k)
		params.Set(k, v)
	}
	return params, nil
}

func readMultipart(r *http.Request, boundary string, params *Array, maxBody int64) error {
	if boundary == "" {
		return badRequest("INVALID_REQUEST", "multipart body without a boundary")
	}
	mr := multipart.NewReader(io.LimitReader(r.Body, maxBody), boundary)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return badRequest("INVALID_REQUEST", "Could not read the multipart body: %v", err)
		}
		if part.FileName() != "" || part.FormName() == "" {
			part.Close()
			continue
		}
		v, err := io.ReadAll(part)
		part.Close()
		if err != nil {
			return badRequest("INVALID_REQUEST", "Could not read the multipart body: %v", err)
		}
		setParam(params, part.FormName(), string(v))
	}
}
