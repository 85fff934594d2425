package gbz

import (
	"fmt"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// field is one element of a ZCL command payload layout.
type field struct {
	name string
	typ  string  // ZCL type name, "entries" (sub repeated to the end) or a custom kind
	sub  []field // entries: the fields of one entry
	opt  bool    // optional trailing field: absent when the payload ends before it
}

// command is the layout of a cluster-specific ZCL command.
type command struct {
	name   string
	fields []field
}

type cmdKey struct {
	cluster uint16
	s2c     bool // server-to-client (frame control bit 3)
	id      byte
}

func f(name, typ string) field                { return field{name: name, typ: typ} }
func opt(name, typ string) field              { return field{name: name, typ: typ, opt: true} }
func entries(name string, sub ...field) field { return field{name: name, typ: "entries", sub: sub} }

// Cluster ids of the ZigBee Smart Energy clusters GBCS uses.
const (
	ClusterBasic      = 0x0000
	ClusterPrice      = 0x0700
	ClusterMetering   = 0x0702
	ClusterMessaging  = 0x0703
	ClusterPrepayment = 0x0705
	ClusterCalendar   = 0x0707
	ClusterDeviceMgmt = 0x0708
	ClusterEvents     = 0x0709
)

// clusterCommands: the cluster-specific command payloads laid out in the
// "GBZ Message Templates" of the GBCS use-case annex (field names and types
// as given there). Where the annex says "Refer to ZigBee spec" for a
// variable part, the layout is the one the annex describes in words
// (e.g. "Array of Day Schedule Entries … Start Time (UINT16); Price Tier
// (ENUM8)"); those parts are custom kinds below.
var clusterCommands = map[cmdKey]command{
	// Price
	{ClusterPrice, false, 0x00}: {"Get Current Price", []field{f("command-options", "bitmap8")}},
	{ClusterPrice, false, 0x0b}: {"Get Billing Period", []field{
		f("earliest-start-time", "UTC"), f("min-issuer-event-id", "uint32"), f("number-of-commands", "uint8"), f("tariff-type", "bitmap8")}},
	{ClusterPrice, true, 0x00}: {"Publish Price", []field{
		f("provider-id", "uint32"), f("rate-label", "octstr"), f("issuer-event-id", "uint32"), f("current-time", "UTC"),
		f("unit-of-measure", "enum8"), f("currency", "uint16"), f("price-trailing-digit-and-price-tier", "bitmap8"),
		f("number-of-price-tiers-and-register-tier", "bitmap8"), f("start-time", "UTC"), f("duration-in-minutes", "uint16"),
		f("price", "uint32"),
		// The annex: "the Response may contain an additional 19 octets after this parameter ... should be
		// ignored". They are kept as one raw trailing field, not interpreted.
		opt("ignored-trailing-octets", "tail19")}},
	{ClusterPrice, true, 0x01}: {"Publish Block Period", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("block-period-start-time", "UTC"),
		f("block-period-duration", "uint24"), f("block-period-control", "bitmap8"), f("block-period-duration-type", "bitmap8"),
		f("tariff-type", "bitmap8"), f("tariff-resolution-period", "enum8")}},
	{ClusterPrice, true, 0x02}: {"Publish Conversion Factor", []field{
		f("issuer-event-id", "uint32"), f("start-time", "UTC"), f("conversion-factor", "uint32"), f("conversion-factor-trailing-digit", "bitmap8")}},
	{ClusterPrice, true, 0x03}: {"Publish Calorific Value", []field{
		f("issuer-event-id", "uint32"), f("start-time", "UTC"), f("calorific-value", "uint32"), f("calorific-value-unit", "enum8"),
		f("calorific-value-trailing-digit", "bitmap8")}},
	{ClusterPrice, true, 0x04}: {"Publish Tariff Information", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("issuer-tariff-id", "uint32"), f("start-time", "UTC"),
		f("tariff-type-charging-scheme", "bitmap8"), f("tariff-label", "octstr"), f("number-of-price-tiers-in-use", "uint8"),
		f("number-of-block-thresholds-in-use", "uint8"), f("unit-of-measure", "enum8"), f("currency", "uint16"),
		f("price-trailing-digit", "bitmap8"), f("standing-charge", "uint32"), f("tier-block-mode", "uint8"),
		f("block-threshold-multiplier", "uint24"), f("block-threshold-divisor", "uint24")}},
	{ClusterPrice, true, 0x05}: {"Publish Price Matrix", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("start-time", "UTC"), f("issuer-tariff-id", "uint32"),
		f("command-index", "uint8"), f("total-number-of-commands", "uint8"), f("sub-payload-control", "bitmap8"),
		entries("price-matrix", f("tier-block-id", "uint8"), f("price", "uint32"))}},
	{ClusterPrice, true, 0x06}: {"Publish Block Thresholds", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("start-time", "UTC"), f("issuer-tariff-id", "uint32"),
		f("command-index", "uint8"), f("total-number-of-commands", "uint8"), f("sub-payload-control", "bitmap8"),
		f("block-thresholds", "block-thresholds")}},
	{ClusterPrice, true, 0x09}: {"Publish Billing Period", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("billing-period-start-time", "UTC"),
		f("billing-period-duration", "uint24"), f("billing-period-duration-type", "bitmap8"), f("tariff-type", "bitmap8")}},

	// Metering
	{ClusterMetering, false, 0x06}: {"Get Snapshot", []field{
		f("earliest-start-time", "UTC"), f("latest-end-time", "UTC"), f("snapshot-offset", "uint8"), f("snapshot-cause", "bitmap32")}},
	{ClusterMetering, false, 0x07}: {"Start Sampling", []field{
		f("issuer-event-id", "uint32"), f("start-sampling-time", "UTC"), f("sample-type", "enum8"),
		f("sample-request-interval", "uint16"), f("max-number-of-samples", "uint16")}},
	{ClusterMetering, false, 0x08}: {"Get Sampled Data", []field{
		f("sample-id", "uint16"), f("earliest-sample-time", "UTC"), f("sample-type", "enum8"), f("number-of-samples", "uint16")}},
	{ClusterMetering, false, 0x0b}: {"Change Supply", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("request-date-time", "UTC"),
		f("implementation-date-time", "UTC"), f("proposed-supply-status", "enum8"), f("supply-control-bits", "bitmap8")}},
	{ClusterMetering, false, 0x0d}: {"Set Supply Status", []field{
		f("issuer-event-id", "uint32"), f("supply-tamper-state", "enum8"), f("supply-depletion-state", "enum8"),
		f("supply-uncontrolled-flow-state", "enum8"), f("load-limit-supply-state", "enum8")}},
	{ClusterMetering, false, 0x0e}: {"Set Uncontrolled Flow Threshold", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("uncontrolled-flow-threshold", "uint16"),
		f("unit-of-measure", "enum8"), f("multiplier", "uint16"), f("divisor", "uint16"), f("stabilisation-period", "uint8"),
		f("measurement-period", "uint16")}},
	{ClusterMetering, true, 0x06}: {"Publish Snapshot", []field{
		f("snapshot-id", "uint32"), f("snapshot-time", "UTC"), f("total-snapshots-found", "uint8"), f("command-index", "uint8"),
		f("total-number-of-commands", "uint8"), f("snapshot-cause", "bitmap32"), f("snapshot-payload-type", "enum8"),
		f("snapshot-sub-payload", "metering-snapshot")}},
	{ClusterMetering, true, 0x07}: {"Get Sampled Data Response", []field{
		f("sample-id", "uint16"), f("sample-start-time", "UTC"), f("sample-type", "enum8"), f("sample-request-interval", "uint16"),
		f("number-of-samples", "uint16"), entries("samples", f("sample", "uint24"))}},
	{ClusterMetering, true, 0x0c}: {"Supply Status Response", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("implementation-date-time", "UTC"), f("supply-status", "enum8")}},
	{ClusterMetering, true, 0x0d}: {"Start Sampling Response", []field{f("sample-id", "uint16")}},

	// Messaging
	{ClusterMessaging, true, 0x00}: {"Display Message", []field{
		f("message-id", "uint32"), f("message-control", "bitmap8"), f("start-time", "UTC"), f("duration-in-minutes", "uint16"),
		f("message", "string"), opt("extended-message-control", "bitmap8")}},

	// Prepayment
	{ClusterPrepayment, false, 0x00}: {"Select Available Emergency Credit", []field{
		f("command-issue-date-time", "UTC"), f("originating-device", "enum8")}},
	{ClusterPrepayment, false, 0x02}: {"Change Debt", []field{
		f("issuer-event-id", "uint32"), f("debt-label", "octstr"), f("debt-amount", "int32"), f("debt-recovery-method", "enum8"),
		f("debt-amount-type", "enum8"), f("debt-recovery-start-time", "uint32"), f("debt-recovery-collection-time", "uint16"),
		f("debt-recovery-frequency", "enum8"), f("debt-recovery-amount", "int32"), f("debt-recovery-balance-percentage", "uint16")}},
	{ClusterPrepayment, false, 0x03}: {"Emergency Credit Setup", []field{
		f("issuer-event-id", "uint32"), f("start-time", "UTC"), f("emergency-credit-limit", "uint32"), f("emergency-credit-threshold", "uint32")}},
	{ClusterPrepayment, false, 0x04}: {"Consumer Top Up", []field{f("originating-device", "enum8"), f("top-up-code", "octstr")}},
	{ClusterPrepayment, false, 0x05}: {"Credit Adjustment", []field{
		f("issuer-event-id", "uint32"), f("start-time", "UTC"), f("credit-adjustment-type", "enum8"), f("credit-adjustment-value", "int32")}},
	{ClusterPrepayment, false, 0x06}: {"Change Payment Mode", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("implementation-date-time", "UTC"),
		f("proposed-payment-control-configuration", "bitmap16"), f("cut-off-value", "int32")}},
	{ClusterPrepayment, false, 0x07}: {"Get Prepay Snapshot", []field{
		f("earliest-start-time", "UTC"), f("latest-end-time", "UTC"), f("snapshot-offset", "uint8"), f("snapshot-cause", "bitmap32")}},
	{ClusterPrepayment, false, 0x08}: {"Get Top Up Log", []field{f("latest-end-time", "UTC"), f("number-of-records", "uint8")}},
	{ClusterPrepayment, false, 0x09}: {"Set Low Credit Warning Level", []field{f("low-credit-warning-level", "uint32")}},
	{ClusterPrepayment, false, 0x0a}: {"Get Debt Repayment Log", []field{
		f("latest-end-time", "UTC"), f("number-of-debts", "uint8"), f("debt-type", "enum8")}},
	{ClusterPrepayment, false, 0x0b}: {"Set Maximum Credit Limit", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("implementation-date-time", "UTC"),
		f("maximum-credit-level", "uint32"), f("maximum-credit-per-top-up", "uint32")}},
	{ClusterPrepayment, false, 0x0c}: {"Set Overall Debt Cap", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("implementation-date-time", "UTC"), f("overall-debt-cap", "int32")}},
	{ClusterPrepayment, true, 0x01}: {"Publish Prepay Snapshot", []field{
		f("snapshot-id", "uint32"), f("snapshot-time", "UTC"), f("total-snapshots-found", "uint8"), f("command-index", "uint8"),
		f("total-number-of-commands", "uint8"), f("snapshot-cause", "bitmap32"), f("snapshot-payload-type", "enum8"),
		f("snapshot-payload", "prepay-snapshot")}},
	{ClusterPrepayment, true, 0x02}: {"Change Payment Mode Response", []field{
		f("friendly-credit", "bitmap8"), f("friendly-credit-calendar-id", "uint32"), f("emergency-credit-limit", "uint32"),
		f("emergency-credit-threshold", "uint32")}},
	{ClusterPrepayment, true, 0x03}: {"Consumer Top Up Response", []field{
		f("result-type", "enum8"), f("top-up-value", "int32"), f("source-of-top-up", "enum8"), f("credit-remaining", "int32")}},
	{ClusterPrepayment, true, 0x05}: {"Publish Top Up Log", []field{
		f("command-index", "uint8"), f("total-number-of-commands", "uint8"),
		entries("top-up-payload", f("top-up-code", "octstr"), f("top-up-amount", "int32"), f("top-up-time", "UTC"))}},
	{ClusterPrepayment, true, 0x06}: {"Publish Debt Log", []field{
		f("command-index", "uint8"), f("total-number-of-commands", "uint8"),
		entries("debt-payload", f("collection-time", "UTC"), f("amount-collected", "uint32"), f("debt-type", "enum8"),
			f("outstanding-debt", "uint32"))}},

	// Calendar
	{ClusterCalendar, false, 0x01}: {"Get Day Profiles", []field{
		f("provider-id", "uint32"), f("issuer-calendar-id", "uint32"), f("start-day-id", "uint8"), f("number-of-days", "uint8")}},
	{ClusterCalendar, false, 0x02}: {"Get Week Profiles", []field{
		f("provider-id", "uint32"), f("issuer-calendar-id", "uint32"), f("start-week-id", "uint8"), f("number-of-weeks", "uint8")}},
	{ClusterCalendar, false, 0x03}: {"Get Seasons", []field{f("provider-id", "uint32"), f("issuer-calendar-id", "uint32")}},
	{ClusterCalendar, false, 0x04}: {"Get Special Days", []field{
		f("start-time", "UTC"), f("number-of-events", "uint8"), f("calendar-type", "enum8"), f("provider-id", "uint32"),
		f("issuer-calendar-id", "uint32")}},
	{ClusterCalendar, true, 0x00}: {"Publish Calendar", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("issuer-calendar-id", "uint32"), f("start-time", "UTC"),
		f("calendar-type", "enum8"), f("calendar-time-reference", "uint8"), f("calendar-name", "octstr"),
		f("number-of-seasons", "uint8"), f("number-of-week-profiles", "uint8"), f("number-of-day-profiles", "uint8")}},
	{ClusterCalendar, true, 0x01}: {"Publish Day Profile", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("issuer-calendar-id", "uint32"), f("day-id", "uint8"),
		f("total-number-of-schedule-entries", "uint8"), f("command-index", "uint8"), f("total-number-of-commands", "uint8"),
		f("calendar-type", "enum8"), f("day-schedule-entries", "day-schedule")}},
	{ClusterCalendar, true, 0x02}: {"Publish Week Profile", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("issuer-calendar-id", "uint32"), f("week-id", "uint8"),
		f("day-id-ref-monday", "uint8"), f("day-id-ref-tuesday", "uint8"), f("day-id-ref-wednesday", "uint8"),
		f("day-id-ref-thursday", "uint8"), f("day-id-ref-friday", "uint8"), f("day-id-ref-saturday", "uint8"),
		f("day-id-ref-sunday", "uint8")}},
	{ClusterCalendar, true, 0x03}: {"Publish Seasons", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("issuer-calendar-id", "uint32"), f("command-index", "uint8"),
		f("total-number-of-commands", "uint8"), entries("season-entries", f("season-start-date", "date"), f("week-id-ref", "uint8"))}},
	{ClusterCalendar, true, 0x04}: {"Publish Special Days", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("issuer-calendar-id", "uint32"), f("start-time", "UTC"),
		f("calendar-type", "enum8"), f("total-number-of-special-days", "uint8"), f("command-index", "uint8"),
		f("total-number-of-commands", "uint8"), entries("special-day-entries", f("special-day-date", "date"), f("day-id-ref", "uint8"))}},

	// Device Management (the meter is the client of this cluster)
	{ClusterDeviceMgmt, false, 0x04}: {"Report Event Configuration", []field{
		f("command-index", "uint8"), f("total-commands", "uint8"),
		entries("event-configuration-payload", f("event-id", "uint16"), f("event-configuration", "bitmap8"))}},
	{ClusterDeviceMgmt, true, 0x00}: {"Publish Change of Tenancy", []field{
		f("provider-id", "uint32"), f("issuer-event-id", "uint32"), f("tariff-type", "bitmap8"),
		f("implementation-date-time", "UTC"), f("proposed-tenancy-change-control", "bitmap32")}},
	{ClusterDeviceMgmt, true, 0x01}: {"Publish Change of Supplier", []field{
		f("current-provider-id", "uint32"), f("issuer-event-id", "uint32"), f("tariff-type", "bitmap8"),
		f("proposed-provider-id", "uint32"), f("provider-change-implementation-time", "UTC"),
		f("provider-change-control", "bitmap32"), f("proposed-provider-name", "octstr"),
		f("proposed-provider-contact-details", "octstr")}},
	{ClusterDeviceMgmt, true, 0x02}: {"Request New Password Response", []field{
		f("issuer-event-id", "uint32"), f("implementation-date-time", "UTC"), f("duration-in-minutes", "uint16"),
		f("password-type", "enum8"), f("password", "octstr")}},
	{ClusterDeviceMgmt, true, 0x03}: {"Update SiteID", []field{
		f("issuer-event-id", "uint32"), f("site-id-time", "UTC"), f("provider-id", "uint32"), f("site-id", "octstr")}},
	{ClusterDeviceMgmt, true, 0x04}: {"Set Event Configuration", []field{
		f("issuer-event-id", "uint32"), f("start-date-time", "UTC"), f("event-configuration", "bitmap8"),
		f("configuration-control", "enum8"), f("event-configuration-payload", "event-config")}},
	{ClusterDeviceMgmt, true, 0x05}: {"Get Event Configuration", []field{f("event-id", "uint16")}},
	{ClusterDeviceMgmt, true, 0x06}: {"Update CIN", []field{
		f("issuer-event-id", "uint32"), f("cin-time", "UTC"), f("provider-id", "uint32"), f("customer-id-number", "octstr")}},

	// Events
	{ClusterEvents, false, 0x00}: {"Get Event Log", []field{
		f("event-control-log-id", "bitmap8"), f("event-id", "uint16"), f("start-time", "UTC"), f("end-time", "UTC"),
		f("number-of-events", "uint8"), f("event-offset", "uint16")}},
	{ClusterEvents, false, 0x01}: {"Clear Event Log Request", []field{f("log-id", "uint8")}},
	{ClusterEvents, true, 0x01}: {"Publish Event Log", []field{
		f("total-number-of-events", "uint16"), f("command-index", "uint8"), f("total-commands", "uint8"),
		f("log-payload", "event-log")}},
	{ClusterEvents, true, 0x02}: {"Clear Event Log Response", []field{f("cleared-events-logs", "bitmap8")}},
}

