package web

import (
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
)

// The operator console: review queues, and the dashboard of delivery
// health per seller.
//
// Who may see or decide is the catalog's rule: every page here first asks
// the catalog for its queues as the visitor, which refuses anyone but an
// operator.

func (s *Server) opsRoutes() []route {
	return []route{
		{Method: "GET", Path: "/ops", Auth: true, handle: s.dashboard},
		{Method: "GET", Path: "/ops/review", Auth: true, handle: s.reviewQueues},
		{Method: "GET", Path: "/ops/review/applications/{id}", Auth: true, handle: s.reviewApplication},
		{Method: "POST", Path: "/ops/review/sellers/{id}/approve", Auth: true, handle: s.decide(subjectSeller, true)},
		{Method: "POST", Path: "/ops/review/sellers/{id}/reject", Auth: true, handle: s.decide(subjectSeller, false)},
		{Method: "POST", Path: "/ops/review/certifications/{id}/approve", Auth: true, handle: s.decide(subjectCertification, true)},
		{Method: "POST", Path: "/ops/review/certifications/{id}/reject", Auth: true, handle: s.decide(subjectCertification, false)},
		{Method: "POST", Path: "/ops/review/applications/{id}/approve", Auth: true, handle: s.decide(subjectApplication, true)},
		{Method: "POST", Path: "/ops/review/applications/{id}/reject", Auth: true, handle: s.decide(subjectApplication, false)},
		{Method: "GET", Path: "/ops/top-up", Auth: true, handle: s.topUpPage},
		{Method: "POST", Path: "/ops/top-up", Auth: true, handle: s.topUp},
	}
}

// queues are the three review queues, as the catalog gives them to by.
type queues struct {
	Sellers        []catalog.SellerApplication
	Certifications []catalog.CertificationRecord
	Applications   []catalog.Application
}

func (s *Server) loadQueues(r *http.Request) (queues, error) {
	ctx, by := r.Context(), actorOf(r)
	var q queues
	var err error
	if q.Sellers, err = catalog.PendingSellers(ctx, s.db, by); err != nil {
		return q, err
	}
	if q.Certifications, err = catalog.PendingCertifications(ctx, s.db, by); err != nil {
		return q, err
	}
	q.Applications, err = catalog.PendingApplications(ctx, s.db, by)
	return q, err
}

// dashboardData is the console's front page: delivery health per seller
// over the last Hours, and the review queues' lengths.
type dashboardData struct {
	Hours  int
	Since  time.Time
	Rows   []healthRow
	Chart  chart
	Queues queues
}

type healthRow struct {
	delivery.SellerHealth
	Name string
}

// maxHours is the longest window the dashboard reads: 30 days.
const maxHours = 720

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) error {
	q, err := s.loadQueues(r)
	if err != nil {
		return err
	}
	d := dashboardData{Hours: 24, Queues: q}
	if v := r.URL.Query().Get("hours"); v != "" {
		if d.Hours, err = strconv.Atoi(v); err != nil || d.Hours < 1 || d.Hours > maxHours {
			return souk.Errorf(souk.EINVALID, "hours: want a number of hours from 1 to %d, not %q.", maxHours, v)
		}
	}
	d.Since = s.db.Clock().Now().Add(-time.Duration(d.Hours) * time.Hour)
	hs, err := delivery.Health(r.Context(), s.db, d.Since)
	if err != nil {
		return err
	}
	ids := make([]string, len(hs))
	for i, h := range hs {
		ids[i] = h.SellerID
	}
	names := s.sellerNames(r, ids)
	for _, h := range hs {
		d.Rows = append(d.Rows, healthRow{SellerHealth: h, Name: names[h.SellerID]})
	}
	d.Chart = healthChart(d.Rows)
	return s.show(w, r, "ops_dashboard", d)
}

// The subjects of review.
const (
	subjectSeller        = "sellers"
	subjectCertification = "certifications"
	subjectApplication   = "applications"
)

// reviewData is the review queues page; Form and FormFor are the decision
// that failed (FormFor is "sellers/{id}", …), shown again with its reason.
type reviewData struct {
	queues
	Form    form
	FormFor string
	// Loose: the decision that failed is not in the queues any more (it
	// was decided meanwhile), so its error is shown above them.
	Loose bool
}

func (s *Server) reviewQueues(w http.ResponseWriter, r *http.Request) error {
	q, err := s.loadQueues(r)
	if err != nil {
		return err
	}
	return s.show(w, r, "ops_review", reviewData{queues: q})
}

