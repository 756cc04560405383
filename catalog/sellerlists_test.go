package catalog_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
)

// A seller's products and applications page newest first, resuming before
// the last row shown; another seller's product is not found, and a buyer
// may not list.
func TestSellerListsPage(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		seller := e.newSeller(t, certifiedSeller)
		other := e.newSeller(t, certifiedSeller)
		var ids []string
		for range 3 {
			np := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, seller, product()))
			ids = append(ids, np.ProductID)
			e.clock.Advance(time.Second)
		}
		e.listed(t, other, product())

		page1 := mustValue[[]catalog.ProductView](t)(catalog.MyProductsPage(ctx, e.db, seller, catalog.SellerListPage{Limit: 2}))
		if len(page1) != 2 || page1[0].ID != ids[2] || page1[1].ID != ids[1] || page1[0].Open == nil {
			t.Fatalf("first page = %+v, want %s, %s with open drafts", page1, ids[2], ids[1])
		}
		page2 := mustValue[[]catalog.ProductView](t)(catalog.MyProductsPage(ctx, e.db, seller, catalog.SellerListPage{Limit: 2, Before: page1[1].ID}))
		if len(page2) != 1 || page2[0].ID != ids[0] {
			t.Fatalf("second page = %+v, want %s", page2, ids[0])
		}

		v := mustValue[catalog.ProductView](t)(catalog.MyProduct(ctx, e.db, seller, ids[0]))
		if v.Open == nil || v.Open.State != catalog.Draft {
			t.Fatalf("MyProduct = %+v, want its open draft", v)
		}
		_, err := catalog.MyProduct(ctx, e.db, other, ids[0])
		wantCode(t, "another seller's MyProduct", err, souk.ENOTFOUND)
		_, err = catalog.MyProductsPage(ctx, e.db, buyer(), catalog.SellerListPage{})
		wantCode(t, "a buyer's MyProductsPage", err, souk.EUNAUTHORIZED)

		as := mustValue[[]catalog.Application](t)(catalog.MyApplicationsPage(ctx, e.db, seller, "", catalog.SellerListPage{Limit: 2}))
		if len(as) != 2 || as[0].ID <= as[1].ID {
			t.Fatalf("applications page = %+v", as)
		}
		rest := mustValue[[]catalog.Application](t)(catalog.MyApplicationsPage(ctx, e.db, seller, "", catalog.SellerListPage{Before: strconv.FormatInt(as[1].ID, 10)}))
		if len(rest) != 1 || rest[0].ID >= as[1].ID {
			t.Fatalf("next applications page = %+v", rest)
		}
		one := mustValue[[]catalog.Application](t)(catalog.MyApplicationsPage(ctx, e.db, seller, ids[1], catalog.SellerListPage{}))
		if len(one) != 1 || one[0].ProductID != ids[1] {
			t.Fatalf("applications of %s = %+v", ids[1], one)
		}
		if none := mustValue[[]catalog.Application](t)(catalog.MyApplicationsPage(ctx, e.db, other, ids[1], catalog.SellerListPage{})); len(none) != 0 {
			t.Fatalf("another seller sees %+v", none)
		}
		_, err = catalog.MyApplicationsPage(ctx, e.db, seller, "", catalog.SellerListPage{Before: "x"})
		wantCode(t, "a bad cursor", err, souk.EINVALID)

		if s := mustValue[catalog.Seller](t)(catalog.MySeller(ctx, e.db, seller)); s.ID != seller.SellerID || !s.Certified {
			t.Fatalf("MySeller = %+v, want certified %s", s, seller.SellerID)
		}
		_, err = catalog.MySeller(ctx, e.db, e.operator)
		wantCode(t, "an operator's MySeller", err, souk.EUNAUTHORIZED)
		_, err = catalog.MySeller(ctx, e.db, buyer())
		wantCode(t, "a buyer's MySeller", err, souk.EUNAUTHORIZED)
	})
}
