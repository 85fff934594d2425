package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
	"github.com/opendcc/opendcc/internal/refdata"
)

// fdInstruction is the future-dated instruction an 8F66/8F67 alert names
// (GBCS §1.10): the command's message code and counter, then the DLMS
// object or the GBZ cluster and command.
type fdInstruction struct {
	alertCode, messageCode, instrCode uint16
	counter                           uint64
	class                             uint16
	obis                              string
	attr                              uint64
	cmd                               uint64
	gbz                               bool
}

func (f fdInstruction) String() string {
	if f.gbz {
		return fmt.Sprintf("alert %04X msg %04X [%04X #%d cluster %04X cmd %02X]", f.alertCode, f.messageCode, f.instrCode, f.counter, f.class, f.cmd)
	}
	return fmt.Sprintf("alert %04X msg %04X [%04X #%d IC%d %s a%d]", f.alertCode, f.messageCode, f.instrCode, f.counter, f.class, f.obis, f.attr)
}

// alertInstruction decodes a DLMS (0x00CC) or GBZ (0x00CD) future-dated
// execution alert.
func alertInstruction(m *gbcs.Message) (fdInstruction, *tree.Node, error) {
	f := fdInstruction{messageCode: m.MessageCode}
	n, err := payload.Decode(m.MessageCode, m.Content, payload.Options{})
	if err != nil {
		return f, nil, err
	}
	var in *tree.Node
	if isASNAlert(m.MessageCode) {
		// SEQUENCE {alert code, alert time, ...}
		if len(n.Children) == 1 && len(n.Children[0].Children) > 0 {
			v, _ := n.Children[0].Children[0].Uint()
			f.alertCode = uint16(v)
		}
		return f, n, nil
	}
	n.Walk(func(c *tree.Node) bool {
		switch c.Name {
		case "alert-code":
			v, _ := c.Uint()
			f.alertCode = uint16(v)
		case "future-dated-instruction":
			in = c
		}
		return true
	})
	if in == nil {
		return f, nil, fmt.Errorf("no future-dated-instruction in %s", n)
	}
	f.instrCode = uint16(childUint(in, "message-code"))
	f.counter = childUint(in, "originator-counter")
	f.class = uint16(childUint(in, "class-id"))
	if c := in.Child("cluster-id"); c != nil {
		f.gbz = true
		f.class = uint16(childUint(in, "cluster-id"))
		f.cmd = childUint(in, "command-id")
	} else {
		b, _ := in.Child("instance-id").Octets()
		f.obis = fmt.Sprintf("%x", b)
		f.attr = childUint(in, "attribute-id")
	}
	return f, n, nil
}

// isASNAlert: the ASN.1 future-dated alerts (CS06 0x00CA, CS02b 0x00CB,
// CS02g 0x0124).
func isASNAlert(code uint16) bool { return code == 0x00CA || code == 0x00CB || code == 0x0124 }

// fdAlert is an alert's instruction, payload tree and framing.
type fdAlert struct {
	fdInstruction
	tree           *tree.Node
	signed, macced bool
}

