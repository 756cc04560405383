package protocol

import "time"

// Profile gathers every choice that the public KooGallery documents leave
// open or on which they disagree (marked "(profile)" in the spec). Nothing
// else in the project hard-codes one of these values: callers take them from
// a Profile, normally Default.
type Profile struct {
	// TimestampWindow is how far a call's timestamp may lie from the
	// receiver's clock, either way (§2.1).
	TimestampWindow time.Duration
	// NonceBytes is the number of random bytes in a nonce; it is sent as
	// twice as many hex characters (§2.1: 32 hex characters).
	NonceBytes int
	// CallTimeout is the default time a seller has to answer (§1).
	CallTimeout time.Duration
	// MaxCallTimeout caps a per-product timeout (§1).
	MaxCallTimeout time.Duration
	// MaxRequestBody caps a request body a seller accepts.
	MaxRequestBody int64
	// MaxResponseBody caps a response body the marketplace reads; a longer
	// answer is a bad response.
	MaxResponseBody int64
	// ReplayCacheSize bounds the nonces a Verifier remembers. When it is
	// full the oldest nonce is forgotten first; see ReplayCache.
	ReplayCacheSize int
	// MaxQueryInstanceIDs is the most instance ids one queryInstance carries.
	MaxQueryInstanceIDs int
	// MaxAuthSyncUsers is the most users one authSync carries (§4).
	MaxAuthSyncUsers int
	// KitTimeZone is the zone of the kit bodies' timeStamp (§4: GMT+8).
	KitTimeZone *time.Location
	// StrictContentType makes a response without Content-Type
	// application/json a bad response (§1).
	StrictContentType bool
	// DefaultEncryptType is the AES variant used when a response does not
	// say (§2.4: 1 = AES-256).
	DefaultEncryptType int
	// MinRSABits is the smallest public key accepted for clientSecret (§2.4).
	MinRSABits int
}

// Default is the profile this marketplace runs with.
var Default = Profile{
	TimestampWindow:     60 * time.Second,
	NonceBytes:          16,
	CallTimeout:         20 * time.Second,
	MaxCallTimeout:      60 * time.Second,
	MaxRequestBody:      1 << 20,
	MaxResponseBody:     1 << 20,
	ReplayCacheSize:     100_000,
	MaxQueryInstanceIDs: 100,
	MaxAuthSyncUsers:    500,
	KitTimeZone:         time.FixedZone("GMT+8", 8*60*60),
	StrictContentType:   true,
	DefaultEncryptType:  EncryptAES256,
	MinRSABits:          3072,
}

// The profile choices that are rules of the format rather than settings:
//
//   - testFlag and flag are sent in their documented form (basic testFlag as
//     the string "1"/"0", kit testFlag and flag as numbers) and accepted in
//     either form (StringFlag, NumberFlag).
//   - Unknown fields in a body are ignored, never rejected.
//   - The kit x-sign HMAC key is the access key.
//   - The AES key for encrypted fields is SHA-256 of the access key,
//     truncated to 32 (AES-256) or 16 (AES-128) bytes.
//   - An instance is ready when its appInfo carries a frontEndUrl; a
//     queryInstance answer of 000004, or one whose info lacks appInfo, means
//     "still provisioning".
//   - The open API signature is base64(HMAC-SHA256(secret,
//     "ts={ms}&nonce={n}&body={rawBody}")) in the signature header.
