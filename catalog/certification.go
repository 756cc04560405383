package catalog

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// Certification is a seller's business information: where settlement pays
// it and how it is taxed.
//
// The account number is stored in plain text for now (settlement needs
// it, and the access keys were the more urgent secret to encrypt); it is
// never returned in full to anyone but the seller's own members: reads by
// others get Masked().
type Certification struct {
	AccountHolder   string
	Bank            string
	AccountNumber   string
	TaxRegistration string
	TaxRate         int // basis points: 0–10000 is 0–100 %
}

// Masked returns c with all but the last four characters of the account
// number replaced by '*'.
func (c Certification) Masked() Certification {
	r := []rune(c.AccountNumber)
	for i := range len(r) - min(4, len(r)) {
		r[i] = '*'
	}
	c.AccountNumber = string(r)
	return c
}

func (c Certification) normalized() Certification {
	c.AccountHolder = strings.TrimSpace(c.AccountHolder)
	c.Bank = strings.TrimSpace(c.Bank)
	c.AccountNumber = strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(c.AccountNumber))
	c.TaxRegistration = strings.TrimSpace(c.TaxRegistration)
	return c
}

// Up to 34 characters: an IBAN's length; at least 8, so that masking all
// but the last four still hides something.
var accountNumberRE = regexp.MustCompile(`^[A-Z0-9]{8,34}$`)

func (c Certification) validate() error {
	if err := text("accountHolder", c.AccountHolder, 200); err != nil {
		return err
	}
	if err := text("bank", c.Bank, 200); err != nil {
		return err
	}
	if c.AccountNumber == "" {
		return invalid("accountNumber", "is required.")
	}
	if !accountNumberRE.MatchString(c.AccountNumber) {
		return invalid("accountNumber", "must be 8 to 34 letters and digits (spaces and dashes are ignored).")
	}
	if err := text("taxRegistration", c.TaxRegistration, 64); err != nil {
		return err
	}
	if c.TaxRate < 0 || c.TaxRate > 10000 {
		return invalid("taxRate", "is %d basis points; it must be 0 to 10000 (0 to 100 %%).", c.TaxRate)
	}
	return nil
}

// CertificationRecord is one submission of business information and its
// review.
type CertificationRecord struct {
	ID       int64
	SellerID string
	Certification
	State       State
	Reason      string // why it was rejected
	SubmittedBy string
	SubmittedAt time.Time
	ReviewedBy  string
	ReviewedAt  time.Time
}

// visibleTo returns r as by may see it: in full for the seller's members,
// with the account number masked for anyone else.
func (r CertificationRecord) visibleTo(by souk.Actor) CertificationRecord {
	if !by.IsSellerMember(r.SellerID) {
		r.Certification = r.Certification.Masked()
	}
	return r
}

// SubmitCertification submits business information for by's seller, for
// an operator to review, and returns the record's id. The latest approved
// submission is the seller's certified information; a new one replaces it
// only once approved.
//
// Returns EUNAUTHORIZED unless by is a seller member, EINVALID for a
// missing or malformed field, and ECONFLICT if the seller is not approved
// or has a submission pending review.
func SubmitCertification(ctx context.Context, db *store.DB, by souk.Actor, c Certification) (int64, error) {
	if err := requireSeller(by, "certify business information"); err != nil {
		return 0, err
	}
	c = c.normalized()
	if err := c.validate(); err != nil {
		return 0, err
	}
	var id int64
	err := db.Tx(ctx, func(tx *store.Tx) error {
		s, err := loadSeller(ctx, tx, by.SellerID)
		if err != nil {
			return err
		}
		if s.State != Approved {
			return souk.Errorf(souk.ECONFLICT, "Seller %s is %s; business information can be certified once the seller is approved.", s.ID, s.State)
		}
		pending, err := listCertifications(ctx, tx, `seller_id = $1 AND state = $2`, s.ID, Pending)
		if err != nil {
			return err
		}
		if len(pending) > 0 {
			return souk.Errorf(souk.ECONFLICT, "Certification %d is pending review; wait for its result before submitting another.", pending[0].ID)
		}
		id, err = insertCertification(ctx, tx, s.ID, by.UserID, c)
		return err
	})
	return id, err
}

