// Package server is the embeddable OpenDCC server: Start(cfg) opens the
// storage, builds the DUIS User Interface handler and the SMKI repository,
// and serves them; `opendcc serve` and the tests run the same code.
//
// Status (issue 6): requests are checked, answered synchronously and
// recorded durably; the device pipeline (GBCS build, send to simulated
// devices, asynchronous delivery) is not wired yet, so accepted device
// requests stay in state "accepted" (docs/processing.md).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/opendcc/opendcc/bus"
	"github.com/opendcc/opendcc/bus/natsjs"
	"github.com/opendcc/opendcc/dcc"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/sim"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/smki/repository"
	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/store/postgres"
	"github.com/opendcc/opendcc/store/sqlite"
	"github.com/opendcc/opendcc/wan"
)

// Config configures Start.
type Config struct {
	// DataDir holds the embedded database (created if missing).
	DataDir string
	// DUISAddr and SMKIAddr are the listen addresses; DCC Boxed uses ports
	// 8079 and 8083. Port 0 picks a free port (tests).
	DUISAddr, SMKIAddr string
	// Profile "dccboxed" seeds the ZAZ1 users and the RTDS device set.
	Profile string
	Log     *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ResponseURL is the Receive Response Service URL the dccboxed profile
	// gives its users when it first seeds them (default
	// DefaultResponseURL, where `opendcc send` listens).
	ResponseURL string
	// DeviceDeadline: a sent device request unanswered this long gets E21
	// (default 30 s).
	DeviceDeadline time.Duration
	// QueueDeviceResponses puts every device response on the bus before it
	// is finished, so that a received response survives a crash (default:
	// finished as it arrives; a crash then gives its request E21, see
	// dcc.Pipeline.Receive).
	QueueDeviceResponses bool
	// WANLinks overrides the simulated WAN's per-region latency and loss
	// (default wan.DefaultLinks()).
	WANLinks map[wan.Region]wan.Link
	// SimSeed derives the simulated devices' keys (default 1).
	SimSeed uint64
	// Admin configures the DCC User registry's config file and admin API
	// (server/admin.go).
	Admin AdminConfig
	// TLS, when set, serves the DUIS endpoints over TLS (server/tls.go).
	TLS *TLSConfig
	// PostgresDSN, when set, keeps the state in PostgreSQL instead of the
	// embedded SQLite file (same store interfaces and shared test suite);
	// PostgresSchema, when set, is the schema used (created if missing).
	PostgresDSN, PostgresSchema string
	// NATSURL, when set, runs the pipeline on an external JetStream server
	// or cluster instead of the embedded one. Several OpenDCC processes on
	// one PostgreSQL and one NATS share the work: leases in the store and
	// the bus's consumers decide who does what.
	NATSURL string
}

// DefaultResponseURL is where `opendcc send` listens for asynchronous
// responses by default.
const DefaultResponseURL = "http://127.0.0.1:8078/duis/response"

// Server is a running OpenDCC.
type Server struct {
	Store   store.Store
	DUISURL string // http://host:port of the DUIS endpoints
	SMKIURL string
	servers []*http.Server
	// closeOnce makes Close idempotent (bench e2e closes the server before
	// its deferred Close).
	closeOnce sync.Once
	trust     *smki.Store
	shutdown  []func()
	// Bus is the embedded JetStream of the device pipeline.
	Bus bus.Bus
	// Fleet is the simulated devices behind the simulated WAN.
	Fleet *sim.Fleet
	// WAN is the simulated smart-metering WAN (regions, outages, coverage).
	WAN *wan.Network
	// Pipeline sends device requests and delivers responses.
	Pipeline *dcc.Pipeline

	transport *simTransport
	// Registry holds the Prometheus metrics served on /metrics.
	Registry *prometheus.Registry
	metrics  *dcc.Metrics
}

