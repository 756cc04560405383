package order

import (
	"context"
	"strings"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// SellerOrder returns order id as seller sellerID may see it — the lines
// of its own products only — for the open API's order query
// (protocol.md §6). An order with no line of the seller's is not found,
// as a missing one: a seller learns nothing of other sellers' orders.
func SellerOrder(ctx context.Context, db *store.DB, sellerID, id string) (Order, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return Order{}, souk.Errorf(souk.EINVALID, "orderId: is required.")
	}
	o, err := loadOrder(ctx, db.SQL(), id)
	if err != nil {
		return Order{}, err
	}
	lines := o.Lines[:0]
	for _, l := range o.Lines {
		if l.SellerID == sellerID {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return Order{}, souk.Errorf(souk.ENOTFOUND, "Order %s not found.", id)
	}
	o.Lines = lines
	return o, nil
}
