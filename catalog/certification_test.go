package catalog_test

import (
	"strings"
	"testing"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
)

func TestCertificationTransitions(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		// A certification in state from, and its seller's member.
		certificationIn := func(t *testing.T, from catalog.State) (souk.Actor, int64) {
			m := e.newSeller(t, approvedSeller)
			id := mustValue[int64](t)(catalog.SubmitCertification(ctx, e.db, m, certification()))
			switch from {
			case catalog.Approved:
				must(t, catalog.ApproveCertification(ctx, e.db, e.operator, id))
			case catalog.Rejected:
				must(t, catalog.RejectCertification(ctx, e.db, e.operator, id, "The account holder is not the company."))
			}
			return m, id
		}
		tests := []struct {
			from      catalog.State
			action    string
			wantCode  string
			wantState catalog.State // of the certification acted on
			certified bool          // the seller's, afterwards
		}{
			{catalog.Pending, "approve", "", catalog.Approved, true},
			{catalog.Pending, "reject", "", catalog.Rejected, false},
			{catalog.Pending, "submit", souk.ECONFLICT, catalog.Pending, false},
			{catalog.Approved, "approve", souk.ECONFLICT, catalog.Approved, true},
			{catalog.Approved, "reject", souk.ECONFLICT, catalog.Approved, true},
			{catalog.Approved, "submit", "", catalog.Approved, true},
			{catalog.Rejected, "approve", souk.ECONFLICT, catalog.Rejected, false},
			{catalog.Rejected, "reject", souk.ECONFLICT, catalog.Rejected, false},
			{catalog.Rejected, "submit", "", catalog.Rejected, false},
		}
		for _, tt := range tests {
			t.Run(string(tt.from)+"/"+tt.action, func(t *testing.T) {
				m, id := certificationIn(t, tt.from)
				var err error
				switch tt.action {
				case "approve":
					err = catalog.ApproveCertification(ctx, e.db, e.operator, id)
				case "reject":
					err = catalog.RejectCertification(ctx, e.db, e.operator, id, "Tax registration does not match.")
				case "submit":
					_, err = catalog.SubmitCertification(ctx, e.db, m, certification())
				}
				wantCode(t, tt.action+"()", err, tt.wantCode)
				rs := mustValue[[]catalog.CertificationRecord](t)(catalog.Certifications(ctx, e.db, m, m.SellerID))
				if got := rs[len(rs)-1]; got.ID != id || got.State != tt.wantState {
					t.Errorf("certification after %s = %d %s, want %d %s", tt.action, got.ID, got.State, id, tt.wantState)
				}
				if got := mustValue[catalog.Seller](t)(catalog.GetSeller(ctx, e.db, m, m.SellerID)).Certified; got != tt.certified {
					t.Errorf("Certified after %s = %v, want %v", tt.action, got, tt.certified)
				}
			})
		}
		t.Run("seller not approved", func(t *testing.T) {
			m := e.newSeller(t, pendingSeller)
			_, err := catalog.SubmitCertification(ctx, e.db, m, certification())
			wantCode(t, "SubmitCertification()", err, souk.ECONFLICT)
		})
		t.Run("reject without reason", func(t *testing.T) {
			_, id := certificationIn(t, catalog.Pending)
			wantCode(t, "RejectCertification()", catalog.RejectCertification(ctx, e.db, e.operator, id, ""), souk.EINVALID)
		})
		t.Run("no such certification", func(t *testing.T) {
			wantCode(t, "ApproveCertification()", catalog.ApproveCertification(ctx, e.db, e.operator, 999999), souk.ENOTFOUND)
		})
	})
}

