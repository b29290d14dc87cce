package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// openAPIDoc fetches the document without authentication.
func openAPIDoc(t *testing.T, e *env) map[string]any {
	t.Helper()
	r := must(t, e.doKey("", "GET", "/api/v1/openapi.json", nil), 200)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	var doc map[string]any
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return doc
}

func obj(t testing.TB, v any, path string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is %T, not an object", path, v)
	}
	return m
}

var docMethods = []string{"get", "post", "put", "patch", "delete"}

type operation struct {
	method, path string // method upper-case
	op           map[string]any
}

// operations lists the document's operations, sorted by path, with the
// deletes of a path after its other methods.
func operations(t *testing.T, doc map[string]any) []operation {
	t.Helper()
	var out []operation
	for path, item := range obj(t, doc["paths"], "paths") {
		for m, op := range obj(t, item, path) {
			if !slices.Contains(docMethods, m) {
				t.Errorf("%s: unexpected key %q", path, m)
				continue
			}
			out = append(out, operation{strings.ToUpper(m), path, obj(t, op, path+" "+m)})
		}
	}
	rank := func(m string) int { return slices.Index(docMethods, strings.ToLower(m)) }
	sort.Slice(out, func(i, j int) bool {
		if out[i].path != out[j].path {
			return out[i].path < out[j].path
		}
		return rank(out[i].method) < rank(out[j].method)
	})
	return out
}

// sampleBodies are valid requests for operations that "{}" does not satisfy,
// so that their success status is checked against the document too.
var sampleBodies = map[string]string{
	"POST /api/v1/accounts/{id}/requisites": `{"name":"Основные","inn":"7707083893"}`,
	"POST /api/v1/contacts/{id}/requisites": `{"name":"ИП","preset_id":2,"inn":"500100732259"}`,
	"PUT /api/v1/requisites/{id}":           `{"name":"Изменённые"}`,
	"POST /api/v1/leads/{id}/convert":       `{"deal":true}`,
	"PUT /api/v1/catalogs/{id}/items":       `{"product_ids":[1],"service_ids":[1]}`,
	"POST /api/v1/units":                    `{"name":"кор","title":"Коробка","okei":"812"}`,
	"POST /api/v1/pipelines":                `{"name":"Опт"}`,
	"POST /api/v1/payment-methods":          `{"name":"Счёт","client_type":"company"}`,
	"PUT /api/v1/payment-methods/{id}":      `{"name":"Счёт","client_type":"contact"}`,
	"POST /api/v1/statuses":                 `{"entity_id":"SOURCE","status_id":"FAIR","name":"Выставка"}`,
	"PUT /api/v1/currencies/{code}":         `{"name":"Российский рубль","active":true,"base":true,"rate":"1"}`,
	"PUT /api/v1/currency-aliases/{alias}":  `{"code":"UAH"}`,
	"POST /api/v1/users":                    `{"login":"sweep","password":"sweep-password"}`,
	"POST /api/v1/custom-fields":            `{"entity":"deal","code":"UF_CRM_SWEEP","label":"s","type":"string"}`,
	"POST /api/v1/leads":                    `{"title":"Лид"}`,
	"POST /api/v1/contacts":                 `{"name":"Пётр"}`,
	"POST /api/v1/accounts":                 `{"title":"ООО Лютик"}`,
	"POST /api/v1/deals":                    `{"title":"Сделка"}`,
	"POST /api/v1/products":                 `{"name":"Товар"}`,
	"POST /api/v1/services":                 `{"name":"Услуга"}`,
	"POST /api/v1/catalogs":                 `{"name":"Каталог"}`,
	"POST /api/v1/tickets":                  `{"title":"Обращение"}`,
	"POST /api/v1/activities":               `{"kind":"task","subject":"Задача"}`,
	"POST /api/v1/messages":                 `{"channel":"vk","direction":"in","text":"Здравствуйте"}`,
	"POST /api/v1/session":                  `{"login":"admin","password":"admin-password"}`,
	"PATCH /api/v1/users/{id}":              `{"position":"Директор"}`,
	"PUT /api/v1/settings/{key}":            `{"value":"SO-"}`,
	"POST /api/v1/users/{id}/keys":          `{"name":"sweep2"}`,
}

var pathParams = map[string]string{"{name}": "user.info", "{id}": "1", "{entity}": "lead", "{code}": "RUB", "{key}": "sales_order.prefix", "{version}": "1", "{alias}": "HRN", "{image}": "1"}

