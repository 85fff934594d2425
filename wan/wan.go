// Package wan models the smart-metering WAN between the DCC and the
// communications hubs: the three Communications Service Provider regions
// (North, Central, South), per-region latency and loss, comms-hub
// registration and reachability, outages, and the WAN coverage lookup by
// postcode or UPRN that the DCC's WAN matrix service (DUIS 12.1) answers.
//
// Everything random or time-dependent is injected (Rand, Clock), so tests
// are deterministic.
package wan

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/opendcc/opendcc/eui"
)

// Region is a CSP region.
type Region uint8

// CSP regions.
const (
	North Region = iota + 1
	Central
	South
)

func (r Region) String() string {
	switch r {
	case North:
		return "North"
	case Central:
		return "Central"
	case South:
		return "South"
	}
	return fmt.Sprintf("Region(%d)", r)
}

// ParseRegion reads a region name.
func ParseRegion(s string) (Region, error) {
	switch strings.ToLower(s) {
	case "north":
		return North, nil
	case "central":
		return Central, nil
	case "south":
		return South, nil
	}
	return 0, fmt.Errorf("wan: unknown region %q", s)
}

// Link is the behaviour of a region's network.
type Link struct {
	Latency time.Duration // one-way base latency
	Jitter  time.Duration // uniform extra 0..Jitter
	Loss    float64       // probability a message is lost (0..1)
}

// Coverage is the WAN matrix answer for a location (DUIS 12.1).
type Coverage struct {
	Region Region
	// Covered reports whether a comms hub installed there would reach the
	// WAN; Variant names the CH variant the CSP recommends ("SM WAN",
	// "Dual Band", "Mesh", …), AntennaNeeded an external antenna.
	Covered       bool
	Variant       string
	AntennaNeeded bool
}

// Errors of Send.
var (
	ErrUnknownHub  = errors.New("wan: communications hub not registered")
	ErrUnreachable = errors.New("wan: communications hub unreachable")
	ErrLost        = errors.New("wan: message lost")
	ErrOutage      = errors.New("wan: regional outage")
)

// Clock gives the time (for outages with an end).
type Clock interface{ Now() time.Time }

type hub struct {
	region      Region
	unreachable bool
}

// Network is the WAN. It is safe for concurrent use.
type Network struct {
	mu       sync.Mutex
	links    map[Region]Link
	outages  map[Region]time.Time // region → end of outage (zero: open-ended)
	hubs     map[eui.EUI64]*hub
	postcode map[string]Coverage // normalised postcode (or outward code) → coverage
	uprn     map[uint64]Coverage
	rnd      *rand.Rand
	clock    Clock
	// Default coverage when a location is not in the tables.
	Default Coverage
}

// Options configure a Network.
type Options struct {
	Links map[Region]Link // nil: DefaultLinks
	Rand  *rand.Rand      // nil: a fixed seed
	Clock Clock           // nil: time.Now
}

