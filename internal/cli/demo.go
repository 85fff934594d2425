package cli

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/spf13/cobra"

	"github.com/opendcc/opendcc/client"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/server"
	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/wan"
)

// exitDemoStep: a step of `opendcc demo` did not get its expected outcome.
const exitDemoStep = 10

// The demo's parties: the ZAZ1 test supplier (import and gas supplier in the
// dccboxed profile), the DCC, the RTDS ESME the profile has Commissioned on
// its comms hub, and the profile's MPAN (the supplier is registered for it).
const (
	demoSupplier = "90-B3-D5-1F-30-01-00-00"
	demoDCC      = "90-B3-D5-1F-30-00-00-02"
	demoRTDSESME = "00-DB-12-34-56-78-90-A0"
	demoMPAN     = "1100000000001"
)

// DUIS 5.4 request documents, written from the schema (no reference data
// is read at run time). The client signs them (placeholder-free: the
// signature is added) and gives them a fresh RequestID counter.
const demoRequestXML = `<?xml version="1.0" encoding="UTF-8"?>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" schemaVersion="5.4"><sr:Header><sr:RequestID>%s:%s:1</sr:RequestID><sr:CommandVariant>%d</sr:CommandVariant><sr:ServiceReference>%s</sr:ServiceReference><sr:ServiceReferenceVariant>%s</sr:ServiceReferenceVariant></sr:Header><sr:Body>%s</sr:Body></sr:Request>`

const demoPrenotifyBody = `<sr:DevicePrenotification><sr:DeviceID>%s</sr:DeviceID><sr:DeviceManufacturer>AB01</sr:DeviceManufacturer><sr:DeviceModel>010A030B</sr:DeviceModel><sr:DeviceType>ESME</sr:DeviceType><sr:SMETSCHTSVersion>SMETS V5.1</sr:SMETSCHTSVersion><sr:FirmwareVersion>0002012F</sr:FirmwareVersion><sr:ESMEVariant>A</sr:ESMEVariant></sr:DevicePrenotification>`

const demoUpdateMPxNBody = `<sr:UpdateInventory><sr:DeviceID>%s</sr:DeviceID><sr:UpdateMPxN><sr:ImportMPxN>%s</sr:ImportMPxN></sr:UpdateMPxN></sr:UpdateInventory>`

// demoWhitelistBody adds a device to a comms hub's HAN device log (8.11,
// CCS01): the hub admits it to its HAN, the DCC records it on the hub.
const demoWhitelistBody = `<sr:UpdateHANDeviceLog><sr:DeviceID>%s</sr:DeviceID><sr:RequestType>Add</sr:RequestType><sr:AddDeviceToCHFWhitelist><sr:JoinTimePeriod>60</sr:JoinTimePeriod><sr:InstallCode>83FED3407A939723A5C639B26916D505</sr:InstallCode><sr:ImportMPxN>%s</sr:ImportMPxN></sr:AddDeviceToCHFWhitelist></sr:UpdateHANDeviceLog>`

// demoRTDSCHF is the profile's comms hub.
const demoRTDSCHF = "00-DB-12-34-56-78-90-A2"

const demoCommissionBody = `<sr:CommissionDeviceSynchroniseClock><sr:CurrentDateTime>%s</sr:CurrentDateTime><sr:TolerancePeriod>60</sr:TolerancePeriod></sr:CommissionDeviceSynchroniseClock>`

const demoReadRegistersBody = `<sr:ReadInstantaneousImportRegisters/>`

