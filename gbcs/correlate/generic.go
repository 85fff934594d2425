package correlate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/gbcs"
)

// generic runs the checks every critical SRV gets.
func (c *checker) generic() {
	req, m := c.req, c.m
	srv := req.srv

	// The catalogue says the SRV is critical (parseRequest refused others).
	c.add(Field{Name: "SRV is critical (DUIS catalogue)", Request: srv.Variant + " " + srv.Name, Command: "Pre-Command", Result: Match})

	// Only CommandVariant 4 asks the DCC for a Pre-Command.
	cv := strings.TrimSpace(req.header.CommandVariant)
	c.eq("CommandVariant (4 = transform into a Pre-Command)", cv, "4")

	// Message code belongs to one of the SRV's use cases.
	ucs := strings.Join(srv.GBCSUseCases, ", ")
	got := fmt.Sprintf("0x%04X", m.MessageCode)
	if c.uc != "" {
		got += " " + c.uc
	} else {
		got += " (not in the GBCS use-case catalogue)"
	}
	if c.uc != "" && containsStr(srv.GBCSUseCases, c.uc) {
		c.add(Field{Name: "message code / GBCS use case", Request: "one of " + ucs, Command: got, Result: Match})
	} else {
		c.add(Field{Name: "message code / GBCS use case", Request: "one of " + ucs, Command: got, Result: Differ})
	}
	if uc, ok := gbcs.LookupMessageCode(m.MessageCode); ok && uc.Critical == gbcs.FlagNo {
		c.add(Field{Name: "use case is critical (GBCS catalogue)", Request: "critical", Command: uc.Name + " is " + uc.MessageType, Result: Differ})
	}

	// Grouping Header.
	c.eq("CRA flag", gbcs.CRACommand.String(), m.CRA.String())
	c.eq("RequestID counter vs originator counter", strconv.FormatUint(req.id.Counter, 10), strconv.FormatUint(m.OriginatorCounter, 10))
	c.eq("RequestID originator vs Business Originator ID", req.id.Originator.String(), m.Originator.String())
	c.eq("RequestID target vs Business Target ID (recipient)", req.id.Target.String(), m.Recipient.String())
	if m.HasSupplementaryRemoteParty {
		c.add(Field{Name: "Supplementary Remote Party ID", Request: "none (the request's originator is the remote party)",
			Command: m.SupplementaryRemoteParty.String(), Result: Differ})
	}

	// Execution date-time.
	if c.exec.present && c.exec.t.IsZero() && !c.exec.cancel {
		c.add(Field{Name: "ExecutionDateTime", Request: c.exec.raw, Result: NotCompared, Note: "not compared: not a valid xs:dateTime"})
	}
	if srv.FutureDated == duis.FutureDatedNone && c.exec.present {
		c.add(Field{Name: "ExecutionDateTime", Request: c.exec.String(), Command: "SRV " + srv.Variant + " is not future-datable", Result: Differ})
	}
	if m.DateTime != nil {
		want := c.exec.String()
		if !c.exec.present {
			want = "absent"
		}
		c.eq("execution date-time vs Grouping Header date-time", want, dlmsDateTime(m.DateTime))
	} else {
		c.add(Field{Name: "Grouping Header date-time", Request: c.exec.String(), Command: "absent", Result: Match,
			Note: "absent in commands; execution times travel in the payload"})
	}
	c.activationTimes()
}

// activationTimes compares the execution date-time with the activation
// times the payload carries: the DLMS activation attributes (Blue Book:
// Activity Calendar a10 activate_passive_calendar_time, Charge a7
// unit_charge_activation_time, Account a13 account_activation_time, and the
// GBCS Extended Data class 9000 a6 activate_passive_value_time) and the ZCL
// Start Time / Implementation Date/Time / From Date Time fields.
func (c *checker) activationTimes() {
	want := c.exec.String()
	n := 0
	for _, it := range c.dl {
		if it.kind != 2 || !isActivationAttr(it.class, it.attr) {
			continue
		}
		it.used = true
		n++
		c.eq("execution date-time vs "+it.String()+" activation time", want, dlmsDateTime(octets(it.data)))
	}
	for _, g := range c.gz {
		if g.fromTime != nil {
			v, _ := g.fromTime.Uint()
			n++
			c.eq("execution date-time vs "+g.label+" From Date Time", want, zclUTC(v))
		}
		if g.payload == nil || g.fc&0x01 == 0 {
			continue
		}
		for _, f := range []string{"start-time", "implementation-date-time"} {
			if t := pc(g.payload, f); t != nil && t.Type == "UTC" {
				v, _ := t.Uint()
				n++
				c.eq("execution date-time vs "+g.label+" "+f, want, zclUTC(v))
			}
		}
	}
	if n == 0 && c.exec.present && !asnExecution[c.m.MessageCode] {
		c.add(Field{Name: "execution date-time", Request: want, Command: "absent (no activation time in the command)", Result: Differ})
	}
}

func isActivationAttr(class, attr uint64) bool {
	switch {
	case class == 20 && attr == 10, class == 113 && attr == 7, class == 111 && attr == 13, class == 9000 && attr == 6:
		return true
	}
	return false
}

// asnExecution lists the ASN.1 use cases whose execution time the per-SRV
// check compares (CS06, CS02b, CS02g).
var asnExecution = map[uint16]bool{0x0012: true, 0x0100: true, 0x0101: true, 0x0102: true, 0x0103: true, 0x0104: true,
	0x0105: true, 0x0106: true, 0x0107: true, 0x0108: true, 0x0109: true, 0x0124: true, 0x0125: true, 0x0126: true}

// payload runs the per-SRV mapping.
func (c *checker) payload() {
	f, ok := srvChecks[c.req.srv.Variant]
	if !ok {
		c.skip("payload", "", "no field mapping is implemented for SRV "+c.req.srv.Variant)
		return
	}
	// A use case outside the SRV's list was already reported; the mapping
	// below still runs for the use case that was sent, when it knows it.
	f(c, c.req.body)
}

// srvChecks maps every critical SRV to its payload check.
var srvChecks = map[string]func(*checker, *xnode){}

// wantUseCase records which use case the request's content calls for.
func (c *checker) wantUseCase(name string, alternatives ...string) bool {
	all := append([]string{name}, alternatives...)
	ok := containsStr(all, c.uc)
	res := Match
	if !ok {
		res = Differ
	}
	c.add(Field{Name: "use case for the requested content", Request: strings.Join(all, " or "), Command: c.uc, Result: res})
	return ok
}

// criticalSRVs lists the catalogue's critical SRVs.
func criticalSRVs() []string {
	var out []string
	for _, s := range duis.SRVs() {
		if s.Critical {
			out = append(out, s.Variant)
		}
	}
	return out
}
