package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/xmldsig"
)

// DefaultListen and DefaultPath make the Receive Response Service URL the
// `serve --profile dccboxed` users are configured with:
// http://127.0.0.1:8078/duis/response.
const (
	DefaultListen = "127.0.0.1:8078"
	DefaultPath   = "/duis/response"
)

// maxDeliveryBytes bounds a delivered document.
const maxDeliveryBytes = 4 << 20

// Listener is a User's Receive Response Service: it takes the DUIS
// responses and alerts the DCC POSTs, answers 204 for a schema-valid
// document signed by the DCC and 400 when schema or signature validation
// fails (as the DCC Boxed node-red receiver does), and hands each accepted
// response to whoever awaits its RequestID. Others (alerts, responses to
// other requests) go to Unmatched.
//
// Set the fields before the first delivery.
type Listener struct {
	// Verify returns the signature checks (trust store, the DCC as
	// expected signer, validity); required.
	Verify func() xmldsig.VerifyOptions
	// Security decodes and checks the GBCS payloads (nil: decode only).
	Security *gbcs.Security
	// Unmatched, when set, is given each accepted document nobody awaits.
	Unmatched func(*Response)
	// Rejected, when set, is told why a delivery got 400.
	Rejected func(reason string)

	mu      sync.Mutex
	waiters map[string]chan *Response
	srv     *http.Server
	url     string
}

// Listen starts a Listener on addr ("127.0.0.1:0" picks a free port)
// serving DefaultPath.
func Listen(addr string, verify func() xmldsig.VerifyOptions) (*Listener, error) {
	l := &Listener{Verify: verify}
	if err := l.Start(addr); err != nil {
		return nil, err
	}
	return l, nil
}

// Start serves the Listener on addr at DefaultPath.
func (l *Listener) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("client: listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(DefaultPath, l)
	l.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	l.url = "http://" + ln.Addr().String() + DefaultPath
	go l.srv.Serve(ln)
	return nil
}

// URL is the Receive Response Service URL the listener serves.
func (l *Listener) URL() string { return l.url }

// Close stops serving.
func (l *Listener) Close() error {
	if l.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return l.srv.Shutdown(ctx)
}

// Await registers interest in the response to id; the channel receives the
// first accepted response that echoes it. Call cancel when done.
func (l *Listener) Await(id duis.RequestID) (<-chan *Response, func()) {
	key := id.Canonical()
	ch := make(chan *Response, 1)
	l.mu.Lock()
	if l.waiters == nil {
		l.waiters = map[string]chan *Response{}
	}
	l.waiters[key] = ch
	l.mu.Unlock()
	return ch, func() {
		l.mu.Lock()
		if l.waiters[key] == ch {
			delete(l.waiters, key)
		}
		l.mu.Unlock()
	}
}

// ServeHTTP takes one delivery.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a signed DUIS response or alert", http.StatusMethodNotAllowed)
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDeliveryBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading: "+err.Error(), http.StatusBadRequest)
		return
	}
	resp, reason := l.check(data)
	if resp == nil {
		if l.Rejected != nil {
			l.Rejected(reason)
		}
		http.Error(w, reason, http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
	l.deliver(resp)
}

// check returns the accepted response, or nil and why it is refused.
func (l *Listener) check(data []byte) (*Response, string) {
	var opts xmldsig.VerifyOptions
	if l.Verify != nil {
		opts = l.Verify()
	}
	resp, err := ParseResponse(data, opts, l.Security)
	if err != nil {
		return nil, "not a DUIS response: " + err.Error()
	}
	if resp.SchemaError != "" {
		return nil, "schema-invalid: " + resp.SchemaError
	}
	if !resp.SignatureValid {
		return nil, "signature: " + resp.SignatureError
	}
	return resp, ""
}

func (l *Listener) deliver(resp *Response) {
	var ch chan *Response
	if resp.RequestID != "" {
		if id, err := duis.ParseRequestID(resp.RequestID); err == nil {
			key := id.Canonical()
			l.mu.Lock()
			ch = l.waiters[key]
			delete(l.waiters, key)
			l.mu.Unlock()
		}
	}
	if ch != nil {
		ch <- resp // buffered, one per registration
		return
	}
	if l.Unmatched != nil {
		l.Unmatched(resp)
	}
}
