// Package sellerapi is the marketplace's side of the seller → marketplace
// open API (../shared/spec/protocol.md §6): sellers' API credentials, the
// authentication of their calls, and the three endpoints — order query,
// usage push (package usage) and licence activation (order.ActivateLicense).
// The wire (paths, headers, bodies, result codes) is sellerkit's
// (sellerkit/openapi.go), which sellers' software uses through
// sellerkit.OpenAPIClient.
//
// # Credentials
//
// A seller's members create, list and revoke API credentials
// (CreateCredential, ListCredentials, RevokeCredential; the JSON API's
// /api/v1/my/api-credentials). A credential is a public key id ("sk_…")
// and a secret shown once. The secret keys an HMAC, so the marketplace
// must be able to read it back: it is kept sealed with the marketplace key
// (catalog.Keyring, bound to the key id), never in clear, and a copy of
// the database alone reveals none. A seller holds at most MaxCredentials
// valid credentials; revocation takes effect on the next call.
//
// # Authentication (in this order; each failure is HTTP 401, 000001)
//
//  1. the headers X-Souk-Key (the key id), ts (Unix milliseconds, 13
//     digits), nonce (at most 64 characters) and signature are all present;
//  2. ts lies within ±60 s of the marketplace's clock (the store's clock);
//  3. the key id names a credential that is not revoked;
//  4. signature = base64(HMAC-SHA256(secret, "ts={ts}&nonce={nonce}&body={raw body}"))
//     (protocol.SignOpenAPI), compared in constant time;
//  5. the nonce has not been used with this key within twice the window
//     ("replayed nonce"). Each accepted (key id, nonce) is written to the
//     table sellerapi_nonces, which every node shares, under a unique
//     index: a replay is refused whichever node it reaches, and of
//     concurrent identical calls exactly one is accepted. Nonces are per
//     key. Only calls whose signature verified write a row, so forged
//     calls cannot fill the table.
//
// A nonce's row is kept for twice the window after the call was accepted
// (seen_at, the accepting node's clock): the call's ts lay within ±window
// of seen_at, so after seen_at + 2 × window no node accepts it, whatever
// its own clock. Older rows are deleted opportunistically: a Handler runs
// DELETE … WHERE seen_at < now − 2 × window on the first call it accepts
// once PurgeEvery (a minute) has passed since its last purge, so each
// process deletes at most once a minute and the table holds about two
// windows' worth of accepted calls, plus a minute. A purge that fails is
// logged, not the call's. An expired row not yet purged does not refuse
// its nonce: a new use takes it over.
//
// Only the body is signed, as KooGallery does: the query string of an order
// query is not. Bodies are capped at 1 MiB (HTTP 413).
//
// # Answers
//
// Every answer is JSON {resultCode, resultMsg, …}: 000000 with HTTP 200 for
// success, 000001/401 for authentication, 000002/400 for bad input (the
// message names the field or record), 000003/404 for an order that is not
// the seller's, 000005/500 for the marketplace's own failures (logged, with
// a generic message). Licence activation answers 92020000 (200) activated,
// 92020001 (404) no such code of the seller's products, 92020002 (400) a
// malformed request, 92020003 (409) not in a state to activate (already
// activated, frozen or released). A method other than the path's is 405.
//
// # Who sees what
//
// A seller's credential acts for that seller only: an order shows only the
// lines of its own products, and an order without one is not found, as a
// missing one; usage for another seller's instance refuses the batch; a
// licence code of another seller's product is not found.
package sellerapi