// A two-rate time-of-use tariff: night (rate 1) 00:00–07:00, day (rate 2)
// 07:00–24:00, every day of the year; block thresholds unused; prices in
// 10^-4 GBP per kWh (21.21p night, 31.27p day), standing charge 50p/day.
const demoTariffBody = `<sr:UpdateImportTariffPrimaryElement><sr:ElecTariffElements><sr:CurrencyUnits>GBP</sr:CurrencyUnits><sr:SwitchingTable>` +
	`<sr:DayProfiles><sr:DayProfile><sr:DayName>1</sr:DayName>` +
	`<sr:ProfileSchedule><sr:StartTime>00:00:00.00Z</sr:StartTime><sr:TOUTariffAction>1</sr:TOUTariffAction></sr:ProfileSchedule>` +
	`<sr:ProfileSchedule><sr:StartTime>07:00:00.00Z</sr:StartTime><sr:TOUTariffAction>2</sr:TOUTariffAction></sr:ProfileSchedule>` +
	`</sr:DayProfile></sr:DayProfiles>` +
	`<sr:WeekProfiles><sr:WeekProfile><sr:WeekName>1</sr:WeekName>` +
	`<sr:ReferencedDayName index="1">1</sr:ReferencedDayName><sr:ReferencedDayName index="2">1</sr:ReferencedDayName><sr:ReferencedDayName index="3">1</sr:ReferencedDayName><sr:ReferencedDayName index="4">1</sr:ReferencedDayName><sr:ReferencedDayName index="5">1</sr:ReferencedDayName><sr:ReferencedDayName index="6">1</sr:ReferencedDayName><sr:ReferencedDayName index="7">1</sr:ReferencedDayName>` +
	`</sr:WeekProfile></sr:WeekProfiles>` +
	`<sr:Seasons><sr:Season><sr:SeasonName>all year</sr:SeasonName><sr:SeasonStartDate><sr:Year><sr:NonSpecifiedYear/></sr:Year><sr:Month><sr:SpecifiedMonth>01</sr:SpecifiedMonth></sr:Month><sr:DayOfMonth><sr:SpecifiedDayOfMonth>01</sr:SpecifiedDayOfMonth></sr:DayOfMonth><sr:DayOfWeek><sr:NonSpecifiedDayOfWeek/></sr:DayOfWeek></sr:SeasonStartDate><sr:ReferencedWeekName>1</sr:ReferencedWeekName></sr:Season></sr:Seasons>` +
	`</sr:SwitchingTable>` +
	`<sr:SpecialDays><sr:SpecialDay><sr:Date><sr:Year><sr:NonSpecifiedYear/></sr:Year><sr:Month><sr:SpecifiedMonth>12</sr:SpecifiedMonth></sr:Month><sr:DayOfMonth><sr:SpecifiedDayOfMonth>25</sr:SpecifiedDayOfMonth></sr:DayOfMonth><sr:DayOfWeek><sr:NonSpecifiedDayOfWeek/></sr:DayOfWeek></sr:Date><sr:ReferencedDayName>1</sr:ReferencedDayName></sr:SpecialDay></sr:SpecialDays>` +
	`<sr:ThresholdMatrix>` + demoThresholds + `</sr:ThresholdMatrix></sr:ElecTariffElements>` +
	`<sr:PriceElements><sr:ElectricityPriceElements><sr:StandingCharge>5000</sr:StandingCharge><sr:StandingChargeScale>-4</sr:StandingChargeScale><sr:PriceScale>-4</sr:PriceScale>` +
	`<sr:TOUTariff><sr:TOUPrice index="1">2121</sr:TOUPrice><sr:TOUPrice index="2">3127</sr:TOUPrice></sr:TOUTariff>` +
	`</sr:ElectricityPriceElements></sr:PriceElements></sr:UpdateImportTariffPrimaryElement>`

const demoThresholds = `<sr:Thresholds index="1"><sr:BlockThreshold index="1">4294967295</sr:BlockThreshold></sr:Thresholds>` +
	`<sr:Thresholds index="2"><sr:BlockThreshold index="1">4294967295</sr:BlockThreshold></sr:Thresholds>` +
	`<sr:Thresholds index="3"><sr:BlockThreshold index="1">4294967295</sr:BlockThreshold></sr:Thresholds>` +
	`<sr:Thresholds index="4"><sr:BlockThreshold index="1">4294967295</sr:BlockThreshold></sr:Thresholds>` +
	`<sr:Thresholds index="5"><sr:BlockThreshold index="1">4294967295</sr:BlockThreshold></sr:Thresholds>` +
	`<sr:Thresholds index="6"><sr:BlockThreshold index="1">4294967295</sr:BlockThreshold></sr:Thresholds>` +
	`<sr:Thresholds index="7"><sr:BlockThreshold index="1">4294967295</sr:BlockThreshold></sr:Thresholds>` +
	`<sr:Thresholds index="8"><sr:BlockThreshold index="1">4294967295</sr:BlockThreshold></sr:Thresholds>`

