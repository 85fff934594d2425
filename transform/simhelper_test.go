package transform

import (
	"testing"

	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload"
	"github.com/opendcc/opendcc/sim"
)

// deliverToSim MACs a built command with the ACB's key, has the simulated
// fleet execute it and returns the device's response with its decoded
// payload; any refusal fails the test with what.
func deliverToSim(t *testing.T, f *sim.Fleet, sec *gbcs.Security, m *gbcs.Message, what string) (*gbcs.Message, *payload.Node) {
	t.Helper()
	if err := sec.WrapMAC(m); err != nil {
		t.Fatal(err)
	}
	raw, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.Deliver(raw)
	if err != nil {
		t.Fatalf("%s refused: %v", what, err)
	}
	resp, err := gbcs.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	n, err := payload.Decode(resp.MessageCode, resp.Content, payload.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return resp, n
}