// customKinds decode the variable parts the annex describes in words. Each
// reads to the end of the payload and may look at the fields before it.
var customKinds map[string]func(d *decoder, r *tree.Reader, name string, prev *tree.Node) (*tree.Node, error)

func init() {
	customKinds = map[string]func(d *decoder, r *tree.Reader, name string, prev *tree.Node) (*tree.Node, error){
		"tail19":            decodeTail19,
		"block-thresholds":  decodeBlockThresholds,
		"metering-snapshot": decodeMeteringSnapshot,
		"prepay-snapshot":   decodePrepaySnapshot,
		"day-schedule":      decodeDaySchedule,
		"event-config":      decodeEventConfig,
		"event-log":         decodeEventLog,
	}
}

// decodeFields reads a field list into parent.
func (d *decoder) decodeFields(r *tree.Reader, parent *tree.Node, fields []field) error {
	for _, fl := range fields {
		if fl.opt && r.Done() {
			return nil
		}
		c, err := d.decodeField(r, fl, parent)
		if err != nil {
			return err
		}
		parent.Add(c)
	}
	return nil
}

func (d *decoder) decodeField(r *tree.Reader, fl field, parent *tree.Node) (*tree.Node, error) {
	if t, ok := zclByName[fl.typ]; ok {
		return decodeZCL(r, fl.name, t)
	}
	if fl.typ == "entries" {
		return d.decodeEntries(r, fl.name, fl.sub)
	}
	if fn, ok := customKinds[fl.typ]; ok {
		return fn(d, r, fl.name, parent)
	}
	return nil, r.Errorf("internal: unknown field kind %q", fl.typ)
}

