package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// TLSConfig configures TLS on the DUIS endpoints (docs/admin.md). The
// certificates are ordinary X.509 ones given by the operator: SMKI
// organisation certificates do not parse with crypto/x509 (their subject
// carries the EUI-64 as a BIT STRING), so they cannot serve as TLS
// certificates here.
type TLSConfig struct {
	// CertFile and KeyFile are the server's PEM certificate (chain) and key.
	CertFile, KeyFile string
	// ClientCAFile, when set, is a PEM bundle of the CAs that client
	// certificates must chain to.
	ClientCAFile string
	// RequireClientCert refuses clients without a valid certificate
	// (needs ClientCAFile); otherwise a certificate is verified if given.
	RequireClientCert bool
}

// tlsConfig builds the crypto/tls configuration (TLS 1.2 and later).
func (c *TLSConfig) tlsConfig() (*tls.Config, error) {
	if c.CertFile == "" || c.KeyFile == "" {
		return nil, errors.New("TLS: a certificate file and a key file are both required")
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS: server certificate %s / key %s: %w", c.CertFile, c.KeyFile, err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	switch {
	case c.ClientCAFile != "":
		pemData, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("TLS: client CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("TLS: client CA file %s: no X.509 PEM certificate could be read (SMKI certificates cannot serve here)", c.ClientCAFile)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		if c.RequireClientCert {
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
	case c.RequireClientCert:
		return nil, errors.New("TLS: requiring client certificates needs a client CA file")
	}
	return tc, nil
}

// serveDUIS serves the DUIS endpoints on cfg.DUISAddr: plain HTTP, or
// HTTPS when cfg.TLS is set.
func (s *Server) serveDUIS(cfg Config, h http.Handler) (string, error) {
	if cfg.TLS == nil {
		return s.serve(cfg.DUISAddr, h)
	}
	tc, err := cfg.TLS.tlsConfig()
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", cfg.DUISAddr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, TLSConfig: tc, ReadHeaderTimeout: 10 * time.Second,
		// Refused handshakes (no or untrusted client certificate) go to
		// the server log.
		ErrorLog: slog.NewLogLogger(cfg.Log.Handler(), slog.LevelInfo)}
	s.servers = append(s.servers, srv)
	go srv.ServeTLS(ln, "", "")
	return "https://" + ln.Addr().String(), nil
}
