package server

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/internal/cpuparts"
	"github.com/opendcc/opendcc/internal/gopool"
	"github.com/opendcc/opendcc/sim"
	"github.com/opendcc/opendcc/smki/repository"
	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/wan"
)

// simTransport is the smart-metering WAN of the embedded server: commands
// go to simulated devices (sim.Fleet) over the simulated WAN (package
// wan, per-region latency and loss), and their responses and alerts come
// back through recv. Devices are created on first use from their
// inventory entry, so a device added by pre-notification answers too.
type simTransport struct {
	fleet *sim.Fleet
	net   *wan.Network
	inv   store.Inventory
	recv  func(ctx context.Context, raw []byte) error
	log   *slog.Logger

	mu sync.Mutex // serialises device creation
	// sent counts commands handed to the WAN (tests check that a
	// refused request never reaches a device).
	sent atomic.Int64
	// gos runs the devices' work when a WAN delay ends, on kept goroutines
	// (a timer's goroutine is new each time; see gopool).
	gos gopool.Pool
}

func simType(d store.Device) sim.Type {
	switch d.Type {
	case store.DeviceESME:
		switch strings.ToUpper(d.ESMEVariant) {
		case "B", "TWIN":
			return sim.ESMETwin
		case "C", "POLYPHASE":
			return sim.ESMEPoly
		}
		return sim.ESME
	case store.DeviceGSME:
		return sim.GSME
	case store.DeviceCHF:
		return sim.CHF
	case store.DeviceGPF:
		return sim.GPF
	case store.DevicePPMID:
		return sim.PPMID
	case store.DeviceHCALCS:
		return sim.HCALCS
	case store.DeviceIHD:
		return sim.IHD
	}
	return sim.TypeUnknown
}

// device returns the simulated device for an inventory entry, creating it
// (and its comms hub, registered on the WAN in the entry's CSP region) on
// first use.
// Provision implements dcc.Provisioner.
func (t *simTransport) Provision(ctx context.Context, d store.Device, lookup func(eui.EUI64) (store.Device, error)) error {
	_, err := t.device(ctx, d, lookup)
	return err
}

