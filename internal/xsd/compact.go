package xsd

import "fmt"

// Compact removes comments and ignorable whitespace from a document and
// copies every other byte unchanged (declaration, tags, attribute quoting,
// references, CDATA sections, text).
//
// Whitespace-only text is ignorable where the schema gives the parent
// element-only or empty content, which is what a schema-validating parser
// with "ignoring element content whitespace" (the DCC Boxed Java tool)
// drops before it signs or checks a digest. In simple and mixed content it
// is kept. For an element the schema does not describe (unknown, or under a
// lax/skip wildcard) whitespace-only text is dropped when the element also
// has child elements. Whitespace outside the root element is dropped too.
// Only whitespace written literally counts: character references are kept.
func (v *Validator) Compact(data []byte) ([]byte, error) {
	type seg struct {
		start, end int
		drop       bool
		parent     int // frame index whose children decide, or -1
	}
	var (
		segs    []seg
		stack   []cframe
		ns      []binding
		sawRoot bool
	)
	lookup := func(prefix string) (string, bool) {
		for i := len(ns) - 1; i >= 0; i-- {
			if ns[i].prefix == prefix {
				return ns[i].uri, true
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
	sc := v.NewScanner(data)
	for {
		k, err := sc.Next()
		if err != nil {
			return nil, fmt.Errorf("not well-formed XML (%w)", err)
		}
		if k == TokEOF {
			break
		}
		start, end := sc.Raw()
		s := seg{start: start, end: end, parent: -1}
		switch k {
		case TokComment:
			s.drop = true
		case TokText:
			if sc.CDATA() || start == end || !isSpace(data[start:end]) {
				if len(stack) == 0 {
					return nil, fmt.Errorf("line %d: text outside the root element", sc.Line())
				}
				break // text, a CDATA section, or references: keep
			}
			if len(stack) == 0 {
				s.drop = true
				break
			}
			f := &stack[len(stack)-1]
			switch {
			case f.known && (f.content == CElement || f.content == CEmpty):
				s.drop = true
			case f.known:
				// simple or mixed content: keep
			default:
				f.pending = append(f.pending, len(segs))
			}
		case TokStart:
			prefix, local := sc.Name()
			mark := len(ns)
			for _, a := range sc.Attrs() {
				if a.Name.Space == "xmlns" {
					ns = append(ns, binding{a.Name.Local, a.Value})
				} else if a.Name.Space == "" && a.Name.Local == "xmlns" {
					ns = append(ns, binding{"", a.Value})
				}
			}
			uri, _ := lookup(prefix)
			nf := cframe{ct: -1, nsMark: mark}
			decl := int32(-1)
			if len(stack) == 0 {
				if sawRoot {
					return nil, fmt.Errorf("line %d: more than one root element", sc.Line())
				}
				sawRoot = true
				decl = v.findGlobal(uri, local)
			} else {
				p := &stack[len(stack)-1]
				p.hasChild = true
				if p.known && p.ct >= 0 && (p.content == CElement || p.content == CMixed) {
					decl = v.lenientStep(p, uri, local)
				}
			}
			if decl >= 0 {
				e := &v.t.Elems[decl]
				nf.known = true
				if e.Type >= 0 {
					nf.ct = e.Type
					nf.content = v.t.Complex[e.Type].Content
				} else {
					nf.content = CSimple
				}
				// xsi:type may change the content type.
				for _, a := range sc.Attrs() {
					if a.Name.Local == "type" && a.Name.Space != "" {
						if u, _ := lookup(a.Name.Space); u == NSXSI {
							nf.known = false
						}
					}
				}
			}
			nf.prefix, nf.local = prefix, local
			stack = append(stack, nf)
		case TokEnd:
			prefix, local := sc.Name()
			if len(stack) == 0 {
				return nil, fmt.Errorf("line %d: unexpected end tag", sc.Line())
			}
			f := &stack[len(stack)-1]
			if f.prefix != prefix || f.local != local {
				return nil, fmt.Errorf("line %d: end tag %s does not match %s", sc.Line(), qual(prefix, local), qual(f.prefix, f.local))
			}
			if f.hasChild {
				for _, i := range f.pending {
					segs[i].drop = true
				}
			}
			ns = ns[:f.nsMark]
			stack = stack[:len(stack)-1]
		}
		segs = append(segs, s)
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("document ends inside an element")
	}
	if !sawRoot {
		return nil, fmt.Errorf("no root element")
	}
	out := make([]byte, 0, len(data))
	for _, s := range segs {
		if !s.drop {
			out = append(out, data[s.start:s.end]...)
		}
	}
	return out, nil
}

type cframe struct {
	prefix, local    string
	ct, state, count int32 // ct -1: unknown
	content          uint8
	known            bool
	hasChild         bool
	nsMark           int
	pending          []int // segment indices decided at the end
}

// lenientStep is the content-model step of validation without errors: it
// returns the declaration of the child, or -1 when the child does not fit
// (or fits a wildcard without a global declaration). On a misfit the
// parent's automaton stops (later children are unknown too).
func (v *Validator) lenientStep(p *cframe, ns, local string) int32 {
	ct := &v.t.Complex[p.ct]
	if p.state < 0 {
		return -1
	}
	cur := &ct.States[p.state]
	matches := func(st *State) bool {
		if st.Elem >= 0 {
			e := &v.t.Elems[st.Elem]
			return e.Local == local && e.NS == ns
		}
		return st.Wild >= 0 && v.t.Wild[st.Wild].Allows(ns)
	}
	to := int32(-1)
	if p.state != 0 && (cur.Max < 0 || p.count < cur.Max) && matches(cur) {
		to = p.state
		p.count++
	} else {
		to = findTrans(cur.Trans, ns, local)
		if to < 0 {
			for _, w := range cur.WildTo {
				if v.t.Wild[ct.States[w].Wild].Allows(ns) {
					to = w
					break
				}
			}
		}
		if to < 0 {
			p.state = -1
			return -1
		}
		p.state, p.count = to, 1
	}
	st := &ct.States[to]
	if st.Elem >= 0 {
		return st.Elem
	}
	if v.t.Wild[st.Wild].Process == ProcessSkip {
		return -1
	}
	return v.findGlobal(ns, local)
}
