package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/settle"
)

// An operator's top-up of a buyer's balance: the buyer found by e-mail,
// the amount typed as a decimal in the currency's units. settle.TopUp
// decides who may (operators) and whom (existing buyers).

type topUpData struct{ Form form }

func (s *Server) topUpPage(w http.ResponseWriter, r *http.Request) error {
	if err := requireOperatorPage(r); err != nil {
		return err
	}
	return s.show(w, r, "ops_topup", topUpData{Form: form{Values: map[string][]string{"currency": {"CNY"}, "key": {newKey()}}}})
}

func (s *Server) topUp(w http.ResponseWriter, r *http.Request) error {
	ctx, by, f := r.Context(), actorOf(r), r.PostForm
	fail := func(err error) error {
		return s.formError(w, r, "ops_topup", err, func(f form) any { return topUpData{Form: f} })
	}
	u, err := account.UserByEmail(ctx, s.db, by, f.Get("email"))
	if err != nil {
		return fail(err)
	}
	currency := strings.ToUpper(strings.TrimSpace(f.Get("currency")))
	amount, err := parseDecimal("amount", f.Get("amount"), decimals(currency))
	if err != nil {
		return fail(err)
	}
	m := settle.M(amount, currency)
	// The form's hidden key makes a double submit top up once.
	if _, repeated, err := settle.TopUpOnce(ctx, s.db, by, u.ID, m, f.Get("key")); err != nil {
		return fail(err)
	} else if repeated {
		return s.seeOther(w, r, "/ops/top-up", fmt.Sprintf("This top-up of %s for %s was made already.", m, u.Email))
	}
	b, err := settle.Balance(ctx, s.db.SQL(), settle.BuyerBalance(u.ID), currency)
	if err != nil {
		return err
	}
	return s.seeOther(w, r, "/ops/top-up", fmt.Sprintf("Topped up %s for %s: the balance is now %s.", m, u.Email, settle.M(b, currency)))
}

// requireOperatorPage refuses an operator-only page to anyone else: the
// form's action is refused by the domain anyway, so this only spares
// others a form they cannot send.
func requireOperatorPage(r *http.Request) error {
	if !actorOf(r).IsOperator() {
		return souk.Errorf(souk.EUNAUTHORIZED, "This page is for operators.")
	}
	return nil
}
