package sim

import (
	"time"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// ZSE sample ids of a GSME's Get Sampled Data (annex GCS17, GCS61, GCS31 /
// GCS18; the RTDS GCS17 and GCS61 commands): 0 the half-hourly profile data
// log, 1 the daily consumption log, 2 the Network Data Log that Start
// Sampling (GCS31 Start Network Data Log) starts.
const (
	sampleProfile        = 0
	sampleDailyConsumed  = 1
	sampleNetworkDataLog = 2
	sampleNotStarted     = 0xFFFF
	sampleIntervalDaily  = 0xFFFF // the daily consumption log's interval (RTDS GCS61)
)

// netDataLog is the Network Data Log session: consumption sampled every
// interval from the start, at most max samples.
type netDataLog struct {
	start    time.Time
	interval time.Duration
	max      int
}

// startNetworkDataLog executes Start Sampling: a session of the sample
// interval and maximum number of samples asked, from the start time (0:
// now), replacing any previous one; 0xFFFF when it cannot be started (no
// interval or samples).
func (x *exec) startNetworkDataLog(pl *tree.Node, now time.Time) uint16 {
	iv := childUint(pl, "sample-request-interval")
	mx := childUint(pl, "max-number-of-samples")
	if iv == 0 || mx == 0 {
		return sampleNotStarted
	}
	x.st.netLog = &netDataLog{zclTime(childUint(pl, "start-sampling-time"), now), time.Duration(iv) * time.Second, int(mx)}
	return sampleNetworkDataLog
}

// sampledData answers Get Sampled Data: the samples of the log the sample
// id names from the first sample at or after the earliest sample time, at
// most the number asked. NOT_FOUND for an unknown or not started log, an
// earliest time older than the log holds, or no sample after it.
func (x *exec) sampledData(cid byte, pl *tree.Node, now time.Time) (byte, byte, *tree.Node) {
	id := childUint(pl, "sample-id")
	n := int(childUint(pl, "number-of-samples"))
	earliest := childUint(pl, "earliest-sample-time")
	var start uint64
	var interval uint64
	var samples []uint64
	switch id {
	case sampleProfile, sampleDailyConsumed:
		l, iv := x.st.profile, uint64(1800)
		if id == sampleDailyConsumed {
			l, iv = x.st.daily, sampleIntervalDaily
		}
		if len(l) < 2 || earliest < uint64(l[0].at) {
			return defaultResponse(cid, zclNotFound)
		}
		i := 0
		for i < len(l)-1 && uint64(l[i].at) < earliest {
			i++
		}
		start, interval = uint64(l[i].at), iv
		for ; i < len(l)-1 && len(samples) < n; i++ {
			samples = append(samples, uint64(l[i+1].value-l[i].value)&0xFFFFFF)
		}
	case sampleNetworkDataLog:
		s := x.st.netLog
		if s == nil {
			return defaultResponse(cid, zclNotFound)
		}
		// the samples taken so far: consumption in each interval at the
		// meter's rate while the supply is on (a deterministic ±50 %
		// variation per sample)
		taken := min(int(now.Sub(s.start)/s.interval), s.max)
		m := &x.st.meter
		h := x.d.deviceHash()
		for k := 0; k < taken && len(samples) < n; k++ {
			t := s.start.Add(time.Duration(k) * s.interval)
			if zclUTC(t) < earliest {
				continue
			}
			if len(samples) == 0 {
				start = zclUTC(t)
			}
			v := uint64(0)
			if m.supply == SupplyEnabled {
				base := uint64(m.rateWh) * uint64(s.interval/time.Second) / 3600
				v = base/2 + mix64(h^uint64(t.Unix()))%(base+1)
			}
			samples = append(samples, v&0xFFFFFF)
		}
		interval = uint64(s.interval / time.Second)
	default:
		return defaultResponse(cid, zclNotFound)
	}
	if len(samples) == 0 {
		return defaultResponse(cid, zclNotFound)
	}
	ents := named("samples", "entries", nil)
	for _, v := range samples {
		ents.Add(nd("entry", nil, named("sample", "uint24", v)))
	}
	return 0x19, 0x07, named("payload", "zcl-payload", nil,
		named("sample-id", "uint16", id), named("sample-start-time", "UTC", start),
		named("sample-type", "enum8", uint64(0)), named("sample-request-interval", "uint16", interval),
		named("number-of-samples", "uint16", uint64(len(samples))), ents)
}

// StartNetworkDataLog starts a Network Data Log session on a gas meter as
// a GCS31 Start Sampling command would (for set-ups: a device a network
// operator has been investigating).
func (d *Device) StartNetworkDataLog(start time.Time, interval time.Duration, max int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.state().netLog = &netDataLog{start, interval, max}
}
