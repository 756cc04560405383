package catalog_test

import (
	"slices"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
)

func TestListProducts(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, certifiedSeller)
		add := func(name string, typ catalog.ProductType, public bool) string {
			p := product()
			p.Name, p.Type, p.Public = name, typ, public
			p.Description = "Keeps " + name + " tidy; 100% online."
			e.clock.Advance(time.Millisecond) // ids sort by creation time
			return e.listed(t, m, p)
		}
		ledger := add("Ledger Cloud", catalog.SaaS, true)
		crm := add("CRM Suite", catalog.SaaS, true)
		office := add("Office Licence", catalog.License, true)
		add("Secret Beta", catalog.SaaS, false)
		mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, m, product())) // a draft, never listed

		ids := func(ps []catalog.Product) []string {
			var out []string
			for _, p := range ps {
				out = append(out, p.ID)
			}
			return out
		}
		tests := []struct {
			name string
			f    catalog.Filter
			want []string
		}{
			{"all public", catalog.Filter{}, []string{ledger, crm, office}},
			{"by type", catalog.Filter{Type: catalog.License}, []string{office}},
			{"by text in the name, any case", catalog.Filter{Text: "cRm"}, []string{crm}},
			{"by text in the description", catalog.Filter{Text: "licence tidy"}, []string{office}},
			{"% is a character, not a wildcard", catalog.Filter{Text: "100%"}, []string{ledger, crm, office}},
			{"_ is a character, not a wildcard", catalog.Filter{Text: "l_dger"}, nil},
			{"not publicly listed are left out", catalog.Filter{Text: "secret"}, nil},
			{"type and text", catalog.Filter{Type: catalog.SaaS, Text: "ledger"}, []string{ledger}},
			{"first page", catalog.Filter{Limit: 2}, []string{ledger, crm}},
			{"next page", catalog.Filter{Limit: 2, After: crm}, []string{office}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := ids(mustValue[[]catalog.Product](t)(catalog.ListProducts(ctx, e.db, tt.f)))
				if !slices.Equal(got, tt.want) {
					t.Errorf("ListProducts(%+v) = %v, want %v", tt.f, got, tt.want)
				}
			})
		}
		_, err := catalog.ListProducts(ctx, e.db, catalog.Filter{Type: "app"})
		wantCode(t, "ListProducts(unknown type)", err, souk.EINVALID)
	})
}

func TestGetProductShowsEachViewerItsVersion(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, certifiedSeller)
		other := e.newSeller(t, certifiedSeller)
		p := product()
		p.AllowedBuyers = []string{"buyer-vip"}
		p.Specs[1].TrialAllowList = []string{"buyer-vip"}
		id := e.listed(t, m, p)
		e.clock.Advance(time.Millisecond)
		draftOnly := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, m, product())).ProductID

		for name, viewer := range map[string]souk.Actor{"buyer": buyer(), "anonymous": {}, "another seller": other} {
			t.Run(name, func(t *testing.T) {
				v := mustValue[catalog.ProductView](t)(catalog.GetProduct(ctx, e.db, viewer, id))
				if v.Open != nil || v.Listed.AllowedBuyers != nil || v.Listed.Specs[1].TrialAllowList != nil ||
					!v.Listed.Restricted || !v.Listed.Specs[1].TrialRestricted {
					t.Errorf("GetProduct() = %s, want the listed version without allow-lists but flagged restricted", fmtAll(t, v))
				}
				if v.Seller.Contact.Email != "sales@acme.example" {
					t.Errorf("GetProduct().Seller = %+v, want the seller's contact", v.Seller)
				}
				_, err := catalog.GetProduct(ctx, e.db, viewer, draftOnly)
				wantCode(t, "GetProduct(never listed)", err, souk.ENOTFOUND)
			})
		}
		for name, viewer := range map[string]souk.Actor{"owner": m, "operator": e.operator} {
			t.Run(name, func(t *testing.T) {
				v := mustValue[catalog.ProductView](t)(catalog.GetProduct(ctx, e.db, viewer, id))
				if !slices.Equal(v.Listed.AllowedBuyers, []string{"buyer-vip"}) {
					t.Errorf("GetProduct().Listed.AllowedBuyers = %v, want [buyer-vip]", v.Listed.AllowedBuyers)
				}
				d := mustValue[catalog.ProductView](t)(catalog.GetProduct(ctx, e.db, viewer, draftOnly))
				if d.Listed != nil || d.Open == nil || d.Open.State != catalog.Draft {
					t.Errorf("GetProduct(never listed) = %s, want no listed version and the open draft", fmtAll(t, d))
				}
			})
		}

		mine := mustValue[[]catalog.ProductView](t)(catalog.MyProducts(ctx, e.db, m))
		if len(mine) != 2 || mine[0].ID != draftOnly || mine[0].Open == nil || mine[1].ID != id || mine[1].Listed == nil || mine[1].Open != nil {
			t.Fatalf("MyProducts() = %s, want the draft then the listed product", fmtAll(t, mine))
		}
		if theirs := mustValue[[]catalog.ProductView](t)(catalog.MyProducts(ctx, e.db, other)); len(theirs) != 0 {
			t.Fatalf("MyProducts() of another seller = %s, want none", fmtAll(t, theirs))
		}
	})
}