func TestOpenAPIDocument(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		doc := openAPIDoc(t, e)
		eq(t, "openapi", doc["openapi"], any("3.0.3"))
		info := obj(t, doc["info"], "info")
		if info["title"] == "" || info["version"] == "" {
			t.Errorf("info %v", info)
		}
		schemas := obj(t, obj(t, doc["components"], "components")["schemas"], "components.schemas")
		ops := operations(t, doc)
		if len(ops) < 50 {
			t.Fatalf("only %d operations documented", len(ops))
		}

		t.Run("every $ref resolves", func(t *testing.T) {
			n := 0
			var walk func(v any, at string)
			walk = func(v any, at string) {
				switch x := v.(type) {
				case map[string]any:
					if ref, ok := x["$ref"]; ok {
						n++
						s, _ := ref.(string)
						name, ok := strings.CutPrefix(s, "#/components/schemas/")
						if !ok {
							t.Errorf("%s: $ref %v does not point into components.schemas", at, ref)
						} else if _, ok := schemas[name]; !ok {
							t.Errorf("%s: $ref %s does not resolve", at, s)
						}
					}
					for k, c := range x {
						walk(c, at+"/"+k)
					}
				case []any:
					for _, c := range x {
						walk(c, at+"[]")
					}
				}
			}
			walk(doc, "#")
			if n < 50 {
				t.Errorf("only %d $refs: the walk did not see the schemas", n)
			}
			for name, s := range schemas {
				if len(obj(t, s, name)) == 0 {
					t.Errorf("schema %s is empty", name)
				}
			}
		})

		t.Run("operations are well-formed", func(t *testing.T) {
			ids := map[string]string{}
			param := regexp.MustCompile(`\{([a-z_]+)\}`)
			for _, o := range ops {
				where := o.method + " " + o.path
				id, _ := o.op["operationId"].(string)
				if id == "" {
					t.Errorf("%s: no operationId", where)
				} else if prev, dup := ids[id]; dup {
					t.Errorf("operationId %s used by %s and %s", id, prev, where)
				}
				ids[id] = where
				if s, _ := o.op["summary"].(string); s == "" {
					t.Errorf("%s: no summary", where)
				}
				declared := map[string]bool{}
				if ps, ok := o.op["parameters"].([]any); ok {
					for _, p := range ps {
						pm := obj(t, p, where+" parameter")
						if pm["in"] == "path" {
							declared[pm["name"].(string)] = true
						}
					}
				}
				for _, m := range param.FindAllStringSubmatch(o.path, -1) {
					if !declared[m[1]] {
						t.Errorf("%s: path parameter %s not declared", where, m[1])
					}
				}
				resps := obj(t, o.op["responses"], where+" responses")
				if _, ok := resps["default"]; !ok {
					t.Errorf("%s: no default (error) response", where)
				}
				ok2xx := false
				for code := range resps {
					ok2xx = ok2xx || strings.HasPrefix(code, "2")
				}
				if !ok2xx {
					t.Errorf("%s: no 2xx response", where)
				}
				if (o.method == "GET" || o.method == "DELETE") && o.op["requestBody"] != nil {
					t.Errorf("%s: documents a request body", where)
				}
			}
		})

		t.Run("known routes are documented", func(t *testing.T) {
			known := []string{
				"GET /api/v1/leads", "POST /api/v1/leads", "GET /api/v1/leads/{id}", "PATCH /api/v1/leads/{id}", "DELETE /api/v1/leads/{id}",
				"POST /api/v1/leads/{id}/restore", "POST /api/v1/leads/{id}/convert",
				"GET /api/v1/events", "GET /api/v1/contacts", "GET /api/v1/calendar",
				"GET /api/v1/accounts/{id}/requisites", "POST /api/v1/accounts/{id}/requisites", "PUT /api/v1/requisites/{id}", "DELETE /api/v1/requisites/{id}",
				"GET /api/v1/contacts/{id}/requisites", "POST /api/v1/contacts/{id}/requisites",
				"POST /api/v1/deals/{id}/invoice", "GET /api/v1/catalogs/{id}/items", "PUT /api/v1/catalogs/{id}/items",
				"GET /api/v1/currencies", "PUT /api/v1/currencies/{code}", "GET /api/v1/units", "POST /api/v1/units", "DELETE /api/v1/units/{id}",
				"GET /api/v1/pipelines", "POST /api/v1/pipelines", "PUT /api/v1/pipelines/{id}", "DELETE /api/v1/pipelines/{id}",
				"GET /api/v1/statuses", "POST /api/v1/statuses", "PUT /api/v1/statuses/{id}", "DELETE /api/v1/statuses/{id}",
				"GET /api/v1/settings/{key}", "PUT /api/v1/settings/{key}",
				"GET /api/v1/me", "GET /api/v1/users", "GET /api/v1/users/{id}", "POST /api/v1/users", "PATCH /api/v1/users/{id}",
				"GET /api/v1/users/{id}/keys", "POST /api/v1/users/{id}/keys", "DELETE /api/v1/keys/{id}",
				"POST /api/v1/session", "DELETE /api/v1/session",
				"GET /api/v1/recyclebin", "DELETE /api/v1/recyclebin/{entity}/{id}",
				"GET /api/v1/custom-fields", "POST /api/v1/custom-fields", "DELETE /api/v1/custom-fields/{id}",
				"GET /api/v1/openapi.json",
			}
			for _, res := range []string{"leads", "contacts", "accounts", "deals", "sales-orders", "invoices", "products", "services", "catalogs", "tickets", "activities", "messages"} {
				b := "/api/v1/" + res
				known = append(known, "GET "+b, "POST "+b, "GET "+b+"/{id}", "PATCH "+b+"/{id}", "DELETE "+b+"/{id}", "POST "+b+"/{id}/restore",
					"GET "+b+"/{id}/timeline")
			}
			for _, res := range []string{"leads", "contacts", "accounts", "deals", "sales-orders", "invoices", "tickets"} {
				known = append(known, "GET /api/v1/"+res+"/{id}/comments", "POST /api/v1/"+res+"/{id}/comments")
			}
			documented := map[string]bool{}
			for _, o := range ops {
				documented[o.method+" "+o.path] = true
			}
			for _, k := range known {
				if !documented[k] {
					t.Errorf("%s is not in the document", k)
				}
			}
			// And the document is exactly what the API registered.
			for _, rt := range e.app.API.Routes() {
				if !documented[rt.Method+" "+rt.Path] {
					t.Errorf("registered route %s %s is not in the document", rt.Method, rt.Path)
				}
			}
			if n := len(e.app.API.Routes()); n != len(ops) {
				t.Errorf("%d routes registered, %d operations documented", n, len(ops))
			}
		})

		t.Run("lead schemas", func(t *testing.T) {
			resolve := func(s map[string]any, at string) map[string]any {
				ref, _ := s["$ref"].(string)
				name, ok := strings.CutPrefix(ref, "#/components/schemas/")
				if !ok {
					t.Fatalf("%s: schema is not a $ref: %v", at, s)
				}
				return obj(t, schemas[name], name)
			}
			jsonSchema := func(content any, at string) map[string]any {
				return obj(t, obj(t, obj(t, content, at)["application/json"], at+" application/json")["schema"], at+" schema")
			}
			post := obj(t, obj(t, obj(t, doc["paths"], "paths")["/api/v1/leads"], "/api/v1/leads")["post"], "post")
			req := resolve(jsonSchema(obj(t, post["requestBody"], "requestBody")["content"], "requestBody"), "requestBody")
			res := resolve(jsonSchema(obj(t, obj(t, post["responses"], "responses")["201"], "201")["content"], "201"), "201")
			for name, s := range map[string]map[string]any{"request": req, "response": res} {
				props := obj(t, s["properties"], name+" properties")
				for _, p := range []string{"title", "phones", "product_rows", "id", "opportunity", "custom"} {
					if _, ok := props[p]; !ok {
						t.Errorf("%s schema has no property %q", name, p)
					}
				}
				phones := obj(t, props["phones"], "phones")
				eq(t, "phones.type", phones["type"], any("array"))
				comm := resolve(obj(t, phones["items"], "phones.items"), "phones.items")
				if _, ok := obj(t, comm["properties"], "Comm")["value"]; !ok {
					t.Errorf("phones items have no value: %v", comm)
				}
				rows := obj(t, props["product_rows"], "product_rows")
				item := resolve(obj(t, rows["items"], "product_rows.items"), "product_rows.items")
				price := obj(t, obj(t, item["properties"], "LineItem")["price"], "price")
				eq(t, "price.type", price["type"], any("number"))
				eq(t, "opportunity.type", obj(t, props["opportunity"], "opportunity")["type"], any("number"))
			}
			var hasKey bool
			for _, p := range post["parameters"].([]any) {
				hasKey = hasKey || obj(t, p, "parameter")["name"] == "Idempotency-Key"
			}
			if !hasKey {
				t.Error("POST /api/v1/leads does not document Idempotency-Key")
			}
		})

		t.Run("public operations", func(t *testing.T) {
			for _, o := range ops {
				sec, has := o.op["security"]
				public := has && len(sec.([]any)) == 0
				want := (o.method == "GET" && o.path == "/api/v1/openapi.json") || (o.method == "POST" && o.path == "/api/v1/session")
				if public != want {
					t.Errorf("%s %s: public %v, want %v", o.method, o.path, public, want)
				}
			}
		})
	})
}

