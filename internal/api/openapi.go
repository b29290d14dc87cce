package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// Version is set by the binary (ldflags) and shown in the document.
var Version = "dev"

// OpenAPI builds the OpenAPI 3 document of the registered routes. The
// schemas are derived from the Go types the handlers decode and encode, so
// the document cannot drift from the code.
func (a *API) OpenAPI() map[string]any {
	g := &schemaGen{defs: map[string]any{}}
	paths := map[string]map[string]any{}
	for _, rt := range a.routes {
		op := map[string]any{"summary": rt.Summary, "operationId": operationID(rt)}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if rt.Method == http.MethodPost && strings.Count(rt.Path, "/") == 3 && !rt.Public {
			params = append(params, map[string]any{"name": "Idempotency-Key", "in": "header", "required": false,
				"description": "A retried create with the same key returns the first result and creates nothing.", "schema": map[string]any{"type": "string"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.Request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": g.schema(rt.Request)}}}
		}
		resp := map[string]any{}
		switch {
		case rt.Response == nil:
			resp["204"] = map[string]any{"description": "Done"}
		default:
			code := "200"
			if rt.Method == http.MethodPost && !rt.Public && !isAction(rt.Path) {
				code = "201" // a POST creates, unless it is an action on a record
			}
			resp[code] = map[string]any{"description": "OK", "content": map[string]any{"application/json": map[string]any{"schema": g.schema(rt.Response)}}}
		}
		resp["default"] = map[string]any{"description": "Error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
		op["responses"] = resp
		if rt.Public {
			op["security"] = []any{}
		}
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = op
	}
	g.defs["Error"] = map[string]any{"type": "object", "properties": map[string]any{"error": map[string]any{"type": "object",
		"required": []string{"code", "message"},
		"properties": map[string]any{"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}, "field": map[string]any{"type": "string"},
			"reason": map[string]any{"type": "string", "description": "with validation_failed: the stable code of the message (e.g. not_date), the same in every language; message stays English"}}}}}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "Obmen REST API", "version": Version,
			"description": "CRM records, the change-event log and administration. Authenticate with Authorization: Bearer <API key>."},
		"servers":    []any{map[string]any{"url": "/"}},
		"paths":      paths,
		"components": map[string]any{"schemas": g.defs, "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
		"security":   []any{map[string]any{"bearer": []any{}}},
	}
}

// actions are POST endpoints that act on an existing record and answer 200.
var actions = []string{"/convert", "/restore", "/retry"}

func isAction(path string) bool {
	for _, a := range actions {
		if strings.HasSuffix(path, a) {
			return true
		}
	}
	return false
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

func operationID(rt Route) string {
	p := pathParam.ReplaceAllString(rt.Path, "by_$1")
	p = strings.NewReplacer("/api/v1/", "", "/", "_", ".", "_", "-", "_").Replace(p)
	return strings.ToLower(rt.Method) + "_" + strings.Trim(p, "_")
}

func (a *API) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	a.openapiOnce.Do(func() { a.openapiJSON, _ = json.MarshalIndent(a.OpenAPI(), "", "  ") })
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(a.openapiJSON)
}

type schemaGen struct {
	defs map[string]any
}

var (
	timeType     = reflect.TypeOf(time.Time{})
	amountType   = reflect.TypeOf(crm.Amount(0))
	quantityType = reflect.TypeOf(crm.Quantity(0))
	rawType      = reflect.TypeOf(json.RawMessage(nil))
)

var nameClean = regexp.MustCompile(`[^A-Za-z0-9]+`)

func defName(t reflect.Type) string {
	n := t.Name()
	n = strings.ReplaceAll(n, "github.com/obmen/obmen/internal/", "")
	return strings.Trim(nameClean.ReplaceAllString(n, "_"), "_")
}

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case amountType:
		return map[string]any{"type": "number", "description": "decimal with 2 fractional digits; also accepted as a string"}
	case quantityType:
		return map[string]any{"type": "number", "description": "decimal with 3 fractional digits; also accepted as a string"}
	case rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := g.schema(t.Elem())
		if _, isRef := s["$ref"]; isRef {
			return map[string]any{"allOf": []any{s}, "nullable": true}
		}
		s["nullable"] = true
		return s
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Float64, reflect.Float32:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := defName(t)
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = map[string]any{} // reserve: breaks recursion
			props := map[string]any{}
			g.fields(t, props)
			g.defs[name] = map[string]any{"type": "object", "properties": props}
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

// fields adds a struct's JSON fields, flattening embedded structs the way
// encoding/json does.
func (g *schemaGen) fields(t reflect.Type, props map[string]any) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
	}
}
