package catalog

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// ApplicationKind is what a publish application asks for.
type ApplicationKind string

const (
	KindPublish    ApplicationKind = "publish"     // list a product never listed
	KindModify     ApplicationKind = "modify"      // change a listed product
	KindDelistSpec ApplicationKind = "delist_spec" // take one spec off sale, for good
)

// Application is a publish application: the product as it will be listed
// once approved.
type Application struct {
	ID        int64
	ProductID string
	SellerID  string
	Kind      ApplicationKind
	SpecCode  string // for KindDelistSpec: the spec taken off sale
	// Snapshot is the whole product as it will be listed; for KindDelistSpec,
	// the listed version without the spec.
	Snapshot    Product
	State       State
	Reason      string // why it was rejected, or withdrawn
	RevisedFrom int64  // the rejected or withdrawn application it revises
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	SubmittedAt time.Time
	// ReviewedBy and ReviewedAt say who closed the application and when:
	// the operator who approved or rejected it, or the member who withdrew
	// it.
	ReviewedBy string
	ReviewedAt time.Time
}

// Open reports whether a is a draft or submitted: a product has at most
// one open application.
func (a Application) Open() bool { return a.State == Draft || a.State == Submitted }

// The state machine of publish applications, in one place (transitions):
//
//	draft ──submit──▶ submitted ──approve──▶ approved
//	  │ update,           ├──reject────▶ rejected ──revise──▶ a new draft
//	  │ discard           └──withdraw──▶ withdrawn ──revise──▶ a new draft
type action string

const (
	actUpdate   action = "update"
	actDiscard  action = "discard"
	actSubmit   action = "submit"
	actWithdraw action = "withdraw"
	actApprove  action = "approve"
	actReject   action = "reject"
	actRevise   action = "revise"
)

var transitions = map[action]struct {
	from []State
	to   State  // "" for discard (deleted) and revise (a new draft)
	why  string // the refusal, for the other states
}{
	actUpdate:   {[]State{Draft}, Draft, "only a draft can be edited"},
	actDiscard:  {[]State{Draft}, "", "only a draft can be discarded"},
	actSubmit:   {[]State{Draft}, Submitted, "only a draft can be submitted"},
	actWithdraw: {[]State{Submitted}, Withdrawn, "only a submitted application can be withdrawn"},
	actApprove:  {[]State{Submitted}, Approved, "only a submitted application can be approved"},
	actReject:   {[]State{Submitted}, Rejected, "only a submitted application can be rejected"},
	actRevise:   {[]State{Rejected, Withdrawn}, "", "only a rejected or withdrawn application can be revised"},
}

// may returns ECONFLICT unless action act is allowed on a.
func (a Application) may(act action) error {
	t := transitions[act]
	if !slices.Contains(t.from, a.State) {
		return souk.Errorf(souk.ECONFLICT, "Application %d is %s; %s.", a.ID, a.State, t.why)
	}
	return nil
}

// move applies act to application a in tx, guarded by its state so that a
// concurrent change is refused rather than overwritten.
func move(ctx context.Context, tx *store.Tx, a Application, act action, by souk.Actor, why string) error {
	if err := a.may(act); err != nil {
		return err
	}
	if err := setApplicationState(ctx, tx, a, transitions[act].to, by.UserID, why); err != nil {
		return err
	}
	if act == actSubmit {
		return nil
	}
	return recordReview(ctx, tx, by, "application", a.ID, a.SellerID, string(act), why)
}

// ownApplication loads application id for a seller-side action: ENOTFOUND
// if it does not exist or belongs to another seller.
func ownApplication(ctx context.Context, q querier, by souk.Actor, id int64) (Application, error) {
	a, err := loadApplication(ctx, q, id)
	if err != nil {
		return Application{}, err
	}
	return a, ownedBy(by, a.SellerID, false, applicationNotFound(id))
}

// ownProduct loads product id for a seller-side action: ENOTFOUND if it does
// not exist or belongs to another seller.
func ownProduct(ctx context.Context, q querier, by souk.Actor, id string) (ProductView, error) {
	v, err := loadProduct(ctx, q, id)
	if err != nil {
		return ProductView{}, err
	}
	return v, ownedBy(by, v.SellerID, false, productNotFound(id))
}

