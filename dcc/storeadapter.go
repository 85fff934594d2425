package dcc

import (
	"context"
	"errors"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

// CounterSpace is the store.Counters space of the DUIS RequestID counters.
const CounterSpace = "duis"

// StoreDirectory implements Directory and Counters over the storage layer.
// Ctx, when set, is the context of every store call (default Background).
type StoreDirectory struct {
	Repos store.Repos
	Ctx   context.Context

	// devs memoises inventory reads: one request's checks and command
	// read the target (and its meter) several times in one transaction.
	devs map[eui.EUI64]store.Device
}

// device reads an inventory entry once per StoreDirectory.
func (s *StoreDirectory) device(id eui.EUI64) (store.Device, error) {
	if d, ok := s.devs[id]; ok {
		return d, nil
	}
	d, err := s.Repos.Inventory().GetDevice(s.ctx(), id)
	if err != nil {
		return d, err
	}
	if s.devs == nil {
		s.devs = map[eui.EUI64]store.Device{}
	}
	s.devs[id] = d
	return d, nil
}

var (
	_ Directory = (*StoreDirectory)(nil)
	_ Counters  = (*StoreDirectory)(nil)
)

func (s *StoreDirectory) ctx() context.Context {
	if s.Ctx != nil {
		return s.Ctx
	}
	return context.Background()
}

// User returns the DCC User from the user registry.
func (s *StoreDirectory) User(id eui.EUI64) (User, bool, error) {
	u, err := s.Repos.Users().GetUser(s.ctx(), id)
	if errors.Is(err, store.ErrNotFound) {
		return User{}, false, nil
	}
	if err != nil {
		return User{}, false, err
	}
	out := User{ID: u.ID, Status: UserStatus(u.Status)}
	for _, r := range u.Roles {
		out.Roles = append(out.Roles, duis.Role(r))
	}
	return out, true, nil
}

// Device returns the inventory entry from the Smart Metering Inventory.
func (s *StoreDirectory) Device(id eui.EUI64) (Device, bool, error) {
	d, err := s.device(id)
	if errors.Is(err, store.ErrNotFound) {
		return Device{}, false, nil
	}
	if err != nil {
		return Device{}, false, err
	}
	return Device{ID: d.ID, Type: DeviceType(d.Type), Status: SMIStatus(d.Status)}, true, nil
}

// Eligible reports whether user held role at time at for a metering point
// the device serves (registration data is kept per MPxN). A meter's MPxNs
// are its own (import, secondary import, export); a device without one (a
// type 1 device or CAD, a GPF, a CHF) takes those of the meters it is
// associated with: the meter it is joined to, the GSME that uses the GPF,
// the meters on the CHF. A device with no MPxN at all is eligible to nobody.
func (s *StoreDirectory) Eligible(user eui.EUI64, role duis.Role, device eui.EUI64, at time.Time) (bool, error) {
	mpxns, err := s.mpxns(device)
	if err != nil {
		return false, err
	}
	for _, m := range mpxns {
		ok, err := s.Repos.Registrations().IsRegistered(s.ctx(), m, store.Role(role), user, at)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func ownMPxNs(d store.Device) []string {
	var out []string
	for _, m := range []string{d.ImportMPxN, d.SecondaryImportMPAN, d.ExportMPAN} {
		if m != "" {
			out = append(out, m)
		}
	}
	return out
}

// mpxns lists the metering points whose registration decides eligibility
// for the device.
func (s *StoreDirectory) mpxns(id eui.EUI64) ([]string, error) {
	inv := s.Repos.Inventory()
	d, err := s.device(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if own := ownMPxNs(d); len(own) > 0 {
		return own, nil
	}
	if !d.Meter.IsZero() {
		m, err := s.device(d.Meter)
		if err == nil {
			return ownMPxNs(m), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	var chf eui.EUI64
	switch d.Type {
	case store.DeviceCHF:
		chf = d.ID
	case store.DeviceGPF:
		chf = d.CHF
	default:
		return nil, nil
	}
	if chf.IsZero() {
		return nil, nil
	}
	ds, err := inv.ListDevices(s.ctx(), store.DeviceFilter{CHF: chf})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, x := range ds {
		if d.Type == store.DeviceGPF && x.GPF != d.ID {
			continue
		}
		out = append(out, ownMPxNs(x)...)
	}
	return out, nil
}

// Accept records the RequestID counter durably, per originator and target
// (space CounterSpace + ":" + target): what a device enforces on its own
// commands, and what lets one User's requests to different devices arrive
// in any order (docs/processing.md).
func (s *StoreDirectory) Accept(originator, target eui.EUI64, counter uint64) (bool, error) {
	return s.Repos.Counters().Accept(s.ctx(), RequestCounterKey(originator, target), counter)
}

// RequestCounterKey is the store key of the anti-replay counter of
// originator's requests to target.
func RequestCounterKey(originator, target eui.EUI64) store.CounterKey {
	return store.CounterKey{Space: CounterSpace + ":" + target.String(), Originator: originator}
}
