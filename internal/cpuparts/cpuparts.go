// Package cpuparts splits a process's CPU profile into the parts of a
// benchmark that share the process.
//
// `opendcc bench e2e` runs the load generator, the Receive Response Service
// and the simulated devices in the same process as the DCC, so the
// process's CPU is more than the DCC's. Their goroutines carry the pprof
// label Label (the client's from their start; the devices' around each
// command a simulated device handles, in server's simTransport), and the
// benchmark reads the window's CPU profile to split the process's CPU into
// the three parts. The crypto floor (one verify, two signs per request) is
// the DCC's work, so the DCC's part is what it is compared with; the
// whole-process figure is reported beside it.
package cpuparts

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime/pprof"
)

const (
	Label   = "opendcc.part"
	Client  = "client"  // load generator and Receive Response Service
	Devices = "devices" // simulated devices (sim.Fleet)
)

// Run runs f with the label Label=part on this goroutine; goroutines f
// starts (HTTP connections' read and write loops, a server's connection
// handlers) inherit it. The label is removed when f returns.
func Run(part string, f func()) {
	pprof.Do(context.Background(), pprof.Labels(Label, part), func(context.Context) { f() })
}

// Shares returns the share of the profile's CPU time in each value of
// Label ("" for unlabelled samples). profile is what
// pprof.StartCPUProfile wrote (gzipped profile.proto).
func Shares(profile []byte) (map[string]float64, error) {
	zr, err := gzip.NewReader(bytes.NewReader(profile))
	if err != nil {
		return nil, fmt.Errorf("cpuparts: CPU profile: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("cpuparts: CPU profile: %w", err)
	}
	type sample struct {
		values []int64
		labels [][2]int64 // (key, str) string-table indexes
	}
	var samples []sample
	var strs []string
	err = protoFields(raw, func(field int, v uint64, b []byte) error {
		switch field {
		case 2: // Sample
			var s sample
			err := protoFields(b, func(f int, v uint64, b []byte) error {
				switch f {
				case 2: // value: packed or not
					if b == nil {
						s.values = append(s.values, int64(v))
						return nil
					}
					for len(b) > 0 {
						x, n := binary.Uvarint(b)
						if n <= 0 {
							return errors.New("bad packed value")
						}
						s.values = append(s.values, int64(x))
						b = b[n:]
					}
				case 3: // Label
					var kv [2]int64
					err := protoFields(b, func(f int, v uint64, _ []byte) error {
						if f == 1 || f == 2 {
							kv[f-1] = int64(v)
						}
						return nil
					})
					if err != nil {
						return err
					}
					s.labels = append(s.labels, kv)
				}
				return nil
			})
			if err != nil {
				return err
			}
			samples = append(samples, s)
		case 6: // string_table
			strs = append(strs, string(b))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cpuparts: CPU profile: %w", err)
	}
	str := func(i int64) string {
		if i >= 0 && i < int64(len(strs)) {
			return strs[i]
		}
		return ""
	}
	out := map[string]float64{}
	var total float64
	for _, s := range samples {
		if len(s.values) == 0 {
			continue
		}
		v := float64(s.values[len(s.values)-1]) // CPU nanoseconds (the last sample type)
		part := ""
		for _, kv := range s.labels {
			if str(kv[0]) == Label {
				part = str(kv[1])
			}
		}
		out[part] += v
		total += v
	}
	if total == 0 {
		return nil, errors.New("cpuparts: the CPU profile has no samples")
	}
	for k := range out {
		out[k] /= total
	}
	return out, nil
}

// protoFields calls f for each field of a protobuf message: varints with
// v, length-delimited fields with b (fixed-width fields are skipped).
func protoFields(m []byte, f func(field int, v uint64, b []byte) error) error {
	for len(m) > 0 {
		key, n := binary.Uvarint(m)
		if n <= 0 {
			return errors.New("bad field key")
		}
		m = m[n:]
		field, wire := int(key>>3), key&7
		switch wire {
		case 0:
			v, n := binary.Uvarint(m)
			if n <= 0 {
				return errors.New("bad varint")
			}
			m = m[n:]
			if err := f(field, v, nil); err != nil {
				return err
			}
		case 1:
			if len(m) < 8 {
				return errors.New("truncated fixed64")
			}
			m = m[8:]
		case 2:
			l, n := binary.Uvarint(m)
			if n <= 0 || l > uint64(len(m)-n) {
				return errors.New("bad length")
			}
			b := m[n : n+int(l)]
			m = m[n+int(l):]
			if b == nil {
				b = []byte{}
			}
			if err := f(field, 0, b); err != nil {
				return err
			}
		case 5:
			if len(m) < 4 {
				return errors.New("truncated fixed32")
			}
			m = m[4:]
		default:
			return fmt.Errorf("wire type %d", wire)
		}
	}
	return nil
}
