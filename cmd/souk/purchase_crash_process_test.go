package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/refseller"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// souk serve, a real process, is killed with SIGKILL while buyers are
// buying through its API, and started again; the buyers retry what was
// not acknowledged with the same Idempotency-Key. Afterwards: no
// acknowledged order is lost, no key bought twice, every order completed
// with its instance active and one newInstance call, every balance is
// its top-up minus what its orders took, and the ledger balances.
func TestPurchasesSurviveAKilledServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	bin := soukBinary(t)
	t.Run("sqlite", func(t *testing.T) {
		purchaseCrash(t, bin, filepath.Join(t.TempDir(), "souk.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		purchaseCrash(t, bin, storetest.PostgresURL(t))
	})
}

func purchaseCrash(t *testing.T, bin, dsn string) {
	ctx := context.Background()
	const buyers, perBuyer = 4, 25
	keyBytes := bytes.Repeat([]byte{0x5a}, 32)
	keys, err := catalog.NewKeyring(keyBytes)
	if err != nil {
		t.Fatal(err)
	}
	set := catalog.Settings{Keys: keys, AllowPrivateURLs: true}
	op := souk.Actor{UserID: "op-crash", Role: souk.RoleOperator}

	// The marketplace's data, written before the server starts.
	db, err := store.Open(ctx, dsn, souk.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	applicant := souk.Actor{UserID: "seller-crash", Role: souk.RoleBuyer}
	sellerID, err := catalog.Apply(ctx, db, applicant, catalog.JoinApplication{CompanyName: "Crash Ltd", RegistrationNumber: "91310000MA00000001",
		ContactName: "Li Lei", ContactEmail: "sales@crash.example", ContactPhone: "+86 21 5555 0100"})
	must(t, err)
	seller := souk.Actor{UserID: applicant.UserID, Role: souk.RoleSeller, SellerID: sellerID}
	must(t, catalog.ApproveSeller(ctx, db, op, sellerID))
	cert, err := catalog.SubmitCertification(ctx, db, seller, catalog.Certification{AccountHolder: "Crash Ltd", Bank: "Bank of Example",
		AccountNumber: "6222 0210 0112 3456 789", TaxRegistration: "91310000MA1FL0000X", TaxRate: 600})
	must(t, err)
	must(t, catalog.ApproveCertification(ctx, db, op, cert))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	np, err := catalog.CreateProduct(ctx, db, set, seller, catalog.Product{Type: catalog.SaaS, Name: "Crash Notes", Description: "Notes.",
		ProductionURL: "http://" + ln.Addr().String() + "/produce", Public: true,
		Specs: []catalog.Spec{{Code: "basic", Name: "Basic", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 9900, Currency: "CNY"}}}})
	must(t, err)
	must(t, catalog.SubmitApplication(ctx, db, set, seller, np.ApplicationID))
	must(t, catalog.ApproveApplication(ctx, db, op, np.ApplicationID))
	tokens := make([]string, buyers)
	ids := make([]string, buyers)
	for i := range buyers {
		u, err := account.Register(ctx, db, account.Registration{Email: fmt.Sprintf("crash-buyer-%d@example.com", i), Name: "Buyer", Password: "a long buyer password"})
		must(t, err)
		ids[i] = u.ID
		_, err = settle.TopUp(ctx, db, op, u.ID, settle.M(perBuyer*9900, "CNY"))
		must(t, err)
		tokens[i], _, err = account.CreateToken(ctx, db, u.Actor(), "crash", time.Hour)
		must(t, err)
	}
	db.Close()

	// The seller: a reference seller in this process, up throughout.
	rs, err := refseller.New(refseller.Config{Key: np.AccessKey, DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	must(t, err)
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- rs.Serve(sctx, ln) }()
	t.Cleanup(func() { stop(); <-served; rs.Close() })

	start := func() (*exec.Cmd, string) {
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--database", dsn, "--allow-private-urls")
		cmd.Env = append(os.Environ(), "SOUK_MARKET_KEY="+hex.EncodeToString(keyBytes))
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = io.Discard
		must(t, cmd.Start())
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		go io.Copy(io.Discard, stdout)
		_, rest, _ := strings.Cut(line, "listening on ")
		base, _, _ := strings.Cut(rest, " ")
		if base == "" {
			t.Fatalf("souk serve printed %q, not its address", line)
		}
		return cmd, base
	}

	// buy places buyer i's purchase with key: true once acknowledged.
	client := &http.Client{Timeout: 10 * time.Second}
	buy := func(base string, i int, key string) bool {
		req, _ := http.NewRequest("POST", base+"/api/v1/orders", strings.NewReader(`{"productId":"`+np.ProductID+`","specCode":"basic"}`))
		req.Header.Set("Authorization", "Bearer "+tokens[i])
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			t.Errorf("purchase %s = %s", key, resp.Status)
		}
		return resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK
	}

	cmd, base := start()
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for i := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range perBuyer {
				key := fmt.Sprintf("b%d-%d", i, n)
				ok := buy(base, i, key)
				mu.Lock()
				acked[key] = ok
				mu.Unlock()
			}
		}()
	}
	// Kill it a third of the way through.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= buyers*perBuyer/3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	must(t, cmd.Process.Kill())
	cmd.Wait()
	wg.Wait()
	ackedBefore := 0
	for _, ok := range acked {
		if ok {
			ackedBefore++
		}
	}

	// Again, retrying every purchase not acknowledged with its key.
	cmd, base = start()
	for key, ok := range acked {
		if !ok {
			var i, n int
			fmt.Sscanf(key, "b%d-%d", &i, &n)
			if !buy(base, i, key) {
				t.Fatalf("retry of %s after the restart failed", key)
			}
		}
	}
	// Let the engine finish every newInstance.
	db, err = store.Open(ctx, dsn, souk.SystemClock{})
	must(t, err)
	defer db.Close()
	for end := time.Now().Add(60 * time.Second); ; {
		var open int
		must(t, db.SQL().QueryRow(`SELECT count(*) FROM orders WHERE state = 'paid'`).Scan(&open))
		if open == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%d orders still paid, not completed, a minute after the restart", open)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	t.Logf("%d of %d purchases acknowledged before the kill", ackedBefore, buyers*perBuyer)

	var orders, keysUsed, completed, active, calls, dupCalls int
	must(t, db.SQL().QueryRow(`SELECT count(*), count(DISTINCT idempotency_key), count(CASE WHEN state = 'completed' THEN 1 END) FROM orders`).
		Scan(&orders, &keysUsed, &completed))
	must(t, db.SQL().QueryRow(`SELECT count(CASE WHEN state = 'active' THEN 1 END) FROM order_instances`).Scan(&active))
	must(t, db.SQL().QueryRow(`SELECT count(*) FROM delivery_calls WHERE activity = 'newInstance'`).Scan(&calls))
	must(t, db.SQL().QueryRow(`SELECT count(*) FROM (SELECT order_key FROM delivery_calls WHERE activity = 'newInstance'
		GROUP BY order_key HAVING count(*) > 1) d`).Scan(&dupCalls))
	want := buyers * perBuyer
	if orders != want || keysUsed != want || completed != want || active != want || calls != want || dupCalls != 0 {
		t.Fatalf("orders %d (keys %d, completed %d), active instances %d, newInstance calls %d (%d instances with several); want %d of each, none with several",
			orders, keysUsed, completed, active, calls, dupCalls, want)
	}
	for _, id := range ids {
		b, err := settle.Balance(ctx, db.SQL(), settle.BuyerBalance(id), "CNY")
		must(t, err)
		if b != 0 {
			t.Errorf("buyer %s has %d left, want 0 (%d purchases of 99.00 from a top-up of %d × 99.00)", id, b, perBuyer, perBuyer)
		}
	}
	must(t, settle.CheckInvariant(ctx, db))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
