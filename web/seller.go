package web

// The seller centre: onboarding, certification, products, applications,
// access keys and the inbox.

func (s *Server) sellerRoutes() []route { return nil }
