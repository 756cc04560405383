package api

import (
	"net/http"
	"reflect"
	"strings"
	"time"
)

// The OpenAPI 3.1 document, generated from the route table and the Go
// types of the bodies, so that it always describes what is served.

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, s.document())
}

func (s *Server) document() map[string]any {
	paths := map[string]any{}
	schemas := map[string]any{}
	errorRef := map[string]any{"$ref": "#/components/schemas/Error"}
	schemas["Error"] = schemaOf(reflect.TypeOf(errorBody{}), schemas)
	for _, rt := range s.routes() {
		op := map[string]any{
			"summary":     rt.Summary,
			"tags":        []string{rt.Tag},
			"operationId": operationID(rt),
		}
		var params []any
		for _, seg := range strings.Split(rt.Path, "/") {
			if strings.HasPrefix(seg, "{") {
				params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true,
					"schema": map[string]any{"type": "string"}})
			}
		}
		for _, q := range rt.Query {
			name, desc, _ := strings.Cut(q, ": ")
			params = append(params, map[string]any{"name": name, "in": "query", "required": false, "description": desc,
				"schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.Request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.Request), schemas)}}}
		}
		status := rt.Status
		if status == 0 {
			status = http.StatusOK
		}
		ok := map[string]any{"description": http.StatusText(status)}
		if rt.Response != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.Response), schemas)}}
		}
		errContent := map[string]any{"application/json": map[string]any{"schema": errorRef}}
		responses := map[string]any{itoa(status): ok,
			"400": map[string]any{"description": "Invalid request", "content": errContent},
			"403": map[string]any{"description": "Not allowed", "content": errContent},
			"404": map[string]any{"description": "Not found", "content": errContent},
			"409": map[string]any{"description": "Conflict with the current state", "content": errContent},
		}
		if rt.Auth {
			responses["401"] = map[string]any{"description": "Not logged in", "content": errContent}
			op["security"] = []any{map[string]any{"bearer": []string{}}, map[string]any{"cookie": []string{}}}
		}
		op["responses"] = responses
		p, _ := paths[rt.Path].(map[string]any)
		if p == nil {
			p = map[string]any{}
			paths[rt.Path] = p
		}
		p[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Souk marketplace API", "version": "1",
			"description": "The marketplace's JSON API. Errors are {\"error\":{\"code\",\"message\"}}."},
		"paths": paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "A session token from log-in, or an API token (souk_pat_…)"},
				"cookie": map[string]any{"type": "apiKey", "in": "cookie", "name": sessionCookie},
			},
		},
	}
}

func operationID(rt route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.Method))
	for _, seg := range strings.Split(strings.TrimPrefix(rt.Path, "/api/v1/"), "/") {
		seg = strings.Trim(seg, "{}")
		if seg != "" {
			b.WriteString(strings.ToUpper(seg[:1]) + seg[1:])
		}
	}
	return b.String()
}

func itoa(n int) string {
	const digits = "0123456789"
	return string([]byte{digits[n/100], digits[n/10%10], digits[n%10]})
}

var timeType = reflect.TypeOf(time.Time{})

// schemaOf returns the JSON Schema of t, registering named struct types in
// schemas and referring to them.
func schemaOf(t reflect.Type, schemas map[string]any) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Pointer:
		return schemaOf(t.Elem(), schemas)
	case t.Kind() == reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), schemas)}
	case t.Kind() == reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), schemas)}
	case t.Kind() == reflect.String:
		return map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return map[string]any{"type": "number"}
	case t.Kind() == reflect.Struct:
		name := schemaName(t)
		if name != "" {
			if _, done := schemas[name]; !done {
				schemas[name] = map[string]any{} // placeholder against recursion
				schemas[name] = structSchema(t, schemas)
			}
			return map[string]any{"$ref": "#/components/schemas/" + name}
		}
		return structSchema(t, schemas)
	}
	return map[string]any{}
}

func structSchema(t reflect.Type, schemas map[string]any) map[string]any {
	props := map[string]any{}
	var required []string
	var addFields func(t reflect.Type)
	addFields = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				addFields(f.Type)
				continue
			}
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = schemaOf(f.Type, schemas)
			if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
				required = append(required, name)
			}
		}
	}
	addFields(t)
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// schemaName is the exported name of a body type: userView → User.
func schemaName(t reflect.Type) string {
	n := t.Name()
	if n == "" {
		return ""
	}
	n = strings.TrimSuffix(n, "View")
	return strings.ToUpper(n[:1]) + n[1:]
}
