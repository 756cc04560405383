package catalog_test

import (
	"bytes"
	"encoding/hex"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
)

var accessKeyRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestAccessKeyIsShownOnceAndStoredEncrypted(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, certifiedSeller)
		np := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, m, product()))
		if !accessKeyRE.MatchString(np.AccessKey) {
			t.Fatalf("CreateProduct().AccessKey = %q, want 32 bytes in hex", np.AccessKey)
		}
		raw, _ := hex.DecodeString(np.AccessKey)

		// Nothing the database holds about the product contains the key.
		must(t, catalog.SubmitApplication(ctx, e.db, e.set, m, np.ApplicationID))
		must(t, catalog.ApproveApplication(ctx, e.db, e.operator, np.ApplicationID))
		var stored []byte
		var listed, snapshot string
		must(t, e.db.SQL().QueryRow(`SELECT access_key, listed FROM catalog_products WHERE id = $1`, np.ProductID).Scan(&stored, &listed))
		must(t, e.db.SQL().QueryRow(`SELECT snapshot FROM catalog_applications WHERE id = $1`, np.ApplicationID).Scan(&snapshot))
		for what, b := range map[string][]byte{"access_key": stored, "snapshot": []byte(snapshot), "listed": []byte(listed)} {
			if bytes.Contains(b, []byte(np.AccessKey)) || bytes.Contains(b, raw) {
				t.Errorf("column %s contains the access key", what)
			}
		}
		if len(stored) == 0 {
			t.Fatalf("access_key column is empty")
		}

		// No read returns it: only AccessKeys, for the marketplace itself.
		v := mustValue[catalog.ProductView](t)(catalog.GetProduct(ctx, e.db, m, np.ProductID))
		if s := fmtAll(t, v); bytes.Contains([]byte(s), []byte(np.AccessKey)) {
			t.Errorf("GetProduct() shows the access key")
		}
		keys := mustValue[[]string](t)(catalog.AccessKeys(ctx, e.db, e.set, np.ProductID))
		if !slices.Equal(keys, []string{np.AccessKey}) {
			t.Fatalf("AccessKeys() = %v, want [%s]", keys, np.AccessKey)
		}

		// Another marketplace key cannot read it.
		other, _ := catalog.NewKeyring(bytes.Repeat([]byte{8}, 32))
		if _, err := catalog.AccessKeys(ctx, e.db, catalog.Settings{Keys: other}, np.ProductID); err == nil {
			t.Fatalf("AccessKeys() under another marketplace key succeeded")
		}
		// A ciphertext moved to another product does not decrypt there.
		np2 := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, m, product()))
		_, err := e.db.SQL().Exec(`UPDATE catalog_products SET access_key = $1 WHERE id = $2`, stored, np2.ProductID)
		must(t, err)
		if _, err := catalog.AccessKeys(ctx, e.db, e.set, np2.ProductID); err == nil {
			t.Fatalf("AccessKeys() of a product holding another's ciphertext succeeded")
		}
		_, err = catalog.AccessKeys(ctx, e.db, e.set, "p-none")
		wantCode(t, "AccessKeys(no such product)", err, souk.ENOTFOUND)
	})
}

func TestRotateAccessKeyKeepsTheOldOneForTheGracePeriod(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, certifiedSeller)
		np := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, m, product()))
		old := np.AccessKey
		e.clock.Advance(time.Hour)
		fresh := mustValue[string](t)(catalog.RotateAccessKey(ctx, e.db, e.set, m, np.ProductID))
		if !accessKeyRE.MatchString(fresh) || fresh == old {
			t.Fatalf("RotateAccessKey() = %q, want a new key (old %q)", fresh, old)
		}
		tests := []struct {
			after time.Duration
			want  []string
		}{
			{0, []string{fresh, old}},
			{24*time.Hour - time.Millisecond, []string{fresh, old}},
			{24 * time.Hour, []string{fresh}},
		}
		rotated := e.clock.Now()
		for _, tt := range tests {
			e.clock.Set(rotated.Add(tt.after))
			got := mustValue[[]string](t)(catalog.AccessKeys(ctx, e.db, e.set, np.ProductID))
			if !slices.Equal(got, tt.want) {
				t.Errorf("AccessKeys() %v after rotation = %v, want %v", tt.after, got, tt.want)
			}
		}

		// A second rotation ends the first one's grace at once.
		newest := mustValue[string](t)(catalog.RotateAccessKey(ctx, e.db, e.set, m, np.ProductID))
		got := mustValue[[]string](t)(catalog.AccessKeys(ctx, e.db, e.set, np.ProductID))
		if !slices.Equal(got, []string{newest, fresh}) {
			t.Fatalf("AccessKeys() after a second rotation = %v, want [%s %s]", got, newest, fresh)
		}

		short := e.set
		short.AccessKeyGrace = time.Minute
		e.clock.Advance(time.Minute)
		if got := mustValue[[]string](t)(catalog.AccessKeys(ctx, e.db, short, np.ProductID)); !slices.Equal(got, []string{newest}) {
			t.Fatalf("AccessKeys() with a one-minute grace, a minute later = %v, want [%s]", got, newest)
		}
	})
}

func TestNewKeyringWantsA256BitKey(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := catalog.NewKeyring(make([]byte, n)); err == nil {
			t.Errorf("NewKeyring(%d bytes) = nil error, want one", n)
		}
	}
}