// TestFutureDatedAlerts: every RTDS DLMS/GBZ 8F66/8F67 future-dated
// execution alert is reproduced by sending the RTDS command it names to a
// simulated device, advancing the clock past the execution time and
// comparing the device's alerts (alert code, message code, instruction:
// the command's message code and counter, the object / cluster and
// command).
func TestFutureDatedAlerts(t *testing.T) {
	root := refdata.Path(t, "gbcs", "rtds", "RTDS-4.5.0")
	alerts, _ := filepath.Glob(filepath.Join(root, "*", "*_8F6[67]_*ALERT*_GBCS.HEX"))
	sort.Strings(alerts)
	type family struct {
		dir    string
		files  []string
		wanted []fdAlert
	}
	fams := map[string]*family{}
	var order []string
	asn1 := 0
	for _, af := range alerts {
		b, err := readHex(af)
		if err != nil {
			t.Fatal(err)
		}
		m, err := gbcs.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		f, tr, err := alertInstruction(m)
		if err != nil {
			t.Fatalf("%s: %v", af, err)
		}
		dir := filepath.Dir(af)
		if isASNAlert(m.MessageCode) {
			// ASN.1 (CS02b/g, CS06): one family per scenario
			asn1++
			dir = af
		}
		fam := fams[dir]
		if fam == nil {
			fam = &family{dir: dir}
			fams[dir] = fam
			order = append(order, dir)
		}
		fam.files = append(fam.files, filepath.Base(af))
		fam.wanted = append(fam.wanted, fdAlert{f, tr, m.Signed(), m.MACHeader})
	}
	total, ok := 0, 0
	for _, dir := range order {
		fam := fams[dir]
		total += len(fam.wanted)
		got, err := runFutureDated(t, dir, fam.wanted[0].fdInstruction)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(dir), err)
			continue
		}
		if len(fam.wanted) == 1 && isASNAlert(fam.wanted[0].messageCode) {
			dir = filepath.Base(filepath.Dir(dir)) + "/" + strings.SplitN(filepath.Base(dir), "_", 4)[2]
		}
		used := make([]bool, len(got))
		n := 0
		for i, w := range fam.wanted {
			found := -1
			for j, g := range got {
				if !used[j] && g.fdInstruction == w.fdInstruction {
					used[j], found = true, j
					break
				}
			}
			switch {
			case found < 0:
				t.Errorf("%s/%s: %v not raised; device alerts %v", filepath.Base(dir), fam.files[i], w, got)
			case got[found].signed != w.signed || got[found].macced != w.macced:
				t.Errorf("%s/%s: framing signed %v MAC %v, RTDS %v %v", filepath.Base(dir), fam.files[i], got[found].signed, got[found].macced, w.signed, w.macced)
			default:
				if d := shapeDiff(got[found].tree, w.tree, ""); d != "" {
					t.Errorf("%s/%s: structure: %s", filepath.Base(dir), fam.files[i], d)
				} else {
					n++
				}
			}
		}
		for j, g := range got {
			if !used[j] {
				t.Errorf("%s: extra alert %v", filepath.Base(dir), g.fdInstruction)
			}
		}
		ok += n
		if !strings.Contains(dir, "/8F6") {
			dir = filepath.Base(dir)
		}
		t.Logf("%-42s %d / %d alerts reproduced", dir, n, len(fam.wanted))
	}
	t.Logf("RTDS future-dated alert files reproduced: %d / %d (%d DLMS/GBZ in %d families, %d ASN.1 CS02b/CS02g/CS06)", ok, total, total-asn1, len(order)-asn1, asn1)
	if ok != total {
		t.Fail()
	}
}

