package sellerapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk/api"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerapi"
	"github.com/souk-market/souk/sellerkit"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/usage"
)

// call is one raw open API request.
type call struct {
	method, path string
	body         []byte
	// sign signs signBody instead of body when set (a tampered body).
	signBody []byte
	key      string
	secret   string
	ts       string
	nonce    string
	// drop names a header to leave out.
	drop string
}

// answer is an open API answer, decoded loosely.
type answer struct {
	status int
	code   protocol.Code
	msg    string
	raw    []byte
}

// do sends c signed as it says: by default with e's credential, the
// marketplace's time and a new nonce.
func (e *env) do(t *testing.T, c call) answer {
	t.Helper()
	if c.key == "" {
		c.key = e.cred.KeyID
	}
	if c.secret == "" {
		c.secret = e.cred.Secret
	}
	if c.ts == "" {
		c.ts = strconv.FormatInt(e.clock.Now().UnixMilli(), 10)
	}
	if c.nonce == "" {
		c.nonce = protocol.Default.NewNonce()
	}
	signed := c.body
	if c.signBody != nil {
		signed = c.signBody
	}
	req, err := http.NewRequest(c.method, e.url+c.path, bytes.NewReader(c.body))
	must(t, err)
	for name, v := range map[string]string{sellerkit.HeaderOpenAPIKey: c.key, sellerkit.HeaderOpenAPITS: c.ts,
		sellerkit.HeaderOpenAPINonce: c.nonce, sellerkit.HeaderOpenAPISign: protocol.SignOpenAPI(c.secret, c.nonce, c.ts, signed)} {
		if name != c.drop {
			req.Header.Set(name, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	must(t, err)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q, want JSON", c.method, c.path, ct)
	}
	var r sellerkit.OpenAPIResult
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%s %s: %v: %s", c.method, c.path, err, raw)
	}
	return answer{status: resp.StatusCode, code: r.ResultCode, msg: r.ResultMsg, raw: raw}
}

func (a answer) want(t *testing.T, what string, status int, code protocol.Code) {
	t.Helper()
	if a.status != status || a.code != code {
		t.Fatalf("%s = %d %s %q, want %d %s", what, a.status, a.code, a.msg, status, code)
	}
}

// orderOf returns the order that created instance id.
func (e *env) orderOf(t *testing.T, id string) string {
	t.Helper()
	var o string
	must(t, e.db.SQL().QueryRow(`SELECT order_id FROM order_instances WHERE id = $1`, id).Scan(&o))
	return o
}

func TestAuthentication(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		inst := e.bought(t, e.buyer(t, 0), e.product, "meter", "seller-ins-1")
		path := sellerkit.PathOrderQuery + "?orderId=" + e.orderOf(t, inst)
		get := func(c call) call { c.method, c.path = "GET", path; return c }
		now := e.clock.Now()
		ms := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).UnixMilli(), 10) }

		e.do(t, get(call{})).want(t, "a signed query", 200, sellerkit.OpenAPISuccess)
		e.do(t, get(call{ts: ms(59 * time.Second)})).want(t, "ts 59 s ahead", 200, sellerkit.OpenAPISuccess)
		e.do(t, get(call{ts: ms(-59 * time.Second)})).want(t, "ts 59 s behind", 200, sellerkit.OpenAPISuccess)

		other := e.newSeller(t)
		otherCred, err := sellerapi.CreateCredential(ctx, e.db, e.set.Keys, other, "other")
		must(t, err)
		revoked, err := sellerapi.CreateCredential(ctx, e.db, e.set.Keys, e.seller, "old")
		must(t, err)
		must(t, sellerapi.RevokeCredential(ctx, e.db, e.seller, revoked.KeyID))

		for name, c := range map[string]call{
			"a wrong secret":       {secret: "not-the-secret"},
			"another key's secret": {key: e.cred.KeyID, secret: otherCred.Secret},
			"an unknown key":       {key: "sk_nobody", secret: e.cred.Secret},
			"a revoked key":        {key: revoked.KeyID, secret: revoked.Secret},
			"a stale ts":           {ts: ms(-61 * time.Second)},
			"a ts from the future": {ts: ms(61 * time.Second)},
			"a ts in seconds":      {ts: strconv.FormatInt(now.Unix(), 10)},
			"a ts that is no time": {ts: "yesterday...."},
			"no key header":        {drop: sellerkit.HeaderOpenAPIKey},
			"no ts":                {drop: sellerkit.HeaderOpenAPITS},
			"no nonce":             {drop: sellerkit.HeaderOpenAPINonce},
			"no signature":         {drop: sellerkit.HeaderOpenAPISign},
			"a nonce too long":     {nonce: strings.Repeat("n", 65)},
			"a signed other body":  {signBody: []byte(`{}`)},
		} {
			a := e.do(t, get(c))
			a.want(t, name, http.StatusUnauthorized, sellerkit.OpenAPIAuthFailed)
			if !strings.Contains(a.msg, "Authentication failed") {
				t.Errorf("%s: message %q does not say why", name, a.msg)
			}
		}

		// A replayed call is refused, and the nonce is the key's: another
		// key may use the same one.
		nonce := protocol.Default.NewNonce()
		e.do(t, get(call{nonce: nonce})).want(t, "a first call", 200, sellerkit.OpenAPISuccess)
		e.do(t, get(call{nonce: nonce})).want(t, "its replay", http.StatusUnauthorized, sellerkit.OpenAPIAuthFailed)
		e.do(t, get(call{nonce: nonce, key: otherCred.KeyID, secret: otherCred.Secret})).
			want(t, "another seller's key for the order", http.StatusNotFound, sellerkit.OpenAPINotFound)

		// A refused call does not burn its nonce.
		nonce = protocol.Default.NewNonce()
		e.do(t, get(call{nonce: nonce, secret: "wrong"})).want(t, "a forged call", http.StatusUnauthorized, sellerkit.OpenAPIAuthFailed)
		e.do(t, get(call{nonce: nonce})).want(t, "the genuine call with its nonce", 200, sellerkit.OpenAPISuccess)

		// Revocation takes effect on the next call.
		fresh, err := sellerapi.CreateCredential(ctx, e.db, e.set.Keys, e.seller, "fresh")
		must(t, err)
		e.do(t, get(call{key: fresh.KeyID, secret: fresh.Secret})).want(t, "a fresh key", 200, sellerkit.OpenAPISuccess)
		must(t, sellerapi.RevokeCredential(ctx, e.db, e.seller, fresh.KeyID))
		e.do(t, get(call{key: fresh.KeyID, secret: fresh.Secret})).want(t, "the key revoked", http.StatusUnauthorized, sellerkit.OpenAPIAuthFailed)

		// Wrong method, unknown path.
		a := e.do(t, call{method: "POST", path: sellerkit.PathOrderQuery})
		a.want(t, "POST order/query", http.StatusMethodNotAllowed, sellerkit.OpenAPIInvalidParam)
	})
}