// ApproveCertification approves pending certification id: it becomes its
// seller's certified information.
//
// Returns EUNAUTHORIZED unless by is an operator, ENOTFOUND if there is no
// such certification, and ECONFLICT unless it is pending.
func ApproveCertification(ctx context.Context, db *store.DB, by souk.Actor, id int64) error {
	if err := requireOperator(by, "review business information"); err != nil {
		return err
	}
	return reviewCertification(ctx, db, by, id, Approved, "")
}

// RejectCertification refuses pending certification id, saying why; the
// seller may submit again.
//
// Returns EUNAUTHORIZED unless by is an operator, EINVALID without a
// reason, ENOTFOUND if there is no such certification, and ECONFLICT
// unless it is pending.
func RejectCertification(ctx context.Context, db *store.DB, by souk.Actor, id int64, why string) error {
	if err := requireOperator(by, "review business information"); err != nil {
		return err
	}
	why, err := reason(why)
	if err != nil {
		return err
	}
	return reviewCertification(ctx, db, by, id, Rejected, why)
}

func reviewCertification(ctx context.Context, db *store.DB, by souk.Actor, id int64, to State, why string) error {
	return db.Tx(ctx, func(tx *store.Tx) error {
		r, err := loadCertification(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.State != Pending {
			return souk.Errorf(souk.ECONFLICT, "Certification %d is %s; only a pending certification can be reviewed.", id, r.State)
		}
		if err := closeCertification(ctx, tx, id, to, why, by.UserID); err != nil {
			return err
		}
		return recordReview(ctx, tx, by, "certification", id, r.SellerID, verb(to), why)
	})
}

// CertifiedInformation returns the certified business information of
// seller sellerID — its latest approved certification — to one of its
// members, or masked to an operator.
//
// Returns ENOTFOUND if the seller has none, if there is no such seller or
// if by is a member of another seller, and EUNAUTHORIZED for a buyer.
func CertifiedInformation(ctx context.Context, db *store.DB, by souk.Actor, sellerID string) (CertificationRecord, error) {
	if err := requireSellerOrOperator(by, "see business information"); err != nil {
		return CertificationRecord{}, err
	}
	if err := ownedBy(by, sellerID, true, sellerNotFound(sellerID)); err != nil {
		return CertificationRecord{}, err
	}
	r, found, err := latestApprovedCertification(ctx, db.SQL(), sellerID)
	if err != nil {
		return CertificationRecord{}, err
	}
	if !found {
		return CertificationRecord{}, souk.Errorf(souk.ENOTFOUND, "Seller %s has no certified business information.", sellerID)
	}
	return r.visibleTo(by), nil
}

// Certifications returns every certification seller sellerID has
// submitted, newest first, to one of its members, or masked to an
// operator.
//
// Returns ENOTFOUND if by is a member of another seller, and EUNAUTHORIZED
// for a buyer.
func Certifications(ctx context.Context, db *store.DB, by souk.Actor, sellerID string) ([]CertificationRecord, error) {
	if err := requireSellerOrOperator(by, "see business information"); err != nil {
		return nil, err
	}
	if err := ownedBy(by, sellerID, true, sellerNotFound(sellerID)); err != nil {
		return nil, err
	}
	rs, err := listCertifications(ctx, db.SQL(), `seller_id = $1 ORDER BY id DESC`, sellerID)
	for i := range rs {
		rs[i] = rs[i].visibleTo(by)
	}
	return rs, err
}

// PendingCertifications is the operators' queue of certifications waiting
// for review, oldest first (at most QueueLimit), with account numbers
// masked.
//
// Returns EUNAUTHORIZED unless by is an operator.
func PendingCertifications(ctx context.Context, db *store.DB, by souk.Actor) ([]CertificationRecord, error) {
	if err := requireOperator(by, "review business information"); err != nil {
		return nil, err
	}
	rs, err := listCertifications(ctx, db.SQL(), `state = $1 ORDER BY id LIMIT `+queueLimit, Pending)
	for i := range rs {
		rs[i] = rs[i].visibleTo(by)
	}
	return rs, err
}

// SettlementInformation returns seller sellerID's certified business
// information in full, and whether it has any. It takes no actor: it is
// for the marketplace's own settlement runs, never for a handler.
func SettlementInformation(ctx context.Context, db *store.DB, sellerID string) (Certification, bool, error) {
	r, found, err := latestApprovedCertification(ctx, db.SQL(), sellerID)
	return r.Certification, found, err
}
