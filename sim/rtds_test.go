package sim

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
	"github.com/opendcc/opendcc/internal/refdata"
)

// rtdsType maps an RTDS device EUI to the simulated device type.
func rtdsType(id eui.EUI64, scenario string) (Type, bool) {
	if id[0] != 0x00 || id[1] != 0xDB {
		return 0, false
	}
	switch id[7] {
	case 0xA0, 0xA6:
		if strings.Contains(scenario, "TWIN") {
			return ESMETwin, true
		}
		return ESME, true
	case 0xA1:
		return GSME, true
	case 0xA2:
		return CHF, true
	case 0xA3:
		return GPF, true
	case 0xA4:
		return PPMID, true
	case 0xA5:
		return HCALCS, true
	}
	return ESME, true
}

type rtdsHarness struct {
	fleet   *Fleet
	dcc     *gbcs.Security // DCC side: ZAZ1 keys + the fleet's device certificates
	rtdsSec *gbcs.Security // the RTDS keys, to decrypt RTDS responses
}

func newRTDSHarness(t testing.TB) *rtdsHarness {
	// The RTDS devices' clock: their responses carry 2015-01-01T00:00:00Z
	// as the current time (Publish Price current-time, the CHF device log
	// backup time) and their logs hold 2014-12 history; the scenarios'
	// history reads (GCS15b/c, GCS16a/b, GCS17) ask for 2014-15 ranges.
	return newRTDSHarnessAt(t, NewManualClock(time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)))
}

