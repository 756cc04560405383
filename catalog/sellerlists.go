package catalog

import (
	"context"
	"fmt"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// A seller's own lists a page at a time, for the seller centre: its
// products and its publish applications, newest first, each page resuming
// before the last row of the previous one (a cursor), so a page never
// skips or repeats a row added meanwhile.

// SellerListPage selects one page of a seller's list, newest first.
type SellerListPage struct {
	// Before pages backwards: rows older than this one (a product id, or
	// an application id in decimal). Empty for the first page.
	Before string
	// Limit is the page size: 50 by default, at most 200.
	Limit int
}

func (p SellerListPage) limit() int {
	if p.Limit <= 0 {
		return 50
	}
	return min(p.Limit, 200)
}

// MyProductsPage is MyProducts a page at a time: the products of by's
// seller, newest first, each with its delisted specs and open application.
//
// Returns EUNAUTHORIZED unless by is a seller member.
func MyProductsPage(ctx context.Context, db *store.DB, by souk.Actor, page SellerListPage) ([]ProductView, error) {
	if err := requireSeller(by, "list their products"); err != nil {
		return nil, err
	}
	where, args := `p.seller_id = $1`, []any{by.SellerID}
	if page.Before != "" {
		args = append(args, page.Before)
		where += fmt.Sprintf(` AND p.id < $%d`, len(args))
	}
	args = append(args, page.limit())
	vs, err := listProducts(ctx, db.SQL(), where+fmt.Sprintf(` ORDER BY p.id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, err
	}
	for i := range vs {
		if vs[i].Delisted, err = delistedSpecs(ctx, db.SQL(), vs[i].ID); err != nil {
			return nil, err
		}
		open, found, err := openApplication(ctx, db.SQL(), vs[i].ID)
		if err != nil {
			return nil, err
		}
		if found {
			vs[i].Open = &open
		}
	}
	return vs, nil
}

// MyProduct returns product id of by's seller, with its delisted specs and
// open application: the seller centre's product page. Unlike GetProduct,
// which shows any listed product to anyone, it is for the seller's own
// members only.
//
// Returns EUNAUTHORIZED unless by is a seller member, and ENOTFOUND if there
// is no such product of by's seller.
func MyProduct(ctx context.Context, db *store.DB, by souk.Actor, id string) (ProductView, error) {
	if err := requireSeller(by, "see their products"); err != nil {
		return ProductView{}, err
	}
	v, err := ownProduct(ctx, db.SQL(), by, id)
	if err != nil {
		return ProductView{}, err
	}
	open, found, err := openApplication(ctx, db.SQL(), id)
	if err != nil {
		return ProductView{}, err
	}
	if found {
		v.Open = &open
	}
	return v, nil
}

// MyApplicationsPage is MyApplications a page at a time: the publish
// applications of by's seller, newest first; with productID, only that
// product's (none if it is not by's seller's).
//
// Returns EUNAUTHORIZED unless by is a seller member, and EINVALID for a
// cursor that is not an application id.
func MyApplicationsPage(ctx context.Context, db *store.DB, by souk.Actor, productID string, page SellerListPage) ([]Application, error) {
	if err := requireSeller(by, "list their applications"); err != nil {
		return nil, err
	}
	where, args := `seller_id = $1`, []any{by.SellerID}
	if productID != "" {
		args = append(args, productID)
		where += fmt.Sprintf(` AND product_id = $%d`, len(args))
	}
	if page.Before != "" {
		var before int64
		if _, err := fmt.Sscan(page.Before, &before); err != nil || before <= 0 {
			return nil, invalid("before", "must be an application id, not %q.", page.Before)
		}
		args = append(args, before)
		where += fmt.Sprintf(` AND id < $%d`, len(args))
	}
	args = append(args, page.limit())
	return listApplications(ctx, db.SQL(), where+fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
}

// MySeller returns the seller by is a member of: the seller centre's
// home, and the gate of pages that act on the member's own seller (its
// inbox).
//
// Returns EUNAUTHORIZED unless by is a seller member.
func MySeller(ctx context.Context, db *store.DB, by souk.Actor) (Seller, error) {
	if err := requireSeller(by, "use the seller centre"); err != nil {
		return Seller{}, err
	}
	return loadSeller(ctx, db.SQL(), by.SellerID)
}
