package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// The catalogue's SQL, and nothing else: rows in, domain values out. The
// rules are in the files named for them. Reads take a querier, so that
// they run on the database or inside a transaction alike (with SQLite's one
// connection, a read outside an open transaction would wait for it).

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type scanner interface{ Scan(dest ...any) error }

func millisOrZero(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return store.FromMillis(n.Int64)
}

func nullZero(n int64) sql.NullInt64 { return sql.NullInt64{Int64: n, Valid: n != 0} }

// queryAll runs query and scans each row with scan.
func queryAll[T any](ctx context.Context, q querier, what, query string, scan func(scanner) (T, error), args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	return out, nil
}

// execOne runs a statement that must change exactly one row; otherwise the row
// changed since it was read (or vanished), which the caller reports as
// conflict.
func execOne(ctx context.Context, tx *store.Tx, conflict error, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return conflict
	}
	return nil
}

// Sellers.

const sellerColumns = `s.id, s.state, s.company_name, s.registration_number, s.contact_name, s.contact_email, s.contact_phone,
	s.first_member, s.created_at, s.updated_at,
	CASE WHEN EXISTS (SELECT 1 FROM catalog_certifications c WHERE c.seller_id = s.id AND c.state = 'approved') THEN 1 ELSE 0 END`

func scanSeller(r scanner) (Seller, error) {
	var s Seller
	var created, updated int64
	var certified int
	err := r.Scan(&s.ID, &s.State, &s.CompanyName, &s.RegistrationNumber, &s.Contact.Name, &s.Contact.Email, &s.Contact.Phone,
		&s.FirstMember, &created, &updated, &certified)
	s.CreatedAt, s.UpdatedAt, s.Certified = store.FromMillis(created), store.FromMillis(updated), certified == 1
	return s, err
}

func loadSeller(ctx context.Context, q querier, id string) (Seller, error) {
	s, err := scanSeller(q.QueryRowContext(ctx, `SELECT `+sellerColumns+` FROM catalog_sellers s WHERE s.id = $1`, id))
	return s, store.NotFound(err, "Seller %s not found.", id)
}

// sellerOfFirstMember returns the latest seller user applied for.
func sellerOfFirstMember(ctx context.Context, q querier, user string) (Seller, bool, error) {
	ss, err := queryAll(ctx, q, "sellers", `SELECT `+sellerColumns+` FROM catalog_sellers s WHERE s.first_member = $1 ORDER BY s.id DESC LIMIT 1`, scanSeller, user)
	if err != nil || len(ss) == 0 {
		return Seller{}, false, err
	}
	return ss[0], true, nil
}

// registrationTaken returns a seller, not rejected, with registration
// number regNo.
func registrationTaken(ctx context.Context, q querier, regNo string) (string, bool, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT id FROM catalog_sellers WHERE registration_number = $1 AND state <> 'rejected' LIMIT 1`, regNo).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return id, err == nil, err
}

func insertSeller(ctx context.Context, tx *store.Tx, id, firstMember string, a JoinApplication) error {
	now := store.Millis(tx.Now)
	_, err := tx.ExecContext(ctx, `INSERT INTO catalog_sellers
		(id, state, company_name, registration_number, contact_name, contact_email, contact_phone, first_member, created_at, updated_at)
		VALUES ($1, 'pending', $2, $3, $4, $5, $6, $7, $8, $8)`,
		id, a.CompanyName, a.RegistrationNumber, a.ContactName, a.ContactEmail, a.ContactPhone, firstMember, now)
	return err
}

// updateSellerApplicant makes a rejected seller pending again, described
// by its new application.
func updateSellerApplicant(ctx context.Context, tx *store.Tx, id string, a JoinApplication) error {
	return execOne(ctx, tx, souk.Errorf(souk.ECONFLICT, "Seller %s changed meanwhile; try again.", id), `UPDATE catalog_sellers
		SET state = 'pending', company_name = $1, registration_number = $2, contact_name = $3, contact_email = $4,
		    contact_phone = $5, updated_at = $6
		WHERE id = $7 AND state = 'rejected'`,
		a.CompanyName, a.RegistrationNumber, a.ContactName, a.ContactEmail, a.ContactPhone, store.Millis(tx.Now), id)
}

func setSellerState(ctx context.Context, tx *store.Tx, id string, from, to State) error {
	return execOne(ctx, tx, souk.Errorf(souk.ECONFLICT, "Seller %s changed meanwhile; reload it.", id),
		`UPDATE catalog_sellers SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4`, to, store.Millis(tx.Now), id, from)
}

func insertSellerApplication(ctx context.Context, tx *store.Tx, sellerID, applicant string, a JoinApplication) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO catalog_seller_applications
		(seller_id, applicant, company_name, registration_number, contact_name, contact_email, contact_phone, state, submitted_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8)`,
		sellerID, applicant, a.CompanyName, a.RegistrationNumber, a.ContactName, a.ContactEmail, a.ContactPhone, store.Millis(tx.Now))
	return err
}

