package correlate

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload"
)

// checker carries one correlation.
type checker struct {
	r    *Report
	req  *request
	m    *gbcs.Message
	tree *payload.Node
	uc   string // use case name of the message code

	dl  []*dItem      // DLMS request items (access-request)
	gz  []*gComp      // GBZ components
	asn *payload.Node // ASN.1 top element

	exec execTime // the request's execution date-time
}

// dItem is one DLMS request-spec with its data.
type dItem struct {
	kind  uint64 // 1 get, 2 set, 3 action, 4 get-with-selection
	class uint64
	obis  string // A-B:C.D.E.F
	attr  uint64 // attribute or method id
	data  *payload.Node
	used  bool
}

func (d *dItem) String() string {
	k := map[uint64]string{1: "get", 2: "set", 3: "action", 4: "get"}[d.kind]
	am := "a"
	if d.kind == 3 {
		am = "m"
	}
	return fmt.Sprintf("%s IC%d %s %s%d", k, d.class, d.obis, am, d.attr)
}

// gComp is one GBZ component.
type gComp struct {
	cluster  uint64
	cmd      uint64
	fc       uint64
	fromTime *payload.Node
	payload  *payload.Node
	label    string
	used     bool
}

func newChecker(req *request, m *gbcs.Message, tree *payload.Node) *checker {
	c := &checker{r: &Report{SRV: req.srv.Variant, MessageCode: m.MessageCode}, req: req, m: m, tree: tree}
	if uc, ok := gbcs.LookupMessageCode(m.MessageCode); ok {
		c.uc = uc.Name
		c.r.UseCase = uc.Name
	}
	switch tree.Type {
	case "access-request":
		c.indexDLMS()
	case "gbz":
		c.indexGBZ()
	case "asn1":
		if len(tree.Children) > 0 {
			c.asn = tree.Children[0]
		}
	}
	c.exec = parseExec(req.body)
	return c
}

func (c *checker) indexDLMS() {
	specs := c.tree.Child("request-specs")
	data := c.tree.Child("data")
	if specs == nil {
		return
	}
	for i, s := range kids(specs) {
		k, _ := s.Uint()
		it := &dItem{kind: k}
		if n := s.Child("class-id"); n != nil {
			it.class, _ = n.Uint()
		}
		if n := s.Child("instance-id"); n != nil {
			if b, err := n.Octets(); err == nil && len(b) == 6 {
				it.obis = fmt.Sprintf("%d-%d:%d.%d.%d.%d", b[0], b[1], b[2], b[3], b[4], b[5])
			}
		}
		for _, a := range []string{"attribute-id", "method-id"} {
			if n := s.Child(a); n != nil {
				it.attr, _ = n.Uint()
			}
		}
		if data != nil && i < len(data.Children) {
			it.data = data.Children[i]
		}
		c.dl = append(c.dl, it)
	}
}

func (c *checker) indexGBZ() {
	for _, comp := range kids(c.tree) {
		if comp.Type != "component" {
			continue
		}
		g := &gComp{label: strings.TrimSpace(comp.Text)}
		if n := comp.Child("cluster-id"); n != nil {
			g.cluster, _ = n.Uint()
		}
		g.fromTime = comp.Child("from-date-time")
		if z := comp.Child("zcl"); z != nil {
			if n := z.Child("command-id"); n != nil {
				g.cmd, _ = n.Uint()
			}
			if n := z.Child("frame-control"); n != nil {
				g.fc, _ = n.Uint()
			}
			g.payload = z.Child("payload")
		}
		c.gz = append(c.gz, g)
	}
}

// ---- recording ----

func (c *checker) add(f Field) {
	c.r.Checked = append(c.r.Checked, f)
	if f.Result == Differ {
		c.r.Differences = append(c.r.Differences, Difference{Field: f.Name, Request: f.Request, Command: f.Command})
	}
}

// eq compares two renderings.
func (c *checker) eq(name, req, cmd string) bool {
	res := Match
	if req != cmd {
		res = Differ
	}
	c.add(Field{Name: name, Request: req, Command: cmd, Result: res})
	return res == Match
}

// skip records a field that is not compared.
func (c *checker) skip(name, req, reason string) {
	c.add(Field{Name: name, Request: req, Result: NotCompared, Note: "not compared: " + reason})
}

// absent records a requested value whose command item is missing.
func (c *checker) absent(name, req, what string) {
	c.add(Field{Name: name, Request: req, Command: "absent (" + what + ")", Result: Differ})
}

// ---- DLMS access ----

// item finds an unused DLMS item (kind 0 = any).
func (c *checker) item(kind, class uint64, obis string, attr uint64) *dItem {
	for _, it := range c.dl {
		if (kind == 0 || it.kind == kind) && it.class == class && it.obis == obis && it.attr == attr {
			it.used = true
			return it
		}
	}
	return nil
}

