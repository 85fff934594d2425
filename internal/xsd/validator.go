package xsd

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ValidationError is the first schema violation found in a document.
type ValidationError struct {
	// Line is the 1-based line of the offending element (0 when unknown,
	// e.g. when validating an already parsed tree).
	Line int
	// Path locates the element with the prefixes the document uses, e.g.
	// /sr:Request/sr:Body/sr:ReadInventory/sr:DeviceID.
	Path string
	// Reason says what is wrong.
	Reason string
	// Err is an underlying error, if any (e.g. from the input gate).
	Err error
}

func (e *ValidationError) Unwrap() error { return e.Err }

func (e *ValidationError) Error() string {
	if e.Line > 0 {
		return e.Path + " (line " + strconv.Itoa(e.Line) + "): " + e.Reason
	}
	return e.Path + ": " + e.Reason
}

// Validator validates documents against compiled Tables. It is safe for
// concurrent use.
type Validator struct {
	t       *Tables
	re      []*regexp.Regexp
	enumSet []map[string]struct{} // per simple type, for large enumerations
	prefix  map[string]string
	intern  map[string]string // names and namespace URIs of the schema
	pool    sync.Pool
}

// NewValidator prepares t for validation: it compiles the patterns and
// indexes large enumerations, once.
func NewValidator(t *Tables) (*Validator, error) {
	v := &Validator{t: t, prefix: map[string]string{}}
	for _, p := range t.Patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("xsd: pattern %q: %w", p, err)
		}
		v.re = append(v.re, re)
	}
	v.enumSet = make([]map[string]struct{}, len(t.Simple))
	for i := range t.Simple {
		if e := t.Simple[i].Enum; len(e) > 8 {
			m := make(map[string]struct{}, len(e))
			for _, s := range e {
				m[s] = struct{}{}
			}
			v.enumSet[i] = m
		}
	}
	for _, p := range t.Prefixes {
		v.prefix[p.NS] = p.Prefix
	}
	v.intern = map[string]string{}
	add := func(s string) { v.intern[s] = s }
	for _, s := range []string{"xmlns", "xml", "xsi", NSXSI, NSXML, "ns3"} {
		add(s)
	}
	for _, p := range t.Prefixes {
		add(p.NS)
		add(p.Prefix)
	}
	for i := range t.Elems {
		add(t.Elems[i].Local)
	}
	for i := range t.Complex {
		for _, a := range t.Complex[i].Attrs {
			add(a.Local)
		}
	}
	v.pool.New = func() any { return &Stream{v: v} }
	return v, nil
}

// MustNewValidator is NewValidator for generated tables, which are known
// to be good; it panics on error.
func MustNewValidator(t *Tables) *Validator {
	v, err := NewValidator(t)
	if err != nil {
		panic(err)
	}
	return v
}

// Tables returns the tables v validates against.
func (v *Validator) Tables() *Tables { return v.t }

// Validate parses data and validates it. It does not run any input gate
// (size limit, encoding): callers handling untrusted input run one first.
// A DOCTYPE is refused, and no entity other than the predefined ones is
// accepted, whatever the gate.
func (v *Validator) Validate(data []byte) error {
	s := v.NewStream()
	defer s.Release()
	sc := &s.sc
	sc.Reset(data, v.intern)
	for {
		k, err := sc.Next()
		if err != nil {
			line := sc.Line()
			var se *ScanError
			if errors.As(err, &se) {
				line = se.Line
				err = errors.New(se.Msg)
			}
			return s.fail(line, "", "not well-formed XML: "+err.Error())
		}
		switch k {
		case TokEOF:
			return s.Finish(sc.Line())
		case TokStart:
			prefix, local := sc.Name()
			if err := s.Start(prefix, local, sc.Attrs(), sc.Line()); err != nil {
				return err
			}
		case TokEnd:
			prefix, local := sc.Name()
			if err := s.End(prefix, local, sc.Line()); err != nil {
				return err
			}
		case TokText:
			if len(s.stack) == 0 {
				a, b := sc.Raw()
				if sc.CDATA() || !isSpace(data[a:b]) {
					return s.fail(sc.Line(), "", "text outside the root element")
				}
				continue
			}
			if err := s.Text(sc.Text(), sc.Line()); err != nil {
				return err
			}
		}
	}
}

