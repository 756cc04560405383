package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/api"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

func TestMain(m *testing.M) {
	account.Params = account.TestParams // hash in microseconds
	m.Run()
}

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

type client struct {
	t     *testing.T
	base  string
	token string
	hdr   map[string]string
}

// do sends a request and returns the status and the decoded JSON body.
func (c *client) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func newAPI(t *testing.T, db *store.DB) string {
	srv := httptest.NewServer(api.New(api.Config{DB: db}).Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAccountFlow(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		base := newAPI(t, db)
		anon := &client{t: t, base: base}

		st, body := anon.do("POST", "/api/v1/auth/register", map[string]string{"email": "ann@example.com", "name": "Ann", "password": "correct horse battery"})
		if st != http.StatusCreated || body["role"] != souk.RoleBuyer {
			t.Fatalf("register = %d %v, want 201 buyer", st, body)
		}
		if st, body := anon.do("POST", "/api/v1/auth/register", map[string]string{"email": "ANN@example.com", "name": "Ann", "password": "correct horse battery"}); st != http.StatusConflict {
			t.Fatalf("register the same email again = %d %v, want 409", st, body)
		}
		if st, _ := anon.do("GET", "/api/v1/me", nil); st != http.StatusUnauthorized {
			t.Fatalf("GET /me anonymous = %d, want 401", st)
		}
		st, body = anon.do("POST", "/api/v1/auth/login", map[string]string{"email": "ann@example.com", "password": "wrong password!"})
		if st != http.StatusBadRequest && st != http.StatusUnauthorized {
			t.Fatalf("login with a wrong password = %d %v, want 400 or 401", st, body)
		}
		st, body = anon.do("POST", "/api/v1/auth/login", map[string]string{"email": "ann@example.com", "password": "correct horse battery"})
		if st != http.StatusOK || body["token"] == "" {
			t.Fatalf("login = %d %v", st, body)
		}
		ann := &client{t: t, base: base, token: body["token"].(string)}
		if st, body := ann.do("GET", "/api/v1/me", nil); st != http.StatusOK || body["email"] != "ann@example.com" {
			t.Fatalf("GET /me = %d %v", st, body)
		}

		// An API token works like the session, and is revocable.
		st, body = ann.do("POST", "/api/v1/tokens", map[string]any{"name": "ci", "expiresInDays": 30})
		if st != http.StatusCreated || !strings.HasPrefix(body["token"].(string), account.TokenPrefix) {
			t.Fatalf("create token = %d %v", st, body)
		}
		pat := &client{t: t, base: base, token: body["token"].(string)}
		tokenID := body["id"].(string)
		if st, _ := pat.do("GET", "/api/v1/me", nil); st != http.StatusOK {
			t.Fatalf("GET /me with the API token = %d, want 200", st)
		}
		if st, body := ann.do("DELETE", "/api/v1/tokens/"+tokenID, nil); st != http.StatusNoContent {
			t.Fatalf("revoke %s = %d %v, want 204", tokenID, st, body)
		}
		if st, body := pat.do("GET", "/api/v1/me", nil); st != http.StatusUnauthorized || errCode(body) != souk.EUNAUTHENTICATED {
			t.Fatalf("GET /me with a revoked token = %d %v, want 401", st, body)
		}

		// A buyer may not create users or disable anyone.
		if st, _ := ann.do("POST", "/api/v1/users", map[string]string{"email": "op@example.com", "name": "Op", "password": "operator password", "role": "operator"}); st != http.StatusForbidden {
			t.Fatalf("buyer creating an operator = %d, want 403", st)
		}
		if st, _ := ann.do("POST", "/api/v1/users/usr_x/disable", nil); st != http.StatusForbidden && st != http.StatusNotFound {
			t.Fatalf("buyer disabling a user = %d, want 403 or 404", st)
		}
		// Logging out ends the session.
		if st, _ := ann.do("POST", "/api/v1/auth/logout", nil); st != http.StatusNoContent {
			t.Fatalf("logout = %d", st)
		}
		if st, _ := ann.do("GET", "/api/v1/me", nil); st != http.StatusUnauthorized {
			t.Fatalf("GET /me after logout = %d, want 401", st)
		}
	})
}

