package repository

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// HTTP paths served by Handler.
const (
	PathSearch    = "/services/certificatesearch"
	PathRetrieve  = "/services/retrievecertificate"
	PathCRL       = "/crl"        // Organisation CRL
	PathDeviceCRL = "/crl/device" // Device CRL (an OpenDCC CA publishes one)
	PathARL       = "/arl"        // Authority Revocation List
)

// DefaultAddr is the DCC Boxed SMKI port, on loopback.
const DefaultAddr = "127.0.0.1:8083"

// Handler serves the SMKI repository interface over an Index:
//
//	POST /services/certificatesearch    200 CertificateSearchResponse | 402 none found | 401 malformed
//	POST /services/retrievecertificate  200 CertificateDataResponse   | 402 unknown serial | 401 malformed
//	GET  /crl, /crl/device, /arl        200 application/pkix-crl (DER) | 404 not configured
//
// Other methods get 405, other paths 404, request bodies over
// MaxRequestSize 413. Query parameters (the reference client sends apikey)
// and the request Content-Type are ignored. Successful responses are
// application/xml; errors are text/plain with a one-line reason.
type Handler struct {
	Index Index
	// CRL (Organisation CRL), DeviceCRL and ARL return the DER revocation
	// lists to serve, or nil when there are none (404). They may be nil.
	CRL, DeviceCRL, ARL func() []byte
	// Logf, when set, is told about every refused request.
	Logf func(format string, args ...any)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case PathSearch:
		if !allow(w, r, http.MethodPost) {
			return
		}
		h.search(w, r)
	case PathRetrieve:
		if !allow(w, r, http.MethodPost) {
			return
		}
		h.retrieve(w, r)
	case PathCRL:
		h.list(w, r, h.CRL, "CRL")
	case PathDeviceCRL:
		h.list(w, r, h.DeviceCRL, "Device CRL")
	case PathARL:
		h.list(w, r, h.ARL, "ARL")
	case "/":
		if !allow(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "OpenDCC SMKI repository\n"+
			"POST "+PathSearch+"\n"+
			"POST "+PathRetrieve+"\n"+
			"GET  "+PathCRL+"\n"+
			"GET  "+PathDeviceCRL+"\n"+
			"GET  "+PathARL+"\n")
	default:
		h.fail(w, r, http.StatusNotFound, "no such endpoint")
	}
}

func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	hdr := methods[0]
	for _, m := range methods[1:] {
		hdr += ", " + m
	}
	w.Header().Set("Allow", hdr)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if h.Logf != nil {
		h.Logf("smki repository: %s %s: %d %s", r.Method, r.URL.Path, code, msg)
	}
	http.Error(w, msg, code)
}

// readBody reads at most MaxRequestSize bytes; larger bodies are refused
// with 413.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestSize+1))
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "reading request: "+err.Error())
		return nil, false
	}
	if len(b) > MaxRequestSize {
		h.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("request larger than %d bytes", MaxRequestSize))
		return nil, false
	}
	return b, true
}

func (h *Handler) search(w http.ResponseWriter, r *http.Request) {
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	q, err := ParseSearchRequest(body)
	if err != nil {
		h.fail(w, r, http.StatusUnauthorized, err.Error())
		return
	}
	recs := h.Index.Search(q)
	if len(recs) == 0 {
		h.fail(w, r, http.StatusPaymentRequired, "no certificate found")
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	AppendSearchResponse(buf, recs)
	writeXML(w, buf)
	bufPool.Put(buf)
}

func (h *Handler) retrieve(w http.ResponseWriter, r *http.Request) {
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	serial, err := ParseDataRequest(body)
	if err != nil {
		h.fail(w, r, http.StatusUnauthorized, err.Error())
		return
	}
	rec, found := h.Index.BySerial(serial)
	if !found {
		h.fail(w, r, http.StatusPaymentRequired, "no certificate with serial "+serial.Text(16))
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	AppendDataResponse(buf, rec)
	writeXML(w, buf)
	bufPool.Put(buf)
}

func writeXML(w http.ResponseWriter, buf *bytes.Buffer) {
	hd := w.Header()
	hd.Set("Content-Type", "application/xml; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, get func() []byte, what string) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	var der []byte
	if get != nil {
		der = get()
	}
	if len(der) == 0 {
		h.fail(w, r, http.StatusNotFound, "no "+what+" configured")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/pkix-crl")
	hd.Set("Content-Length", strconv.Itoa(len(der)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(der)
	}
}

// IsBadRequest reports whether err came from parsing a malformed request.
func IsBadRequest(err error) bool { return errors.Is(err, ErrBadRequest) }