func TestOrderQuery(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		meter := e.bought(t, b, e.product, "meter", "seller-ins-1")
		basic := e.bought(t, b, e.product, "basic", "seller-ins-2")
		lic, err := order.Purchase(ctx, e.db, noCalls{}, b, order.PurchaseRequest{ProductID: e.licence, SpecCode: "seat", Quantity: 2, Periods: 3})
		must(t, err)
		c := e.client(e.cred)

		info, err := c.QueryOrder(ctx, e.orderOf(t, meter), "")
		must(t, err)
		if info.OrderType != "NEW" || info.CreateTime != protocol.FormatTime(t0) || info.BuyerInfo.CustomerID != b.UserID || len(info.OrderLine) != 1 {
			t.Fatalf("order = %+v", info)
		}
		l := info.OrderLine[0]
		if l.ChargingMode != "ON_DEMAND" || l.ProductID != e.product || l.SKUCode != "meter" || l.ExpireTime != "" || l.InstanceID != "seller-ins-1" ||
			l.PeriodType != "" || l.Amount != 0 || l.Currency != "CNY" {
			t.Fatalf("ON_DEMAND line = %+v", l)
		}

		info, err = c.QueryOrder(ctx, e.orderOf(t, basic), "")
		must(t, err)
		l = info.OrderLine[0]
		if l.ChargingMode != "PERIOD" || l.PeriodType != "month" || l.PeriodNum != 1 || l.ExpireTime != protocol.FormatTime(t0.AddDate(0, 1, 0)) ||
			l.Amount != 9900 || l.LinearValue != 0 {
			t.Fatalf("PERIOD line = %+v", l)
		}
		// By its line too.
		if info, err = c.QueryOrder(ctx, e.orderOf(t, basic), l.OrderLineID); err != nil || len(info.OrderLine) != 1 {
			t.Fatalf("QueryOrder(line) = %+v, %v", info, err)
		}

		info, err = c.QueryOrder(ctx, lic.ID, "")
		must(t, err)
		l = info.OrderLine[0]
		if l.ChargingMode != "PERIOD" || l.LinearValue != 2 || l.PeriodNum != 3 || l.Amount != 30000 || l.ProductID != e.licence {
			t.Fatalf("licence line = %+v", l)
		}

		var oe *sellerkit.OpenAPIError
		for name, q := range map[string][2]string{
			"an unknown order":       {"ord-nope", ""},
			"an unknown line":        {e.orderOf(t, basic), "line-nope"},
			"another order's line":   {e.orderOf(t, meter), l.OrderLineID},
			"another seller's order": {},
		} {
			if name == "another seller's order" {
				other := e.newSeller(t)
				otherInst := e.bought(t, b, e.newProduct(t, other), "meter", "x")
				q = [2]string{e.orderOf(t, otherInst), ""}
			}
			_, err := c.QueryOrder(ctx, q[0], q[1])
			if !errors.As(err, &oe) || oe.Status != http.StatusNotFound || oe.Code != sellerkit.OpenAPINotFound {
				t.Errorf("QueryOrder(%s) = %v, want 404 000003", name, err)
			}
		}
		// Another seller's key for this seller's order: not found either.
		other := e.newSeller(t)
		otherCred, err := sellerapi.CreateCredential(ctx, e.db, e.set.Keys, other, "other")
		must(t, err)
		if _, err := e.client(otherCred).QueryOrder(ctx, e.orderOf(t, meter), ""); !errors.As(err, &oe) || oe.Code != sellerkit.OpenAPINotFound {
			t.Fatalf("QueryOrder with another seller's key = %v, want 000003", err)
		}
		e.do(t, call{method: "GET", path: sellerkit.PathOrderQuery}).want(t, "no orderId", http.StatusBadRequest, sellerkit.OpenAPIInvalidParam)
	})
}

