package settle

import "strings"

// Accounts are named by strings, "owner:id:purpose" or "owner:purpose".
// Every name the marketplace uses is built by one of these functions or
// is one of these constants.
const (
	// PlatformClearing holds what buyers paid for orders not yet settled
	// with their sellers (or refunded).
	PlatformClearing = "platform:clearing"
	// PlatformRevenue is the marketplace's fee income.
	PlatformRevenue = "platform:revenue"
	// ExternalTopUp is money that came into the marketplace from outside
	// (a top-up): its balance is minus all the money ever topped up.
	ExternalTopUp = "external:topup"
)

// BuyerBalance is a buyer's spendable balance. It is the only kind of
// account that may never go negative.
func BuyerBalance(buyerID string) string { return "buyer:" + buyerID + ":balance" }

// SellerPayable is what the marketplace owes a seller.
func SellerPayable(sellerID string) string { return "seller:" + sellerID + ":payable" }

// nonNegative reports whether account may never go below zero.
func nonNegative(account string) bool {
	return strings.HasPrefix(account, "buyer:") && strings.HasSuffix(account, ":balance")
}
