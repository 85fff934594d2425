// Package client is a DCC User's side of the DUIS interface, as the DCC
// Boxed tooling does it: sign a service request, post it to the web service
// its command variant needs, run the critical two-step (CV 4 Transform →
// Pre-Command → User-signed CV 5), verify the signed synchronous answer, and
// wait for the asynchronous final response on the User's Receive Response
// Service (a Listener), decoding its GBCS payload.
//
// `opendcc send` is a thin command over Client.Send.
package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/internal/xmlsafe"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/xmldsig"
)

// Errors Send wraps; the command maps them to exit statuses.
var (
	// ErrInvalidRequest: the input is not a usable DUIS request.
	ErrInvalidRequest = errors.New("client: not a usable DUIS request")
	// ErrNoKey: the keystore has no XML-signing key of the originator, or
	// no GBCS digital-signing key to sign the Pre-Command with.
	ErrNoKey = errors.New("client: key missing")
	// ErrTransport: the server could not be reached, or answered something
	// other than HTTP 200 with application/xml.
	ErrTransport = errors.New("client: transport")
	// ErrBadResponse: a synchronous answer that is not a DUIS response, or
	// an I-code answer (or Pre-Command) that fails schema or signature checks.
	ErrBadResponse = errors.New("client: bad response")
	// ErrTimeout: no final response arrived before Timeout.
	ErrTimeout = errors.New("client: timed out waiting for the asynchronous response")
)

// DefaultTimeout is how long Send waits for the asynchronous response.
const DefaultTimeout = 60 * time.Second

// Client sends DUIS requests to an OpenDCC or DCC Boxed server.
type Client struct {
	// Server is the base URL of the DUIS web services, e.g.
	// http://127.0.0.1:8079 (the /api/v1/service{S,T,D} paths are added).
	Server string
	// Keystore holds the User's XML-signing key (chosen by the RequestID
	// originator), the User's GBCS digital-signing key (for Pre-Commands),
	// and the DCC's certificates that responses are verified with.
	Keystore *smki.Store
	// Keys are the GBCS keys used to sign Pre-Commands and to check and
	// decrypt payloads (default: the GBCS keys of Keystore).
	Keys gbcs.KeyStore
	// SMKI, when set, is the base URL of an SMKI repository (DCC Boxed and
	// `opendcc serve`: DefaultSMKI) where the devices' certificates are
	// looked up, so that the GBCS MACs and signatures of device responses
	// are checked and their sensitive payloads decrypted (SMKIKeyStore,
	// after Keys).
	SMKI string
	// SMKILog, when set, is told about failed SMKI lookups (default:
	// Progress).
	SMKILog func(format string, a ...any)
	// Listener receives the asynchronous responses. When nil and Listen is
	// set, Send runs one on Listen for the duration of the call; when both
	// are unset, Send does not wait after an I99.
	Listener *Listener
	Listen   string
	// Timeout bounds the wait for the asynchronous response (default
	// DefaultTimeout).
	Timeout time.Duration
	// Allowance is the certificate validity slack when verifying the DCC's
	// signatures (the ZAZ1 certificates DCC Boxed signs with expired in
	// 2025-26: give 5 years for them). NoValidity skips the dates.
	Allowance  time.Duration
	NoValidity bool
	// FreshCounter always replaces the RequestID counter of a request the
	// client signs (default: only a zero counter, as DCC Boxed does).
	FreshCounter bool
	// HTTP is the client for the posts (default: 30 s timeout).
	HTTP *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Progress, when set, is told about each step (post, answer, wait).
	Progress func(format string, a ...any)

	mu          sync.Mutex
	lastCounter uint64
	sec         *gbcs.Security
}

// Step is one POST of a Send.
type Step struct {
	CommandVariant int       `json:"commandVariant"`
	URL            string    `json:"url"`
	Response       *Response `json:"response"`
}