// closeSellerApplication records the review of seller sellerID's pending
// application and returns its id.
func closeSellerApplication(ctx context.Context, tx *store.Tx, sellerID string, to State, why, reviewer string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `UPDATE catalog_seller_applications
		SET state = $1, reason = $2, reviewed_by = $3, reviewed_at = $4
		WHERE seller_id = $5 AND state = 'pending' RETURNING id`, to, why, reviewer, store.Millis(tx.Now), sellerID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, souk.Errorf(souk.ECONFLICT, "Seller %s has no application pending review.", sellerID)
	}
	return id, err
}

func scanSellerApplication(r scanner) (SellerApplication, error) {
	var a SellerApplication
	var submitted int64
	var reviewed sql.NullInt64
	err := r.Scan(&a.ID, &a.SellerID, &a.Applicant, &a.CompanyName, &a.RegistrationNumber, &a.ContactName, &a.ContactEmail,
		&a.ContactPhone, &a.State, &a.Reason, &submitted, &a.ReviewedBy, &reviewed)
	a.SubmittedAt, a.ReviewedAt = store.FromMillis(submitted), millisOrZero(reviewed)
	return a, err
}

func listSellerApplications(ctx context.Context, q querier, where string, args ...any) ([]SellerApplication, error) {
	return queryAll(ctx, q, "join applications", `SELECT id, seller_id, applicant, company_name, registration_number, contact_name,
		contact_email, contact_phone, state, reason, submitted_at, reviewed_by, reviewed_at
		FROM catalog_seller_applications WHERE `+where, scanSellerApplication, args...)
}

// Certifications.

const certificationColumns = `id, seller_id, account_holder, bank, account_number, tax_registration, tax_rate,
	state, reason, submitted_by, submitted_at, reviewed_by, reviewed_at`

func scanCertification(r scanner) (CertificationRecord, error) {
	var c CertificationRecord
	var submitted int64
	var reviewed sql.NullInt64
	err := r.Scan(&c.ID, &c.SellerID, &c.AccountHolder, &c.Bank, &c.AccountNumber, &c.TaxRegistration, &c.TaxRate,
		&c.State, &c.Reason, &c.SubmittedBy, &submitted, &c.ReviewedBy, &reviewed)
	c.SubmittedAt, c.ReviewedAt = store.FromMillis(submitted), millisOrZero(reviewed)
	return c, err
}

func listCertifications(ctx context.Context, q querier, where string, args ...any) ([]CertificationRecord, error) {
	return queryAll(ctx, q, "certifications", `SELECT `+certificationColumns+` FROM catalog_certifications WHERE `+where, scanCertification, args...)
}

func loadCertification(ctx context.Context, q querier, id int64) (CertificationRecord, error) {
	c, err := scanCertification(q.QueryRowContext(ctx, `SELECT `+certificationColumns+` FROM catalog_certifications WHERE id = $1`, id))
	return c, store.NotFound(err, "Certification %d not found.", id)
}

func latestApprovedCertification(ctx context.Context, q querier, sellerID string) (CertificationRecord, bool, error) {
	cs, err := listCertifications(ctx, q, `seller_id = $1 AND state = 'approved' ORDER BY reviewed_at DESC, id DESC LIMIT 1`, sellerID)
	if err != nil || len(cs) == 0 {
		return CertificationRecord{}, false, err
	}
	return cs[0], true, nil
}

func insertCertification(ctx context.Context, tx *store.Tx, sellerID, by string, c Certification) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO catalog_certifications
		(seller_id, account_holder, bank, account_number, tax_registration, tax_rate, state, submitted_by, submitted_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8) RETURNING id`,
		sellerID, c.AccountHolder, c.Bank, c.AccountNumber, c.TaxRegistration, c.TaxRate, by, store.Millis(tx.Now)).Scan(&id)
	return id, err
}

func closeCertification(ctx context.Context, tx *store.Tx, id int64, to State, why, reviewer string) error {
	return execOne(ctx, tx, souk.Errorf(souk.ECONFLICT, "Certification %d changed meanwhile; reload it.", id), `UPDATE catalog_certifications
		SET state = $1, reason = $2, reviewed_by = $3, reviewed_at = $4 WHERE id = $5 AND state = 'pending'`,
		to, why, reviewer, store.Millis(tx.Now), id)
}

// Reviews.

func insertReview(ctx context.Context, tx *store.Tx, r Review) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO catalog_reviews (subject, subject_id, seller_id, action, actor, actor_role, reason, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		r.Subject, r.SubjectID, r.SellerID, r.Action, r.By, r.Role, r.Reason, store.Millis(r.At))
	return err
}

func listReviews(ctx context.Context, q querier, sellerID string) ([]Review, error) {
	return queryAll(ctx, q, "reviews", `SELECT id, subject, subject_id, seller_id, action, actor, actor_role, reason, at
		FROM catalog_reviews WHERE seller_id = $1 ORDER BY id DESC`,
		func(r scanner) (Review, error) {
			var v Review
			var at int64
			err := r.Scan(&v.ID, &v.Subject, &v.SubjectID, &v.SellerID, &v.Action, &v.By, &v.Role, &v.Reason, &at)
			v.At = store.FromMillis(at)
			return v, err
		}, sellerID)
}

// Products.

func insertProduct(ctx context.Context, tx *store.Tx, id, sellerID string, sealedKey []byte) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO catalog_products (id, seller_id, access_key, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4)`, id, sellerID, sealedKey, store.Millis(tx.Now))
	return err
}

