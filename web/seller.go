package web

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/notify"
	"github.com/souk-market/souk/sellerapi"
	"github.com/souk-market/souk/sellerkit"
	"github.com/souk-market/souk/store"
)

// The seller centre: onboarding, certification, products, applications,
// access keys and the inbox. Every page asks catalog (or sellerapi) as the
// visitor: who may see or do what is decided there, and a refusal is
// shown as the domain worded it.

func (s *Server) sellerRoutes() []route {
	return []route{
		{Method: "GET", Path: "/seller", Auth: true, handle: s.sellerHome},
		{Method: "POST", Path: "/seller/apply", Auth: true, handle: s.sellerApply},
		{Method: "POST", Path: "/seller/certification", Auth: true, handle: s.sellerCertify},

		{Method: "GET", Path: "/seller/products", Auth: true, handle: s.sellerProducts},
		{Method: "GET", Path: "/seller/products/new", Auth: true, handle: s.sellerNewProduct},
		{Method: "POST", Path: "/seller/products", Auth: true, handle: s.sellerCreateProduct},
		{Method: "GET", Path: "/seller/products/{id}", Auth: true, handle: s.sellerProduct},
		{Method: "POST", Path: "/seller/products/{id}/rotate-key", Auth: true, handle: s.sellerRotateKey},
		{Method: "POST", Path: "/seller/products/{id}/modify", Auth: true, handle: s.sellerModifyProduct},
		{Method: "POST", Path: "/seller/products/{id}/specs/{code}/delist", Auth: true, handle: s.sellerDelistSpec},

		{Method: "GET", Path: "/seller/applications", Auth: true, handle: s.sellerApplications},
		{Method: "GET", Path: "/seller/applications/{id}", Auth: true, handle: s.sellerApplication},
		{Method: "GET", Path: "/seller/applications/{id}/edit", Auth: true, handle: s.sellerEditDraft},
		{Method: "POST", Path: "/seller/applications/{id}/edit", Auth: true, handle: s.sellerUpdateDraft},
		{Method: "POST", Path: "/seller/applications/{id}/submit", Auth: true, handle: s.sellerSubmitApplication},
		{Method: "POST", Path: "/seller/applications/{id}/withdraw", Auth: true, handle: s.sellerWithdrawApplication},
		{Method: "POST", Path: "/seller/applications/{id}/revise", Auth: true, handle: s.sellerReviseApplication},
		{Method: "POST", Path: "/seller/applications/{id}/discard", Auth: true, handle: s.sellerDiscardDraft},

		{Method: "GET", Path: "/seller/secret", Auth: true, handle: s.secretPage},
		{Method: "GET", Path: "/seller/inbox", Auth: true, handle: s.sellerInbox},
		{Method: "POST", Path: "/seller/inbox/{id}/read", Auth: true, handle: s.sellerMarkRead},

		{Method: "GET", Path: "/seller/api-credentials", Auth: true, handle: s.sellerCredentials},
		{Method: "POST", Path: "/seller/api-credentials", Auth: true, handle: s.sellerCreateCredential},
		{Method: "POST", Path: "/seller/api-credentials/revoke", Auth: true, handle: s.sellerRevokeCredential},
	}
}

// sellerHomeData is the seller centre's home: for a visitor who is not a
// seller member, the join form; for a member, where the seller stands.
type sellerHomeData struct {
	Member         bool
	Seller         catalog.Seller
	Applications   []catalog.SellerApplication // join applications, newest first
	Certifications []catalog.CertificationRecord
	Unread         int
	JoinForm       form
	CertForm       form
}

// LatestApplication is the seller's latest join application, if any.
func (d sellerHomeData) LatestApplication() *catalog.SellerApplication {
	if len(d.Applications) == 0 {
		return nil
	}
	return &d.Applications[0]
}

// LatestCertification is the seller's latest certification, if any.
func (d sellerHomeData) LatestCertification() *catalog.CertificationRecord {
	if len(d.Certifications) == 0 {
		return nil
	}
	return &d.Certifications[0]
}

// sellerHomeData loads the home as the visitor sees it; the forms start
// from the latest application and certification, to submit again.
func (s *Server) sellerHomeData(r *http.Request) (sellerHomeData, error) {
	ctx, by := r.Context(), actorOf(r)
	var d sellerHomeData
	var err error
	d.Seller, err = catalog.MySeller(ctx, s.db, by)
	if souk.ErrorCode(err) == souk.EUNAUTHORIZED {
		return d, nil // not a seller member: the join page
	} else if err != nil {
		return d, err
	}
	d.Member = true
	if d.Applications, err = catalog.SellerApplications(ctx, s.db, by, by.SellerID); err != nil {
		return d, err
	}
	if d.Certifications, err = catalog.Certifications(ctx, s.db, by, by.SellerID); err != nil {
		return d, err
	}
	if d.Unread, err = notify.UnreadCount(ctx, s.db, sellerRecipient(by)); err != nil {
		return d, err
	}
	if a := d.LatestApplication(); a != nil {
		d.JoinForm.Values = map[string][]string{"company_name": {a.CompanyName}, "registration_number": {a.RegistrationNumber},
			"contact_name": {a.ContactName}, "contact_email": {a.ContactEmail}, "contact_phone": {a.ContactPhone}}
	}
	if c := d.LatestCertification(); c != nil {
		d.CertForm.Values = map[string][]string{"account_holder": {c.AccountHolder}, "bank": {c.Bank},
			"account_number": {c.AccountNumber}, "tax_registration": {c.TaxRegistration}, "tax_rate": {basisPointsAsPercent(c.TaxRate)}}
	}
	return d, nil
}

