package repository

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/xmlsafe"
	"github.com/opendcc/opendcc/smki"
)

// MaxRequestSize bounds a request body. The requests are a few hundred
// bytes; anything near this is not a query.
const MaxRequestSize = 16 << 10

// ErrBadRequest is wrapped by every request parsing error (HTTP 401).
var ErrBadRequest = errors.New("smki repository: malformed request")

// Element names of the interface (no namespace: the reference client sends
// none and reads none; a namespace on a request is accepted and ignored).
const (
	elSearchRequest   = "CertificateSearchRequest"
	elSearchResponse  = "CertificateSearchResponse"
	elDataRequest     = "CertificateDataRequest"
	elDataResponse    = "CertificateDataResponse"
	elSubjectName     = "CertificateSubjectName"
	elSubjectAltName  = "CertificateSubjectAltName"
	elUsage           = "CertificateUsage"
	elStatus          = "CertificateStatus"
	elRole            = "CertificateRole"
	elSerial          = "CertificateSerial"
	elResult          = "Result"
	elResponse        = "CertificateResponse"
	elBody            = "CertificateBody"
	xmlDeclaration    = `<?xml version="1.0" encoding="UTF-8"?>`
	maxFlatChildValue = 256
)

func badRequest(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, a...))
}

// parseFlat reads a document whose root element is root and whose children
// are simple text elements from allowed, each at most once. Unknown
// children, nested elements, text directly in the root, a second root
// element, a DOCTYPE or entity declaration, non-UTF-8 and oversize input are
// all refused.
func parseFlat(body []byte, root string, allowed ...string) (map[string]string, error) {
	if err := xmlsafe.Check(body, MaxRequestSize); err != nil {
		return nil, badRequest("%v", err)
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	out := map[string]string{}
	depth := 0
	seenRoot := false
	var field string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, badRequest("not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch depth {
			case 0:
				if seenRoot {
					return nil, badRequest("more than one root element")
				}
				if t.Name.Local != root {
					return nil, badRequest("root element %s, want %s", t.Name.Local, root)
				}
				seenRoot = true
			case 1:
				ok := false
				for _, a := range allowed {
					if t.Name.Local == a {
						ok = true
						break
					}
				}
				if !ok {
					return nil, badRequest("unexpected element %s in %s", t.Name.Local, root)
				}
				if _, dup := out[t.Name.Local]; dup {
					return nil, badRequest("element %s given twice", t.Name.Local)
				}
				field = t.Name.Local
				text.Reset()
			default:
				return nil, badRequest("unexpected element %s inside %s", t.Name.Local, field)
			}
			depth++
		case xml.EndElement:
			depth--
			if depth == 1 {
				out[field] = strings.TrimSpace(text.String())
				field = ""
			}
		case xml.CharData:
			switch depth {
			case 2:
				if text.Len()+len(t) > maxFlatChildValue {
					return nil, badRequest("value of %s too long", field)
				}
				text.Write(t)
			default:
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, badRequest("unexpected text outside the request fields")
				}
			}
		case xml.Directive:
			return nil, badRequest("directives are not allowed")
		}
	}
	if !seenRoot {
		return nil, badRequest("no %s element", root)
	}
	if depth != 0 {
		return nil, badRequest("unterminated element")
	}
	return out, nil
}

// ParseSearchRequest reads a CertificateSearchRequest. It must carry exactly
// one of CertificateSubjectName (an organisation EUI-64) and
// CertificateSubjectAltName (a device EUI-64), in the DUIS form
// a1-a2-a3-a4-a5-a6-a7-a8 (either case) or as 16 hex digits. It may also carry
// the filters CertificateUsage (DS|KA), CertificateStatus (P|I|N|E|R) and,
// with CertificateSubjectName only, CertificateRole (decimal role code).
// Errors wrap ErrBadRequest.
func ParseSearchRequest(body []byte) (Query, error) {
	var q Query
	f, err := parseFlat(body, elSearchRequest, elSubjectName, elSubjectAltName, elUsage, elStatus, elRole)
	if err != nil {
		return q, err
	}
	name, hasName := f[elSubjectName]
	alt, hasAlt := f[elSubjectAltName]
	switch {
	case hasName && hasAlt:
		return q, badRequest("give %s or %s, not both", elSubjectName, elSubjectAltName)
	case hasName:
		if q.EUI, err = eui.Parse(name); err != nil {
			return q, badRequest("%s: %v", elSubjectName, err)
		}
	case hasAlt:
		if q.EUI, err = eui.Parse(alt); err != nil {
			return q, badRequest("%s: %v", elSubjectAltName, err)
		}
		q.Device = true
	default:
		return q, badRequest("need %s or %s", elSubjectName, elSubjectAltName)
	}
	if v, ok := f[elUsage]; ok {
		if q.Usage, err = ParseUsage(v); err != nil {
			return q, badRequest("%v", err)
		}
	}
	if v, ok := f[elStatus]; ok {
		if q.Status, err = ParseStatus(v); err != nil {
			return q, badRequest("%v", err)
		}
	}
	if v, ok := f[elRole]; ok {
		if q.Device {
			return q, badRequest("%s applies to organisation certificates only", elRole)
		}
		if q.Role, err = ParseRole(v); err != nil {
			return q, badRequest("%v", err)
		}
		q.MatchRole = true
	}
	return q, nil
}

