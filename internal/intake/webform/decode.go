package webform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Values are a submit's fields: the first value of each name, as text.
type Values map[string]string

// Limits of one submit.
const (
	MaxBody   = 64 << 10 // urlencoded and JSON bodies
	MaxUpload = 1 << 20  // multipart bodies (files are read past, not kept)
	maxFields = 200
	maxValue  = 65000
)

// DecodeError is a body that cannot be read as a form; Field names the
// field at fault when there is one.
type DecodeError struct {
	Field   string
	Message string
}

func (e *DecodeError) Error() string {
	if e.Field != "" {
		return "webform: " + e.Field + ": " + e.Message
	}
	return "webform: " + e.Message
}

// Decode reads a submit body of the given Content-Type:
// application/x-www-form-urlencoded, multipart/form-data (file parts are
// skipped) or application/json (an object of text, number or true/false
// values; arrays take their first element). Text must be UTF-8.
func Decode(contentType string, body []byte) (Values, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		if strings.TrimSpace(contentType) == "" {
			mt = "application/x-www-form-urlencoded"
		} else {
			return nil, &DecodeError{Message: fmt.Sprintf("Content-Type %q cannot be read", contentType)}
		}
	}
	var v Values
	switch mt {
	case "application/x-www-form-urlencoded", "text/plain":
		v, err = decodeURL(body)
	case "multipart/form-data":
		v, err = decodeMultipart(body, params["boundary"])
	case "application/json":
		v, err = decodeJSON(body)
	default:
		return nil, &DecodeError{Message: fmt.Sprintf("Content-Type %s is not accepted: send a form (urlencoded or multipart) or JSON", mt)}
	}
	if err != nil {
		return nil, err
	}
	for k, s := range v {
		if !utf8.ValidString(k) || !utf8.ValidString(s) {
			return nil, &DecodeError{Field: strings.ToValidUTF8(k, "?"), Message: "not UTF-8 text"}
		}
		if len(s) > maxValue {
			return nil, &DecodeError{Field: k, Message: fmt.Sprintf("longer than %d bytes", maxValue)}
		}
	}
	return v, nil
}

func decodeURL(body []byte) (Values, error) {
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &DecodeError{Message: "broken form encoding: " + err.Error()}
	}
	if len(q) > maxFields {
		return nil, &DecodeError{Message: fmt.Sprintf("more than %d fields", maxFields)}
	}
	v := Values{}
	for k, vs := range q {
		if len(vs) > 0 {
			v[k] = vs[0]
		}
	}
	return v, nil
}

func decodeMultipart(body []byte, boundary string) (Values, error) {
	if boundary == "" {
		return nil, &DecodeError{Message: "multipart/form-data without a boundary"}
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	v := Values{}
	for n := 0; ; n++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return v, nil
		}
		if err != nil {
			return nil, &DecodeError{Message: "broken multipart body: " + err.Error()}
		}
		if n >= maxFields {
			return nil, &DecodeError{Message: fmt.Sprintf("more than %d fields", maxFields)}
		}
		name := p.FormName()
		if name == "" || p.FileName() != "" {
			continue // files are not taken by forms
		}
		b, err := io.ReadAll(io.LimitReader(p, maxValue+1))
		if err != nil {
			return nil, &DecodeError{Field: name, Message: "broken multipart body: " + err.Error()}
		}
		if _, dup := v[name]; !dup {
			v[name] = string(b)
		}
	}
}

func decodeJSON(body []byte) (Values, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, &DecodeError{Message: "invalid JSON: want an object of fields: " + err.Error()}
	}
	if len(m) > maxFields {
		return nil, &DecodeError{Message: fmt.Sprintf("more than %d fields", maxFields)}
	}
	v := Values{}
	for k, x := range m {
		if a, ok := x.([]any); ok {
			if len(a) == 0 {
				continue
			}
			x = a[0]
		}
		switch x := x.(type) {
		case nil:
		case string:
			v[k] = x
		case json.Number:
			v[k] = x.String()
		case bool:
			v[k] = strconv.FormatBool(x)
		default:
			return nil, &DecodeError{Field: k, Message: "want text, a number or true/false"}
		}
	}
	return v, nil
}