const demoTopUpBody = `<sr:TopUpDevice><sr:UTRN>%s</sr:UTRN></sr:TopUpDevice>`

const demoFirmwareBody = `<sr:ReadFirmwareVersion/>`

const demoInventoryBody = `<sr:ReadInventory><sr:DeviceID>%s</sr:DeviceID></sr:ReadInventory>`

// demoStepResult is one step's outcome (the --json object).
type demoStepResult struct {
	Step      int      `json:"step"`
	SRV       string   `json:"srv"`
	Name      string   `json:"name"`
	Device    string   `json:"device"`
	RequestID string   `json:"requestId,omitempty"`
	CV        int      `json:"commandVariant,omitempty"`
	Ack       *string  `json:"ack"`
	Final     *string  `json:"final"`
	ElapsedMs int64    `json:"elapsedMs"`
	Summary   string   `json:"summary,omitempty"`
	Notes     []string `json:"notes,omitempty"`
	OK        bool     `json:"ok"`
	// Gap: the step could not do what it shows because of a documented
	// limitation of the server; the demo carries on around it.
	Gap   string `json:"serverGap,omitempty"`
	Error string `json:"error,omitempty"`
}

type demoOptions struct {
	data, duisAddr, smkiAddr, listen string
	fast, asJSON, verbose            bool
	timeout                          time.Duration
}

