package catalog

import "github.com/souk-market/souk"

// Authorisation is decided here, in the domain, so that the API and the
// console cannot disagree. The pattern: a role check first (no database
// needed), then, once the record is loaded, an ownership check that answers
// a member of another seller with the same ENOTFOUND as a missing record,
// so that probing ids reveals nothing.

// requireSeller admits only members of a seller company.
func requireSeller(by souk.Actor, doing string) error {
	if by.UserID == "" {
		return souk.Errorf(souk.EUNAUTHENTICATED, "Sign in to %s.", doing)
	}
	if by.Role != souk.RoleSeller || by.SellerID == "" {
		return souk.Errorf(souk.EUNAUTHORIZED, "Only a seller's members can %s.", doing)
	}
	return nil
}

// requireOperator admits only the marketplace's staff.
func requireOperator(by souk.Actor, doing string) error {
	if by.UserID == "" {
		return souk.Errorf(souk.EUNAUTHENTICATED, "Sign in to %s.", doing)
	}
	if !by.IsOperator() {
		return souk.Errorf(souk.EUNAUTHORIZED, "Only operators can %s.", doing)
	}
	return nil
}

// requireSellerOrOperator admits seller members and operators; which
// seller's records a member may see is checked with ownedBy once loaded.
func requireSellerOrOperator(by souk.Actor, doing string) error {
	if by.UserID == "" {
		return souk.Errorf(souk.EUNAUTHENTICATED, "Sign in to %s.", doing)
	}
	if !by.IsOperator() && (by.Role != souk.RoleSeller || by.SellerID == "") {
		return souk.Errorf(souk.EUNAUTHORIZED, "Only the seller's members and operators can %s.", doing)
	}
	return nil
}

// ownedBy returns notFound unless by acts for sellerID (or, with
// operatorToo, is an operator).
func ownedBy(by souk.Actor, sellerID string, operatorToo bool, notFound error) error {
	if by.IsSellerMember(sellerID) || (operatorToo && by.IsOperator()) {
		return nil
	}
	return notFound
}