// sellerRecipient is the inbox of by's seller (notify's recipient).
func sellerRecipient(by souk.Actor) string { return "seller:" + by.SellerID }

func (s *Server) sellerHome(w http.ResponseWriter, r *http.Request) error {
	d, err := s.sellerHomeData(r)
	if err != nil {
		return err
	}
	return s.show(w, r, "seller_home", d)
}

// sellerApply records a join application, the applicant becoming the
// seller's first member in the same transaction (as the API's POST
// /api/v1/sellers): from the next page on, the visitor is a seller member.
func (s *Server) sellerApply(w http.ResponseWriter, r *http.Request) error {
	ctx, by, f := r.Context(), actorOf(r), r.PostForm
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		id, err := catalog.ApplyTx(ctx, tx, by, catalog.JoinApplication{CompanyName: f.Get("company_name"),
			RegistrationNumber: f.Get("registration_number"), ContactName: f.Get("contact_name"),
			ContactEmail: f.Get("contact_email"), ContactPhone: f.Get("contact_phone")})
		if err != nil {
			return err
		}
		return account.JoinSeller(ctx, tx, by.UserID, id)
	})
	if err != nil {
		d, derr := s.sellerHomeData(r)
		if derr != nil {
			return derr
		}
		return s.formError(w, r, "seller_home", err, func(f form) any { d.JoinForm = f; return d })
	}
	return s.seeOther(w, r, "/seller", "Your application to sell on Souk was received; an operator will review it.")
}

// sellerCertify submits business information for the visitor's seller.
// The tax rate is typed in percent ("6", "6.5") and given to the domain
// exactly, in basis points.
func (s *Server) sellerCertify(w http.ResponseWriter, r *http.Request) error {
	ctx, by, f := r.Context(), actorOf(r), r.PostForm
	rate, err := parseDecimal("taxRate", f.Get("tax_rate"), 2)
	if err == nil && rate > 1<<31-1 {
		err = souk.Errorf(souk.EINVALID, "taxRate: %s %% is not a tax rate.", f.Get("tax_rate"))
	}
	if err == nil {
		_, err = catalog.SubmitCertification(ctx, s.db, by, catalog.Certification{AccountHolder: f.Get("account_holder"),
			Bank: f.Get("bank"), AccountNumber: f.Get("account_number"), TaxRegistration: f.Get("tax_registration"), TaxRate: int(rate)})
	}
	if err != nil {
		d, derr := s.sellerHomeData(r)
		if derr != nil {
			return derr
		}
		return s.formError(w, r, "seller_home", err, func(f form) any { d.CertForm = f; return d })
	}
	return s.seeOther(w, r, "/seller", "Your business information was submitted for review.")
}

// basisPointsAsPercent shows a tax rate in basis points as the percent a
// seller types: 600 is "6", 650 "6.5", 1 "0.01".
func basisPointsAsPercent(bp int) string {
	s := fmt.Sprintf("%d.%02d", bp/100, bp%100)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// parseDecimal reads a non-negative decimal number typed in a form ("99",
// "99.5", "99.00") exactly as an integer of places decimals (9900 for
// places 2): no float on the way, so no rounding. More decimals than
// places, or a number too large, is EINVALID naming field.
func parseDecimal(field, s string, places int) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, souk.Errorf(souk.EINVALID, "%s: is required.", field)
	}
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	if !digits(whole) || (dot && (frac == "" || !digits(frac))) {
		return 0, souk.Errorf(souk.EINVALID, "%s: %q is not a number (digits, and a point before the decimals).", field, s)
	}
	if len(frac) > places {
		if places == 0 {
			return 0, souk.Errorf(souk.EINVALID, "%s: %q has decimals; this currency has none.", field, s)
		}
		return 0, souk.Errorf(souk.EINVALID, "%s: %q has more than %d decimals.", field, s, places)
	}
	frac += strings.Repeat("0", places-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, souk.Errorf(souk.EINVALID, "%s: %q is too large.", field, s)
	}
	return n, nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// The inbox (web/inbox.go shows it).

// sellerInbox shows the seller's in-site messages. Reading the member's
// own seller first (catalog.MySeller) is what decides who may: only a
// seller member, and only its own seller's inbox.
func (s *Server) sellerInbox(w http.ResponseWriter, r *http.Request) error {
	if _, err := catalog.MySeller(r.Context(), s.db, actorOf(r)); err != nil {
		return err
	}
	return s.inbox(w, r, sellerRecipient(actorOf(r)), "/seller/inbox")
}

