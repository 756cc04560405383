package web

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/store"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// maxForm caps every form body.
const maxForm = 1 << 20

// Engine is what the console needs of the delivery engine: enqueueing an
// order's calls and re-invoking a call (*delivery.Engine).
type Engine interface {
	order.Enqueuer
	Reinvoke(ctx context.Context, callID int64, who delivery.Actor, reason string) error
}

// Config configures a Server.
type Config struct {
	DB     *store.DB
	Logger *slog.Logger
	// SecureCookies marks the session cookie Secure (behind HTTPS).
	SecureCookies bool
	// Catalog are the catalogue's settings (keys for products' access
	// keys).
	Catalog catalog.Settings
	// Engine is the delivery engine; pages that buy or re-invoke need it.
	Engine Engine
}

// Server serves the console.
type Server struct {
	db     *store.DB
	log    *slog.Logger
	secure bool
	cat    catalog.Settings
	engine Engine
	pages  *pages
	mux    *http.ServeMux
}

// New returns a Server with every page registered. It panics if a
// template does not parse: they are compiled into the binary.
func New(cfg Config) *Server {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{db: cfg.DB, log: log, secure: cfg.SecureCookies, cat: cfg.Catalog, engine: cfg.Engine,
		pages: mustParsePages(), mux: http.NewServeMux()}
	for _, rt := range s.routes() {
		s.mux.Handle(rt.Method+" "+rt.Path, s.adapt(rt))
	}
	static, _ := fs.Sub(staticFiles, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(http.FileServerFS(static))))
	return s
}

func staticHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// Handler returns the console as an http.Handler: the session is read
// first, and state-changing requests from another origin are refused.
func (s *Server) Handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, souk.Errorf(souk.EUNAUTHORIZED, "This form was sent from another site and was refused."))
	}))
	return cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'")
		w.Header().Set("Referrer-Policy", "same-origin")
		v := visitor{}
		if c, err := r.Cookie(account.SessionCookie); err == nil && c.Value != "" {
			if a, u, err := account.Authenticate(r.Context(), s.db, c.Value); err == nil {
				v = visitor{Actor: a, Name: u.Name, Email: u.Email}
			}
		}
		s.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), visitorKey{}, v)))
	}))
}

// visitor is who is looking at a page: the zero value for an anonymous
// one.
type visitor struct {
	souk.Actor
	Name, Email string
}

type visitorKey struct{}

func visitorOf(r *http.Request) visitor {
	v, _ := r.Context().Value(visitorKey{}).(visitor)
	return v
}

// actorOf is who the request acts as, for the domain packages.
func actorOf(r *http.Request) souk.Actor { return visitorOf(r).Actor }

// route is one page or form action of the console.
type route struct {
	Method, Path string
	// Auth sends an anonymous visitor to the log-in page (which comes back
	// here) instead of running the handler; what a logged-in visitor may
	// see or do is still the domain's decision.
	Auth   bool
	handle handlerFunc
}

// handlerFunc handles a request and returns an error to render as an
// error page; a form handler renders its own errors (formError).
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) adapt(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				s.renderError(w, r, souk.Errorf(souk.EINVALID, "The form could not be read: %v.", err))
				return
			}
		}
		if rt.Auth && actorOf(r).UserID == "" {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.renderError(w, r, souk.Errorf(souk.EUNAUTHENTICATED, "Your session has ended; log in again."))
			return
		}
		if err := rt.handle(w, r); err != nil {
			s.renderError(w, r, err)
		}
	})
}

// renderError shows err as a page with its status; internal errors are
// logged and shown without their details.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	status := souk.HTTPStatus(err)
	if status == http.StatusInternalServerError {
		s.log.Error("web request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	s.render(w, r, status, "error", errorPage{Status: status, Message: souk.ErrorMessage(err),
		LogIn: status == http.StatusUnauthorized})
}

type errorPage struct {
	Status  int
	Message string
	LogIn   bool
}

// seeOther answers a form that succeeded by sending the browser to path
// with a notice for the next page.
func (s *Server) seeOther(w http.ResponseWriter, r *http.Request, path, notice string) error {
	if notice != "" {
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(notice), Path: "/", MaxAge: 60,
			HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
	return nil
}

// flashCookie carries a one-line notice to the page after a redirect.
const flashCookie = "souk_flash"

// takeFlash returns the notice for this page, if any, and clears it.
func takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1})
	v, err := url.QueryUnescape(c.Value)
	if err != nil {
		return ""
	}
	return v
}

// safeNext returns next if it is a path on this site, else "/": a log-in
// never sends the browser elsewhere. A browser reads "/\x" and "/\t/x" as
// "//x", another site, so control characters and backslashes are refused
// outright before the path is checked.
func safeNext(next string) string {
	if strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	return next
}

var errNoEngine = errors.New("web: no delivery engine configured (Config.Engine)")

// requireEngine returns the engine, or an internal error if the server was
// built without one.
func (s *Server) requireEngine() (Engine, error) {
	if s.engine == nil {
		return nil, errNoEngine
	}
	return s.engine, nil
}
