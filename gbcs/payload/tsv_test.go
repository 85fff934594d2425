package payload

import (
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/gbcs/dlms"
	"github.com/opendcc/opendcc/gbcs/payload/internal/rtdstest"
	"github.com/opendcc/opendcc/internal/refdata"
)

// tsvRow is one line of gbcs-rtds-payloads.tsv.
type tsvRow struct {
	dir, scenario, code, request, response string
}

func loadPayloadTable(t *testing.T) []tsvRow {
	b, err := os.ReadFile(refdata.Path(t, "tables", "gbcs-rtds-payloads.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []tsvRow
	for i, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if i == 0 {
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) < 5 {
			t.Fatalf("gbcs-rtds-payloads.tsv line %d: %d fields", i+1, len(f))
		}
		rows = append(rows, tsvRow{f[0], f[1], f[2], strings.TrimSpace(f[3]), strings.TrimSpace(f[4])})
	}
	return rows
}

// scenarioOf: file <UseCase>_<SRV>_<scenario>_<KIND>_GBCS.HEX → scenario.
func scenarioOf(rel string) (dir, scenario, kind string) {
	dir, file := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	parts := strings.Split(strings.TrimSuffix(file, "_GBCS.HEX"), "_")
	if len(parts) < 4 {
		return dir, "", ""
	}
	return dir, strings.Join(parts[2:len(parts)-1], "_"), parts[len(parts)-1]
}

func norm(s string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", "-", "", "_", "").Replace(s))
}

// dlmsSpecs renders request specs as the table does: Get:IC3/1-0:2.8.0.255/a2.
func dlmsSpecs(n *Node) []string {
	specs := n.Child("request-specs")
	var out []string
	for _, s := range specs.Children {
		verb := map[uint64]string{1: "Get", 2: "Set", 3: "Action", 4: "Get", 5: "Set"}[s.Value.(uint64)]
		class := s.Children[0].Value.(uint64)
		ob, _ := s.Children[1].Octets()
		id := s.Children[2].Value.(uint64)
		kind := "a"
		if verb == "Action" {
			kind = "m"
		}
		out = append(out, fmt.Sprintf("%s:IC%d/%s/%s%d", verb, class, dlms.OBIS(ob), kind, id))
	}
	return out
}

// dlmsResults renders data types and results as the table does.
func dlmsResults(n *Node) (types, results []string) {
	for _, d := range n.Child("data").Children {
		types = append(types, norm(d.Type))
	}
	for _, r := range n.Child("response-specs").Children {
		results = append(results, norm(r.Children[0].Text))
	}
	return
}

var reTableList = regexp.MustCompile(`^DLMS data=\[(.*)\] results=\[(.*?)\](?: ENC->(.*))?$`)

// topLevel splits "A,B{x,y},C" at depth 0, dropping a truncated tail.
func topLevel(s string) (items []string, truncated bool) {
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				items = append(items, s[start:i])
				start = i + 1
			}
		}
	}
	last := s[start:]
	if strings.HasSuffix(last, "..") || depth != 0 {
		return items, true
	}
	if last != "" {
		items = append(items, last)
	}
	return items, false
}

var reGBZItem = regexp.MustCompile(`(?:^| )([0-9A-F]{4}):`)

// gbzItems splits "GBZ 0702:Read Attributes[0206] 0705:Get Prepay Snapshot …".
func gbzItems(s string) []string {
	s = strings.TrimPrefix(s, "GBZ ")
	if i := strings.Index(s, " ENC->"); i >= 0 {
		s = s[:i]
	}
	idx := reGBZItem.FindAllStringIndex(s, -1)
	var out []string
	for i, m := range idx {
		end := len(s)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		out = append(out, strings.TrimSpace(s[m[0]:end]))
	}
	return out
}

