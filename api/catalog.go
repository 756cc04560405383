package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
)

// The catalogue endpoints: sellers and their onboarding and certification
// (catalog_sellers.go), products (catalog_products.go) and publish
// applications (catalog_applications.go). Every handler calls one catalog
// function, which decides who may; the views here only translate the
// domain's structs into the API's JSON, so that a change of the domain
// cannot silently change the API.

// numericID returns path value "id" as the integer id of a what
// (application, certification). A value that is not a positive integer
// names nothing: ENOTFOUND, like a missing id, not a malformed request.
func numericID(r *http.Request, what string) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, souk.Errorf(souk.ENOTFOUND, "%s %s not found.", what, s)
	}
	return id, nil
}

// timeOrNil returns nil for the zero time, so that "never" is left out of
// a view rather than shown as year 1.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// noContent answers 204, for actions that change a state and have nothing
// new to show.
func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type rejectRequest struct {
	// Reason says why, to the seller: required.
	Reason string `json:"reason"`
}

type contactView struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

func viewContact(c catalog.Contact) contactView {
	return contactView{Name: c.Name, Email: c.Email, Phone: c.Phone}
}

// moneyView is an amount of money in integer minor units (fen, cents) of an
// ISO 4217 currency: never a float.
type moneyView struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// reviewView is one entry of the audit trail.
type reviewView struct {
	ID int64 `json:"id"`
	// Subject is what was reviewed: "seller" (a join application),
	// "certification" or "application".
	Subject   string `json:"subject"`
	SubjectID int64  `json:"subjectId"`
	SellerID  string `json:"sellerId"`
	// Action is "approve", "reject" or "withdraw".
	Action string    `json:"action"`
	By     string    `json:"by"`
	Role   string    `json:"role"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

func viewReviews(rs []catalog.Review) []reviewView {
	out := make([]reviewView, len(rs))
	for i, r := range rs {
		out[i] = reviewView{ID: r.ID, Subject: r.Subject, SubjectID: r.SubjectID, SellerID: r.SellerID,
			Action: r.Action, By: r.By, Role: r.Role, Reason: r.Reason, At: r.At}
	}
	return out
}