func newDemoCmd() *cobra.Command {
	var o demoOptions
	c := &cobra.Command{
		Use:   "demo [--fast] [--json] [--data DIR]",
		Short: "Start a DCC in-process and walk a meter through pre-notification, commissioning, reads, a tariff and a top-up",
		Long: `Starts OpenDCC (profile dccboxed, simulated devices behind a simulated WAN) with a DUIS
client listening for its responses, and sends, as the ZAZ1 test supplier: 12.2 Device
Pre-notification of a new ESME, 8.4 Update Inventory (its MPAN), 8.1.1 Commission Device, then
4.1.1 Read Instantaneous Import Registers, 1.1.1 Update Import Tariff (critical: CV 4, Pre-Command
signed, CV 5), 2.2 Top Up Device (a UTRN), 11.2 Read Firmware Version and 8.2 Read Inventory.
Each step prints what was sent, the synchronous and final answers and a summary of the device's
answer. Exit status 0 when every step got its expected outcome, 10 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.Flags().StringVar(&o.data, "data", "", "data directory (default: a temporary one, removed at the end)")
	c.Flags().StringVar(&o.duisAddr, "duis", "127.0.0.1:0", "DUIS listen address")
	c.Flags().StringVar(&o.smkiAddr, "smki", "127.0.0.1:0", "SMKI repository listen address")
	c.Flags().StringVar(&o.listen, "listen", "127.0.0.1:0", "address of the users' Receive Response Service")
	c.Flags().BoolVar(&o.fast, "fast", false, "1 ms WAN links instead of the realistic latency")
	c.Flags().BoolVar(&o.asJSON, "json", false, "print one JSON object per step")
	c.Flags().BoolVar(&o.verbose, "verbose", false, "show the server's log and the decoded GBCS payloads")
	c.Flags().DurationVar(&o.timeout, "timeout", 60*time.Second, "how long to wait for each asynchronous response")
	return c
}

// demo is a running scenario.
type demo struct {
	o      demoOptions
	out    io.Writer
	srv    *server.Server
	cl     *client.Client
	sec    *gbcs.Security
	n      int
	failed []string
	gaps   []string // steps done around a server gap
	ctx    context.Context
}

func runDemo(ctx context.Context, o demoOptions, out, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	dir := o.data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "opendcc-demo-")
		if err != nil {
			return exitf(exitUsage, "%v", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	users, err := loadStore(dccboxed.KeystoreName)
	if err != nil {
		return exitf(exitUsage, "%v", err)
	}
	cl := &client.Client{Keystore: users, Allowance: dccBoxedAllowance, FreshCounter: true, Timeout: o.timeout}
	ln := &client.Listener{Verify: cl.VerifyOptions}
	if err := ln.Start(o.listen); err != nil {
		return exitf(exitUsage, "%v", err)
	}
	defer ln.Close()
	logw := io.Discard
	if o.verbose {
		logw = stderr
	}
	cfg := server.Config{DataDir: dir, DUISAddr: o.duisAddr, SMKIAddr: o.smkiAddr, Profile: "dccboxed",
		ResponseURL: ln.URL(), Log: slog.New(slog.NewTextHandler(logw, nil))}
	latency := "realistic WAN latency (wan.DefaultLinks)"
	if o.fast {
		l := wan.Link{Latency: time.Millisecond}
		cfg.WANLinks = map[wan.Region]wan.Link{wan.North: l, wan.Central: l, wan.South: l}
		latency = "1 ms WAN links (--fast)"
	}
	s, err := server.Start(ctx, cfg)
	if err != nil {
		return exitf(exitUsage, "starting the server: %v", err)
	}
	defer s.Close()
	cl.Server = s.DUISURL
	// The client sees what a User holds (its own keys) plus the devices'
	// certificates (as a User gets them from the SMKI repository), so it
	// can check the devices' signatures, decrypt and compute UTRNs.
	ring := gbcs.NewKeyring()
	_ = ring.AddStore(users)
	cl.Keys = gbcs.MultiKeyStore{ring, s.Fleet.KeyStore()}
	ln.Security = cl.Security()
	cl.Listener = ln

	d := &demo{o: o, out: out, srv: s, cl: cl, sec: cl.Security(), ctx: ctx}
	d.say("OpenDCC demo: DUIS %s, SMKI %s, responses to %s, %s, data %s", s.DUISURL, s.SMKIURL, ln.URL(), latency, dir)
	d.say("acting as the test supplier %s (import supplier for MPAN %s)", demoSupplier, demoMPAN)
	d.say("")
	d.scenario()
	if len(d.failed) > 0 {
		return exitf(exitDemoStep, "demo: %d step(s) did not get their expected outcome: %s", len(d.failed), strings.Join(d.failed, "; "))
	}
	if len(d.gaps) > 0 {
		d.say("every step got its expected outcome; around a server gap: %s", strings.Join(d.gaps, ", "))
	} else {
		d.say("every step got its expected outcome")
	}
	return nil
}

func (d *demo) say(format string, a ...any) {
	if d.o.asJSON {
		return
	}
	fmt.Fprintf(d.out, format+"\n", a...)
}

func (d *demo) scenario() {
	meter := freshEUI()
	// 1. Pre-notification.
	st := d.step("12.2", "12.2", "Device Pre-notification", demoDCC, 8, fmt.Sprintf(demoPrenotifyBody, meter),
		fmt.Sprintf("new ESME %s", meter), "I99", "")
	if st.OK {
		st.Summary = d.inventoryLine(meter)
	}
	d.report(st)
	// 2. Its MPAN, so the supplier is registered for it (E4 otherwise).
	st = d.step("8.4", "8.4", "Update Inventory (UpdateMPxN)", demoDCC, 8, fmt.Sprintf(demoUpdateMPxNBody, meter, demoMPAN),
		fmt.Sprintf("ESME %s ← MPAN %s", meter, demoMPAN), "I99", "")
	if st.OK {
		st.Summary = d.inventoryLine(meter)
	}
	d.report(st)
	// 3. Onto the comms hub's HAN: the hub whitelists it, the inventory
	// puts it on that hub (Whitelisted).
	st = d.step("8.11", "8.11", "Update HAN Device Log (Add)", demoRTDSCHF, 1, fmt.Sprintf(demoWhitelistBody, meter, demoMPAN),
		fmt.Sprintf("CHF %s ← ESME %s", demoRTDSCHF, meter), "I99", "I0")
	if st.OK {
		st.Summary += "\n" + d.inventoryLine(meter)
	}
	d.report(st)
	// 4. Commission. OpenDCC continues on the new meter only if the DCC
	// commissioned it; otherwise the gap is reported (a known limitation
	// of the server, not a failure of the demo) and the scenario goes on
	// with the RTDS ESME the profile has Commissioned.
	now := time.Now().UTC().Format("2006-01-02T15:04:05") + ".00Z" // whole seconds
	st = d.step("8.1", "8.1.1", "Commission Device", meter, 4, fmt.Sprintf(demoCommissionBody, now),
		fmt.Sprintf("ESME %s", meter), "I99", "I0")
	target := meter
	dev, err := d.srv.Store.Inventory().GetDevice(d.ctx, mustEUI(meter))
	switch {
	case err != nil:
		st.Error = "reading the inventory: " + err.Error()
	case st.OK && dev.Status == store.StatusCommissioned:
		st.Summary += "\n" + d.inventoryLine(meter)
	case st.OK:
		// The device answered, but the inventory did not follow.
		st.Gap = fmt.Sprintf("the meter answered I0 but the inventory still has it %s: the server does not set Commissioned on a successful 8.1.1 yet", dev.Status)
	case st.Final != nil && *st.Final == "E20" && dev.CHF.IsZero():
		// DUIS gives a pre-notified ESME no comms hub (12.2 has no CHF
		// for an ESME, 8.4 cannot set one, and the server does not link
		// it on 8.11 Update HAN Device Log), so the DCC cannot route to it.
		st.Gap = "E20: the inventory has the new ESME on no comms hub (a 12.2 ESME has no CHF, 8.4 cannot set one, and the server does not associate it on an 8.11 device-log update), so the DCC cannot reach it; nor does the server set Commissioned on a successful 8.1.1 yet"
	}
	if st.Gap != "" {
		st.OK, st.Error = true, ""
	}
	if err != nil || dev.Status != store.StatusCommissioned {
		target = demoRTDSESME
		st.Notes = append(st.Notes, fmt.Sprintf("the scenario continues on the RTDS ESME %s, which the dccboxed profile has Commissioned on its comms hub", demoRTDSESME))
	}
	d.report(st)
	// 4. Registers.
	st = d.step("4.1", "4.1.1", "Read Instantaneous Import Registers", target, 1, demoReadRegistersBody, "ESME "+target, "I99", "I0")
	d.report(st)
	// 5. Tariff (critical).
	st = d.step("1.1", "1.1.1", "Update Import Tariff (Primary Element)", target, 4, demoTariffBody, "ESME "+target+", two-rate TOU 21.21p/31.27p", "I99", "I0")
	d.report(st)
	// 6. Top up.
	utrn, err := d.sec.GenerateUTRN(mustEUI(demoSupplier), mustEUI(target), gbcs.TopUp{Counter: uint64(time.Now().Unix()%1023+1) << 32, Value: 1000, Class: gbcs.ValuePennies})
	if err != nil {
		st = &demoStepResult{Step: d.next(), SRV: "2.2", Name: "Top Up Device", Device: target, Error: "generating the UTRN: " + err.Error()}
		d.say("%d. 2.2 Top Up Device — ESME %s", st.Step, target)
		d.report(st)
	} else {
		before, berr := d.balance(target)
		st = d.step("2.2", "2.2", "Top Up Device", target, 1, fmt.Sprintf(demoTopUpBody, utrn), "ESME "+target+", UTRN "+utrn+" (£10.00)", "I99", "I0")
		if st.OK {
			after, aerr := d.balance(target)
			if berr == nil && aerr == nil {
				st.Summary += fmt.Sprintf("\nmeter balance (4.18 Read Meter Balance): %s before, %s after (%+d pennies)", pounds(before), pounds(after), after-before)
			} else {
				st.Notes = append(st.Notes, fmt.Sprintf("reading the balance (4.18): %v %v", berr, aerr))
			}
		}
		d.report(st)
	}
	// 7. Firmware.
	st = d.step("11.2", "11.2", "Read Firmware Version", target, 1, demoFirmwareBody, "ESME "+target, "I99", "I0")
	d.report(st)
	// 8. Inventory.
	st = d.step("8.2", "8.2", "Read Inventory", demoDCC, 8, fmt.Sprintf(demoInventoryBody, target), "device "+target, "I0", "")
	d.report(st)
}

func (d *demo) next() int {
	d.n++
	return d.n
}

// step sends one request and checks its answers: ack is the expected
// synchronous code (after the Pre-Command of a critical request), final the
// expected asynchronous one ("" for none).
func (d *demo) step(sr, srv, name, target string, cv int, body, what, ack, final string) *demoStepResult {
	st := &demoStepResult{Step: d.next(), SRV: srv, Name: name, Device: target}
	doc := fmt.Sprintf(demoRequestXML, demoSupplier, target, cv, sr, srv, body)
	if !d.o.asJSON {
		fmt.Fprintf(d.out, "%d. %s %s — %s\n", st.Step, srv, name, what)
	}
	res, err := d.cl.Send(d.ctx, []byte(doc))
	if res != nil {
		st.RequestID, st.CV, st.ElapsedMs = res.RequestID, res.CommandVariant, res.Elapsed.Milliseconds()
		if res.Ack != nil {
			st.Ack = &res.Ack.Code
		}
		if res.Final != nil {
			st.Final = &res.Final.Code
		}
		if !d.o.asJSON {
			for _, s := range res.Steps {
				if s.Response == nil {
					continue
				}
				line := fmt.Sprintf("   sent CV %d, RequestID %s → %s%s", s.CommandVariant, res.RequestID, s.Response.Code, codeText(s.Response.Code))
				if s.Response.PreCommand != nil {
					line += fmt.Sprintf(", Pre-Command (%d bytes)", len(s.Response.PreCommand))
				}
				fmt.Fprintln(d.out, line)
				if s.Response.PreCommand != nil && res.PreCommand != nil {
					fmt.Fprintf(d.out, "   Pre-Command signed with the supplier's GBCS key (%d bytes)\n", len(res.PreCommand))
				}
			}
		}
	}
	if err != nil {
		st.Error = err.Error()
		return st
	}
	switch {
	case res.Ack == nil || res.Ack.Code != ack:
		st.Error = fmt.Sprintf("expected %s, the DCC answered %s", ack, codeOf(res.Ack))
	case final == "" && res.Final != nil:
		st.Error = "unexpected asynchronous response " + res.Final.Code
	case final != "" && (res.Final == nil || res.Final.Code != final):
		st.Error = fmt.Sprintf("expected a final %s, got %s", final, codeOf(res.Final))
	default:
		st.OK = true
	}
	st.Summary = d.summary(srv, res)
	return st
}

func codeOf(r *client.Response) string {
	if r == nil {
		return "nothing"
	}
	return r.Code + codeText(r.Code)
}

func (d *demo) report(st *demoStepResult) {
	if st.Error != "" {
		st.OK = false
	}
	if st.OK && st.Gap != "" {
		d.gaps = append(d.gaps, fmt.Sprintf("step %d (%s %s)", st.Step, st.SRV, st.Name))
	}
	if !st.OK {
		d.failed = append(d.failed, fmt.Sprintf("step %d (%s %s): %s", st.Step, st.SRV, st.Name, st.Error))
	}
	if d.o.asJSON {
		json.NewEncoder(d.out).Encode(st)
		return
	}
	if st.Final != nil {
		fmt.Fprintf(d.out, "   final %s%s after %d ms\n", *st.Final, codeText(*st.Final), st.ElapsedMs)
	} else if st.Ack != nil {
		fmt.Fprintf(d.out, "   done in %d ms (no asynchronous response for this service)\n", st.ElapsedMs)
	}
	if st.Summary != "" {
		for _, l := range strings.Split(st.Summary, "\n") {
			fmt.Fprintf(d.out, "   → %s\n", l)
		}
	}
	if st.Gap != "" {
		fmt.Fprintf(d.out, "   SERVER GAP: %s\n", st.Gap)
	}
	for _, n := range st.Notes {
		fmt.Fprintf(d.out, "   note: %s\n", n)
	}
	if st.OK && st.Gap != "" {
		fmt.Fprintf(d.out, "   ok (around a server gap)\n\n")
	} else if st.OK {
		fmt.Fprintf(d.out, "   ok\n\n")
	} else {
		fmt.Fprintf(d.out, "   FAILED: %s\n\n", st.Error)
	}
}

// inventoryLine describes a device as the inventory has it now.
func (d *demo) inventoryLine(id string) string {
	dev, err := d.srv.Store.Inventory().GetDevice(d.ctx, mustEUI(id))
	if err != nil {
		return "not in the inventory: " + err.Error()
	}
	s := fmt.Sprintf("inventory: %s %s, status %s", dev.Type, dev.ID, dev.Status)
	if dev.ImportMPxN != "" {
		s += ", MPAN " + dev.ImportMPxN
	}
	if dev.CHF.IsZero() {
		s += ", on no comms hub"
	} else {
		s += ", comms hub " + dev.CHF.String()
	}
	return s
}

// summary decodes the interesting part of the outcome.
func (d *demo) summary(srv string, res *client.Result) string {
	o := res.Outcome()
	if o == nil {
		return ""
	}
	if srv == "8.2" {
		return inventorySummary(o.Raw)
	}
	if len(o.GBCS) == 0 || o.PreCommand != nil {
		return ""
	}
	g := o.GBCS[0]
	head := fmt.Sprintf("GBCS %s %s from %s, signature %s", g.MessageCode, g.UseCase, g.Originator, g.Signature)
	if g.Error != "" {
		return head + "\nerror: " + g.Error
	}
	if d.o.verbose {
		head += "\n" + strings.TrimRight(g.Tree, "\n")
	}
	root, err := tree.ParseJSON(g.Payload)
	if err != nil {
		return head
	}
	var parts []string
	switch srv {
	case "4.1.1":
		if regs := dlmsRegisters(root); len(regs) > 0 {
			parts = append(parts, "registers: "+strings.Join(regs, ", "))
		}
	case "11.2":
		for _, v := range dlmsData(root) {
			if v.Type == "octet-string" {
				parts = append(parts, "firmware version "+printableOctets(v))
			}
		}
	}
	if r := dlmsResults(root); len(r) > 0 {
		parts = append(parts, "device result: "+countedList(r))
	}
	if len(parts) > 0 {
		head += "\n" + strings.Join(parts, "\n")
	}
	return head
}

// dlmsData is the data of a DLMS access-response: the decrypted plaintext
// of a protected one, else the items of its data list.
func dlmsData(root *tree.Node) []*tree.Node {
	var plain *tree.Node
	root.Walk(func(n *tree.Node) bool {
		if n.Decrypted && plain == nil {
			plain = n
		}
		return plain == nil
	})
	if plain != nil {
		return plain.Children
	}
	if d := root.Child("data"); d != nil {
		return d.Children
	}
	return nil
}

// dlmsUnits names the DLMS unit enumeration values a register read shows.
var dlmsUnits = map[uint64]string{27: "W", 28: "VA", 29: "var", 30: "Wh", 31: "VAh", 32: "varh", 33: "A", 35: "V"}

// dlmsRegisters finds value, {scaler, unit} pairs (a register's value and
// its scaler_unit) anywhere in the data.
func dlmsRegisters(root *tree.Node) []string {
	var out []string
	for _, d := range dlmsData(root) {
		d.Walk(func(n *tree.Node) bool {
			for i := 0; i+1 < len(n.Children); i++ {
				v, su := n.Children[i], n.Children[i+1]
				if v.Value == nil || len(su.Children) != 2 || su.Children[0].Type != "integer" || su.Children[1].Type != "enum" {
					continue
				}
				val, err := v.Int()
				if err != nil {
					continue
				}
				scaler, _ := su.Children[0].Int()
				unit, _ := su.Children[1].Uint()
				name := dlmsUnits[unit]
				if name == "" {
					name = fmt.Sprintf("(unit %d)", unit)
				}
				f := float64(val)
				for ; scaler > 0; scaler-- {
					f *= 10
				}
				for ; scaler < 0; scaler++ {
					f /= 10
				}
				if strings.HasSuffix(name, "h") { // energy: in kilo-units
					out = append(out, strconv.FormatFloat(f/1000, 'f', 3, 64)+" k"+name)
				} else {
					out = append(out, strconv.FormatFloat(f, 'f', -1, 64)+" "+name)
				}
			}
			return true
		})
	}
	return out
}

// dlmsResults are the per-item results of the response (get/set/action).
func dlmsResults(root *tree.Node) []string {
	var out []string
	if rs := root.Child("response-specs"); rs != nil {
		rs.Walk(func(n *tree.Node) bool {
			if n.Name == "result" && len(n.Children) == 0 && n.Text != "" {
				out = append(out, n.Text)
			}
			return true
		})
	}
	return out
}

// countedList joins items, runs of equal ones counted ("success ×21").
func countedList(items []string) string {
	var out []string
	for i := 0; i < len(items); {
		j := i
		for j < len(items) && items[j] == items[i] {
			j++
		}
		if j-i > 1 {
			out = append(out, fmt.Sprintf("%s ×%d", items[i], j-i))
		} else {
			out = append(out, items[i])
		}
		i = j
	}
	return strings.Join(out, ", ")
}

// balance reads the meter balance with 4.18 Read Meter Balance (ECS82) for
// the top-up's summary: the value of the account's meter balance attribute
// (in pennies: the simulated meters keep GBP with scale -2).
func (d *demo) balance(target string) (int64, error) {
	doc := fmt.Sprintf(demoRequestXML, demoSupplier, target, 1, "4.18", "4.18", "<sr:ReadMeterBalance/>")
	res, err := d.cl.Send(d.ctx, []byte(doc))
	if err != nil {
		return 0, err
	}
	o := res.Outcome()
	if o == nil || o.Code != "I0" || len(o.GBCS) == 0 {
		return 0, fmt.Errorf("4.18 answered %s", codeOf(o))
	}
	root, err := tree.ParseJSON(o.GBCS[0].Payload)
	if err != nil {
		return 0, err
	}
	for _, n := range dlmsData(root) {
		if v, err := n.Int(); err == nil && n.Value != nil {
			return v, nil
		}
	}
	return 0, fmt.Errorf("4.18: no balance in the answer")
}

func pounds(p int64) string {
	sign := ""
	if p < 0 {
		sign, p = "-", -p
	}
	return fmt.Sprintf("%s£%d.%02d", sign, p/100, p%100)
}

// printableOctets shows an octet string as text when it is ASCII.
func printableOctets(n *tree.Node) string {
	b, err := n.Octets()
	if err != nil {
		return fmt.Sprint(n.Value)
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("%x", b)
		}
	}
	return fmt.Sprintf("%q", b)
}

// inventorySummary lists the devices of a DSPInventory.
func inventorySummary(raw []byte) string {
	doc := etree.NewDocument()
	if doc.ReadFromBytes(raw) != nil {
		return ""
	}
	var lines []string
	for _, dev := range doc.FindElements("//DSPInventory/*") {
		var f []string
		for _, c := range dev.ChildElements() {
			if t := strings.TrimSpace(c.Text()); t != "" && len(c.ChildElements()) == 0 {
				f = append(f, c.Tag+"="+t)
			}
		}
		lines = append(lines, strings.Join(f, " "))
	}
	if len(lines) == 0 {
		return "no device matched"
	}
	return strings.Join(lines, "\n")
}

// freshEUI is a device EUI-64 not in the profile (random low 32 bits under
// the RTDS manufacturer prefix 00-DB-12-34).
func freshEUI() string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("00-DB-12-34-%02X-%02X-%02X-%02X", b[0], b[1], b[2], b[3])
}

func mustEUI(s string) eui.EUI64 { return eui.MustParse(s) }