// gbzComponents renders components as cluster:command[attribute ids].
func gbzComponents(n *Node) (clusters []string, names []string, attrs []string) {
	for _, c := range n.Children {
		if c.Type != "component" {
			continue
		}
		cl := fmt.Sprintf("%04X", c.Child("cluster-id").Value.(uint64))
		z := c.Child("zcl")
		clusters = append(clusters, cl)
		names = append(names, z.Child("command-id").Text)
		if p := z.Child("payload"); p != nil && z.Child("command-id").Text == "Read Attributes" && p.Type == "zcl-payload" {
			var ids []string
			for _, a := range p.Children {
				ids = append(ids, fmt.Sprintf("%04X", a.Value.(uint64)))
			}
			attrs = append(attrs, cl+"["+strings.Join(ids, ",")+"]")
		}
	}
	return
}

// TestRTDSPayloadTable cross-checks decoded RTDS payloads against
// gbcs-rtds-payloads.tsv: DLMS request specs (class, OBIS, attribute or
// method), DLMS response data types and result codes, GBZ clusters and
// commands of each component and the attribute ids of Read Attributes.
func TestRTDSPayloadTable(t *testing.T) {
	rows := loadPayloadTable(t)
	ks := rtdstest.NewKeystore(refdata.Path(t, "gbcs", "rtds", "keystore"))
	byKey := map[string]rtdstest.Message{}
	for _, m := range rtdstest.Load(t) {
		dir, sc, kind := scenarioOf(m.Rel)
		byKey[dir+"|"+sc+"|"+kind] = m
	}
	type tally struct{ ok, total int }
	stats := map[string]*tally{}
	check := func(what string, ok bool, detail string) {
		s := stats[what]
		if s == nil {
			s = &tally{}
			stats[what] = s
		}
		s.total++
		if ok {
			s.ok++
		} else {
			t.Errorf("%s: %s", what, detail)
		}
	}
	decode := func(m rtdstest.Message) *Node {
		n, err := Decode(m.Header.MessageCode, m.Content, Options{Alert: m.Alert()})
		if err != nil {
			t.Errorf("%s: %v", m.Rel, err)
			return nil
		}
		return n
	}
	for _, r := range rows {
		cmd, okC := byKey[r.dir+"|"+r.scenario+"|COMMAND"]
		rsp, okR := byKey[r.dir+"|"+r.scenario+"|RESPONSE"]
		check("table row has RTDS command and response", okC && okR, r.dir+" "+r.scenario)
		if !okC || !okR {
			continue
		}
		check("message code", fmt.Sprintf("0x%04X", cmd.Header.MessageCode) == r.code, r.dir+" "+r.scenario)
		cn, rn := decode(cmd), decode(rsp)
		if cn == nil || rn == nil {
			continue
		}
		switch {
		case strings.HasPrefix(r.request, "DLMS "):
			want := strings.Fields(strings.TrimPrefix(r.request, "DLMS "))
			got := dlmsSpecs(cn)
			check("DLMS request specs (class/OBIS/attribute)", strings.Join(got, " ") == strings.Join(want, " "),
				fmt.Sprintf("%s %s: got %v want %v", r.dir, r.scenario, got, want))
			m := reTableList.FindStringSubmatch(r.response)
			if m == nil {
				check("DLMS response shape parsed", false, r.response)
				continue
			}
			types, results := dlmsResults(rn)
			wantTypes, trunc := topLevel(m[1])
			okShapes := true
			for i, w := range wantTypes {
				if strings.HasPrefix(w, "GetProtectedAttributesResponse") {
					continue
				}
				data := rn.Child("data").Children
				okShapes = okShapes && i < len(data) && shapeMatches(shape(data[i]), w)
			}
			check("DLMS response data shapes (nested types)", okShapes, fmt.Sprintf("%s %s: want %s", r.dir, r.scenario, m[1]))
			for i, w := range wantTypes {
				// the table names IC 30 responses after the method:
				// GetProtectedAttributesResponse{Null} or {ProtectionParameters…}
				if inner, ok := strings.CutPrefix(w, "GetProtectedAttributesResponse{"); ok {
					if strings.HasPrefix(inner, "Null") {
						w = "Null"
					} else {
						w = "Structure"
					}
				}
				wantTypes[i] = norm(strings.SplitN(w, "{", 2)[0])
				if wantTypes[i] == "null" {
					wantTypes[i] = "nulldata"
				}
			}
			okTypes := len(types) >= len(wantTypes) && (trunc || len(types) == len(wantTypes))
			for i := 0; okTypes && i < len(wantTypes); i++ {
				okTypes = types[i] == wantTypes[i]
			}
			check("DLMS response data types", okTypes, fmt.Sprintf("%s %s: got %v want %v", r.dir, r.scenario, types, wantTypes))
			wantRes, trunc := topLevel(m[2])
			okRes := len(results) >= len(wantRes) && (trunc || len(results) == len(wantRes))
			for i := 0; okRes && i < len(wantRes); i++ {
				okRes = results[i] == norm(wantRes[i])
			}
			check("DLMS result codes", okRes, fmt.Sprintf("%s %s: got %v want %v", r.dir, r.scenario, results, wantRes))
			if m[3] != "" {
				var got []string
				for _, p := range decryptedParts(t, ks, rsp) {
					got = append(got, shape(p))
				}
				ok := len(got) == 1 && shapeMatches(got[0], m[3])
				check("DLMS decrypted plaintext shape", ok, fmt.Sprintf("%s %s: got %v want %s", r.dir, r.scenario, got, m[3]))
			}
		case strings.HasPrefix(r.request, "GBZ "):
			for _, side := range []struct {
				what string
				n    *Node
				tsv  string
			}{{"GBZ command", cn, r.request}, {"GBZ response", rn, r.response}} {
				items := gbzItems(side.tsv)
				clusters, names, attrs := gbzComponents(side.n)
				var wantClusters, wantNames, wantAttrs []string
				for _, it := range items {
					cl, rest, _ := strings.Cut(it, ":")
					name, ids, hasIDs := strings.Cut(rest, "[")
					name = strings.TrimSuffix(name, "(enc)")
					wantClusters = append(wantClusters, cl)
					wantNames = append(wantNames, norm(name))
					if hasIDs {
						wantAttrs = append(wantAttrs, cl+"["+strings.TrimSuffix(ids, "]")+"]")
					}
				}
				check(side.what+" clusters", strings.Join(clusters, " ") == strings.Join(wantClusters, " "),
					fmt.Sprintf("%s %s: got %v want %v", r.dir, r.scenario, clusters, wantClusters))
				okNames := len(names) == len(wantNames)
				for i := 0; okNames && i < len(names); i++ {
					okNames = norm(names[i]) == wantNames[i]
				}
				stat := stats[side.what+" command names"]
				if stat == nil {
					stat = &tally{}
					stats[side.what+" command names"] = stat
				}
				stat.total++
				if okNames {
					stat.ok++
				} else {
					t.Logf("%s %s %s command names differ in wording: got %v want %v", side.what, r.dir, r.scenario, names, wantNames)
				}
				if enc := strings.Index(side.tsv, " ENC->"); enc >= 0 && side.n == rn && strings.Contains(side.tsv, ":UINT") {
					// ENC->Divisor:UINT24,Multiplier:,… : types of the decrypted attribute records
					var want []string
					for _, it := range strings.Split(side.tsv[enc+6:], ",") {
						_, typ, _ := strings.Cut(it, ":")
						want = append(want, strings.ToLower(typ))
					}
					var got []string
					for _, p := range decryptedParts(t, ks, rsp) {
						for _, rec := range p.Children {
							if v := rec.Child("value"); v != nil {
								got = append(got, v.Type)
							} else {
								got = append(got, "")
							}
						}
					}
					check("GBZ decrypted attribute types", strings.Join(got, ",") == strings.Join(want, ","),
						fmt.Sprintf("%s %s: got %v want %v", r.dir, r.scenario, got, want))
				}
				if len(wantAttrs) > 0 || len(attrs) > 0 {
					check(side.what+" read attribute ids", strings.Join(attrs, " ") == strings.Join(wantAttrs, " "),
						fmt.Sprintf("%s %s: got %v want %v", r.dir, r.scenario, attrs, wantAttrs))
				}
			}
		case strings.HasPrefix(r.request, "ASN.1 "):
			f, _ := FormatOf(cn)
			g, _ := FormatOf(rn)
			check("ASN.1 use cases decoded as ASN.1", f == ASN1 && g == ASN1, r.dir+" "+r.scenario)
		default:
			check("table request format known", false, r.request)
		}
	}
	for _, k := range sortedKeys(map[string]int(func() map[string]int {
		m := map[string]int{}
		for k := range stats {
			m[k] = 0
		}
		return m
	}())) {
		t.Logf("%-48s %4d / %4d agree", k, stats[k].ok, stats[k].total)
	}
}

