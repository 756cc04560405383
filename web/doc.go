// Package web is the marketplace's web console: server-rendered pages
// (html/template, embedded templates and one stylesheet, no build step and
// no JavaScript needed) for the storefront, the buyer centre, the seller
// centre and the operator console.
//
// Pages call the same domain packages as the JSON API (catalog, order,
// settle, delivery, notify, account): every rule — who may see or do what,
// what a purchase costs — lives there, and a handler here only reads a
// form, calls the domain, and renders the result or the error. A form
// that fails is shown again with what was typed and the domain's message.
//
// Sessions are the account package's, in the same cookie as the API's, so
// logging in on either logs in on both. Every state-changing request from
// another origin is refused (net/http's CrossOriginProtection, which reads
// Sec-Fetch-Site and Origin): forms need no token.
//
// The route table (routes.go and each area's file) is the one list of
// pages: it registers the mux and drives the authorisation test of every
// page × role.
package web
