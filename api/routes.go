package api

import "net/http"

// route is one API endpoint: how it is reached, what it takes and gives,
// and its handler. The table registers the mux and writes the OpenAPI
// document.
type route struct {
	Method, Path string
	Summary      string
	Tag          string
	// Auth requires an authenticated actor (401 otherwise); what the actor
	// may do is still decided by the domain.
	Auth bool
	// Request and Response are zero values of the body types, for the
	// document; nil for none.
	Request, Response any
	// Status is the success status (200 if zero).
	Status int
	// Query lists the query parameters, each "name: description".
	Query  []string
	handle handlerFunc
}

func (s *Server) routes() []route {
	return append([]route{
		{Method: "POST", Path: "/api/v1/auth/register", Tag: "account", Summary: "Open a buyer account",
			Request: registerRequest{}, Response: userView{}, Status: http.StatusCreated, handle: s.register},
		{Method: "POST", Path: "/api/v1/auth/login", Tag: "account", Summary: "Log in: returns a session token and sets the session cookie",
			Request: loginRequest{}, Response: loginResponse{}, handle: s.login},
		{Method: "POST", Path: "/api/v1/auth/logout", Tag: "account", Summary: "End the current session",
			Status: http.StatusNoContent, handle: s.logout},
		{Method: "GET", Path: "/api/v1/me", Tag: "account", Summary: "The logged-in user", Auth: true,
			Response: userView{}, handle: s.me},
		{Method: "POST", Path: "/api/v1/me/password", Tag: "account", Summary: "Change the password (ends other sessions)", Auth: true,
			Request: passwordRequest{}, Status: http.StatusNoContent, handle: s.changePassword},
		{Method: "POST", Path: "/api/v1/users", Tag: "account", Summary: "Create a user (operator: any role; seller member: members of its seller)", Auth: true,
			Request: createUserRequest{}, Response: userView{}, Status: http.StatusCreated, handle: s.createUser},
		{Method: "GET", Path: "/api/v1/users/{id}", Tag: "account", Summary: "A user (oneself, or any as operator)", Auth: true,
			Response: userView{}, handle: s.getUser},
		{Method: "POST", Path: "/api/v1/users/{id}/disable", Tag: "account", Summary: "Disable a user (operator)", Auth: true,
			Status: http.StatusNoContent, handle: s.disableUser},
		{Method: "POST", Path: "/api/v1/users/{id}/enable", Tag: "account", Summary: "Enable a user again (operator)", Auth: true,
			Status: http.StatusNoContent, handle: s.enableUser},
		{Method: "GET", Path: "/api/v1/tokens", Tag: "account", Summary: "My API tokens", Auth: true,
			Response: []tokenView{}, handle: s.listTokens},
		{Method: "POST", Path: "/api/v1/tokens", Tag: "account", Summary: "Create an API token (shown once)", Auth: true,
			Request: tokenRequest{}, Response: newTokenView{}, Status: http.StatusCreated, handle: s.createToken},
		{Method: "DELETE", Path: "/api/v1/tokens/{id}", Tag: "account", Summary: "Revoke an API token", Auth: true,
			Status: http.StatusNoContent, handle: s.revokeToken},

		// Sellers: onboarding and certification.
		{Method: "POST", Path: "/api/v1/sellers", Tag: "sellers", Summary: "Apply to become a seller; the applicant becomes its first member (buyer, or a member of a rejected seller)", Auth: true,
			Request: joinRequest{}, Response: sellerView{}, Status: http.StatusCreated, handle: s.applySeller},
		{Method: "GET", Path: "/api/v1/sellers/{id}", Tag: "sellers", Summary: "A seller (its members, operators)", Auth: true,
			Response: sellerView{}, handle: s.getSeller},
		{Method: "GET", Path: "/api/v1/sellers/{id}/applications", Tag: "sellers", Summary: "A seller's join applications, newest first (its members, operators)", Auth: true,
			Response: []sellerApplicationView{}, handle: s.sellerApplications},
		{Method: "POST", Path: "/api/v1/sellers/{id}/approve", Tag: "sellers", Summary: "Approve a seller's pending join application (operator)", Auth: true,
			Status: http.StatusNoContent, handle: s.approveSeller},
		{Method: "POST", Path: "/api/v1/sellers/{id}/reject", Tag: "sellers", Summary: "Reject a seller's pending join application, saying why (operator)", Auth: true,
			Request: rejectRequest{}, Status: http.StatusNoContent, handle: s.rejectSeller},
		{Method: "GET", Path: "/api/v1/sellers/{id}/reviews", Tag: "sellers", Summary: "A seller's audit trail: every review and withdrawal, newest first (its members, operators)", Auth: true,
			Response: []reviewView{}, handle: s.sellerReviews},
		{Method: "GET", Path: "/api/v1/review/sellers", Tag: "sellers", Summary: "Join applications waiting for review, oldest first (operator)", Auth: true,
			Response: []sellerApplicationView{}, handle: s.pendingSellers},
		{Method: "POST", Path: "/api/v1/sellers/{id}/certifications", Tag: "certification", Summary: "Submit business information for review (the seller's members, once it is approved)", Auth: true,
			Request: certificationRequest{}, Response: certificationView{}, Status: http.StatusCreated, handle: s.submitCertification},
		{Method: "GET", Path: "/api/v1/sellers/{id}/certifications", Tag: "certification", Summary: "A seller's business information submissions, newest first (its members; operators see account numbers masked)", Auth: true,
			Response: []certificationView{}, handle: s.certifications},
		{Method: "POST", Path: "/api/v1/certifications/{id}/approve", Tag: "certification", Summary: "Approve pending business information: the seller is certified (operator)", Auth: true,
			Status: http.StatusNoContent, handle: s.approveCertification},
		{Method: "POST", Path: "/api/v1/certifications/{id}/reject", Tag: "certification", Summary: "Reject pending business information, saying why (operator)", Auth: true,
			Request: rejectRequest{}, Status: http.StatusNoContent, handle: s.rejectCertification},
		{Method: "GET", Path: "/api/v1/review/certifications", Tag: "certification", Summary: "Business information waiting for review, oldest first, account numbers masked (operator)", Auth: true,
			Response: []certificationView{}, handle: s.pendingCertifications},

		// Products.
		{Method: "POST", Path: "/api/v1/products", Tag: "products", Summary: "Create a product: its draft publish application and its access key (shown once) (seller member, once approved)", Auth: true,
			Request: productInput{}, Response: newProductView{}, Status: http.StatusCreated, handle: s.createProduct},
		{Method: "GET", Path: "/api/v1/products", Tag: "products", Summary: "The catalogue: listed public products, oldest first",
			Query:    []string{"type: saas, license or package", "q: text to find in the name or description", "limit: page size, at most 200", "after: the last id of the previous page"},
			Response: []productVersionView{}, handle: s.listProducts},
		{Method: "GET", Path: "/api/v1/products/{id}", Tag: "products", Summary: "A product: its listed version (anyone); never listed ones and the open application to its seller's members and operators",
			Response: productView{}, handle: s.getProduct},
		{Method: "GET", Path: "/api/v1/my/products", Tag: "products", Summary: "My seller's products, newest first, each with its open application (seller member)", Auth: true,
			Response: []productView{}, handle: s.myProducts},
		{Method: "POST", Path: "/api/v1/products/{id}/modifications", Tag: "products", Summary: "Start modifying a listed product: a draft application holding the listed version (seller member)", Auth: true,
			Response: applicationView{}, Status: http.StatusCreated, handle: s.modifyProduct},
		{Method: "POST", Path: "/api/v1/products/{id}/specs/{code}/delist", Tag: "products", Summary: "Start delisting a spec, for good: a draft application (seller member)", Auth: true,
			Response: applicationView{}, Status: http.StatusCreated, handle: s.delistSpec},
		{Method: "POST", Path: "/api/v1/products/{id}/access-key/rotate", Tag: "products", Summary: "Rotate the product's access key: the new one is shown once, the old one stays valid for a grace period (seller member)", Auth: true,
			Response: accessKeyView{}, handle: s.rotateAccessKey},
		{Method: "GET", Path: "/api/v1/products/{id}/offers", Tag: "products", Summary: "What I may buy of the product now: each spec on sale, whether I may buy and try it, and why not (buyer)", Auth: true,
			Response: []offerView{}, handle: s.offers},
		{Method: "GET", Path: "/api/v1/products/{id}/specs/{code}/purchasable", Tag: "products", Summary: "Whether I may buy the spec now: {allowed:true}, or the refusal saying why (buyer)", Auth: true,
			Query:    []string{"quantity: units of a spec sold by quantity", "trial: true for a trial"},
			Response: purchasableView{}, handle: s.purchasable},

		// Publish applications.
		{Method: "GET", Path: "/api/v1/my/applications", Tag: "applications", Summary: "My seller's applications, newest first (seller member)", Auth: true,
			Response: []applicationView{}, handle: s.myApplications},
		{Method: "GET", Path: "/api/v1/applications/{id}", Tag: "applications", Summary: "An application (its seller's members, operators)", Auth: true,
			Response: applicationView{}, handle: s.getApplication},
		{Method: "PUT", Path: "/api/v1/applications/{id}", Tag: "applications", Summary: "Replace the product a draft application proposes (seller member)", Auth: true,
			Request: productInput{}, Response: applicationView{}, handle: s.updateDraft},
		{Method: "DELETE", Path: "/api/v1/applications/{id}", Tag: "applications", Summary: "Discard a draft application; a product never listed goes with it (seller member)", Auth: true,
			Status: http.StatusNoContent, handle: s.discardDraft},
		{Method: "POST", Path: "/api/v1/applications/{id}/submit", Tag: "applications", Summary: "Submit a draft for review; the seller must be certified (seller member)", Auth: true,
			Status: http.StatusNoContent, handle: s.submitApplication},
		{Method: "POST", Path: "/api/v1/applications/{id}/withdraw", Tag: "applications", Summary: "Take a submitted application back from review (seller member)", Auth: true,
			Request: withdrawRequest{}, Status: http.StatusNoContent, handle: s.withdrawApplication},
		{Method: "POST", Path: "/api/v1/applications/{id}/revise", Tag: "applications", Summary: "Start a new draft from the product's latest application, rejected or withdrawn (seller member)", Auth: true,
			Response: applicationView{}, Status: http.StatusCreated, handle: s.reviseApplication},
		{Method: "POST", Path: "/api/v1/applications/{id}/approve", Tag: "applications", Summary: "Approve a submitted application: its product is listed as proposed (operator)", Auth: true,
			Status: http.StatusNoContent, handle: s.approveApplication},
		{Method: "POST", Path: "/api/v1/applications/{id}/reject", Tag: "applications", Summary: "Reject a submitted application, saying why (operator)", Auth: true,
			Request: rejectRequest{}, Status: http.StatusNoContent, handle: s.rejectApplication},
		{Method: "GET", Path: "/api/v1/review/applications", Tag: "applications", Summary: "Applications waiting for review, oldest first (operator)", Auth: true,
			Response: []applicationView{}, handle: s.pendingApplications},
		{Method: "GET", Path: "/api/v1/applications/{id}/reviews", Tag: "applications", Summary: "An application's audit trail: its reviews and withdrawal (its seller's members, operators)", Auth: true,
			Response: []reviewView{}, handle: s.applicationReviews},

		// Orders, instances and balances.
		{Method: "POST", Path: "/api/v1/orders", Tag: "orders", Summary: "Buy a spec, paid from my balance (buyer); an Idempotency-Key header makes a repeat with the same key answer 200 with the first order instead of buying again", Auth: true,
			Request: purchaseRequest{}, Response: orderView{}, Status: http.StatusCreated, handle: s.purchase},
		{Method: "GET", Path: "/api/v1/my/orders", Tag: "orders", Summary: "My orders, newest first (buyer)", Auth: true,
			Query: pageQuery, Response: []orderView{}, handle: s.myOrders},
		{Method: "GET", Path: "/api/v1/my/instances", Tag: "orders", Summary: "My instances, newest first (buyer)", Auth: true,
			Query: pageQuery, Response: []instanceView{}, handle: s.myInstances},
		{Method: "GET", Path: "/api/v1/orders/{id}", Tag: "orders", Summary: "An order and its lines (its buyer, operators)", Auth: true,
			Response: orderView{}, handle: s.getOrder},
		{Method: "GET", Path: "/api/v1/instances/{id}", Tag: "orders", Summary: "An instance (its buyer, operators)", Auth: true,
			Response: instanceView{}, handle: s.getInstance},
		{Method: "POST", Path: "/api/v1/instances/{id}/renew", Tag: "orders", Summary: "Renew an instance for more periods, paid from my balance: a RENEW order (its buyer); an Idempotency-Key header makes a repeat answer 200 with the first order", Auth: true,
			Request: renewRequest{}, Response: orderView{}, Status: http.StatusCreated, handle: s.renewInstance},
		{Method: "POST", Path: "/api/v1/instances/{id}/unsubscribe", Tag: "orders", Summary: "Unsubscribe from an instance, refunding the unused part to my balance: an UNSUBSCRIBE order (its buyer); an Idempotency-Key header makes a repeat answer 200 with the first order", Auth: true,
			Response: orderView{}, Status: http.StatusCreated, handle: s.unsubscribeInstance},
		{Method: "POST", Path: "/api/v1/instances/{id}/convert", Tag: "orders", Summary: "Convert a trial instance to a formal purchase, paid from my balance: a TRIAL_TO_FORMAL order (its buyer); an Idempotency-Key header makes a repeat answer 200 with the first order", Auth: true,
			Request: renewRequest{}, Response: orderView{}, Status: http.StatusCreated, handle: s.convertTrial},
		{Method: "POST", Path: "/api/v1/instances/{id}/change", Tag: "orders", Summary: "Change an active instance to another spec or quantity for the rest of its paid time: a CHANGE order, the difference paid now or refunded once the seller applied it (its buyer); an Idempotency-Key header makes a repeat answer 200 with the first order", Auth: true,
			Request: changeRequest{}, Response: orderView{}, Status: http.StatusCreated, handle: s.changeInstance},
		{Method: "GET", Path: "/api/v1/instances/{id}/licenses", Tag: "orders", Summary: "The licence codes of an instance of a licence product (its buyer, operators)", Auth: true,
			Response: []licenseView{}, handle: s.instanceLicenses},
		{Method: "GET", Path: "/api/v1/me/balance", Tag: "orders", Summary: "My balance, one amount per currency", Auth: true,
			Response: []moneyView{}, handle: s.myBalance},
		{Method: "POST", Path: "/api/v1/buyers/{id}/top-up", Tag: "orders", Summary: "Top up a buyer's balance; answers its new balance in that currency (operator); an Idempotency-Key header makes a repeat top up once", Auth: true,
			Request: topUpRequest{}, Response: moneyView{}, handle: s.topUp},

		// Production interface messages.
		{Method: "GET", Path: "/api/v1/messages", Tag: "messages", Summary: "Production interface messages (calls to sellers), newest first: a seller's members see their seller's, operators all", Auth: true,
			Query: messageQuery, Response: []callView{}, handle: s.listMessages},
		{Method: "GET", Path: "/api/v1/messages/{id}", Tag: "messages", Summary: "A message: the call with every attempt (request, response, status, result code, latency, error) and its re-invocations (its seller's members, operators)", Auth: true,
			Response: messageView{}, handle: s.getMessage},
		{Method: "POST", Path: "/api/v1/messages/{id}/reinvoke", Tag: "messages", Summary: "Re-invoke a failed call after fixing the interface: an exhausted one with a fresh retry policy, a retrying one at once within its policy (its seller's members, operators)", Auth: true,
			Request: reinvokeRequest{}, Status: http.StatusNoContent, handle: s.reinvokeMessage},
	}, s.credentialRoutes()...)
}

// pageQuery describes the paging parameters of lists.
var pageQuery = []string{"limit: page size, at most 200 (50 by default)", "before: the last id of the previous page"}