// decodeEntries repeats sub until the payload ends.
func (d *decoder) decodeEntries(r *tree.Reader, name string, sub []field) (*tree.Node, error) {
	n, err := r.Node(name, "entries", r.Pos())
	if err != nil {
		return nil, err
	}
	if err := r.Enter(); err != nil {
		return nil, err
	}
	defer r.Leave()
	for !r.Done() {
		before := r.Len()
		e, err := r.Node("", "entry", r.Pos())
		if err != nil {
			return nil, err
		}
		if len(sub) == 1 {
			c, err := d.decodeField(r, sub[0], e)
			if err != nil {
				return nil, err
			}
			n.Add(c)
		} else {
			if err := d.decodeFields(r, e, sub); err != nil {
				return nil, err
			}
			n.Add(r.End(e))
		}
		if r.Len() == before {
			return nil, r.Errorf("%s: entry of zero size", name)
		}
	}
	return r.End(n), nil
}

func fieldValue(parent *tree.Node, name string) (uint64, bool) {
	c := parent.Child(name)
	if c == nil {
		return 0, false
	}
	v, err := c.Uint()
	return v, err == nil
}

func decodeTail19(d *decoder, r *tree.Reader, name string, _ *tree.Node) (*tree.Node, error) {
	start := r.Pos()
	if r.Len() != 19 {
		return nil, r.Errorf("%s: %d trailing bytes (the annex allows 19)", name, r.Len())
	}
	b, _ := r.Bytes(19, name)
	n, err := r.Node(name, "raw", start)
	if err != nil {
		return nil, err
	}
	n.Value = tree.Hex(b)
	n.Text = "ignored per the GBCS annex"
	return r.End(n), nil
}

