package wan

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func TestNetwork(t *testing.T) {
	c := &clock{time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	n := New(Options{Rand: rand.New(rand.NewPCG(3, 4)), Clock: c,
		Links: map[Region]Link{North: {Latency: time.Second, Loss: 0.5}, South: {Latency: 100 * time.Millisecond, Jitter: 50 * time.Millisecond}}})
	a, b := eui.MustParse("00-DB-12-34-56-00-00-01"), eui.MustParse("00-DB-12-34-56-00-00-02")
	if _, err := n.Send(a); !errors.Is(err, ErrUnknownHub) {
		t.Fatal(err)
	}
	n.Register(a, North)
	n.Register(b, South)
	lost := 0
	for i := 0; i < 1000; i++ {
		d, err := n.Send(a)
		if errors.Is(err, ErrLost) {
			lost++
		} else if err != nil || d != time.Second {
			t.Fatal(d, err)
		}
	}
	if lost < 400 || lost > 600 {
		t.Fatalf("lost %d of 1000 at 50%%", lost)
	}
	d, err := n.Send(b)
	if err != nil || d < 100*time.Millisecond || d >= 150*time.Millisecond {
		t.Fatal(d, err)
	}
	n.Outage(South, c.t.Add(time.Hour))
	if _, err := n.Send(b); !errors.Is(err, ErrOutage) || !n.Down(b) {
		t.Fatal(err)
	}
	c.t = c.t.Add(2 * time.Hour)
	if _, err := n.Send(b); err != nil || n.Down(b) {
		t.Fatal("outage did not end", err)
	}
	n.SetReachable(b, false)
	if _, err := n.Send(b); !errors.Is(err, ErrUnreachable) {
		t.Fatal(err)
	}
}

func TestCoverage(t *testing.T) {
	n := New(Options{})
	n.Default = Coverage{Covered: true, Variant: "SM WAN"}
	n.SetPostcodeCoverage("IV27 4", Coverage{Region: North, Covered: false, Variant: "none"})
	n.SetPostcodeCoverage("IV27 4PQ", Coverage{Region: North, Covered: true, Variant: "Dual Band", AntennaNeeded: true})
	n.SetUPRNCoverage(100023336956, Coverage{Region: South, Covered: true, Variant: "SM WAN"})
	for _, c := range []struct {
		pc      string
		region  Region
		covered bool
	}{{"iv27 4pq", North, true}, {"IV27 4ZZ", North, false}, {"EH1 1AA", North, true}, {"SW1A 1AA", South, true}, {"B1 1AA", Central, true}} {
		got, err := n.CoverageByPostcode(c.pc)
		if err != nil || got.Region != c.region || got.Covered != c.covered {
			t.Errorf("%s: %+v %v", c.pc, got, err)
		}
	}
	if _, err := n.CoverageByPostcode("X"); err == nil {
		t.Error("malformed postcode accepted")
	}
	if c, ok := n.CoverageByUPRN(100023336956); !ok || c.Region != South {
		t.Error(c, ok)
	}
}
