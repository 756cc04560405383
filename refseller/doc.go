// Package refseller is the reference seller, "Souk Notes": a small SaaS
// provider built only on sellerkit, sellerkit/sqlitestore and the standard
// library, run by `souk seller run`. It is what the demo lists as a product,
// what the conformance checker is tried against, and a worked example for
// anyone writing a seller.
//
// # State
//
// Everything lives in one SQLite file, DataDir/seller.db: sellerkit's
// idempotency records beside the seller's own tables (schema.go), created at
// start. Instances move provisioning → active ⇄ frozen → released; the row
// of a released instance stays, so repeats find it released.
//
// # The interfaces
//
// All sixteen production interfaces are implemented (seller.go, license.go,
// kit.go). The seller's code behaves correctly on repeats by itself, and
// sellerkit.Idempotent stands in front of it as well (§7 of the protocol):
//
//   - newInstance: one instance per orderId+orderLineId, with a generated
//     account; frontEndUrl is http://ADDR/app/{instanceId}, a real page.
//     With Config.Async the answer is 000004 and the instance becomes ready
//     (appInfo in queryInstance) Async later.
//   - queryInstance: the instances that exist and are not released, unknown
//     ids left out, 000003 when none is found; active ones with usageInfo
//     (seats in use).
//   - refreshInstance, updateInstanceStatus, upgradeInstance,
//     changeInstanceCheck: 000003 for an unknown or released instance.
//     changeInstanceCheck refuses (000002) a change to the sku DowngradeSKU
//     and accepts any other.
//   - releaseInstance, releaseLicenseCode, kit deletes: success when the
//     thing is already released or gone.
//   - licence codes are known once activated (POST /control/licenses stands
//     in for the seller's software); refresh or freeze of an unknown one
//     answers 000003 — except in a debug call (testFlag 1), which registers
//     the code as a debug licence so that debug cases pass and repeat.
//   - kit syncs keep tenants, apps, users (keyed userName@tenantCode) and
//     departments per instance; allOrgSync replaces the tree.
//
// # HTTP
//
// Server.Handler serves:
//
//	POST /produce, /produce/produceAPI/v2/{name}  the production URL (sellerkit handler)
//	GET|POST /control                             the faults in force (X-Control-Key: the access key)
//	POST /control/licenses                        activate a licence code (X-Control-Key)
//	POST /control/usage                           push a usage record to the marketplace (X-Control-Key; market.go)
//	POST /activate                                activate a licence code through the marketplace (market.go)
//	GET /app/{instanceId}, /app/{instanceId}/admin the app's pages
//	GET /healthz                                  ok when the database answers
//
// # The marketplace's open API
//
// With Config.Market, APIKey and APISecret (souk seller run --market
// --api-key --api-secret) the seller calls the marketplace back through
// sellerkit.OpenAPIClient: it queries the order of every newInstance to
// learn its product, spec and charging mode, pushes usage of pay-per-use
// instances (POST /control/usage) and activates licence codes
// (POST /activate). See market.go.
//
// # Misbehaving on purpose
//
// Faults (faults.go) make the seller fail a fraction of calls, fail chosen
// activities, answer slowly or not at all, so the marketplace's retries,
// timeouts and message log can be tested against a real server. They start
// from Config.Faults and change at run time through POST /control, e.g.
//
//	curl -H 'X-Control-Key: KEY' -d '{"failActivities":["newInstance"],"slow":"2s"}' http://ADDR/control
//
// and POST {} ends them.
package refseller