// Start opens the store, seeds the profile and starts serving.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DataDir == "" {
		return nil, errors.New("server: DataDir is required")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, err
	}
	var st store.Store
	var err error
	if cfg.PostgresDSN != "" {
		st, err = postgres.Open(ctx, cfg.PostgresDSN, postgres.Options{Schema: cfg.PostgresSchema})
	} else {
		st, err = sqlite.Open(ctx, filepath.Join(cfg.DataDir, "opendcc.db"), sqlite.Options{})
	}
	if err != nil {
		return nil, err
	}
	s := &Server{Store: st, trust: smki.NewStore(), Registry: prometheus.NewRegistry()}
	s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = dcc.NewMetrics(s.Registry)
	s.shutdown = append(s.shutdown, func() { st.Close() })
	// The DCC's own identity and its users' certificates. Today the only
	// trust material is the DCC Boxed ZAZ1 set; an OpenDCC CA comes next.
	if err := s.trust.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		s.Close()
		return nil, err
	}
	key, cert, err := s.trust.XMLSigningKey(smki.DCCEUI)
	if err != nil {
		s.Close()
		return nil, err
	}
	if cfg.Profile == "dccboxed" {
		if cfg.ResponseURL == "" {
			cfg.ResponseURL = DefaultResponseURL
		}
		if err := seedDCCBoxed(ctx, st, s.trust, cfg.Now(), cfg.ResponseURL); err != nil {
			s.Close()
			return nil, err
		}
	} else if cfg.Profile != "" {
		s.Close()
		return nil, fmt.Errorf("server: unknown profile %q", cfg.Profile)
	}
	pipe, err := s.startPipeline(ctx, cfg, &dcc.Signer{Key: key, Cert: cert})
	if err != nil {
		s.Close()
		return nil, err
	}
	h := &dcc.Handler{
		Metrics:  s.metrics,
		Pipeline: pipe,
		WAN:      s.WAN,
		Intake:   &dcc.Intake{Certificates: s.trust, Now: cfg.Now, Allowance: 5 * 365 * 24 * time.Hour},
		Access:   dcc.AccessControl{DCC: smki.DCCEUI, Now: cfg.Now},
		Signer:   &dcc.Signer{Key: key, Cert: cert},
		Broker:   brokerCredentials(s.trust, smki.DCCEUI),
		Store:    st,
		Now:      cfg.Now,
		Log:      cfg.Log,
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", h)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	if err := s.startAdmin(ctx, cfg, mux); err != nil {
		s.Close()
		return nil, err
	}
	if s.DUISURL, err = s.serveDUIS(cfg, mux); err != nil {
		s.Close()
		return nil, err
	}
	idx := repository.NewMemory(repository.Options{Now: cfg.Now})
	idx.AddStore(s.trust, repository.Source{Name: "dccboxed", ExpiryAllowance: 5 * 365 * 24 * time.Hour})
	devIdx := &deviceIndex{Memory: idx, tr: s.transport}
	if s.SMKIURL, err = s.serve(cfg.SMKIAddr, &repository.Handler{Index: devIdx}); err != nil {
		s.Close()
		return nil, err
	}
	cfg.Log.Info("opendcc serving", "duis", s.DUISURL, "smki", s.SMKIURL, "data", cfg.DataDir, "profile", cfg.Profile)
	return s, nil
}

