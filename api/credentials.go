package api

import (
	"net/http"
	"time"

	"github.com/souk-market/souk/sellerapi"
	"github.com/souk-market/souk/sellerkit"
)

// The seller's open API credentials (package sellerapi): the key id and
// secret its software signs open API calls with (protocol.md §6).

type credentialRequest struct {
	// Name is for the seller's own reference, e.g. where the credential is
	// deployed.
	Name string `json:"name"`
}

type credentialView struct {
	KeyID     string     `json:"keyId"`
	Name      string     `json:"name"`
	CreatedBy string     `json:"createdBy"`
	CreatedAt time.Time  `json:"createdAt"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	Revoked   bool       `json:"revoked"`
}

type newCredentialView struct {
	credentialView
	// Secret signs the calls; shown this once.
	Secret string `json:"secret"`
	// Header names the header that carries the key id.
	Header string `json:"header"`
}

type revokeCredentialRequest struct {
	KeyID string `json:"keyId"`
}

func (s *Server) credentialRoutes() []route {
	return []route{
		{Method: "GET", Path: "/api/v1/my/api-credentials", Tag: "open API", Summary: "My seller's open API credentials, newest first, without secrets (seller member)", Auth: true,
			Response: []credentialView{}, handle: s.listCredentials},
		{Method: "POST", Path: "/api/v1/my/api-credentials", Tag: "open API", Summary: "Create an open API credential: a key id and a secret shown once (seller member)", Auth: true,
			Request: credentialRequest{}, Response: newCredentialView{}, Status: http.StatusCreated, handle: s.createCredential},
		{Method: "POST", Path: "/api/v1/my/api-credentials/revoke", Tag: "open API", Summary: "Revoke an open API credential of my seller at once (seller member)", Auth: true,
			Request: revokeCredentialRequest{}, Status: http.StatusNoContent, handle: s.revokeCredential},
	}
}

func viewCredential(c sellerapi.Credential) credentialView {
	v := credentialView{KeyID: c.KeyID, Name: c.Name, CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, Revoked: c.Revoked()}
	if c.Revoked() {
		at := c.RevokedAt
		v.RevokedAt = &at
	}
	return v
}

func (s *Server) listCredentials(w http.ResponseWriter, r *http.Request) error {
	cs, err := sellerapi.ListCredentials(r.Context(), s.db, actorOf(r))
	if err != nil {
		return err
	}
	out := make([]credentialView, len(cs))
	for i, c := range cs {
		out[i] = viewCredential(c)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) createCredential(w http.ResponseWriter, r *http.Request) error {
	var req credentialRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	c, err := sellerapi.CreateCredential(r.Context(), s.db, s.cat.Keys, actorOf(r), req.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, newCredentialView{credentialView: viewCredential(c.Credential), Secret: c.Secret, Header: sellerkit.HeaderOpenAPIKey})
}

func (s *Server) revokeCredential(w http.ResponseWriter, r *http.Request) error {
	var req revokeCredentialRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if err := sellerapi.RevokeCredential(r.Context(), s.db, actorOf(r), req.KeyID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
