package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/conformance"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/refseller"
	"github.com/souk-market/souk/store"
)

func init() {
	commands["demo"] = command{summary: "run a reference seller, check it, and drive an instance's lifecycle through the delivery engine", run: runDemo}
}

// runDemo shows what Souk does today, end to end on this machine: a
// reference seller, the conformance checker against it, and the delivery
// engine taking one instance through its whole life, including a call that
// fails until the seller fixes its side and the retry policy tries again.
// It becomes the
// seeded marketplace once the marketplace server exists.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "[--addr HOST:PORT] [--data DIR] [--no-wait]", stderr)
	addr := fs.String("addr", envDefault("SOUK_DEMO_ADDR", "127.0.0.1:8081"), "address of the reference seller (SOUK_DEMO_ADDR)")
	data := fs.String("data", envDefault("SOUK_DATA", "./souk-data"), "directory for the demo's SQLite files (SOUK_DATA)")
	noWait := fs.Bool("no-wait", false, "exit when the demo has run instead of keeping the seller up")
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		fmt.Fprintf(stderr, "souk demo: unexpected argument %q\n", rest[0])
		return errUsage
	}
	if err := os.MkdirAll(*data, 0o755); err != nil {
		return err
	}
	key := randomKey()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// 1. The reference seller, a real HTTP server.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s (choose another with --addr): %w", *addr, err)
	}
	seller, err := refseller.New(refseller.Config{Addr: refseller.PublicAddr(*addr, ln.Addr()), Key: key,
		DataDir: filepath.Join(*data, "demo-seller"), Async: 300 * time.Millisecond, Logger: log})
	if err != nil {
		ln.Close()
		return err
	}
	defer seller.Close()
	sellerCtx, stopSeller := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- seller.Serve(sellerCtx, ln) }()
	defer func() { stopSeller(); <-served }()
	url := seller.ProductionURL()
	fmt.Fprintf(stdout, "Souk demo\n\n1. A reference seller (souk seller run) is listening at %s\n   access key %s\n\n", url, key)

	// 2. The conformance checker against it.
	fmt.Fprintf(stdout, "2. The conformance checker (souk seller check) runs every debug case against it:\n\n")
	report := conformance.Run(ctx, conformance.Config{URL: url, Key: key, Kit: true, License: true, PollInterval: 100 * time.Millisecond})
	report.WriteText(indent(stdout))
	if !report.OK() {
		return fmt.Errorf("the reference seller failed the conformance check")
	}

	// 3. The delivery engine drives one instance's life.
	fmt.Fprintf(stdout, "\n3. The delivery engine takes one instance through its life (marketplace database %s):\n\n",
		filepath.Join(*data, "souk.db"))
	instance, err := demoLifecycle(ctx, stdout, filepath.Join(*data, "souk.db"), url, key)
	if err != nil {
		return err
	}

	fmt.Fprintf(stdout, "\nThe reference seller keeps running at %s. Try:\n", url)
	fmt.Fprintf(stdout, "  go run ./cmd/souk seller check %s --key %s --kit --license\n", url, key)
	fmt.Fprintf(stdout, "  curl %s   (the released instance's page: 410 Gone)\n", strings.TrimSuffix(url, "/produce")+"/app/"+instance)
	if *noWait {
		return nil
	}
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}

