package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/refseller"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
)

func init() {
	commands["demo"] = command{summary: "start a seeded marketplace: operator, certified seller with listed products, buyer with a balance", run: runDemo}
}

// runDemo starts, in one process, the marketplace as souk serve runs it
// (on SQLite in the data directory) and a reference seller whose
// production URLs the demo's products have; seeds it — an operator, a
// certified seller with a listed SaaS, licence and pay-per-use product, a
// buyer with a balance — and has the buyer buy the SaaS product through
// the API, the delivery engine provisioning the instance at the seller.
// Then it prints how to log in and what to try, and keeps running until
// ctx ends (or returns at once with --no-wait). Running it again on the
// same directory finds everything it made and makes nothing twice.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlagSet("demo", "[--addr HOST:PORT] [--seller-addr HOST:PORT] [--data DIR] [--no-wait]", stderr)
	addr := fs.String("addr", envDefault("SOUK_DEMO_ADDR", "127.0.0.1:8080"), "address of the marketplace (SOUK_DEMO_ADDR)")
	sellerAddr := fs.String("seller-addr", envDefault("SOUK_DEMO_SELLER_ADDR", "127.0.0.1:8081"), "address of the reference seller (SOUK_DEMO_SELLER_ADDR)")
	data := fs.String("data", envDefault("SOUK_DATA", "./souk-data"), "directory for the demo's database, accounts and seller (SOUK_DATA)")
	noWait := fs.Bool("no-wait", false, "exit once the demo is seeded instead of serving until Ctrl-C")
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		fmt.Fprintf(stderr, "souk demo: unexpected argument %q\n", rest[0])
		return errUsage
	}
	if err := os.MkdirAll(*data, 0o755); err != nil {
		return err
	}
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = nil // stopped (Ctrl-C) while starting: not a failure
		}
	}()
	state, err := loadDemoState(*data)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s (choose another with --addr): %w", *addr, err)
	}
	marketHost := refseller.PublicAddr(*addr, ln.Addr())
	seller, err := newDemoSeller(*sellerAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("listen on %s (choose another with --seller-addr): %w", *sellerAddr, err)
	}
	m, err := startMarketplace(ctx, marketConfig{Database: filepath.Join(*data, "souk.db"), AllowPrivateURLs: true, Logger: log})
	if err != nil {
		ln.Close()
		seller.close()
		return err
	}
	defer m.Close()

	// The servers run until the demo returns.
	run, stop := context.WithCancel(ctx)
	marketDone, sellerDone := make(chan error, 1), make(chan error, 1)
	go func() { marketDone <- serveHTTP(run, ln, m.Handler) }()
	sellerServing := false
	defer func() {
		stop()
		<-marketDone
		if sellerServing {
			<-sellerDone
		} else {
			seller.close()
		}
	}()

	// The seed, made or found.
	seed := &demoSeed{db: m.DB, set: m.Catalog, state: state, dir: *data}
	if err := seed.users(ctx); err != nil {
		return err
	}
	if err := seed.sellerCompany(ctx); err != nil {
		return err
	}
	products := demoProducts(seller)
	if err := seed.products(ctx, products); err != nil {
		return err
	}
	// The reference sellers use the open API as a real seller's software
	// does: they query each new instance's order and activate licences.
	key, secret, err := seed.apiCredential(ctx)
	if err != nil {
		return err
	}
	market := demoMarket{url: "http://" + marketHost, key: key, secret: secret}
	for _, p := range products {
		async := time.Duration(0)
		if p.Slug == "saas" {
			async = time.Second // to show newInstance answered 000004, then polled
		}
		if err := seller.add(p.Prefix, p.AccessKey, sellerDir(*data, p.Slug), async, market, log); err != nil {
			return err
		}
	}
	go func() { sellerDone <- seller.serve(run) }()
	sellerServing = true
	if err := seed.topUp(ctx); err != nil {
		return err
	}

	// The buyer buys, through the API like anyone.
	api := &demoClient{base: "http://" + marketHost + "/api/v1"}
	buy, err := demoBuy(ctx, api, state, products[0])
	if err != nil {
		return err
	}
	// The seller may listen elsewhere than when it provisioned the
	// instance; its page is where it is now.
	if u, err := url.Parse(buy.frontEndURL); err == nil && buy.frontEndURL != "" {
		u.Host = seller.host
		buy.frontEndURL = u.String()
	}

	printDemo(stdout, demoGuide{data: *data, api: api.base, seller: seller.base(), seed: seed, products: products, buy: buy})
	if err := printMessages(ctx, stdout, m.DB, seed.sellerID, 12); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	printTries(stdout, demoTries(api.base, seed, products, buy))
	if *noWait {
		return nil
	}
	fmt.Fprintln(stdout, "\nThe marketplace and the seller keep running. Press Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}

// demoGuide is what printDemo shows.
type demoGuide struct {
	data, api, seller string
	seed              *demoSeed
	products          []*demoProduct
	buy               demoPurchase
}

func printDemo(w io.Writer, g demoGuide) {
	fmt.Fprintf(w, "Souk demo: a seeded marketplace (data in %s)\n\n", g.data)
	fmt.Fprintf(w, "Web console      %s/   (log in with an account below)\n", strings.TrimSuffix(g.api, "/api/v1"))
	fmt.Fprintf(w, "Marketplace API  %s   (OpenAPI document: %s/openapi.json)\n", g.api, g.api)
	fmt.Fprintf(w, "Reference seller %s   (the production URL of the products below)\n\n", g.seller)

	fmt.Fprintf(w, "Accounts (kept in %s):\n", filepath.Join(g.data, demoStateFile))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range demoRoles {
		a := g.seed.state.Accounts[r.role]
		var note string
		switch r.role {
		case "operator":
			note = "reviews sellers and products, tops up balances"
		case "seller":
			note = "Souk Demo Software Co., Ltd. (" + g.seed.sellerID + "): approved, certified"
		default:
			note = "balance " + g.buy.balance
			if g.seed.toppedUp {
				note += " (topped up with " + demoTopUp.String() + " by the operator)"
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\tpassword %s\t%s\n", r.role, a.Email, a.Password, note)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nProducts (listed, approved by the operator):\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range g.products {
		var specs []string
		for _, s := range p.Product.Specs {
			price := settle.M(s.Price.Amount, s.Price.Currency).String()
			switch {
			case s.Quantity != nil:
				price += " per " + s.Quantity.Unit + " per " + s.Period
			case s.Period != "":
				price += " per " + s.Period
			default:
				price += " per use"
			}
			specs = append(specs, s.Code+" "+price)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.ID, p.Product.Name, p.Product.Type, strings.Join(specs, "; "))
	}
	tw.Flush()

	b := g.buy
	fmt.Fprintf(w, "\nThe buyer bought %s %s through the API (order %s, %s)", g.products[0].Product.Name, demoSpec, b.orderID, b.paid)
	if b.repeated {
		fmt.Fprintf(w, " on an earlier run")
	}
	fmt.Fprintf(w, ";\nthe delivery engine called the seller's newInstance: instance %s is %s.\n", b.instanceID, b.state)
	if b.state != "active" {
		fmt.Fprintf(w, "(It is still being provisioned: GET %s/instances/%s shows when it is active.)\n", g.api, b.instanceID)
	}
}

// printMessages prints the production interface messages of the seller's
// latest calls, oldest first: every attempt, as the seller centre shows
// them.
func printMessages(ctx context.Context, w io.Writer, db *store.DB, sellerID string, limit int) error {
	calls, err := delivery.ListCalls(ctx, db, delivery.CallFilter{SellerID: sellerID, Limit: limit})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nThe seller's production interface messages, as its seller centre will show them (up to %d calls, the latest last):\n", limit)
	tw := tabwriter.NewWriter(indent(w), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CALL\tATTEMPT\tINTERFACE\tOUTCOME\tCODE\tLATENCY\tNEXT")
	for i := len(calls) - 1; i >= 0; i-- {
		m, err := delivery.GetMessage(ctx, db, calls[i].ID, sellerID)
		if err != nil {
			return err
		}
		for _, a := range m.Attempts {
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\n", a.CallID, a.N, a.Activity, a.Outcome, a.ResultCode, a.Latency.Round(time.Millisecond), a.Next)
		}
	}
	return tw.Flush()
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
