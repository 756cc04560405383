package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/sellerapi"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
)

// The demo's seed: what runDemo makes on first start and finds again on
// every start after it. Nothing is made twice: each step looks at what the
// database holds (users by their log-in, the seller's state, its products
// by name) and does only what is missing.

// demoStateFile holds what the database cannot give back: the accounts'
// passwords and the products' access keys.
const demoStateFile = "demo-accounts.json"

// demoTopUp is the buyer's starting balance: 1,000.00 CNY.
var demoTopUp = settle.M(100000, "CNY")

// demoState is the content of demoStateFile.
type demoState struct {
	Accounts map[string]*demoAccount `json:"accounts"` // by role
	// AccessKeys are the products' access keys, by product slug.
	AccessKeys map[string]string `json:"accessKeys"`
	// PurchaseKey is the Idempotency-Key of the demo's purchase: the same
	// order on every start, as long as its instance lives.
	PurchaseKey string `json:"purchaseKey,omitempty"`
	// APIKey and APISecret are the seller's open API credential, which the
	// reference sellers sign their calls to the marketplace with.
	APIKey    string `json:"apiKey,omitempty"`
	APISecret string `json:"apiSecret,omitempty"`

	path string
}

type demoAccount struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// The demo's accounts, in the order they are shown.
var demoRoles = []struct{ role, email, name string }{
	{souk.RoleOperator, "operator@souk-demo.example", "Demo Operator"},
	{souk.RoleSeller, "seller@souk-demo.example", "Demo Seller"},
	{souk.RoleBuyer, "buyer@souk-demo.example", "Demo Buyer"},
}

func loadDemoState(dir string) (*demoState, error) {
	st := &demoState{path: filepath.Join(dir, demoStateFile)}
	b, err := os.ReadFile(st.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err == nil {
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("%s: %w", st.path, err)
		}
	}
	if st.Accounts == nil {
		st.Accounts = map[string]*demoAccount{}
	}
	if st.AccessKeys == nil {
		st.AccessKeys = map[string]string{}
	}
	return st, nil
}

// save writes the state, readable by its owner only: it holds passwords
// and access keys.
func (st *demoState) save() error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := st.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, st.path)
}

// demoProduct is one of the seller's products: Slug names it in the state
// file and in the seller's URL (the SaaS product's is the root).
type demoProduct struct {
	Slug, Prefix string
	Product      catalog.Product
	// ID and AccessKey once seeded.
	ID, AccessKey string
}

// demoProducts are the products the demo seller lists, calling the
// reference sellers of seller.
func demoProducts(seller *demoSeller) []*demoProduct {
	cny := func(fen int64) catalog.Price { return catalog.Price{Amount: fen, Currency: "CNY"} }
	return []*demoProduct{
		{Slug: "saas", Prefix: "", Product: catalog.Product{Type: catalog.SaaS, Name: "Souk Notes",
			Description: "Team notes as a service: pay by the month, for the team or per user.",
			Public:      true, ProductionURL: seller.productionURL(""), Specs: []catalog.Spec{
				{Code: "basic", Name: "Basic, monthly", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: cny(9900)},
				{Code: "pro", Name: "Pro, monthly, per user", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: cny(2900),
					Quantity: &catalog.LinearQuantity{Unit: "user", Min: 1, Max: 100, Step: 1}},
			}}},
		{Slug: "license", Prefix: "/license", Product: catalog.Product{Type: catalog.License, Name: "Souk Notes Desktop",
			Description: "The desktop edition: a licence code per seat, for a year.",
			Public:      true, ProductionURL: seller.productionURL("/license"), Specs: []catalog.Spec{
				{Code: "yearly", Name: "One seat, yearly", Charging: catalog.ChargePeriod, Period: catalog.Year, Price: cny(49900)},
			}}},
		{Slug: "usage", Prefix: "/usage", Product: catalog.Product{Type: catalog.SaaS, Name: "Souk Notes API",
			Description: "The notes API, paid per use: 0.05 CNY a call, billed from usage records.",
			Public:      true, ProductionURL: seller.productionURL("/usage"), Specs: []catalog.Spec{
				{Code: "calls", Name: "Per call", Charging: catalog.ChargeOnDemand, Price: cny(5)},
			}}},
	}
}

// demoSeed seeds the marketplace's database.
type demoSeed struct {
	db    *store.DB
	set   catalog.Settings
	state *demoState
	dir   string // the data directory, for messages

	operator, seller, buyer *account.User
	sellerID                string
	toppedUp                bool // the buyer was topped up by this run
}

// users makes (or finds) the three accounts.
func (s *demoSeed) users(ctx context.Context) error {
	for _, r := range demoRoles {
		u, err := s.user(ctx, r.role, r.email, r.name)
		if err != nil {
			return err
		}
		switch r.role {
		case souk.RoleOperator:
			s.operator = u
		case souk.RoleSeller:
			s.seller = u
		default:
			s.buyer = u
		}
	}
	return nil
}

