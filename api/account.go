package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
)

// The account endpoints: registration, log-in, users and API tokens.

type registerRequest struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

type userView struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	SellerID  string    `json:"sellerId,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	Disabled  bool      `json:"disabled"`
}

func viewUser(u *account.User) userView {
	return userView{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, SellerID: u.SellerID,
		CreatedAt: u.CreatedAt, Disabled: u.Disabled()}
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	var req registerRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	u, err := account.Register(r.Context(), s.db, account.Registration{Email: req.Email, Name: req.Name, Password: req.Password})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, viewUser(u))
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type loginResponse struct {
	// Token is the session token, shown once: send it as "Authorization:
	// Bearer TOKEN", or let the browser keep the cookie.
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	User      userView  `json:"user"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	sess, token, err := account.Login(r.Context(), s.db, req.Email, req.Password)
	if err != nil {
		return err
	}
	_, u, err := account.Authenticate(r.Context(), s.db, token)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	return writeJSON(w, http.StatusOK, loginResponse{Token: token, ExpiresAt: sess.ExpiresAt, User: viewUser(u)})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	token := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		token = c.Value
	}
	if h, ok := bearer(r); ok {
		token = h
	}
	if token != "" {
		if err := account.Logout(r.Context(), s.db, token); err != nil && souk.ErrorCode(err) != souk.EUNAUTHENTICATED {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// bearer returns the token of an "Authorization: Bearer TOKEN" header.
func bearer(r *http.Request) (string, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return token, ok && token != ""
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	a := actorOf(r)
	u, err := account.GetUser(r.Context(), s.db, a, a.UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewUser(u))
}

type passwordRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var req passwordRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	keep, _ := bearer(r)
	if c, err := r.Cookie(sessionCookie); keep == "" && err == nil {
		keep = c.Value
	}
	err := account.ChangePassword(r.Context(), s.db, actorOf(r), account.PasswordChange{Current: req.Current, New: req.New, KeepSession: keep})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type createUserRequest struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
	Role     string `json:"role"`
	SellerID string `json:"sellerId,omitempty"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var req createUserRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	u, err := account.CreateUser(r.Context(), s.db, actorOf(r), account.Registration{
		Email: req.Email, Name: req.Name, Password: req.Password, Role: req.Role, SellerID: req.SellerID})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, viewUser(u))
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := account.GetUser(r.Context(), s.db, actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewUser(u))
}

func (s *Server) disableUser(w http.ResponseWriter, r *http.Request) error {
	if err := account.DisableUser(r.Context(), s.db, actorOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) enableUser(w http.ResponseWriter, r *http.Request) error {
	if err := account.EnableUser(r.Context(), s.db, actorOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type tokenRequest struct {
	Name string `json:"name"`
	// ExpiresInDays is how long the token lives: 1 to 366 days.
	ExpiresInDays int `json:"expiresInDays"`
}

type tokenView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	Revoked    bool       `json:"revoked"`
}

type newTokenView struct {
	tokenView
	// Token is the secret, shown this once.
	Token string `json:"token"`
}

func viewToken(t *account.Token) tokenView {
	v := tokenView{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, Revoked: !t.RevokedAt.IsZero()}
	if !t.LastUsedAt.IsZero() {
		last := t.LastUsedAt
		v.LastUsedAt = &last
	}
	return v
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	a := actorOf(r)
	ts, err := account.ListTokens(r.Context(), s.db, a, a.UserID)
	if err != nil {
		return err
	}
	out := make([]tokenView, len(ts))
	for i, t := range ts {
		out[i] = viewToken(t)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var req tokenRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	secret, t, err := account.CreateToken(r.Context(), s.db, actorOf(r), req.Name, time.Duration(req.ExpiresInDays)*24*time.Hour)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, newTokenView{tokenView: viewToken(t), Token: secret})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := account.RevokeToken(r.Context(), s.db, actorOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
