package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/souk-market/souk/conformance"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
)

const checkTestKey = "check-test-key"

// checkTestSeller is the smallest seller: a new instance id on every
// newInstance (so it needs sellerkit.Idempotent), no upgradeInstance, no
// licence interfaces, kit syncs that accept everything but a clientSecret
// its private key cannot decrypt.
type checkTestSeller struct {
	sellerkit.Unimplemented
	n    atomic.Int64
	priv *rsa.PrivateKey
}

func checkAppInfo(id string) *protocol.AppInfo {
	return &protocol.AppInfo{FrontEndURL: "https://app.example/" + id}
}

func (s *checkTestSeller) NewInstance(context.Context, *protocol.NewInstanceRequest) (*sellerkit.Instance, error) {
	id := fmt.Sprintf("inst-%d", s.n.Add(1))
	return &sellerkit.Instance{ID: id, AppInfo: checkAppInfo(id)}, nil
}
func (s *checkTestSeller) QueryInstance(_ context.Context, req *protocol.QueryInstanceRequest) ([]protocol.InstanceInfo, error) {
	return []protocol.InstanceInfo{{InstanceID: req.InstanceID, AppInfo: checkAppInfo(req.InstanceID)}}, nil
}
func (s *checkTestSeller) RefreshInstance(context.Context, *protocol.RefreshInstanceRequest) error {
	return nil
}
func (s *checkTestSeller) UpdateInstanceStatus(context.Context, *protocol.UpdateInstanceStatusRequest) error {
	return nil
}
func (s *checkTestSeller) ReleaseInstance(context.Context, *protocol.ReleaseInstanceRequest) error {
	return nil
}
func (s *checkTestSeller) ChangeInstanceCheck(context.Context, *protocol.ChangeInstanceCheckRequest) error {
	return nil
}
func (s *checkTestSeller) OrderNotify(context.Context, *protocol.OrderNotifyRequest) error {
	return nil
}

func (s *checkTestSeller) ApplicationSync(_ context.Context, req *protocol.ApplicationSyncRequest) error {
	if req.Flag == protocol.FlagDelete {
		return nil
	}
	if _, err := protocol.DecryptClientSecret(s.priv, req.ClientSecret); err != nil {
		return sellerkit.Errorf(protocol.CodeInvalidParam, "clientSecret: %v", err)
	}
	return nil
}
func (s *checkTestSeller) TenantSync(context.Context, *protocol.TenantSyncRequest) error { return nil }
func (s *checkTestSeller) AuthSync(context.Context, *protocol.AuthSyncRequest) error     { return nil }
func (s *checkTestSeller) SingleOrgSync(context.Context, *protocol.SingleOrgSyncRequest) error {
	return nil
}
func (s *checkTestSeller) AllOrgSync(context.Context, *protocol.AllOrgSyncRequest) error { return nil }

var checkTestPriv = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		panic(err)
	}
	return k
})

