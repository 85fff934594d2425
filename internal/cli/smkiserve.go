package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/smki/repository"
)

// dccboxedAllowance is the default expiry allowance of the built-in ZAZ1
// set, as for `duis verify --trust dccboxed`: DCC Boxed still uses role
// certificates that expired in 2025-26.
const dccboxedAllowance = 5 * 365 * 24 * time.Hour

// maxImportFile bounds a keystore JSON or certificate file named on the
// command line.
const maxImportFile = 64 << 20

// newSMKIServeCmd is `opendcc smki serve`.
func newSMKIServeCmd() *cobra.Command {
	var dir, listen, crlFile, deviceCRLFile, arlFile string
	var imports []string
	var allowance, rescan time.Duration
	c := &cobra.Command{
		Use:   "serve [--dir D] [--listen ADDR] [--import dccboxed|KEYSTORE.json|DIR|CERT ...] [--crl F] [--device-crl F] [--arl F]",
		Short: "Serve the SMKI repository interface (certificate search and retrieval, CRL/ARL) as DCC Boxed does on port 8083",
		Long: `Serves the DCC Boxed SMKI repository interface (see docs/smki-repository.md):

  POST /services/certificatesearch    CertificateSearchRequest -> CertificateSearchResponse
  POST /services/retrievecertificate  CertificateDataRequest   -> CertificateDataResponse
  GET  /crl, /crl/device, /arl        the revocation lists, DER

over the certificates of an OpenDCC CA folder D (--dir: every *.pem, *.der, *.crt, *.cer
certificate found under D, recursively; *.crl and CRL files there mark certificates revoked;
D is scanned again every --rescan so newly issued certificates appear without a restart) and
of imported trust material (--import, repeatable): "dccboxed" for the built-in ZAZ1 set of
DCC Boxed, a dccboxed-keystore keystore JSON, a folder of PEM/DER certificates such as the
RTDS key store, or one certificate file. DCC Boxed users' certificates thus work unchanged.

/crl, /crl/device and /arl serve --crl, --device-crl and --arl, by default the lists an
OpenDCC CA publishes: D/crl/org.crl, D/crl/device.crl and D/crl/arl.crl.

Statuses: R when a loaded revocation list names the certificate, P before NotBefore, E after
NotAfter (plus --expiry-allowance for imported material; the dccboxed import defaults to five
years because DCC Boxed still uses ZAZ1 certificates that expired in 2025-26), I otherwise.

Stops cleanly on SIGINT or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" && len(imports) == 0 {
				return exitf(exitUsage, "need --dir or --import")
			}
			stderr := cmd.ErrOrStderr()
			out := cmd.OutOrStdout()
			idx := repository.NewMemory(repository.Options{})

			for _, name := range imports {
				src := repository.Source{Name: name, ExpiryAllowance: allowance}
				if name == dccboxed.KeystoreName && !cmd.Flags().Changed("expiry-allowance") {
					src.ExpiryAllowance = dccboxedAllowance
				}
				n, err := importTrust(idx, name, src, stderr)
				if err != nil {
					return exitf(exitUsage, "--import %s: %v", name, err)
				}
				fmt.Fprintf(out, "smki serve: imported %d certificates from %s\n", n, name)
			}

			var ds *repository.DirSource
			if dir != "" {
				ds = &repository.DirSource{Dir: dir, Source: repository.Source{Name: dir}}
				rep, err := ds.Scan(idx)
				if err != nil {
					return exitf(exitUsage, "--dir: %v", err)
				}
				reportScan(stderr, rep)
				fmt.Fprintf(out, "smki serve: %d certificates and %d revocation lists from %s\n", rep.Certificates, rep.CRLs, dir)
			}

			lists := []*listFile{
				{path: crlFile, flag: "--crl", def: "crl/org.crl"},
				{path: deviceCRLFile, flag: "--device-crl", def: "crl/device.crl"},
				{path: arlFile, flag: "--arl", def: "crl/arl.crl"},
			}
			for _, l := range lists {
				if l.path == "" {
					l.flag = ""
					if dir != "" {
						// Served once it exists (a rescan picks it up).
						l.path = filepath.Join(dir, filepath.FromSlash(l.def))
					}
				}
				if err := l.load(idx, stderr); err != nil {
					if l.explicit() {
						return exitf(exitUsage, "%v", err)
					}
					fmt.Fprintf(stderr, "smki serve: warning: %v\n", err)
				}
			}
			crl, deviceCRL, arl := lists[0], lists[1], lists[2]

			logger := log.New(stderr, "", log.LstdFlags)
			h := &repository.Handler{
				Index:     idx,
				CRL:       crl.bytes,
				DeviceCRL: deviceCRL.bytes,
				ARL:       arl.bytes,
				Logf:      logger.Printf,
			}
			srv := &http.Server{
				Handler:           h,
				ReadHeaderTimeout: 10 * time.Second,
				ReadTimeout:       30 * time.Second,
				WriteTimeout:      30 * time.Second,
				IdleTimeout:       2 * time.Minute,
				MaxHeaderBytes:    64 << 10,
				ErrorLog:          logger,
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return exitf(exitUsage, "--listen %s: %v", listen, err)
			}

			parent := cmd.Context()
			if parent == nil {
				parent = context.Background()
			}
			ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
			defer stop()

			var wg sync.WaitGroup
			if rescan > 0 && (ds != nil || crl.path != "" || deviceCRL.path != "" || arl.path != "") {
				wg.Add(1)
				go func() {
					defer wg.Done()
					t := time.NewTicker(rescan)
					defer t.Stop()
					for {
						select {
						case <-ctx.Done():
							return
						case <-t.C:
						}
						if ds != nil {
							rep, err := ds.Scan(idx)
							if err != nil {
								logger.Printf("smki serve: rescan %s: %v", dir, err)
								continue
							}
							reportScan(stderr, rep)
							if rep.Certificates > 0 || rep.CRLs > 0 {
								logger.Printf("smki serve: %d new certificates, %d revocation lists from %s", rep.Certificates, rep.CRLs, dir)
							}
						}
						for _, l := range lists {
							if err := l.load(idx, stderr); err != nil {
								logger.Printf("smki serve: %v", err)
							}
						}
					}
				}()
			}

			counts := idx.Counts()
			fmt.Fprintf(out, "smki serve: %d certificates (%d organisation, %d device, %d authority); listening on http://%s\n",
				idx.Len(), counts[smki.KindOrganisation], counts[smki.KindDevice], counts[smki.KindAuthority], ln.Addr())

			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			var serveErr error
			select {
			case <-ctx.Done():
			case serveErr = <-errc:
			}
			stop()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			shutErr := srv.Shutdown(sctx)
			wg.Wait()
			if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
				return exitf(exitUsage, "serve: %v", serveErr)
			}
			if shutErr != nil {
				return exitf(exitUsage, "shutdown: %v", shutErr)
			}
			fmt.Fprintln(out, "smki serve: stopped")
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "OpenDCC CA folder whose certificates (and CRLs) are served, scanned recursively")
	c.Flags().StringVar(&listen, "listen", repository.DefaultAddr, "address to listen on (DCC Boxed's SMKI port is 8083)")
	c.Flags().StringArrayVar(&imports, "import", nil, `trust material to serve too: "dccboxed" (built-in ZAZ1 set), a keystore JSON, a certificate folder (e.g. the RTDS key store) or file (repeatable)`)
	c.Flags().StringVar(&crlFile, "crl", "", "Organisation CRL to serve at /crl and apply (DER or PEM; default D/crl/org.crl)")
	c.Flags().StringVar(&deviceCRLFile, "device-crl", "", "Device CRL to serve at /crl/device and apply (default D/crl/device.crl)")
	c.Flags().StringVar(&arlFile, "arl", "", "Authority Revocation List to serve at /arl and apply (default D/crl/arl.crl)")
	c.Flags().DurationVar(&allowance, "expiry-allowance", 0, "time past NotAfter before imported certificates count as expired (default 5 years for dccboxed, 0 otherwise)")
	c.Flags().DurationVar(&rescan, "rescan", 10*time.Second, "how often to look for new files in --dir and changed --crl/--arl (0: never)")
	return c
}

// importTrust adds one --import source to idx and returns how many
// certificates were new.
func importTrust(idx *repository.Memory, name string, src repository.Source, stderr io.Writer) (int, error) {
	if name == dccboxed.KeystoreName {
		s := smki.NewStore()
		if err := s.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
			return 0, fmt.Errorf("built-in DCC Boxed keystore: %w", err)
		}
		return idx.AddStore(s, src), nil
	}
	st, err := os.Stat(name)
	if err != nil {
		return 0, err
	}
	if st.IsDir() {
		rep, err := (&repository.DirSource{Dir: name, Source: src}).Scan(idx)
		if err != nil {
			return 0, err
		}
		reportScan(stderr, rep)
		return rep.Certificates, nil
	}
	if st.Size() > maxImportFile {
		return 0, fmt.Errorf("larger than %d bytes", maxImportFile)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, err
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		s := smki.NewStore()
		if err := s.LoadKeystoreJSON(b); err != nil {
			return 0, err
		}
		return idx.AddStore(s, src), nil
	}
	certs, err := smki.ParseCertificates(b)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range certs {
		if idx.Add(c, src) {
			n++
		}
	}
	return n, nil
}

func reportScan(w io.Writer, rep repository.DirReport) {
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "smki serve: skipped %s\n", s)
	}
	for _, s := range rep.Unverified {
		fmt.Fprintf(w, "smki serve: warning: %s: issuer not known, revocation list signature not checked\n", s)
	}
}

// listFile is a revocation list file served at /crl or /arl and applied to
// the index; it is read again when its size or time changes.
type listFile struct {
	path, flag string
	def        string // default path under --dir
	der        atomic.Pointer[[]byte]
	size       int64
	mod        time.Time
}

func (l *listFile) explicit() bool { return l.flag != "" }

func (l *listFile) bytes() []byte {
	if p := l.der.Load(); p != nil {
		return *p
	}
	return nil
}

func (l *listFile) load(idx *repository.Memory, stderr io.Writer) error {
	if l.path == "" {
		return nil
	}
	name := l.path
	if l.flag != "" {
		name = l.flag + " " + l.path
	}
	st, err := os.Stat(l.path)
	if err != nil {
		if !l.explicit() && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("%s: %v", name, err)
	}
	if st.Size() == l.size && st.ModTime().Equal(l.mod) {
		return nil
	}
	if st.Size() > maxImportFile {
		return fmt.Errorf("%s: larger than %d bytes", name, maxImportFile)
	}
	b, err := os.ReadFile(l.path)
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	crl, err := smki.ParseCRL(b)
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	verified, err := idx.AddCRL(crl)
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	if !verified {
		fmt.Fprintf(stderr, "smki serve: warning: %s: issuer not known, signature not checked\n", name)
	}
	der := crl.Raw
	l.der.Store(&der)
	l.size, l.mod = st.Size(), st.ModTime()
	return nil
}