// noOpenApplication enforces one open application per product.
func noOpenApplication(ctx context.Context, q querier, productID string) error {
	open, found, err := openApplication(ctx, q, productID)
	if err != nil {
		return err
	}
	if found {
		return souk.Errorf(souk.ECONFLICT, "Product %s already has application %d (%s) open; finish or discard it first.", productID, open.ID, open.State)
	}
	return nil
}

// draftSeller loads by's seller and checks it may prepare drafts.
func draftSeller(ctx context.Context, q querier, by souk.Actor) error {
	s, err := loadSeller(ctx, q, by.SellerID)
	if err != nil {
		return err
	}
	return s.mayPrepareDrafts()
}

// ModifyProduct starts a modification of listed product productID: a
// draft modify application holding the listed version, to edit with
// UpdateDraft and submit. Buyers keep seeing the listed version until the
// modification is approved.
//
// Returns EUNAUTHORIZED unless by is a seller member, ENOTFOUND if there is
// no such product of by's seller, and ECONFLICT if it is not listed (revise
// its latest application instead) or has an open application.
func ModifyProduct(ctx context.Context, db *store.DB, by souk.Actor, productID string) (int64, error) {
	if err := requireSeller(by, "modify products"); err != nil {
		return 0, err
	}
	var id int64
	err := db.Tx(ctx, func(tx *store.Tx) error {
		v, err := listedForChange(ctx, tx, by, productID, "Product %s is not listed yet; revise its latest application from My applications.")
		if err != nil {
			return err
		}
		id, err = insertApplication(ctx, tx, Application{
			ProductID: productID, SellerID: v.SellerID, Kind: KindModify, Snapshot: *v.Listed, State: Draft, CreatedBy: by.UserID,
		})
		return err
	})
	return id, err
}

// DelistSpec starts the delisting of spec specCode of listed
// product productID: a draft delist_spec application, to submit. Once
// approved the spec is off sale for good: its code can never be listed
// again on this product.
//
// Returns EUNAUTHORIZED unless by is a seller member, ENOTFOUND if there is
// no such product of by's seller or no such listed spec, and ECONFLICT if
// the product is not listed, has an open application, the spec was
// delisted already, or it is the product's last spec.
func DelistSpec(ctx context.Context, db *store.DB, by souk.Actor, productID, specCode string) (int64, error) {
	if err := requireSeller(by, "delist specs"); err != nil {
		return 0, err
	}
	var id int64
	err := db.Tx(ctx, func(tx *store.Tx) error {
		v, err := listedForChange(ctx, tx, by, productID, "Product %s is not listed; only a listed spec can be delisted.")
		if err != nil {
			return err
		}
		snapshot, err := withoutSpec(v, specCode)
		if err != nil {
			return err
		}
		id, err = insertApplication(ctx, tx, Application{
			ProductID: productID, SellerID: v.SellerID, Kind: KindDelistSpec, SpecCode: specCode,
			Snapshot: snapshot, State: Draft, CreatedBy: by.UserID,
		})
		return err
	})
	return id, err
}

// listedForChange returns by's listed product productID, ready for a
// change application (modify or delist): by's seller may prepare drafts,
// the product is listed (else ECONFLICT with notListed, formatted with the
// id), and no other application of it is open.
func listedForChange(ctx context.Context, tx *store.Tx, by souk.Actor, productID, notListed string) (ProductView, error) {
	v, err := ownProduct(ctx, tx, by, productID)
	if err != nil {
		return ProductView{}, err
	}
	if err := draftSeller(ctx, tx, by); err != nil {
		return ProductView{}, err
	}
	if v.Listed == nil {
		return ProductView{}, souk.Errorf(souk.ECONFLICT, notListed, productID)
	}
	if err := noOpenApplication(ctx, tx, productID); err != nil {
		return ProductView{}, err
	}
	return v, nil
}

