// Package payload decodes the content of a GBCS message — the plaintext
// payload that the grouping header carries — into one value tree, whatever
// its format: DLMS/COSEM A-XDR (gbcs/dlms), ZigBee GBZ/ZCL (gbcs/gbz) or
// ASN.1 DER (gbcs/asn), and encodes such a tree back to the same bytes.
//
// The format is chosen as GBCS does (project notes §1.7): by message code
// for the ASN.1 use cases and the alert specials, otherwise by the first
// bytes (01 09 GBZ; D9, DA, 0F DLMS). The package is pure: bytes in,
// values out. Decryption of sensitive parts is delegated to a caller's
// function, which has the keys and the frame context.
package payload

import (
	"fmt"

	"github.com/opendcc/opendcc/gbcs/asn"
	"github.com/opendcc/opendcc/gbcs/dlms"
	"github.com/opendcc/opendcc/gbcs/gbz"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// Node is the tree all three formats decode to (see package tree).
type Node = tree.Node

// DecodeError reports malformed input with its byte offset.
type DecodeError = tree.DecodeError

// Limits bound nesting depth and node count.
type Limits = tree.Limits

// ParseJSON reads a tree written by Node.JSON (numbers kept exact).
func ParseJSON(data []byte) (*Node, error) { return tree.ParseJSON(data) }

// Format of a payload.
type Format string

// Payload formats.
const (
	DLMS Format = "DLMS"
	GBZ  Format = "GBZ"
	ASN1 Format = "ASN.1"
)

// Options control Decode.
type Options struct {
	// Decrypt, when set, is called with each encrypted part — the whole
	// protected block `31 ‖ invocation counter (4) ‖ ciphertext ‖ 12-byte
	// GCM tag` (security control byte 0x31 is the GCM additional data, the
	// invocation counter ends the IV) — and returns the plaintext, which is
	// decoded into the tree below the block (node marked Decrypted). Without
	// it, encrypted parts are exposed as security header, ciphertext and tag.
	Decrypt func(ciphertext []byte) ([]byte, error)
	// Alert: the payload belongs to an alert (CRA flag 03). GBZ alerts carry
	// an alert code and time in their header; the GBZ alert message codes
	// (0x008B, 0x00CD, 0x00CF, 0x00F2, 0x1000, 0x1001) imply it.
	Alert bool
	// Limits on nesting and node count (zero fields take the defaults).
	Limits Limits
}

// dlmsAlertCodes and gbzAlertCodes are the alert specials of §1.7: the
// payload format is fixed by the message code.
var dlmsAlertCodes = map[uint16]bool{0x00cc: true, 0x00ce: true, 0x0061: true, 0x00d5: true, 0x00f0: true}
var gbzAlertCodes = map[uint16]bool{0x00cd: true, 0x00cf: true, 0x008b: true, 0x00f2: true}

// gbzAlertOnly are message codes used only by alerts that may carry GBZ.
var gbzAlertOnly = map[uint16]bool{0x008b: true, 0x00cd: true, 0x00cf: true, 0x00f2: true, 0x1000: true, 0x1001: true}

// Detect returns the format of a payload.
func Detect(messageCode uint16, content []byte) (Format, error) {
	switch {
	case asn.IsASN1Code(messageCode):
		return ASN1, nil
	case dlmsAlertCodes[messageCode]:
		return DLMS, nil
	case gbzAlertCodes[messageCode]:
		return GBZ, nil
	}
	if len(content) == 0 {
		return "", &DecodeError{Offset: 0, Msg: "empty payload"}
	}
	switch content[0] {
	case dlms.TagAccessRequest, dlms.TagAccessResponse, dlms.TagDataNotification:
		return DLMS, nil
	case 0x01:
		if len(content) >= 2 && content[1] == 0x09 {
			return GBZ, nil
		}
	}
	return "", &DecodeError{Offset: 0, Msg: fmt.Sprintf("message code 0x%04X: payload starting 0x%02X is neither GBZ (01 09) nor DLMS (D9, DA, 0F)", messageCode, content[0])}
}

// Decode decodes the payload of a message with the given message code.
// The root node's Type names the format: "access-request",
// "access-response", "data-notification" (DLMS), "gbz" or "asn1".
func Decode(messageCode uint16, content []byte, opts Options) (*Node, error) {
	f, err := Detect(messageCode, content)
	if err != nil {
		return nil, err
	}
	var root *Node
	switch f {
	case ASN1:
		if root, err = asn.Decode(content, opts.Limits); err != nil {
			return nil, err
		}
		asn.Label(root, messageCode)
	case DLMS:
		if root, err = dlms.Decode(content, dlms.Options{Decrypt: opts.Decrypt, Limits: opts.Limits}); err != nil {
			return nil, err
		}
	case GBZ:
		alert := opts.Alert || gbzAlertOnly[messageCode]
		if root, err = gbz.Decode(content, gbz.Options{Alert: alert, Decrypt: opts.Decrypt, Limits: opts.Limits}); err != nil {
			return nil, err
		}
	}
	if root.Text == "" {
		root.Text = fmt.Sprintf("%s, message code 0x%04X", f, messageCode)
	}
	return root, nil
}

// FormatOf returns the format of a tree made by Decode.
func FormatOf(n *Node) (Format, error) {
	if n == nil {
		return "", fmt.Errorf("payload: nil tree")
	}
	switch n.Type {
	case dlms.TypeAccessRequest, dlms.TypeAccessResponse, dlms.TypeDataNotification:
		return DLMS, nil
	case "gbz":
		return GBZ, nil
	case asn.RootType:
		return ASN1, nil
	}
	return "", fmt.Errorf("payload: root type %q is not a payload", n.Type)
}

// Encode writes a tree made by Decode (possibly edited) back to bytes.
func Encode(n *Node) ([]byte, error) {
	f, err := FormatOf(n)
	if err != nil {
		return nil, err
	}
	switch f {
	case DLMS:
		return dlms.Encode(n)
	case GBZ:
		return gbz.Encode(n)
	default:
		return asn.Encode(n)
	}
}
