// Package httpx holds request and response helpers shared by Obmen's HTTP
// surfaces: JSON decoding that names the field at fault, the error
// envelope, and middleware.
package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Error is the API's error body: {"error":{"code","message","field"}}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Reason is the stable code of a validation message ("not_date"),
	// the same in every language, beside Message in English.
	Reason string `json:"reason,omitempty"`
	// Details, when set, lists every problem found (a bundle refused
	// names each step and field at fault), the first being Message.
	Details any `json:"details,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Errorf builds an Error.
func Errorf(status int, code, field, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// WriteJSON writes v as JSON with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteError(w, Errorf(http.StatusInternalServerError, "internal", "", "encode response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte("\n"))
}

// WriteError writes the error envelope.
func WriteError(w http.ResponseWriter, e *Error) {
	b, _ := json.Marshal(struct {
		Error *Error `json:"error"`
	}{e})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte("\n"))
}

// ReadBody reads at most max bytes of the request body; a longer body is a
// 413 naming the limit.
func ReadBody(r *http.Request, max int64) ([]byte, *Error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "bad_request", "", "read body: %v", err)
	}
	if int64(len(b)) > max {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "payload_too_large", "", "request body is larger than %d bytes", max)
	}
	return b, nil
}

// CheckJSONContentType refuses bodies that say they are not JSON.
func CheckJSONContentType(r *http.Request) *Error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, params, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "", "Content-Type %q is not application/json", ct)
	}
	if cs := strings.ToLower(strings.TrimSpace(params)); strings.HasPrefix(cs, "charset=") {
		v := strings.Trim(strings.TrimPrefix(cs, "charset="), `"`)
		if v != "utf-8" && v != "utf8" {
			return Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "", "charset %q is not supported; send UTF-8", v)
		}
	}
	return nil
}

// DecodeJSON decodes body into dst strictly: one JSON value, no unknown
// fields, types as declared. Errors name the field, or the line and column
// of a syntax error.
func DecodeJSON(body []byte, dst any) *Error {
	if len(bytes.TrimSpace(body)) == 0 {
		return Errorf(http.StatusBadRequest, "invalid_json", "", "request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonError(body, err)
	}
	if dec.More() {
		return Errorf(http.StatusBadRequest, "invalid_json", "", "request body holds more than one JSON value")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return Errorf(http.StatusBadRequest, "invalid_json", "", "request body holds data after the JSON value")
	}
	return nil
}

func jsonError(body []byte, err error) *Error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := position(body, se.Offset)
		return Errorf(http.StatusBadRequest, "invalid_json", "", "malformed JSON at line %d, column %d: %s", line, col, se.Error())
	case errors.As(err, &te):
		field := cleanField(te.Field)
		if field == "" {
			return Errorf(http.StatusBadRequest, "invalid_json", "", "expected a JSON object, got %s", te.Value)
		}
		return Errorf(http.StatusBadRequest, "wrong_type", field, "expected %s, got %s", typeName(te.Type.String()), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(http.StatusBadRequest, "invalid_json", "", "malformed JSON: the body ends in the middle of a value")
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return Errorf(http.StatusBadRequest, "unknown_field", f, "unknown field %q", f)
	}
	// Errors from our own UnmarshalJSON methods (amounts, quantities) carry
	// no field; say what is wrong.
	return Errorf(http.StatusBadRequest, "invalid_json", "", "%s", strings.TrimPrefix(msg, "json: "))
}

// cleanField drops the names of embedded structs from a decoder's field
// path ("Comms.phones.value" → "phones.value").
func cleanField(f string) string {
	var out []string
	for _, p := range strings.Split(f, ".") {
		if p != "" && p[0] >= 'A' && p[0] <= 'Z' {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ".")
}

func typeName(goType string) string {
	switch goType {
	case "crm.Amount":
		return "a decimal number with at most 2 decimal places"
	case "crm.Quantity":
		return "a decimal number with at most 3 decimal places"
	}
	switch {
	case strings.Contains(goType, "int"), goType == "crm.Amount", goType == "crm.Quantity", goType == "float64":
		return "a number"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "crm."), strings.HasPrefix(goType, "struct"):
		return "an object"
	case goType == "time.Time":
		return "a time"
	}
	return goType
}

// position converts a byte offset into a 1-based line and column.
func position(b []byte, off int64) (int, int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	line, col := 1, 1
	for _, c := range b[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// ReadJSON checks a request's Content-Type, reads its body (up to max
// bytes) and decodes it strictly into dst: the one way every JSON surface
// reads a request, with errors naming the field or the line at fault.
func ReadJSON(r *http.Request, max int64, dst any) error {
	if e := CheckJSONContentType(r); e != nil {
		return e
	}
	b, e := ReadBody(r, max)
	if e != nil {
		return e
	}
	if e := DecodeJSON(b, dst); e != nil {
		return e
	}
	return nil
}

// PathID parses the path value name as a positive id; what names the
// thing for the error ("record", "form").
func PathID(r *http.Request, name, what string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, Errorf(http.StatusBadRequest, "bad_request", name, "%q is not a %s id", v, what)
	}
	return id, nil
}
