package api

import "net/http"

// route is one API endpoint: how it is reached, what it takes and gives,
// and its handler. The table registers the mux and writes the OpenAPI
// document.
type route struct {
	Method, Path string
	Summary      string
	Tag          string
	// Auth requires an authenticated actor (401 otherwise); what the actor
	// may do is still decided by the domain.
	Auth bool
	// Request and Response are zero values of the body types, for the
	// document; nil for none.
	Request, Response any
	// Status is the success status (200 if zero).
	Status int
	handle handlerFunc
}

func (s *Server) routes() []route {
	return []route{
		{Method: "POST", Path: "/api/v1/auth/register", Tag: "account", Summary: "Open a buyer account",
			Request: registerRequest{}, Response: userView{}, Status: http.StatusCreated, handle: s.register},
		{Method: "POST", Path: "/api/v1/auth/login", Tag: "account", Summary: "Log in: returns a session token and sets the session cookie",
			Request: loginRequest{}, Response: loginResponse{}, handle: s.login},
		{Method: "POST", Path: "/api/v1/auth/logout", Tag: "account", Summary: "End the current session",
			Status: http.StatusNoContent, handle: s.logout},
		{Method: "GET", Path: "/api/v1/me", Tag: "account", Summary: "The logged-in user", Auth: true,
			Response: userView{}, handle: s.me},
		{Method: "POST", Path: "/api/v1/me/password", Tag: "account", Summary: "Change the password (ends other sessions)", Auth: true,
			Request: passwordRequest{}, Status: http.StatusNoContent, handle: s.changePassword},
		{Method: "POST", Path: "/api/v1/users", Tag: "account", Summary: "Create a user (operator: any role; seller member: members of its seller)", Auth: true,
			Request: createUserRequest{}, Response: userView{}, Status: http.StatusCreated, handle: s.createUser},
		{Method: "GET", Path: "/api/v1/users/{id}", Tag: "account", Summary: "A user (oneself, or any as operator)", Auth: true,
			Response: userView{}, handle: s.getUser},
		{Method: "POST", Path: "/api/v1/users/{id}/disable", Tag: "account", Summary: "Disable a user (operator)", Auth: true,
			Status: http.StatusNoContent, handle: s.disableUser},
		{Method: "POST", Path: "/api/v1/users/{id}/enable", Tag: "account", Summary: "Enable a user again (operator)", Auth: true,
			Status: http.StatusNoContent, handle: s.enableUser},
		{Method: "GET", Path: "/api/v1/tokens", Tag: "account", Summary: "My API tokens", Auth: true,
			Response: []tokenView{}, handle: s.listTokens},
		{Method: "POST", Path: "/api/v1/tokens", Tag: "account", Summary: "Create an API token (shown once)", Auth: true,
			Request: tokenRequest{}, Response: newTokenView{}, Status: http.StatusCreated, handle: s.createToken},
		{Method: "DELETE", Path: "/api/v1/tokens/{id}", Tag: "account", Summary: "Revoke an API token", Auth: true,
			Status: http.StatusNoContent, handle: s.revokeToken},
	}
}