// runFutureDated sends the RTDS command an alert names to a simulated
// device, checks that nothing changes before the execution time, then
// advances the clock past it and returns the future-dated alerts raised.
func runFutureDated(t *testing.T, dir string, w fdInstruction) ([]fdAlert, error) {
	var cmd *gbcs.Message
	var name string
	if isASNAlert(w.messageCode) {
		// the ASN.1 alert's scenario: the future-dated SUCCESS (8F66) or
		// ERROR (8F67) command of its folder
		scen := "FUTURE_DATED_SUCCESS_COMMAND"
		if w.alertCode == AlertFutureDatedFailure {
			scen = "FUTURE_DATED_ERROR_COMMAND"
		}
		files, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "*_"+scen+"_GBCS.HEX"))
		if len(files) == 1 {
			b, err := readHex(files[0])
			if err != nil {
				return nil, err
			}
			if cmd, err = gbcs.Parse(b); err != nil {
				return nil, err
			}
			name = filepath.Base(files[0])
		}
	} else {
		files, _ := filepath.Glob(filepath.Join(dir, "*_COMMAND_GBCS.HEX"))
		for _, cf := range files {
			if strings.Contains(cf, "PRECOMMAND") {
				continue
			}
			b, err := readHex(cf)
			if err != nil {
				continue
			}
			m, err := gbcs.Parse(b)
			if err == nil && m.MessageCode == w.instrCode && m.OriginatorCounter == w.counter {
				cmd, name = m, filepath.Base(cf)
			}
		}
	}
	if cmd == nil {
		return nil, fmt.Errorf("no command %04X #%d", w.instrCode, w.counter)
	}
	// the device's clock: a month before the RTDS execution times
	// (2030-01-01 to 2030-04-01)
	clock := NewManualClock(time.Date(2029, 12, 1, 0, 0, 0, 0, time.UTC))
	h := newRTDSHarnessAt(t, clock)
	typ, _ := rtdsType(cmd.Recipient, name)
	d, why := h.prepare(cmd, typ, name)
	if why != "" {
		return nil, fmt.Errorf("%s", why)
	}
	if cmd.MessageCode == 0x00CA || cmd.MessageCode == 0x0012 {
		// CS06 activates an image the device has received
		d.DeliverFirmware([]byte("image-2.0.0"), "2.0.0")
	}
	if strings.Contains(name, "ERROR") {
		// the fault the RTDS ERROR response shows
		rb, err := readHex(strings.Replace(filepath.Join(filepath.Dir(dir), name), "_COMMAND_", "_RESPONSE_", 1))
		if err != nil {
			return nil, err
		}
		rm, err := gbcs.Parse(rb)
		if err != nil {
			return nil, err
		}
		rt, err := decode(h.rtdsSec, rm, false)
		if err != nil {
			return nil, err
		}
		d.InjectFaultOn(cmd.MessageCode, scenarioFault(rt))
	}
	d.TakeAlerts()
	raw, err := h.rebuild(cmd)
	if err != nil {
		return nil, err
	}
	resp, err := d.Handle(raw)
	if err != nil || len(resp) == 0 {
		return nil, fmt.Errorf("%s: no response: %v", name, err)
	}
	if d.Pending() == 0 {
		return nil, fmt.Errorf("%s: nothing pending", name)
	}
	if os.Getenv("RTDS_DUMP") != "" {
		fmt.Printf("%s: %d pending\n", name, d.Pending())
	}
	var out []fdAlert
	collect := func() error {
		for _, a := range d.TakeAlerts() {
			m, err := gbcs.Parse(a.Message)
			if err != nil {
				return err
			}
			if m.MessageCode != 0x00CC && m.MessageCode != 0x00CD && !isASNAlert(m.MessageCode) {
				continue
			}
			if m.Signed() {
				if err := h.dcc.VerifySignature(m); err != nil {
					return fmt.Errorf("alert signature: %w", err)
				}
			}
			f, tr, err := alertInstruction(m)
			if err != nil {
				return err
			}
			out = append(out, fdAlert{f, tr, m.Signed(), m.MACHeader})
		}
		return nil
	}
	// nothing executed at once nor a second before the first execution time
	first := d.st.pending[0].at
	for _, p := range d.st.pending {
		if p.at.Before(first) {
			first = p.at
		}
	}
	clock.Set(first.Add(-time.Second))
	d.Tick()
	if err := collect(); err != nil {
		return nil, err
	}
	if len(out) > 0 {
		return nil, fmt.Errorf("alerts before the execution time: %v", out)
	}
	clock.Set(time.Date(2030, 4, 2, 0, 0, 0, 0, time.UTC))
	d.Tick()
	if err := collect(); err != nil {
		return nil, err
	}
	if d.Pending() != 0 {
		return nil, fmt.Errorf("%d instructions still pending", d.Pending())
	}
	return out, nil
}

