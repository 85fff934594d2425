package server

import "net/http"

// TLSConfig configures TLS on the DUIS endpoints.
type TLSConfig struct{}

// serveDUIS serves the DUIS endpoints on cfg.DUISAddr (TLS not built yet).
func (s *Server) serveDUIS(cfg Config, h http.Handler) (string, error) {
	return s.serve(cfg.DUISAddr, h)
}
