package xmldsig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/beevik/etree"
	"github.com/opendcc/opendcc/internal/xmlsafe"
	"github.com/opendcc/opendcc/smki"
)

// The fast path of Sign, for documents that are already in the form Sign
// writes: the XML declaration, then one root element whose only
// attributes are its own (unprefixed attributes and namespace declarations
// other than ds), and below it elements without attributes, each holding
// either element children or non-blank text (no empty elements, comments,
// processing instructions, CDATA or references other than &amp; &lt;
// &gt;). duis.Encode writes responses that way. For such a document the
// parse, compaction and serialisation of the general path give back the
// input bytes, and its inclusive C14N is the input with the root's
// namespace declarations and attributes sorted; so the digest is taken
// over that, and the Signature, built from a template made by the general
// path itself (per certificate), is inserted before the root's end tag.
// Anything else takes the general path. TestSignFastAgrees compares both.

// fastTemplate is a Signature serialised by the general path with
// placeholder digest and signature values, split around them; and the
// exclusive C14N of its SignedInfo, split around the digest.
type fastTemplate struct {
	sig    [3][]byte // before the digest, between digest and value, after the value
	si     [2][]byte // SignedInfo C14N before and after the digest
	usable bool
}

var fastTemplates sync.Map // *smki.Certificate → *fastTemplate

var (
	placeholderDigest = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xFF}, sha256.Size))
	placeholderValue  = base64.StdEncoding.EncodeToString(make([]byte, signatureValueSize))
)

func templateFor(cert *smki.Certificate) *fastTemplate {
	if v, ok := fastTemplates.Load(cert); ok {
		return v.(*fastTemplate)
	}
	t := &fastTemplate{}
	root := etree.NewElement("r")
	si, sv := buildSignature(root, bytes.Repeat([]byte{0xFF}, sha256.Size), cert)
	sv.SetText(placeholderValue)
	var b bytes.Buffer
	root.ChildElements()[0].WriteTo(&b, &outputSettings)
	s := b.String()
	c14n := string(canonicalExclusive(si))
	if strings.Count(s, placeholderDigest) == 1 && strings.Count(s, placeholderValue) == 1 &&
		strings.Count(c14n, placeholderDigest) == 1 && strings.Index(s, placeholderDigest) < strings.Index(s, placeholderValue) {
		i := strings.Index(s, placeholderDigest)
		j := strings.Index(s, placeholderValue)
		t.sig = [3][]byte{[]byte(s[:i]), []byte(s[i+len(placeholderDigest) : j]), []byte(s[j+len(placeholderValue):])}
		k := strings.Index(c14n, placeholderDigest)
		t.si = [2][]byte{[]byte(c14n[:k]), []byte(c14n[k+len(placeholderDigest):])}
		t.usable = true
	}
	if len(fastTemplateKeys()) < 64 { // bounded: certificates are few
		fastTemplates.Store(cert, t)
	}
	return t
}

func fastTemplateKeys() []any {
	var ks []any
	fastTemplates.Range(func(k, _ any) bool { ks = append(ks, k); return len(ks) < 64 })
	return ks
}

