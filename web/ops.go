package web

// The operator console: review queues, and the dashboard of delivery
// health per seller.

func (s *Server) opsRoutes() []route { return nil }