// Result is the outcome of Send.
type Result struct {
	RequestID      string
	SRV            string
	CommandVariant int  // the CV of the last request sent (5 after a two-step)
	Signed         bool // the client signed the request (it was unsigned)
	Steps          []Step
	// Ack is the synchronous answer to the last request.
	Ack *Response
	// PreCommand is the Pre-Command of a two-step, as signed by the User.
	PreCommand []byte
	// Final is the asynchronous response matched by RequestID; nil when
	// none was awaited (or none arrived: then Send returns ErrTimeout).
	Final   *Response
	Elapsed time.Duration
}

// Outcome is the response that settles the request: Final when there is
// one, else Ack.
func (r *Result) Outcome() *Response {
	if r.Final != nil {
		return r.Final
	}
	return r.Ack
}

// request is what Send reads from the input document.
type request struct {
	doc          *etree.Document
	id           duis.RequestID
	cv           int
	sr, srvName  string
	srv          *duis.SRV
	body         *etree.Element // the sr:Body child
	hdrRequestID *etree.Element
	hdrCV        *etree.Element
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) progress(format string, a ...any) {
	if c.Progress != nil {
		c.Progress(format, a...)
	}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// Security is the GBCS security context over Keys (or Keystore's GBCS
// keys), and the device certificates of the SMKI repository when SMKI is set.
// It is made on the first call: set the fields before.
func (c *Client) Security() *gbcs.Security {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sec == nil {
		keys := c.Keys
		if keys == nil {
			k := gbcs.NewKeyring()
			if c.Keystore != nil {
				_ = k.AddStore(c.Keystore) // entries it cannot classify are skipped
			}
			keys = k
		}
		if c.SMKI != "" {
			logf := c.SMKILog
			if logf == nil {
				logf = c.progress
			}
			keys = gbcs.MultiKeyStore{keys, NewSMKIKeyStore(c.SMKI, logf)}
		}
		c.sec = gbcs.NewSecurity(keys, 0)
	}
	return c.sec
}

// VerifyOptions are the checks of the DCC's signature on responses (a
// Listener's Verify).
func (c *Client) VerifyOptions() xmldsig.VerifyOptions {
	dcc := smki.DCCEUI
	o := xmldsig.VerifyOptions{Certificates: c.Keystore, ExpectedSigner: &dcc}
	if !c.NoValidity {
		o.Now = c.now()
		o.Allowance = c.Allowance
	}
	return o
}

// nextCounter is the Unix time in milliseconds, strictly increasing across
// the calls of one Client.
func (c *Client) nextCounter() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := uint64(c.now().UnixMilli())
	if n <= c.lastCounter {
		n = c.lastCounter + 1
	}
	c.lastCounter = n
	return n
}

// Endpoint returns the web service path for a command variant (duis.md §5).
func Endpoint(cv int) (string, error) {
	switch cv {
	case 1, 3, 5, 7:
		return "/api/v1/serviceS", nil
	case 4:
		return "/api/v1/serviceT", nil
	case 2, 6, 8:
		return "/api/v1/serviceD", nil
	}
	return "", fmt.Errorf("%w: command variant %d has no DUIS web service", ErrInvalidRequest, cv)
}

