package catalog

import (
	"context"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// State is where a reviewed thing stands.
//
// Join applications and certifications (and so sellers): pending →
// approved | rejected. Publish applications: draft → submitted → approved
// | rejected, or withdrawn while submitted (see Application).
type State string

const (
	Pending   State = "pending"
	Draft     State = "draft"
	Submitted State = "submitted"
	Approved  State = "approved"
	Rejected  State = "rejected"
	Withdrawn State = "withdrawn"
)

// JoinApplication is what a company gives to become a seller.
type JoinApplication struct {
	CompanyName        string
	RegistrationNumber string
	ContactName        string
	ContactEmail       string
	ContactPhone       string
}

func (a JoinApplication) normalized() JoinApplication {
	a.CompanyName = strings.TrimSpace(a.CompanyName)
	a.RegistrationNumber = strings.ToUpper(strings.TrimSpace(a.RegistrationNumber))
	a.ContactName = strings.TrimSpace(a.ContactName)
	a.ContactEmail = strings.TrimSpace(a.ContactEmail)
	a.ContactPhone = strings.TrimSpace(a.ContactPhone)
	return a
}

func (a JoinApplication) validate() error {
	if err := text("companyName", a.CompanyName, 200); err != nil {
		return err
	}
	if err := text("registrationNumber", a.RegistrationNumber, 64); err != nil {
		return err
	}
	if err := text("contactName", a.ContactName, 100); err != nil {
		return err
	}
	if err := email("contactEmail", a.ContactEmail); err != nil {
		return err
	}
	return phone("contactPhone", a.ContactPhone)
}

// Contact is how buyers reach a seller, e.g. for a restricted spec.
type Contact struct {
	Name  string
	Email string
	Phone string
}

func (c Contact) String() string { return c.Name + ", " + c.Email + ", " + c.Phone }

// Seller is a seller company as its latest join application describes it.
type Seller struct {
	ID                 string
	State              State // of the latest join application
	CompanyName        string
	RegistrationNumber string
	Contact            Contact
	FirstMember        string // the user who applied
	// Certified is whether business information has been approved at least
	// once: the condition for submitting anything for publication.
	Certified bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SellerApplication is one join application, kept after review.
type SellerApplication struct {
	ID        int64
	SellerID  string
	Applicant string // user id
	JoinApplication
	State       State
	Reason      string // why it was rejected
	SubmittedAt time.Time
	ReviewedBy  string
	ReviewedAt  time.Time
}

// Apply records a join application by user by and returns the seller's
// id. The first application of a user creates a seller in Pending whose
// first member is that user. A seller whose latest application was
// rejected applies again with a new application (the history is kept), by
// its member or by the user who applied if they are not linked yet.
//
// Linking the user's account to the seller is the caller's job: this
// package does not own accounts. To have the seller and its first member
// appear together, call ApplyTx and account.JoinSeller in one transaction.
//
// Returns EINVALID for a missing or malformed field, ECONFLICT if the user's
// seller is pending or approved already, or if another seller has applied
// with the same registration number, and EUNAUTHORIZED for an operator.
func Apply(ctx context.Context, db *store.DB, by souk.Actor, a JoinApplication) (string, error) {
	var id string
	err := db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		id, err = ApplyTx(ctx, tx, by, a)
		return err
	})
	return id, err
}

// ApplyTx is Apply inside the caller's transaction.
func ApplyTx(ctx context.Context, tx *store.Tx, by souk.Actor, a JoinApplication) (string, error) {
	if by.UserID == "" {
		return "", souk.Errorf(souk.EUNAUTHENTICATED, "Sign in to apply as a seller.")
	}
	if by.Role != souk.RoleBuyer && by.Role != souk.RoleSeller {
		return "", souk.Errorf(souk.EUNAUTHORIZED, "Operators cannot apply to become sellers.")
	}
	a = a.normalized()
	if err := a.validate(); err != nil {
		return "", err
	}
	var s Seller
	var found bool
	var err error
	if by.Role == souk.RoleSeller {
		s, err = loadSeller(ctx, tx, by.SellerID)
		found = err == nil
	} else {
		s, found, err = sellerOfFirstMember(ctx, tx, by.UserID)
	}
	if err != nil {
		return "", err
	}
	if found && s.State != Rejected {
		return "", souk.Errorf(souk.ECONFLICT, "You have applied already: seller %s is %s.", s.ID, s.State)
	}
	if other, taken, err := registrationTaken(ctx, tx, a.RegistrationNumber); err != nil {
		return "", err
	} else if taken && other != s.ID {
		return "", souk.Errorf(souk.ECONFLICT, "A seller with registration number %s has applied already.", a.RegistrationNumber)
	}
	if found {
		err = updateSellerApplicant(ctx, tx, s.ID, a)
	} else {
		s.ID = newID("s", tx.Now)
		err = insertSeller(ctx, tx, s.ID, by.UserID, a)
	}
	if err != nil {
		return "", err
	}
	return s.ID, insertSellerApplication(ctx, tx, s.ID, by.UserID, a)
}