// withoutSpec returns the listed version of v without spec code: what a
// delisting of it would list.
func withoutSpec(v ProductView, code string) (Product, error) {
	if slices.Contains(v.Delisted, code) {
		return Product{}, souk.Errorf(souk.ECONFLICT, "Spec %s of product %s is delisted already.", code, v.ID)
	}
	if _, ok := v.Listed.Spec(code); !ok {
		return Product{}, souk.Errorf(souk.ENOTFOUND, "Product %s has no listed spec %s.", v.ID, code)
	}
	if len(v.Listed.Specs) == 1 {
		return Product{}, souk.Errorf(souk.ECONFLICT, "Spec %s is the last spec of product %s; a listed product keeps at least one spec.", code, v.ID)
	}
	p := *v.Listed
	p.Specs = slices.DeleteFunc(slices.Clone(p.Specs), func(s Spec) bool { return s.Code == code })
	return p, nil
}

// UpdateDraft replaces the product that draft application appID proposes
// with p (whose ID and SellerID are ignored).
//
// Returns EUNAUTHORIZED unless by is a seller member, EINVALID for a
// missing or malformed field, ENOTFOUND if there is no such application of
// by's seller, and ECONFLICT unless it is a draft, or if it is a delisting
// (which has nothing to edit).
func UpdateDraft(ctx context.Context, db *store.DB, set Settings, by souk.Actor, appID int64, p Product) error {
	if err := requireSeller(by, "edit applications"); err != nil {
		return err
	}
	p = p.normalized()
	if err := p.validate(set); err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *store.Tx) error {
		a, err := ownApplication(ctx, tx, by, appID)
		if err != nil {
			return err
		}
		if err := a.may(actUpdate); err != nil {
			return err
		}
		if a.Kind == KindDelistSpec {
			return souk.Errorf(souk.ECONFLICT, "Application %d delists spec %s and has nothing to edit; discard it instead.", a.ID, a.SpecCode)
		}
		p.ID, p.SellerID = a.ProductID, a.SellerID
		return updateSnapshot(ctx, tx, a.ID, p)
	})
}

// DiscardDraft deletes draft application appID. Drafts were never
// reviewed, so nothing is kept; a product never listed whose only
// application this was is deleted with it (its access key too).
//
// Returns EUNAUTHORIZED unless by is a seller member, ENOTFOUND if there is
// no such application of by's seller, and ECONFLICT unless it is a draft.
func DiscardDraft(ctx context.Context, db *store.DB, by souk.Actor, appID int64) error {
	if err := requireSeller(by, "discard drafts"); err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *store.Tx) error {
		a, err := ownApplication(ctx, tx, by, appID)
		if err != nil {
			return err
		}
		if err := a.may(actDiscard); err != nil {
			return err
		}
		if err := deleteDraft(ctx, tx, a.ID); err != nil {
			return err
		}
		v, err := loadProduct(ctx, tx, a.ProductID)
		if err != nil {
			return err
		}
		if v.Listed != nil {
			return nil
		}
		if _, found, err := latestApplication(ctx, tx, a.ProductID); err != nil || found {
			return err
		}
		return deleteProduct(ctx, tx, a.ProductID)
	})
}

// SubmitApplication submits draft application appID for review. The
// seller must be certified (ErrUncertified otherwise), the snapshot valid,
// and a modification must keep every listed spec and bring back no
// delisted one (checkChange).
//
// Returns EUNAUTHORIZED unless by is a seller member, ENOTFOUND if there is
// no such application of by's seller, EINVALID if the snapshot is no longer
// valid (e.g. a production URL the settings now refuse), and ECONFLICT if
// it is not a draft, the seller is not certified, or the change breaks a
// rule above.
func SubmitApplication(ctx context.Context, db *store.DB, set Settings, by souk.Actor, appID int64) error {
	if err := requireSeller(by, "submit applications"); err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *store.Tx) error {
		a, err := ownApplication(ctx, tx, by, appID)
		if err != nil {
			return err
		}
		if err := a.may(actSubmit); err != nil {
			return err
		}
		s, err := loadSeller(ctx, tx, a.SellerID)
		if err != nil {
			return err
		}
		if err := s.mayPublish(); err != nil {
			return err
		}
		if err := a.Snapshot.validate(set); err != nil {
			return err
		}
		v, err := loadProduct(ctx, tx, a.ProductID)
		if err != nil {
			return err
		}
		if err := checkChange(v, a); err != nil {
			return err
		}
		return move(ctx, tx, a, actSubmit, by, "")
	})
}