// TestOpenAPIRoutesServed sends a real request for every documented
// operation and checks that the router has a handler for it.
func TestOpenAPIRoutesServed(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		doc := openAPIDoc(t, e)
		// Records with id 1, so that many requests succeed and their
		// status can be checked against the document.
		account := e.create("/api/v1/accounts", map[string]any{"title": "ООО Ромашка"})
		contact := e.create("/api/v1/contacts", map[string]any{"name": "Иван", "account_ids": []int64{account}})
		e.create("/api/v1/leads", map[string]any{"title": "Лид"})
		e.create("/api/v1/deals", map[string]any{"title": "Сделка", "account_id": account, "contact_ids": []int64{contact},
			"product_rows": []any{map[string]any{"name": "Товар", "price": 10, "quantity": 1}}})
		e.create("/api/v1/products", map[string]any{"name": "Товар"})
		e.create("/api/v1/services", map[string]any{"name": "Услуга"})
		e.create("/api/v1/catalogs", map[string]any{"name": "Каталог"})
		e.create("/api/v1/sales-orders", map[string]any{"items": []any{}})
		e.create("/api/v1/tickets", map[string]any{"title": "Обращение", "account_id": account})
		e.create("/api/v1/activities", map[string]any{"kind": "call", "subject": "Звонок", "owner_type": "deal", "owner_id": 1})

		// The sweep revokes key 1 (DELETE /api/v1/keys/{id}) and signs
		// out; it runs with a key of its own.
		_, key, err := e.app.Store.CreateAPIKey(context.Background(), crmActor(1), 1, "sweep")
		if err != nil {
			t.Fatal(err)
		}
		ops := operations(t, doc)
		// Deletes run after everything else, then restores, then what
		// purges records or ends the sweep's own credentials.
		phase := func(o operation) int {
			switch {
			case o.method == "DELETE" && (strings.HasPrefix(o.path, "/api/v1/recyclebin/") || strings.HasPrefix(o.path, "/api/v1/keys/") || o.path == "/api/v1/session"):
				return 3
			case strings.HasSuffix(o.path, "/restore"):
				return 2
			case o.method == "DELETE":
				return 1
			}
			return 0
		}
		sort.SliceStable(ops, func(i, j int) bool { return phase(ops[i]) < phase(ops[j]) })
		for _, o := range ops {
			t.Run(o.method+" "+o.path, func(t *testing.T) {
				e := e.on(t)
				path := o.path
				for k, v := range pathParams {
					path = strings.ReplaceAll(path, k, v)
				}
				if strings.Contains(path, "{") {
					t.Fatalf("no value for a parameter of %s", o.path)
				}
				var body any
				if o.op["requestBody"] != nil {
					body = "{}"
					if b, ok := sampleBodies[o.method+" "+o.path]; ok {
						body = b
					} else if strings.HasSuffix(o.path, "/comments") {
						body = `{"body":"Перезвонить завтра"}`
					}
				}
				r := e.doKey(key, o.method, path, body)
				var eb errBody
				_ = json.Unmarshal(r.Body, &eb)
				if r.Status == http.StatusNotFound && strings.HasPrefix(eb.Error.Message, "no such endpoint") {
					t.Fatalf("not routed: %s", r.Body)
				}
				if r.Status == http.StatusMethodNotAllowed {
					t.Fatalf("405: %s", r.Body)
				}
				// Authentication runs before the catch-all answers "no such
				// endpoint", so a 401 would hide a missing route; a public
				// route's 401 comes from its own handler.
				if sec, ok := o.op["security"].([]any); r.Status == http.StatusUnauthorized && !(ok && len(sec) == 0) {
					t.Fatalf("401 hides whether the route exists: %s", r.Body)
				}
				t.Logf("%s %s: %d", o.method, path, r.Status)
				resps := obj(t, o.op["responses"], "responses")
				if r.Status < 300 {
					if _, ok := resps[itoa(r.Status)]; !ok {
						t.Errorf("answered %d, which the document does not list (%v): %.200s", r.Status, keys(resps), r.Body)
					}
				} else if eb.Error.Code == "" || eb.Error.Message == "" {
					t.Errorf("%d without the error envelope: %s", r.Status, r.Body)
				}
				if r.Status >= 500 {
					t.Errorf("server error: %s", r.Body)
				}
			})
		}
		t.Run("the check catches unrouted requests", func(t *testing.T) {
			e := e.on(t)
			for _, c := range []struct{ method, path string }{
				{"GET", "/api/v1/nope"},
				{"PUT", "/api/v1/leads"},
				{"POST", "/api/v1/leads/1/frobnicate"},
				{"GET", "/api/v1/leads/1/2"},
			} {
				r := e.doKey(key, c.method, c.path, nil)
				var eb errBody
				_ = json.Unmarshal(r.Body, &eb)
				if r.Status != 404 || eb.Error.Code != "not_found" || !strings.HasPrefix(eb.Error.Message, "no such endpoint") {
					t.Errorf("%s %s: %d %s", c.method, c.path, r.Status, r.Body)
				}
			}
		})
	})
}

func itoa(n int) string { return idStr(int64(n)) }

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