func scanProduct(r scanner) (ProductView, error) {
	var v ProductView
	var listed sql.NullString
	var listedAt sql.NullInt64
	var created int64
	err := r.Scan(&v.ID, &v.SellerID, &listed, &listedAt, &created,
		&v.Seller.CompanyName, &v.Seller.Contact.Name, &v.Seller.Contact.Email, &v.Seller.Contact.Phone)
	if err != nil {
		return v, err
	}
	v.ListedAt, v.CreatedAt = millisOrZero(listedAt), store.FromMillis(created)
	if listed.Valid {
		v.Listed = new(Product)
		if err := json.Unmarshal([]byte(listed.String), v.Listed); err != nil {
			return v, fmt.Errorf("listed version of product %s: %w", v.ID, err)
		}
	}
	return v, nil
}

// listProducts returns products with their seller's card; where may use
// the aliases p (product) and s (seller).
func listProducts(ctx context.Context, q querier, where string, args ...any) ([]ProductView, error) {
	vs, err := queryAll(ctx, q, "products", `SELECT p.id, p.seller_id, p.listed, p.listed_at, p.created_at,
		s.company_name, s.contact_name, s.contact_email, s.contact_phone
		FROM catalog_products p JOIN catalog_sellers s ON s.id = p.seller_id WHERE `+where, scanProduct, args...)
	if err != nil {
		return nil, err
	}
	return vs, nil
}

// loadProduct returns product id with its delisted specs.
func loadProduct(ctx context.Context, q querier, id string) (ProductView, error) {
	vs, err := listProducts(ctx, q, `p.id = $1`, id)
	if err != nil {
		return ProductView{}, err
	}
	if len(vs) == 0 {
		return ProductView{}, productNotFound(id)
	}
	v := vs[0]
	v.Delisted, err = delistedSpecs(ctx, q, id)
	return v, err
}

func delistedSpecs(ctx context.Context, q querier, productID string) ([]string, error) {
	return queryAll(ctx, q, "delisted specs", `SELECT spec_code FROM catalog_delisted_specs WHERE product_id = $1 ORDER BY spec_code`,
		func(r scanner) (string, error) {
			var code string
			return code, r.Scan(&code)
		}, productID)
}

func insertDelisted(ctx context.Context, tx *store.Tx, productID, code string, appID int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO catalog_delisted_specs (product_id, spec_code, application_id, delisted_at)
		VALUES ($1, $2, $3, $4)`, productID, code, appID, store.Millis(tx.Now))
	return err
}

// setListed makes p its product's listed version.
func setListed(ctx context.Context, tx *store.Tx, p Product) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	public := 0
	if p.Public {
		public = 1
	}
	return execOne(ctx, tx, productNotFound(p.ID), `UPDATE catalog_products
		SET listed = $1, listed_at = $2, type = $3, public = $4, search = $5, updated_at = $2 WHERE id = $6`,
		string(b), store.Millis(tx.Now), p.Type, public, searchText(p), p.ID)
}

func deleteProduct(ctx context.Context, tx *store.Tx, id string) error {
	return execOne(ctx, tx, productNotFound(id), `DELETE FROM catalog_products WHERE id = $1 AND listed IS NULL`, id)
}

type accessKeys struct {
	current, previous []byte // sealed
	rotatedAt         time.Time
}

func loadAccessKeys(ctx context.Context, q querier, productID string) (accessKeys, error) {
	var k accessKeys
	var rotated sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT access_key, previous_access_key, access_key_rotated_at FROM catalog_products WHERE id = $1`,
		productID).Scan(&k.current, &k.previous, &rotated)
	k.rotatedAt = millisOrZero(rotated)
	return k, store.NotFound(err, "Product %s not found.", productID)
}

