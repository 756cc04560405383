package bench_test

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/bench"
	"github.com/souk-market/souk/store/storetest"
)

func TestMain(m *testing.M) {
	account.Params = account.TestParams // the buyers' password hashes in microseconds
	os.Exit(m.Run())
}

var lastLine = regexp.MustCompile(`^orders=(\d+) orders_per_s=\d+\.\d p50_ms=\d+\.\d p99_ms=\d+\.\d$`)

// TestPurchase runs the purchase benchmark small, on SQLite and (when
// SOUK_TEST_POSTGRES_URL is set; required with SOUK_TEST_REQUIRE=postgres)
// on PostgreSQL, and checks what it prints and what it leaves behind.
func TestPurchase(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testPurchase(t, "") })
	t.Run("postgres", func(t *testing.T) {
		url := os.Getenv("SOUK_TEST_POSTGRES_URL")
		if url == "" {
			if storetest.Required("postgres") {
				t.Fatal("SOUK_TEST_REQUIRE=postgres but SOUK_TEST_POSTGRES_URL is not set")
			}
			t.Skip("SOUK_TEST_POSTGRES_URL not set")
		}
		testPurchase(t, url)
		// The run works in a schema of its own: a second one starts from
		// nothing as well.
		testPurchase(t, url)
	})
}

func testPurchase(t *testing.T, database string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const orders = 50
	var out bytes.Buffer
	r, err := bench.Purchase(ctx, bench.PurchaseOptions{Database: database, Orders: orders, Concurrency: 8, Out: &out})
	if err != nil {
		t.Fatalf("Purchase: %v\n%s", err, out.String())
	}
	if _, err := r.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out.String())

	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	if m := lastLine.FindStringSubmatch(last); m == nil {
		t.Errorf("last line %q does not read orders=N orders_per_s=X p50_ms=A p99_ms=B", last)
	} else if m[1] != "50" {
		t.Errorf("last line %q: want orders=50", last)
	}
	if r.Completed != orders || r.ActiveInstances != orders {
		t.Errorf("%d orders completed and %d instances active, want %d of each", r.Completed, r.ActiveInstances, orders)
	}
	if want := r.Price * orders; r.Price <= 0 || r.BalanceDrop != want {
		t.Errorf("the buyers' balances dropped by %d, want %d × %d = %d", r.BalanceDrop, r.Price, orders, want)
	}
	if r.Invariant != "" {
		t.Errorf("ledger invariant: %s", r.Invariant)
	}
	if err := r.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
	if r.OrdersPerS <= 0 || r.P50 <= 0 || r.P99 < r.P50 || r.PlacedP50 <= 0 || r.PlacedP50 > r.P50 {
		t.Errorf("implausible figures: %+v", r)
	}
}

// TestPurchaseCheck makes sure Check catches each kind of inconsistency.
func TestPurchaseCheck(t *testing.T) {
	good := bench.PurchaseResult{Orders: 3, Completed: 3, ActiveInstances: 3, Price: 100, BalanceDrop: 300}
	if err := good.Check(); err != nil {
		t.Fatalf("consistent run: %v", err)
	}
	for name, bad := range map[string]func(*bench.PurchaseResult){
		"order not completed": func(r *bench.PurchaseResult) { r.Completed = 2 },
		"instance not active": func(r *bench.PurchaseResult) { r.ActiveInstances = 2 },
		"charged wrong":       func(r *bench.PurchaseResult) { r.BalanceDrop = 299 },
		"ledger broken":       func(r *bench.PurchaseResult) { r.Invariant = "unbalanced" },
	} {
		r := good
		bad(&r)
		if r.Check() == nil {
			t.Errorf("%s: Check passed", name)
		}
	}
}
