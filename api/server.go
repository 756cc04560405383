package api

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/sellerapi"
	"github.com/souk-market/souk/store"
)

// Config configures a Server.
type Config struct {
	DB     *store.DB
	Logger *slog.Logger
	// SecureCookies marks the session cookie Secure: set it whenever the
	// marketplace is served over HTTPS (always, in production).
	SecureCookies bool
	// Catalog are the catalogue's settings: its Keys are required to create
	// products and rotate their access keys.
	Catalog catalog.Settings
	// Orders is the delivery engine (*delivery.Engine) that purchases,
	// renewals and unsubscriptions enqueue their calls on; without it
	// those routes answer 500.
	Orders order.Enqueuer
}

// Server serves the JSON API.
type Server struct {
	db     *store.DB
	log    *slog.Logger
	secure bool
	cat    catalog.Settings
	orders order.Enqueuer
	mux    *http.ServeMux
	// open is the sellers' open API (protocol.md §6), authenticated by its
	// own signatures, not by sessions or tokens.
	open *sellerapi.Handler
}

// New returns a Server with every route registered.
func New(cfg Config) *Server {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{db: cfg.DB, log: log, secure: cfg.SecureCookies, cat: cfg.Catalog, orders: cfg.Orders, mux: http.NewServeMux()}
	for _, rt := range s.routes() {
		h := rt.handle
		if rt.Auth {
			h = requireActor(h)
		}
		s.mux.Handle(rt.Method+" "+rt.Path, adapt(log, h))
	}
	s.mux.Handle("GET /api/v1/openapi.json", adapt(log, s.openAPI))
	s.open = sellerapi.NewHandler(sellerapi.Config{DB: cfg.DB, Keys: cfg.Catalog.Keys, Logger: log})
	return s
}

// serveMux routes r, answering a path no route has (404) or a method the
// path does not take (405) in JSON like every other error.
func (s *Server) serveMux(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r) // sets the path values, which Handler does not
		return
	}
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r) // the mux's own 404 or 405, with its Allow header
	if allow := probe.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	err := souk.Errorf(souk.ENOTFOUND, "No API route %s %s.", r.Method, r.URL.Path)
	if probe.status == http.StatusMethodNotAllowed {
		var body errorBody
		body.Error.Code, body.Error.Message = "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path+"; allowed: "+probe.header.Get("Allow")+"."
		writeJSON(w, http.StatusMethodNotAllowed, body)
		return
	}
	writeError(w, r, s.log, err)
}

// statusProbe records what the mux's fallback handler would answer.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
func (p *statusProbe) WriteHeader(status int) { p.status = status }

// Handler returns the API as an http.Handler: every request is
// authenticated first, and state-changing requests from another origin are
// refused.
func (s *Server) Handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, souk.Errorf(souk.EUNAUTHORIZED, "Cross-origin request refused."))
	}))
	inner := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, err := s.authenticate(r)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		s.serveMux(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, actor)))
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sellerapi.Serves(r.URL.Path) {
			s.open.ServeHTTP(w, r) // signed by a seller's API credential instead
			return
		}
		// A request with a bearer token carries no ambient credential, so
		// a browser on another origin cannot forge it: only cookie
		// requests need the origin check.
		if _, ok := bearer(r); ok {
			inner.ServeHTTP(w, r)
			return
		}
		cop.Handler(inner).ServeHTTP(w, r)
	})
}

// sessionCookie is the name of the log-in session cookie, shared with the
// web console.
const sessionCookie = account.SessionCookie

type actorKey struct{}

// actorOf returns who the request authenticated as; the zero Actor for an
// anonymous request.
func actorOf(r *http.Request) souk.Actor {
	a, _ := r.Context().Value(actorKey{}).(souk.Actor)
	return a
}

// authenticate finds the request's token — a bearer token, or the session
// cookie — and returns its actor. No token is an anonymous request; a
// bearer token that does not authenticate is an error, while a stale cookie
// is treated as none (the browser still holds it after expiry).
func (s *Server) authenticate(r *http.Request) (souk.Actor, error) {
	if r.Header.Get("Authorization") != "" {
		token, ok := bearer(r)
		if !ok {
			return souk.Actor{}, souk.Errorf(souk.EUNAUTHENTICATED, "Authorization: want \"Bearer TOKEN\".")
		}
		actor, _, err := account.Authenticate(r.Context(), s.db, token)
		return actor, err
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if actor, _, err := account.Authenticate(r.Context(), s.db, c.Value); err == nil {
			return actor, nil
		}
	}
	return souk.Actor{}, nil
}

// requireActor refuses anonymous requests with 401 before h runs.
func requireActor(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if actorOf(r).UserID == "" {
			return souk.Errorf(souk.EUNAUTHENTICATED, "Log in, or send an API token, to use this.")
		}
		return h(w, r)
	}
}