// Send signs doc if it is not signed by its originator already, posts it,
// runs the critical two-step when the request needs it, verifies the
// answers, and waits for the asynchronous response after an I99 to a request
// that goes to a device over the SM WAN, as the listener receives it. A Result is returned with whatever
// was obtained, also alongside an error.
func (c *Client) Send(ctx context.Context, doc []byte) (*Result, error) {
	start := time.Now()
	res := &Result{}
	defer func() { res.Elapsed = time.Since(start) }()
	if c.Server == "" {
		return res, errors.New("client: Server is not set")
	}
	if c.Keystore == nil {
		return res, errors.New("client: Keystore is not set")
	}
	req, err := parseRequest(doc)
	if err != nil {
		return res, err
	}
	res.SRV = req.srvName
	res.CommandVariant = req.cv
	// A critical request with its service body (not yet a Signed
	// Pre-Command) takes the two-step: CV 4, then the Signed Pre-Command as
	// CV 5 (asked as CV 1 or 4), 6 or 7 (asked as such: the Pre-Command
	// returned for local delivery, or sent and returned).
	twoStep := req.srv.Critical && (req.cv == 1 || req.cv == 4 ||
		(req.cv == 6 || req.cv == 7) && req.body.Tag != "SignedPreCommand")
	secondCV := 5
	if req.cv == 6 || req.cv == 7 {
		secondCV = req.cv
	}

	// Keep a document its originator signed, unless it must change.
	signedAlready := false
	if _, err := xmldsig.Verify(doc, c.requestVerifyOptions(req.id.Originator)); err == nil && !(twoStep && req.cv != 4) && !c.FreshCounter {
		signedAlready = true
	}
	out := doc
	if !signedAlready {
		if req.id.Counter == 0 || c.FreshCounter {
			req.id = req.id.WithCounter(c.nextCounter())
			req.hdrRequestID.SetText(req.id.String())
		}
		if twoStep {
			req.cv = 4
			req.hdrCV.SetText("4")
		}
		if out, err = c.signRequest(req); err != nil {
			return res, err
		}
		res.Signed = true
	}
	res.RequestID = req.id.String()
	res.CommandVariant = req.cv

	// Register for the asynchronous answer before anything is posted.
	var wait <-chan *Response
	var cancelWait func()
	ln := c.Listener
	if ln == nil && c.Listen != "" && awaitsAsync(req.cv) {
		ln = &Listener{Verify: c.VerifyOptions, Security: c.Security()}
		if err := ln.Start(c.Listen); err != nil {
			return res, err
		}
		defer ln.Close()
	}
	if ln != nil {
		wait, cancelWait = ln.Await(req.id)
		defer cancelWait()
	}

	ack, err := c.post(ctx, req.cv, out, res)
	if err != nil {
		return res, err
	}
	if twoStep && ack.Code == "I0" {
		pre, err := c.signPreCommand(ack, req)
		if err != nil {
			return res, err
		}
		res.PreCommand = pre
		out, err = c.signedPreCommandRequest(req, pre, secondCV)
		if err != nil {
			return res, err
		}
		req.cv = secondCV
		res.CommandVariant = secondCV
		if ack, err = c.post(ctx, secondCV, out, res); err != nil {
			return res, err
		}
	}
	if ack.Code != "I99" || wait == nil || !awaitsAsync(req.cv) {
		return res, nil
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c.progress("waiting up to %s for the response to %s on %s", timeout, req.id, ln.URL())
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-wait:
		res.Final = r
		c.progress("received %s for %s", r.Code, req.id)
		return res, nil
	case <-timer.C:
		return res, fmt.Errorf("%w (%s) for %s", ErrTimeout, timeout, req.id)
	case <-ctx.Done():
		return res, ctx.Err()
	}
}

// awaitsAsync: whether an I99 to a request of this command variant is
// followed by an asynchronous response: those sent over the SM WAN (CV 4
// becomes 5). Local delivery (CV 2, 6) is answered synchronously, and a
// non-device I99 is final (DUIS: "success of a non-device request with no
// XML data"; docs/nondevice.md).
func awaitsAsync(cv int) bool {
	switch cv {
	case 1, 3, 4, 5, 7:
		return true
	}
	return false
}

func (c *Client) requestVerifyOptions(originator eui.EUI64) xmldsig.VerifyOptions {
	o := xmldsig.VerifyOptions{Certificates: c.Keystore, ExpectedSigner: &originator}
	if !c.NoValidity {
		o.Now = c.now()
		o.Allowance = c.Allowance
	}
	return o
}

