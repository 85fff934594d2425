package dcc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/beevik/etree"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/store"
)

// MaxRequestBytes is the largest request body the DUIS endpoints accept
// (413 above it).
const MaxRequestBytes = 4 << 20

// Handler serves the DCC User Interface web services (DCC Boxed paths):
// POST /api/v1/serviceS (Send Command), /api/v1/serviceT (Transform) and
// /api/v1/serviceD (Non-Device), application/xml in and out. Every request
// that reaches processing gets HTTP 200 with a signed DUIS Response: the
// E-code of the first check it fails, I99 for an accepted device request
// (recorded durably first), I0 with DSPInventory for 8.2 Read Inventory,
// and I99 for the other non-device services (recorded durably first).
type Handler struct {
	Intake *Intake
	// Access carries the DCC's EUI and the clock; its Dir and Counters are
	// replaced, per request, by a StoreDirectory over the transaction that
	// also records the request, so the anti-replay counter is consumed if
	// and only if the request is recorded.
	Access AccessControl
	Signer *Signer
	Store  store.Store
	// Metrics, when set, counts requests by SRV and code and times them.
	Metrics *Metrics
	// Pipeline, when set, builds, sends and answers device requests;
	// without it accepted device requests are only recorded.
	Pipeline *Pipeline
	// WAN answers 12.1 Request WAN Matrix (nil: every location unknown).
	WAN WANCoverage
	// Broker are the ACB certificates 8.6 Service Opt In gives out.
	Broker BrokerCredentials
	// Deadline is how long an accepted device request may stay unanswered
	// (E21) once sent; recorded for the device pipeline. Default 1 minute.
	Deadline time.Duration
	// Now is the clock of ResponseDateTime and AcceptedAt (default time.Now).
	Now func() time.Time
	Log *slog.Logger
}