// DefaultLinks are plausible figures: cellular in Central and South,
// long-range radio in the North.
func DefaultLinks() map[Region]Link {
	return map[Region]Link{
		North:   {Latency: 900 * time.Millisecond, Jitter: 600 * time.Millisecond, Loss: 0.005},
		Central: {Latency: 400 * time.Millisecond, Jitter: 300 * time.Millisecond, Loss: 0.002},
		South:   {Latency: 400 * time.Millisecond, Jitter: 300 * time.Millisecond, Loss: 0.002},
	}
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// New returns a network.
func New(o Options) *Network {
	n := &Network{links: o.Links, outages: map[Region]time.Time{}, hubs: map[eui.EUI64]*hub{},
		postcode: map[string]Coverage{}, uprn: map[uint64]Coverage{}, rnd: o.Rand, clock: o.Clock}
	if n.links == nil {
		n.links = DefaultLinks()
	}
	if n.rnd == nil {
		n.rnd = rand.New(rand.NewPCG(1, 2))
	}
	if n.clock == nil {
		n.clock = wallClock{}
	}
	return n
}

// SetLink changes a region's latency and loss.
func (n *Network) SetLink(r Region, l Link) {
	n.mu.Lock()
	n.links[r] = l
	n.mu.Unlock()
}

// Register puts a comms hub on the WAN in a region.
func (n *Network) Register(chf eui.EUI64, r Region) {
	n.mu.Lock()
	n.hubs[chf] = &hub{region: r}
	n.mu.Unlock()
}

// Deregister removes a comms hub (decommissioned).
func (n *Network) Deregister(chf eui.EUI64) {
	n.mu.Lock()
	delete(n.hubs, chf)
	n.mu.Unlock()
}

// RegionOf returns a hub's region.
func (n *Network) RegionOf(chf eui.EUI64) (Region, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h, ok := n.hubs[chf]
	if !ok {
		return 0, false
	}
	return h.region, true
}

// SetReachable marks one hub reachable or not (lost signal, no power).
func (n *Network) SetReachable(chf eui.EUI64, ok bool) {
	n.mu.Lock()
	if h := n.hubs[chf]; h != nil {
		h.unreachable = !ok
	}
	n.mu.Unlock()
}

// Outage takes a region down until end (zero: until EndOutage).
func (n *Network) Outage(r Region, end time.Time) {
	n.mu.Lock()
	n.outages[r] = end
	n.mu.Unlock()
}

// EndOutage restores a region.
func (n *Network) EndOutage(r Region) {
	n.mu.Lock()
	delete(n.outages, r)
	n.mu.Unlock()
}

func (n *Network) inOutage(r Region) bool {
	end, ok := n.outages[r]
	if !ok {
		return false
	}
	if !end.IsZero() && !n.clock.Now().Before(end) {
		delete(n.outages, r)
		return false
	}
	return true
}

// Down reports whether a hub cannot be reached now (unknown, marked
// unreachable, or its region in outage). It fits sim.Options.CommsHubDown.
func (n *Network) Down(chf eui.EUI64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	h, ok := n.hubs[chf]
	return !ok || h.unreachable || n.inOutage(h.region)
}

// Send decides the fate of one message to or from a hub: its one-way
// delay, or an error when the hub is unknown, unreachable, in an outage, or
// the message is lost.
func (n *Network) Send(chf eui.EUI64) (time.Duration, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h, ok := n.hubs[chf]
	if !ok {
		return 0, ErrUnknownHub
	}
	if h.unreachable {
		return 0, ErrUnreachable
	}
	if n.inOutage(h.region) {
		return 0, ErrOutage
	}
	l := n.links[h.region]
	if l.Loss > 0 && n.rnd.Float64() < l.Loss {
		return 0, ErrLost
	}
	d := l.Latency
	if l.Jitter > 0 {
		d += time.Duration(n.rnd.Int64N(int64(l.Jitter)))
	}
	return d, nil
}

// NormalisePostcode upper-cases and removes spaces.
func NormalisePostcode(p string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(p), " ", ""))
}

// SetPostcodeCoverage records coverage for a full postcode, a postcode
// sector ("IV27 4") or an outward code ("EH1", "SW1A").
func (n *Network) SetPostcodeCoverage(postcode string, c Coverage) {
	n.mu.Lock()
	n.postcode[NormalisePostcode(postcode)] = c
	n.mu.Unlock()
}

// SetUPRNCoverage records coverage for a UPRN.
func (n *Network) SetUPRNCoverage(uprn uint64, c Coverage) {
	n.mu.Lock()
	n.uprn[uprn] = c
	n.mu.Unlock()
}

// CoverageByUPRN answers the WAN matrix for a UPRN.
func (n *Network) CoverageByUPRN(uprn uint64) (Coverage, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.uprn[uprn]
	return c, ok
}

// CoverageByPostcode answers the WAN matrix for a postcode: the full
// postcode's entry, else its outward code's, else the region the postcode
// area belongs to with the Default answer.
func (n *Network) CoverageByPostcode(postcode string) (Coverage, error) {
	p := NormalisePostcode(postcode)
	if len(p) < 5 || len(p) > 7 {
		return Coverage{}, fmt.Errorf("wan: malformed postcode %q", postcode)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.postcode[p]; ok {
		return c, nil
	}
	for _, prefix := range []string{p[:len(p)-2], p[:len(p)-3]} { // sector, outward code
		if c, ok := n.postcode[prefix]; ok {
			return c, nil
		}
	}
	c := n.Default
	c.Region = RegionOfPostcode(p)
	return c, nil
}

// northAreas and southAreas are the postcode areas of the North region
// (Scotland and the north of England) and of the South region (southern
// England and south Wales); the rest is Central. The CSP boundaries follow
// the regions the DCC published; this is an approximation at area level.
var (
	northAreas = areaSet("AB DD DG EH FK G HS IV KA KW KY ML PA PH TD ZE CA NE SR DH DL TS LA BD HG HX LS YO HU DN WF HD BB BL PR FY L WN M OL SK CH CW WA")
	southAreas = areaSet("BH BN BS CT DT EX GU KT ME PL PO RH SL SO SP TA TN TQ TR BA CR BR DA E EC N NW SE SW W WC EN HA IG RM SM TW UB CF NP SA")
)

func areaSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, a := range strings.Fields(s) {
		m[a] = true
	}
	return m
}

// RegionOfPostcode returns the CSP region of a postcode by its area (the
// leading letters).
func RegionOfPostcode(p string) Region {
	p = NormalisePostcode(p)
	i := 0
	for i < len(p) && i < 2 && p[i] >= 'A' && p[i] <= 'Z' {
		i++
	}
	area := p[:i]
	switch {
	case northAreas[area]:
		return North
	case southAreas[area]:
		return South
	}
	return Central
}
