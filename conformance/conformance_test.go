package conformance

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
)

// check runs the checker against url with the test defaults: fast polling,
// everything on.
func check(t *testing.T, url string, mod ...func(*Config)) *Report {
	t.Helper()
	cfg := Config{URL: url, Key: testKey, Kit: true, License: true, PollInterval: 10 * time.Millisecond, PollTimeout: 5 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	rep := Run(context.Background(), cfg)
	if t.Failed() || testing.Verbose() {
		var b strings.Builder
		rep.WriteText(&b)
		t.Log("\n" + b.String())
	}
	return rep
}

// want asserts the status of a case and, for a failure or skip, that its
// detail contains each of details.
func want(t *testing.T, rep *Report, name string, status Status, details ...string) {
	t.Helper()
	r, ok := rep.Result(name)
	if !ok {
		t.Errorf("no case %q in the report", name)
		return
	}
	if r.Status != status {
		t.Errorf("case %q: status %s, want %s (detail: %s)", name, r.Status, status, r.Detail)
		return
	}
	for _, d := range details {
		if !strings.Contains(r.Detail, d) {
			t.Errorf("case %q: detail %q, want it to contain %q", name, r.Detail, d)
		}
	}
}

// wantOnlyFailures asserts that exactly the named cases failed.
func wantOnlyFailures(t *testing.T, rep *Report, names ...string) {
	t.Helper()
	wanted := map[string]bool{}
	for _, n := range names {
		wanted[n] = true
	}
	for _, r := range rep.Results {
		if r.Status == Fail && !wanted[r.Case] {
			t.Errorf("case %q failed unexpectedly: %s", r.Case, r.Detail)
		}
		if r.Status != Fail && wanted[r.Case] {
			t.Errorf("case %q: status %s, want fail", r.Case, r.Status)
		}
	}
}

func TestGoodSellerPassesEverything(t *testing.T) {
	for _, async := range []bool{false, true} {
		name := map[bool]string{false: "sync", true: "async"}[async]
		t.Run(name, func(t *testing.T) {
			url := serve(t, goodSeller(async), testKey)
			var progress []int
			rep := check(t, url, func(c *Config) {
				c.Progress = func(done, total int, r Result) {
					if total != len(Cases(*c)) {
						t.Errorf("progress total %d, want %d", total, len(Cases(*c)))
					}
					progress = append(progress, done)
				}
			})
			if rep.Failed() != 0 || rep.Skipped() != 0 {
				t.Fatalf("good seller: %s, want all passed", rep.Summary())
			}
			if len(rep.Results) < 40 || len(progress) != len(rep.Results) {
				t.Errorf("%d results, %d progress calls: want one each per case, at least 40", len(rep.Results), len(progress))
			}
			for _, r := range rep.Results {
				if r.Group != GroupTransport && (r.Latency <= 0 || r.ResultCode == "") {
					t.Errorf("case %q: latency %s, resultCode %q: want both measured", r.Case, r.Latency, r.ResultCode)
				}
			}
			if async {
				want(t, rep, "newInstance", Pass, "provisioned asynchronously (000004): ready after 2 queryInstance polls")
			} else {
				want(t, rep, "newInstance", Pass, "frontEndUrl https://app.example/inst-1")
			}
			want(t, rep, "HTTP 200 JSON within timeout", Pass, "every answer HTTP 200 application/json")
		})
	}
}

// An asynchronous instance that never becomes ready fails newInstance once
// polling gives up; the cases after it still run on its instanceId.
func TestAsyncNeverReady(t *testing.T) {
	never := newMemSeller(true)
	never.readyAfter = 1 << 30
	url := serve(t, sellerkit.Idempotent(never, sellerkit.NewMemoryStore()), testKey)
	rep := check(t, url, func(c *Config) { c.Kit, c.License, c.PollTimeout = false, false, 100*time.Millisecond })
	want(t, rep, "newInstance", Fail, "answered 000004 with instanceId inst-1 but no appInfo.frontEndUrl yet; not ready after",
		"queryInstance polls in 100ms (last answer: info[].appInfo.frontEndUrl still empty)")
	want(t, rep, "queryInstance", Fail, "info[] entry of instance inst-1 has no appInfo.frontEndUrl: the instance never became ready")
	want(t, rep, "refreshInstance RENEWAL", Pass)
	wantOnlyFailures(t, rep, "newInstance", "queryInstance")
}

func TestSkipOptionalInterfaces(t *testing.T) {
	url := serve(t, goodSeller(false), testKey)
	rep := check(t, url, func(c *Config) {
		c.Kit, c.License = false, false
		c.Skip = []protocol.Activity{protocol.UpgradeInstance, protocol.OrderNotify}
	})
	want(t, rep, "upgradeInstance", Skip, "upgradeInstance is listed in skip")
	want(t, rep, "upgradeInstance repeat", Skip)
	want(t, rep, "orderNotify", Skip)
	want(t, rep, "changeInstanceCheck", Pass)
	if _, ok := rep.Result("tenantSync add"); ok {
		t.Error("kit cases ran without Kit")
	}
	if _, ok := rep.Result("refreshLicenseCode RENEWAL"); ok {
		t.Error("licence cases ran without License")
	}
	if rep.Failed() != 0 {
		t.Errorf("%s, want no failures", rep.Summary())
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Key: "k"}, "no production URL"},
		{Config{URL: "ftp://x", Key: "k"}, "want http:// or https://"},
		{Config{URL: "http://x"}, "no access key"},
		{Config{URL: "http://x", Key: "k", Timeout: 2 * time.Minute}, "at most 1m0s"},
		{Config{URL: "http://x", Key: "k", Skip: []protocol.Activity{"nope"}}, `skip "nope": unknown interface`},
		{Config{URL: "http://x", Key: "k", Skip: []protocol.Activity{protocol.RefreshInstance}}, "refreshInstance: every product must serve it"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	rep := Run(context.Background(), Config{Key: "k"})
	want(t, rep, "config", Fail, "no production URL")
}

// (a) A seller without the Idempotent wrapper makes a new instance on
// every newInstance.
func TestNotIdempotentSeller(t *testing.T) {
	url := serve(t, newMemSeller(false), testKey)
	rep := check(t, url, func(c *Config) { c.Kit, c.License = false, false })
	want(t, rep, "newInstance repeat", Fail,
		"repeat newInstance returned instanceId inst-2, want inst-1 (same orderId+orderLineId must give the same instance, spec §7)")
	want(t, rep, "releaseInstance repeat", Fail,
		"answered 000003 (instance does not exist): instance does not exist, want 000000 (a repeat of a call already applied must succeed unchanged, spec §7)")
	wantOnlyFailures(t, rep, "newInstance repeat", "releaseInstance repeat")
}

// (b) A seller that accepts anything, whatever the signature.
func TestSellerAcceptingAnySignature(t *testing.T) {
	url := serve(t, goodSeller(false), testKey, resign(testKey))
	rep := check(t, url, func(c *Config) { c.License = false })
	want(t, rep, "bad signature", Fail, "bad signature was accepted (answered 000000), want 000001 (authentication failed, spec §2.1)")
	want(t, rep, "stale timestamp", Fail, "a correctly signed call with a timestamp 5 minutes old was accepted")
	want(t, rep, "replayed nonce", Fail, "the replayed call (same nonce and signature, sent again) was accepted")
	want(t, rep, "missing signature", Fail, "a call without signature, timestamp and nonce was accepted")
	want(t, rep, "kit bad signature", Fail, "bad signature was accepted (answered 000000), want 000001 (authentication failed, spec §2.2)")
	want(t, rep, "unknown activity", Pass)
	want(t, rep, "missing field", Pass)
	wantOnlyFailures(t, rep, "bad signature", "stale timestamp", "replayed nonce", "missing signature", "kit bad signature")
}

// (b) A seller configured with another key refuses every call.
func TestSellerWithAnotherKey(t *testing.T) {
	url := serve(t, goodSeller(false), "another-key")
	rep := check(t, url, func(c *Config) { c.Kit, c.License = false, false })
	want(t, rep, "newInstance", Fail, "answered 000001 (authentication failed)", "is the access key the one the seller is configured with?")
	want(t, rep, "queryInstance", Skip, "needs a working newInstance")
	want(t, rep, "releaseInstance", Skip, "needs a working newInstance")
	want(t, rep, "bad signature", Pass)
	// A seller that cannot authenticate anything cannot tell an unknown
	// activity either: the checker says which code it saw.
	want(t, rep, "unknown activity", Fail, "unknown activity noSuchActivity answered 000001 (authentication failed)", "want 000002 (invalid parameter, spec §3, §5)")
}

// (c) A slow seller: a call that outlasts the timeout fails, one that takes
// over half of it passes with a warning.
func TestSlowSeller(t *testing.T) {
	const timeout = 200 * time.Millisecond
	url := serve(t, goodSeller(false), testKey,
		delay(protocol.RefreshInstance, 2*time.Second),
		delay(protocol.OrderNotify, 120*time.Millisecond))
	rep := check(t, url, func(c *Config) { c.Kit, c.License, c.Timeout = false, false, timeout })
	want(t, rep, "refreshInstance RENEWAL", Fail, "no answer within 200ms")
	want(t, rep, "refreshInstance RENEWAL repeat", Skip, "needs a working refreshInstance RENEWAL")
	want(t, rep, "orderNotify", Pass, "slow: answered in", "over half the 200ms timeout")
	want(t, rep, "HTTP 200 JSON within timeout", Fail, "1 of ", "refreshInstance: no answer within 200ms")
	wantOnlyFailures(t, rep, "refreshInstance RENEWAL", "HTTP 200 JSON within timeout")
	if r, _ := rep.Result("refreshInstance RENEWAL"); r.Latency < timeout || r.Latency > time.Second {
		t.Errorf("timed-out call latency %s, want about %s", r.Latency, timeout)
	}
}

// (d) A seller answering with the wrong Content-Type.
func TestWrongContentType(t *testing.T) {
	url := serve(t, goodSeller(false), testKey, contentType("text/html; charset=utf-8"))
	rep := check(t, url, func(c *Config) { c.Kit, c.License = false, false })
	want(t, rep, "newInstance", Fail, `Content-Type "text/html; charset=utf-8", want application/json`)
	want(t, rep, "newInstance repeat", Skip, "needs a working newInstance")
	want(t, rep, "orderNotify", Fail, `Content-Type "text/html; charset=utf-8", want application/json`)
	want(t, rep, "HTTP 200 JSON within timeout", Fail, "broke spec §1", "Content-Type")
}

// (e) A seller that answers HTTP 500 on release.
func TestReleaseAnswers500(t *testing.T) {
	url := serve(t, goodSeller(false), testKey, onActivity(protocol.ReleaseInstance, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"resultCode":"000005","resultMsg":"boom"}`))
	}))
	rep := check(t, url, func(c *Config) { c.Kit, c.License = false, false })
	want(t, rep, "releaseInstance", Fail, "HTTP 500, want 200")
	want(t, rep, "releaseInstance repeat", Skip, "needs a working releaseInstance")
	want(t, rep, "HTTP 200 JSON within timeout", Fail, "releaseInstance: HTTP 500, want 200")
	wantOnlyFailures(t, rep, "releaseInstance", "HTTP 200 JSON within timeout")
}

// (f) A kit seller whose repeated deletes answer 000003.
func TestKitRepeatedDeleteFails(t *testing.T) {
	url := serve(t, newKitNotIdempotent(), testKey)
	rep := check(t, url, func(c *Config) { c.License = false })
	const gone = "answered 000003 (instance does not exist): instance does not exist, want 000000 (a repeated delete must succeed, spec §7)"
	failing := []string{"authSync delete repeat", "singleOrgSync delete repeat", "applicationSync delete repeat", "tenantSync delete repeat"}
	for _, name := range failing {
		want(t, rep, name, Fail, gone)
	}
	want(t, rep, "singleOrgSync delete never added", Fail, "want 000000 (a delete must not fail because the thing is already gone, spec §7)")
	want(t, rep, "tenantSync add repeat", Pass)
	want(t, rep, "singleOrgSync delete", Pass)
	wantOnlyFailures(t, rep, append(failing, "singleOrgSync delete never added")...)
}

func TestInterruptedRunSkipsTheRest(t *testing.T) {
	url := serve(t, goodSeller(false), testKey)
	ctx, cancel := context.WithCancel(context.Background())
	rep := Run(ctx, Config{URL: url, Key: testKey, Progress: func(done, _ int, _ Result) {
		if done == 2 {
			cancel()
		}
	}})
	want(t, rep, "newInstance repeat", Pass)
	want(t, rep, "queryInstance", Skip, "check interrupted: context canceled")
}