var endpointPaths = map[string]Endpoint{
	"/api/v1/serviceS": EndpointSend,
	"/api/v1/serviceT": EndpointTransform,
	"/api/v1/serviceD": EndpointNonDevice,
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// readBody is io.ReadAll, with the buffer sized by the request's
// Content-Length when it declares one within the limit (io.ReadAll starts
// at 512 bytes and grows, copying, to the size of a signed request).
func readBody(r io.Reader, contentLength int64) ([]byte, error) {
	if contentLength <= 0 || contentLength > MaxRequestBytes {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, contentLength+1) // +1: EOF is read without growing
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // more than declared: grow as io.ReadAll does
		}
	}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep, ok := endpointPaths[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: POST a signed DUIS request", http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != "application/xml" && mt != "text/xml") {
		http.Error(w, "unsupported media type: want application/xml", http.StatusUnsupportedMediaType)
		return
	}
	data, err := readBody(http.MaxBytesReader(w, r.Body, MaxRequestBytes), r.ContentLength)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("request larger than %d bytes", MaxRequestBytes), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	start := time.Now()
	resp, err := h.process(r.Context(), data, ep)
	if h.Metrics != nil {
		h.Metrics.RequestSeconds.WithLabelValues(string(ep)).Observe(time.Since(start).Seconds())
	}
	var unsupported errUnsupported
	if errors.Is(err, errNotYet) || errors.As(err, &unsupported) {
		// Nothing was recorded and no counter consumed: the request can be
		// sent again once OpenDCC maps it.
		http.Error(w, "not implemented: "+err.Error(), http.StatusNotImplemented)
		return
	}
	if err != nil {
		h.log().Error("duis request failed", "endpoint", string(ep), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	w.Write(resp)
}

// process returns the signed DUIS response for a posted request; an error
// is an internal failure (storage, signing), not a rejection.
func (h *Handler) process(ctx context.Context, data []byte, ep Endpoint) ([]byte, error) {
	if ep == EndpointSend {
		h.Pipeline.admit(ctx) // backpressure: nil-safe
	}
	now := h.now()
	p, err := h.Intake.Parse(data, ep)
	var rj *Rejection
	if errors.As(err, &rj) {
		return h.reject(data, rj, now)
	}
	if err != nil {
		return nil, err
	}
	parts := ResponseParts{RequestID: p.RawRequestID, SR: p.SRV.ServiceReference, SRV: p.SRV.Variant, Time: now}
	// The meta depends on the request alone (Check accepts p.Request as
	// it is): made here, it is off the group committer's serial path.
	meta := requestMeta{RequestID: p.Request.ID.String(), Endpoint: p.Request.Endpoint, Body: p.Request.Body, Request: data}.marshal()
	var nd *nonDeviceResult
	var prep *prepared
	err = h.Store.InTx(ctx, func(tx store.Repos) error {
		sd := &StoreDirectory{Repos: tx, Ctx: ctx}
		ac := h.Access
		ac.Dir, ac.Counters = sd, sd
		acc, err := ac.Check(p.Request)
		if err != nil {
			return err // a *Rejection rolls back too: nothing was written
		}
		if acc.SRV.NonDevice {
			nd, err = h.nonDevice(ctx, tx, acc, p.Message, data, now)
			return err
		}
		if h.Pipeline == nil {
			if acc.CV == duis.CVTransform {
				return errNotYet
			}
			return h.record(ctx, tx, acc, data, now)
		}
		prep, err = h.Pipeline.prepare(ctx, tx, sd, acc, p.Message, now)
		if err != nil {
			return err
		}
		if acc.CV == duis.CVTransform {
			return nil // not recorded; the counter is consumed by the CV 5/6/7
		}
		return h.recordMeta(ctx, tx, acc, meta, now, prep)
	})
	if errors.As(err, &rj) {
		return h.signed(ResponseParts{RequestID: parts.RequestID, SR: parts.SR, SRV: parts.SRV, Code: rj.Code, Time: now}, rj)
	}
	if err != nil {
		return nil, err
	}
	if nd != nil {
		parts.Code, parts.Fill = nd.Code, nd.Fill
		return h.signed(parts, nil)
	}
	parts.Code = "I99"
	if prep != nil {
		parts.Code, parts.PreCommand = prep.code, prep.pre
		if prep.local != nil {
			parts.Fill = func(rm *duis.ResponseMessage) {
				rm.LocalCommand = &duis.LocalCommand{GBCSPayload: b64(prep.local)}
			}
		}
		if prep.command != nil && !prep.held {
			h.Pipeline.track(prep.record) // before the device can answer
			if err := h.Pipeline.enqueueCommand(ctx, p.ID.Canonical(), prep.device, prep.command); err != nil {
				// Recorded: the pipeline republishes accepted requests.
				h.log().Warn("queueing an accepted request failed; it is sent on recovery", "request", p.ID.Canonical(), "err", err)
			}
		}
	}
	return h.signed(parts, nil)
}

var errNotYet = errors.New("dcc: command variant 4 (transform) needs the device pipeline")

func (h *Handler) signed(p ResponseParts, rj *Rejection) ([]byte, error) {
	if h.Metrics != nil {
		h.Metrics.Requests.WithLabelValues(p.SRV, p.Code).Inc()
	}
	if rj != nil {
		h.log().Info("duis request rejected", "requestId", p.RequestID, "srv", p.SRV, "code", rj.Code, "reason", rj.Reason)
	}
	return h.Signer.Response(p)
}

// requestMeta is the core's own record of an accepted request (store
// Request.Meta): what the device pipeline needs to build the command.
type requestMeta struct {
	RequestID string   `json:"requestId"` // as received, echoed in responses
	Endpoint  Endpoint `json:"endpoint"`
	Body      string   `json:"body"`
	Request   []byte   `json:"request"` // the signed DUIS request as posted
	// ScheduleID: a run of this DCC Schedule (the DCC issued the request;
	// its answer is a DSPScheduledMessage).
	ScheduleID string `json:"scheduleId,omitempty"`
}

// plainJSON reports whether json.Marshal writes s as it is between quotes:
// printable ASCII without the characters it escapes (" \ and the HTML
// ones < > &).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7E, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// marshal returns json.Marshal(m), byte for byte, without reflection: the
// signed request it holds is base64-encoded straight into the output (the
// reflective encoder cost ≈ 9 µs a request). The strings are few and short
// and go through json.Marshal, for its escaping.
func (m requestMeta) marshal() []byte {
	str := func(b []byte, s string) []byte {
		if plainJSON(s) {
			return append(append(append(b, '"'), s...), '"')
		}
		q, _ := json.Marshal(s) // a string always marshals
		return append(b, q...)
	}
	b := make([]byte, 0, 96+len(m.RequestID)+len(m.Body)+base64.StdEncoding.EncodedLen(len(m.Request)))
	b = str(append(b, `{"requestId":`...), m.RequestID)
	b = str(append(b, `,"endpoint":`...), string(m.Endpoint))
	b = str(append(b, `,"body":`...), m.Body)
	b = append(b, `,"request":`...)
	if m.Request == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, m.Request)
		b = append(b, '"')
	}
	if m.ScheduleID != "" {
		b = str(append(b, `,"scheduleId":`...), m.ScheduleID)
	}
	return append(b, '}')
}

