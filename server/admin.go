package server

import (
	"context"
	"net/http"
)

// AdminConfig configures the DCC User registry's config file and admin API.
type AdminConfig struct{}

// startAdmin loads the users config file and mounts the admin API.
// Not built yet (issue 6): see the admin helper's work.
func (s *Server) startAdmin(ctx context.Context, cfg Config, mux *http.ServeMux) error {
	return nil
}
