package dcc

import (
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/xmldsig"
)

// Intake turns the bytes of a posted request into a Request, applying the
// checks that come before access control: the schema (CodeSchemaInvalid)
// and the XML signature by the originator's certificate
// (CodeBadSignature / CodeUnknownCertificate).
type Intake struct {
	// Certificates resolves the signer's issuer and serial.
	Certificates xmldsig.CertificateSource
	// Revocation, when set, refuses revoked signers.
	Revocation smki.RevocationChecker
	// Now and Allowance check certificate validity; Now nil skips it.
	Now       func() time.Time
	Allowance time.Duration
}

// Parsed is a request that passed Intake, with the parts a response needs.
type Parsed struct {
	Request
	RawRequestID string // echoed exactly in responses
	Signer       *smki.Certificate
	Message      *duis.Message
}

// Parse checks and decodes a request posted to endpoint. A *Rejection
// carries the response code; the partially parsed header (when there is one)
// lets the caller echo the RequestID and SRV.
func (in *Intake) Parse(data []byte, endpoint Endpoint) (*Parsed, error) {
	// One scan validates and decodes (duis.Validate then duis.Decode).
	msg, info, verr, derr := duis.ValidateDecode(data)
	if verr != nil {
		return nil, reject(CodeSchemaInvalid, "schema: %v", verr)
	}
	if derr != nil {
		return nil, reject(CodeSchemaInvalid, "decode: %v", derr)
	}
	if msg.Request == nil {
		return nil, reject(CodeSchemaInvalid, "not a DUIS Request")
	}
	h := msg.Request.Header
	id, err := duis.ParseRequestID(h.RequestID)
	if err != nil {
		return nil, reject(CodeSchemaInvalid, "%v", err)
	}
	cvn, err := strconv.Atoi(h.CommandVariant)
	if err != nil {
		return nil, reject(CodeSchemaInvalid, "CommandVariant %q", h.CommandVariant)
	}
	srv, ok := duis.LookupSRV(h.ServiceReferenceVariant)
	if !ok {
		return nil, reject(CodeSchemaInvalid, "unknown ServiceReferenceVariant %q", h.ServiceReferenceVariant)
	}
	if srv.ServiceReference != h.ServiceReference {
		return nil, reject(CodeSchemaInvalid, "ServiceReference %s does not match variant %s", h.ServiceReference, srv.Variant)
	}
	opts := xmldsig.VerifyOptions{Certificates: in.Certificates, ExpectedSigner: &id.Originator, Revocation: in.Revocation, Allowance: in.Allowance}
	if in.Now != nil {
		opts.Now = in.Now()
	}
	res, err := xmldsig.Verify(data, opts)
	if err != nil {
		switch {
		case errors.Is(err, xmldsig.ErrUnknownCertificate), errors.Is(err, xmldsig.ErrWrongSigner),
			errors.Is(err, xmldsig.ErrCertificateRevoked), errors.Is(err, xmldsig.ErrCertificateExpired),
			errors.Is(err, xmldsig.ErrCertificateNotYetValid), errors.Is(err, xmldsig.ErrKeyUsage):
			return nil, reject(CodeUnknownCertificate, "%v", err)
		}
		return nil, reject(CodeBadSignature, "%v", err)
	}
	body, exec, err := bodyAndExecution(info)
	if err != nil {
		return nil, reject(CodeSchemaInvalid, "%v", err)
	}
	return &Parsed{
		Request:      Request{ID: id, CV: duis.CommandVariant(cvn), SRV: srv, Body: body, Execute: exec, Endpoint: endpoint},
		RawRequestID: h.RequestID, Signer: res.Certificate, Message: msg,
	}, nil
}

// bodyAndExecution reads the local name of the Body's child and its
// ExecutionDateTime (future-dated requests), if any, from the tree the
// intake decoded (duis.RequestInfo; it used to parse the document again
// with etree, which read the same).
func bodyAndExecution(info duis.RequestInfo) (string, time.Time, error) {
	if info.Body == "" {
		return "", time.Time{}, errors.New("Body must hold exactly one element")
	}
	if info.HasExecutionDateTime {
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(info.ExecutionDateTime))
		if err != nil {
			return "", time.Time{}, fmt.Errorf("ExecutionDateTime: %v", err)
		}
		return info.Body, t, nil
	}
	return info.Body, time.Time{}, nil
}

// Signer signs the DCC's responses and alerts.
type Signer struct {
	Key  *ecdsa.PrivateKey
	Cert *smki.Certificate
}

// ResponseParts is what a DUIS response carries.
type ResponseParts struct {
	RequestID  string // echoed as received; "" when the request had none usable
	ResponseID string // target:originator:counter for device responses
	Code       string
	SR, SRV    string
	Time       time.Time
	// At most one payload: a GBCS message (base64 in GBCSPayload), a
	// Pre-Command (CV 4), or another ResponseMessage choice set by Fill.
	GBCSPayload []byte
	PreCommand  []byte
	GBCSVersion string
	Fill        func(*duis.ResponseMessage)
	// Alert, when set, makes the body a DeviceAlertMessage instead of a
	// ResponseMessage.
	Alert *duis.DeviceAlertMessage
	// DCCAlert, when set, makes the body a DCCAlertMessage.
	DCCAlert *duis.DCCAlertMessage
}

// Response builds and signs a DUIS Response in the compact form DCC Boxed
// writes (duis.Encode), signed with the DCC's XML-signing key.
func (s *Signer) Response(p ResponseParts) ([]byte, error) {
	rm := &duis.ResponseMessage{ServiceReference: p.SR, ServiceReferenceVariant: p.SRV}
	switch {
	case p.PreCommand != nil:
		v := p.GBCSVersion
		if v == "" {
			v = "4.0"
		}
		rm.PreCommand = &duis.PreCommand{GBCSVersion: v, GBCSPayload: b64(p.PreCommand)}
	case p.GBCSPayload != nil:
		s := b64(p.GBCSPayload)
		rm.GBCSPayload = &s
	case p.Fill != nil:
		p.Fill(rm)
	}
	r := &duis.Response{SchemaVersion: "5.4"}
	if p.RequestID != "" {
		id := p.RequestID
		r.Header.RequestID = &id
	}
	if p.ResponseID != "" {
		id := p.ResponseID
		r.Header.ResponseID = &id
	}
	r.Header.ResponseCode = p.Code
	r.Header.ResponseDateTime = p.Time.UTC().Format("2006-01-02T15:04:05.000Z")
	if p.Alert != nil {
		r.Body.DeviceAlertMessage = p.Alert
	} else if p.DCCAlert != nil {
		r.Body.DCCAlertMessage = p.DCCAlert
	} else {
		r.Body.ResponseMessage = rm
	}
	out, err := duis.Encode(&duis.Message{Response: r})
	if err != nil {
		return nil, err
	}
	return xmldsig.Sign(out, s.Key, s.Cert)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