// decodeBlockThresholds: entries of {tier / number of thresholds (nibbles),
// that many UINT48 thresholds}.
func decodeBlockThresholds(d *decoder, r *tree.Reader, name string, _ *tree.Node) (*tree.Node, error) {
	n, err := r.Node(name, "entries", r.Pos())
	if err != nil {
		return nil, err
	}
	for !r.Done() {
		e, err := r.Node("", "entry", r.Pos())
		if err != nil {
			return nil, err
		}
		hdr, err := decodeZCL(r, "tier-number-of-block-thresholds", zclByName["bitmap8"])
		if err != nil {
			return nil, err
		}
		v := hdr.Value.(uint64)
		hdr.Text = fmt.Sprintf("tier %d, %d thresholds", v>>4, v&0x0f)
		e.Add(hdr)
		for i := 0; i < int(v&0x0f); i++ {
			t, err := decodeZCL(r, fmt.Sprintf("block-threshold-%d", i+1), zclByName["uint48"])
			if err != nil {
				return nil, err
			}
			e.Add(t)
		}
		n.Add(r.End(e))
	}
	return r.End(n), nil
}

// decodeMeteringSnapshot: sub-payload type 6 as the annex fills it
// (Number of Tiers in Use, Tier Summation values, Number of Tiers and Block
// Thresholds in Use = tiers<<4 | blocks, Tier Block Summation values),
// preceded by CurrentSummationDelivered. Other payload types are not laid
// out in the annex and stay raw.
func decodeMeteringSnapshot(d *decoder, r *tree.Reader, name string, prev *tree.Node) (*tree.Node, error) {
	pt, _ := fieldValue(prev, "snapshot-payload-type")
	if pt != 6 {
		return nil, r.Errorf("snapshot payload type %d is not laid out in the GBCS annex", pt)
	}
	n, err := r.Node(name, "sub-payload", r.Pos())
	if err != nil {
		return nil, err
	}
	u48 := zclByName["uint48"]
	csd, err := decodeZCL(r, "current-summation-delivered", u48)
	if err != nil {
		return nil, err
	}
	tiers, err := decodeZCL(r, "number-of-tiers-in-use", zclByName["uint8"])
	if err != nil {
		return nil, err
	}
	n.Add(csd, tiers)
	for i := 0; i < int(tiers.Value.(uint64)); i++ {
		t, err := decodeZCL(r, fmt.Sprintf("tier-%d-summation", i+1), u48)
		if err != nil {
			return nil, err
		}
		n.Add(t)
	}
	tb, err := decodeZCL(r, "number-of-tiers-and-block-thresholds-in-use", zclByName["uint8"])
	if err != nil {
		return nil, err
	}
	v := tb.Value.(uint64)
	tb.Text = fmt.Sprintf("%d tiers x %d blocks", v>>4, v&0x0f)
	n.Add(tb)
	for i := 0; i < int((v>>4)*(v&0x0f)); i++ {
		t, err := decodeZCL(r, fmt.Sprintf("tier-block-%d-summation", i+1), u48)
		if err != nil {
			return nil, err
		}
		n.Add(t)
	}
	return r.End(n), nil
}

