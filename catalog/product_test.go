package catalog_test

import (
	"strings"
	"testing"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
)

func TestProductValidation(t *testing.T) {
	onDemand := func(p *catalog.Product) *catalog.Spec {
		p.Specs[0].Charging, p.Specs[0].Period = catalog.ChargeOnDemand, ""
		return &p.Specs[0]
	}
	tests := []struct {
		name  string
		edit  func(p *catalog.Product)
		field string // "" for valid
	}{
		{"valid", func(p *catalog.Product) {}, ""},
		{"licence without production URL", func(p *catalog.Product) { p.Type, p.ProductionURL = catalog.License, "" }, ""},
		{"package", func(p *catalog.Product) { p.Type = catalog.Package }, ""},
		{"restricted", func(p *catalog.Product) { p.AllowedBuyers = []string{"b1", " b2 ", "b1"} }, ""},
		{"unknown type", func(p *catalog.Product) { p.Type = "app" }, "type"},
		{"no name", func(p *catalog.Product) { p.Name = "  " }, "name"},
		{"long name", func(p *catalog.Product) { p.Name = strings.Repeat("n", 101) }, "name"},
		{"no description", func(p *catalog.Product) { p.Description = "" }, "description"},
		{"SaaS without production URL", func(p *catalog.Product) { p.ProductionURL = "" }, "productionUrl"},
		{"plain http", func(p *catalog.Product) { p.ProductionURL = "http://isv.example.com/produce" }, "productionUrl"},
		{"loopback", func(p *catalog.Product) { p.ProductionURL = "https://127.0.0.1/produce" }, "productionUrl"},
		{"no specs", func(p *catalog.Product) { p.Specs = nil }, "specs"},
		{"bad spec code", func(p *catalog.Product) { p.Specs[0].Code = "basic plan" }, "specs[0].code"},
		{"duplicate spec code", func(p *catalog.Product) { p.Specs[1].Code = "basic" }, "specs[1].code"},
		{"no spec name", func(p *catalog.Product) { p.Specs[0].Name = "" }, "specs[0].name"},
		{"unknown charging", func(p *catalog.Product) { p.Specs[0].Charging = "MONTHLY" }, "specs[0].charging"},
		{"PERIOD without period", func(p *catalog.Product) { p.Specs[0].Period = "" }, "specs[0].period"},
		{"PERIOD by the week", func(p *catalog.Product) { p.Specs[0].Period = "week" }, "specs[0].period"},
		{"ONE_TIME with a period", func(p *catalog.Product) { p.Specs[0].Charging = catalog.ChargeOneTime }, "specs[0].period"},
		{"negative price", func(p *catalog.Product) { p.Specs[0].Price.Amount = -1 }, "specs[0].price.amount"},
		{"free", func(p *catalog.Product) { p.Specs[0].Price.Amount = 0 }, ""},
		{"bad currency", func(p *catalog.Product) { p.Specs[0].Price.Currency = "rmb" }, "specs[0].price.currency"},
		{"no currency", func(p *catalog.Product) { p.Specs[0].Price.Currency = "" }, "specs[0].price.currency"},
		{"negative trial", func(p *catalog.Product) { p.Specs[0].TrialDays = -1 }, "specs[0].trialDays"},
		{"year-long trial and a day", func(p *catalog.Product) { p.Specs[0].TrialDays = 366 }, "specs[0].trialDays"},
		{"ON_DEMAND trial", func(p *catalog.Product) { onDemand(p).TrialDays = 7 }, "specs[0].trialDays"},
		{"ON_DEMAND", func(p *catalog.Product) { onDemand(p) }, ""},
		{"quantity without unit", func(p *catalog.Product) { p.Specs[1].Quantity.Unit = "" }, "specs[1].quantity.unit"},
		{"quantity from 0", func(p *catalog.Product) { p.Specs[1].Quantity.Min = 0 }, "specs[1].quantity.min"},
		{"quantity max under min", func(p *catalog.Product) { p.Specs[1].Quantity.Max = 4 }, "specs[1].quantity.max"},
		{"quantity step 0", func(p *catalog.Product) { p.Specs[1].Quantity.Step = 0 }, "specs[1].quantity.step"},
		{"unknown limit", func(p *catalog.Product) { p.Specs[0].Limit.Kind = "twice" }, "specs[0].limit.kind"},
		{"at_most without units", func(p *catalog.Product) { p.Specs[0].Limit.Kind = catalog.LimitUnits }, "specs[0].limit.units"},
		{"once with units", func(p *catalog.Product) { p.Specs[0].Limit = catalog.PurchaseLimit{Kind: catalog.LimitOnce, Units: 3} }, "specs[0].limit.units"},
		{"at_most", func(p *catalog.Product) { p.Specs[0].Limit = catalog.PurchaseLimit{Kind: catalog.LimitUnits, Units: 3} }, ""},
		{"ON_DEMAND limit", func(p *catalog.Product) { onDemand(p).Limit.Kind = catalog.LimitOnce }, "specs[0].limit"},
		{"trial allow-list without trial", func(p *catalog.Product) { p.Specs[0].TrialAllowList = []string{"b1"} }, "specs[0].trialAllowList"},
		{"trial allow-list", func(p *catalog.Product) { p.Specs[1].TrialAllowList = []string{"b1"} }, ""},
		{"long buyer id", func(p *catalog.Product) { p.Specs[0].AllowedBuyers = []string{strings.Repeat("b", 65)} }, "specs[0].allowedBuyers[0]"},
	}
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, approvedSeller)
		draft := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, m, product())).ApplicationID
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := product()
				tt.edit(&p)
				for what, err := range map[string]error{
					"CreateProduct()": func() error { _, err := catalog.CreateProduct(ctx, e.db, e.set, m, p); return err }(),
					"UpdateDraft()":   catalog.UpdateDraft(ctx, e.db, e.set, m, draft, p),
				} {
					if tt.field == "" {
						must(t, err)
						continue
					}
					wantCode(t, what, err, souk.EINVALID)
					if !strings.HasPrefix(souk.ErrorMessage(err), tt.field+":") {
						t.Errorf("%s = %q, want a message naming %s", what, souk.ErrorMessage(err), tt.field)
					}
				}
			})
		}
	})
}

func TestProductIsNormalized(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, approvedSeller)
		p := product()
		p.Name = "  Ledger Cloud "
		p.ID, p.SellerID = "p-forged", "s-forged"
		p.AllowedBuyers = []string{"b2", " b1", "b2", ""}
		p.Specs[0].Restricted = true // derived from the list, which is empty
		np := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, m, p))
		got := e.app(t, np.ApplicationID).Snapshot
		if got.ID != np.ProductID || got.SellerID != m.SellerID || got.Name != "Ledger Cloud" ||
			strings.Join(got.AllowedBuyers, ",") != "b1,b2" || !got.Restricted || got.Specs[0].Restricted {
			t.Fatalf("snapshot = %+v, want ids set by the catalogue, trimmed, sorted, flags derived", got)
		}
	})
}
