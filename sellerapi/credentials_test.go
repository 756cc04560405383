package sellerapi_test

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/sellerapi"
)

func TestCredentials(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		keys := e.set.Keys
		_, err := sellerapi.CreateCredential(ctx, e.db, keys, e.buyer(t, 0), "x")
		wantCode(t, "CreateCredential(buyer)", err, souk.EUNAUTHORIZED)
		_, err = sellerapi.CreateCredential(ctx, e.db, keys, souk.Actor{}, "x")
		wantCode(t, "CreateCredential(anonymous)", err, souk.EUNAUTHENTICATED)
		_, err = sellerapi.ListCredentials(ctx, e.db, souk.Actor{UserID: "op", Role: souk.RoleOperator})
		wantCode(t, "ListCredentials(operator)", err, souk.EUNAUTHORIZED)
		_, err = sellerapi.CreateCredential(ctx, e.db, keys, e.seller, string(bytes.Repeat([]byte("n"), sellerapi.MaxNameLength+1)))
		wantCode(t, "CreateCredential(long name)", err, souk.EINVALID)
		if _, err := sellerapi.CreateCredential(ctx, e.db, nil, e.seller, "x"); err == nil || souk.ErrorCode(err) != souk.EINTERNAL {
			t.Fatalf("CreateCredential without keys = %v, want an internal error", err)
		}

		e.clock.Advance(time.Second)
		second, err := sellerapi.CreateCredential(ctx, e.db, keys, e.seller, "billing job")
		must(t, err)
		if second.Secret == "" || second.Secret == e.cred.Secret || second.KeyID == e.cred.KeyID || len(second.Secret) < 40 {
			t.Fatalf("new credential = %+v", second)
		}
		// The secret is sealed at rest.
		var sealed []byte
		must(t, e.db.SQL().QueryRow(`SELECT secret FROM sellerapi_credentials WHERE key_id = $1`, second.KeyID).Scan(&sealed))
		if bytes.Contains(sealed, []byte(second.Secret)) {
			t.Fatal("the secret is stored in clear")
		}
		cs, err := sellerapi.ListCredentials(ctx, e.db, e.seller)
		must(t, err)
		if len(cs) != 2 || cs[0].KeyID != second.KeyID || cs[0].Name != "billing job" || cs[1].KeyID != e.cred.KeyID || cs[0].Revoked() {
			t.Fatalf("ListCredentials = %+v, want the new one first", cs)
		}

		other := e.newSeller(t)
		if cs, err := sellerapi.ListCredentials(ctx, e.db, other); err != nil || len(cs) != 0 {
			t.Fatalf("ListCredentials(another seller) = %+v, %v, want none", cs, err)
		}
		wantCode(t, "RevokeCredential(another seller)", sellerapi.RevokeCredential(ctx, e.db, other, second.KeyID), souk.ENOTFOUND)
		wantCode(t, "RevokeCredential(unknown)", sellerapi.RevokeCredential(ctx, e.db, e.seller, "sk_nope"), souk.ENOTFOUND)
		must(t, sellerapi.RevokeCredential(ctx, e.db, e.seller, second.KeyID))
		must(t, sellerapi.RevokeCredential(ctx, e.db, e.seller, second.KeyID)) // again: nothing changes
		cs, err = sellerapi.ListCredentials(ctx, e.db, e.seller)
		must(t, err)
		if !cs[0].Revoked() || cs[0].RevokedBy != e.seller.UserID || cs[1].Revoked() {
			t.Fatalf("after revocation: %+v", cs)
		}

		// At most MaxCredentials valid at once; a revoked one makes room.
		for range sellerapi.MaxCredentials - 1 {
			_, err := sellerapi.CreateCredential(ctx, e.db, keys, e.seller, "more")
			must(t, err)
		}
		_, err = sellerapi.CreateCredential(ctx, e.db, keys, e.seller, "one too many")
		wantCode(t, "CreateCredential beyond the limit", err, souk.ECONFLICT)
		must(t, sellerapi.RevokeCredential(ctx, e.db, e.seller, e.cred.KeyID))
		_, err = sellerapi.CreateCredential(ctx, e.db, keys, e.seller, "room again")
		must(t, err)
	})
}

// Created at once, a seller's credentials still stop at MaxCredentials.
func TestCredentialLimitHoldsAtOnce(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		var wg sync.WaitGroup
		for range sellerapi.MaxCredentials + 6 {
			wg.Go(func() {
				_, err := sellerapi.CreateCredential(ctx, e.db, e.set.Keys, e.seller, "burst")
				if err != nil && souk.ErrorCode(err) != souk.ECONFLICT {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		list, err := sellerapi.ListCredentials(ctx, e.db, e.seller)
		must(t, err)
		if len(list) != sellerapi.MaxCredentials {
			t.Fatalf("%d credentials, want the limit %d", len(list), sellerapi.MaxCredentials)
		}
	})
}
