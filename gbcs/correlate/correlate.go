// Package correlate is the SEC H11 "Parse & Correlate" check: before a DCC
// User signs a GBCS Pre-Command (the DCC's transform of a critical DUIS
// Service Request, returned for CommandVariant 4), it confirms that the
// command carries exactly what the request asked for.
//
// Check takes the DUIS request XML and the Pre-Command bytes and returns a
// Report: every field that was compared (with both renderings), the fields
// that could not be compared and why, and the differences. The package is
// pure: bytes in, report out. Inputs that cannot be correlated at all (not a
// DUIS request, not a critical SRV, not a GBCS Pre-Command, an undecodable
// payload) are errors, not differences.
//
// Generic checks apply to every critical SRV: the SRV is critical in the
// catalogue, the message code belongs to one of its GBCS use cases, the
// originator counter, originator and recipient equal the RequestID's counter,
// business originator and target, the CRA flag is "command", and the
// execution date-time of a future-dated request is the one in the command
// (Grouping Header date-time when present, DLMS activation times, GBZ start
// and implementation times, ASN.1 execution times). Per-SRV checks compare
// the request's values with the DLMS objects, ZigBee commands or ASN.1
// fields that the GBCS use-case annex maps them to; see docs/correlate.md.
package correlate

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload"
)

// Result says how a field came out.
type Result int

// Field results.
const (
	Match       Result = iota + 1 // compared, equal
	Differ                        // compared, different (also listed in Differences)
	NotCompared                   // not compared; Note says why
)

func (r Result) String() string {
	switch r {
	case Match:
		return "match"
	case Differ:
		return "differ"
	case NotCompared:
		return "not compared"
	}
	return "?"
}

// Field is one request field (or command item) the check looked at.
type Field struct {
	Name    string
	Request string // the request's value, rendered for humans ("" when none)
	Command string // the command's value, rendered the same way ("absent" when missing)
	Result  Result
	Note    string // for NotCompared: "not compared: <reason>"
}

func (f Field) String() string {
	switch f.Result {
	case NotCompared:
		s := f.Name + ": " + f.Note
		if f.Request != "" {
			s += " (request " + f.Request + ")"
		}
		return s
	case Differ:
		return fmt.Sprintf("%s: request %s, command %s — DIFFERENT", f.Name, f.Request, f.Command)
	}
	return fmt.Sprintf("%s: %s", f.Name, f.Command)
}

// Difference is a field whose value in the command is not the one requested.
type Difference struct {
	Field   string
	Request string
	Command string
}

func (d Difference) String() string {
	return fmt.Sprintf("%s: request %s, command %s", d.Field, d.Request, d.Command)
}

// Report is the outcome of Check.
type Report struct {
	SRV         string // Service Reference Variant of the request, e.g. "1.1.1"
	UseCase     string // GBCS use case of the Pre-Command's message code, e.g. "ECS01a"
	MessageCode uint16
	Checked     []Field
	Differences []Difference
}

// OK reports whether the command matches the request in every compared field.
// Fields that were not compared do not make a report fail; read Checked (or
// NotCompared) to see them.
func (r *Report) OK() bool { return r != nil && len(r.Differences) == 0 }

// NotCompared lists the fields the check could not compare.
func (r *Report) NotCompared() []Field {
	var out []Field
	for _, f := range r.Checked {
		if f.Result == NotCompared {
			out = append(out, f)
		}
	}
	return out
}

// String renders the report, one field a line.
func (r *Report) String() string {
	var b strings.Builder
	status := "OK"
	if !r.OK() {
		status = fmt.Sprintf("%d DIFFERENCE(S)", len(r.Differences))
	}
	fmt.Fprintf(&b, "SRV %s, use case %s (message code 0x%04X): %s\n", r.SRV, r.UseCase, r.MessageCode, status)
	for _, f := range r.Checked {
		b.WriteString("  ")
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Errors for unusable inputs (wrapped; test with errors.Is).
var (
	ErrNotRequest    = errors.New("correlate: not a DUIS service request")
	ErrNotCritical   = errors.New("correlate: not a critical service request")
	ErrNotPreCommand = errors.New("correlate: not a GBCS Pre-Command")
	ErrPayload       = errors.New("correlate: Pre-Command payload cannot be decoded")
)

// Check correlates a DUIS service request (XML) with the GBCS Pre-Command
// the DCC returned for it (raw bytes; see DecodePreCommand for text forms).
func Check(request []byte, preCommand []byte) (rep *Report, err error) {
	// Fail closed: a payload whose structure is not the one the use case
	// defines must never make the check pass or crash the caller.
	defer func() {
		if p := recover(); p != nil {
			rep, err = nil, fmt.Errorf("%w: unexpected payload structure (%v)", ErrPayload, p)
		}
	}()
	req, err := parseRequest(request)
	if err != nil {
		return nil, err
	}
	m, err := gbcs.Parse(preCommand)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotPreCommand, err)
	}
	if m.Kind() != gbcs.KindPreCommand {
		return nil, fmt.Errorf("%w: the message is a %v (a Pre-Command has no MAC Header and no signature field)", ErrNotPreCommand, m.Kind())
	}
	tree, err := payload.Decode(m.MessageCode, m.Content, payload.Options{})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPayload, err)
	}
	c := newChecker(req, m, tree)
	c.generic()
	c.payload()
	c.leftovers()
	return c.r, nil
}