// usageBody is a push of records, each {instance, sn, value}; value is
// written into the JSON as it is (a string needs its quotes).
func usageBody(end time.Time, recs ...[3]string) []byte {
	var b strings.Builder
	b.WriteString(`{"usage_records":[`)
	for i, r := range recs {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"instance_id":%q,"metering_sn":%q,"usage_value":%s,"begin_time":%q,"end_time":%q,"record_time":%q}`,
			r[0], r[1], r[2], sellerkit.FormatUsageTime(end.Add(-time.Hour)), sellerkit.FormatUsageTime(end), sellerkit.FormatUsageTime(end))
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func TestUsageData(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		b := e.buyer(t, 200000)
		inst := e.bought(t, b, e.product, "meter", "seller-ins-1")
		e.clock.Advance(2 * time.Hour)
		end := e.clock.Now().Truncate(time.Second)
		push := func(body []byte) answer {
			return e.do(t, call{method: "POST", path: sellerkit.PathUsageData, body: body})
		}
		stored := func() int { return e.count(t, "usage_records") }

		// New records: as a string, as a number, by the marketplace's id.
		a := push(usageBody(end, [3]string{"seller-ins-1", "sn-1", `"1.5"`}, [3]string{"seller-ins-1", "sn-2", `2.5`}, [3]string{inst, "sn-3", `"0.0001"`}))
		a.want(t, "a push", 200, sellerkit.OpenAPISuccess)
		var res sellerkit.UsagePushResponse
		must(t, json.Unmarshal(a.raw, &res))
		if res.Accepted != 3 || res.Duplicates != 0 || len(res.Records) != 3 || res.Records[1].Status != sellerkit.UsageNew || res.Records[1].MeteringSN != "sn-2" {
			t.Fatalf("push = %s", a.raw)
		}
		var charged int64
		must(t, e.db.SQL().QueryRow(`SELECT sum(charge) FROM usage_records`).Scan(&charged))
		if charged != 225+375+0 {
			t.Fatalf("charges = %d, want 225 + 375 + 0", charged)
		}

		// The same again, through the client: duplicates, not counted.
		res2, err := e.client(e.cred).PushUsage(ctx, []sellerkit.UsageRecord{
			{InstanceID: "seller-ins-1", MeteringSN: "sn-1", UsageValue: "1.5", BeginTime: sellerkit.FormatUsageTime(end.Add(-time.Hour)), EndTime: sellerkit.FormatUsageTime(end)},
			{InstanceID: "seller-ins-1", MeteringSN: "sn-4", UsageValue: "1", BeginTime: sellerkit.FormatUsageTime(end.Add(-time.Hour)), EndTime: sellerkit.FormatUsageTime(end)},
		})
		must(t, err)
		if res2.Accepted != 1 || res2.Duplicates != 1 || res2.Records[0].Status != sellerkit.UsageDuplicate || res2.Records[1].Status != sellerkit.UsageNew {
			t.Fatalf("repeat push = %+v", res2)
		}
		if n := stored(); n != 4 {
			t.Fatalf("%d records stored, want 4", n)
		}

		// Refused batches store nothing; the message names the record.
		other := e.newSeller(t)
		otherInst := e.bought(t, e.buyer(t, 0), e.newProduct(t, other), "meter", "other-ins")
		ok := [3]string{"seller-ins-1", "sn-ok", `"1"`}
		for name, body := range map[string][]byte{
			"another seller's instance":  usageBody(end, ok, [3]string{otherInst, "sn-x", `"1"`}),
			"another seller's seller id": usageBody(end, ok, [3]string{"other-ins", "sn-x", `"1"`}),
			"a value of 0":               usageBody(end, ok, [3]string{"seller-ins-1", "sn-x", `"0"`}),
			"a number 0":                 usageBody(end, ok, [3]string{"seller-ins-1", "sn-x", `0`}),
			"a negative value":           usageBody(end, ok, [3]string{"seller-ins-1", "sn-x", `"-1"`}),
			"a negative number":          usageBody(end, ok, [3]string{"seller-ins-1", "sn-x", `-1`}),
			"5 decimals":                 usageBody(end, ok, [3]string{"seller-ins-1", "sn-x", `"1.00001"`}),
			"5 decimals, a number":       usageBody(end, ok, [3]string{"seller-ins-1", "sn-x", `1.00001`}),
			"a huge value":               usageBody(end, ok, [3]string{"seller-ins-1", "sn-x", `"100000000"`}),
			"a huge number":              usageBody(end, ok, [3]string{"seller-ins-1", "sn-x", `1e300`}),
			"a boolean":                  usageBody(end, ok, [3]string{"seller-ins-1", "sn-x", `true`}),
			"no value":                   usageBody(end, ok, [3]string{"seller-ins-1", "sn-x", `null`}),
		} {
			a := push(body)
			a.want(t, "a push with "+name, http.StatusBadRequest, sellerkit.OpenAPIInvalidParam)
			if !strings.Contains(a.msg, "usage_records[1]") && name != "a boolean" && name != "no value" {
				t.Errorf("a push with %s: %q does not name the record", name, a.msg)
			}
		}
		bad := func(name, body string) {
			t.Helper()
			push([]byte(body)).want(t, "a push with "+name, http.StatusBadRequest, sellerkit.OpenAPIInvalidParam)
		}
		bad("a reversed period", `{"usage_records":[{"instance_id":"seller-ins-1","metering_sn":"r","usage_value":"1","begin_time":"`+
			sellerkit.FormatUsageTime(end)+`","end_time":"`+sellerkit.FormatUsageTime(end.Add(-time.Minute))+`"}]}`)
		bad("an end in the future", `{"usage_records":[{"instance_id":"seller-ins-1","metering_sn":"r","usage_value":"1","begin_time":"`+
			sellerkit.FormatUsageTime(end)+`","end_time":"`+sellerkit.FormatUsageTime(end.Add(time.Hour))+`"}]}`)
		bad("a malformed time", `{"usage_records":[{"instance_id":"seller-ins-1","metering_sn":"r","usage_value":"1","begin_time":"2026-12-01","end_time":"20261201T100000Z"}]}`)
		bad("no records", `{"usage_records":[]}`)
		bad("an empty body", ``)
		bad("not JSON", `usage`)
		bad("a list", `[]`)
		bad("two values", `{"usage_records":[]} {}`)
		recs := make([][3]string, sellerkit.MaxUsageRecords+1)
		for i := range recs {
			recs[i] = [3]string{"seller-ins-1", fmt.Sprintf("many-%d", i), `"1"`}
		}
		push(usageBody(end, recs...)).want(t, "a push of 1001 records", http.StatusBadRequest, sellerkit.OpenAPIInvalidParam)
		if n := stored(); n != 4 {
			t.Fatalf("%d records stored after refused pushes, want still 4", n)
		}
		push(bytes.Repeat([]byte(" "), sellerapi.MaxBody+1)).want(t, "a push over 1 MiB", http.StatusRequestEntityTooLarge, sellerkit.OpenAPIInvalidParam)
		push(usageBody(end, recs[:sellerkit.MaxUsageRecords]...)).want(t, "a push of 1000 records", 200, sellerkit.OpenAPISuccess)

		// The charges are billed.
		rep, err := usage.Bill(ctx, e.db, e.clock.Now())
		must(t, err)
		if rep.Billed != 1004 || rep.Owed != 0 {
			t.Fatalf("Bill = %+v", rep)
		}
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 200000-225-375-0-150-1000*150 {
			t.Fatalf("balance = %d", got)
		}
	})
}