// decryptedParts decodes a message with decryption and returns the decoded
// contents of each plaintext (the A-XDR data or the ZCL payload).
func decryptedParts(t *testing.T, ks *rtdstest.Keystore, m rtdstest.Message) []*Node {
	dec, err := ks.Decryptor(m.Header)
	if err != nil {
		t.Errorf("%s: %v", m.Rel, err)
		return nil
	}
	n, err := Decode(m.Header.MessageCode, m.Content, Options{Alert: m.Alert(), Decrypt: dec})
	if err != nil {
		t.Errorf("%s: %v", m.Rel, err)
		return nil
	}
	var out []*Node
	n.Walk(func(c *Node) bool {
		if c.Decrypted {
			out = append(out, c.Children...)
			return false
		}
		return true
	})
	return out
}

// shape renders a DLMS Data tree as the table does: Structure{Integer,Enum}.
func shape(n *Node) string {
	camel := func(s string) string {
		if s == "null-data" {
			return "Null"
		}
		var b strings.Builder
		for _, w := range strings.Split(s, "-") {
			if w != "" {
				b.WriteString(strings.ToUpper(w[:1]) + w[1:])
			}
		}
		return b.String()
	}
	var kids []string
	switch n.Type {
	case "compact-array":
		var desc func(*Node) string
		desc = func(d *Node) string {
			s := camel(d.Text)
			var parts []string
			for _, c := range d.Children {
				if c.Type == "type-description" {
					parts = append(parts, desc(c))
				}
			}
			if len(parts) > 0 {
				s += "{" + strings.Join(parts, ",") + "}"
			}
			return s
		}
		var els []string
		for _, e := range n.Children[1].Children {
			els = append(els, shape(e))
		}
		// the table nests Contents inside TypeDescription
		return "CompactArray{TypeDescription{" + desc(n.Children[0]) + ",Contents{" + strings.Join(els, ",") + "}}}"
	}
	for _, c := range n.Children {
		kids = append(kids, shape(c))
	}
	s := camel(n.Type)
	if len(kids) > 0 {
		s += "{" + strings.Join(kids, ",") + "}"
	}
	return s
}

var reShapeTok = regexp.MustCompile(`\.\.|[{},]|[^{},.]+`)

// shapeMatches compares a rendered shape with the table's, where the table
// abbreviates a nested part as {..} and cuts long shapes with a trailing "..".
func shapeMatches(got, want string) bool {
	g, w := reShapeTok.FindAllString(got, -1), reShapeTok.FindAllString(want, -1)
	i := 0
	for j := 0; j < len(w); j++ {
		if w[j] == ".." {
			if j == len(w)-1 {
				return true // cut
			}
			// skip the abbreviated contents up to the closing brace
			depth := 0
			for ; i < len(g); i++ {
				if g[i] == "{" {
					depth++
				} else if g[i] == "}" {
					if depth == 0 {
						break
					}
					depth--
				}
			}
			continue
		}
		if j+2 == len(w) && w[j+1] == ".." && i < len(g) && strings.HasPrefix(strings.ToLower(g[i]), strings.ToLower(w[j])) {
			return true // the cut fell inside a name
		}
		if i >= len(g) || !strings.EqualFold(g[i], w[j]) {
			return false
		}
		i++
	}
	return i == len(g)
}