// ParseDataRequest reads a CertificateDataRequest and returns its
// CertificateSerial (see ParseSerial). Errors wrap ErrBadRequest.
func ParseDataRequest(body []byte) (*big.Int, error) {
	f, err := parseFlat(body, elDataRequest, elSerial)
	if err != nil {
		return nil, err
	}
	v, ok := f[elSerial]
	if !ok {
		return nil, badRequest("need %s", elSerial)
	}
	n, err := ParseSerial(v)
	if err != nil {
		return nil, badRequest("%s: %v", elSerial, err)
	}
	return n, nil
}

// SerialString renders a serial as the interface reports it: upper-case hex
// without leading zeros (what openssl and smki.Certificate.SerialHex print).
func SerialString(c *smki.Certificate) string { return c.SerialHex() }

func writeElement(b *bytes.Buffer, name, value string) {
	b.WriteByte('<')
	b.WriteString(name)
	b.WriteByte('>')
	_ = xml.EscapeText(b, []byte(value))
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
}

// AppendSearchResponse appends a CertificateSearchResponse listing records:
// one Result each, with CertificateSerial, CertificateUsage (when the
// certificate has DS or KA), CertificateStatus and, for organisation
// certificates, CertificateRole (decimal).
func AppendSearchResponse(b *bytes.Buffer, records []Record) {
	b.WriteString(xmlDeclaration)
	b.WriteString("<" + elSearchResponse + ">")
	for _, r := range records {
		b.WriteString("<" + elResult + ">")
		writeElement(b, elSerial, SerialString(r.Certificate))
		if r.Usage != "" {
			writeElement(b, elUsage, string(r.Usage))
		}
		writeElement(b, elStatus, string(r.Status))
		if r.Certificate.Kind == smki.KindOrganisation {
			writeElement(b, elRole, strconv.Itoa(int(r.Certificate.Role)))
		}
		b.WriteString("</" + elResult + ">")
	}
	b.WriteString("</" + elSearchResponse + ">")
}

// AppendDataResponse appends a CertificateDataResponse for r:
//
//	CertificateResponse
//	  CertificateSerial
//	  CertificateSubjectName (organisation: EUI a1-…-a8; CA: RFC 2253 subject)
//	  | CertificateSubjectAltName (device: EUI a1-…-a8)
//	  CertificateUsage, CertificateStatus, CertificateRole (organisation)
//	  CertificateBody (base64 DER, one line)
//
// The reference client reads CertificateBody and tells organisation from
// device certificates by which of the two name elements is present.
func AppendDataResponse(b *bytes.Buffer, r Record) {
	c := r.Certificate
	b.WriteString(xmlDeclaration)
	b.WriteString("<" + elDataResponse + "><" + elResponse + ">")
	writeElement(b, elSerial, SerialString(c))
	switch c.Kind {
	case smki.KindDevice:
		writeElement(b, elSubjectAltName, c.EUI.String())
	case smki.KindOrganisation:
		writeElement(b, elSubjectName, c.EUI.String())
	default:
		writeElement(b, elSubjectName, c.Subject)
	}
	if r.Usage != "" {
		writeElement(b, elUsage, string(r.Usage))
	}
	writeElement(b, elStatus, string(r.Status))
	if c.Kind == smki.KindOrganisation {
		writeElement(b, elRole, strconv.Itoa(int(c.Role)))
	}
	b.WriteString("<" + elBody + ">")
	n := base64.StdEncoding.EncodedLen(len(c.Raw))
	b.Grow(n)
	buf := b.AvailableBuffer()[:n]
	base64.StdEncoding.Encode(buf, c.Raw)
	b.Write(buf)
	b.WriteString("</" + elBody + ">")
	b.WriteString("</" + elResponse + "></" + elDataResponse + ">")
}