// metaRequestID is the RequestID as received from a request's meta. It
// reads only the leading "requestId" member (json.Marshal writes it first):
// the meta also holds the signed request, whose few kilobytes a full
// Unmarshal would scan and base64-decode for every final response.
func metaRequestID(meta []byte) string {
	const prefix = `{"requestId":"`
	if bytes.HasPrefix(meta, []byte(prefix)) {
		rest := meta[len(prefix):]
		if i := bytes.IndexByte(rest, '"'); i >= 0 && bytes.IndexByte(rest[:i], '\\') < 0 {
			return string(rest[:i])
		}
	}
	var m struct {
		RequestID string `json:"requestId"`
	}
	json.Unmarshal(meta, &m)
	return m.RequestID
}

// record stores an accepted request in state accepted, in the transaction
// that consumed its counter.
func (h *Handler) record(ctx context.Context, tx store.Repos, acc *Accepted, data []byte, now time.Time) error {
	return h.recordPrepared(ctx, tx, acc, data, now, nil)
}

// recordPrepared records an accepted device request with the command the
// pipeline prepared: queued for sending; held until its execution time if
// it is future-dated in the DSP pattern; finished at once (I0 with the
// command) if it is for local delivery only (CV 2, 6).
func (h *Handler) recordPrepared(ctx context.Context, tx store.Repos, acc *Accepted, data []byte, now time.Time, prep *prepared) error {
	meta := requestMeta{RequestID: acc.ID.String(), Endpoint: acc.Endpoint, Body: acc.Body, Request: data}.marshal()
	return h.recordMeta(ctx, tx, acc, meta, now, prep)
}