func (t *simTransport) device(ctx context.Context, d store.Device, lookup func(eui.EUI64) (store.Device, error)) (*sim.Device, error) {
	if sd, ok := t.fleet.Device(d.ID); ok {
		// The inventory may have put it on a hub since (8.11 Add).
		if d.Type != store.DeviceCHF && d.CHF != (eui.EUI64{}) {
			if h, ok := t.fleet.Hub(sd); !ok || h.EUI != d.CHF {
				if hd, err := lookup(d.CHF); err == nil {
					if hub, err := t.device(ctx, hd, lookup); err == nil {
						t.fleet.Attach(sd, hub)
					}
				}
			}
		}
		return sd, nil
	}
	var hub *sim.Device
	if d.Type != store.DeviceCHF && d.CHF != (eui.EUI64{}) {
		if hd, err := lookup(d.CHF); err == nil {
			hub, _ = t.device(ctx, hd, lookup)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if sd, ok := t.fleet.Device(d.ID); ok {
		return sd, nil
	}
	typ := simType(d)
	if typ == sim.TypeUnknown {
		return nil, errors.New("no simulated device of type " + string(d.Type))
	}
	sd, err := t.fleet.AddWithEUI(d.ID, typ)
	if err != nil {
		return nil, err
	}
	if typ == sim.CHF {
		region, err := wan.ParseRegion(d.CSPRegion)
		if err != nil {
			region = wan.Central
		}
		t.net.Register(d.ID, region)
	}
	if hub != nil {
		t.fleet.Attach(sd, hub)
	}
	return sd, nil
}

// hubOf is the comms hub a device's traffic crosses the WAN through.
func hubOf(d store.Device) eui.EUI64 {
	if d.Type == store.DeviceCHF || d.CHF == (eui.EUI64{}) {
		return d.ID
	}
	return d.CHF
}

// Send implements dcc.Transport: an unreachable hub or a regional outage
// is an error now (E20); a lost message is silence (E21 at the deadline).
func (t *simTransport) Send(ctx context.Context, d store.Device, command []byte) error {
	if _, err := t.device(ctx, d, func(id eui.EUI64) (store.Device, error) { return t.inv.GetDevice(ctx, id) }); err != nil {
		return err
	}
	t.sent.Add(1)
	hub := hubOf(d)
	delay, err := t.net.Send(hub)
	if errors.Is(err, wan.ErrLost) {
		return nil
	}
	if err != nil {
		return err
	}
	time.AfterFunc(delay, func() {
		t.gos.Go(func() {
			var resp []byte
			var err error
			// Labelled so that bench e2e can tell the devices' CPU from the DCC's.
			cpuparts.Run(cpuparts.Devices, func() { resp, err = t.fleet.Deliver(command) })
			if err != nil {
				t.log.Debug("simulated device gave no answer", "device", d.ID, "reason", err)
				return
			}
			back, err := t.net.Send(hub)
			if err != nil {
				return // lost on the way back
			}
			time.AfterFunc(back, func() { t.gos.Go(func() { t.deliverUp(resp) }) })
		})
	})
	return nil
}

// deliverUp hands a device message to the DCC, retrying while the bus is
// briefly unavailable (a message from a device is not lost by the DCC once
// it arrives).
func (t *simTransport) deliverUp(raw []byte) {
	for i := 0; i < 5; i++ {
		if err := t.recv(context.Background(), raw); err == nil {
			return
		} else if i == 4 {
			t.log.Warn("a device message could not be queued", "err", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// alert is the fleet's alert sink: alerts cross the WAN like responses.
func (t *simTransport) alert(d *sim.Device, a sim.Alert) {
	t.log.Debug("device alert", "device", d.EUI, "code", a.Code)
	hub := d.EUI
	if h, ok := t.fleet.Hub(d); ok {
		hub = h.EUI
	}
	delay, err := t.net.Send(hub)
	if err != nil {
		return
	}
	msg := append([]byte(nil), a.Message...)
	time.AfterFunc(delay, func() { t.deliverUp(msg) })
}

// CommandsSent is the number of GBCS commands the DCC has handed to the
// simulated WAN since Start.
func (s *Server) CommandsSent() int64 {
	if s.transport == nil {
		return 0
	}
	return s.transport.sent.Load()
}

// deviceIndex is the SMKI repository of the embedded server: the
// organisation certificates, plus the device certificates of the simulated
// devices, found by a CertificateSubjectAltName search for any device in
// the inventory (the device is created, with its keys, on first search), as
// DCC Boxed clients do before decrypting a device's response.
type deviceIndex struct {
	*repository.Memory
	tr *simTransport
}

// Search implements repository.Index.
func (x *deviceIndex) Search(q repository.Query) []repository.Record {
	if q.Device && x.tr != nil {
		ctx := context.Background()
		lookup := func(id eui.EUI64) (store.Device, error) { return x.tr.inv.GetDevice(ctx, id) }
		if d, err := lookup(q.EUI); err == nil {
			if sd, err := x.tr.device(ctx, d, lookup); err == nil {
				for _, u := range []gbcs.Usage{gbcs.UsageDigitalSignature, gbcs.UsageKeyAgreement} {
					if c, err := sd.Certificate(u); err == nil {
						x.Memory.Add(c, repository.Source{Name: "simulated devices"})
					}
				}
			}
		}
	}
	return x.Memory.Search(q)
}

// tickLoop runs the simulated devices' clocks once a second for those with
// future-dated instructions waiting, so they execute at their time and
// raise 8F66/8F67 (a device otherwise only advances when addressed).
func (t *simTransport) tickLoop(done <-chan struct{}) {
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	for {
		select {
		case <-done:
			return
		case <-tk.C:
		}
		for i, n := 0, t.fleet.Len(); i < n; i++ {
			if d := t.fleet.At(i); d != nil && d.Pending() > 0 {
				t.log.Debug("tick", "device", d.EUI, "pending", d.Pending())
				d.Tick()
			}
		}
	}
}
