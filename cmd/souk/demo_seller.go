package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/souk-market/souk/refseller"
)

// demoSeller is the demo seller's server: the reference seller, once per
// product, behind one listener. A reference seller verifies calls with one
// access key and every product has its own (the catalogue makes them), so
// each product gets a reference seller holding its key: the SaaS
// product's at the root (production URL /produce, its apps at /app/…),
// the others under a prefix (/license/produce, /usage/produce, …), each
// told that prefix as part of its address so that the URLs it hands out
// lead back to it.
type demoSeller struct {
	host    string // host:port, as buyers and the marketplace reach it
	ln      net.Listener
	mux     *http.ServeMux
	servers []*refseller.Server
}

// newDemoSeller listens on addr; the sellers are added with add.
func newDemoSeller(addr string) (*demoSeller, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &demoSeller{host: refseller.PublicAddr(addr, ln.Addr()), ln: ln, mux: http.NewServeMux()}, nil
}

// base is the seller's root URL.
func (s *demoSeller) base() string { return "http://" + s.host }

// productionURL is the production URL of the reference seller at prefix
// ("" or "/name").
func (s *demoSeller) productionURL(prefix string) string { return s.base() + prefix + "/produce" }

// demoMarket is how a reference seller reaches the marketplace's open API:
// its base URL and the seller's API credential.
type demoMarket struct{ url, key, secret string }

// add starts a reference seller with the access key key at prefix,
// keeping its state in dir, talking to the marketplace through m.
func (s *demoSeller) add(prefix, key, dir string, async time.Duration, m demoMarket, log *slog.Logger) error {
	srv, err := refseller.New(refseller.Config{Addr: s.host + prefix, Key: key, DataDir: dir, Async: async, Logger: log,
		Market: m.url, APIKey: m.key, APISecret: m.secret})
	if err != nil {
		return err
	}
	s.servers = append(s.servers, srv)
	if prefix == "" {
		s.mux.Handle("/", srv.Handler())
	} else {
		s.mux.Handle(prefix+"/", http.StripPrefix(prefix, srv.Handler()))
	}
	return nil
}

// serve serves the sellers until ctx ends, then closes them.
func (s *demoSeller) serve(ctx context.Context) error {
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(s.ln) }()
	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(shutdown)
		cancel()
		<-served
	}
	s.close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// close closes the sellers' databases and the listener (for a seller that
// never served).
func (s *demoSeller) close() {
	s.ln.Close()
	for _, srv := range s.servers {
		srv.Close()
	}
	s.servers = nil
}

// sellerDir is where the reference seller of a product keeps its state.
func sellerDir(data, slug string) string {
	return filepath.Join(data, "demo-seller", strings.Trim(slug, "/"))
}
