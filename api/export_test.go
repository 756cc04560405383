package api

import "net/http"

// RouteInfo is what the tests outside the package see of a route.
type RouteInfo struct {
	Method, Path      string
	Auth              bool
	Request, Response bool // whether it takes and gives a JSON body
	Status            int  // its success status
}

// Routes returns s's route table, for the tests that must cover every
// route: a route added without its test fails them.
func Routes(s *Server) []RouteInfo {
	var out []RouteInfo
	for _, rt := range s.routes() {
		status := rt.Status
		if status == 0 {
			status = http.StatusOK
		}
		out = append(out, RouteInfo{Method: rt.Method, Path: rt.Path, Auth: rt.Auth,
			Request: rt.Request != nil, Response: rt.Response != nil, Status: status})
	}
	return out
}