// fdSend prepares the RTDS device of a command file and sends it.
func fdSend(t *testing.T, h *rtdsHarness, d *Device, file string) *Device {
	t.Helper()
	b, err := readHex(file)
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := gbcs.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if d == nil {
		typ, _ := rtdsType(cmd.Recipient, filepath.Base(file))
		var why string
		if d, why = h.prepare(cmd, typ, filepath.Base(file)); why != "" {
			t.Fatal(why)
		}
	}
	raw, err := h.rebuild(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Handle(raw); err != nil {
		t.Fatalf("%s: %v", filepath.Base(file), err)
	}
	return d
}

// TestFutureDatedState: the state a future-dated command changes changes
// at its execution time, not before; a cancellation removes the pending
// instructions.
func TestFutureDatedState(t *testing.T) {
	root := refdata.Path(t, "gbcs", "rtds", "RTDS-4.5.0")
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	before, after := time.Date(2030, 1, 15, 8, 0, 0, 0, time.UTC), time.Date(2030, 1, 15, 10, 0, 0, 0, time.UTC)

	t.Run("ECS01a tariff", func(t *testing.T) {
		clock := NewManualClock(start)
		h := newRTDSHarnessAt(t, clock)
		d := fdSend(t, h, nil, filepath.Join(root, "1.1.1_ECS01a", "ECS01a_1.1.1_FUTURE_DATED_TOU_BLOCK_SUCCESS_COMMAND_GBCS.HEX"))
		active := key(113, "0-0:19.20.0.255", 5)
		tou := fmt.Sprint(d.st.meter.touStart)
		if d.Pending() != 6 {
			t.Fatalf("pending %d, want 6", d.Pending())
		}
		clock.Set(before)
		d.Tick()
		if _, ok := d.st.objects[active]; ok || fmt.Sprint(d.st.meter.touStart) != tou {
			t.Fatal("tariff active before its activation time")
		}
		clock.Set(after)
		d.Tick()
		pas := d.st.objects[key(113, "0-0:19.20.0.255", 6)]
		if v, ok := d.st.objects[active]; !ok || v != pas {
			t.Fatal("passive price matrix not active after its activation time")
		}
		if fmt.Sprint(d.st.meter.touStart) == tou {
			t.Fatalf("TOU switching times unchanged: %v", d.st.meter.touStart)
		}
	})
	t.Run("ECS02 payment mode", func(t *testing.T) {
		clock := NewManualClock(start)
		h := newRTDSHarnessAt(t, clock)
		f := filepath.Join(root, "1.6_ECS02", "ECS02_1.6_FUTURE_DATED_TWIN_SUCCESS_COMMAND_GBCS.HEX")
		b, _ := readHex(f)
		cmd, _ := gbcs.Parse(b)
		typ, _ := rtdsType(cmd.Recipient, filepath.Base(f))
		d, why := h.prepare(cmd, typ, filepath.Base(f))
		if why != "" {
			t.Fatal(why)
		}
		d.st.meter.prepayment = true
		fdSend(t, h, d, f) // credit mode from 2030-01-15 09:00
		clock.Set(before)
		d.Tick()
		if !d.st.meter.prepayment {
			t.Fatal("credit mode before the activation time")
		}
		clock.Set(after)
		d.Tick()
		if d.st.meter.prepayment {
			t.Fatal("still prepayment after the activation time")
		}
	})
	t.Run("GCS02 payment mode", func(t *testing.T) {
		clock := NewManualClock(start)
		h := newRTDSHarnessAt(t, clock)
		d := fdSend(t, h, nil, filepath.Join(root, "1.6_GCS02", "GCS02_1.6_FUTURE_DATED_SUCCESS_COMMAND_GBCS.HEX"))
		if !d.st.meter.prepayment {
			t.Fatal("the installed GSME is not in prepayment")
		}
		clock.Set(before)
		d.Tick()
		if !d.st.meter.prepayment {
			t.Fatal("credit mode before the implementation time")
		}
		clock.Set(after)
		d.Tick()
		if d.st.meter.prepayment {
			t.Fatal("still prepayment after the implementation time")
		}
	})
	for _, c := range []struct{ name, dir, future, cancel string }{
		{"ECS01a cancel", "1.1.1_ECS01a", "ECS01a_1.1.1_FUTURE_DATED_TOU_BLOCK_SUCCESS_COMMAND_GBCS.HEX", "ECS01a_1.1.1_CANCELLATION_TOU_BLOCK_SUCCESS_COMMAND_GBCS.HEX"},
		{"GCS01a cancel", "1.1.1_GCS01a", "GCS01a_1.1.1_FUTURE_DATED_BLOCK_SUCCESS_COMMAND_GBCS.HEX", "GCS01a_1.1.1_CANCELLATION_BLOCK_SUCCESS_COMMAND_GBCS.HEX"},
		{"GCS05 cancel", "2.1_GCS05", "GCS05_2.1_FUTURE_DATED_SUCCESS_COMMAND_GBCS.HEX", "GCS05_2.1_CANCELLATION_SUCCESS_COMMAND_GBCS.HEX"},
		{"ECS01b cancel", "1.2.1_ECS01b", "ECS01b_1.2.1_FUTURE_DATED_TOU_BLOCK_SUCCESS_COMMAND_GBCS.HEX", "ECS01b_1.2.1_CANCELLATION_TOU_BLOCK_SUCCESS_COMMAND_GBCS.HEX"},
		{"GCS02 cancel", "1.6_GCS02", "GCS02_1.6_FUTURE_DATED_SUCCESS_COMMAND_GBCS.HEX", "GCS02_1.6_CANCELLATION_SUCCESS_COMMAND_GBCS.HEX"},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := NewManualClock(start)
			h := newRTDSHarnessAt(t, clock)
			d := fdSend(t, h, nil, filepath.Join(root, c.dir, c.future))
			if d.Pending() == 0 {
				t.Fatal("nothing pending")
			}
			fdSend(t, h, d, filepath.Join(root, c.dir, c.cancel))
			if d.Pending() != 0 {
				t.Fatalf("%d pending after the cancellation", d.Pending())
			}
			d.TakeAlerts()
			clock.Set(after)
			d.Tick()
			for _, a := range d.TakeAlerts() {
				if a.Code == AlertFutureDatedSuccess || a.Code == AlertFutureDatedFailure {
					t.Fatalf("alert %04X after the cancellation", a.Code)
				}
			}
		})
	}
}
