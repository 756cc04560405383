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
	"github.com/souk-market/souk/jobs"
	"github.com/souk-market/souk/notify"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
	payperuse "github.com/souk-market/souk/usage"
	"github.com/souk-market/souk/web"
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
	defaultGrace := order.DefaultGrace
	if g, err := time.ParseDuration(os.Getenv("SOUK_GRACE")); err == nil {
		defaultGrace = g
	}
	grace := fs.Duration("grace", defaultGrace, "how long an expired instance stays frozen, waiting for a renewal, before it is released (SOUK_GRACE)")
	node := fs.String("node", envDefault("SOUK_NODE", ""), "this node's name among the marketplace's nodes, the same across its restarts and different from every other node's [the host name] (SOUK_NODE)")
	smtpFrom := fs.String("smtp-from", envDefault("SOUK_SMTP_FROM", "souk@localhost"), "From address of e-mail notices (SOUK_SMTP_FROM)")
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		fmt.Fprintf(stderr, "souk serve: unexpected argument %q\n", rest[0])
		return errUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	// Notices: the in-site inbox always; e-mail when an SMTP relay is set.
	var mailer notify.Mailer
	if *smtpAddr != "" {
		mailer = &notify.SMTPMailer{Addr: *smtpAddr, From: *smtpFrom}
	}
	m, err := startMarketplace(ctx, marketConfig{Database: *database, KeyFile: *keyFile, AllowPrivateURLs: *allowPrivate,
		SecureCookies: *secure, Mailer: mailer, Logger: log, Grace: *grace, Node: *node})
	if err != nil {
		return err
	}
	defer m.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "souk listening on http://%s (database: %s)\n", ln.Addr(), m.DB.Engine())
	if err := serveHTTP(ctx, ln, m.Handler); err != nil {
		return err
	}
	log.Info("souk stopped")
	return nil
}

// marketConfig is what startMarketplace needs: the choices of souk serve's
// flags.
type marketConfig struct {
	Database string // SQLite file or postgres:// URL
	// KeyFile holds the marketplace key; empty means market.key beside an
	// SQLite database (on PostgreSQL SOUK_MARKET_KEY is then required).
	KeyFile          string
	AllowPrivateURLs bool
	SecureCookies    bool
	Mailer           notify.Mailer // nil: in-site inbox only
	Logger           *slog.Logger
	// Grace is how long an expired instance stays frozen before it is
	// released (0: order.DefaultGrace).
	Grace time.Duration
	// Node names this process among the marketplace's nodes ("": the host
	// name), the same across restarts.
	Node string
}

// marketplace is the marketplace as souk serve runs it, started: the
// database, the delivery engine (with the order domain's hooks and the
// failure notices), the notice sender, and Handler — the JSON API,
// /metrics and /healthz — ready to be served.
type marketplace struct {
	DB      *store.DB
	Catalog catalog.Settings
	Engine  *delivery.Engine
	Handler http.Handler

	sender *notify.Sender
	jobs   *jobs.Runner
}

// startMarketplace opens and migrates the database, reads (or creates) the
// marketplace key, and starts the delivery engine and the notice sender.
// Close it when done.
func startMarketplace(ctx context.Context, cfg marketConfig) (m *marketplace, err error) {
	log := cfg.Logger
	db, err := openDatabase(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	m = &marketplace{DB: db}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()

	keyFile := cfg.KeyFile
	if keyFile == "" {
		path, ok := sqlitePath(cfg.Database)
		if !ok && os.Getenv("SOUK_MARKET_KEY") == "" {
			return nil, errors.New("on PostgreSQL set the marketplace key explicitly: SOUK_MARKET_KEY or --market-key-file (every node needs the same key)")
		}
		keyFile = filepath.Join(filepath.Dir(path), "market.key")
	}
	keys, err := marketKeyring(keyFile)
	if err != nil {
		return nil, err
	}
	m.Catalog = catalog.Settings{Keys: keys, AllowPrivateURLs: cfg.AllowPrivateURLs}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Notices: the in-site inbox always; e-mail when a mailer is given.
	sender := notify.NewSender(db, notify.SenderConfig{Mailer: cfg.Mailer, Logger: log})
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
	node := cfg.Node
	if node == "" {
		if node, err = os.Hostname(); err != nil || node == "" {
			node = "souk"
		}
	}
	engine := delivery.New(db, client, catalog.Targets{DB: db, Settings: m.Catalog}, hooks,
		delivery.Config{Node: node, Logger: log, Metrics: delivery.NewMetrics(reg, db)})
	if err := engine.Start(ctx); err != nil {
		return nil, err
	}
	m.Engine = engine
	if err := sender.Start(ctx); err != nil {
		return nil, err
	}
	m.sender = sender
	m.jobs = jobs.New(db, node, log, marketJobs(db, engine, cfg)...)
	m.jobs.Start()

	mux := http.NewServeMux()
	mux.Handle("/api/", api.New(api.Config{DB: db, Logger: log, SecureCookies: cfg.SecureCookies, Catalog: m.Catalog, Orders: engine}).Handler())
	mux.Handle("/", web.New(web.Config{DB: db, Logger: log, SecureCookies: cfg.SecureCookies, Catalog: m.Catalog, Engine: engine}).Handler())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := db.SQL().PingContext(r.Context()); err != nil {
			http.Error(w, "database: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	m.Handler = mux
	return m, nil
}

// Close stops the notice sender and the delivery engine, then closes the
// database.
func (m *marketplace) Close() {
	if m.jobs != nil {
		m.jobs.Stop()
	}
	if m.sender != nil {
		m.sender.Stop()
	}
	if m.Engine != nil {
		m.Engine.Stop()
	}
	m.DB.Close()
}

// marketJobs are the periodic jobs of the marketplace, each run on one
// node at a time (package jobs).
func marketJobs(db *store.DB, engine *delivery.Engine, cfg marketConfig) []jobs.Job {
	return []jobs.Job{
		{Name: "expiry-sweep", Every: 30 * time.Second, Run: func(ctx context.Context) error {
			_, err := order.Sweep(ctx, db, engine, order.SweepConfig{Grace: cfg.Grace})
			return err
		}},
		{Name: "usage-billing", Every: time.Minute, Run: func(ctx context.Context) error {
			_, err := payperuse.Bill(ctx, db, db.Clock().Now())
			return err
		}},
	}
}

// serveHTTP serves h on ln until ctx ends, then shuts down gracefully
// (for up to 30 s).
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
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
	return nil
}
