package web

// Production interface messages, for a seller (its own) and an operator
// (all): lists with filters, each message's attempts, re-invocation.

func (s *Server) messageRoutes() []route { return nil }