// decodePrepaySnapshot: payload type 0 (Debt/Credit Status) as the annex
// maps it: accumulated debt, type 1..3 debt remaining, emergency credit
// remaining, credit remaining.
func decodePrepaySnapshot(d *decoder, r *tree.Reader, name string, prev *tree.Node) (*tree.Node, error) {
	pt, _ := fieldValue(prev, "snapshot-payload-type")
	if pt != 0 {
		return nil, r.Errorf("prepay snapshot payload type %d is not laid out in the GBCS annex", pt)
	}
	n, err := r.Node(name, "sub-payload", r.Pos())
	if err != nil {
		return nil, err
	}
	err = d.decodeFields(r, n, []field{
		f("accumulated-debt", "int32"), f("type-1-debt-remaining", "uint32"), f("type-2-debt-remaining", "uint32"),
		f("type-3-debt-remaining", "uint32"), f("emergency-credit-remaining", "int32"), f("credit-remaining", "int32")})
	if err != nil {
		return nil, err
	}
	return r.End(n), nil
}

// decodeDaySchedule: entries of {start time (minutes from midnight, UINT16),
// price tier (ENUM8) for delivered calendars or friendly credit enable
// (BOOLEAN) for the friendly credit calendar (type 3)}.
func decodeDaySchedule(d *decoder, r *tree.Reader, name string, prev *tree.Node) (*tree.Node, error) {
	ct, _ := fieldValue(prev, "calendar-type")
	second := f("price-tier", "enum8")
	if ct == 3 {
		second = f("friendly-credit-enable", "bool")
	}
	n, err := d.decodeEntries(r, name, []field{f("start-time", "uint16"), second})
	if err != nil {
		return nil, err
	}
	for _, e := range n.Children {
		if st := e.Child("start-time"); st != nil {
			m := st.Value.(uint64)
			st.Text = fmt.Sprintf("%02d:%02d", m/60, m%60)
		}
	}
	return n, nil
}

