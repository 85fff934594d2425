package client

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload"
	"github.com/opendcc/opendcc/internal/xmlsafe"
	"github.com/opendcc/opendcc/xmldsig"
)

// Response is a DUIS response or alert as the client read it.
type Response struct {
	Code       string `json:"responseCode"`
	RequestID  string `json:"requestId,omitempty"`
	ResponseID string `json:"responseId,omitempty"`
	DateTime   string `json:"responseDateTime,omitempty"`
	// Kind is the Body's element: ResponseMessage, DeviceAlertMessage,
	// DCCAlertMessage, SMETS1ResponseMessage.
	Kind string `json:"kind"`
	// Content is the ResponseMessage's payload element (DSPInventory,
	// GBCSPayload, PreCommand, ...), empty for an acknowledgement.
	Content string `json:"content,omitempty"`
	// AlertCode of a device or DCC alert.
	AlertCode string `json:"alertCode,omitempty"`

	Signed         bool   `json:"signed"`
	SignatureValid bool   `json:"signatureValid"`
	SignatureError string `json:"signatureError,omitempty"`
	Signer         string `json:"signer,omitempty"`
	SchemaError    string `json:"schemaError,omitempty"`

	// PreCommand is the GBCS Pre-Command of an I0 to CV 4.
	PreCommand []byte `json:"-"`
	// GBCS are the decoded GBCSPayloads, in document order.
	GBCS []GBCSMessage `json:"gbcs,omitempty"`

	Raw []byte `json:"-"`
}

func (r *Response) signatureText() string {
	switch {
	case r.SignatureValid:
		return "valid, " + r.Signer
	case !r.Signed:
		return "absent"
	}
	return "invalid: " + r.SignatureError
}

// GBCSMessage is one decoded GBCS payload (what `opendcc gbcs parse` shows).
type GBCSMessage struct {
	Path        string          `json:"path"`
	OK          bool            `json:"ok"`
	Error       string          `json:"error,omitempty"`
	CRA         string          `json:"cra,omitempty"`
	Counter     uint64          `json:"counter"`
	Originator  string          `json:"originator,omitempty"`
	Recipient   string          `json:"recipient,omitempty"`
	MessageCode string          `json:"messageCode,omitempty"`
	UseCase     string          `json:"useCase,omitempty"`
	MAC         string          `json:"mac,omitempty"`       // valid|invalid|absent|unknown
	Signature   string          `json:"signature,omitempty"` // valid|invalid|absent|unknown
	Decrypted   bool            `json:"decrypted"`
	Payload     json.RawMessage `json:"payload,omitempty"`
	Tree        string          `json:"-"` // readable payload tree
}

// ParseResponse reads a DUIS response or alert: its header, payload
// element, signature (checked with opts) and schema validity, and decodes
// its GBCS payloads (signatures checked, sensitive data decrypted, as far
// as sec's keys allow; sec may be nil). The error is for a document that is
// not a DUIS response at all; schema and signature failures are recorded in
// the Response.
func ParseResponse(data []byte, opts xmldsig.VerifyOptions, sec *gbcs.Security) (*Response, error) {
	if err := xmlsafe.Check(data, 0); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("not well-formed XML: %w", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "Response" {
		return nil, errors.New("not an sr:Response")
	}
	r := &Response{Raw: data}
	for _, part := range root.ChildElements() {
		switch part.Tag {
		case "Header":
			for _, e := range part.ChildElements() {
				t := strings.TrimSpace(e.Text())
				switch e.Tag {
				case "RequestID":
					r.RequestID = t
				case "ResponseID":
					r.ResponseID = t
				case "ResponseCode":
					r.Code = t
				case "ResponseDateTime":
					r.DateTime = t
				}
			}
		case "Body":
			if ch := part.ChildElements(); len(ch) > 0 {
				r.readBody(ch[0])
			}
		case "Signature":
			r.Signed = true
		}
	}
	if r.Code == "" {
		return nil, errors.New("response without a ResponseCode")
	}
	if err := duis.Validate(data); err != nil {
		r.SchemaError = err.Error()
	}
	if r.Signed {
		if v, err := xmldsig.Verify(data, opts); err != nil {
			r.SignatureError = err.Error()
		} else {
			r.SignatureValid = true
			r.Signer = fmt.Sprintf("%s role %d serial %s", v.Certificate.EUI, v.Certificate.Role, v.Certificate.SerialNumber)
		}
	} else {
		r.SignatureError = xmldsig.ErrUnsigned.Error()
	}
	// GBCS payloads, wherever they are (as `opendcc duis parse`).
	var walk func(e *etree.Element, path string)
	walk = func(e *etree.Element, path string) {
		path += "/" + e.Tag
		if e.Tag == "GBCSPayload" {
			b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(e.Text()), ""))
			if err != nil {
				r.GBCS = append(r.GBCS, GBCSMessage{Path: path, Error: "GBCSPayload is not base64: " + err.Error()})
				return
			}
			if e.Parent() != nil && e.Parent().Tag == "PreCommand" {
				r.PreCommand = b
			}
			g := DecodeGBCS(b, sec)
			g.Path = path
			r.GBCS = append(r.GBCS, g)
			return
		}
		for _, c := range e.ChildElements() {
			walk(c, path)
		}
	}
	walk(root, "")
	return r, nil
}

