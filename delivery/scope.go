package delivery

import "github.com/souk-market/souk"

// MessageScope is the rule of who sees production interface messages:
// operators all of them (""), a seller's members their seller's (its id),
// anyone else none (EUNAUTHORIZED). The JSON API and the web console both
// ask it.
func MessageScope(a souk.Actor) (sellerID string, err error) {
	switch {
	case a.IsOperator():
		return "", nil
	case a.Role == souk.RoleSeller && a.SellerID != "":
		return a.SellerID, nil
	}
	return "", souk.Errorf(souk.EUNAUTHORIZED, "Only a seller's members and operators see production interface messages.")
}

// ReinvokerOf is who a marketplace user re-invokes a call as: an operator
// as the operator, a seller's member as that seller (EUNAUTHORIZED for
// anyone else, as MessageScope).
func ReinvokerOf(a souk.Actor) (Actor, error) {
	seller, err := MessageScope(a)
	if err != nil {
		return Actor{}, err
	}
	if seller == "" {
		return Actor{Role: RoleOperator, ID: a.UserID}, nil
	}
	return Actor{Role: RoleSeller, ID: a.UserID, SellerID: seller}, nil
}
