package web

import (
	"net/http"

	"github.com/souk-market/souk/account"
)

// Log-in, log-out and registration.

type loginData struct {
	Form form
	Next string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	return s.show(w, r, "login", loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.PostForm.Get("next"))
	sess, token, err := account.Login(r.Context(), s.db, r.PostForm.Get("email"), r.PostForm.Get("password"))
	if err != nil {
		r.PostForm.Del("password")
		return s.formError(w, r, "login", err, func(f form) any { return loginData{Form: f, Next: next} })
	}
	http.SetCookie(w, &http.Cookie{Name: account.SessionCookie, Value: token, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	return s.seeOther(w, r, next, "You are logged in.")
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(account.SessionCookie); err == nil && c.Value != "" {
		account.Logout(r.Context(), s.db, c.Value) // an ended session is logged out already
	}
	http.SetCookie(w, &http.Cookie{Name: account.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	return s.seeOther(w, r, "/", "You are logged out.")
}

type registerData struct{ Form form }

func (s *Server) registerPage(w http.ResponseWriter, r *http.Request) error {
	return s.show(w, r, "register", registerData{})
}

// register opens a buyer account and logs it in.
func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	_, err := account.Register(r.Context(), s.db, account.Registration{Email: f.Get("email"), Name: f.Get("name"), Password: f.Get("password")})
	if err == nil {
		var sess *account.Session
		var token string
		if sess, token, err = account.Login(r.Context(), s.db, f.Get("email"), f.Get("password")); err == nil {
			http.SetCookie(w, &http.Cookie{Name: account.SessionCookie, Value: token, Path: "/", Expires: sess.ExpiresAt,
				HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
			return s.seeOther(w, r, "/", "Welcome to Souk: your buyer account is open.")
		}
	}
	r.PostForm.Del("password")
	return s.formError(w, r, "register", err, func(f form) any { return registerData{Form: f} })
}
