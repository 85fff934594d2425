package sim

import (
	"runtime"
	"testing"
	"time"
)

// BenchmarkCommand: a non-critical read (ECS82 meter balance) through the
// whole device path — parse, MAC check, execution, response MAC.
func BenchmarkCommand(b *testing.B) {
	c := newDCC(b)
	esme := c.f.Add(ESME)
	var raws [][]byte
	for i := 0; i < 1024; i++ {
		m := c.command(esme.EUI, 0x0069, dlmsRequest(c.counter, spec{1, 112, "0-0:19.10.0.255", 2, nil}))
		raw, _ := m.Marshal()
		raws = append(raws, raw)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := esme.Handle(raws[i%len(raws)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commands/s")
}

// BenchmarkCriticalCommand: a signed, replay-protected command (ECS43 arm
// supply): signature verification and a signed response.
func BenchmarkCriticalCommand(b *testing.B) {
	c := newDCC(b)
	esme := c.f.Add(ESME)
	raws := make([][]byte, b.N)
	for i := range raws {
		m := c.command(esme.EUI, 0x0050, dlmsRequest(c.counter, spec{3, 9, "0-0:10.0.106.255", 1, u16(52)}))
		raws[i], _ = m.Marshal()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := esme.Handle(raws[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commands/s")
}

// BenchmarkCreateMillion creates 1,000,000 devices and reports heap bytes
// per device, devices per GiB and the peak heap.
func BenchmarkCreateMillion(b *testing.B) {
	const n = 1_000_000
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		f, err := NewFleet(Options{Seed: 1, Clock: NewManualClock(time.Now())})
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < n; j += 6 {
			f.AddPremises(ESME)
		}
		runtime.ReadMemStats(&m1)
		peak := m1.HeapAlloc
		runtime.GC()
		runtime.ReadMemStats(&m1)
		per := float64(m1.HeapAlloc-m0.HeapAlloc) / float64(f.Len())
		b.ReportMetric(per, "B/device")
		b.ReportMetric(float64(1<<30)/per, "devices/GiB")
		b.ReportMetric(float64(peak-m0.HeapAlloc)/(1<<20), "peakMiB")
		runtime.KeepAlive(f)
	}
}

// BenchmarkFirstUse: the cost of a device's first command (key derivation
// from the seed, state allocation) and the memory a used device holds.
func BenchmarkFirstUse(b *testing.B) {
	c := newDCC(b)
	devs := make([]*Device, b.N)
	raws := make([][]byte, b.N)
	for i := range devs {
		devs[i] = c.f.Add(ESME)
		m := c.command(devs[i].EUI, 0x0069, dlmsRequest(c.counter, spec{1, 112, "0-0:19.10.0.255", 2, nil}))
		raws[i], _ = m.Marshal()
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range devs {
		if _, err := devs[i].Handle(raws[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/float64(b.N), "B/used-device")
	runtime.KeepAlive(devs)
	runtime.KeepAlive(raws)
}

// BenchmarkInstalledPremises: the memory a premises of installed devices
// holds (CHF, GPF, ESME, GSME, PPMID, IHD; installed 40 days before with
// the supplier's tariff: HAN joins, logs, profiles, daily reads,
// snapshots, debt registers), per device.
func BenchmarkInstalledPremises(b *testing.B) {
	f, err := NewFleet(Options{Seed: 1, Clock: NewManualClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	n0 := f.Len()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := f.Add(ESME)
		e.Install(40 * 24 * time.Hour)
		e.InstallTariff()
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	per := float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(f.Len()-n0)
	b.ReportMetric(per, "B/installed-device")
	b.ReportMetric(float64(f.Len()-n0)/float64(b.N), "devices/premises")
	runtime.KeepAlive(f)
}
