package web

// routes is every page and form action of the console: the public pages
// and the storefront here, each centre's in its own file.
func (s *Server) routes() []route {
	rs := []route{
		{Method: "GET", Path: "/{$}", handle: s.catalogue},
		{Method: "GET", Path: "/login", handle: s.loginPage},
		{Method: "POST", Path: "/login", handle: s.login},
		{Method: "POST", Path: "/logout", handle: s.logout},
		{Method: "GET", Path: "/register", handle: s.registerPage},
		{Method: "POST", Path: "/register", handle: s.register},
	}
	rs = append(rs, s.storefrontRoutes()...)
	rs = append(rs, s.buyerRoutes()...)
	rs = append(rs, s.sellerRoutes()...)
	rs = append(rs, s.messageRoutes()...)
	rs = append(rs, s.opsRoutes()...)
	return rs
}