// ApproveSeller admits seller sellerID: its pending join application is
// approved. The seller may then prepare drafts; to submit them it must
// also certify its business information.
//
// Returns EUNAUTHORIZED unless by is an operator, ENOTFOUND if there is no
// such seller, and ECONFLICT unless its application is pending.
func ApproveSeller(ctx context.Context, db *store.DB, by souk.Actor, sellerID string) error {
	if err := requireOperator(by, "review sellers"); err != nil {
		return err
	}
	return reviewSeller(ctx, db, by, sellerID, Approved, "")
}

// RejectSeller refuses the pending join application of seller sellerID,
// saying why; the seller may apply again.
//
// Returns EUNAUTHORIZED unless by is an operator, EINVALID without a
// reason, ENOTFOUND if there is no such seller, and ECONFLICT unless its
// application is pending.
func RejectSeller(ctx context.Context, db *store.DB, by souk.Actor, sellerID, why string) error {
	if err := requireOperator(by, "review sellers"); err != nil {
		return err
	}
	why, err := reason(why)
	if err != nil {
		return err
	}
	return reviewSeller(ctx, db, by, sellerID, Rejected, why)
}

func reviewSeller(ctx context.Context, db *store.DB, by souk.Actor, sellerID string, to State, why string) error {
	return db.Tx(ctx, func(tx *store.Tx) error {
		s, err := loadSeller(ctx, tx, sellerID)
		if err != nil {
			return err
		}
		if s.State != Pending {
			return souk.Errorf(souk.ECONFLICT, "Seller %s is %s; only a pending application can be reviewed.", sellerID, s.State)
		}
		appID, err := closeSellerApplication(ctx, tx, sellerID, to, why, by.UserID)
		if err != nil {
			return err
		}
		if err := setSellerState(ctx, tx, sellerID, Pending, to); err != nil {
			return err
		}
		return recordReview(ctx, tx, by, "seller", appID, sellerID, verb(to), why)
	})
}

// GetSeller returns seller sellerID to one of its members or an operator.
//
// Returns ENOTFOUND if there is no such seller or by is a member of another
// seller, and EUNAUTHORIZED for a buyer.
func GetSeller(ctx context.Context, db *store.DB, by souk.Actor, sellerID string) (Seller, error) {
	if err := requireSellerOrOperator(by, "see a seller's details"); err != nil {
		return Seller{}, err
	}
	if err := ownedBy(by, sellerID, true, sellerNotFound(sellerID)); err != nil {
		return Seller{}, err
	}
	return loadSeller(ctx, db.SQL(), sellerID)
}

// SellerApplications returns the join applications of seller sellerID,
// newest first, to one of its members or an operator.
//
// Returns ENOTFOUND if there is no such seller or by is a member of another
// seller, and EUNAUTHORIZED for a buyer.
func SellerApplications(ctx context.Context, db *store.DB, by souk.Actor, sellerID string) ([]SellerApplication, error) {
	if err := requireSellerOrOperator(by, "see a seller's applications"); err != nil {
		return nil, err
	}
	if err := ownedBy(by, sellerID, true, sellerNotFound(sellerID)); err != nil {
		return nil, err
	}
	if _, err := loadSeller(ctx, db.SQL(), sellerID); err != nil {
		return nil, err
	}
	return listSellerApplications(ctx, db.SQL(), `seller_id = $1 ORDER BY id DESC`, sellerID)
}

// PendingSellers is the operators' queue of join applications waiting for
// review, oldest first, at most QueueLimit.
//
// Returns EUNAUTHORIZED unless by is an operator.
func PendingSellers(ctx context.Context, db *store.DB, by souk.Actor) ([]SellerApplication, error) {
	if err := requireOperator(by, "review sellers"); err != nil {
		return nil, err
	}
	return listSellerApplications(ctx, db.SQL(), `state = $1 ORDER BY id LIMIT `+queueLimit, Pending)
}

func sellerNotFound(id string) error { return souk.Errorf(souk.ENOTFOUND, "Seller %s not found.", id) }

// mayPrepareDrafts is the onboarding rule for products: an approved seller
// may create and edit drafts; submitting them needs certification too
// (mayPublish).
func (s Seller) mayPrepareDrafts() error {
	if s.State != Approved {
		return souk.Errorf(souk.ECONFLICT, "Seller %s is %s; products can be prepared once the seller is approved.", s.ID, s.State)
	}
	return nil
}

// ErrUncertified is the refusal the notes stress: a seller approved but not
// certified keeps its drafts and cannot submit them. ECONFLICT rather than
// EUNAUTHORIZED: the member may submit its seller's applications; it is the
// seller's state that does not allow it yet.
var ErrUncertified = souk.Errorf(souk.ECONFLICT, "Business information must be certified before submitting for publication.")

// mayPublish is the onboarding rule for submitting any publish application.
func (s Seller) mayPublish() error {
	if err := s.mayPrepareDrafts(); err != nil {
		return err
	}
	if !s.Certified {
		return ErrUncertified
	}
	return nil
}
