// Package api is the marketplace's JSON API under /api/v1: it translates
// HTTP to calls of the domain packages (account, catalog, …) and their
// results and errors back to HTTP. It holds no rules: every check of who may
// do what is made in the domain package, from the souk.Actor the request
// authenticated as.
//
// Routes are a table (routes.go); the same table registers them on the mux
// and generates the OpenAPI document served at /api/v1/openapi.json, so the
// document cannot drift from what is served. Handlers return an error;
// one adapter renders it: a souk.Error's code picks the status (EINVALID
// 400, EUNAUTHENTICATED 401, EUNAUTHORIZED 403, ENOTFOUND 404, ECONFLICT
// 409) and its message is shown; anything else is logged and shown as
// "Internal error.".
//
// Requests authenticate with "Authorization: Bearer TOKEN" (a session or API
// token) or the session cookie set by log-in. State-changing requests that
// carry the cookie must come from the marketplace's own origin
// (http.CrossOriginProtection). Bodies are capped at 1 MiB and decoded
// strictly: an unknown field is an error naming it.
package api