// canonicalRootDigest returns the SHA-256 of the inclusive C14N of doc's
// root element and the offset in doc of the root's end tag, or ok false if
// doc is not in the form the fast path handles.
func canonicalRootDigest(doc []byte) (sum [sha256.Size]byte, end int, ok bool) {
	if !bytes.HasPrefix(doc, []byte(XMLDeclaration)) {
		return sum, 0, false
	}
	b := doc[len(XMLDeclaration):]
	off := len(XMLDeclaration)
	// Root start tag: <name( attr="value")*>
	if len(b) < 2 || b[0] != '<' {
		return sum, 0, false
	}
	i := 1
	for i < len(b) && isFastNameByte(b[i]) {
		i++
	}
	rootName := b[1:i]
	if !fastName(rootName) {
		return sum, 0, false
	}
	type attr struct{ name, value []byte }
	var nsBuf, plainBuf [8]attr
	ns, plain := nsBuf[:0], plainBuf[:0]
	for {
		if i >= len(b) {
			return sum, 0, false
		}
		if b[i] == '>' {
			i++
			break
		}
		if b[i] != ' ' {
			return sum, 0, false
		}
		i++
		j := i
		for j < len(b) && isFastNameByte(b[j]) {
			j++
		}
		name := b[i:j]
		if !fastName(name) || j+1 >= len(b) || b[j] != '=' || b[j+1] != '"' {
			return sum, 0, false
		}
		k := j + 2
		for k < len(b) && b[k] != '"' {
			if b[k] < 0x20 || b[k] >= 0x7F || b[k] == '&' || b[k] == '<' || b[k] == '>' {
				return sum, 0, false
			}
			k++
		}
		if k >= len(b) {
			return sum, 0, false
		}
		a := attr{name, b[j+2 : k]}
		switch {
		case bytes.Equal(name, []byte("xmlns")), bytes.Equal(name, []byte("xmlns:"+signaturePrefix)):
			return sum, 0, false // default namespace, or ds bound by the root: general path
		case bytes.HasPrefix(name, []byte("xmlns:")):
			if len(a.value) == 0 || xmlPrefixed(name[len("xmlns:"):]) {
				return sum, 0, false
			}
			ns = append(ns, a)
		case bytes.IndexByte(name, ':') >= 0:
			return sum, 0, false // prefixed attribute: sorted by namespace URI
		default:
			plain = append(plain, a)
		}
		i = k + 1
	}
	declared := func(name []byte) bool {
		i := bytes.IndexByte(name, ':')
		if i < 0 {
			return true
		}
		for _, a := range ns {
			if bytes.Equal(a.name[len("xmlns:"):], name[:i]) {
				return true
			}
		}
		return false
	}
	if !declared(rootName) {
		return sum, 0, false
	}
	slices.SortFunc(ns, func(x, y attr) int { return bytes.Compare(x.name[6:], y.name[6:]) })
	slices.SortFunc(plain, func(x, y attr) int { return bytes.Compare(x.name, y.name) })
	for x := 1; x < len(ns); x++ {
		if bytes.Equal(ns[x].name, ns[x-1].name) {
			return sum, 0, false
		}
	}
	for x := 1; x < len(plain); x++ {
		if bytes.Equal(plain[x].name, plain[x-1].name) {
			return sum, 0, false
		}
	}
	// Content: <name>, </name> and non-blank text without references other
	// than &amp; &lt; &gt;; every element holds elements or text, not both,
	// not nothing; the root closes at the very end.
	body := i
	depth := 1
	var stackBuf [32][]byte
	var elemBuf, textBuf [32]bool
	stack := append(stackBuf[:0], rootName)
	lastWasStart := true // the previous token was a start tag
	hasElem := append(elemBuf[:0], false)
	hasText := append(textBuf[:0], false)
	for depth > 0 {
		if i >= len(b) {
			return sum, 0, false
		}
		if b[i] != '<' {
			j := i
			for j < len(b) && b[j] != '<' {
				if b[j] < 0x20 || b[j] >= 0x7F {
					return sum, 0, false // controls, non-ASCII: the general path checks them
				}
				switch b[j] {
				case '>', '"', '\'':
					return sum, 0, false
				case '&':
					r := b[j:]
					if !bytes.HasPrefix(r, []byte("&amp;")) && !bytes.HasPrefix(r, []byte("&lt;")) && !bytes.HasPrefix(r, []byte("&gt;")) {
						return sum, 0, false
					}
				}
				j++
			}
			if isXMLSpaceBytes(b[i:j]) || !lastWasStart {
				return sum, 0, false
			}
			hasText[len(hasText)-1] = true
			lastWasStart = false
			i = j
			continue
		}
		if i+1 < len(b) && b[i+1] == '/' {
			j := i + 2
			for j < len(b) && isFastNameByte(b[j]) {
				j++
			}
			if j >= len(b) || b[j] != '>' || !bytes.Equal(b[i+2:j], stack[len(stack)-1]) { // names were checked at the start tag
				return sum, 0, false
			}
			top := len(hasText) - 1
			if (!hasText[top] && !hasElem[top]) || (hasText[top] && hasElem[top]) {
				return sum, 0, false
			}
			if depth == 1 {
				if j+1 != len(b) {
					return sum, 0, false
				}
				end = off + i
			}
			stack, hasText, hasElem = stack[:len(stack)-1], hasText[:top], hasElem[:top]
			depth--
			lastWasStart = false
			i = j + 1
			continue
		}
		j := i + 1
		for j < len(b) && isFastNameByte(b[j]) {
			j++
		}
		if j >= len(b) || b[j] != '>' || !fastName(b[i+1:j]) || !declared(b[i+1:j]) {
			return sum, 0, false
		}
		hasElem[len(hasElem)-1] = true
		stack = append(stack, b[i+1:j])
		hasText, hasElem = append(hasText, false), append(hasElem, false)
		depth++
		lastWasStart = true
		i = j + 1
	}
	var headBuf [512]byte
	out := append(headBuf[:0], '<')
	out = append(out, rootName...)
	for _, as := range [2][]attr{ns, plain} {
		for _, a := range as {
			out = append(out, ' ')
			out = append(out, a.name...)
			out = append(out, '=', '"')
			out = append(out, a.value...)
			out = append(out, '"')
		}
	}
	out = append(out, '>')
	// The C14N is the sorted start tag followed by the rest of the input
	// as it is: it is digested in two parts instead of being copied.
	h := sha256.New()
	h.Write(out)
	h.Write(b[body:])
	h.Sum(sum[:0])
	return sum, end, true
}