func (r *Response) readBody(msg *etree.Element) {
	r.Kind = msg.Tag
	switch msg.Tag {
	case "ResponseMessage":
		for _, e := range msg.ChildElements() {
			if e.Tag != "ServiceReference" && e.Tag != "ServiceReferenceVariant" {
				r.Content = e.Tag
			}
		}
	case "DeviceAlertMessage", "DCCAlertMessage":
		for _, e := range msg.ChildElements() {
			if e.Tag == "AlertCode" || e.Tag == "DCCAlertCode" {
				r.AlertCode = strings.TrimSpace(e.Text())
			}
		}
	}
}

// DecodeGBCS decodes one GBCS message with the checks sec's keys allow
// (sec nil: none), as `opendcc gbcs parse` does.
func DecodeGBCS(data []byte, sec *gbcs.Security) GBCSMessage {
	var g GBCSMessage
	if gbcs.IsBlock(data) {
		g.Error = "a General Block Transfer block: reassemble the whole sequence first"
		return g
	}
	m, err := gbcs.Parse(data)
	if err != nil {
		g.Error = err.Error()
		return g
	}
	g.OK = true
	g.CRA = m.CRA.String()
	g.Counter = m.OriginatorCounter
	g.Originator = m.Originator.String()
	g.Recipient = m.Recipient.String()
	g.MessageCode = fmt.Sprintf("0x%04X", m.MessageCode)
	if uc, ok := gbcs.LookupMessageCode(m.MessageCode); ok {
		g.UseCase = uc.Title
		if !strings.HasPrefix(uc.Title, uc.Name) {
			g.UseCase = uc.Name + " " + uc.Title
		}
	}
	var problems []string
	switch {
	case !m.MACHeader:
		g.MAC = "absent"
	case sec == nil:
		g.MAC = "unknown"
	default:
		switch err := sec.VerifyMAC(m); {
		case err == nil:
			g.MAC = "valid"
		case errors.Is(err, gbcs.ErrNoKey):
			g.MAC = "unknown"
		default:
			g.MAC = "invalid"
			problems = append(problems, "MAC does not verify")
		}
	}
	switch {
	case !m.Signed():
		g.Signature = "absent"
	case sec == nil:
		g.Signature = "unknown"
	default:
		switch err := sec.VerifySignature(m); {
		case err == nil:
			g.Signature = "valid"
		case errors.Is(err, gbcs.ErrNoKey):
			g.Signature = "unknown"
		default:
			g.Signature = "invalid"
			problems = append(problems, "signature does not verify")
		}
	}
	opts := payload.Options{Alert: m.CRA == gbcs.CRAAlert}
	if sec != nil {
		opts.Decrypt = func(ct []byte) ([]byte, error) {
			pt, err := sec.DecryptPayload(m, ct)
			if err == nil {
				g.Decrypted = true
			}
			return pt, err
		}
	}
	tree, err := payload.Decode(m.MessageCode, m.Content, opts)
	if err != nil && opts.Decrypt != nil && errors.Is(err, gbcs.ErrNoKey) {
		opts.Decrypt = nil
		tree, err = payload.Decode(m.MessageCode, m.Content, opts)
	}
	if err != nil {
		problems = append(problems, "payload: "+err.Error())
	} else {
		if j, err := tree.JSON(); err == nil {
			g.Payload = j
		}
		g.Tree = tree.String()
	}
	if len(problems) > 0 {
		g.OK = false
		g.Error = strings.Join(problems, "; ")
	}
	return g
}
