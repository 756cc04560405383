package sellerapi_test

import (
	"testing"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/sellerapi"
	"github.com/souk-market/souk/usage"
)

// FuzzParseUsage: whatever the body, ParseUsage never panics, refuses
// with EINVALID only, and what it accepts is within the rules.
func FuzzParseUsage(f *testing.F) {
	for _, seed := range []string{
		`{"usage_records":[{"instance_id":"ins-1","metering_sn":"sn-1","usage_value":"1.5","begin_time":"20261201T080000Z","end_time":"20261201T090000Z"}]}`,
		`{"usage_records":[{"instance_id":"ins-1","metering_sn":"sn-1","usage_value":2.5,"begin_time":"20261201080000","end_time":"20261201090000","record_time":"20261201T091000Z"}]}`,
		`{"usage_records":[{"instance_id":"ins-1","metering_sn":"sn-1","usage_value":"1.00001","begin_time":"20261201T080000Z","end_time":"20261201T090000Z"}]}`,
		`{"usage_records":[{"instance_id":"ins-1","metering_sn":"sn-1","usage_value":-1,"begin_time":"20261201T080000Z","end_time":"20261201T090000Z"}]}`,
		`{"usage_records":[{"usage_value":1e400}]}`,
		`{"usage_records":[]}`,
		`{"usage_records":null}`,
		`{"usage_records":[{"usage_value":"99999999.9999"},{}]}`,
		`[]`, ``, `{`, `{"usage_records":[{"usage_value":"\u0031"}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, err := sellerapi.ParseUsage(body)
		if err != nil {
			if souk.ErrorCode(err) != souk.EINVALID {
				t.Fatalf("ParseUsage(%q) = %v, want EINVALID", body, err)
			}
			return
		}
		if len(recs) == 0 || len(recs) > usage.MaxRecords {
			t.Fatalf("ParseUsage(%q) = %d records", body, len(recs))
		}
		for _, r := range recs {
			if r.Quantity <= 0 || r.Quantity > usage.MaxQuantity || r.Begin.IsZero() || r.End.IsZero() {
				t.Fatalf("ParseUsage(%q) accepted %+v", body, r)
			}
		}
	})
}
