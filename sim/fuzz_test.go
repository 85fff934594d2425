package sim

import (
	"testing"
)

// FuzzDeliver: whatever arrives from the WAN, a simulated device answers
// or refuses it; it never panics. Seeds are well-formed, MACed commands,
// so the mutations start from frames that pass parsing.
func FuzzDeliver(f *testing.F) {
	c := newDCC(f)
	d := c.f.Add(ESME)
	for _, code := range []uint16{0x0069, 0x0062, 0x0018} {
		raw, err := c.command(d.EUI, code, dlmsRequest(c.counter, spec{1, 112, "0-0:19.10.0.255", 2, nil})).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, _ = c.f.Deliver(raw)
	})
}

// FuzzDeviceCommand: a command that passes the device's MAC and counter
// checks but carries any message code and any content reaches the use
// case's execution; the device answers or refuses, never panics.
func FuzzDeviceCommand(f *testing.F) {
	c := newDCC(f)
	esme := c.f.Add(ESME)
	gsme := c.f.Add(GSME)
	f.Add(uint16(0x0069), false, dlmsRequest(1, spec{1, 112, "0-0:19.10.0.255", 2, nil}))
	f.Add(uint16(0x0018), false, dlmsRequest(1, spec{1, 8, "0-0:1.0.0.255", 2, nil}))
	f.Add(uint16(0x0069), true, []byte{0x11, 0x00})
	f.Fuzz(func(t *testing.T, code uint16, gas bool, content []byte) {
		to := esme.EUI
		if gas {
			to = gsme.EUI
		}
		m := c.command(to, code, content)
		raw, err := m.Marshal()
		if err != nil {
			return // not a frame the DCC could send
		}
		_, _ = c.f.Deliver(raw)
	})
}