func TestBadInputIsAClearError(t *testing.T) {
	db := storetest.OpenSQLite(t, souk.NewFakeClock(t0))
	c := &client{t: t, base: newAPI(t, db)}
	tests := []struct {
		name, body, want string
	}{
		{"empty", "", "empty"},
		{"not JSON", "{", "not valid JSON"},
		{"unknown field", `{"email":"a@b.co","nmae":"x","password":"0123456789ab"}`, `Unknown field "nmae"`},
		{"wrong type", `{"email":7}`, "email"},
		{"two values", `{"email":"a@b.co"} {}`, "more than one"},
		{"too big", `{"name":"` + strings.Repeat("x", 1<<20) + `"}`, "larger than"},
		{"missing password", `{"email":"a@b.co","name":"A"}`, "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			st, body := c.do("POST", "/api/v1/auth/register", tt.body)
			msg, _ := body["error"].(map[string]any)["message"].(string)
			if st != http.StatusBadRequest || !strings.Contains(msg, tt.want) {
				t.Fatalf("register with %s = %d %q, want 400 mentioning %q", tt.name, st, msg, tt.want)
			}
		})
	}
	if st, body := c.do("GET", "/api/v1/nothing-here", nil); st != http.StatusNotFound || errCode(body) != souk.ENOTFOUND {
		t.Fatalf("unknown route = %d %v, want 404 JSON", st, body)
	}
	if st, _ := c.do("POST", "/api/v1/me", "{}"); st != http.StatusMethodNotAllowed {
		t.Fatalf("POST /api/v1/me = %d, want 405", st)
	}
}

