package api

import (
	"context"
	"net/http"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
)

// Publish applications: a seller's drafts and their life
// (draft → submitted → approved | rejected, withdrawn), the review queue,
// and each application's audit trail.

type applicationView struct {
	ID        int64  `json:"id"`
	ProductID string `json:"productId"`
	SellerID  string `json:"sellerId"`
	// Kind is publish (a product never listed), modify (a listed one) or
	// delist_spec (one spec off sale, for good).
	Kind     string `json:"kind"`
	SpecCode string `json:"specCode,omitempty"`
	// Product is the whole product as it will be listed once approved.
	Product productVersionView `json:"product"`
	// State is draft, submitted, approved, rejected or withdrawn.
	State string `json:"state"`
	// Reason is why it was rejected, or withdrawn.
	Reason string `json:"reason,omitempty"`
	// RevisedFrom is the rejected or withdrawn application this revises.
	RevisedFrom int64      `json:"revisedFrom,omitempty"`
	CreatedBy   string     `json:"createdBy"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	SubmittedAt *time.Time `json:"submittedAt,omitempty"`
	ReviewedBy  string     `json:"reviewedBy,omitempty"`
	ReviewedAt  *time.Time `json:"reviewedAt,omitempty"`
}

func viewApplication(a catalog.Application) applicationView {
	return applicationView{ID: a.ID, ProductID: a.ProductID, SellerID: a.SellerID, Kind: string(a.Kind), SpecCode: a.SpecCode,
		Product: viewVersion(a.Snapshot), State: string(a.State), Reason: a.Reason, RevisedFrom: a.RevisedFrom,
		CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, SubmittedAt: timeOrNil(a.SubmittedAt),
		ReviewedBy: a.ReviewedBy, ReviewedAt: timeOrNil(a.ReviewedAt)}
}

func viewApplications(as []catalog.Application) []applicationView {
	out := make([]applicationView, len(as))
	for i, a := range as {
		out[i] = viewApplication(a)
	}
	return out
}

// writeApplication answers with application id as by sees it: the
// actions that make or change an application show the result.
func (s *Server) writeApplication(ctx context.Context, w http.ResponseWriter, by souk.Actor, id int64, status int) error {
	a, err := catalog.GetApplication(ctx, s.db, by, id)
	if err != nil {
		return err
	}
	return writeJSON(w, status, viewApplication(a))
}

func (s *Server) myApplications(w http.ResponseWriter, r *http.Request) error {
	as, err := catalog.MyApplications(r.Context(), s.db, actorOf(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewApplications(as))
}

func (s *Server) getApplication(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "Application")
	if err != nil {
		return err
	}
	return s.writeApplication(r.Context(), w, actorOf(r), id, http.StatusOK)
}

func (s *Server) updateDraft(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "Application")
	if err != nil {
		return err
	}
	var req productInput
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	ctx, by := r.Context(), actorOf(r)
	if err := catalog.UpdateDraft(ctx, s.db, s.cat, by, id, req.product()); err != nil {
		return err
	}
	return s.writeApplication(ctx, w, by, id, http.StatusOK)
}

func (s *Server) discardDraft(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "Application")
	if err != nil {
		return err
	}
	if err := catalog.DiscardDraft(r.Context(), s.db, actorOf(r), id); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) submitApplication(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "Application")
	if err != nil {
		return err
	}
	if err := catalog.SubmitApplication(r.Context(), s.db, s.cat, actorOf(r), id); err != nil {
		return err
	}
	return noContent(w)
}

type withdrawRequest struct {
	// Reason is optional: why the seller takes the application back.
	Reason string `json:"reason,omitempty"`
}

func (s *Server) withdrawApplication(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "Application")
	if err != nil {
		return err
	}
	var req withdrawRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if err := catalog.WithdrawApplication(r.Context(), s.db, actorOf(r), id, req.Reason); err != nil {
		return err
	}
	return noContent(w)
}

// reviseApplication starts a new draft from a rejected or withdrawn
// application, which must be its product's latest.
func (s *Server) reviseApplication(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "Application")
	if err != nil {
		return err
	}
	ctx, by := r.Context(), actorOf(r)
	draft, err := catalog.ReviseRejected(ctx, s.db, by, id)
	if err != nil {
		return err
	}
	return s.writeApplication(ctx, w, by, draft, http.StatusCreated)
}

func (s *Server) approveApplication(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "Application")
	if err != nil {
		return err
	}
	if err := catalog.ApproveApplication(r.Context(), s.db, actorOf(r), id); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) rejectApplication(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "Application")
	if err != nil {
		return err
	}
	var req rejectRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if err := catalog.RejectApplication(r.Context(), s.db, actorOf(r), id, req.Reason); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) pendingApplications(w http.ResponseWriter, r *http.Request) error {
	as, err := catalog.PendingApplications(r.Context(), s.db, actorOf(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewApplications(as))
}

// applicationReviews is the audit trail of one application: its seller's
// trail (catalog.Reviews), narrowed to it. Reading the application first
// is what decides who may see it.
func (s *Server) applicationReviews(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "Application")
	if err != nil {
		return err
	}
	ctx, by := r.Context(), actorOf(r)
	a, err := catalog.GetApplication(ctx, s.db, by, id)
	if err != nil {
		return err
	}
	rs, err := catalog.Reviews(ctx, s.db, by, a.SellerID)
	if err != nil {
		return err
	}
	out := []reviewView{}
	for _, v := range viewReviews(rs) {
		if v.Subject == "application" && v.SubjectID == id {
			out = append(out, v)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}
