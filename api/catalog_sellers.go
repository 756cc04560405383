package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/store"
)

// Sellers: join applications and their review, business information
// certification, and a seller's audit trail.

type joinRequest struct {
	CompanyName        string `json:"companyName"`
	RegistrationNumber string `json:"registrationNumber"`
	ContactName        string `json:"contactName"`
	ContactEmail       string `json:"contactEmail"`
	ContactPhone       string `json:"contactPhone"`
}

type sellerView struct {
	ID string `json:"id"`
	// State is that of the latest join application: pending, approved or
	// rejected.
	State              string      `json:"state"`
	CompanyName        string      `json:"companyName"`
	RegistrationNumber string      `json:"registrationNumber"`
	Contact            contactView `json:"contact"`
	FirstMember        string      `json:"firstMember"`
	// Certified is whether business information has been approved: the
	// condition for submitting anything for publication.
	Certified bool      `json:"certified"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func viewSeller(s catalog.Seller) sellerView {
	return sellerView{ID: s.ID, State: string(s.State), CompanyName: s.CompanyName, RegistrationNumber: s.RegistrationNumber,
		Contact: viewContact(s.Contact), FirstMember: s.FirstMember, Certified: s.Certified, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

type sellerApplicationView struct {
	ID                 int64       `json:"id"`
	SellerID           string      `json:"sellerId"`
	Applicant          string      `json:"applicant"`
	CompanyName        string      `json:"companyName"`
	RegistrationNumber string      `json:"registrationNumber"`
	Contact            contactView `json:"contact"`
	State              string      `json:"state"`
	Reason             string      `json:"reason,omitempty"`
	SubmittedAt        time.Time   `json:"submittedAt"`
	ReviewedBy         string      `json:"reviewedBy,omitempty"`
	ReviewedAt         *time.Time  `json:"reviewedAt,omitempty"`
}

func viewSellerApplications(as []catalog.SellerApplication) []sellerApplicationView {
	out := make([]sellerApplicationView, len(as))
	for i, a := range as {
		out[i] = sellerApplicationView{ID: a.ID, SellerID: a.SellerID, Applicant: a.Applicant,
			CompanyName: a.CompanyName, RegistrationNumber: a.RegistrationNumber,
			Contact: contactView{Name: a.ContactName, Email: a.ContactEmail, Phone: a.ContactPhone},
			State:   string(a.State), Reason: a.Reason, SubmittedAt: a.SubmittedAt, ReviewedBy: a.ReviewedBy, ReviewedAt: timeOrNil(a.ReviewedAt)}
	}
	return out
}

// applySeller records a join application. The applicant's account joins
// the seller in the same transaction (catalog.ApplyTx, then
// account.JoinSeller), so that a seller never exists without its first
// member, nor a member without its seller.
func (s *Server) applySeller(w http.ResponseWriter, r *http.Request) error {
	var req joinRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	ctx, by := r.Context(), actorOf(r)
	var id string
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		id, err = catalog.ApplyTx(ctx, tx, by, catalog.JoinApplication{CompanyName: req.CompanyName,
			RegistrationNumber: req.RegistrationNumber, ContactName: req.ContactName,
			ContactEmail: req.ContactEmail, ContactPhone: req.ContactPhone})
		if err != nil {
			return err
		}
		return account.JoinSeller(ctx, tx, by.UserID, id)
	})
	if err != nil {
		return err
	}
	// The request's actor is still the buyer it authenticated as; the
	// seller is read back as the member the applicant now is.
	u, err := account.GetUser(ctx, s.db, by, by.UserID)
	if err != nil {
		return err
	}
	seller, err := catalog.GetSeller(ctx, s.db, u.Actor(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, viewSeller(seller))
}

func (s *Server) getSeller(w http.ResponseWriter, r *http.Request) error {
	seller, err := catalog.GetSeller(r.Context(), s.db, actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewSeller(seller))
}

func (s *Server) sellerApplications(w http.ResponseWriter, r *http.Request) error {
	as, err := catalog.SellerApplications(r.Context(), s.db, actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewSellerApplications(as))
}

func (s *Server) approveSeller(w http.ResponseWriter, r *http.Request) error {
	if err := catalog.ApproveSeller(r.Context(), s.db, actorOf(r), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) rejectSeller(w http.ResponseWriter, r *http.Request) error {
	var req rejectRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if err := catalog.RejectSeller(r.Context(), s.db, actorOf(r), r.PathValue("id"), req.Reason); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) pendingSellers(w http.ResponseWriter, r *http.Request) error {
	as, err := catalog.PendingSellers(r.Context(), s.db, actorOf(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewSellerApplications(as))
}

func (s *Server) sellerReviews(w http.ResponseWriter, r *http.Request) error {
	rs, err := catalog.Reviews(r.Context(), s.db, actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewReviews(rs))
}

type certificationRequest struct {
	AccountHolder   string `json:"accountHolder"`
	Bank            string `json:"bank"`
	AccountNumber   string `json:"accountNumber"`
	TaxRegistration string `json:"taxRegistration"`
	// TaxRate is in basis points: 600 is 6 %.
	TaxRate int `json:"taxRate"`
}

type certificationView struct {
	ID            int64  `json:"id"`
	SellerID      string `json:"sellerId"`
	AccountHolder string `json:"accountHolder"`
	Bank          string `json:"bank"`
	// AccountNumber is in full for the seller's own members only; others
	// see all but its last four characters masked.
	AccountNumber   string     `json:"accountNumber"`
	TaxRegistration string     `json:"taxRegistration"`
	TaxRate         int        `json:"taxRate"`
	State           string     `json:"state"`
	Reason          string     `json:"reason,omitempty"`
	SubmittedBy     string     `json:"submittedBy"`
	SubmittedAt     time.Time  `json:"submittedAt"`
	ReviewedBy      string     `json:"reviewedBy,omitempty"`
	ReviewedAt      *time.Time `json:"reviewedAt,omitempty"`
}

func viewCertification(c catalog.CertificationRecord) certificationView {
	return certificationView{ID: c.ID, SellerID: c.SellerID, AccountHolder: c.AccountHolder, Bank: c.Bank,
		AccountNumber: c.AccountNumber, TaxRegistration: c.TaxRegistration, TaxRate: c.TaxRate,
		State: string(c.State), Reason: c.Reason, SubmittedBy: c.SubmittedBy, SubmittedAt: c.SubmittedAt,
		ReviewedBy: c.ReviewedBy, ReviewedAt: timeOrNil(c.ReviewedAt)}
}

func viewCertifications(cs []catalog.CertificationRecord) []certificationView {
	out := make([]certificationView, len(cs))
	for i, c := range cs {
		out[i] = viewCertification(c)
	}
	return out
}

// submitCertification submits business information for the seller in the
// path. catalog.SubmitCertification acts on the actor's own seller and
// takes no seller id, so the path's seller is first read as the actor:
// another seller's member gets the domain's ENOTFOUND and a buyer its
// EUNAUTHORIZED, and only a member of that very seller gets through (an
// operator, who may read it, is refused by the submission itself).
func (s *Server) submitCertification(w http.ResponseWriter, r *http.Request) error {
	var req certificationRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	ctx, by, sellerID := r.Context(), actorOf(r), r.PathValue("id")
	if _, err := catalog.GetSeller(ctx, s.db, by, sellerID); err != nil {
		return err
	}
	id, err := catalog.SubmitCertification(ctx, s.db, by, catalog.Certification{AccountHolder: req.AccountHolder,
		Bank: req.Bank, AccountNumber: req.AccountNumber, TaxRegistration: req.TaxRegistration, TaxRate: req.TaxRate})
	if err != nil {
		return err
	}
	cs, err := catalog.Certifications(ctx, s.db, by, sellerID)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.ID == id {
			return writeJSON(w, http.StatusCreated, viewCertification(c))
		}
	}
	return fmt.Errorf("certification %d was submitted but is not among seller %s's", id, sellerID)
}

func (s *Server) certifications(w http.ResponseWriter, r *http.Request) error {
	cs, err := catalog.Certifications(r.Context(), s.db, actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewCertifications(cs))
}

func (s *Server) approveCertification(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "Certification")
	if err != nil {
		return err
	}
	if err := catalog.ApproveCertification(r.Context(), s.db, actorOf(r), id); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) rejectCertification(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "Certification")
	if err != nil {
		return err
	}
	var req rejectRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if err := catalog.RejectCertification(r.Context(), s.db, actorOf(r), id, req.Reason); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) pendingCertifications(w http.ResponseWriter, r *http.Request) error {
	cs, err := catalog.PendingCertifications(r.Context(), s.db, actorOf(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewCertifications(cs))
}