func TestCookieRequestsFromAnotherOriginAreRefused(t *testing.T) {
	db := storetest.OpenSQLite(t, souk.NewFakeClock(t0))
	base := newAPI(t, db)
	if _, err := account.Register(t.Context(), db, account.Registration{Email: "bo@example.com", Name: "Bo", Password: "a long password"}); err != nil {
		t.Fatal(err)
	}
	_, token, err := account.Login(t.Context(), db, "bo@example.com", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	send := func(site string) int {
		req, _ := http.NewRequest("POST", base+"/api/v1/tokens", strings.NewReader(`{"name":"x","expiresInDays":1}`))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(&http.Cookie{Name: "souk_session", Value: token})
		req.Header.Set("Sec-Fetch-Site", site)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := send("cross-site"); st != http.StatusForbidden {
		t.Fatalf("cookie POST from another site = %d, want 403", st)
	}
	if st := send("same-origin"); st != http.StatusCreated {
		t.Fatalf("cookie POST from the same origin = %d, want 201", st)
	}
}

func TestOpenAPIDocumentDescribesEveryRoute(t *testing.T) {
	db := storetest.OpenSQLite(t, souk.NewFakeClock(t0))
	c := &client{t: t, base: newAPI(t, db)}
	st, doc := c.do("GET", "/api/v1/openapi.json", nil)
	if st != http.StatusOK || doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json = %d %v", st, doc["openapi"])
	}
	paths := doc["paths"].(map[string]any)
	for _, want := range []string{"post /api/v1/auth/register", "post /api/v1/auth/login", "get /api/v1/me", "delete /api/v1/tokens/{id}"} {
		method, path, _ := strings.Cut(want, " ")
		op, ok := paths[path].(map[string]any)[method].(map[string]any)
		if !ok {
			t.Fatalf("document has no %s", want)
		}
		if op["summary"] == "" || op["responses"] == nil {
			t.Fatalf("%s has no summary or responses: %v", want, op)
		}
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	user := schemas["User"].(map[string]any)["properties"].(map[string]any)
	if _, ok := user["email"]; !ok {
		t.Fatalf("schema User = %v, want an email property", user)
	}
}

// The document describes every route of the table, with its method, path
// parameters and log-in requirement, and every schema it refers to
// exists.
func TestOpenAPIDocumentHasEveryRoute(t *testing.T) {
	db := storetest.OpenSQLite(t, souk.NewFakeClock(t0))
	srv := api.New(api.Config{DB: db})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	c := &client{t: t, base: ts.URL}
	st, doc := c.do("GET", "/api/v1/openapi.json", nil)
	if st != http.StatusOK {
		t.Fatalf("openapi.json = %d", st)
	}
	paths := doc["paths"].(map[string]any)
	routes := api.Routes(srv)
	for _, rt := range routes {
		op, ok := paths[rt.Path].(map[string]any)[strings.ToLower(rt.Method)].(map[string]any)
		if !ok {
			t.Errorf("document has no %s %s", rt.Method, rt.Path)
			continue
		}
		if s, _ := op["summary"].(string); s == "" || op["tags"] == nil {
			t.Errorf("%s %s has no summary or tag", rt.Method, rt.Path)
		}
		if _, ok := op["requestBody"]; ok != rt.Request {
			t.Errorf("%s %s: a request body documented = %v, want %v", rt.Method, rt.Path, ok, rt.Request)
		}
		responses, _ := op["responses"].(map[string]any)
		success, _ := responses[strconv.Itoa(rt.Status)].(map[string]any)
		if _, ok := success["content"]; success == nil || ok != rt.Response {
			t.Errorf("%s %s: answer %d documented as %v, want one with a body: %v", rt.Method, rt.Path, rt.Status, success, rt.Response)
		}
		if _, ok := responses["401"]; ok != rt.Auth {
			t.Errorf("%s %s: a 401 answer documented = %v, want %v (requires log-in)", rt.Method, rt.Path, ok, rt.Auth)
		}
		var params []string
		for _, p := range asList(op["parameters"]) {
			params = append(params, p.(map[string]any)["name"].(string))
		}
		for _, seg := range strings.Split(rt.Path, "/") {
			if name, ok := strings.CutPrefix(seg, "{"); ok && !slices.Contains(params, strings.TrimSuffix(name, "}")) {
				t.Errorf("%s %s: path parameter %s is not documented (parameters %v)", rt.Method, rt.Path, seg, params)
			}
		}
	}
	n := 0
	for _, p := range paths {
		n += len(p.(map[string]any))
	}
	if n != len(routes) {
		t.Errorf("document has %d operations, the route table %d", n, len(routes))
	}

	// Every $ref — of request bodies, responses, and the schemas they
	// refer to — names a schema of components.
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	refs := 0
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				refs++
				name, ok := strings.CutPrefix(ref, "#/components/schemas/")
				if _, found := schemas[name]; !ok || !found {
					t.Errorf("%s: $ref %q resolves to no schema", where, ref)
				}
			}
			for k, e := range v {
				walk(where+"."+k, e)
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", where, i), e)
			}
		}
	}
	walk("", doc)
	if refs == 0 {
		t.Fatal("the document has no $ref at all")
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func TestOpenAPIDocumentsQueryParameters(t *testing.T) {
	db := storetest.OpenSQLite(t, souk.NewFakeClock(t0))
	c := &client{t: t, base: newAPI(t, db)}
	_, doc := c.do("GET", "/api/v1/openapi.json", nil)
	op := doc["paths"].(map[string]any)["/api/v1/products"].(map[string]any)["get"].(map[string]any)
	var names []string
	for _, p := range op["parameters"].([]any) {
		if p.(map[string]any)["in"] == "query" {
			names = append(names, p.(map[string]any)["name"].(string))
		}
	}
	if strings.Join(names, ",") != "type,q,limit,after" {
		t.Fatalf("query parameters of GET /api/v1/products = %v, want type,q,limit,after", names)
	}
}
