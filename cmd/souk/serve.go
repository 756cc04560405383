package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/api"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/notify"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
)

func init() {
	commands["serve"] = command{summary: "run the marketplace: JSON API, delivery engine, notices, metrics", run: runServe}
}

// databaseFlag adds --database with its SOUK_DATABASE default to fs.
func databaseFlag(fs interface {
	String(name, value, usage string) *string
}) *string {
	return fs.String("database", envDefault("SOUK_DATABASE", filepath.Join("souk-data", "souk.db")),
		"SQLite file, or postgres:// URL (SOUK_DATABASE)")
}

// openDatabase opens (creating the directory of an SQLite file) and
// migrates the database.
func openDatabase(ctx context.Context, dsn string) (*store.DB, error) {
	if path, ok := sqlitePath(dsn); ok {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
	}
	db, err := store.Open(ctx, dsn, souk.SystemClock{})
	if err != nil {
		return nil, fmt.Errorf("open the database %s: %w", redactDSN(dsn), err)
	}
	return db, nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "[--addr HOST:PORT] [--database DSN]", stderr)
	addr := fs.String("addr", envDefault("SOUK_ADDR", "127.0.0.1:8080"), "listen address (SOUK_ADDR)")
	database := databaseFlag(fs)
	secure := fs.Bool("secure-cookies", envDefault("SOUK_SECURE_COOKIES", "") == "true", "mark the session cookie Secure: set it behind HTTPS (SOUK_SECURE_COOKIES=true)")
	keyFile := fs.String("market-key-file", envDefault("SOUK_MARKET_KEY_FILE", ""),
		"file holding the key that encrypts access keys, created if missing [market.key beside an SQLite database]; SOUK_MARKET_KEY (hex) overrides it")
	allowPrivate := fs.Bool("allow-private-urls", envDefault("SOUK_ALLOW_PRIVATE_URLS", "") == "true",
		"let production URLs point at this machine or private networks: development only (SOUK_ALLOW_PRIVATE_URLS=true)")
	smtpAddr := fs.String("smtp", envDefault("SOUK_SMTP_ADDR", ""), "SMTP relay host:port for e-mail notices; empty: in-site inbox only (SOUK_SMTP_ADDR)")
	smtpFrom := fs.String("smtp-from", envDefault("SOUK_SMTP_FROM", "souk@localhost"), "From address of e-mail notices (SOUK_SMTP_FROM)")
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		fmt.Fprintf(stderr, "souk serve: unexpected argument %q\n", rest[0])
		return errUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	db, err := openDatabase(ctx, *database)
	if err != nil {
		return err
	}
	defer db.Close()

	if *keyFile == "" {
		path, ok := sqlitePath(*database)
		if !ok && os.Getenv("SOUK_MARKET_KEY") == "" {
			return errors.New("on PostgreSQL set the marketplace key explicitly: SOUK_MARKET_KEY or --market-key-file (every node needs the same key)")
		}
		*keyFile = filepath.Join(filepath.Dir(path), "market.key")
	}
	keys, err := marketKeyring(*keyFile)
	if err != nil {
		return err
	}
	catalogSettings := catalog.Settings{Keys: keys, AllowPrivateURLs: *allowPrivate}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Notices: the in-site inbox always; e-mail when an SMTP relay is set.
	var mailer notify.Mailer
	if *smtpAddr != "" {
		mailer = &notify.SMTPMailer{Addr: *smtpAddr, From: *smtpFrom}
	}
	sender := notify.NewSender(db, notify.SenderConfig{Mailer: mailer, Logger: log})
	recipients := notify.RecipientsFunc(func(ctx context.Context, tx *store.Tx, sellerID string) (notify.Contact, error) {
		c, err := catalog.SellerContact(ctx, tx, sellerID)
		return notify.Contact{Recipient: "seller:" + sellerID, Email: c.Email, Phone: c.Phone}, err
	})

	// The delivery engine: calls to sellers' production interfaces.
	client := protocol.NewClient(protocol.Default, db.Clock().Now, 8)
	// Outcomes move orders and instances on (order's hooks) and notify the
	// seller of failures (notify's).
	hooks := order.Hooks()
	hooks.Failed = notify.Hooks(recipients)
	engine := delivery.New(db, client, catalog.Targets{DB: db, Settings: catalogSettings}, hooks,
		delivery.Config{Logger: log, Metrics: delivery.NewMetrics(reg, db)})
	if err := engine.Start(ctx); err != nil {
		return err
	}
	defer engine.Stop()
	if err := sender.Start(ctx); err != nil {
		return err
	}
	defer sender.Stop()
	mux := http.NewServeMux()
	mux.Handle("/api/", api.New(api.Config{DB: db, Logger: log, SecureCookies: *secure, Catalog: catalogSettings, Orders: engine}).Handler())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := db.SQL().PingContext(r.Context()); err != nil {
			http.Error(w, "database: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(stdout, "souk listening on http://%s (database: %s)\n", ln.Addr(), db.Engine())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("souk stopped")
	return nil
}
