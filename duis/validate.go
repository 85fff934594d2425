package duis

import (
	"encoding/xml"

	"github.com/beevik/etree"

	"github.com/opendcc/opendcc/internal/xmlsafe"
	"github.com/opendcc/opendcc/internal/xsd"
)

// ValidationError reports why a document is not a valid DUIS 5.4 document:
// Error() is "<Path> (line N): <Reason>", the path written with the
// document's own prefixes, e.g. /sr:Request/sr:Body/sr:ReadInventory/sr:DeviceID.
// Input-gate refusals (DOCTYPE, size, encoding) have Path "/" and wrap the
// xmlsafe error in Err.
type ValidationError = xsd.ValidationError

// validator runs on the tables generated from the DUIS 5.4 schema set
// (schema_gen.go); building it compiles the schema's patterns once.
var validator = xsd.MustNewValidator(&schemaTables)

// Validate checks data against the DUIS 5.4 schema (DUIS, MMC and
// xmldsig-core, as xmllint would with the fixes of duis.md §4, i.e. with
// X509SerialNumber as an arbitrary-precision integer). It runs the input
// gate (xmlsafe.Check) first. It returns nil or the first violation as a
// *ValidationError (element order, occurrences, choices, unknown elements
// or attributes, text in element-only content, every facet of every simple
// type, exactly one document element of a global declaration).
func Validate(data []byte) error {
	if err := xmlsafe.Check(data, 0); err != nil {
		return &ValidationError{Path: "/", Reason: err.Error(), Err: err}
	}
	return validator.Validate(data)
}

// ValidateDocument validates an already parsed document (the caller is
// responsible for having gated its input). Errors carry no line numbers.
func ValidateDocument(doc *etree.Document) error {
	s := validator.NewStream()
	defer s.Release()
	var attrs []xml.Attr
	var walk func(el *etree.Element) error
	walk = func(el *etree.Element) error {
		attrs = attrs[:0]
		for _, a := range el.Attr {
			attrs = append(attrs, xml.Attr{Name: xml.Name{Space: a.Space, Local: a.Key}, Value: a.Value})
		}
		if err := s.Start(el.Space, el.Tag, attrs, 0); err != nil {
			return err
		}
		for _, tok := range el.Child {
			switch t := tok.(type) {
			case *etree.Element:
				if err := walk(t); err != nil {
					return err
				}
			case *etree.CharData:
				if err := s.Text([]byte(t.Data), 0); err != nil {
					return err
				}
			}
		}
		return s.End(el.Space, el.Tag, 0)
	}
	for _, tok := range doc.Child {
		switch t := tok.(type) {
		case *etree.Element:
			if err := walk(t); err != nil {
				return err
			}
		case *etree.CharData:
			if err := s.Text([]byte(t.Data), 0); err != nil {
				return err
			}
		case *etree.Directive:
			return &ValidationError{Path: "/", Reason: "DOCTYPE and other declarations are not allowed"}
		}
	}
	return s.Finish(0)
}