func (c *Client) signRequest(req *request) ([]byte, error) {
	key, cert, err := c.Keystore.XMLSigningKey(req.id.Originator)
	if err != nil {
		return nil, fmt.Errorf("%w: no XML-signing key for %s: %v", ErrNoKey, req.id.Originator, err)
	}
	b, err := req.doc.WriteToBytes()
	if err != nil {
		return nil, err
	}
	signed, err := xmldsig.Sign(b, key, cert)
	if err != nil {
		return nil, fmt.Errorf("%w: signing: %v", ErrInvalidRequest, err)
	}
	return signed, nil
}

// post sends one request and checks the synchronous answer.
func (c *Client) post(ctx context.Context, cv int, body []byte, res *Result) (*Response, error) {
	path, err := Endpoint(cv)
	if err != nil {
		return nil, err
	}
	url := strings.TrimRight(c.Server, "/") + path
	c.progress("POST %s (CV %d)", url, cv)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTransport, err)
	}
	hr.Header.Set("Content-Type", "application/xml")
	resp, err := c.httpClient().Do(hr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTransport, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, xmlsafe.DefaultMaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the answer: %v", ErrTransport, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered HTTP %d: %s", ErrTransport, url, resp.StatusCode, firstLine(data))
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || (mt != "application/xml" && mt != "text/xml") {
		return nil, fmt.Errorf("%w: %s answered Content-Type %q, want application/xml", ErrTransport, url, resp.Header.Get("Content-Type"))
	}
	r, err := ParseResponse(data, c.VerifyOptions(), c.Security())
	step := Step{CommandVariant: cv, URL: url, Response: r}
	res.Steps = append(res.Steps, step)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadResponse, err)
	}
	res.Ack = r
	c.progress("answer %s (signature %s)", r.Code, r.signatureText())
	// An acknowledgement may come unsigned (DCC Boxed's E-codes do), but a
	// success or a payload is only believed when signed by the DCC.
	if !r.SignatureValid && (r.Signed || strings.HasPrefix(r.Code, "I")) {
		return r, fmt.Errorf("%w: %s answer: signature: %s", ErrBadResponse, r.Code, r.SignatureError)
	}
	if r.SchemaError != "" && strings.HasPrefix(r.Code, "I") {
		return r, fmt.Errorf("%w: %s answer is schema-invalid: %s", ErrBadResponse, r.Code, r.SchemaError)
	}
	if r.RequestID != "" && !sameRequestID(r.RequestID, requestIDOf(body)) {
		return r, fmt.Errorf("%w: answer is for %s, not %s", ErrBadResponse, r.RequestID, requestIDOf(body))
	}
	return r, nil
}

// signPreCommand signs the Grouping Header of the Pre-Command in an I0
// answer to CV 4 with the User's GBCS digital-signing key.
func (c *Client) signPreCommand(ack *Response, req *request) ([]byte, error) {
	if ack.PreCommand == nil {
		return nil, fmt.Errorf("%w: I0 to CV 4 without a PreCommand", ErrBadResponse)
	}
	m, err := gbcs.Parse(ack.PreCommand)
	if err != nil {
		return nil, fmt.Errorf("%w: Pre-Command: %v", ErrBadResponse, err)
	}
	if m.Kind() != gbcs.KindPreCommand {
		return nil, fmt.Errorf("%w: the PreCommand payload is a %s, not a Pre-Command", ErrBadResponse, m.Kind())
	}
	if m.Originator != req.id.Originator {
		return nil, fmt.Errorf("%w: Pre-Command originator %s is not the requester %s", ErrBadResponse, m.Originator, req.id.Originator)
	}
	if m.Recipient != req.id.Target {
		return nil, fmt.Errorf("%w: Pre-Command recipient %s is not the request's target %s", ErrBadResponse, m.Recipient, req.id.Target)
	}
	if err := c.Security().Sign(m, nil); err != nil {
		return nil, fmt.Errorf("%w: signing the Pre-Command: %v", ErrNoKey, err)
	}
	c.progress("signed the Pre-Command (message code 0x%04X) as %s", m.MessageCode, m.Originator)
	return m.Marshal()
}