// CheckText is Check with the Pre-Command given in any of the forms
// DecodePreCommand accepts.
func CheckText(request []byte, preCommand []byte) (*Report, error) {
	b, err := DecodePreCommand(preCommand)
	if err != nil {
		return nil, err
	}
	return Check(request, b)
}

// DecodePreCommand accepts a Pre-Command as raw bytes, hexadecimal text (as
// in the RTDS files; spaces and line breaks allowed), base64 text, or the
// DUIS response that carries it (sr:PreCommand/sr:GBCSPayload, or any
// sr:GBCSPayload element), and returns the raw bytes.
func DecodePreCommand(in []byte) ([]byte, error) {
	if len(in) > 0 && (in[0] == gbcs.TagGeneralSigning || in[0] == gbcs.TagGeneralCiphering) {
		return in, nil
	}
	s := strings.TrimSpace(string(in))
	if strings.HasPrefix(s, "<") {
		p, err := gbcsPayloadFromXML(in)
		if err != nil {
			return nil, err
		}
		s = p
	}
	compact := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
	if compact == "" {
		return nil, fmt.Errorf("%w: empty input", ErrNotPreCommand)
	}
	if b, err := hex.DecodeString(compact); err == nil {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(compact); err == nil {
		return b, nil
	}
	if b, err := base64.RawStdEncoding.DecodeString(compact); err == nil {
		return b, nil
	}
	return nil, fmt.Errorf("%w: neither GBCS bytes, hexadecimal nor base64", ErrNotPreCommand)
}

// request is the parsed DUIS side.
type request struct {
	header  duis.RequestHeader
	id      duis.RequestID
	srv     *duis.SRV
	body    *xnode // the SRV body element (child of sr:Body)
	cv      int
	rawBody string
}

func parseRequest(data []byte) (*request, error) {
	msg, err := duis.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotRequest, err)
	}
	if msg.Request == nil {
		return nil, fmt.Errorf("%w: the document is not an sr:Request", ErrNotRequest)
	}
	h := msg.Request.Header
	variant := strings.TrimSpace(h.ServiceReferenceVariant)
	srv, ok := duis.LookupSRV(variant)
	if !ok {
		return nil, fmt.Errorf("%w: unknown ServiceReferenceVariant %q", ErrNotRequest, variant)
	}
	if !srv.Critical {
		return nil, fmt.Errorf("%w: SRV %s (%s) is not critical; the DCC returns no Pre-Command for it", ErrNotCritical, srv.Variant, srv.Name)
	}
	id, err := duis.ParseRequestID(strings.TrimSpace(h.RequestID))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotRequest, err)
	}
	root, err := parseXML(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotRequest, err)
	}
	bodyEl := root.child("Body")
	if bodyEl == nil || len(bodyEl.kids) != 1 {
		return nil, fmt.Errorf("%w: sr:Body must hold exactly one element", ErrNotRequest)
	}
	b := bodyEl.kids[0]
	if b.name == "SignedPreCommand" {
		return nil, fmt.Errorf("%w: the body is a SignedPreCommand (CV 5/6/7), not the service request that was transformed", ErrNotRequest)
	}
	if b.name != srv.BodyElement {
		return nil, fmt.Errorf("%w: body element %s does not belong to SRV %s (expected %s)", ErrNotRequest, b.name, srv.Variant, srv.BodyElement)
	}
	cv, _ := strconv.Atoi(strings.TrimSpace(h.CommandVariant))
	return &request{header: h, id: id, srv: srv, body: b, cv: cv}, nil
}
