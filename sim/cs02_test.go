package sim

import (
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/asn"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

func TestCS02ProvideAndUpdate(t *testing.T) {
	clock := NewManualClock(time.Date(2030, 1, 15, 9, 0, 0, 0, time.UTC))
	f, err := NewFleet(Options{Seed: 1, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.AddWithEUI(eui.MustParse("00-DB-12-34-56-78-90-A0"), ESME)
	if err != nil {
		t.Fatal(err)
	}
	st := d.state()
	x := &exec{d: d, st: st, m: &gbcs.Message{MessageCode: 0x0008}}
	// CS02a: supplier (DS, KA, prepayment KA), WAN provider (not held by an ESME)
	out := x.provideCredentials(aseq(aseq(aint(4), keyUsageBits(1)), aseq(aint(rpSupplier), aint(rpWANProvider))), false)
	if len(out.Children) != 2 || len(out.Children[0].Children) != 4 || len(out.Children[0].Children[3].Children) != 3 {
		t.Fatalf("CS02a: %v", out)
	}
	if s, _ := out.Children[1].Children[1].Int(); s != cs02RoleNotHeld {
		t.Fatalf("CS02a WAN provider on an ESME: %v", out.Children[1])
	}

	// CS02b supplier by supplier, future dated: NULL now, replaced with an
	// 8F66 alert when the time comes
	newDS := f.dir.Keyring.Certificates(EUISupplier2, gbcs.UsageDigitalSignature)[0]
	cn, err := asn.Decode(newDS.Raw, tree.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	at := clock.Now().Add(time.Hour)
	cmd := aseq(aseq(aint(2), &tree.Node{Type: "[3] primitive", Value: "03e8"}),
		aseq(aseq(cn.Children[0], aseq(aint(rpSupplier), keyUsageBits(1)))), aseq(), agt(at))
	x.m = &gbcs.Message{MessageCode: 0x0102, OriginatorCounter: 1000}
	if r := x.updateCredentials(cmd, clock.Now(), false); len(r.Children) != 1 || r.Children[0].Type != "NULL" {
		t.Fatalf("future dated CS02b: %v", r)
	}
	if d.Pending() != 1 {
		t.Fatal("not pending")
	}
	clock.Advance(2 * time.Hour)
	d.Tick()
	if a := d.Anchors()[AnchorSupplier]; a.EUI != EUISupplier2 || a.DS == nil || string(a.DS.Raw) != string(newDS.Raw) {
		t.Fatalf("supplier anchor not replaced: %v", a.EUI)
	}
	alerts := d.TakeAlerts()
	if len(alerts) == 0 || alerts[len(alerts)-1].Code != AlertFutureDatedSuccess {
		t.Fatalf("alerts %v", alerts)
	}
	m, err := gbcs.Parse(alerts[len(alerts)-1].Message)
	if err != nil || m.MessageCode != 0x00CB {
		t.Fatalf("alert message %v %v", m, err)
	}

	// immediate with a fault: nothing replaced, status 10
	cmd = aseq(aseq(aint(2), &tree.Node{Type: "[3] primitive", Value: "03e9"}),
		aseq(aseq(cn.Children[0], aseq(aint(rpSupplier), keyUsageBits(1)))), aseq())
	r := x.updateCredentials(cmd, clock.Now(), true)
	body := r.Children[1]
	if n, _ := body.Children[0].Int(); n != 1001 {
		t.Fatalf("command sequence number %v", body.Children[0])
	}
	if s, _ := body.Children[3].Children[0].Children[1].Int(); s != cs02NotReplaced {
		t.Fatalf("faulty replacement: %v", body)
	}
}