// user logs in as the demo's account of role, creating it first if it
// does not exist: an operator as the system would (souk user add), the
// seller and the buyer as anyone registers.
func (s *demoSeed) user(ctx context.Context, role, email, name string) (*account.User, error) {
	a := s.state.Accounts[role]
	if a == nil {
		a = &demoAccount{Email: email, Name: name, Password: rand.Text()}
		s.state.Accounts[role] = a
		if err := s.state.save(); err != nil {
			return nil, err
		}
	}
	if u, err := s.login(ctx, a); err == nil {
		return u, nil
	} else if souk.ErrorCode(err) != souk.EUNAUTHENTICATED {
		return nil, err
	}
	reg := account.Registration{Email: a.Email, Name: a.Name, Password: a.Password}
	var err error
	if role == souk.RoleOperator {
		reg.Role = souk.RoleOperator
		_, err = account.CreateUser(ctx, s.db, souk.Actor{UserID: "system", Role: souk.RoleOperator}, reg)
	} else {
		_, err = account.Register(ctx, s.db, reg)
	}
	if souk.ErrorCode(err) == souk.ECONFLICT {
		return nil, fmt.Errorf("%s has an account in %s whose password is not the one in %s: start the demo with another --data directory",
			a.Email, s.dir, s.state.path)
	} else if err != nil {
		return nil, fmt.Errorf("create the demo's %s account: %s", role, souk.ErrorMessage(err))
	}
	return s.login(ctx, a)
}

// login logs in as a and returns the user, leaving no session behind.
func (s *demoSeed) login(ctx context.Context, a *demoAccount) (*account.User, error) {
	_, token, err := account.Login(ctx, s.db, a.Email, a.Password)
	if err != nil {
		return nil, err
	}
	defer account.Logout(ctx, s.db, token)
	_, u, err := account.Authenticate(ctx, s.db, token)
	return u, err
}

// sellerCompany has the seller user apply as a company, the operator
// approve it, and its business information submitted and certified.
func (s *demoSeed) sellerCompany(ctx context.Context) error {
	op := s.operator.Actor()
	if s.seller.SellerID == "" {
		by := s.seller.Actor()
		err := s.db.Tx(ctx, func(tx *store.Tx) error {
			id, err := catalog.ApplyTx(ctx, tx, by, catalog.JoinApplication{CompanyName: "Souk Demo Software Co., Ltd.",
				RegistrationNumber: "DEMO-91110000", ContactName: "Demo Seller", ContactEmail: s.seller.Email, ContactPhone: "+86 10 5555 0100"})
			if err != nil {
				return err
			}
			return account.JoinSeller(ctx, tx, by.UserID, id)
		})
		if err != nil {
			return fmt.Errorf("the demo seller applies: %s", souk.ErrorMessage(err))
		}
		if s.seller, err = account.GetUser(ctx, s.db, op, s.seller.ID); err != nil {
			return err
		}
	}
	by := s.seller.Actor()
	s.sellerID = s.seller.SellerID
	seller, err := catalog.GetSeller(ctx, s.db, by, s.sellerID)
	if err != nil {
		return err
	}
	switch seller.State {
	case catalog.Pending:
		if err := catalog.ApproveSeller(ctx, s.db, op, s.sellerID); err != nil {
			return fmt.Errorf("the operator approves the demo seller: %s", souk.ErrorMessage(err))
		}
	case catalog.Approved:
	default:
		return fmt.Errorf("the demo seller %s is %s in %s: start the demo with another --data directory", s.sellerID, seller.State, s.dir)
	}
	if seller.Certified {
		return nil
	}
	certs, err := catalog.Certifications(ctx, s.db, by, s.sellerID)
	if err != nil {
		return err
	}
	var pending int64
	if len(certs) > 0 && certs[0].State == catalog.Pending {
		pending = certs[0].ID
	} else if pending, err = catalog.SubmitCertification(ctx, s.db, by, catalog.Certification{AccountHolder: "Souk Demo Software Co., Ltd.",
		Bank: "Demo Bank, Beijing Branch", AccountNumber: "6222020200112233445", TaxRegistration: "91110000DEMO0001X", TaxRate: 600}); err != nil {
		return fmt.Errorf("the demo seller submits its business information: %s", souk.ErrorMessage(err))
	}
	if err := catalog.ApproveCertification(ctx, s.db, op, pending); err != nil {
		return fmt.Errorf("the operator certifies the demo seller: %s", souk.ErrorMessage(err))
	}
	return nil
}

