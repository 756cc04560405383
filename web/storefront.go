package web

import (
	"net/http"

	"github.com/souk-market/souk/catalog"
)

// The storefront: the catalogue, product pages and buying.

type catalogueData struct {
	Query    string
	Type     string
	Types    []catalog.ProductType
	Products []catalog.Product
	Pager    pager
}

func (s *Server) storefrontRoutes() []route { return nil }

// catalogue lists the publicly listed products, searched by text and
// filtered by type, a page at a time.
func (s *Server) catalogue(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	d := catalogueData{Query: q.Get("q"), Type: q.Get("type"), Types: []catalog.ProductType{catalog.SaaS, catalog.License, catalog.Package}}
	ps, err := catalog.ListProducts(r.Context(), s.db, catalog.Filter{Type: catalog.ProductType(d.Type), Text: d.Query,
		Limit: pageSize + 1, After: q.Get("after")})
	if err != nil {
		return err
	}
	var more bool
	d.Products, more = pageOf(ps)
	if len(d.Products) > 0 {
		d.Pager = newPager(r, "after", more, d.Products[len(d.Products)-1].ID)
	}
	return s.show(w, r, "catalogue", d)
}
