package sim

import (
	"encoding/binary"
	"time"
)

// EventClockAdjusted is the event log entry of a clock adjustment within
// tolerance: a meter synchronises its clock with its comms hub (the GSME
// with the GPF) once a day, at a time of its own, and logs the adjustment.
// Provisional code: GBCS Table 16 is not among the project's sources (see
// alerts.go). It is logged, not alerted.
const EventClockAdjusted uint16 = 0x8F18

// mix64 is the SplitMix64 finaliser: a deterministic hash of x.
func mix64(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x ^ x>>31
}

// deviceHash is the device's seed for its behaviour (fleet seed and EUI).
func (d *Device) deviceHash() uint64 {
	var b [8]byte
	copy(b[:], d.EUI[:])
	return binary.BigEndian.Uint64(b[:]) ^ d.fleet.seed
}

// clockSyncAt is the time of day's clock synchronisation: a time of the
// day derived from the fleet seed, the EUI and the day (deterministic).
func (d *Device) clockSyncAt(day time.Time) time.Time {
	n := uint64(day.Unix() / 86400)
	return day.Add(time.Duration(mix64(d.deviceHash()^n*0x100000001B3)%86400) * time.Second)
}

// ongoingEvents logs the events of a meter in service in (t, next]: the
// daily clock synchronisation with the hub. Steps are at most a
// half-hour, so at most one day boundary lies in between.
func (d *Device) ongoingEvents(t, next time.Time) {
	for day := t.Truncate(24 * time.Hour); !day.After(next); day = day.Add(24 * time.Hour) {
		if at := d.clockSyncAt(day); t.Before(at) && !next.Before(at) {
			d.st.logEvent(at, EventClockAdjusted, nil)
		}
	}
}
