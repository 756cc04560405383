package web

// RouteInfo is a route as the authorisation test sees it.
type RouteInfo struct {
	Method, Path string
	Auth         bool
}

// Routes returns the route table, for the authorisation test.
func Routes(s *Server) []RouteInfo {
	var out []RouteInfo
	for _, rt := range s.routes() {
		out = append(out, RouteInfo{Method: rt.Method, Path: rt.Path, Auth: rt.Auth})
	}
	return out
}
