package catalog_test

import (
	"strings"
	"testing"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
)

func TestOffersSayWhatABuyerMayBuy(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, certifiedSeller)
		allowed, stranger := buyer(), buyer()
		p := product()
		p.Specs[0].AllowedBuyers = []string{allowed.UserID}  // basic: only for allowed
		p.Specs[1].TrialAllowList = []string{allowed.UserID} // pro: trial only for allowed
		id := e.listed(t, m, p)

		offers := func(b souk.Actor) map[string]catalog.Offer {
			t.Helper()
			list := mustValue[[]catalog.Offer](t)(catalog.Offers(ctx, e.db, b, id, history{}))
			out := map[string]catalog.Offer{}
			for _, o := range list {
				out[o.SpecCode] = o
			}
			return out
		}
		got := offers(allowed)
		if !got["basic"].Buyable || !got["pro"].Buyable || !got["pro"].Triable || got["basic"].Trial {
			t.Fatalf("Offers(allowed buyer) = %+v, want both buyable and pro triable", got)
		}
		got = offers(stranger)
		if got["basic"].Buyable || !strings.Contains(got["basic"].Refusal, "sold only to authorised buyers") {
			t.Fatalf("Offers(stranger)[basic] = %+v, want refused with the restriction", got["basic"])
		}
		if !got["pro"].Buyable || got["pro"].Triable || got["pro"].TrialRefusal == "" {
			t.Fatalf("Offers(stranger)[pro] = %+v, want buyable but no trial, saying why", got["pro"])
		}
		_, err := catalog.Offers(ctx, e.db, m, id, history{})
		wantCode(t, "Offers(seller member)", err, souk.EUNAUTHORIZED)
		_, err = catalog.Offers(ctx, e.db, stranger, "p-none", history{})
		wantCode(t, "Offers(no such product)", err, souk.ENOTFOUND)
	})
}
