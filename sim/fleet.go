package sim

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/smki"
)

// Options configure a Fleet.
type Options struct {
	Seed   uint64     // derives every device key; same seed, same keys
	Clock  Clock      // nil: WallClock
	Issuer CertIssuer // nil: a LocalCA from the seed
	// Directory of remote parties and default anchors (nil: ZAZ1).
	Directory *Directory
	// FirmwareVersion of new devices (default "1.0.0").
	FirmwareVersion string
	// EUIBase is the first device EUI (default 00-DB-12-34-56-00-00-00);
	// devices get consecutive EUIs.
	EUIBase eui.EUI64
	// AlertSink, if set, receives every alert as it is raised (otherwise
	// alerts wait in the device's outbox, see Device.TakeAlerts).
	AlertSink func(d *Device, a Alert)
	// CommsHubDown, if set, reports whether the comms hub serving a device
	// is unreachable (the WAN model plugs in here).
	CommsHubDown func(chf eui.EUI64) bool
}

// Fleet is a population of simulated devices. Devices are stored by value
// in one slice; a device costs its struct until it is used.
type Fleet struct {
	seed            uint64
	clock           Clock
	issuer          CertIssuer
	dir             *Directory
	firmwareVersion string
	sink            func(*Device, Alert)
	hubDown         func(eui.EUI64) bool

	mu      sync.RWMutex
	chunks  [][]Device // chunks of chunkSize: pointers stay valid as the fleet grows
	n       int
	index   map[eui.EUI64]int32
	next    uint64
	hubOf   map[int32]int32 // device → its CHF (premises)
	keyring *gbcs.Keyring
}

const chunkSize = 1 << 14

// NewFleet creates an empty fleet.
func NewFleet(o Options) (*Fleet, error) {
	f := &Fleet{seed: o.Seed, clock: o.Clock, issuer: o.Issuer, dir: o.Directory, firmwareVersion: o.FirmwareVersion,
		sink: o.AlertSink, hubDown: o.CommsHubDown, index: map[eui.EUI64]int32{}, hubOf: map[int32]int32{}}
	if f.clock == nil {
		f.clock = WallClock{}
	}
	if f.dir == nil {
		d, err := NewZAZ1Directory()
		if err != nil {
			return nil, err
		}
		f.dir = d
	}
	if f.issuer == nil {
		ca, err := NewLocalCA(o.Seed)
		if err != nil {
			return nil, err
		}
		f.issuer = ca
	}
	if f.firmwareVersion == "" {
		f.firmwareVersion = "1.0.0"
	}
	base := o.EUIBase
	if base == (eui.EUI64{}) {
		base = eui.EUI64{0x00, 0xDB, 0x12, 0x34, 0x56, 0, 0, 0}
	}
	f.next = binary.BigEndian.Uint64(base[:])
	return f, nil
}

// Clock returns the fleet's clock.
func (f *Fleet) Clock() Clock { return f.clock }

// Directory returns the remote-party directory.
func (f *Fleet) Directory() *Directory { return f.dir }

// Seed returns the key seed.
func (f *Fleet) Seed() uint64 { return f.seed }

// Len is the number of devices.
func (f *Fleet) Len() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.n
}

// Add creates a device of type t with the next EUI.
func (f *Fleet) Add(t Type) *Device {
	f.mu.Lock()
	defer f.mu.Unlock()
	var id eui.EUI64
	for {
		binary.BigEndian.PutUint64(id[:], f.next)
		f.next++
		if _, dup := f.index[id]; !dup {
			break
		}
	}
	return f.addLocked(id, t)
}

// AddWithEUI creates a device with a given EUI (an error if taken).
func (f *Fleet) AddWithEUI(id eui.EUI64, t Type) (*Device, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.index[id]; dup {
		return nil, fmt.Errorf("sim: EUI %s already in the fleet", id)
	}
	return f.addLocked(id, t), nil
}

func (f *Fleet) addLocked(id eui.EUI64, t Type) *Device {
	if f.n%chunkSize == 0 {
		f.chunks = append(f.chunks, make([]Device, chunkSize))
	}
	d := &f.chunks[f.n/chunkSize][f.n%chunkSize]
	d.EUI, d.Type, d.fleet = id, t, f
	f.index[id] = int32(f.n)
	f.n++
	return d
}

// AddPremises creates the devices of one home: a CHF with a GPF, an ESME
// of type esme, a GSME, a PPMID and an IHD, all joined on the CHF's HAN.
func (f *Fleet) AddPremises(esme Type) []*Device {
	chf := f.Add(CHF)
	ds := []*Device{chf, f.Add(GPF), f.Add(esme), f.Add(GSME), f.Add(PPMID), f.Add(IHD)}
	f.mu.Lock()
	hub := f.index[chf.EUI]
	for _, d := range ds[1:] {
		f.hubOf[f.index[d.EUI]] = hub
	}
	f.mu.Unlock()
	return ds
}

// Attach records that d is served by the comms hub chf.
func (f *Fleet) Attach(d, chf *Device) {
	f.mu.Lock()
	f.hubOf[f.index[d.EUI]] = f.index[chf.EUI]
	f.mu.Unlock()
}

// Device finds a device by EUI.
func (f *Fleet) Device(id eui.EUI64) (*Device, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	i, ok := f.index[id]
	if !ok {
		return nil, false
	}
	return &f.chunks[i/chunkSize][i%chunkSize], true
}

// At returns the i-th device.
func (f *Fleet) At(i int) *Device {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return &f.chunks[i/chunkSize][i%chunkSize]
}

// Hub returns the CHF serving d, if any.
func (f *Fleet) Hub(d *Device) (*Device, bool) {
	f.mu.RLock()
	i, ok := f.hubOf[f.index[d.EUI]]
	f.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return f.At(int(i)), true
}

func (f *Fleet) chfDown(d *Device) bool {
	if f.hubDown == nil {
		return false
	}
	id := d.EUI
	if d.Type != CHF {
		h, ok := f.Hub(d)
		if !ok {
			return false
		}
		id = h.EUI
	}
	return f.hubDown(id)
}

// Deliver routes a command to the device it is addressed to.
func (f *Fleet) Deliver(raw []byte) ([]byte, error) {
	m, err := gbcs.Parse(raw)
	if err != nil {
		return nil, reject(RejectMalformed, err)
	}
	d, ok := f.Device(m.Recipient)
	if !ok {
		return nil, reject(RejectNotAddressed, fmt.Errorf("no device %s", m.Recipient))
	}
	return d.HandleMessage(m)
}

// KeyStore is the DCC's view of the fleet: the device certificates
// (issued on demand, no device private keys) plus the directory's
// remote-party certificates and keys. It implements
// gbcs.KeyStore.
func (f *Fleet) KeyStore() gbcs.KeyStore {
	return gbcs.MultiKeyStore{fleetKeys{f}, f.dir.Keyring}
}

type fleetKeys struct{ f *Fleet }

func (k fleetKeys) Certificates(id eui.EUI64, u gbcs.Usage) []*smki.Certificate {
	d, ok := k.f.Device(id)
	if !ok || u == gbcs.UsagePrepayment {
		return nil
	}
	c, err := d.Certificate(u)
	if err != nil {
		return nil
	}
	return []*smki.Certificate{c}
}

// PrivateKeys gives nothing: the DCC never holds device private keys.
func (k fleetKeys) PrivateKeys(eui.EUI64, gbcs.Usage) []gbcs.PrivateKey { return nil }