// dval returns the data of a DLMS item, recording a difference when the
// command lacks it.
func (c *checker) dval(name, req string, kind, class uint64, obis string, attr uint64) *payload.Node {
	it := c.item(kind, class, obis, attr)
	if it == nil || it.data == nil {
		k := &dItem{kind: kind, class: class, obis: obis, attr: attr}
		c.absent(name, req, k.String())
		return nil
	}
	return it.data
}

// dnum compares a requested integer with a DLMS item holding an integer.
func (c *checker) dnum(name, req string, kind, class uint64, obis string, attr uint64) {
	n := c.dval(name, req, kind, class, obis, attr)
	if n == nil {
		return
	}
	c.eq(name, normInt(req), nodeNum(n))
}

// ---- GBZ access ----

// comps returns the components of a cluster and command, marking them used.
func (c *checker) comps(cluster, cmd uint64) []*gComp {
	var out []*gComp
	for _, g := range c.gz {
		if g.cluster == cluster && g.cmd == cmd && g.fc&0x01 == 0x01 {
			g.used = true
			out = append(out, g)
		}
	}
	return out
}

// comp returns the first component of a cluster and command, recording a
// difference when it is absent.
func (c *checker) comp(name, req string, cluster, cmd uint64) *gComp {
	cs := c.comps(cluster, cmd)
	if len(cs) == 0 {
		c.absent(name, req, fmt.Sprintf("ZCL cluster 0x%04X command 0x%02X", cluster, cmd))
		return nil
	}
	return cs[0]
}

// gnum compares a requested integer with a ZCL payload field.
func (c *checker) gnum(name, req string, g *gComp, field string) {
	if g == nil {
		return
	}
	n := pc(g.payload, field)
	if n == nil {
		c.absent(name, req, "ZCL field "+field)
		return
	}
	c.eq(name, normInt(req), nodeNum(n))
}

// gfield returns a ZCL payload field rendered as a number ("absent" if none).
func gfield(g *gComp, field string) string {
	if g == nil || g.payload == nil {
		return "absent"
	}
	n := pc(g.payload, field)
	if n == nil {
		return "absent"
	}
	return nodeNum(n)
}

// ---- leftovers ----

// leftovers lists command items that no request field accounted for.
func (c *checker) leftovers() {
	for _, it := range c.dl {
		if !it.used {
			c.add(Field{Name: "command item " + it.String(), Command: describe(it.data), Result: NotCompared,
				Note: "not compared: no request field of SRV " + c.req.srv.Variant + " is mapped to this command item"})
		}
	}
	for _, g := range c.gz {
		if !g.used {
			c.add(Field{Name: "command component " + g.label, Result: NotCompared,
				Note: "not compared: no request field of SRV " + c.req.srv.Variant + " is mapped to this ZCL command"})
		}
	}
}

func describe(n *payload.Node) string {
	if n == nil {
		return ""
	}
	if len(n.Children) == 0 {
		return nodeText(n)
	}
	return fmt.Sprintf("%s [%d]", n.Type, len(n.Children))
}

// ---- value rendering ----

// nodeNum renders an integer node in decimal (other leaves as nodeText).
func nodeNum(n *payload.Node) string {
	if n == nil {
		return "absent"
	}
	switch v := n.Value.(type) {
	case int64:
		return strconv.FormatInt(v, 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case bool:
		return strconv.FormatBool(v)
	}
	if i, err := n.Int(); err == nil {
		return strconv.FormatInt(i, 10)
	}
	return nodeText(n)
}

func nodeText(n *payload.Node) string {
	if n == nil {
		return "absent"
	}
	if n.Value == nil {
		return n.Type
	}
	return fmt.Sprint(n.Value)
}

// normInt renders a decimal request value canonically (leading zeros, a plus
// sign and surrounding spaces removed); other text is returned trimmed.
func normInt(s string) string {
	s = strings.TrimSpace(s)
	if i, ok := new(big.Int).SetString(strings.TrimPrefix(s, "+"), 10); ok {
		return i.String()
	}
	return s
}

// decimalScaled turns a decimal string into an integer of the given number
// of decimal places ("1.02264", 5 -> "102264"); ok is false when it has more
// places than that or is not a decimal.
func decimalScaled(s string, places int) (string, bool) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	ip, fp, _ := strings.Cut(s, ".")
	fp = strings.TrimRight(fp, "0")
	if len(fp) > places || ip == "" && fp == "" {
		return "", false
	}
	fp += strings.Repeat("0", places-len(fp))
	i, ok := new(big.Int).SetString(ip+fp, 10)
	if !ok {
		return "", false
	}
	if neg {
		i.Neg(i)
	}
	return i.String(), true
}

