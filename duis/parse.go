package duis

import "github.com/opendcc/opendcc/internal/xmlsafe"

// RequestInfo is what the DCC's intake reads from a Request's tree besides
// its typed values (ValidateDecode).
type RequestInfo struct {
	// Body is the local name of the only element child of the document
	// element's last child named Body (any namespace); "" when there is no
	// such Body or it has not exactly one element child.
	Body string
	// ExecutionDateTime is the text of the first child of that element
	// named ExecutionDateTime (any namespace): its character data, comments
	// skipped, up to its first child element or processing instruction, as
	// etree's Element.Text reads it. HasExecutionDateTime tells whether
	// there is one.
	ExecutionDateTime    string
	HasExecutionDateTime bool
}

// ValidateDecode is Validate followed, when the document is valid, by
// Decode, reading data once: one scan feeds the validator and builds the
// tree that is decoded. verr is exactly what Validate returns; when it is
// nil, derr is exactly what Decode returns. On success it also reads the
// RequestInfo of the document.
func ValidateDecode(data []byte) (m *Message, info RequestInfo, verr, derr error) {
	if err := xmlsafe.Check(data, 0); err != nil {
		return nil, info, &ValidationError{Path: "/", Reason: err.Error(), Err: err}, nil
	}
	s := validator.NewStream()
	root, verr, derr := parseTreeValidating(data, s)
	s.Release()
	if verr != nil || derr != nil {
		return nil, info, verr, derr
	}
	m, derr = decodeTree(data, root)
	if derr != nil {
		return nil, info, nil, derr
	}
	return m, requestInfo(root), nil, nil
}

// decodeTree is the part of Decode after parsing.
func decodeTree(data []byte, root *node) (*Message, error) {
	d := &decoder{}
	m := &Message{}
	decodeRoot(d, root, m)
	if d.err != nil {
		return nil, d.err
	}
	if n := len(root.kids); n > 0 {
		if last := root.kids[n-1]; last.is(NamespaceDS, "Signature") {
			m.RawSignature = append([]byte(nil), data[last.start:last.end]...)
		}
	}
	return m, nil
}

func requestInfo(root *node) RequestInfo {
	var info RequestInfo
	var body *node
	for _, k := range root.kids {
		if k.local == "Body" {
			body = k
		}
	}
	if body == nil || len(body.kids) != 1 {
		return info
	}
	child := body.kids[0]
	info.Body = child.local
	for _, k := range child.kids {
		if k.local == "ExecutionDateTime" {
			info.HasExecutionDateTime = true
			info.ExecutionDateTime = k.etreeText()
			break
		}
	}
	return info
}

// etreeText is the element's text as etree's Element.Text returns it, for
// an element of simple content (no child elements after validation): its
// character data up to its first processing instruction.
func (n *node) etreeText() string {
	t := n.text
	if n.piAt >= 0 && n.piAt < len(t) {
		t = t[:n.piAt]
	}
	return t
}
