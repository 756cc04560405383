package web

// The buyer centre: my orders and instances, renewal, change of spec,
// unsubscription, balance and its history.

func (s *Server) buyerRoutes() []route { return nil }