// startPipeline opens the embedded bus and the simulated fleet and WAN, and
// starts the device pipeline on them.
func (s *Server) startPipeline(ctx context.Context, cfg Config, signer *dcc.Signer) (*dcc.Pipeline, error) {
	var b *natsjs.Bus
	var err error
	if cfg.NATSURL != "" {
		b, err = natsjs.OpenURL(ctx, cfg.NATSURL, natsjs.URLOptions{Name: "opendcc"})
	} else {
		b, err = natsjs.OpenEmbedded(ctx, natsjs.EmbeddedOptions{StoreDir: filepath.Join(cfg.DataDir, "bus")})
	}
	if err != nil {
		return nil, err
	}
	s.Bus = b
	s.shutdown = append(s.shutdown, func() { b.Close() })
	links := cfg.WANLinks
	if links == nil {
		links = wan.DefaultLinks()
	}
	s.WAN = wan.New(wan.Options{Links: links})
	seed := cfg.SimSeed
	if seed == 0 {
		seed = 1
	}
	tr := &simTransport{net: s.WAN, inv: s.Store.Inventory(), log: cfg.Log}
	fleet, err := sim.NewFleet(sim.Options{Seed: seed, AlertSink: tr.alert, CommsHubDown: s.WAN.Down})
	if err != nil {
		return nil, err
	}
	s.Fleet, tr.fleet, s.transport = fleet, fleet, tr
	deadline := cfg.DeviceDeadline
	if deadline <= 0 {
		deadline = 30 * time.Second
	}
	p := &dcc.Pipeline{
		Store: s.Store, Bus: b, Security: gbcs.NewSecurity(fleet.KeyStore(), 0), ACB: smki.DCCEUI,
		Transport: tr, Signer: signer, Deadline: deadline, Now: cfg.Now, Log: cfg.Log,
		Parties: dccParties(s.trust), QueueResponses: cfg.QueueDeviceResponses,
	}
	p.Metrics = s.metrics
	tr.recv = p.Receive
	done := make(chan struct{})
	go tr.tickLoop(done)
	s.shutdown = append(s.shutdown, func() { close(done) })
	s.registerQueueGauges(b)
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	s.Pipeline = p
	s.shutdown = append(s.shutdown, p.Stop)
	return p, nil
}

// registerQueueGauges exports the pipeline's queue depths: messages
// waiting per bus consumer, requests per state, undelivered responses.
func (s *Server) registerQueueGauges(b bus.Bus) {
	for _, c := range []string{"send", "device"} {
		consumer := c
		s.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "opendcc_bus_pending",
			Help: "Messages waiting or unacknowledged on a pipeline consumer.", ConstLabels: prometheus.Labels{"consumer": consumer}},
			func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				p, err := b.Pending(ctx, dcc.StreamName, consumer)
				if err != nil {
					return -1
				}
				return float64(p.Waiting) + float64(p.AckPending)
			}))
	}
	for _, st := range []store.RequestState{store.RequestAccepted, store.RequestSent} {
		state := st
		s.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "opendcc_requests_in_state",
			Help: "Device requests not yet final, by state.", ConstLabels: prometheus.Labels{"state": string(state)}},
			func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				m, err := s.Store.Requests().CountByState(ctx)
				if err != nil {
					return -1
				}
				return float64(m[state])
			}))
	}
	s.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "opendcc_outbox_undelivered",
		Help: "Responses and alerts queued for Users and not yet delivered (first 10000)."},
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			ms, err := s.Store.Outbox().Undelivered(ctx, eui.EUI64{}, time.Now(), 10000)
			if err != nil {
				return -1
			}
			return float64(len(ms))
		}))
}

// ready answers /readyz: 200 when the store answers and the bus's
// consumers exist, 503 with the reason otherwise.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.Store.Inventory().GetDevice(ctx, eui.EUI64{}); err != nil && !errors.Is(err, store.ErrNotFound) {
		http.Error(w, "store: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	if s.Bus != nil {
		if _, err := s.Bus.Pending(ctx, dcc.StreamName, "send"); err != nil {
			http.Error(w, "bus: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	w.Write([]byte("ready\n"))
}

func (s *Server) serve(addr string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), nil
}

// Close stops serving (letting requests in flight finish) and closes the
// store. Later calls do nothing.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, srv := range s.servers {
			srv.Shutdown(ctx)
		}
		for i := len(s.shutdown) - 1; i >= 0; i-- {
			s.shutdown[i]()
		}
	})
	return nil
}