// checkChange holds the rules of changing a product through an
// application, against the product as it is listed now:
//   - a publish application is for a product never listed, a modification
//     or delisting for a listed one;
//   - a modification keeps every listed spec: a spec leaves only through
//     its own delist_spec application;
//   - no application brings back a delisted spec: delisting is final;
//   - a listed product keeps its type, and each listed spec how it is
//     sold (charging mode and period), which its orders depend on.
func checkChange(v ProductView, a Application) error {
	if a.Kind == KindPublish && v.Listed != nil {
		return souk.Errorf(souk.ECONFLICT, "Product %s is listed already; change it with a modification.", v.ID)
	}
	if a.Kind != KindPublish && v.Listed == nil {
		return souk.Errorf(souk.ECONFLICT, "Product %s is not listed.", v.ID)
	}
	for _, s := range a.Snapshot.Specs {
		if slices.Contains(v.Delisted, s.Code) {
			return souk.Errorf(souk.ECONFLICT, "Spec %s of product %s was delisted and can never be sold again; give the new spec another code.", s.Code, v.ID)
		}
	}
	if a.Kind != KindModify {
		return nil
	}
	if a.Snapshot.Type != v.Listed.Type {
		return souk.Errorf(souk.ECONFLICT, "Product %s is listed as %s; a modification cannot change its type.", v.ID, v.Listed.Type)
	}
	for _, s := range v.Listed.Specs {
		n, ok := a.Snapshot.Spec(s.Code)
		if !ok {
			return souk.Errorf(souk.ECONFLICT, "A modification cannot delete spec %s (%s) of listed product %s; to stop selling it, submit a delisting application for it.", s.Code, s.Name, v.ID)
		}
		// What was bought of a spec is charged, renewed, changed and
		// refunded by how it is sold: a spec code keeps that for good (a
		// new way of selling is a new spec).
		if n.Charging != s.Charging || n.Period != s.Period {
			how := map[ChargingMode]string{ChargePeriod: "by the " + strings.ToLower(s.Period), ChargeOneTime: "once", ChargeOnDemand: "by use"}[s.Charging]
			return souk.Errorf(souk.ECONFLICT, "Spec %s of listed product %s is sold %s; a modification cannot change how a spec is sold — add a spec with a new code instead.",
				s.Code, v.ID, how)
		}
	}
	return nil
}

// WithdrawApplication takes submitted application appID back from review.
// The withdrawal is recorded in the audit trail; the application can be
// revised into a new draft.
//
// Returns EUNAUTHORIZED unless by is a seller member, ENOTFOUND if there is
// no such application of by's seller, and ECONFLICT unless it is
// submitted.
func WithdrawApplication(ctx context.Context, db *store.DB, by souk.Actor, appID int64, why string) error {
	if err := requireSeller(by, "withdraw applications"); err != nil {
		return err
	}
	why = strings.TrimSpace(why)
	if err := optionalText("reason", why, 2000); err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *store.Tx) error {
		a, err := ownApplication(ctx, tx, by, appID)
		if err != nil {
			return err
		}
		return move(ctx, tx, a, actWithdraw, by, why)
	})
}

// ReviseRejected starts a new draft from rejected (or withdrawn)
// application appID, which must be its product's latest application: a
// rejected application is modified starting from the latest rejected
// record, never an older one.
//
// Returns EUNAUTHORIZED unless by is a seller member, ENOTFOUND if there is
// no such application of by's seller, and ECONFLICT if it is neither
// rejected nor withdrawn or a newer application exists (the message names
// the latest).
func ReviseRejected(ctx context.Context, db *store.DB, by souk.Actor, appID int64) (int64, error) {
	if err := requireSeller(by, "revise applications"); err != nil {
		return 0, err
	}
	var id int64
	err := db.Tx(ctx, func(tx *store.Tx) error {
		a, err := ownApplication(ctx, tx, by, appID)
		if err != nil {
			return err
		}
		if err := a.may(actRevise); err != nil {
			return err
		}
		if err := draftSeller(ctx, tx, by); err != nil {
			return err
		}
		latest, _, err := latestApplication(ctx, tx, a.ProductID)
		if err != nil {
			return err
		}
		switch {
		case latest.ID == a.ID:
		case latest.Open():
			return souk.Errorf(souk.ECONFLICT, "Product %s already has application %d (%s) open; finish or discard it first.", a.ProductID, latest.ID, latest.State)
		case latest.State == Approved:
			return souk.Errorf(souk.ECONFLICT, "Application %d is out of date: application %d of product %s was approved since; modify the product from My products.", a.ID, latest.ID, a.ProductID)
		default:
			return souk.Errorf(souk.ECONFLICT, "Application %d is not the latest record of product %s; revise the latest, application %d (%s).", a.ID, a.ProductID, latest.ID, latest.State)
		}
		id, err = insertApplication(ctx, tx, Application{
			ProductID: a.ProductID, SellerID: a.SellerID, Kind: a.Kind, SpecCode: a.SpecCode,
			Snapshot: a.Snapshot, State: Draft, RevisedFrom: a.ID, CreatedBy: by.UserID,
		})
		return err
	})
	return id, err
}

