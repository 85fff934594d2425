package transform

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs/asn"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
	"github.com/opendcc/opendcc/internal/refdata"
)

// templateRequest reads a DUIS request template and applies the
// replacements old → new to its text (request values other than the
// template's).
func templateRequest(t *testing.T, name string, repl ...string) *duis.Request {
	t.Helper()
	b, err := os.ReadFile(refdata.Path(t, "duis", "templates", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(repl); i += 2 {
		if !strings.Contains(s, repl[i]) {
			t.Fatalf("%s: no %q", name, repl[i])
		}
		s = strings.Replace(s, repl[i], repl[i+1], 1)
	}
	m, err := duis.Decode([]byte(s))
	if err != nil || m.Request == nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return m.Request
}

// asnShape renders an ASN.1 payload without certificates: types and
// values, one node per line, indented.
func asnShape(t *testing.T, content []byte) string {
	t.Helper()
	root, err := asn.Decode(content, tree.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var walk func(n *tree.Node, d int)
	walk = func(n *tree.Node, d int) {
		if n.Type == "SEQUENCE" && len(n.Children) > 0 && len(n.Children[0].Children) > 0 && n.Children[0].Children[0].Type == "[0] constructed" {
			b.WriteString(strings.Repeat(" ", d) + "CERT\n")
			return
		}
		b.WriteString(strings.Repeat(" ", d) + n.Type)
		if n.Value != nil {
			b.WriteString(" " + strings.TrimSpace(strings.ReplaceAll(strings.TrimSpace(fmtValue(n.Value)), "\n", " ")))
		}
		b.WriteString("\n")
		for _, c := range n.Children {
			walk(c, d+1)
		}
	}
	for _, c := range root.Children {
		walk(c, 0)
	}
	return b.String()
}

func fmtValue(v any) string { return fmt.Sprint(v) }

var (
	testACB      = eui.MustParse("90-B3-D5-1F-30-00-00-02")
	testTransCoS = eui.MustParse("90-B3-D5-1F-30-00-00-04")
)

func TestCS02bDCCParties(t *testing.T) {
	const ctlSupplier = "SEQUENCE\n INTEGER 2\n [2] constructed\n  INTEGER 2\n  BIT STRING 0780\n [3] primitive 4d\n [4] primitive 05\n [5] constructed\n  SEQUENCE\n   INTEGER 5\n   INTEGER 9\n"
	for _, tc := range []struct {
		name, tmpl string
		repl       []string
		dev        DeviceType
		opts       Options
		code       uint16
		orig       eui.EUI64
		counter    uint64
		ctl        string // the control SEQUENCE
		time       string // the execution time, "" none
		certs      int
		want       error
	}{
		{name: "6.21 supplier, other floors", tmpl: "CS02bSupplierBySupplierHandover_6.21_SUCCESS_REQUEST_DUIS.XML",
			repl: []string{"<sr:RemotePartyFloorSeqNumber>0<", "<sr:RemotePartyFloorSeqNumber>5<",
				"<sr:RemotePartyPrepaymentTopUpFloorSeqNumber>0<", "<sr:RemotePartyPrepaymentTopUpFloorSeqNumber>9<"},
			dev: GPF, opts: Options{ACB: testACB, ACBCounter: 77}, code: 0x0102, orig: testACB, counter: 77, ctl: ctlSupplier, certs: 3},
		{name: "6.21 network operator on an ESME", tmpl: "CS02bNOByNOHandover_6.21_SUCCESS_REQUEST_DUIS.XML",
			repl: []string{"<sr:RemotePartyFloorSeqNumber>0<", "<sr:RemotePartyFloorSeqNumber>300<", "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A3", "90-B3-D5-1F-30-02-00-00:00-DB-12-34-56-78-90-A0"},
			dev:  ESME, opts: Options{ACB: testACB, ACBCounter: 0x1234}, code: 0x0103, orig: testACB, counter: 0x1234,
			ctl: "SEQUENCE\n INTEGER 3\n [2] constructed\n  INTEGER 3\n  BIT STRING 0780\n [3] primitive 1234\n [4] primitive 012c\n", certs: 2},
		{name: "6.21 network operator with a top-up floor", tmpl: "CS02bNOByNOHandover_6.21_SUCCESS_REQUEST_DUIS.XML",
			repl: []string{"<sr:ReplacementCertificates>", "<sr:RemotePartyPrepaymentTopUpFloorSeqNumber>1</sr:RemotePartyPrepaymentTopUpFloorSeqNumber><sr:ReplacementCertificates>"},
			dev:  GPF, opts: Options{ACB: testACB}, want: ErrRequest},
		{name: "6.21 root", tmpl: "CS02bNOByNOHandover_6.21_SUCCESS_REQUEST_DUIS.XML",
			repl: []string{">NetworkOperator<", ">Root<"}, dev: GPF, opts: Options{ACB: testACB}, want: ErrUnsupported},
		{name: "6.21 without the ACB", tmpl: "CS02bNOByNOHandover_6.21_SUCCESS_REQUEST_DUIS.XML", dev: GPF, want: ErrRequest},
		{name: "6.23 future dated, other floors and time", tmpl: "CS02bSupplierByTransCoS_6.23_FUTURE_DATED_SUCCESS_REQUEST_DUIS.XML",
			repl: []string{"2030-01-02T00:00:00.00Z", "2031-06-07T08:09:10Z", "<sr:SupplierFloorSeqNumber>0<", "<sr:SupplierFloorSeqNumber>3<",
				"<sr:SupplierPrepaymentTopUpFloorSeqNumber>0<", "<sr:SupplierPrepaymentTopUpFloorSeqNumber>4<"},
			dev: ESME, opts: Options{ACB: testACB, ACBCounter: 1, TransCoS: testTransCoS, TransCoSCounter: 6100}, code: 0x0107, orig: testTransCoS, counter: 6100,
			ctl:  "SEQUENCE\n INTEGER 7\n [2] constructed\n  INTEGER 5\n  BIT STRING 0780\n [3] primitive 17d4\n [6] constructed\n  SEQUENCE\n   INTEGER 2\n   INTEGER 3\n   SEQUENCE\n    SEQUENCE\n     INTEGER 3\n     INTEGER 4\n",
			time: "GeneralizedTime 20310607080910Z", certs: 3},
		{name: "6.23 cancellation", tmpl: "CS02bSupplierByTransCoS_6.23_CANCELLATION_SUCCESS_REQUEST_DUIS.XML",
			dev: ESME, opts: Options{TransCoS: testTransCoS, TransCoSCounter: 6003}, code: 0x0107, orig: testTransCoS, counter: 6003,
			ctl: "SEQUENCE\n INTEGER 7\n [2] constructed\n  INTEGER 5\n  BIT STRING 0780\n [3] primitive 1773\n", time: "GeneralizedTime 99991231235959Z", certs: 3},
		{name: "6.23 immediate without a top-up floor", tmpl: "CS02bSupplierByTransCoS_6.23_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML",
			repl: []string{"<sr:SupplierPrepaymentTopUpFloorSeqNumber>0</sr:SupplierPrepaymentTopUpFloorSeqNumber>", ""},
			dev:  ESME, opts: Options{TransCoS: testTransCoS}, want: ErrRequest},
		{name: "6.23 without the Transitional CoS party", tmpl: "CS02bSupplierByTransCoS_6.23_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML",
			dev: ESME, opts: Options{ACB: testACB}, want: ErrRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := templateRequest(t, tc.tmpl, tc.repl...)
			// the requesting supplier's role: a DCC party's command is not sent on its behalf
			tc.opts.UserRole = duis.RoleIS
			m, err := Build(req, DeviceInfo{Type: tc.dev}, tc.opts)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("err %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.MessageCode != tc.code || m.Originator != tc.orig || m.OriginatorCounter != tc.counter ||
				m.HasSupplementaryRemoteParty || !m.SignatureField || len(m.Signature) != 0 {
				t.Fatalf("header: code %04X %s ctr %d supp %v sig %v", m.MessageCode, m.Originator, m.OriginatorCounter, m.HasSupplementaryRemoteParty, m.SignatureField)
			}
			s := asnShape(t, m.Content)
			if !strings.HasPrefix(s, "SEQUENCE\n"+indent(tc.ctl)) {
				t.Fatalf("control:\n%s\nwant\n%s", s, tc.ctl)
			}
			if n := strings.Count(s, "CERT\n"); n != tc.certs+1 {
				t.Errorf("%d certificates, want %d and the path's", n, tc.certs)
			}
			last := strings.TrimSpace(s[strings.LastIndex(strings.TrimRight(s, "\n"), "\n")+1:])
			if tc.time != "" && last != tc.time || tc.time == "" && strings.Contains(s, "GeneralizedTime") {
				t.Errorf("execution time %q, want %q", last, tc.time)
			}
			if tc.certs == 3 && !strings.Contains(strings.Join(strings.Fields(s), " "), "CERT SEQUENCE INTEGER 2 BIT STRING 0308 INTEGER 1 SEQUENCE CERT") {
				t.Errorf("no top-up cell {2, keyAgreement, 1}:\n%s", s)
			}
		})
	}
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString(" " + l)
		}
	}
	return b.String()
}
