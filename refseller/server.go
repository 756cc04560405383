package refseller

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
	"github.com/souk-market/souk/sellerkit/sqlitestore"
)

// Config configures a Server. Key and DataDir are required.
type Config struct {
	// Addr is the host:port buyers and the marketplace reach the seller at,
	// used in the URLs it hands out (frontEndUrl, adminUrl). Empty, port 0
	// or an unspecified host are completed from the listener given to
	// Serve (see PublicAddr).
	Addr string
	// Key is the access key of the production URL: it verifies the
	// marketplace's calls, encrypts appInfo secrets, and guards /control.
	Key string
	// DataDir holds seller.db, the seller's whole state; it is created if
	// needed.
	DataDir string
	// Async, when above zero, makes newInstance answer 000004 and the
	// instance ready only Async later.
	Async time.Duration
	// Faults is the misbehaviour to start with; /control changes it.
	Faults Faults
	// Seed seeds the FailRate draws; 0 means a random seed.
	Seed uint64
	// Logger receives a line per call and the errors; nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Market is the marketplace's base URL for its open API (protocol.md
	// §6), e.g. http://127.0.0.1:8080; with APIKey and APISecret, one of
	// the seller's API credentials there. All three or none: with them the
	// seller queries the order of each newInstance, and serves
	// POST /control/usage and POST /activate (market.go).
	Market, APIKey, APISecret string
	// MarketHTTP sends the open API calls; nil means a client with a 20 s
	// timeout.
	MarketHTTP *http.Client
}

// Server is the reference seller: its production URL at /produce, the
// control endpoint, the app's pages and a health check, over one SQLite file.
type Server struct {
	key     string
	store   *sqlitestore.Store
	notes   *notes
	faults  *faults
	log     *slog.Logger
	handler http.Handler

	addr     atomic.Value // string: the public host:port
	stopping chan struct{}
	stopOnce sync.Once
}

// DBFile is the name of the seller's SQLite file in Config.DataDir.
const DBFile = "seller.db"

// New opens (or creates) the seller's database in cfg.DataDir and returns
// a Server ready to serve. Close it when done.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Key == "":
		return nil, errors.New("refseller: an access key is required")
	case cfg.DataDir == "":
		return nil, errors.New("refseller: a data directory is required")
	}
	if err := cfg.Faults.Validate(); err != nil {
		return nil, fmt.Errorf("refseller: faults: %w", err)
	}
	if set := cfg.Market != "" || cfg.APIKey != "" || cfg.APISecret != ""; set && (cfg.Market == "" || cfg.APIKey == "" || cfg.APISecret == "") {
		return nil, errors.New("refseller: the marketplace's URL, an API key and its secret go together: give all three or none")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("refseller: %w", err)
	}
	store, err := sqlitestore.Open(filepath.Join(cfg.DataDir, DBFile))
	if err != nil {
		return nil, fmt.Errorf("refseller: %w", err)
	}
	err = createSchema(context.Background(), store.DB())
	if err == nil {
		err = createMarketSchema(context.Background(), store.DB())
	}
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("refseller: %w", err)
	}

	s := &Server{key: cfg.Key, store: store, log: cfg.Logger, stopping: make(chan struct{})}
	s.addr.Store(cfg.Addr)
	s.notes = &notes{db: store.DB(), now: cfg.Now, async: cfg.Async, addr: s.publicAddr}
	if cfg.Market != "" {
		s.notes.market = &sellerkit.OpenAPIClient{BaseURL: cfg.Market, KeyID: cfg.APIKey, Secret: cfg.APISecret, HTTP: cfg.MarketHTTP, Now: cfg.Now}
	}
	s.faults = newFaults(cfg.Faults, cfg.Seed, s.stopping)

	// Faults stand in front of Idempotent, so an injected failure is never
	// remembered as an answer, and Idempotent in front of the seller's
	// code, keeping its records in the seller's own file.
	seller := &front{next: sellerkit.Idempotent(s.notes, store), faults: s.faults, log: cfg.Logger}
	produce := sellerkit.NewHandler(seller, sellerkit.Config{Keys: []string{cfg.Key}, Now: cfg.Now, Logger: cfg.Logger})

	mux := http.NewServeMux()
	// The sellerkit handler answers every method itself, a JSON 405 for
	// anything but POST, so it is mounted without a method.
	mux.Handle("/produce", produce)
	mux.Handle("/produce/", produce)
	mux.HandleFunc("GET /control", s.getControl)
	mux.HandleFunc("POST /control", s.postControl)
	mux.HandleFunc("POST /control/licenses", s.postLicence)
	mux.HandleFunc("POST /control/usage", s.postUsage)
	mux.HandleFunc("POST /activate", s.postActivate)
	mux.HandleFunc("GET /app/{instanceId}", s.appPage)
	mux.HandleFunc("GET /app/{instanceId}/admin", s.appPage)
	mux.HandleFunc("GET /healthz", s.healthz)
	s.handler = mux
	return s, nil
}