func checkTestServer(t *testing.T, idempotent bool) string {
	t.Helper()
	var s sellerkit.Seller = &checkTestSeller{priv: checkTestPriv()}
	if idempotent {
		s = sellerkit.Idempotent(s, sellerkit.NewMemoryStore())
	}
	srv := httptest.NewServer(sellerkit.NewHandler(s, sellerkit.Config{Keys: []string{checkTestKey}}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// clearCheckEnv keeps the caller's environment out of the tests.
func clearCheckEnv(t *testing.T) {
	for _, v := range []string{"SOUK_SELLER_URL", "SOUK_SELLER_KEY", "SOUK_CHECK_KIT", "SOUK_CHECK_LICENSE", "SOUK_CHECK_SKIP",
		"SOUK_CHECK_TIMEOUT", "SOUK_CHECK_POLL_TIMEOUT", "SOUK_CHECK_JSON", "SOUK_CHECK_JUNIT", "SOUK_CHECK_PUBLIC_KEY"} {
		t.Setenv(v, "")
	}
}

func runCheck(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = realMain(context.Background(), append([]string{"seller", "check"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSellerCheckGoodSeller(t *testing.T) {
	clearCheckEnv(t)
	url := checkTestServer(t, true)
	junit := filepath.Join(t.TempDir(), "report.xml")
	code, stdout, stderr := runCheck(t, url, "--key", checkTestKey, "--json", "--skip", "upgradeInstance", "--junit", junit)
	if code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var rep conformance.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout)
	}
	if rep.Failed() != 0 || rep.Passed() == 0 || rep.URL != url {
		t.Errorf("report %s for %s, want all passed for %s", rep.Summary(), rep.URL, url)
	}
	if r, _ := rep.Result("upgradeInstance"); r.Status != conformance.Skip {
		t.Errorf("upgradeInstance %s, want skip from --skip", r.Status)
	}
	n := len(rep.Results)
	for _, want := range []string{fmt.Sprintf("[1/%d] newInstance … pass ", n), fmt.Sprintf("[2/%d] newInstance repeat … pass", n), fmt.Sprintf("[%d/%d]", n, n)} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks progress %q:\n%s", want, stderr)
		}
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(data, &suites); err != nil || suites.Tests != n || suites.Failures != 0 {
		t.Errorf("junit file: %v, tests=%d failures=%d, want %d and 0", err, suites.Tests, suites.Failures, n)
	}
}

func TestSellerCheckBrokenSellerExits1(t *testing.T) {
	clearCheckEnv(t)
	url := checkTestServer(t, false)
	code, stdout, stderr := runCheck(t, url, "--key", checkTestKey, "--json", "--skip", "upgradeInstance")
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstderr:\n%s", code, stderr)
	}
	var rep conformance.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout)
	}
	f := rep.Failures()
	if len(f) != 1 || f[0].Case != "newInstance repeat" || !strings.Contains(f[0].Detail, "returned instanceId inst-2, want inst-1") {
		t.Errorf("failures %+v, want only newInstance repeat", f)
	}
	if !strings.Contains(stderr, "newInstance repeat … fail") || !strings.Contains(stderr, "want inst-1") {
		t.Errorf("stderr does not show the failure:\n%s", stderr)
	}
}

func TestSellerCheckTextAndEnvironment(t *testing.T) {
	clearCheckEnv(t)
	url := checkTestServer(t, true)
	t.Setenv("SOUK_SELLER_URL", url)
	t.Setenv("SOUK_SELLER_KEY", checkTestKey)
	t.Setenv("SOUK_CHECK_SKIP", "upgradeInstance")
	code, stdout, stderr := runCheck(t)
	if code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "CASE") || !strings.Contains(stdout, "0 failed, 2 skipped") {
		t.Errorf("stdout is not the text report:\n%s", stdout)
	}
	// Without --skip the missing upgradeInstance fails the check.
	t.Setenv("SOUK_CHECK_SKIP", "")
	if code, stdout, _ := runCheck(t); code != 1 || !strings.Contains(stdout, "if the product does not offer upgradeInstance, list it in skip") {
		t.Errorf("exit %d without --skip, want 1:\n%s", code, stdout)
	}
}

// --public-key makes the clientSecret decryptable by the seller; without
// it the checker's own key is used and this seller refuses the secret.
func TestSellerCheckPublicKey(t *testing.T) {
	clearCheckEnv(t)
	url := checkTestServer(t, true)
	der, err := x509.MarshalPKIXPublicKey(&checkTestPriv().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "seller.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{url, "--key", checkTestKey, "--kit", "--skip", "upgradeInstance"}
	if code, stdout, stderr := runCheck(t, append(args, "--public-key", file)...); code != 0 {
		t.Errorf("with --public-key: exit %d, want 0\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ := runCheck(t, args...)
	if code != 1 || !strings.Contains(stdout, "clientSecret: encrypted field does not decrypt") {
		t.Errorf("without --public-key: exit %d, want 1 and applicationSync refused:\n%s", code, stdout)
	}

	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	der, _ = x509.MarshalPKIXPublicKey(&small.PublicKey)
	os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	if code, _, stderr := runCheck(t, append(args, "--public-key", file)...); code != 2 || !strings.Contains(stderr, "1024 bits, at least 3072 required") {
		t.Errorf("1024-bit key: exit %d, stderr %q; want 2", code, stderr)
	}
}

func TestSellerCheckUsage(t *testing.T) {
	clearCheckEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--key", "k"}, "missing the seller's production URL"},
		{[]string{"http://127.0.0.1:1"}, "missing --key"},
		{[]string{"http://a", "http://b", "--key", "k"}, "one production URL expected"},
		{[]string{"http://127.0.0.1:1", "--key", "k", "--skip", "releaseInstance"}, "releaseInstance: every product must serve it"},
		{[]string{"http://127.0.0.1:1", "--key", "k", "--skip", "bogus"}, `skip "bogus": unknown interface`},
		{[]string{"http://127.0.0.1:1", "--key", "k", "--timeout", "2m"}, "want at most 1m0s"},
		{[]string{"http://127.0.0.1:1", "--key", "k", "--public-key", "/nonexistent.pem"}, "--public-key"},
		{[]string{"http://127.0.0.1:1", "--key", "k", "--no-such-flag"}, "flag provided but not defined"},
	} {
		code, stdout, stderr := runCheck(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want 2 and %q", tc.args, code, stderr, stdout, tc.want)
		}
	}
	t.Setenv("SOUK_CHECK_TIMEOUT", "soon")
	if code, _, stderr := runCheck(t, "http://127.0.0.1:1", "--key", "k"); code != 2 || !strings.Contains(stderr, "SOUK_CHECK_TIMEOUT") {
		t.Errorf("bad SOUK_CHECK_TIMEOUT: exit %d, stderr %q; want 2", code, stderr)
	}
}