// signedPreCommandRequest is the second request of the two-step (CV 5, 6
// or 7): the same RequestID, SR and SRV, body SignedPreCommand (with the
// original ExecutionDateTime, if any), signed as the originator.
func (c *Client) signedPreCommandRequest(req *request, pre []byte, cv int) ([]byte, error) {
	req.hdrCV.SetText(strconv.Itoa(cv))
	body := req.body.Parent()
	var exec string
	for _, e := range req.body.ChildElements() {
		if e.Tag == "ExecutionDateTime" {
			exec = strings.TrimSpace(e.Text())
		}
	}
	prefix := req.body.Space
	body.RemoveChild(req.body)
	spc := body.CreateElement(qualified(prefix, "SignedPreCommand"))
	if exec != "" {
		spc.CreateElement(qualified(prefix, "ExecutionDateTime")).SetText(exec)
	}
	spc.CreateElement(qualified(prefix, "GBCSPayload")).SetText(base64.StdEncoding.EncodeToString(pre))
	req.body = spc
	return c.signRequest(req)
}

func qualified(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

// parseRequest reads the header fields Send needs.
func parseRequest(data []byte) (*request, error) {
	if err := xmlsafe.Check(data, 0); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRequest, err)
	}
	if err := duis.Validate(data); err != nil {
		// Templates' placeholder signatures are schema-valid; anything else
		// the server would refuse anyway.
		return nil, fmt.Errorf("%w: schema-invalid: %v", ErrInvalidRequest, err)
	}
	doc := etree.NewDocument()
	doc.ReadSettings.PreserveCData = true
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRequest, err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "Request" {
		return nil, fmt.Errorf("%w: the document is not an sr:Request", ErrInvalidRequest)
	}
	r := &request{doc: doc}
	for _, part := range root.ChildElements() {
		switch part.Tag {
		case "Header":
			for _, e := range part.ChildElements() {
				switch e.Tag {
				case "RequestID":
					r.hdrRequestID = e
				case "CommandVariant":
					r.hdrCV = e
				case "ServiceReference":
					r.sr = strings.TrimSpace(e.Text())
				case "ServiceReferenceVariant":
					r.srvName = strings.TrimSpace(e.Text())
				}
			}
		case "Body":
			if ch := part.ChildElements(); len(ch) == 1 {
				r.body = ch[0]
			}
		}
	}
	if r.hdrRequestID == nil || r.hdrCV == nil || r.body == nil {
		return nil, fmt.Errorf("%w: RequestID, CommandVariant or Body missing", ErrInvalidRequest)
	}
	var err error
	if r.id, err = duis.ParseRequestID(strings.TrimSpace(r.hdrRequestID.Text())); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRequest, err)
	}
	if r.cv, err = strconv.Atoi(strings.TrimSpace(r.hdrCV.Text())); err != nil {
		return nil, fmt.Errorf("%w: CommandVariant: %v", ErrInvalidRequest, err)
	}
	if _, err := Endpoint(r.cv); err != nil {
		return nil, err
	}
	var ok bool
	if r.srv, ok = duis.LookupSRV(r.srvName); !ok {
		return nil, fmt.Errorf("%w: unknown ServiceReferenceVariant %q", ErrInvalidRequest, r.srvName)
	}
	return r, nil
}

// requestIDOf returns the RequestID text of a DUIS document ("" if none).
func requestIDOf(data []byte) string {
	doc := etree.NewDocument()
	if doc.ReadFromBytes(data) != nil || doc.Root() == nil {
		return ""
	}
	for _, h := range doc.Root().ChildElements() {
		if h.Tag == "Header" {
			for _, e := range h.ChildElements() {
				if e.Tag == "RequestID" {
					return strings.TrimSpace(e.Text())
				}
			}
		}
	}
	return ""
}

// sameRequestID compares RequestIDs with the EUIs case-insensitively.
func sameRequestID(a, b string) bool {
	ia, err1 := duis.ParseRequestID(a)
	ib, err2 := duis.ParseRequestID(b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	return ia.Canonical() == ib.Canonical()
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