func (s *Server) sellerMarkRead(w http.ResponseWriter, r *http.Request) error {
	if _, err := catalog.MySeller(r.Context(), s.db, actorOf(r)); err != nil {
		return err
	}
	return s.markRead(w, r, sellerRecipient(actorOf(r)), "/seller/inbox")
}

// API credentials.

type credentialsData struct {
	Credentials []sellerapi.Credential
	Max         int
	Form        form
}

func (s *Server) credentialsData(r *http.Request) (credentialsData, error) {
	cs, err := sellerapi.ListCredentials(r.Context(), s.db, actorOf(r))
	return credentialsData{Credentials: cs, Max: sellerapi.MaxCredentials}, err
}

func (s *Server) sellerCredentials(w http.ResponseWriter, r *http.Request) error {
	d, err := s.credentialsData(r)
	if err != nil {
		return err
	}
	return s.show(w, r, "seller_credentials", d)
}

// sellerCreateCredential creates a credential and shows its secret, this
// once.
func (s *Server) sellerCreateCredential(w http.ResponseWriter, r *http.Request) error {
	c, err := sellerapi.CreateCredential(r.Context(), s.db, s.cat.Keys, actorOf(r), r.PostForm.Get("name"))
	if err != nil {
		d, derr := s.credentialsData(r)
		if derr != nil {
			return derr
		}
		return s.formError(w, r, "seller_credentials", err, func(f form) any { d.Form = f; return d })
	}
	return s.showSecret(w, r, secretData{
		Title: "API credential created",
		Intro: "Your software signs its open API calls with this key id and secret. Send the key id in the " + sellerkit.HeaderOpenAPIKey + " header.",
		Items: []secretItem{{Label: "Key id", Value: c.KeyID}, {Label: "Secret", Value: c.Secret, Secret: true}},
		Back:  "/seller/api-credentials", BackLabel: "Back to API credentials",
	})
}

func (s *Server) sellerRevokeCredential(w http.ResponseWriter, r *http.Request) error {
	keyID := r.PostForm.Get("key_id")
	if err := sellerapi.RevokeCredential(r.Context(), s.db, actorOf(r), keyID); err != nil {
		return err
	}
	return s.seeOther(w, r, "/seller/api-credentials", "API credential "+keyID+" is revoked: calls signed with it are refused.")
}

// secretData is a page showing a secret once: an access key or an API
// credential's secret.
type secretData struct {
	Title, Intro    string
	Items           []secretItem
	Back, BackLabel string
	// Next is a further link, e.g. to the draft application of a new
	// product.
	Next, NextLabel string
	// Issued is when the secret was made: a sealed cookie older than
	// secretTTL is not shown, even if a copy of it is sent again.
	Issued time.Time
}

// secretTTL is how long after its form a secret can be shown (once).
const secretTTL = 5 * time.Minute

type secretItem struct {
	Label, Value string
	Secret       bool
}

// secretCookie carries a secret shown once from the form that made it to
// the page that shows it (/seller/secret), sealed with the marketplace key
// for the visitor: so the page is a GET that a reload cannot turn into a
// second product or key, the secret never travels in a URL, and any node
// can show it. The page clears the cookie as it reads it.
const secretCookie = "souk_secret"

// showSecret answers the form that made a secret by sending the browser
// to the page that shows it once.
func (s *Server) showSecret(w http.ResponseWriter, r *http.Request, d secretData) error {
	d.Issued = s.db.Clock().Now()
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if s.cat.Keys == nil {
		return s.show(w, r, "seller_secret", d) // no key to seal it with: shown on the answer itself
	}
	sealed := s.cat.Keys.Seal(b, secretOwner(r))
	http.SetCookie(w, &http.Cookie{Name: secretCookie, Value: base64.RawURLEncoding.EncodeToString(sealed), Path: "/seller/secret",
		MaxAge: int(secretTTL / time.Second), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/seller/secret", http.StatusSeeOther)
	return nil
}

// secretPage shows the secret the visitor's last form made, once; again,
// or with no such secret, it says how to get a new one.
func (s *Server) secretPage(w http.ResponseWriter, r *http.Request) error {
	var d secretData
	if c, err := r.Cookie(secretCookie); err == nil && s.cat.Keys != nil {
		http.SetCookie(w, &http.Cookie{Name: secretCookie, Value: "", Path: "/seller/secret", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
		if sealed, err := base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			if b, err := s.cat.Keys.Open(sealed, secretOwner(r)); err == nil {
				json.Unmarshal(b, &d)
			}
		}
	}
	if len(d.Items) == 0 || s.db.Clock().Now().Sub(d.Issued) > secretTTL {
		d = secretData{Title: "Nothing to show", Back: "/seller", BackLabel: "Back to the seller centre",
			Intro: "A key or secret is shown once, on the page right after it was made, and this one has been shown. If it was not copied, rotate the product's access key or create another API credential."}
	}
	return s.show(w, r, "seller_secret", d)
}

// secretOwner binds a sealed secret to the visitor, so another's cookie
// cannot be read here.
func secretOwner(r *http.Request) string { return "web-secret:" + actorOf(r).UserID }