// Handler returns the seller's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// ProductionURL returns the URL to register as the product's production
// URL: http://ADDR/produce.
func (s *Server) ProductionURL() string { return "http://" + s.publicAddr() + "/produce" }

// Serve serves on l until ctx ends, then shuts down gracefully: calls in
// progress finish (those held by Timeout or Slow are let go at once), for
// up to 10 s. It returns nil after a graceful shutdown. Serve is called
// once per Server.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.addr.Store(PublicAddr(s.publicAddr0(), l.Addr()))
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	s.stop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	<-served
	if err != nil {
		srv.Close()
		return fmt.Errorf("refseller: shutdown: %w", err)
	}
	return nil
}

// Close closes the database; call it after Serve has returned.
func (s *Server) Close() error {
	s.stop()
	return s.store.Close()
}

// stop lets go of the calls held by faults.
func (s *Server) stop() { s.stopOnce.Do(func() { close(s.stopping) }) }

func (s *Server) publicAddr0() string { return s.addr.Load().(string) }

// publicAddr is the host:port in the URLs the seller hands out.
func (s *Server) publicAddr() string {
	if a := s.publicAddr0(); a != "" {
		return a
	}
	return "localhost"
}

// PublicAddr completes a configured address from the address a listener
// got: an empty or zero port takes the listener's port, an empty host the
// listener's host, and an unspecified host (0.0.0.0, ::), which no client
// can dial, becomes localhost.
func PublicAddr(configured string, listener net.Addr) string {
	lhost, lport, _ := net.SplitHostPort(listener.String())
	host, port, err := net.SplitHostPort(configured)
	if err != nil {
		host, port = lhost, lport
	}
	if port == "" || port == "0" {
		port = lport
	}
	if host == "" {
		host = lhost
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// HeaderControlKey carries the access key on /control requests.
const HeaderControlKey = "X-Control-Key"

// controlAllowed checks the control key. /control changes how the seller
// answers the marketplace, so it needs the same secret as the marketplace.
func (s *Server) controlAllowed(w http.ResponseWriter, r *http.Request) bool {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(HeaderControlKey)), []byte(s.key)) == 1 {
		return true
	}
	writeJSON(w, http.StatusForbidden, map[string]string{"error": "the " + HeaderControlKey + " header must carry the access key"})
	return false
}

// getControl answers the faults in force.
func (s *Server) getControl(w http.ResponseWriter, r *http.Request) {
	if s.controlAllowed(w, r) {
		writeJSON(w, http.StatusOK, s.faults.get())
	}
}

// postControl replaces the faults in force with the body's; fields left
// out are off, so POST {} makes the seller well-behaved again.
func (s *Server) postControl(w http.ResponseWriter, r *http.Request) {
	if !s.controlAllowed(w, r) {
		return
	}
	var f Faults
	if err := readJSON(w, r, &f); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if err := s.faults.set(f); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	s.log.Info("faults changed", "faults", f)
	writeJSON(w, http.StatusOK, s.faults.get())
}

// postLicence records a licence code as activated, standing in for the
// seller's software that activates it through the marketplace's open API:
// {"license":"…","expireTime":"yyyyMMddHHmmss"}.
func (s *Server) postLicence(w http.ResponseWriter, r *http.Request) {
	if !s.controlAllowed(w, r) {
		return
	}
	var body struct {
		License    string `json:"license"`
		ExpireTime string `json:"expireTime"`
	}
	err := readJSON(w, r, &body)
	if err == nil && body.License == "" {
		err = errors.New("license is required")
	}
	if err == nil && body.ExpireTime != "" {
		_, err = protocol.ParseTime(body.ExpireTime)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if err := s.notes.activateLicence(r.Context(), body.License, body.ExpireTime); err != nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"license": body.License, "state": stateActive})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if err := s.store.DB().PingContext(r.Context()); err != nil {
		http.Error(w, "database: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ok\n")
}

// readJSON decodes a small JSON body into v.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	return nil
}

// writeJSON encodes v before writing the status, so a failed encoding
// never sends half an answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