// fastName: an ASCII XML name with at most one colon, between two
// non-empty parts that start with a letter or '_', and no "xml" prefix.
func fastName(n []byte) bool {
	start := func(p []byte) bool {
		return len(p) > 0 && (p[0] >= 'a' && p[0] <= 'z' || p[0] >= 'A' && p[0] <= 'Z' || p[0] == '_')
	}
	i := bytes.IndexByte(n, ':')
	if i < 0 {
		return start(n)
	}
	prefix, local := n[:i], n[i+1:]
	if bytes.IndexByte(local, ':') >= 0 || !start(prefix) || !start(local) {
		return false
	}
	return !xmlPrefixed(prefix) || string(prefix) == "xmlns"
}

// xmlPrefixed: the name starts with "xml" in any case (reserved).
func xmlPrefixed(n []byte) bool {
	return len(n) >= 3 && n[0]|0x20 == 'x' && n[1]|0x20 == 'm' && n[2]|0x20 == 'l'
}

// isFastNameByte: ASCII name characters (and ':'); anything else takes the
// general path.
func isFastNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '_' || c == '-' || c == '.'
}

// signFast signs doc by the fast path; ok is false when it does not apply.
func signFast(doc []byte, key *ecdsa.PrivateKey, cert *smki.Certificate) (out []byte, ok bool, err error) {
	t := templateFor(cert)
	if !t.usable || xmlsafe.Check(doc, 0) != nil {
		return nil, false, nil // the general path reports the error
	}
	sum, end, ok := canonicalRootDigest(doc)
	if !ok {
		return nil, false, nil
	}
	var digestBuf [44]byte
	digest := base64.StdEncoding.AppendEncode(digestBuf[:0], sum[:])
	hs := sha256.New()
	hs.Write(t.si[0])
	hs.Write(digest)
	hs.Write(t.si[1])
	var h [sha256.Size]byte
	hs.Sum(h[:0])
	der, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		return nil, true, err
	}
	var rs [signatureValueSize]byte
	if !rsFromDER(rs[:], der) {
		return nil, true, errors.New("invalid ASN.1 from SignASN1") // as ecdsa.Sign
	}
	var valueBuf [88]byte
	value := base64.StdEncoding.AppendEncode(valueBuf[:0], rs[:])
	out = make([]byte, 0, len(doc)+len(t.sig[0])+len(t.sig[1])+len(t.sig[2])+len(digest)+len(value))
	out = append(out, doc[:end]...)
	out = append(out, t.sig[0]...)
	out = append(out, digest...)
	out = append(out, t.sig[1]...)
	out = append(out, value...)
	out = append(out, t.sig[2]...)
	out = append(out, doc[end:]...)
	return out, true, nil
}

// rsFromDER writes the two INTEGERs of a DER ECDSA-Sig-Value (what
// ecdsa.SignASN1 returns) into rs as two right-aligned big-endian halves,
// the bytes r.FillBytes and s.FillBytes give after ecdsa.Sign (which
// parses the same DER into big.Ints). ok is false for anything but a
// SEQUENCE of two non-negative INTEGERs that fit.
func rsFromDER(rs, der []byte) bool {
	if len(der) < 2 || der[0] != 0x30 || int(der[1]) != len(der)-2 || der[1] >= 0x80 {
		return false
	}
	b := der[2:]
	half := len(rs) / 2
	for k := 0; k < 2; k++ {
		if len(b) < 2 || b[0] != 0x02 || b[1] >= 0x80 || int(b[1]) > len(b)-2 || b[1] == 0 {
			return false
		}
		v := b[2 : 2+int(b[1])]
		b = b[2+int(b[1]):]
		if v[0]&0x80 != 0 {
			return false // negative
		}
		for len(v) > 0 && v[0] == 0 {
			v = v[1:]
		}
		if len(v) > half {
			return false
		}
		dst := rs[k*half : (k+1)*half]
		clear(dst)
		copy(dst[half-len(v):], v)
	}
	return len(b) == 0
}