// NewScanner returns a Scanner over data that interns the schema's names.
func (v *Validator) NewScanner(data []byte) *Scanner { return NewScanner(data, v.intern) }

type binding struct {
	prefix, uri string
}

type frame struct {
	prefix, local string
	ns            string
	line          int
	nsMark        int
	decl          int32 // element declaration, -1 if none (lax)
	ct            int32 // complex type, -1 for a simple type
	st            int32 // simple type of the value (simple content), -1 otherwise
	content       uint8
	state, count  int32
	skip          bool // inside a processContents="skip" wildcard
	lax           bool // undeclared element under a lax wildcard
	nilled        bool
	hasChild      bool
}

// Stream validates a document given as a sequence of events, for callers
// that parse themselves (e.g. from an etree tree). Start with
// Validator.NewStream, feed Start/Text/End in document order, then Finish,
// then Release.
type Stream struct {
	v       *Validator
	sc      Scanner
	stack   []frame
	ns      []binding
	text    []byte
	ids     map[string]struct{}
	sawRoot bool
	err     *ValidationError
}

// NewStream returns a stream from the validator's pool.
func (v *Validator) NewStream() *Stream {
	s := v.pool.Get().(*Stream)
	s.stack = s.stack[:0]
	s.ns = s.ns[:0]
	s.text = s.text[:0]
	s.ids = nil
	s.sawRoot = false
	s.err = nil
	return s
}

// Release returns the stream to the pool.
func (s *Stream) Release() {
	if cap(s.text) > 1<<16 {
		s.text = nil
	}
	s.sc.Reset(nil, nil) // do not keep the document alive
	s.v.pool.Put(s)
}

