// Package catalog is the marketplace's catalogue: sellers and their
// onboarding, business information certification, products and their
// specs, publish applications and their review, the sales controls checked
// at purchase time, and the catalogue buyers browse
// (../shared/spec/marketplace.md §1–§3).
//
// # One set of functions for every caller
//
// Every operation is a function taking the database and the souk.Actor
// performing it, and checks authorisation itself, so that the JSON API and
// the console call the same functions and cannot disagree:
//
//   - a seller member acts only on its own seller's data; another seller's
//     product, application or records are ENOTFOUND, exactly like a missing
//     one, so probing ids reveals nothing;
//   - only operators review (EUNAUTHORIZED for anyone else), and operators
//     do not act for sellers;
//   - a buyer cannot create or change products (EUNAUTHORIZED);
//   - an actor without a user is EUNAUTHENTICATED, except for the public
//     reads ListProducts and GetProduct.
//
// Errors are souk.Errors: EINVALID names the field ("specs[1].price.currency:
// …"); a transition that is not allowed is ECONFLICT and says what is.
//
// # Onboarding
//
// A user applies with a JoinApplication (Apply); a seller is created in
// pending with that user as its first member, and Apply returns its id.
// Linking the user's account to the seller is the caller's job (the account
// package owns accounts): ApplyTx and account.JoinSeller in one
// transaction make the seller and its first member appear together. An operator approves or rejects, with a reason
// (ApproveSeller, RejectSeller); a rejected seller applies again, as a new
// application, the earlier ones kept (SellerApplications):
//
//	pending ──approve──▶ approved
//	   └────reject────▶ rejected ──apply again──▶ pending
//
// # Business information certification
//
// An approved seller submits its bank account and tax information
// (SubmitCertification); an operator approves or rejects it with a reason.
// One submission may be pending at a time (ECONFLICT otherwise); the
// latest approved one is the seller's certified information
// (CertifiedInformation), which settlement reads in full
// (SettlementInformation). Account numbers are stored in plain text for
// now, and shown in full only to the seller's own members (Masked).
//
//	pending ──approve──▶ approved
//	   └────reject────▶ rejected
//
// # Products and publish applications
//
// A product is an id, its seller, an access key, and a listed version: the
// Product buyers see and buy, nil until first approved. Every version of
// the content — type, production URL, description, specs, and the sales
// controls — is proposed by a publish application carrying the whole
// product as a JSON snapshot, and becomes the listed version only when an
// operator approves it. Sales controls are part of the product on purpose:
// who may buy, and how much, is a change buyers feel, so on a listed
// product it is reviewed like any other change.
//
// Kinds of application: publish (a product never listed, created with
// CreateProduct), modify (a listed product, started with ModifyProduct
// from the listed version), delist_spec (one spec off sale, DelistSpec).
// A product has at most one open (draft or submitted) application.
//
//	draft ──submit──▶ submitted ──approve──▶ approved (the snapshot is listed)
//	  │                  ├──reject(reason)──▶ rejected ─┐
//	  │ update, discard  └──withdraw─────────▶ withdrawn ┴─revise─▶ a new draft
//
// The rules the notes stress, each enforced in one place:
//
//   - Certification before publication: an approved seller may create and
//     edit drafts, but SubmitApplication refuses any application until its
//     business information is certified: ECONFLICT "Business information
//     must be certified before submitting for publication." ECONFLICT, not
//     EUNAUTHORIZED, because the member is entitled to submit its seller's
//     applications; it is the seller's state that does not allow it yet.
//   - Revise from the latest rejected record: ReviseRejected makes a new
//     draft from a rejected (or withdrawn) application only if it is its
//     product's latest application; otherwise ECONFLICT names the latest.
//   - Listed changes need approval: modifications work on their snapshot;
//     the listed version, which ListProducts, GetProduct and CheckPurchase
//     read, changes only in ApproveApplication.
//   - No deleting a listed spec: a modification without one of the listed
//     specs is refused at submission, naming the spec; a spec leaves only
//     through its own delist_spec application, and once that is approved
//     its code can never be listed again on the product.
//
// Every approval, rejection and withdrawal — of join applications,
// certifications and publish applications — is written to the audit trail
// (Reviews) in the same transaction as the change.
//
// # Access keys and production URLs
//
// Each product has an access key that signs its production interface calls:
// 32 random bytes in hex, shown once (by CreateProduct and RotateAccessKey)
// and stored encrypted with AES-GCM under the marketplace key (Keyring). A
// rotation keeps the previous key valid for a grace period (AccessKeys).
// Production URLs must be https and, unless Settings.AllowPrivateURLs, not
// point at a private, loopback or link-local address or localhost
// (CheckProductionURL).
//
// # Sales controls
//
// CheckPurchase (or CheckPurchaseTx, inside the order's transaction) is
// the one place the order package asks whether a buyer may buy a spec:
// product and spec restrictions to named buyers (EUNAUTHORIZED with the
// seller's contact), trial allow-lists, quantities, and purchase limits —
// once per buyer, at most N units, not again until the current one expires
// — counted by the order package through PurchaseHistory, unsubscribed
// orders excluded, never for ON_DEMAND specs. A product that is not public
// is left out of ListProducts but bought by its id like any other.
package catalog
