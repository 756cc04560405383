package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/souk-market/souk/conformance"
	"github.com/souk-market/souk/protocol"
)

func init() {
	commands["seller check"] = command{
		summary: "run the conformance debug cases against a seller's production URL",
		run:     runSellerCheck,
	}
}

const sellerCheckSynopsis = `URL --key KEY [--kit] [--license] [--skip a,b] [--timeout 20s] [--json] [--junit FILE] [--public-key FILE]

Calls the seller's production interfaces with debug calls (testFlag 1) the
way the marketplace does, and reports one line per case. Exit status: 0 when
every case passes, 1 when one fails, 2 for a usage error.

The URL may also come from SOUK_SELLER_URL; each flag has the environment
variable named in its description.`

// runSellerCheck is "souk seller check".
func runSellerCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("seller check", sellerCheckSynopsis, stderr)
	key := fs.String("key", "", "the seller's access key [SOUK_SELLER_KEY]")
	kit := fs.Bool("kit", false, "also check the joint-operation kit interfaces [SOUK_CHECK_KIT]")
	license := fs.Bool("license", false, "also check the licence-code interfaces [SOUK_CHECK_LICENSE]")
	skip := fs.String("skip", "", "comma-separated optional interfaces the product does not offer, e.g. upgradeInstance,orderNotify [SOUK_CHECK_SKIP]")
	timeout := fs.Duration("timeout", protocol.Default.CallTimeout, "time the seller has to answer one call, at most 60s [SOUK_CHECK_TIMEOUT]")
	pollTimeout := fs.Duration("poll-timeout", time.Minute, "how long to poll queryInstance after an asynchronous newInstance [SOUK_CHECK_POLL_TIMEOUT]")
	asJSON := fs.Bool("json", false, "write the report as JSON instead of a table [SOUK_CHECK_JSON]")
	junit := fs.String("junit", "", "also write the report as JUnit XML to `FILE` [SOUK_CHECK_JUNIT]")
	publicKey := fs.String("public-key", "", "the seller's RSA public key (PEM `FILE`) to encrypt the applicationSync clientSecret with; without it the checker uses a key of its own [SOUK_CHECK_PUBLIC_KEY]")

	// Environment first, so that flags on the command line override it.
	for name, env := range map[string]string{
		"key": "SOUK_SELLER_KEY", "kit": "SOUK_CHECK_KIT", "license": "SOUK_CHECK_LICENSE",
		"skip": "SOUK_CHECK_SKIP", "timeout": "SOUK_CHECK_TIMEOUT", "poll-timeout": "SOUK_CHECK_POLL_TIMEOUT",
		"json": "SOUK_CHECK_JSON", "junit": "SOUK_CHECK_JUNIT", "public-key": "SOUK_CHECK_PUBLIC_KEY",
	} {
		if v := envDefault(env, ""); v != "" {
			if err := fs.Set(name, v); err != nil {
				return checkUsage(nil, stderr, "%s=%q: %v", env, v, err)
			}
		}
	}
	positional, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	url := envDefault("SOUK_SELLER_URL", "")
	switch len(positional) {
	case 0:
	case 1:
		url = positional[0]
	default:
		return checkUsage(fs, stderr, "one production URL expected, got %d arguments: %s", len(positional), strings.Join(positional, " "))
	}
	if url == "" {
		return checkUsage(fs, stderr, "missing the seller's production URL")
	}
	if *key == "" {
		return checkUsage(fs, stderr, "missing --key: the seller's access key")
	}

	cfg := conformance.Config{
		URL: url, Key: *key, Kit: *kit, License: *license,
		Skip: checkParseSkip(*skip), Timeout: *timeout, PollTimeout: *pollTimeout,
	}
	if *publicKey != "" {
		pem, err := os.ReadFile(*publicKey)
		if err != nil {
			return checkUsage(nil, stderr, "--public-key: %v", err)
		}
		if cfg.PublicKey, err = protocol.ParsePublicKeyPEM(pem); err != nil {
			return checkUsage(nil, stderr, "--public-key %s: %v", *publicKey, err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return checkUsage(nil, stderr, "%v", err)
	}

	// Progress goes to stderr so that stdout holds only the report, which
	// may be JSON piped elsewhere.
	cfg.Progress = func(done, total int, r conformance.Result) {
		line := fmt.Sprintf("[%d/%d] %s … %s", done, total, r.Case, r.Status)
		if r.Latency > 0 {
			line += " " + checkLatency(r.Latency)
		}
		if r.Status == conformance.Fail {
			line += ": " + r.Detail
		}
		fmt.Fprintln(stderr, line)
	}
	rep := conformance.Run(ctx, cfg)

	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if *junit != "" {
		if err := checkWriteJUnit(*junit, rep); err != nil {
			return err
		}
	}
	if !rep.OK() {
		return exitError{1}
	}
	return nil
}

// checkUsage prints a usage error, and the flags when fs is not nil, for
// exit status 2.
func checkUsage(fs *flag.FlagSet, stderr io.Writer, format string, args ...any) error {
	fmt.Fprintf(stderr, "souk seller check: "+format+"\n", args...)
	if fs != nil {
		fmt.Fprintln(stderr)
		fs.Usage()
	}
	return errUsage
}

// checkParseSkip splits "a, b" into activities; Config.Validate judges them.
func checkParseSkip(s string) []protocol.Activity {
	var out []protocol.Activity
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, protocol.Activity(a))
		}
	}
	return out
}

func checkWriteJUnit(path string, rep *conformance.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	if err := rep.WriteJUnit(f); err != nil {
		f.Close()
		return fmt.Errorf("--junit %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--junit %s: %w", path, err)
	}
	return nil
}

// checkLatency rounds a latency for the progress line, keeping a fast
// local seller's sub-millisecond answers readable.
func checkLatency(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}
