package catalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/souk-market/souk/store"
)

// Filter selects listed products in the catalogue.
type Filter struct {
	Type ProductType // "" for any
	// Text is searched, case-insensitively, in the name and description.
	Text string
	// Limit is the page size: 50 by default, at most 200.
	Limit int
	// After pages forwards: products with an id after this one (ids sort
	// by creation).
	After string
}

// ListProducts returns the listed versions of the listed public products f
// selects, oldest first, as buyers see them. Products not publicly listed
// are left out: they are reached by their id (GetProduct) only.
//
// Returns EINVALID for an unknown type.
func ListProducts(ctx context.Context, db *store.DB, f Filter) ([]Product, error) {
	where := `p.listed IS NOT NULL AND p.public = 1`
	var args []any
	if f.Type != "" {
		switch f.Type {
		case SaaS, License, Package:
		default:
			return nil, invalid("type", "must be saas, license or package, not %q.", f.Type)
		}
		args = append(args, f.Type)
		where += fmt.Sprintf(` AND p.type = $%d`, len(args))
	}
	if t := strings.ToLower(strings.TrimSpace(f.Text)); t != "" {
		args = append(args, "%"+likeEscaper.Replace(t)+"%")
		where += fmt.Sprintf(` AND p.search LIKE $%d ESCAPE '\'`, len(args))
	}
	if f.After != "" {
		args = append(args, f.After)
		where += fmt.Sprintf(` AND p.id > $%d`, len(args))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	args = append(args, min(limit, 200))
	where += fmt.Sprintf(` ORDER BY p.id LIMIT $%d`, len(args))
	vs, err := listProducts(ctx, db.SQL(), where, args...)
	if err != nil {
		return nil, err
	}
	ps := make([]Product, len(vs))
	for i, v := range vs {
		ps[i] = v.Listed.publicView()
	}
	return ps, nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// searchText is what Filter.Text is matched against.
func searchText(p Product) string {
	return strings.ToLower(p.Name + "\n" + p.Description)
}
