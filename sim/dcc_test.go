package sim

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/dlms"
	"github.com/opendcc/opendcc/gbcs/payload"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// dcc plays the DCC side in tests: the ZAZ1 keys, the fleet's device
// certificates, counters per user.
type dcc struct {
	t       testing.TB
	f       *Fleet
	clock   *ManualClock
	sec     *gbcs.Security
	counter uint64
}

func newDCC(t testing.TB) *dcc {
	clock := NewManualClock(time.Date(2030, 1, 15, 0, 0, 0, 0, time.UTC))
	f, err := NewFleet(Options{Seed: 7, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return &dcc{t: t, f: f, clock: clock, sec: gbcs.NewSecurity(f.KeyStore(), 0), counter: 1 << 32}
}

type spec struct {
	choice uint64 // 1 get, 2 set, 3 action
	class  uint16
	obis   string
	id     uint8
	data   *tree.Node
}

// dlmsRequest builds a DLMS access-request.
func dlmsRequest(counter uint64, specs ...spec) []byte {
	root := &tree.Node{Name: "dlms", Type: dlms.TypeAccessRequest}
	sl := named("request-specs", "list", nil)
	dl := named("data", "list", nil)
	for _, s := range specs {
		o := obis(s.obis)
		idName := "attribute-id"
		if s.choice == 3 {
			idName = "method-id"
		}
		sl.Add(nd("request-spec", s.choice, named("class-id", "u16", uint64(s.class)),
			named("instance-id", "obis", hex.EncodeToString(o[:])), named(idName, "u8", uint64(s.id))))
		if s.data == nil {
			s.data = null()
		}
		dl.Add(s.data)
	}
	root.Add(named("invoke-id", "u32", uint64(0x20000000|counter&0xFFFFFF)), named("date-time", "octets", ""), sl, dl)
	b, err := dlms.Encode(root)
	if err != nil {
		panic(err)
	}
	return b
}

// command frames a command from the supplier: signed when the use case is
// critical, MACed by the ACB.
func (c *dcc) command(to eui.EUI64, code uint16, content []byte) *gbcs.Message {
	c.counter += 1 << 8
	m := &gbcs.Message{CRA: gbcs.CRACommand, OriginatorCounter: c.counter, Originator: EUISupplier, Recipient: to,
		MessageCode: code, Content: content, SignatureField: true}
	if uc, ok := gbcs.LookupMessageCode(code); ok && uc.Critical == gbcs.FlagYes {
		if err := c.sec.Sign(m, nil); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := c.sec.WrapMAC(m); err != nil {
		c.t.Fatal(err)
	}
	return m
}

func (c *dcc) send(m *gbcs.Message) (*gbcs.Message, *tree.Node) {
	c.t.Helper()
	raw, err := m.Marshal()
	if err != nil {
		c.t.Fatal(err)
	}
	out, err := c.f.Deliver(raw)
	if err != nil {
		c.t.Fatalf("command 0x%04X: %v", m.MessageCode, err)
	}
	r, err := gbcs.Parse(out)
	if err != nil {
		c.t.Fatal(err)
	}
	if r.MACHeader {
		if err := c.sec.VerifyMAC(r); err != nil {
			c.t.Fatalf("response MAC: %v", err)
		}
	} else if err := c.sec.VerifySignature(r); err != nil {
		c.t.Fatalf("response signature: %v", err)
	}
	n, err := payload.Decode(r.MessageCode, r.Content, payload.Options{Decrypt: func(p []byte) ([]byte, error) { return c.sec.DecryptPayload(r, p) }})
	if err != nil {
		c.t.Fatal(err)
	}
	return r, n
}

// results returns the DLMS per-item results and data of a response.
func results(n *tree.Node) ([]uint64, []*tree.Node) {
	var res []uint64
	for _, s := range n.Child("response-specs").Children {
		v, _ := s.Child("result").Uint()
		res = append(res, v)
	}
	return res, n.Child("data").Children
}

func (c *dcc) get(d *Device, code uint16, class uint16, o string, attr uint8) *tree.Node {
	c.t.Helper()
	_, n := c.send(c.command(d.EUI, code, dlmsRequest(c.counter+1<<8, spec{1, class, o, attr, nil})))
	res, data := results(n)
	if res[0] != 0 {
		c.t.Fatalf("get IC%d %s a%d: result %d", class, o, attr, res[0])
	}
	return data[0]
}

func TestSecurity(t *testing.T) {
	c := newDCC(t)
	esme := c.f.Add(ESME)
	disable := func() *gbcs.Message {
		return c.command(esme.EUI, 0x004F, dlmsRequest(c.counter+1<<8, spec{3, 9, "0-0:10.0.106.255", 1, u16(51)}))
	}
	supply := func() uint8 { esme.mu.Lock(); defer esme.mu.Unlock(); return esme.state().meter.supply }
	deliver := func(m *gbcs.Message) error {
		raw, _ := m.Marshal()
		out, err := c.f.Deliver(raw)
		if out != nil && err == nil {
			return nil
		}
		return err
	}
	expect := func(name string, m *gbcs.Message, want Reject) {
		t.Helper()
		before, last := supply(), esme.LastCounter(EUISupplier)
		raw, _ := m.Marshal()
		out, err := esme.Handle(raw)
		if out != nil || ReasonOf(err) != want {
			t.Fatalf("%s: response %x, error %v; want silence with %q", name, out, err, want)
		}
		if supply() != before || esme.LastCounter(EUISupplier) != last {
			t.Fatalf("%s: the command had an effect", name)
		}
		t.Logf("%-22s → no response (%v), supply state and counters unchanged", name, err)
	}

	// Bad MAC: one bit of the MAC flipped.
	m := disable()
	m.MAC[0] ^= 1
	expect("bad MAC", m, RejectBadMAC)

	// Missing signature on a critical command (MAC correct).
	m = disable()
	m.Signature = nil
	if err := c.sec.WrapMAC(m); err != nil {
		t.Fatal(err)
	}
	expect("missing signature", m, RejectNoSignature)

	// Bad signature (then MACed correctly by the ACB).
	m = disable()
	m.Signature[10] ^= 1
	if err := c.sec.WrapMAC(m); err != nil {
		t.Fatal(err)
	}
	expect("bad signature", m, RejectBadSignature)

	// Signed by a party that is not the device's supplier anchor.
	m = disable()
	m.Originator = EUISupplier2
	if err := c.sec.Sign(m, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.sec.WrapMAC(m); err != nil {
		t.Fatal(err)
	}
	expect("unknown originator", m, RejectUnknownOriginator)

	// Wrong recipient: addressed to another device, MAC valid for it.
	other := c.f.Add(ESME)
	m = c.command(other.EUI, 0x004F, dlmsRequest(1, spec{3, 9, "0-0:10.0.106.255", 1, u16(51)}))
	expect("wrong recipient", m, RejectNotAddressed)

	// A good command is executed once; replaying it (stale counter) is not.
	good := disable()
	if err := deliver(good); err != nil {
		t.Fatal(err)
	}
	if supply() != SupplyDisabled {
		t.Fatal("supply not disabled by a valid command")
	}
	esme.mu.Lock()
	esme.st.meter.supply = SupplyEnabled
	esme.mu.Unlock()
	expect("replayed (stale) counter", good, RejectReplay)

	esme.mu.Lock()
	n := len(esme.st.securityLog)
	esme.mu.Unlock()
	if n < 4 {
		t.Fatalf("security log has %d entries", n)
	}
	t.Logf("security log: %d entries", n)
}

func TestScenario(t *testing.T) {
	c := newDCC(t)
	prem := c.f.AddPremises(ESME)
	chf, esme, ppmid := prem[0], prem[2], prem[4]
	u := uint64(0)
	_ = u

	// 1. Tariff: TOU day profile 00:00 tier 1, 07:00 tier 2 (ECS01a writes
	// the passive day profile table of the activity calendar).
	entry := func(h byte, tier uint16) *tree.Node {
		return structure(octets([]byte{h, 0, 0, 0}), octets([]byte{0, 0, 10, 0, 100, 255}), u16(tier))
	}
	day := array(structure(u8(1), array(entry(0, 1), entry(7, 2))))
	_, n := c.send(c.command(esme.EUI, 0x0019, dlmsRequest(c.counter+1<<8, spec{2, 20, "0-0:13.0.0.255", 9, day})))
	if res, _ := results(n); res[0] != 0 {
		t.Fatalf("set tariff: %v", res)
	}
	t1 := c.get(esme, 0x0026, 3, "1-0:1.8.1.255", 2)
	t2 := c.get(esme, 0x0026, 3, "1-0:1.8.2.255", 2)
	tot := c.get(esme, 0x0026, 3, "1-0:1.8.0.255", 2)
	c.clock.Advance(24 * time.Hour)
	t1b := c.get(esme, 0x0026, 3, "1-0:1.8.1.255", 2)
	t2b := c.get(esme, 0x0026, 3, "1-0:1.8.2.255", 2)
	totb := c.get(esme, 0x0026, 3, "1-0:1.8.0.255", 2)
	d1, d2, dt := uv(t1b)-uv(t1), uv(t2b)-uv(t2), uv(totb)-uv(tot)
	rate := uint64(esme.st.meter.rateWh)
	if absDiff(d1, 7*rate) > 1 || absDiff(d2, 17*rate) > 1 || dt != d1+d2 {
		t.Fatalf("after 24 h: tier1 +%d (want %d), tier2 +%d (want %d), total +%d", d1, 7*rate, d2, 17*rate, dt)
	}
	t.Logf("tariff: 24 h at %d Wh/h → tier 1 +%d Wh (00:00–07:00), tier 2 +%d Wh, total +%d Wh", rate, d1, d2, dt)
	prof := c.get(esme, 0x0036, 7, "0-0:99.1.1.255", 2)
	if prof.Type != "compact-array" || len(prof.Children) != 2 || len(prof.Children[1].Children) != 48 {
		t.Fatalf("profile: %s, want a compact-array of 48 half-hours", prof.Type)
	}
	t.Logf("profile log: %d half-hourly entries", len(prof.Children[1].Children))

	// 2. Top up with a UTRN (CS01a) and read the balance (ECS82).
	bal0 := iv(c.get(esme, 0x0069, 112, "0-0:19.10.0.255", 2))
	utrn, err := c.sec.GenerateUTRN(EUISupplier, esme.EUI, gbcs.TopUp{Counter: 5 << 32, Value: 10, Class: gbcs.ValuePounds})
	if err != nil {
		t.Fatal(err)
	}
	_, n = c.send(c.command(esme.EUI, 0x0007, dlmsRequest(c.counter+1<<8, spec{3, 115, "0-0:19.40.0.255", 1, octets([]byte(utrn))})))
	if res, _ := results(n); res[0] != 0 {
		t.Fatalf("top up: %v", res)
	}
	bal1 := iv(c.get(esme, 0x0069, 112, "0-0:19.10.0.255", 2))
	if bal1-bal0 != 1000 {
		t.Fatalf("balance %d → %d after a £10 UTRN", bal0, bal1)
	}
	t.Logf("top-up: UTRN %s → balance %dp → %dp", utrn, bal0, bal1)
	_, n = c.send(c.command(esme.EUI, 0x0007, dlmsRequest(c.counter+1<<8, spec{3, 115, "0-0:19.40.0.255", 1, octets([]byte(utrn))})))
	if res, _ := results(n); res[0] == 0 {
		t.Fatal("the same UTRN was accepted twice")
	}

	// 3. Disable, arm and enable the supply (ECS42/43/44), reading the
	// control state (ECS45) after each.
	for _, step := range []struct {
		code   uint16
		script uint16
		want   uint64
	}{{0x004F, 51, SupplyDisabled}, {0x0050, 52, SupplyArmed}, {0x0051, 54, SupplyEnabled}} {
		_, n = c.send(c.command(esme.EUI, step.code, dlmsRequest(c.counter+1<<8, spec{3, 9, "0-0:10.0.106.255", 1, u16(step.script)})))
		if res, _ := results(n); res[0] != 0 {
			t.Fatalf("script %d: %v", step.script, res)
		}
		if got := uv(c.get(esme, 0x0052, 70, "0-0:96.3.10.255", 3)); got != step.want {
			t.Fatalf("script %d: control state %d, want %d", step.script, got, step.want)
		}
	}
	t.Log("supply: disabled → armed → enabled, each read back by ECS45")

	// 4. Firmware: the image arrives (receipt alert with its hash), CS06
	// activates it, ECS52 reads the new version.
	esme.DeliverFirmware([]byte("image-2.0.0"), "2.0.0")
	alerts := esme.TakeAlerts()
	if len(alerts) == 0 || alerts[len(alerts)-1].Code != AlertFirmwareReceipt {
		t.Fatalf("no firmware receipt alert: %+v", alerts)
	}
	_, n = c.send(c.command(esme.EUI, 0x0012, mustASN(aseq(aoct([]byte{1}), anull()))))
	if got := string(octv(c.get(esme, 0x0059, 1, "0-0:0.2.1.255", 2))); got != "2.0.0" {
		t.Fatalf("firmware version %q after activation", got)
	}
	t.Logf("firmware: receipt alert 0x%04X, CS06 response %s, ECS52 reads 2.0.0", alerts[len(alerts)-1].Code, oneLine(n))

	// 5. Join a PPMID to the ESME (CS03A1) and read the join details.
	_, n = c.send(c.command(esme.EUI, 0x000D, mustASN(aseq(aoct(ppmid.EUI[:]), aint(2)))))
	if v, _ := n.Children[0].Int(); v != 0 {
		t.Fatalf("join: %s", n)
	}
	found := false
	for _, id := range esme.Joined() {
		found = found || id == ppmid.EUI
	}
	if !found {
		t.Fatal("PPMID not in the ESME's join list")
	}
	t.Logf("join: PPMID %s joined to ESME %s", ppmid.EUI, esme.EUI)

	// 6. Power outage on the CHF: last-gasp alert, commands unanswered,
	// restoration alert with the outage band.
	chf.PowerOutage()
	raw, _ := c.command(chf.EUI, 0x0059, dlmsRequest(1, spec{1, 1, "0-0:0.2.1.255", 2, nil})).Marshal()
	if _, err := c.f.Deliver(raw); ReasonOf(err) != RejectPowerLost {
		t.Fatalf("CHF without power answered: %v", err)
	}
	c.clock.Advance(2 * time.Hour)
	chf.PowerRestore()
	var codes []uint16
	for _, a := range chf.TakeAlerts() {
		codes = append(codes, a.Code)
		m, err := gbcs.Parse(a.Message)
		if err != nil {
			t.Fatal(err)
		}
		if m.MACHeader {
			if err := c.sec.VerifyMAC(m); err != nil {
				t.Fatalf("alert MAC: %v", err)
			}
		} else if err := c.sec.VerifySignature(m); err != nil {
			t.Fatalf("alert signature: %v", err)
		}
	}
	if len(codes) != 2 || codes[0] != AlertPowerOutage || codes[1] != AlertSupplyOutageRestore+2 {
		t.Fatalf("CHF alerts %04X", codes)
	}
	t.Logf("power outage: CHF alerts %04X (outage, restore after 2 h), both verified", codes)
}

func uv(n *tree.Node) uint64 { v, _ := n.Uint(); return v }
func iv(n *tree.Node) int64  { v, _ := n.Int(); return v }
func octv(n *tree.Node) []byte {
	b, _ := n.Octets()
	return b
}
func oneLine(n *tree.Node) string {
	b, _ := payload.Encode(n)
	return hex.EncodeToString(b)
}

func mustASN(n *tree.Node) []byte {
	b, err := asnEncode(n)
	if err != nil {
		panic(err)
	}
	return b
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}