// recordMeta is recordPrepared with the request's meta already made.
func (h *Handler) recordMeta(ctx context.Context, tx store.Repos, acc *Accepted, meta []byte, now time.Time, prep *prepared) error {
	r := store.Request{
		ID:             acc.ID.Canonical(),
		Originator:     acc.ID.Originator,
		Target:         acc.ID.Target,
		Counter:        acc.ID.Counter,
		SRV:            acc.SRV.Variant,
		CommandVariant: int(acc.CV),
		Role:           store.Role(acc.Role),
		ExecuteAt:      executeAt(acc.Request),
		State:          store.RequestAccepted,
		AcceptedAt:     now,
		Meta:           meta,
	}
	if prep == nil {
		return tx.Requests().InsertRequest(ctx, r)
	}
	r.GBCS = prep.command
	if r.GBCS == nil {
		r.GBCS = prep.local
	}
	// The deadline is set now (E21 if no answer by then, whatever happened
	// to the send): a send redelivered after a crash at worst repeats the
	// command, which the device refuses as a replay.
	start := now
	if !acc.Execute.IsZero() && !acc.Cancellation() && acc.Execute.After(now) && !deviceFutureDated(acc.SRV) {
		start = acc.Execute
	}
	r.Deadline = start.Add(h.Pipeline.deadline())
	if err := tx.Requests().InsertRequest(ctx, r); err != nil {
		return err
	}
	prep.record = r
	if prep.command == nil { // local delivery only: answered now
		_, err := tx.Requests().Finish(ctx, r.ID, store.RequestResponded, prep.code, prep.local, now)
		return err
	}
	if !acc.Execute.IsZero() && !acc.Cancellation() && acc.Execute.After(now) && !deviceFutureDated(acc.SRV) {
		prep.held = true
		_, err := tx.Holds().PutHold(ctx, store.Hold{ID: "future-dated:" + r.ID, Kind: "future-dated",
			Owner: acc.ID.Originator, RequestID: r.ID, ReleaseAt: acc.Execute, CreatedAt: now})
		return err
	}
	if !acc.Execute.IsZero() && !acc.Cancellation() && acc.Execute.After(now) && deviceFutureDated(acc.SRV) {
		return h.Pipeline.awaitExecution(ctx, tx, r, acc.Execute, now) // E30 unless reported
	}
	return nil
}

// reject answers a request refused before access control. The RequestID is
// echoed when it parses, SR/SRV when they name a known service; a request
// whose SR/SRV cannot be read gets them empty (the only response OpenDCC
// sends that is not schema-valid: the schema requires a known SR).
func (h *Handler) reject(data []byte, rj *Rejection, now time.Time) ([]byte, error) {
	p := ResponseParts{Code: rj.Code, Time: now}
	doc := etree.NewDocument()
	if doc.ReadFromBytes(data) == nil && doc.Root() != nil {
		var header *etree.Element
		for _, e := range doc.Root().ChildElements() {
			if e.Tag == "Header" {
				header = e
				break
			}
		}
		if header != nil {
			field := func(tag string) string {
				for _, e := range header.ChildElements() {
					if e.Tag == tag {
						return e.Text()
					}
				}
				return ""
			}
			if id := field("RequestID"); id != "" {
				if _, err := duis.ParseRequestID(id); err == nil {
					p.RequestID = id
				}
			}
			if srv, ok := duis.LookupSRV(field("ServiceReferenceVariant")); ok {
				p.SR, p.SRV = srv.ServiceReference, srv.Variant
			}
		}
	}
	return h.signed(p, rj)
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// inventoryDevice maps an inventory entry onto the DUIS Device record.
// DateCommissioned is the date the device last became Commissioned, when it
// is Commissioned now.
func inventoryDevice(d store.Device) duis.Device {
	out := duis.Device{
		DeviceID:              d.ID.String(),
		DeviceType:            string(d.Type),
		DeviceStatus:          opt(string(d.Status)),
		DeviceManufacturer:    d.Manufacturer,
		DeviceModel:           d.Model,
		SMETSCHTSVersion:      opt(d.SMETSVersion),
		DeviceFirmwareVersion: opt(d.FirmwareVersion),
		ImportMPxN:            opt(d.ImportMPxN),
		SecondaryImportMPAN:   opt(d.SecondaryImportMPAN),
		ExportMPAN:            opt(d.ExportMPAN),
		ESMEVariant:           opt(d.ESMEVariant),
		UPRN:                  opt(d.UPRN),
		CSPRegion:             opt(d.CSPRegion),
	}
	if d.Status == store.StatusCommissioned && !d.StatusSince.IsZero() {
		out.DateCommissioned = opt(d.StatusSince.UTC().Format("2006-01-02"))
	}
	return out
}

// executeAt is the execution time to record: none for a cancellation (its
// year-3000 sentinel is outside the store's time range).
func executeAt(r Request) time.Time {
	if r.Cancellation() {
		return time.Time{}
	}
	return r.Execute
}