func newRTDSHarnessAt(t testing.TB, clock *ManualClock) *rtdsHarness {
	dir := refdata.Path(t, "gbcs", "rtds")
	f, err := NewFleet(Options{Seed: 1, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	kr := gbcs.NewKeyring()
	if _, err := kr.LoadRTDSDir(filepath.Join(dir, "keystore")); err != nil {
		t.Fatal(err)
	}
	return &rtdsHarness{fleet: f, dcc: gbcs.NewSecurity(f.KeyStore(), 0), rtdsSec: gbcs.NewSecurity(gbcs.MultiKeyStore{kr, f.dir.Keyring}, 0)}
}

// rebuild re-frames an RTDS command for the simulated device: signature
// by the originator's ZAZ1 key (critical), MAC by the ACB with the
// device's own key-agreement certificate.
func (h *rtdsHarness) rebuild(m *gbcs.Message) ([]byte, error) {
	c := *m
	c.Raw = nil
	if c.Signed() {
		if err := h.dcc.Sign(&c, nil); err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
	}
	if c.MACHeader {
		if err := h.dcc.WrapMAC(&c); err != nil {
			return nil, fmt.Errorf("MAC: %w", err)
		}
	}
	return c.Marshal()
}

// rebuildUTRN re-issues a UTRN the command carries (CS01a/b top-up) for
// the simulated device: the RTDS UTRN is validated with the RTDS keys for
// its top-up (counter, value class, value) and the same top-up generated
// with the gbcs UTRN builder from the supplier's prepayment key and the
// device's own key-agreement key; the command content is changed in place
// (a UTRN is 20 digits either way).
func (h *rtdsHarness) rebuildUTRN(cmd *gbcs.Message, d *Device) error {
	ct, err := payload.Decode(cmd.MessageCode, cmd.Content, payload.Options{})
	if err != nil {
		return nil
	}
	var utrns []string
	ct.Walk(func(n *tree.Node) bool {
		if b, err := n.Octets(); err == nil && len(b) == 20 {
			if _, err := gbcs.ParseUTRN(string(b)); err == nil {
				utrns = append(utrns, string(b))
			}
		}
		return true
	})
	supplier := cmd.Originator
	if cmd.HasSupplementaryRemoteParty {
		supplier = cmd.SupplementaryRemoteParty
	}
	for _, u := range utrns {
		tu, err := h.rtdsSec.ValidateUTRN(supplier, cmd.Recipient, u, nil)
		if err != nil {
			return fmt.Errorf("RTDS UTRN %s: %w", u, err)
		}
		nu, err := h.dcc.GenerateUTRN(supplier, d.EUI, tu)
		if err != nil {
			return err
		}
		i := strings.Index(string(cmd.Content), u)
		if i < 0 {
			return fmt.Errorf("UTRN %s not found in the content", u)
		}
		c := append([]byte(nil), cmd.Content...)
		copy(c[i:], nu)
		cmd.Content = c
	}
	return nil
}

// decode decodes a response's payload, decrypting with sec.
func decode(sec *gbcs.Security, m *gbcs.Message, extra bool) (*tree.Node, error) {
	var certs []*smkiCertT
	_ = certs
	return payload.Decode(m.MessageCode, m.Content, payload.Options{
		Alert: m.CRA == gbcs.CRAAlert,
		Decrypt: func(p []byte) ([]byte, error) {
			return sec.DecryptPayload(m, p)
		},
	})
}

// shapeDiff compares the structure of two payload trees: node types and
// names, result and status codes, encryption; values may differ; arrays
// and repeated entries compare their first element (either may be empty).
func shapeDiff(a, b *tree.Node, path string) string {
	if a.Type != b.Type || a.Name != b.Name {
		return fmt.Sprintf("%s: %s %q vs %s %q", path, a.Name, a.Type, b.Name, b.Type)
	}
	p := path + "/" + a.Type
	if a.Name == "result" || a.Name == "status" || a.Type == "response-spec" {
		if fmt.Sprint(a.Value) != fmt.Sprint(b.Value) {
			return fmt.Sprintf("%s: %s %v vs %v", p, a.Name, a.Value, b.Value)
		}
	}
	if a.Decrypted != b.Decrypted {
		return p + ": encryption differs"
	}
	switch a.Type {
	case "array", "compact-array", "entries", "SEQUENCE OF":
		if len(a.Children) == 0 || len(b.Children) == 0 {
			return ""
		}
		return shapeDiff(a.Children[0], b.Children[0], p+"[0]")
	}
	ac, bc := a.Children, b.Children
	// protected blocks: compare the plaintext only
	if len(ac) != len(bc) {
		return fmt.Sprintf("%s: %d vs %d children", p, len(ac), len(bc))
	}
	for i := range ac {
		if d := shapeDiff(ac[i], bc[i], fmt.Sprintf("%s.%d", p, i)); d != "" {
			return d
		}
	}
	return ""
}

type smkiCertT = struct{}

func TestRTDSPairs(t *testing.T) {
	h := newRTDSHarness(t)
	root := refdata.Path(t, "gbcs", "rtds", "RTDS-4.5.0")
	dirs, _ := os.ReadDir(root)
	type tally struct{ ok, total int }
	counts := map[Type]*tally{}
	var failed []string
	skipped := 0
	for _, de := range dirs {
		files, _ := filepath.Glob(filepath.Join(root, de.Name(), "*_COMMAND_GBCS.HEX"))
		sort.Strings(files)
		for _, cf := range files {
			rf := strings.Replace(cf, "_COMMAND_", "_RESPONSE_", 1)
			cb, err1 := readHex(cf)
			rb, err2 := readHex(rf)
			if err1 != nil || err2 != nil {
				continue
			}
			cmd, err := gbcs.Parse(cb)
			if err != nil {
				t.Errorf("%s: %v", cf, err)
				continue
			}
			uc, ok := gbcs.LookupMessageCode(cmd.MessageCode)
			if !ok || uc.DeviceToDevice {
				skipped++
				continue
			}
			name := filepath.Base(cf)
			typ, ok := rtdsType(cmd.Recipient, name)
			if !ok {
				skipped++
				continue
			}
			tl := counts[typ]
			if tl == nil {
				tl = &tally{}
				counts[typ] = tl
			}
			tl.total++
			hh := h
			if c, ok := scenarioClock[strings.SplitN(name, "_", 2)[0]]; ok && strings.Contains(name, "_SUCCESS_") {
				hh = newRTDSHarnessAt(t, NewManualClock(c))
			}
			why := hh.run(cmd, rb, typ, name)
			if why == "" {
				tl.ok++
			} else {
				failed = append(failed, fmt.Sprintf("%s/%s [%s]: %s", de.Name(), name, typ, why))
			}
		}
	}
	var total, ok int
	for _, typ := range Types() {
		if c := counts[typ]; c != nil {
			t.Logf("%-10s %3d / %3d pairs reproduced", typ, c.ok, c.total)
			total += c.total
			ok += c.ok
		}
	}
	t.Logf("all        %3d / %3d pairs reproduced (%d HAN-only or non-device pairs skipped)", ok, total, skipped)
	for _, f := range failed {
		t.Logf("not reproduced: %s", f)
		for uc, why := range rtdsKnownCauses {
			if strings.Contains(f, "/"+uc+"_") {
				t.Logf("    cause: %s", why)
			}
		}
	}
	if ok == 0 {
		t.Fatal("no RTDS pair reproduced")
	}
}

func (h *rtdsHarness) run(cmd *gbcs.Message, rtdsResp []byte, typ Type, name string) string {
	d, why := h.prepare(cmd, typ, name)
	if why != "" {
		return why
	}
	rm, err := gbcs.Parse(rtdsResp)
	if err != nil {
		return "RTDS response: " + err.Error()
	}
	rt, err := decode(h.rtdsSec, rm, false)
	if err != nil {
		return "RTDS payload: " + err.Error()
	}
	if dump := os.Getenv("RTDS_DUMP"); dump != "" && strings.Contains(name, dump) {
		fmt.Printf("=== RTDS response (decrypted)\n%s", rt)
	}
	if strings.Contains(name, "ERROR") {
		// The scenario's fault: the items the RTDS response shows failing,
		// with its result / status.
		d.InjectFaultOn(cmd.MessageCode, scenarioFault(rt))
	}
	return h.exchange(d, cmd, rm, rt, name)
}

// prepare readies the simulated device for an RTDS command: installed 40
// days before, trusting the command's originator in its role.
func (h *rtdsHarness) prepare(cmd *gbcs.Message, typ Type, name string) (*Device, string) {
	d, ok := h.fleet.Device(cmd.Recipient)
	if !ok || d.Type != typ {
		if ok {
			d.Type = typ
		} else {
			var err error
			if d, err = h.fleet.AddWithEUI(cmd.Recipient, typ); err != nil {
				return nil, err.Error()
			}
		}
	}
	d.Reset()
	// a device installed 40 days before in a home: its logs have history,
	// it is joined with the devices it works with
	if typ == GSME && !strings.Contains(name, "NOT_FOUND") {
		// a prepayment gas customer with a payment-based debt (£50,
		// 20 % of each top-up) transferred at installation
		d.InstallAs(40*24*time.Hour, Commissioning{Prepayment: true, PaymentDebt: 50_00, PaymentDebtPercent: 2000})
	} else {
		d.Install(40 * 24 * time.Hour)
	}
	if typ.IsGas() {
		if !strings.Contains(name, "NOT_FOUND") {
			// installed with the supplier's tariff and prepayment
			// configuration (its calendars); a NOT_FOUND scenario is a
			// device that holds none
			d.InstallTariff()
		}
		if typ == GSME && strings.HasPrefix(name, "GCS18_") && !strings.Contains(name, "NOT_FOUND") {
			// the SUCCESS scenario's device has a Network Data Log
			// running (a network operator started one with GCS31 four
			// hours before, 6-minute samples); the NOT_FOUND one has none
			d.StartNetworkDataLog(h.fleet.Clock().Now().Add(-4*time.Hour), 6*time.Minute, 1000)
		}
	}
	// A device trusts the remote party that sends it commands in its role
	// (as after its installation for that supplier/network operator).
	if c := h.fleet.dir.Keyring.Certificates(cmd.Originator, gbcs.UsageDigitalSignature); len(c) > 0 {
		if r, ok := AnchorRoleOf(c[0].Role); ok {
			d.SetAnchor(r, h.fleet.dir.AnchorFor(cmd.Originator))
		}
	}
	return d, ""
}

// exchange sends the rebuilt command to the device and compares its
// response with the RTDS one (rm, decoded rt).
func (h *rtdsHarness) exchange(d *Device, cmd, rm *gbcs.Message, rt *tree.Node, name string) string {
	if err := h.rebuildUTRN(cmd, d); err != nil {
		return "UTRN: " + err.Error()
	}
	raw, err := h.rebuild(cmd)
	if err != nil {
		return "rebuild: " + err.Error()
	}
	out, err := d.Handle(raw)
	if err != nil {
		return "simulator: " + err.Error()
	}
	sm, err := gbcs.Parse(out)
	if err != nil {
		return "simulator response does not parse: " + err.Error()
	}
	if sm.MACHeader != rm.MACHeader || sm.Signed() != rm.Signed() {
		return fmt.Sprintf("framing: MAC %v/%v signed %v/%v", sm.MACHeader, rm.MACHeader, sm.Signed(), rm.Signed())
	}
	if sm.HasSupplementaryRemoteParty != rm.HasSupplementaryRemoteParty || sm.HasSupplementaryOriginatorCounter != rm.HasSupplementaryOriginatorCounter ||
		sm.OriginatorCounter != rm.OriginatorCounter || sm.Originator != cmd.Recipient || sm.Recipient != rm.Recipient || sm.MessageCode != rm.MessageCode {
		return "grouping header differs"
	}
	if sm.MACHeader {
		if err := h.dcc.VerifyMAC(sm); err != nil {
			return "simulator MAC: " + err.Error()
		}
	}
	if sm.Signed() {
		if err := h.dcc.VerifySignature(sm); err != nil {
			return "simulator signature: " + err.Error()
		}
	}
	st, err := decode(h.dcc, sm, false)
	if err != nil {
		return "simulator payload: " + err.Error()
	}
	if dump := os.Getenv("RTDS_DUMP"); dump != "" && strings.Contains(name, dump) {
		fmt.Printf("=== %s command\n", name)
		if ct, err := payload.Decode(cmd.MessageCode, cmd.Content, payload.Options{}); err == nil {
			fmt.Print(ct)
		}
		fmt.Printf("=== simulator response\n%s=== RTDS response\n%s", st, rt)
	}
	if diff := shapeDiff(st, rt, ""); diff != "" {
		return "structure: " + diff
	}
	return ""
}

func readHex(p string) ([]byte, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(strings.TrimSpace(string(b)))
}

// scenarioFault reads an RTDS ERROR response for the fault its scenario
// injects: the DLMS items with a non-success result, or the GBZ components
// answering a failure status (Default Response, attribute record status,
// rejected top-up).
func scenarioFault(rt *tree.Node) Fault {
	var f Fault
	if rs := rt.Child("response-specs"); rs != nil {
		for i, sp := range rs.Children {
			var res uint64
			sp.Walk(func(n *tree.Node) bool {
				if n.Name == "result" && n.Type == "u8" {
					res, _ = n.Uint()
				}
				return true
			})
			if res != 0 {
				// the first failure; the device's break-on-error answers
				// the rest
				f.Items = append(f.Items, i)
				f.Result = byte(res)
				break
			}
		}
		return f
	}
	ci := -1
	for _, c := range rt.Children {
		if c.Type != "component" {
			continue
		}
		ci++
		if z := c.Child("zcl"); z != nil {
			// a command may answer with several components: the request
			// component is the one of the same ZCL sequence number
			if seq := z.Child("sequence"); seq != nil {
				if v, err := seq.Uint(); err == nil {
					ci = int(v)
				}
			}
		}
		failed := false
		rec := -1
		c.Walk(func(n *tree.Node) bool {
			switch {
			case n.Type == "attribute-record":
				if !failed {
					rec++
				}
			case n.Name == "status" && n.Type == "enum8":
				// NOT_FOUND and UNSUPPORTED_ATTRIBUTE are the device's
				// genuine answers (nothing recorded, no such attribute),
				// not the scenario's fault
				if v, _ := n.Uint(); v != 0 && v != zclUnsupAttr && v != zclNotFound && !failed {
					failed = true
					f.ZCLStatus = byte(v)
					f.Record = max(rec, 0)
				}
			case n.Name == "result-type":
				if v, _ := n.Uint(); v != 0 {
					failed = true
				}
			}
			return true
		})
		if failed {
			f.Items = append(f.Items, ci)
			break // the device answers FAILURE to the rest
		}
	}
	if len(f.Items) == 0 {
		f.Items = []int{-1}
	}
	return f
}

// scenarioClock gives the device clock a SUCCESS scenario implies where it
// differs from the RTDS devices' usual 2015-01-01: GCS15c's device answers
// billing-period snapshots of 2015-02-01 and 2015-03-01, so it has run into
// March (its command asks from 2015-01-01T00:00:01).
var scenarioClock = map[string]time.Time{
	"GCS15c": time.Date(2015, 3, 2, 0, 0, 0, 0, time.UTC),
}

// rtdsKnownCauses explains, by use case, the RTDS pairs the simulator does
// not reproduce (printed with the test's list; docs/sim.md has the same).
// It changes no comparison.
var rtdsKnownCauses = map[string]string{
	"GCS61": "the RTDS URP response has no Supplementary Originator Counter (payload encrypted with the ACB's originator " +
		"counter) where gbcs.md 1.4/6.1 and the RTDS ECS21b/GCS16b URP responses add one; ECS21b URP has the same framing " +
		"(originator the ACB 90B3D51F30000002, Supplementary Remote Party the known supplier 90B3D51F30010000, its " +
		"KA certificate carried) and adds it, so neither the party being a known anchor nor any catalogue attribute " +
		"(message type, remote party roles, target, sensitivity) sets GCS61 apart: the RTDS framing would need a rule " +
		"keyed on the message code",
}
