package protocol_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/souk-market/souk/protocol"
)

var benchBody = []byte(`{"activity":"newInstance","testFlag":"0","businessId":"biz-1","orderId":"CS2601010000A","orderLineId":"CS2601010000A-000001"}`)

func BenchmarkSignQuery(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	for b.Loop() {
		protocol.SignQuery("seller-access-key", "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "1700000000000", benchBody)
	}
}

func BenchmarkSignKit(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	for b.Loop() {
		protocol.SignKit("seller-access-key", "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "1700000000000", benchBody)
	}
}

// BenchmarkVerifyQuery authenticates a fresh call per iteration, as a seller
// does: signature check and a new nonce in the replay cache.
func BenchmarkVerifyQuery(b *testing.B) {
	clock := &testClock{epoch}
	v := protocol.NewVerifier(protocol.Default, clock.Now, "seller-access-key")
	ts := protocol.Timestamp(epoch)
	// Calls are signed up front, so only the verification is measured.
	const distinct = 1 << 16
	calls := make([]url.Values, distinct)
	for i := range calls {
		nonce := fmt.Sprintf("%032x", i)
		calls[i] = url.Values{
			protocol.ParamSignature: {protocol.SignQuery("seller-access-key", nonce, ts, benchBody)},
			protocol.ParamTimestamp: {ts},
			protocol.ParamNonce:     {nonce},
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i > 0 && i%distinct == 0 {
			// Every nonce once per verifier: start afresh.
			b.StopTimer()
			v = protocol.NewVerifier(protocol.Default, clock.Now, "seller-access-key")
			b.StartTimer()
		}
		if err := v.VerifyQuery(calls[i%distinct], benchBody); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkEncode(b *testing.B) {
	req := &protocol.NewInstanceRequest{BusinessID: "biz-1", OrderID: "CS2601010000A", OrderLineID: "CS2601010000A-000001"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := protocol.Encode(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBasic(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	for b.Loop() {
		if _, err := protocol.DecodeBasic(benchBody); err != nil {
			b.Fatal(err)
		}
	}
}