// products has the seller create (or, when a production URL changed,
// modify) each product and submit it, and the operator approve it: every
// product ends listed as ps says, with its access key known.
func (s *demoSeed) products(ctx context.Context, ps []*demoProduct) error {
	by, op := s.seller.Actor(), s.operator.Actor()
	mine, err := catalog.MyProducts(ctx, s.db, by)
	if err != nil {
		return err
	}
	for _, p := range ps {
		var found *catalog.ProductView
		for i, v := range mine {
			if v.Listed != nil && v.Listed.Name == p.Product.Name || v.Open != nil && v.Open.Snapshot.Name == p.Product.Name {
				found = &mine[i]
				break
			}
		}
		var draft int64 // an application to bring up to date and publish
		switch {
		case found == nil:
			np, err := catalog.CreateProduct(ctx, s.db, s.set, by, p.Product)
			if err != nil {
				return fmt.Errorf("the demo seller creates %s: %s", p.Product.Name, souk.ErrorMessage(err))
			}
			p.ID, draft = np.ProductID, np.ApplicationID
			s.state.AccessKeys[p.Slug] = np.AccessKey
			if err := s.state.save(); err != nil {
				return err
			}
		case found.Open != nil && found.Open.State == catalog.Draft:
			p.ID, draft = found.ID, found.Open.ID
		case found.Open != nil: // submitted: approve, then see
			p.ID = found.ID
			if err := catalog.ApproveApplication(ctx, s.db, op, found.Open.ID); err != nil {
				return fmt.Errorf("the operator approves %s: %s", p.Product.Name, souk.ErrorMessage(err))
			}
			v, err := catalog.GetProduct(ctx, s.db, by, p.ID)
			if err != nil {
				return err
			}
			found = &v
			fallthrough
		default:
			p.ID = found.ID
			if found.Listed == nil {
				return fmt.Errorf("the demo product %s (%s) is not listed and has no draft in %s: start the demo with another --data directory",
					p.Product.Name, p.ID, s.dir)
			}
			if found.Listed.ProductionURL != p.Product.ProductionURL {
				// The seller listens elsewhere than last time.
				if draft, err = catalog.ModifyProduct(ctx, s.db, by, p.ID); err != nil {
					return fmt.Errorf("the demo seller modifies %s: %s", p.Product.Name, souk.ErrorMessage(err))
				}
			}
		}
		if draft != 0 {
			if err := catalog.UpdateDraft(ctx, s.db, s.set, by, draft, p.Product); err != nil {
				return fmt.Errorf("the demo seller edits %s: %s", p.Product.Name, souk.ErrorMessage(err))
			}
			if err := catalog.SubmitApplication(ctx, s.db, s.set, by, draft); err != nil {
				return fmt.Errorf("the demo seller submits %s: %s", p.Product.Name, souk.ErrorMessage(err))
			}
			if err := catalog.ApproveApplication(ctx, s.db, op, draft); err != nil {
				return fmt.Errorf("the operator approves %s: %s", p.Product.Name, souk.ErrorMessage(err))
			}
		}
		if s.state.AccessKeys[p.Slug] == "" {
			// Shown only once, and not kept: a new one.
			key, err := catalog.RotateAccessKey(ctx, s.db, s.set, by, p.ID)
			if err != nil {
				return err
			}
			s.state.AccessKeys[p.Slug] = key
			if err := s.state.save(); err != nil {
				return err
			}
		}
		p.AccessKey = s.state.AccessKeys[p.Slug]
	}
	return nil
}

// topUp has the operator top up the buyer's balance, once: a buyer whose
// balance was ever used is left alone.
// apiCredential returns the seller's open API credential: the one the
// state keeps while it is valid, else a new one (its secret is shown
// once, so the state keeps it).
func (s *demoSeed) apiCredential(ctx context.Context) (keyID, secret string, err error) {
	by := s.seller.Actor()
	if s.state.APIKey != "" {
		cs, err := sellerapi.ListCredentials(ctx, s.db, by)
		if err != nil {
			return "", "", err
		}
		for _, c := range cs {
			if c.KeyID == s.state.APIKey && !c.Revoked() {
				return s.state.APIKey, s.state.APISecret, nil
			}
		}
	}
	c, err := sellerapi.CreateCredential(ctx, s.db, s.set.Keys, by, "demo reference seller")
	if err != nil {
		return "", "", fmt.Errorf("the demo seller's API credential: %s", souk.ErrorMessage(err))
	}
	s.state.APIKey, s.state.APISecret = c.KeyID, c.Secret
	return c.KeyID, c.Secret, s.state.save()
}

func (s *demoSeed) topUp(ctx context.Context) error {
	ms, err := settle.Balances(ctx, s.db, settle.BuyerBalance(s.buyer.ID))
	if err != nil || len(ms) > 0 {
		return err
	}
	if _, err := settle.TopUp(ctx, s.db, s.operator.Actor(), s.buyer.ID, demoTopUp); err != nil {
		return fmt.Errorf("the operator tops up the buyer: %s", souk.ErrorMessage(err))
	}
	s.toppedUp = true
	return nil
}