// ---- time ----

// execTime is what the request says about execution.
type execTime struct {
	present bool
	cancel  bool
	t       time.Time
	raw     string
}

const (
	renderNow   = "now (immediate)"
	renderNever = "never (cancel)"
)

func (e execTime) String() string {
	switch {
	case !e.present:
		return renderNow
	case e.cancel:
		return renderNever
	}
	return e.t.UTC().Format(time.RFC3339)
}

// parseExec reads the FutureDatedAbstractType ExecutionDateTime. DUIS uses
// 3000-12-31T00:00:00 to cancel a future-dated command held by the device.
func parseExec(body *xnode) execTime {
	s, ok := body.val("ExecutionDateTime")
	if !ok {
		return execTime{}
	}
	t, err := parseXSDateTime(s)
	if err != nil {
		return execTime{present: true, raw: s}
	}
	e := execTime{present: true, t: t, raw: s}
	if t.Year() == 3000 && t.Month() == 12 && t.Day() == 31 && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		e.cancel = true
	}
	return e
}

// parseXSDateTime parses xs:dateTime; without a zone it is taken as UTC
// (GBCS date-times are UTC).
func parseXSDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad xs:dateTime %q", s)
}

// dlmsDateTime renders a 12-byte DLMS date-time ("now" all zero, "never"
// all 0xFF in the date and time fields).
func dlmsDateTime(b []byte) string {
	if len(b) != 12 {
		return "malformed date-time " + fmt.Sprintf("%x", b)
	}
	if allBytes(b[:9], 0x00) {
		return renderNow
	}
	if allBytes(b[:9], 0xFF) {
		return renderNever
	}
	y := int(b[0])<<8 | int(b[1])
	if y == 0xFFFF || b[2] == 0xFF || b[3] == 0xFF || b[5] == 0xFF || b[6] == 0xFF {
		return fmt.Sprintf("wildcarded %x", b)
	}
	sec := int(b[7])
	if sec == 0xFF {
		sec = 0
	}
	t := time.Date(y, time.Month(b[2]), int(b[3]), int(b[5]), int(b[6]), sec, 0, time.UTC)
	dev := int16(uint16(b[9])<<8 | uint16(b[10]))
	if uint16(dev) != 0x8000 {
		// deviation: minutes local time is behind UTC (Blue Book sign)
		t = t.Add(time.Duration(dev) * time.Minute)
	}
	return t.Format(time.RFC3339)
}

// zclUTC renders a ZigBee UTCTime (seconds since 2000-01-01 UTC; 0 now,
// 0xFFFFFFFF and 0xFFFFFFFE cancel).
func zclUTC(v uint64) string {
	switch v {
	case 0:
		return renderNow
	case 0xFFFFFFFF, 0xFFFFFFFE:
		return renderNever
	}
	return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(v) * time.Second).Format(time.RFC3339)
}

// asnTime renders a GeneralizedTime / UTCTime value; 9999-12-31T23:59:59Z
// is the cancel value.
func asnTime(s string) string {
	for _, l := range []string{"20060102150405Z0700", "20060102150405.999Z0700", "060102150405Z0700"} {
		if t, err := time.Parse(l, s); err == nil {
			if t.Year() == 9999 && t.Month() == 12 && t.Day() == 31 {
				return renderNever
			}
			return t.UTC().Format(time.RFC3339)
		}
	}
	return "malformed time " + s
}

// timeRender renders a request date-time the way the command renderings are.
func timeRender(s string) string {
	t, err := parseXSDateTime(s)
	if err != nil {
		return "malformed " + s
	}
	return t.Format(time.RFC3339)
}

func allBytes(b []byte, v byte) bool {
	for _, x := range b {
		if x != v {
			return false
		}
	}
	return true
}

// octets of a node or nil.
func octets(n *payload.Node) []byte {
	if n == nil {
		return nil
	}
	b, err := n.Octets()
	if err != nil {
		return nil
	}
	return b
}

// kid returns the i-th child or nil.
func kid(n *payload.Node, i int) *payload.Node {
	if n == nil || i < 0 || i >= len(n.Children) {
		return nil
	}
	return n.Children[i]
}

func containsStr(list []string, s string) bool { return slices.Contains(list, s) }

// pc is a nil-safe Child.
func pc(n *payload.Node, name string) *payload.Node {
	if n == nil {
		return nil
	}
	return n.Child(name)
}

// kids is a nil-safe Children.
func kids(n *payload.Node) []*payload.Node {
	if n == nil {
		return nil
	}
	return n.Children
}
