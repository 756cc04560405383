// Package protocol is the production-interface wire protocol between the
// marketplace and its sellers (../shared/spec/protocol.md): the activities and
// kit interfaces with their typed request and response bodies, result codes,
// query-string and header signing, response Body-Sign, encrypted fields, a
// Client that signs, sends and classifies a call, and a Verifier with a
// timestamp window and a bounded replay cache.
//
// Both sides of the wire import this package: the marketplace's delivery
// engine sends with Client, and the seller SDK (sellerkit) receives with
// Verifier and Decode. Every choice the public documents leave open is a
// field of Profile, in profile.go, so it can be switched in one place.
//
// The package depends on the standard library only.
package protocol