func rotateAccessKey(ctx context.Context, tx *store.Tx, productID string, current, previous []byte) error {
	return execOne(ctx, tx, productNotFound(productID), `UPDATE catalog_products
		SET access_key = $1, previous_access_key = $2, access_key_rotated_at = $3, updated_at = $3 WHERE id = $4`,
		current, previous, store.Millis(tx.Now), productID)
}

// Applications.

const applicationColumns = `id, product_id, seller_id, kind, spec_code, snapshot, state, reason, revised_from,
	created_by, created_at, updated_at, submitted_at, reviewed_by, reviewed_at`

func scanApplication(r scanner) (Application, error) {
	var a Application
	var snapshot string
	var revised, submitted, reviewed sql.NullInt64
	var created, updated int64
	err := r.Scan(&a.ID, &a.ProductID, &a.SellerID, &a.Kind, &a.SpecCode, &snapshot, &a.State, &a.Reason, &revised,
		&a.CreatedBy, &created, &updated, &submitted, &a.ReviewedBy, &reviewed)
	if err != nil {
		return a, err
	}
	a.RevisedFrom = revised.Int64
	a.CreatedAt, a.UpdatedAt = store.FromMillis(created), store.FromMillis(updated)
	a.SubmittedAt, a.ReviewedAt = millisOrZero(submitted), millisOrZero(reviewed)
	if err := json.Unmarshal([]byte(snapshot), &a.Snapshot); err != nil {
		return a, fmt.Errorf("snapshot of application %d: %w", a.ID, err)
	}
	return a, nil
}

func listApplications(ctx context.Context, q querier, where string, args ...any) ([]Application, error) {
	return queryAll(ctx, q, "applications", `SELECT `+applicationColumns+` FROM catalog_applications WHERE `+where, scanApplication, args...)
}

func loadApplication(ctx context.Context, q querier, id int64) (Application, error) {
	a, err := scanApplication(q.QueryRowContext(ctx, `SELECT `+applicationColumns+` FROM catalog_applications WHERE id = $1`, id))
	return a, store.NotFound(err, "Application %d not found.", id)
}

func firstApplication(ctx context.Context, q querier, where string, args ...any) (Application, bool, error) {
	as, err := listApplications(ctx, q, where+` LIMIT 1`, args...)
	if err != nil || len(as) == 0 {
		return Application{}, false, err
	}
	return as[0], true, nil
}

func openApplication(ctx context.Context, q querier, productID string) (Application, bool, error) {
	return firstApplication(ctx, q, `product_id = $1 AND state IN ('draft', 'submitted')`, productID)
}

func latestApplication(ctx context.Context, q querier, productID string) (Application, bool, error) {
	return firstApplication(ctx, q, `product_id = $1 ORDER BY id DESC`, productID)
}

func insertApplication(ctx context.Context, tx *store.Tx, a Application) (int64, error) {
	b, err := json.Marshal(a.Snapshot)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO catalog_applications
		(product_id, seller_id, kind, spec_code, snapshot, state, revised_from, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
		a.ProductID, a.SellerID, a.Kind, a.SpecCode, string(b), a.State, nullZero(a.RevisedFrom), a.CreatedBy, store.Millis(tx.Now)).Scan(&id)
	return id, err
}

func updateSnapshot(ctx context.Context, tx *store.Tx, id int64, p Product) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return execOne(ctx, tx, changedMeanwhile(id), `UPDATE catalog_applications SET snapshot = $1, updated_at = $2
		WHERE id = $3 AND state = 'draft'`, string(b), store.Millis(tx.Now), id)
}

// setApplicationState moves a from its state to state to: submitted
// stamps the submission; any other state the review (or withdrawal), by
// who, for why.
func setApplicationState(ctx context.Context, tx *store.Tx, a Application, to State, who, why string) error {
	now := store.Millis(tx.Now)
	if to == Submitted {
		return execOne(ctx, tx, changedMeanwhile(a.ID), `UPDATE catalog_applications
			SET state = $1, submitted_at = $2, updated_at = $2 WHERE id = $3 AND state = $4`, to, now, a.ID, a.State)
	}
	return execOne(ctx, tx, changedMeanwhile(a.ID), `UPDATE catalog_applications
		SET state = $1, reason = $2, reviewed_by = $3, reviewed_at = $4, updated_at = $4 WHERE id = $5 AND state = $6`,
		to, why, who, now, a.ID, a.State)
}

func deleteDraft(ctx context.Context, tx *store.Tx, id int64) error {
	return execOne(ctx, tx, changedMeanwhile(id), `DELETE FROM catalog_applications WHERE id = $1 AND state = 'draft'`, id)
}

func changedMeanwhile(id int64) error {
	return souk.Errorf(souk.ECONFLICT, "Application %d changed meanwhile; reload it.", id)
}