// applicationData is one application before the decision: the product as
// it will be listed, what is listed now, and the application's trail.
type applicationData struct {
	App     catalog.Application
	Product catalog.ProductView
	Trail   []catalog.Review
	Form    form
}

func (s *Server) loadApplication(r *http.Request) (applicationData, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return applicationData{}, souk.Errorf(souk.ENOTFOUND, "Application %s not found.", r.PathValue("id"))
	}
	ctx, by := r.Context(), actorOf(r)
	var d applicationData
	if d.App, err = catalog.GetApplication(ctx, s.db, by, id); err != nil {
		return d, err
	}
	if d.Product, err = catalog.GetProduct(ctx, s.db, by, d.App.ProductID); err != nil {
		return d, err
	}
	rs, err := catalog.Reviews(ctx, s.db, by, d.App.SellerID)
	if err != nil {
		return d, err
	}
	for _, rv := range rs {
		if rv.Subject == "application" && rv.SubjectID == id {
			d.Trail = append(d.Trail, rv)
		}
	}
	return d, nil
}

// reviewApplication shows an application to an operator before deciding.
// The queue is read first: it is what only an operator may see.
func (s *Server) reviewApplication(w http.ResponseWriter, r *http.Request) error {
	if _, err := catalog.PendingApplications(r.Context(), s.db, actorOf(r)); err != nil {
		return err
	}
	d, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	return s.show(w, r, "ops_application", d)
}

// decide approves or rejects (with the reason typed) a subject of review.
// A refusal shows the page the form came from again, with the reason.
func (s *Server) decide(subject string, approve bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx, by, id := r.Context(), actorOf(r), r.PathValue("id")
		why := r.PostForm.Get("reason")
		num, _ := strconv.ParseInt(id, 10, 64)
		var err error
		var what string
		switch subject {
		case subjectSeller:
			what = "Seller " + id
			if approve {
				err = catalog.ApproveSeller(ctx, s.db, by, id)
			} else {
				err = catalog.RejectSeller(ctx, s.db, by, id, why)
			}
		case subjectCertification:
			what = "Certification " + id
			if num < 1 {
				err = souk.Errorf(souk.ENOTFOUND, "Certification %s not found.", id)
			} else if approve {
				err = catalog.ApproveCertification(ctx, s.db, by, num)
			} else {
				err = catalog.RejectCertification(ctx, s.db, by, num, why)
			}
		case subjectApplication:
			what = "Application " + id
			if num < 1 {
				err = souk.Errorf(souk.ENOTFOUND, "Application %s not found.", id)
			} else if approve {
				err = catalog.ApproveApplication(ctx, s.db, by, num)
			} else {
				err = catalog.RejectApplication(ctx, s.db, by, num, why)
			}
		}
		if err == nil {
			verb := " was rejected."
			if approve {
				verb = " was approved."
			}
			return s.seeOther(w, r, "/ops/review", what+verb)
		}
		if code := souk.ErrorCode(err); code == souk.ENOTFOUND || code == souk.EUNAUTHORIZED || code == souk.EUNAUTHENTICATED {
			return err
		}
		if subject == subjectApplication && r.PostForm.Get("from") == "application" {
			d, lerr := s.loadApplication(r)
			if lerr != nil {
				return lerr
			}
			return s.formError(w, r, "ops_application", err, func(f form) any { d.Form = f; return d })
		}
		q, qerr := s.loadQueues(r)
		if qerr != nil {
			return qerr
		}
		return s.formError(w, r, "ops_review", err, func(f form) any {
			return reviewData{queues: q, Form: f, FormFor: subject + "/" + id, Loose: !q.has(subject, id)}
		})
	}
}

// has reports whether subject id is in the queues.
func (q queues) has(subject, id string) bool {
	switch subject {
	case subjectSeller:
		for _, a := range q.Sellers {
			if a.SellerID == id {
				return true
			}
		}
	case subjectCertification:
		for _, c := range q.Certifications {
			if strconv.FormatInt(c.ID, 10) == id {
				return true
			}
		}
	case subjectApplication:
		for _, a := range q.Applications {
			if strconv.FormatInt(a.ID, 10) == id {
				return true
			}
		}
	}
	return false
}

func init() {
	// queueCount is a review queue's length as shown: "100+" when the
	// catalogue gave its limit (the oldest; deciding them brings the next).
	funcs["queueCount"] = func(q any) string {
		n := reflect.ValueOf(q).Len()
		if n >= catalog.QueueLimit {
			return strconv.Itoa(n) + "+"
		}
		return strconv.Itoa(n)
	}
}