func (s *Stream) path(extra ...string) string {
	var b strings.Builder
	for i := range s.stack {
		b.WriteByte('/')
		f := &s.stack[i]
		if f.prefix != "" {
			b.WriteString(f.prefix)
			b.WriteByte(':')
		}
		b.WriteString(f.local)
	}
	for _, e := range extra {
		b.WriteByte('/')
		b.WriteString(e)
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

func qual(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

// fail records and returns an error located at the current element (and
// optionally a child being started).
func (s *Stream) fail(line int, child, reason string) error {
	if s.err != nil {
		return s.err
	}
	var p string
	if child != "" {
		p = s.path(child)
	} else {
		p = s.path()
	}
	s.err = &ValidationError{Line: line, Path: p, Reason: reason}
	return s.err
}

func (s *Stream) lookupNS(prefix string) (string, bool) {
	for i := len(s.ns) - 1; i >= 0; i-- {
		if s.ns[i].prefix == prefix {
			return s.ns[i].uri, true
		}
	}
	switch prefix {
	case "":
		return "", true
	case "xml":
		return NSXML, true
	}
	return "", false
}

// name formats an expanded name with the schema's preferred prefix.
func (v *Validator) name(ns, local string) string {
	if ns == "" {
		return local
	}
	if p, ok := v.prefix[ns]; ok {
		return p + ":" + local
	}
	return "{" + ns + "}" + local
}

func (v *Validator) findGlobal(ns, local string) int32 {
	g := v.t.Globals
	i := sort.Search(len(g), func(i int) bool {
		e := &v.t.Elems[g[i]]
		return e.Local > local || e.Local == local && e.NS >= ns
	})
	if i < len(g) {
		if e := &v.t.Elems[g[i]]; e.Local == local && e.NS == ns {
			return g[i]
		}
	}
	return -1
}

func findTrans(tr []Trans, ns, local string) int32 {
	if len(tr) <= 8 {
		for i := range tr {
			if tr[i].Local == local && tr[i].NS == ns {
				return tr[i].To
			}
		}
		return -1
	}
	i := sort.Search(len(tr), func(i int) bool {
		return tr[i].Local > local || tr[i].Local == local && tr[i].NS >= ns
	})
	if i < len(tr) && tr[i].Local == local && tr[i].NS == ns {
		return tr[i].To
	}
	return -1
}

// Start handles a start tag. prefix/local are the name as written; attrs
// are raw (unresolved) attributes including namespace declarations.
func (s *Stream) Start(prefix, local string, attrs []xml.Attr, line int) error {
	if s.err != nil {
		return s.err
	}
	v := s.v
	mark := len(s.ns)
	for _, a := range attrs {
		switch {
		case a.Name.Space == "xmlns":
			if a.Name.Local == "xmlns" || (a.Name.Local == "xml" && a.Value != NSXML) {
				return s.fail(line, qual(prefix, local), "illegal namespace declaration xmlns:"+a.Name.Local)
			}
			if a.Value == "" {
				return s.fail(line, qual(prefix, local), "empty namespace URI for prefix "+a.Name.Local)
			}
			s.ns = append(s.ns, binding{a.Name.Local, a.Value})
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			s.ns = append(s.ns, binding{"", a.Value})
		}
	}
	ns, ok := s.lookupNS(prefix)
	if !ok {
		return s.fail(line, qual(prefix, local), "undeclared namespace prefix "+strconv.Quote(prefix))
	}
	f := frame{prefix: prefix, local: local, ns: ns, line: line, nsMark: mark, decl: -1, ct: -1, st: -1}

	// Find the declaration.
	if len(s.stack) == 0 {
		if s.sawRoot {
			return s.fail(line, "", "more than one root element")
		}
		s.sawRoot = true
		f.decl = v.findGlobal(ns, local)
		if f.decl < 0 {
			s.stack = append(s.stack, f)
			return s.fail(line, "", "no global element declaration for "+v.name(ns, local))
		}
	} else {
		p := &s.stack[len(s.stack)-1]
		p.hasChild = true
		switch {
		case p.skip:
			f.skip = true
		case p.nilled:
			return s.fail(line, qual(prefix, local), "element is nil (xsi:nil) and must be empty")
		case p.lax:
			f.decl = v.findGlobal(ns, local)
			f.lax = f.decl < 0
		case p.content == CSimple:
			return s.fail(line, qual(prefix, local), "element not allowed: the parent has simple content")
		case p.content == CEmpty:
			return s.fail(line, qual(prefix, local), "element not allowed: the parent's content type is empty")
		default:
			to, err := s.step(p, ns, local, line, prefix)
			if err != nil {
				return err
			}
			st := &v.t.Complex[p.ct].States[to]
			if st.Elem >= 0 {
				f.decl = st.Elem
			} else {
				w := &v.t.Wild[st.Wild]
				switch w.Process {
				case ProcessSkip:
					f.skip = true
				case ProcessLax:
					f.decl = v.findGlobal(ns, local)
					f.lax = f.decl < 0
				default:
					f.decl = v.findGlobal(ns, local)
					if f.decl < 0 {
						return s.fail(line, qual(prefix, local), "no global declaration for "+v.name(ns, local)+" (strict wildcard)")
					}
				}
			}
		}
	}
	s.stack = append(s.stack, f)
	top := &s.stack[len(s.stack)-1]
	if top.skip {
		return nil
	}
	if top.decl >= 0 {
		d := &v.t.Elems[top.decl]
		top.ct, top.st = d.Type, d.Simple
	} else {
		// Undeclared under a lax wildcard: validate as xs:anyType.
		top.ct = v.t.AnyType
	}
	s.text = s.text[:0]
	err := s.attributes(top, attrs, line)
	if top.ct >= 0 {
		top.content = v.t.Complex[top.ct].Content
	} else {
		top.content = CSimple
	}
	return err
}

// step advances the parent's automaton over a child element and returns
// the new state.
func (s *Stream) step(p *frame, ns, local string, line int, prefix string) (int32, error) {
	v := s.v
	ct := &v.t.Complex[p.ct]
	cur := &ct.States[p.state]
	if p.state != 0 && (cur.Max < 0 || p.count < cur.Max) && s.matches(cur, ns, local) {
		p.count++
		return p.state, nil
	}
	if p.state != 0 && p.count < cur.Min {
		return 0, s.fail(line, qual(prefix, local), fmt.Sprintf("unexpected element %s: %s must occur at least %d times here, found %d",
			v.name(ns, local), s.posName(cur), cur.Min, p.count))
	}
	to := findTrans(cur.Trans, ns, local)
	if to < 0 {
		for _, w := range cur.WildTo {
			if v.t.Wild[ct.States[w].Wild].Allows(ns) {
				to = w
				break
			}
		}
	}
	if to < 0 {
		return 0, s.fail(line, qual(prefix, local), "unexpected element "+v.name(ns, local)+"; "+s.expected(p.ct, p.state, p.count))
	}
	p.state, p.count = to, 1
	return to, nil
}

func (s *Stream) matches(st *State, ns, local string) bool {
	if st.Elem >= 0 {
		e := &s.v.t.Elems[st.Elem]
		return e.Local == local && e.NS == ns
	}
	return st.Wild >= 0 && s.v.t.Wild[st.Wild].Allows(ns)
}

func (s *Stream) posName(st *State) string {
	if st.Elem >= 0 {
		e := &s.v.t.Elems[st.Elem]
		return s.v.name(e.NS, e.Local)
	}
	return "a wildcard element"
}

// expected describes what may come next in state (state, count).
func (s *Stream) expected(ct, state, count int32) string {
	c := &s.v.t.Complex[ct]
	st := &c.States[state]
	var names []string
	if state != 0 && (st.Max < 0 || count < st.Max) {
		names = append(names, s.posName(st))
	}
	if state == 0 || count >= st.Min {
		for _, t := range st.Trans {
			names = append(names, s.v.name(t.NS, t.Local))
		}
		for range st.WildTo {
			names = append(names, "(any element allowed by a wildcard)")
		}
	}
	if len(names) == 0 {
		return "no more elements are allowed here"
	}
	if len(names) > 12 {
		names = append(names[:12], fmt.Sprintf("... (%d more)", len(names)-12))
	}
	return "expected " + strings.Join(names, ", ")
}

const maxAttrBits = 64

func (s *Stream) attributes(f *frame, attrs []xml.Attr, line int) error {
	v := s.v
	// Pass 1: resolve names, refuse duplicates, apply xsi:type and xsi:nil
	// (the type they select governs the other attributes).
	for i, a := range attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		ns := ""
		if a.Name.Space != "" {
			var ok bool
			ns, ok = s.lookupNS(a.Name.Space)
			if !ok {
				return s.fail(line, "", "undeclared namespace prefix "+strconv.Quote(a.Name.Space)+" on attribute "+a.Name.Local)
			}
		}
		for _, b := range attrs[:i] {
			if b.Name == a.Name {
				return s.fail(line, "", "duplicate attribute "+qual(a.Name.Space, a.Name.Local))
			}
			if b.Name.Local == a.Name.Local && b.Name.Space != "xmlns" && b.Name.Space != "" && a.Name.Space != "" {
				if bns, _ := s.lookupNS(b.Name.Space); bns == ns {
					return s.fail(line, "", "duplicate attribute {"+ns+"}"+a.Name.Local)
				}
			}
		}
		if ns == NSXSI {
			if err := s.xsiAttr(f, a.Name.Local, a.Value, line); err != nil {
				return err
			}
		}
	}
	if f.ct < 0 && f.st < 0 {
		return nil
	}
	if f.lax && f.decl < 0 {
		return nil // undeclared element under a lax wildcard: attributes unchecked
	}
	var decls []AttrDecl
	anyAttr := int32(-1)
	var ct *ComplexTable
	if f.ct >= 0 {
		ct = &v.t.Complex[f.ct]
		decls, anyAttr = ct.Attrs, ct.AnyAttr
	}
	// Pass 2: check every other attribute against the declarations.
	var seen uint64
	for _, a := range attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		ns := ""
		if a.Name.Space != "" {
			ns, _ = s.lookupNS(a.Name.Space)
		}
		if ns == NSXSI {
			continue
		}
		found := -1
		for j := range decls {
			if decls[j].Local == a.Name.Local && decls[j].NS == ns {
				found = j
				break
			}
		}
		if found < 0 {
			if anyAttr >= 0 && v.t.Wild[anyAttr].Allows(ns) && v.t.Wild[anyAttr].Process != ProcessStrict {
				continue
			}
			return s.fail(line, "", "attribute "+qual(a.Name.Space, a.Name.Local)+" is not allowed")
		}
		if found < maxAttrBits {
			seen |= 1 << found
		}
		d := &decls[found]
		if reason := s.checkValue(d.Type, a.Value); reason != "" {
			return s.fail(line, "", "attribute "+qual(a.Name.Space, a.Name.Local)+": "+reason)
		}
		if d.HasFixed && !s.sameValue(d.Type, a.Value, d.Fixed) {
			return s.fail(line, "", "attribute "+qual(a.Name.Space, a.Name.Local)+": value must be "+strconv.Quote(d.Fixed))
		}
	}
	for j := range decls {
		if decls[j].Required && (j >= maxAttrBits || seen&(1<<j) == 0) {
			if j >= maxAttrBits && s.hasAttr(attrs, decls[j]) {
				continue
			}
			return s.fail(line, "", "missing required attribute "+v.name(decls[j].NS, decls[j].Local))
		}
	}
	return nil
}

func (s *Stream) hasAttr(attrs []xml.Attr, d AttrDecl) bool {
	for _, a := range attrs {
		if a.Name.Local != d.Local || a.Name.Space == "xmlns" {
			continue
		}
		ns := ""
		if a.Name.Space != "" {
			ns, _ = s.lookupNS(a.Name.Space)
		}
		if ns == d.NS {
			return true
		}
	}
	return false
}

// xsiAttr handles xsi:type, xsi:nil and the schema location hints.
func (s *Stream) xsiAttr(f *frame, local, value string, line int) error {
	v := s.v
	switch local {
	case "schemaLocation", "noNamespaceSchemaLocation":
		return nil
	case "nil":
		b := collapse(value)
		if !checkBoolean(b) {
			return s.fail(line, "", "xsi:nil: "+strconv.Quote(value)+" is not a boolean")
		}
		if f.decl < 0 || !v.t.Elems[f.decl].Nillable {
			return s.fail(line, "", "xsi:nil is not allowed: the element is not nillable")
		}
		f.nilled = b == "true" || b == "1"
		return nil
	case "type":
		q := collapse(value)
		prefix, tl := "", q
		if i := strings.IndexByte(q, ':'); i >= 0 {
			prefix, tl = q[:i], q[i+1:]
		}
		tns, ok := s.lookupNS(prefix)
		if !ok {
			return s.fail(line, "", "xsi:type "+strconv.Quote(value)+": undeclared prefix")
		}
		i := sort.Search(len(v.t.Types), func(i int) bool {
			t := &v.t.Types[i]
			return t.Local > tl || t.Local == tl && t.NS >= tns
		})
		if i == len(v.t.Types) || v.t.Types[i].Local != tl || v.t.Types[i].NS != tns {
			return s.fail(line, "", "xsi:type "+strconv.Quote(value)+" does not name a type of the schema")
		}
		tr := v.t.Types[i]
		if f.decl < 0 {
			// Lax, undeclared element: any type will do.
			f.ct, f.st, f.lax = tr.Complex, tr.Simple, false
			if tr.Complex >= 0 && v.t.Complex[tr.Complex].Content == CSimple {
				f.st = v.t.Complex[tr.Complex].Value
			}
			return nil
		}
		if !s.derives(tr, f.ct, f.st) {
			return s.fail(line, "", "xsi:type "+strconv.Quote(value)+" is not derived from the declared type")
		}
		f.ct, f.st = tr.Complex, tr.Simple
		return nil
	}
	return s.fail(line, "", "attribute xsi:"+local+" is not allowed")
}

func (s *Stream) derives(tr TypeRef, ct, st int32) bool {
	t := s.v.t
	if ct == t.AnyType {
		return true // anything derives from xs:anyType
	}
	if tr.Complex >= 0 && ct >= 0 {
		for c := tr.Complex; c >= 0; c = t.Complex[c].Base {
			if c == ct {
				return true
			}
		}
		return false
	}
	if tr.Simple >= 0 && st >= 0 && ct < 0 {
		for c := tr.Simple; c >= 0; c = t.Simple[c].Base {
			if c == st {
				return true
			}
		}
	}
	return false
}

// Text handles character data (text or CDATA) inside the current element.
func (s *Stream) Text(b []byte, line int) error {
	if s.err != nil {
		return s.err
	}
	if len(s.stack) == 0 {
		if !isSpace(b) {
			return s.fail(line, "", "text outside the root element")
		}
		return nil
	}
	f := &s.stack[len(s.stack)-1]
	if f.skip || f.lax {
		return nil
	}
	switch f.content {
	case CMixed:
		return nil
	case CSimple:
		s.text = append(s.text, b...)
		return nil
	}
	if !isSpace(b) {
		if f.content == CEmpty {
			return s.fail(line, "", "text not allowed: the content type is empty")
		}
		return s.fail(line, "", "text not allowed in element-only content")
	}
	return nil
}

func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// End handles an end tag.
func (s *Stream) End(prefix, local string, line int) error {
	if s.err != nil {
		return s.err
	}
	if len(s.stack) == 0 {
		return s.fail(line, "", "unexpected end tag "+qual(prefix, local))
	}
	f := &s.stack[len(s.stack)-1]
	if f.prefix != prefix || f.local != local {
		return s.fail(line, "", "end tag "+qual(prefix, local)+" does not match "+qual(f.prefix, f.local))
	}
	if !f.skip && !f.lax {
		if err := s.finishElement(f); err != nil {
			return err
		}
	}
	s.ns = s.ns[:f.nsMark]
	s.stack = s.stack[:len(s.stack)-1]
	s.text = s.text[:0]
	return nil
}

func (s *Stream) finishElement(f *frame) error {
	v := s.v
	if f.nilled {
		if len(bytes.TrimSpace(s.text)) > 0 || f.hasChild {
			return s.fail(f.line, "", "element is nil (xsi:nil) and must be empty")
		}
		return nil
	}
	st := f.st
	if f.ct >= 0 {
		ct := &v.t.Complex[f.ct]
		if ct.Abstract {
			return s.fail(f.line, "", "type "+ct.Name+" is abstract; use xsi:type to name a derived type")
		}
		switch ct.Content {
		case CSimple:
			st = ct.Value
		case CElement, CMixed:
			cur := &ct.States[f.state]
			if !cur.Final || (f.state != 0 && f.count < cur.Min) {
				return s.fail(f.line, "", "content is incomplete; "+s.expected(f.ct, f.state, f.count))
			}
			return nil
		default:
			return nil
		}
	}
	if st < 0 {
		return nil
	}
	val := string(s.text)
	if f.decl >= 0 {
		d := &v.t.Elems[f.decl]
		if val == "" && (d.HasDefault || d.HasFixed) {
			val = d.Value
		}
		if d.HasFixed && !s.sameValue(st, val, d.Value) {
			return s.fail(f.line, "", "value must be "+strconv.Quote(d.Value)+" (fixed)")
		}
	}
	if reason := s.checkValue(st, val); reason != "" {
		return s.fail(f.line, "", reason)
	}
	return nil
}

func (s *Stream) sameValue(st int32, a, b string) bool {
	t := &s.v.t.Simple[st]
	ca, ok1 := Canonical(t.Prim, normalizeWS(a, t.WS))
	cb, ok2 := Canonical(t.Prim, normalizeWS(b, t.WS))
	return ok1 && ok2 && ca == cb
}

// Finish checks the end of the document.
func (s *Stream) Finish(line int) error {
	if s.err != nil {
		return s.err
	}
	if len(s.stack) > 0 {
		return s.fail(line, "", "document ends inside element "+qual(s.stack[len(s.stack)-1].prefix, s.stack[len(s.stack)-1].local))
	}
	if !s.sawRoot {
		return s.fail(line, "", "no root element")
	}
	return nil
}

// CheckValue validates a lexical value against simple type st and returns
// "" or the reason it is invalid.
func (v *Validator) CheckValue(st int32, value string) string {
	s := Stream{v: v}
	return s.checkValue(st, value)
}

func (s *Stream) checkValue(st int32, raw string) string {
	v := s.v
	t := &v.t.Simple[st]
	val := normalizeWS(raw, t.WS)
	bad := func(what string) string {
		name := t.Name
		if name == "" {
			name = "xs:" + t.Prim.String() + " (restricted)"
		}
		return strconv.Quote(val) + " is not a valid " + name + ": " + what
	}
	length := -1
	var dec decimal
	switch t.Prim {
	case PrimString, PrimAnySimple, PrimAnyURI:
		if t.Prim == PrimAnyURI && !checkAnyURI(val) {
			return bad("not a URI")
		}
		if t.Has&(HasLength|HasMinLength|HasMaxLength) != 0 {
			length = runeLen(val)
		}
	case PrimBoolean:
		if !checkBoolean(val) {
			return bad("not a boolean")
		}
	case PrimDecimal:
		var ok bool
		dec, ok = parseDecimal(val, t.Lex == LexInteger)
		if !ok {
			if t.Lex == LexInteger {
				return bad("not an integer")
			}
			return bad("not a decimal number")
		}
	case PrimFloat, PrimDouble:
		if !checkFloat(val) {
			return bad("not a " + t.Prim.String())
		}
	case PrimDuration:
		if !checkDuration(val) {
			return bad("not a duration")
		}
	case PrimDateTime:
		if !checkDateTime(val) {
			return bad("not a dateTime")
		}
	case PrimTime:
		if !checkTime(val) {
			return bad("not a time")
		}
	case PrimDate:
		if !checkDate(val) {
			return bad("not a date")
		}
	case PrimGYearMonth:
		if !checkGYearMonth(val) {
			return bad("not a gYearMonth")
		}
	case PrimGYear:
		if !checkGYear(val) {
			return bad("not a gYear")
		}
	case PrimGMonthDay:
		if !checkGMonthDay(val) {
			return bad("not a gMonthDay")
		}
	case PrimGDay:
		if !checkGDay(val) {
			return bad("not a gDay")
		}
	case PrimGMonth:
		if !checkGMonth(val) {
			return bad("not a gMonth")
		}
	case PrimHexBinary:
		n, ok := hexLen(val)
		if !ok {
			return bad("not hexBinary")
		}
		length = n
	case PrimBase64Binary:
		n, ok := base64Len(val)
		if !ok {
			return bad("not base64Binary")
		}
		length = n
	case PrimQName, PrimNOTATION:
		if !checkQName(val) {
			return bad("not a QName")
		}
		if i := strings.IndexByte(val, ':'); i >= 0 {
			if _, ok := s.lookupNS(val[:i]); !ok {
				return bad("undeclared prefix")
			}
		}
	}
	switch t.Lex {
	case LexName:
		if !checkName(val, true) {
			return bad("not an XML Name")
		}
	case LexNCName:
		if !checkName(val, false) {
			return bad("not an NCName")
		}
	case LexNMTOKEN:
		if !checkNMTOKEN(val) {
			return bad("not an NMTOKEN")
		}
	case LexLanguage:
		if !checkLanguage(val) {
			return bad("not a language tag")
		}
	}
	if length >= 0 {
		if t.Has&HasLength != 0 && length != int(t.Length) {
			return bad(fmt.Sprintf("length %d, must be %d", length, t.Length))
		}
		if t.Has&HasMinLength != 0 && length < int(t.MinLength) {
			return bad(fmt.Sprintf("length %d is below minLength %d", length, t.MinLength))
		}
		if t.Has&HasMaxLength != 0 && length > int(t.MaxLength) {
			return bad(fmt.Sprintf("length %d exceeds maxLength %d", length, t.MaxLength))
		}
	}
	for _, p := range t.Patterns {
		if !v.re[p].MatchString(val) {
			return bad("does not match pattern " + shorten(v.t.Patterns[p]))
		}
	}
	if t.Has&HasEnum != 0 {
		c, _ := Canonical(t.Prim, val)
		if t.Prim == PrimDecimal {
			c = dec.canonical()
		}
		if !s.inEnum(st, c) {
			return bad("not one of the enumerated values")
		}
	}
	if t.Prim == PrimDecimal {
		if t.Has&HasMinInclusive != 0 && cmpDecimal(dec, mustDec(t.MinInclusive)) < 0 {
			return bad("less than minInclusive " + t.MinInclusive)
		}
		if t.Has&HasMaxInclusive != 0 && cmpDecimal(dec, mustDec(t.MaxInclusive)) > 0 {
			return bad("greater than maxInclusive " + t.MaxInclusive)
		}
		if t.Has&HasMinExclusive != 0 && cmpDecimal(dec, mustDec(t.MinExclusive)) <= 0 {
			return bad("not greater than minExclusive " + t.MinExclusive)
		}
		if t.Has&HasMaxExclusive != 0 && cmpDecimal(dec, mustDec(t.MaxExclusive)) >= 0 {
			return bad("not less than maxExclusive " + t.MaxExclusive)
		}
		if t.Has&HasTotalDigits != 0 && dec.totalDigits() > int(t.TotalDigits) {
			return bad(fmt.Sprintf("more than %d digits", t.TotalDigits))
		}
		if t.Has&HasFractionDigits != 0 && len(dec.frac) > int(t.FractionDigits) {
			return bad(fmt.Sprintf("more than %d fraction digits", t.FractionDigits))
		}
	}
	if t.Has&IsID != 0 {
		if s.ids == nil {
			s.ids = map[string]struct{}{}
		}
		if _, dup := s.ids[val]; dup {
			return bad("duplicate ID")
		}
		s.ids[val] = struct{}{}
	}
	return ""
}

func (s *Stream) inEnum(st int32, c string) bool {
	if m := s.v.enumSet[st]; m != nil {
		_, ok := m[c]
		return ok
	}
	for _, e := range s.v.t.Simple[st].Enum {
		if e == c {
			return true
		}
	}
	return false
}

// mustDec parses a canonical bound from the tables (known good).
func mustDec(s string) decimal {
	d, _ := parseDecimal(s, false)
	return d
}

func shorten(p string) string {
	p = strings.TrimSuffix(strings.TrimPrefix(p, "^(?:"), ")$")
	if len(p) > 60 {
		return p[:57] + "..."
	}
	return p
}

// ValueType returns the simple type (an index into Tables.Simple) that
// governs the character data of the element started last: its simple
// type, or the value type of its simple content; -1 for other elements.
// It lets a caller learn the facets of each leaf while validating.
func (s *Stream) ValueType() int32 {
	if len(s.stack) == 0 {
		return -1
	}
	f := &s.stack[len(s.stack)-1]
	if f.skip || f.lax {
		return -1
	}
	if f.ct >= 0 {
		c := &s.v.t.Complex[f.ct]
		if c.Content == CSimple {
			return c.Value
		}
		return -1
	}
	return f.st
}
