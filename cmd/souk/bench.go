package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/souk-market/souk/bench"
)

func init() {
	commands["bench delivery"] = command{summary: "measure the delivery engine against the raw net/http ceiling, and its isolation from a hanging seller", run: runBenchDelivery}
}

func runBenchDelivery(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench delivery", "[--database DSN] [--calls N] [--sellers N] [--workers N] [--isolation]", stderr)
	database := fs.String("database", envDefault("SOUK_BENCH_DATABASE", ""), "postgres:// URL; empty: a fresh SQLite file (SOUK_BENCH_DATABASE)")
	calls := fs.Int("calls", 10000, "calls to the healthy sellers")
	sellers := fs.Int("sellers", 9, "healthy sellers")
	workers := fs.Int("workers", 64, "engine workers (and raw HTTP concurrency)")
	perSeller := fs.Int("per-seller", 8, "calls in flight per seller")
	isolation := fs.Bool("isolation", false, "also run with a tenth seller that hangs until its timeout")
	hang := fs.Duration("hang-timeout", 2*time.Second, "the hanging seller's call timeout")
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return errUsage
	}
	engine := "sqlite"
	if strings.HasPrefix(*database, "postgres") {
		engine = "postgres"
	}
	opts := bench.DeliveryOptions{Database: *database, Calls: *calls, Sellers: *sellers, Workers: *workers, PerSeller: *perSeller, HangTimeout: *hang}
	alone, err := bench.Delivery(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d calls to %d sellers in %v: %.0f calls/s; raw net/http %.0f req/s (engine at %.0f%% of the ceiling)\n",
		engine, alone.Calls, *sellers, alone.Elapsed.Round(time.Millisecond), alone.CallsPerS, alone.HTTPPerS, 100*alone.CallsPerS/alone.HTTPPerS)
	line := fmt.Sprintf("engine=%s calls=%d calls_per_s=%.0f http_per_s=%.0f ratio=%.3f", engine, alone.Calls, alone.CallsPerS, alone.HTTPPerS, alone.CallsPerS/alone.HTTPPerS)
	if *isolation {
		opts.Hanging = true
		with, err := bench.Delivery(ctx, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: with a hanging seller (%d calls queued, %v timeout, %d sent to it meanwhile): %.0f calls/s to the healthy ones, %.0f%% of alone\n",
			engine, *calls, *hang, with.HungCalled, with.CallsPerS, 100*with.CallsPerS/alone.CallsPerS)
		line += fmt.Sprintf(" isolated_calls_per_s=%.0f isolation=%.3f", with.CallsPerS, with.CallsPerS/alone.CallsPerS)
	}
	fmt.Fprintln(stdout, line)
	return nil
}

func init() {
	commands["bench purchase"] = command{summary: "measure purchases end to end: API request → instance active, through the engine and a reference seller", run: runBenchPurchase}
}

func runBenchPurchase(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench purchase", "[--database DSN] [--orders N] [--concurrency N] [--poll DURATION]", stderr)
	database := fs.String("database", envDefault("SOUK_BENCH_DATABASE", ""), "postgres:// URL (a schema of its own, dropped afterwards); empty: a fresh SQLite file (SOUK_BENCH_DATABASE)")
	orders := fs.Int("orders", 1000, "purchases to make")
	concurrency := fs.Int("concurrency", 16, "clients buying at once, each as its own buyer")
	poll := fs.Duration("poll", 2*time.Millisecond, "pause between two reads of an instance waiting to be active")
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 || *orders < 1 || *concurrency < 1 || *poll <= 0 {
		return errUsage
	}
	r, err := bench.Purchase(ctx, bench.PurchaseOptions{Database: *database, Orders: *orders, Concurrency: *concurrency, Poll: *poll, Out: stdout})
	if err != nil {
		return err
	}
	if _, err := r.WriteTo(stdout); err != nil {
		return err
	}
	if err := r.Check(); err != nil {
		return fmt.Errorf("the marketplace is inconsistent after the run: %w", err)
	}
	return nil
}

func init() {
	commands["bench sweep"] = command{summary: "measure the expiry sweep over many instances of which some are due", run: runBenchSweep}
}

func runBenchSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench sweep", "[--database DSN] [--instances N] [--due N]", stderr)
	database := fs.String("database", envDefault("SOUK_BENCH_DATABASE", ""), "postgres:// URL (a schema of its own, dropped afterwards); empty: a fresh SQLite file (SOUK_BENCH_DATABASE)")
	instances := fs.Int("instances", 1_000_000, "instances in the table")
	due := fs.Int("due", 10_000, "of them past their expiry")
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 || *instances < 1 || *due < 0 || *due > *instances {
		return errUsage
	}
	r, err := bench.Sweep(ctx, bench.SweepOptions{Database: *database, Instances: *instances, Due: *due, Out: stdout})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, r.Line())
	return err
}