// demoLifecycle enqueues a purchase and, as each call succeeds, the next
// event of the instance's life — the way the order domain will — with the
// seller's updateInstanceStatus broken until the first FREEZE has failed,
// and prints the production interface messages.
func demoLifecycle(ctx context.Context, stdout io.Writer, dbPath, url, key string) (instance string, err error) {
	db, err := store.Open(ctx, dbPath, souk.SystemClock{})
	if err != nil {
		return "", err
	}
	defer db.Close()
	client := protocol.NewClient(protocol.Default, db.Clock().Now, 8)
	target := staticTarget{URL: url, AccessKey: key, Timeout: 5 * time.Second}
	seller, product, instanceKey := "demo-seller", "demo-saas", "demo-"+randomKey()[:8]
	expire := protocol.FormatTime(time.Now().AddDate(1, 0, 0))

	var engine *delivery.Engine
	next := func(ctx context.Context, tx *store.Tx, req protocol.Request, policy delivery.Policy) error {
		_, err := engine.Enqueue(ctx, tx, delivery.NewCall{SellerID: seller, ProductID: product, Key: instanceKey, Request: req, Policy: policy})
		return err
	}
	var failedCall int64
	hooks := delivery.Hooks{Succeeded: func(ctx context.Context, tx *store.Tx, c *delivery.Call, o *protocol.Outcome) error {
		switch c.Activity {
		case protocol.NewInstance:
			id := c.PollID
			if id == "" {
				var resp protocol.NewInstanceResponse
				if err := o.Decode(&resp); err != nil {
					return err
				}
				id = resp.InstanceID
			}
			instanceKey = id
			return next(ctx, tx, &protocol.RefreshInstanceRequest{Scene: protocol.SceneRenewal, OrderID: "demo-order-2",
				OrderLineID: "demo-line-2", InstanceID: id, ExpireTime: expire}, delivery.Renewal)
		case protocol.RefreshInstance:
			return next(ctx, tx, &protocol.UpdateInstanceStatusRequest{InstanceID: instanceKey, Status: protocol.StatusFreeze}, delivery.Renewal)
		case protocol.UpdateInstanceStatus:
			var req protocol.UpdateInstanceStatusRequest
			if err := json.Unmarshal(c.Body, &req); err != nil {
				return err
			}
			if req.Status == protocol.StatusFreeze {
				return next(ctx, tx, &protocol.UpdateInstanceStatusRequest{InstanceID: instanceKey, Status: protocol.StatusUnfreeze}, delivery.Once)
			}
			return next(ctx, tx, &protocol.ReleaseInstanceRequest{InstanceID: instanceKey}, delivery.Renewal)
		}
		return nil
	}}
	engine = delivery.New(db, client, target, hooks, delivery.Config{Workers: 4, Poll: 100 * time.Millisecond})
	if err := engine.Start(ctx); err != nil {
		return "", err
	}
	defer engine.Stop()

	// The seller's updateInstanceStatus is broken to begin with.
	if err := controlSeller(url, key, `{"failActivities":["updateInstanceStatus"]}`); err != nil {
		return "", err
	}
	first := int64(0)
	if err := db.Tx(ctx, func(tx *store.Tx) error {
		id, err := engine.Enqueue(ctx, tx, delivery.NewCall{SellerID: seller, ProductID: product, Key: instanceKey, Policy: delivery.NewPurchase,
			Request: &protocol.NewInstanceRequest{BusinessID: "demo-business-1", OrderID: "demo-order-1-" + instanceKey, OrderLineID: "demo-line-1"}})
		first = id
		return err
	}); err != nil {
		return "", err
	}
	// Wait for the FREEZE to fail; after the fix its retry succeeds.
	err = waitUntil(ctx, 30*time.Second, func() (bool, error) {
		calls, err := delivery.ListCalls(ctx, db, delivery.CallFilter{SellerID: seller, Problems: true})
		for _, c := range calls {
			if c.Activity == protocol.UpdateInstanceStatus && c.State == delivery.Retrying {
				failedCall = c.ID
			}
		}
		return failedCall != 0, err
	})
	if err != nil {
		return "", err
	}
	fmt.Fprintf(stdout, "   The seller's updateInstanceStatus is broken: call %d failed and will be retried (policy renewal: 10 s, then every 2 min for 1 h).\n", failedCall)
	if err := controlSeller(url, key, `{}`); err != nil {
		return "", err
	}
	fmt.Fprintf(stdout, "   The seller fixes its interface; the engine's next retry succeeds.\n\n")
	err = waitUntil(ctx, 60*time.Second, func() (bool, error) {
		calls, err := delivery.ListCalls(ctx, db, delivery.CallFilter{SellerID: seller, Activity: protocol.ReleaseInstance, State: delivery.Succeeded})
		return len(calls) > 0, err
	})
	if err != nil {
		return "", err
	}

	// The production interface messages, as the seller centre will show them.
	tw := tabwriter.NewWriter(indent(stdout), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CALL\tATTEMPT\tINTERFACE\tOUTCOME\tCODE\tLATENCY\tNEXT")
	calls, err := delivery.ListCalls(ctx, db, delivery.CallFilter{SellerID: seller})
	if err != nil {
		return "", err
	}
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].ID < first {
			continue // an earlier demo's calls in the same database
		}
		m, err := delivery.GetMessage(ctx, db, calls[i].ID, seller)
		if err != nil {
			return "", err
		}
		for _, a := range m.Attempts {
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\n", a.CallID, a.N, a.Activity, a.Outcome, a.ResultCode, a.Latency.Round(time.Millisecond), a.Next)
		}
	}
	return instanceKey, tw.Flush()
}

type staticTarget protocol.Target

func (t staticTarget) Target(context.Context, string, string) (protocol.Target, error) {
	return protocol.Target(t), nil
}

// controlSeller changes the reference seller's misbehaviour.
func controlSeller(url, key, settings string) error {
	req, err := http.NewRequest(http.MethodPost, strings.TrimSuffix(url, "/produce")+"/control", strings.NewReader(settings))
	if err != nil {
		return err
	}
	req.Header.Set(refseller.HeaderControlKey, key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("seller control: HTTP %d", resp.StatusCode)
	}
	return nil
}

func waitUntil(ctx context.Context, limit time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: nothing happened within %v", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func randomKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// indent prefixes every line written to w with three spaces.
func indent(w io.Writer) io.Writer { return &indenter{w: w, start: true} }

type indenter struct {
	w     io.Writer
	start bool
}

func (i *indenter) Write(p []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line == "" {
			continue
		}
		if i.start {
			io.WriteString(i.w, "   ")
		}
		io.WriteString(i.w, line)
		i.start = strings.HasSuffix(line, "\n")
	}
	return len(p), nil
}