func TestLicenseActivate(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		o, err := order.Purchase(ctx, e.db, noCalls{}, b, order.PurchaseRequest{ProductID: e.licence, SpecCode: "seat", Quantity: 2})
		must(t, err)
		codes, err := order.Licenses(ctx, e.db, b, o.Lines[0].InstanceID)
		must(t, err)
		activate := func(body string) answer {
			return e.do(t, call{method: "POST", path: sellerkit.PathLicenseActivate, body: []byte(body)})
		}
		activate(`{"license":"`+strings.ToLower(codes[0].Code)+`"}`).want(t, "activate", 200, sellerkit.LicenseActivated)
		activate(`{"license":"`+codes[0].Code+`"}`).want(t, "activate again", http.StatusConflict, sellerkit.LicenseIllegalState)
		activate(`{"license":"NOPE-NOPE"}`).want(t, "activate an unknown code", http.StatusNotFound, sellerkit.LicenseNotFound)
		activate(`{"license":""}`).want(t, "activate no code", http.StatusBadRequest, sellerkit.LicenseInvalidRequest)
		activate(`nonsense`).want(t, "activate with no JSON", http.StatusBadRequest, sellerkit.LicenseInvalidRequest)
		activate(`{"license":"`+codes[1].Code+`","real_effect_time":"2026-12-01"}`).want(t, "a malformed effect time", http.StatusBadRequest, sellerkit.LicenseInvalidRequest)

		other := e.newSeller(t)
		otherCred, err := sellerapi.CreateCredential(ctx, e.db, e.set.Keys, other, "other")
		must(t, err)
		var oe *sellerkit.OpenAPIError
		if err := e.client(otherCred).ActivateLicense(ctx, codes[1].Code, time.Time{}); !errors.As(err, &oe) || oe.Code != sellerkit.LicenseNotFound {
			t.Fatalf("ActivateLicense with another seller's key = %v, want 92020001", err)
		}
		effect := t0.Add(-time.Hour)
		must(t, e.client(e.cred).ActivateLicense(ctx, codes[1].Code, effect))
		if err := e.client(e.cred).ActivateLicense(ctx, codes[1].Code, effect); !errors.As(err, &oe) || oe.Code != sellerkit.LicenseIllegalState || oe.Status != http.StatusConflict {
			t.Fatalf("ActivateLicense again = %v, want 409 92020003", err)
		}
		codes, err = order.Licenses(ctx, e.db, b, o.Lines[0].InstanceID)
		must(t, err)
		for _, c := range codes {
			if c.State != order.LicenseActivated {
				t.Fatalf("code %s is %s, want activated", c.Code, c.State)
			}
		}
		if !codes[1].EffectiveAt.Equal(effect) && !codes[0].EffectiveAt.Equal(effect) {
			t.Fatalf("codes = %+v, want one effective at %s", codes, effect)
		}
	})
}

