package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/refseller"
)

func init() {
	commands["seller run"] = command{
		summary: "run the reference seller (Souk Notes) on its own SQLite file",
		run:     runSellerRun,
	}
}

func runSellerRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("seller run", "--key KEY [flags]", stderr)
	addr := fs.String("addr", envDefault("SOUK_SELLER_ADDR", "127.0.0.1:8081"), "listen on `host:port` (port 0: any free port) [SOUK_SELLER_ADDR]")
	key := fs.String("key", envDefault("SOUK_SELLER_KEY", ""), "the production URL's access `key` (required) [SOUK_SELLER_KEY]")
	data := fs.String("data", envDefault("SOUK_SELLER_DATA", "./souk-seller-data"), "`directory` of the seller's SQLite file [SOUK_SELLER_DATA]")
	async := fs.Duration("async", 0, "provision instances asynchronously, each ready `duration` after its newInstance [SOUK_SELLER_ASYNC]")
	failRate := fs.Float64("fail-rate", 0, "answer this `fraction` of calls 000005 [SOUK_SELLER_FAIL_RATE]")
	failActivities := fs.String("fail-activities", "", "always answer these `activities` (comma-separated) 000005 [SOUK_SELLER_FAIL_ACTIVITIES]")
	slow := fs.Duration("slow", 0, "wait `duration` before every answer [SOUK_SELLER_SLOW]")
	timeout := fs.Bool("timeout", false, "never answer: hold every call until the caller gives up [SOUK_SELLER_TIMEOUT]")
	seed := fs.Uint64("seed", 0, "`seed` of the --fail-rate draws; 0: random [SOUK_SELLER_SEED]")
	market := fs.String("market", envDefault("SOUK_SELLER_MARKET", ""), "the marketplace's base `URL` for its open API: query orders, push usage, activate licences (with --api-key and --api-secret) [SOUK_SELLER_MARKET]")
	apiKey := fs.String("api-key", envDefault("SOUK_SELLER_API_KEY", ""), "the key `id` of the seller's open API credential [SOUK_SELLER_API_KEY]")
	apiSecret := fs.String("api-secret", envDefault("SOUK_SELLER_API_SECRET", ""), "the `secret` of the seller's open API credential [SOUK_SELLER_API_SECRET]")
	if err := flagsFromEnv(fs, map[string]string{
		"async":           "SOUK_SELLER_ASYNC",
		"fail-rate":       "SOUK_SELLER_FAIL_RATE",
		"fail-activities": "SOUK_SELLER_FAIL_ACTIVITIES",
		"slow":            "SOUK_SELLER_SLOW",
		"timeout":         "SOUK_SELLER_TIMEOUT",
		"seed":            "SOUK_SELLER_SEED",
	}, stderr); err != nil {
		return err
	}
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		fmt.Fprintf(stderr, "souk seller run: unexpected argument %q\n", rest[0])
		return errUsage
	}
	if *key == "" {
		fmt.Fprintln(stderr, "souk seller run: --key (or SOUK_SELLER_KEY) is required")
		return errUsage
	}
	if set := *market != "" || *apiKey != "" || *apiSecret != ""; set && (*market == "" || *apiKey == "" || *apiSecret == "") {
		fmt.Fprintln(stderr, "souk seller run: --market, --api-key and --api-secret go together: give all three or none")
		return errUsage
	}
	faults := refseller.Faults{FailRate: *failRate, Slow: *slow, Timeout: *timeout}
	for _, a := range strings.Split(*failActivities, ",") {
		if a = strings.TrimSpace(a); a != "" {
			faults.FailActivities = append(faults.FailActivities, protocol.Activity(a))
		}
	}
	if err := faults.Validate(); err != nil {
		fmt.Fprintf(stderr, "souk seller run: %v\n", err)
		return errUsage
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv, err := refseller.New(refseller.Config{
		Addr:    refseller.PublicAddr(*addr, ln.Addr()),
		Key:     *key,
		DataDir: *data,
		Async:   *async,
		Faults:  faults,
		Seed:    *seed,
		Logger:  log,

		Market:    *market,
		APIKey:    *apiKey,
		APISecret: *apiSecret,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer srv.Close()
	// Tests and scripts read this line for the address (with port 0, the
	// port chosen); everything else goes to the log on stderr.
	fmt.Fprintf(stdout, "souk seller listening on %s\n", srv.ProductionURL())
	log.Info("seller running", "url", srv.ProductionURL(), "data", *data, "async", *async, "faults", faults, "market", *market)
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("seller stopped")
	return nil
}

// flagsFromEnv sets the flags named in env (flag name → variable) from the
// environment variables that are set, before the command line is parsed,
// so that flags given on the command line win. It is envDefault for flags
// that are not strings.
func flagsFromEnv(fs *flag.FlagSet, env map[string]string, stderr io.Writer) error {
	for name, variable := range env {
		v := envDefault(variable, "")
		if v == "" {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			fmt.Fprintf(stderr, "souk %s: %s=%q: %v\n", strings.TrimPrefix(fs.Name(), "souk "), variable, v, err)
			return errUsage
		}
	}
	return nil
}