func TestCertifiedInformationIsLatestApprovedAndMaskedForOthers(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, approvedSeller)
		_, err := catalog.CertifiedInformation(ctx, e.db, m, m.SellerID)
		wantCode(t, "CertifiedInformation() before any", err, souk.ENOTFOUND)

		first := certification()
		id1 := mustValue[int64](t)(catalog.SubmitCertification(ctx, e.db, m, first))
		must(t, catalog.ApproveCertification(ctx, e.db, e.operator, id1))
		second := first
		second.AccountNumber, second.TaxRate = "GB33BUKB20201555555555", 1300
		id2 := mustValue[int64](t)(catalog.SubmitCertification(ctx, e.db, m, second))

		// Pending: the first is still the certified information.
		got := mustValue[catalog.CertificationRecord](t)(catalog.CertifiedInformation(ctx, e.db, m, m.SellerID))
		if got.ID != id1 || got.AccountNumber != "6222021001123456789" {
			t.Fatalf("CertifiedInformation() while the second is pending = %d %s, want %d with the full number", got.ID, got.AccountNumber, id1)
		}
		pending := mustValue[[]catalog.CertificationRecord](t)(catalog.PendingCertifications(ctx, e.db, e.operator))
		if len(pending) != 1 || pending[0].ID != id2 || pending[0].AccountNumber != "******************5555" {
			t.Fatalf("PendingCertifications() = %+v, want %d with the account number masked", pending, id2)
		}
		must(t, catalog.ApproveCertification(ctx, e.db, e.operator, id2))
		got = mustValue[catalog.CertificationRecord](t)(catalog.CertifiedInformation(ctx, e.db, e.operator, m.SellerID))
		if got.ID != id2 || got.TaxRate != 1300 || got.AccountNumber != "******************5555" {
			t.Fatalf("CertifiedInformation() for an operator = %+v, want %d, masked", got, id2)
		}
		full, ok, err := catalog.SettlementInformation(ctx, e.db, m.SellerID)
		if err != nil || !ok || full.AccountNumber != "GB33BUKB20201555555555" {
			t.Fatalf("SettlementInformation() = %+v, %v, %v; want the full account number", full, ok, err)
		}
	})
}

func TestMasked(t *testing.T) {
	tests := []struct{ in, want string }{
		{"6222021001123456789", "***************6789"},
		{"12345678", "****5678"},
		{"1234", "1234"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := (catalog.Certification{AccountNumber: tt.in}).Masked().AccountNumber; got != tt.want {
			t.Errorf("Masked(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCertificationValidation(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, approvedSeller)
		tests := []struct {
			name  string
			edit  func(*catalog.Certification)
			field string
		}{
			{"no holder", func(c *catalog.Certification) { c.AccountHolder = "" }, "accountHolder"},
			{"no bank", func(c *catalog.Certification) { c.Bank = "" }, "bank"},
			{"short account number", func(c *catalog.Certification) { c.AccountNumber = "1234" }, "accountNumber"},
			{"account number with symbols", func(c *catalog.Certification) { c.AccountNumber = "6222/0210/0112" }, "accountNumber"},
			{"no tax registration", func(c *catalog.Certification) { c.TaxRegistration = " " }, "taxRegistration"},
			{"negative tax rate", func(c *catalog.Certification) { c.TaxRate = -1 }, "taxRate"},
			{"tax rate over 100 %", func(c *catalog.Certification) { c.TaxRate = 10001 }, "taxRate"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := certification()
				tt.edit(&c)
				_, err := catalog.SubmitCertification(ctx, e.db, m, c)
				wantCode(t, "SubmitCertification()", err, souk.EINVALID)
				if !strings.HasPrefix(souk.ErrorMessage(err), tt.field+":") {
					t.Errorf("SubmitCertification() = %v, want a message naming %s", err, tt.field)
				}
			})
		}
		for _, rate := range []int{0, 10000} {
			c := certification()
			c.TaxRate = rate
			id := mustValue[int64](t)(catalog.SubmitCertification(ctx, e.db, m, c))
			must(t, catalog.RejectCertification(ctx, e.db, e.operator, id, "test"))
		}
	})
}
