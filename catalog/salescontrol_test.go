package catalog_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/store"
)

// history is the order package's answer, as a test sets it.
type history struct {
	orders, units int
	until         time.Time
	err           error
}

func (h history) Purchases(context.Context, string, string, string) (int, int, error) {
	return h.orders, h.units, h.err
}

func (h history) ActiveUntil(context.Context, string, string, string) (time.Time, error) {
	return h.until, h.err
}

func TestCheckPurchase(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, certifiedSeller)
		allowed, stranger := buyer(), buyer()
		month := func(code string) catalog.Spec {
			return catalog.Spec{Code: code, Name: code, Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 1000, Currency: "CNY"}}
		}
		p := product()
		p.Specs = []catalog.Spec{month("open"), month("vip"), month("trial"), month("freetrial"), month("seats"), month("once"), month("sub"), month("usage")}
		p.Specs[1].AllowedBuyers = []string{allowed.UserID}
		p.Specs[2].TrialDays, p.Specs[2].TrialAllowList = 14, []string{allowed.UserID}
		p.Specs[3].TrialDays = 7
		p.Specs[4].Quantity = &catalog.LinearQuantity{Unit: "users", Min: 5, Max: 50, Step: 5}
		p.Specs[4].Limit = catalog.PurchaseLimit{Kind: catalog.LimitUnits, Units: 20}
		p.Specs[5].Charging, p.Specs[5].Period, p.Specs[5].Limit.Kind = catalog.ChargeOneTime, "", catalog.LimitOnce
		p.Specs[6].Limit.Kind = catalog.LimitUntilExpiry
		p.Specs[7].Charging, p.Specs[7].Period = catalog.ChargeOnDemand, ""
		listed := e.listed(t, m, p)

		hidden := product()
		hidden.Public = false
		unlisted := e.listed(t, m, hidden)
		restricted := product()
		restricted.AllowedBuyers = []string{allowed.UserID}
		onlyAllowed := e.listed(t, m, restricted)
		never := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, m, product())).ProductID

		const contact = "contact the seller: Li Lei, sales@acme.example, +86 21 5555 0100"
		boom := errors.New("orders unavailable")
		now := e.clock.Now()
		tests := []struct {
			name     string
			buyer    souk.Actor
			product  string
			spec     string
			check    catalog.PurchaseCheck
			wantCode string
			wantMsg  string
		}{
			{"anyone may buy an open spec", stranger, listed, "open", catalog.PurchaseCheck{}, "", ""},
			{"quantity 1 is the default", stranger, listed, "open", catalog.PurchaseCheck{Quantity: 1}, "", ""},
			{"an operator does not buy", e.operator, listed, "open", catalog.PurchaseCheck{}, souk.EUNAUTHORIZED, ""},
			{"a seller member does not buy", m, listed, "open", catalog.PurchaseCheck{}, souk.EUNAUTHORIZED, ""},
			{"anonymous", souk.Actor{}, listed, "open", catalog.PurchaseCheck{}, souk.EUNAUTHENTICATED, ""},

			{"restricted spec, stranger", stranger, listed, "vip", catalog.PurchaseCheck{}, souk.EUNAUTHORIZED,
				"This spec is sold only to authorised buyers — " + contact},
			{"restricted spec, authorised buyer", allowed, listed, "vip", catalog.PurchaseCheck{}, "", ""},
			{"restricted product, stranger", stranger, onlyAllowed, "basic", catalog.PurchaseCheck{}, souk.EUNAUTHORIZED,
				"This product is sold only to authorised buyers — " + contact},
			{"restricted product, authorised buyer", allowed, onlyAllowed, "basic", catalog.PurchaseCheck{}, "", ""},

			{"not publicly listed, bought by its id", stranger, unlisted, "basic", catalog.PurchaseCheck{}, "", ""},
			{"never listed", stranger, never, "basic", catalog.PurchaseCheck{}, souk.ENOTFOUND, ""},
			{"no such product", stranger, "p-none", "basic", catalog.PurchaseCheck{}, souk.ENOTFOUND, ""},
			{"no such spec", stranger, listed, "gold", catalog.PurchaseCheck{}, souk.ENOTFOUND, ""},

			{"trial of a spec without one", stranger, listed, "open", catalog.PurchaseCheck{Trial: true}, souk.EINVALID, ""},
			{"trial on the allow-list", allowed, listed, "trial", catalog.PurchaseCheck{Trial: true}, "", ""},
			{"trial off the allow-list", stranger, listed, "trial", catalog.PurchaseCheck{Trial: true}, souk.EUNAUTHORIZED,
				"The trial of this spec is offered only to authorised buyers — " + contact},
			{"purchase of an allow-listed trial spec", stranger, listed, "trial", catalog.PurchaseCheck{}, "", ""},
			{"trial open to all", stranger, listed, "freetrial", catalog.PurchaseCheck{Trial: true}, "", ""},

			{"quantity of a spec sold one at a time", stranger, listed, "open", catalog.PurchaseCheck{Quantity: 2}, souk.EINVALID, ""},
			{"quantity missing", stranger, listed, "seats", catalog.PurchaseCheck{History: history{}}, souk.EINVALID, ""},
			{"quantity off step", stranger, listed, "seats", catalog.PurchaseCheck{Quantity: 7, History: history{}}, souk.EINVALID, ""},
			{"quantity over max", stranger, listed, "seats", catalog.PurchaseCheck{Quantity: 55, History: history{}}, souk.EINVALID, ""},
			{"at most 20: 10 + 10", stranger, listed, "seats", catalog.PurchaseCheck{Quantity: 10, History: history{orders: 1, units: 10}}, "", ""},
			{"at most 20: 10 + 15", stranger, listed, "seats", catalog.PurchaseCheck{Quantity: 15, History: history{orders: 1, units: 10}}, souk.ECONFLICT,
				"Spec seats is limited to 20 units per buyer; you have 10, so you can buy at most 10 more."},
			{"once: first purchase (an unsubscribed one does not count)", stranger, listed, "once", catalog.PurchaseCheck{History: history{}}, "", ""},
			{"once: again", stranger, listed, "once", catalog.PurchaseCheck{History: history{orders: 1, units: 1}}, souk.ECONFLICT, ""},
			{"until expiry: current one lasts", stranger, listed, "sub", catalog.PurchaseCheck{History: history{until: now.Add(time.Hour)}}, souk.ECONFLICT, ""},
			{"until expiry: expired", stranger, listed, "sub", catalog.PurchaseCheck{History: history{until: now.Add(-time.Hour)}}, "", ""},
			{"until expiry: never bought", stranger, listed, "sub", catalog.PurchaseCheck{History: history{}}, "", ""},
			{"ON_DEMAND has no limits and needs no history", stranger, listed, "usage", catalog.PurchaseCheck{}, "", ""},
			{"a limit without history", stranger, listed, "once", catalog.PurchaseCheck{}, souk.EINTERNAL, ""},
			{"history failing", stranger, listed, "sub", catalog.PurchaseCheck{History: history{err: boom}}, souk.EINTERNAL, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := catalog.CheckPurchase(ctx, e.db, tt.buyer, tt.product, tt.spec, tt.check)
				wantCode(t, "CheckPurchase()", err, tt.wantCode)
				if tt.wantMsg != "" && souk.ErrorMessage(err) != tt.wantMsg {
					t.Errorf("CheckPurchase() = %q, want %q", souk.ErrorMessage(err), tt.wantMsg)
				}
			})
		}

		t.Run("in the order's transaction", func(t *testing.T) {
			err := e.db.Tx(ctx, func(tx *store.Tx) error {
				return catalog.CheckPurchaseTx(ctx, tx, stranger, listed, "vip", catalog.PurchaseCheck{})
			})
			wantCode(t, "CheckPurchaseTx()", err, souk.EUNAUTHORIZED)
		})
	})
}