// ApproveApplication approves submitted application appID: its snapshot
// becomes the listed version (for a delisting, the spec is recorded as
// delisted for good), and the approval is recorded in the audit trail.
//
// Returns EUNAUTHORIZED unless by is an operator, ENOTFOUND if there is no
// such application, and ECONFLICT unless it is submitted.
func ApproveApplication(ctx context.Context, db *store.DB, by souk.Actor, appID int64) error {
	if err := requireOperator(by, "review applications"); err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *store.Tx) error {
		a, err := loadApplication(ctx, tx, appID)
		if err != nil {
			return err
		}
		if err := move(ctx, tx, a, actApprove, by, ""); err != nil {
			return err
		}
		if a.Kind == KindDelistSpec {
			if err := insertDelisted(ctx, tx, a.ProductID, a.SpecCode, a.ID); err != nil {
				return err
			}
		}
		return setListed(ctx, tx, a.Snapshot)
	})
}

// RejectApplication refuses submitted application appID, saying why. The
// seller revises it with ReviseRejected.
//
// Returns EUNAUTHORIZED unless by is an operator, EINVALID without a
// reason, ENOTFOUND if there is no such application, and ECONFLICT unless
// it is submitted.
func RejectApplication(ctx context.Context, db *store.DB, by souk.Actor, appID int64, why string) error {
	if err := requireOperator(by, "review applications"); err != nil {
		return err
	}
	why, err := reason(why)
	if err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *store.Tx) error {
		a, err := loadApplication(ctx, tx, appID)
		if err != nil {
			return err
		}
		return move(ctx, tx, a, actReject, by, why)
	})
}

// GetApplication returns application appID to its seller's members or an
// operator.
//
// Returns ENOTFOUND if there is no such application or it is another
// seller's, and EUNAUTHORIZED for a buyer.
func GetApplication(ctx context.Context, db *store.DB, by souk.Actor, appID int64) (Application, error) {
	if err := requireSellerOrOperator(by, "see applications"); err != nil {
		return Application{}, err
	}
	a, err := loadApplication(ctx, db.SQL(), appID)
	if err != nil {
		return Application{}, err
	}
	return a, ownedBy(by, a.SellerID, true, applicationNotFound(appID))
}

// MyApplications returns the applications of by's seller, newest first
// ("My applications").
//
// Returns EUNAUTHORIZED unless by is a seller member.
func MyApplications(ctx context.Context, db *store.DB, by souk.Actor) ([]Application, error) {
	if err := requireSeller(by, "list their applications"); err != nil {
		return nil, err
	}
	return listApplications(ctx, db.SQL(), `seller_id = $1 ORDER BY id DESC`, by.SellerID)
}

// PendingApplications is the operators' queue of submitted applications,
// oldest first, at most QueueLimit.
//
// Returns EUNAUTHORIZED unless by is an operator.
func PendingApplications(ctx context.Context, db *store.DB, by souk.Actor) ([]Application, error) {
	if err := requireOperator(by, "review applications"); err != nil {
		return nil, err
	}
	return listApplications(ctx, db.SQL(), `state = 'submitted' ORDER BY submitted_at, id LIMIT `+queueLimit)
}

func applicationNotFound(id int64) error {
	return souk.Errorf(souk.ENOTFOUND, "Application %d not found.", id)
}