// decodeEventConfig: the 'Apply by List' sub-payload (configuration control
// 0): number of events, event ids.
func decodeEventConfig(d *decoder, r *tree.Reader, name string, prev *tree.Node) (*tree.Node, error) {
	cc, _ := fieldValue(prev, "configuration-control")
	if cc != 0 {
		return nil, r.Errorf("event configuration control %d is not laid out in the GBCS annex", cc)
	}
	n, err := r.Node(name, "sub-payload", r.Pos())
	if err != nil {
		return nil, err
	}
	count, err := decodeZCL(r, "number-of-events", zclByName["uint8"])
	if err != nil {
		return nil, err
	}
	n.Add(count)
	c := int(count.Value.(uint64))
	if err := r.CheckCount(c, 2, name, count.Offset); err != nil {
		return nil, err
	}
	for i := 0; i < c; i++ {
		e, err := decodeZCL(r, "event-id", zclByName["uint16"])
		if err != nil {
			return nil, err
		}
		e.Text = fmt.Sprintf("0x%04X", e.Value.(uint64))
		n.Add(e)
	}
	return r.End(n), nil
}

// decodeEventLog: the log payload (number of events / log payload control,
// then events {log id, event id, event time, event data}).
func decodeEventLog(d *decoder, r *tree.Reader, name string, _ *tree.Node) (*tree.Node, error) {
	n, err := r.Node(name, "sub-payload", r.Pos())
	if err != nil {
		return nil, err
	}
	ctl, err := decodeZCL(r, "number-of-events-log-payload-control", zclByName["bitmap8"])
	if err != nil {
		return nil, err
	}
	ev, err := d.decodeEntries(r, "events", []field{
		f("log-id", "enum8"), f("event-id", "uint16"), f("event-time", "UTC"), f("event-data", "octstr")})
	if err != nil {
		return nil, err
	}
	for _, e := range ev.Children {
		if id := e.Child("event-id"); id != nil {
			id.Text = fmt.Sprintf("0x%04X", id.Value.(uint64))
		}
	}
	n.Add(ctl, ev)
	return r.End(n), nil
}
