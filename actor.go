package souk

// Roles a user can act in.
const (
	RoleBuyer    = "buyer"    // buys, renews, changes, unsubscribes; may run an enterprise
	RoleSeller   = "seller"   // a member of one seller company
	RoleOperator = "operator" // the marketplace's staff
)

// Actor is who performs an operation, as the domain layer checks it: the
// user, the role they act in, and for a seller member the seller company
// they belong to. Authorisation is decided from an Actor in the domain
// packages, never only in handlers.
type Actor struct {
	UserID   string
	Role     string
	SellerID string // set for RoleSeller
}

// IsOperator reports whether a is the marketplace's staff.
func (a Actor) IsOperator() bool { return a.Role == RoleOperator }

// IsSellerMember reports whether a acts for seller sellerID.
func (a Actor) IsSellerMember(sellerID string) bool {
	return a.Role == RoleSeller && a.SellerID != "" && a.SellerID == sellerID
}