// TestMountedInAPI: the JSON API serves the open API at its paths, by its
// own authentication (a stray Authorization header is not a log-in).
func TestMountedInAPI(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		inst := e.bought(t, e.buyer(t, 0), e.product, "meter", "seller-ins-1")
		srv := httptest.NewServer(api.New(api.Config{DB: e.db, Catalog: e.set}).Handler())
		defer srv.Close()
		c := e.client(e.cred)
		c.BaseURL = srv.URL
		info, err := c.QueryOrder(ctx, e.orderOf(t, inst), "")
		if err != nil || info.OrderLine[0].InstanceID != "seller-ins-1" {
			t.Fatalf("QueryOrder through the API = %+v, %v", info, err)
		}
		c.Secret = "wrong"
		var oe *sellerkit.OpenAPIError
		if _, err := c.QueryOrder(ctx, e.orderOf(t, inst), ""); !errors.As(err, &oe) || oe.Status != http.StatusUnauthorized {
			t.Fatalf("QueryOrder with a wrong secret through the API = %v, want 401", err)
		}
		req, _ := http.NewRequest("POST", srv.URL+sellerkit.PathUsageData, strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer nonsense")
		req.Header.Set("Origin", "https://evil.example")
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("an unsigned push with a bearer token = %s, want 401", resp.Status)
		}
	})
}
