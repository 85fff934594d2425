package transform

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/opendcc/opendcc/gbcs"
)

// dlmsReads are the DLMS read use cases: the objects of the annex's
// "DLMS COSEM specific content" table, in table order, one entry per
// distinct class / OBIS / attribute ("A") or method ("M"). A use case whose
// table starts with an IC30 get_protected_attributes method is a protected
// read: one action whose object list holds the table's other objects.
var dlmsReads = map[string]string{
	"ECS17a":  "A3/1-0:2.8.0.255/2 A3/1-0:2.8.0.255/3 A3/1-0:4.8.0.255/2 A3/1-0:4.8.0.255/3",
	"ECS17b":  "M30/0-0:43.2.8.255/1 A1/0-0:94.44.34.10/2",
	"ECS17c":  "A1/0-0:94.44.34.20/2",
	"ECS17d":  "M30/0-0:43.2.9.255/1 A1/0-0:94.44.34.1/2",
	"ECS17e":  "M30/0-0:43.2.10.255/1 A1/0-0:94.44.34.2/2",
	"ECS18a":  "A1/0-0:94.44.5.2/2 A4/1-0:2.6.0.255/2 A4/1-0:2.6.0.255/3 A4/1-0:2.6.0.255/5",
	"ECS18b":  "A1/0-0:94.44.5.0/2 A1/0-0:94.44.5.1/2 A4/1-0:1.6.0.255/2 A4/1-0:1.6.0.255/3 A4/1-0:1.6.0.255/5 A4/1-0:1.6.1.255/2 A4/1-0:1.6.1.255/3 A4/1-0:1.6.1.255/5 A10/0-0:12.0.0.255/2",
	"ECS19":   "M30/0-0:43.2.1.255/1 A1/0-0:94.44.34.30/2",
	"ECS20a":  "A7/0-0:98.1.4.255/2",
	"ECS20b":  "M30/0-0:43.2.3.255/1 A7/0-0:98.1.2.255/2",
	"ECS20c":  "M30/0-0:43.2.2.255/1 A7/0-0:98.1.0.255/2 A7/0-0:98.1.1.255/2",
	"ECS20d":  "A7/0-0:98.1.5.255/2",
	"ECS21a":  "M30/0-0:43.2.5.255/1 A7/0-0:98.1.9.255/2",
	"ECS21b":  "M30/0-0:43.2.6.255/1 A7/0-0:98.1.8.255/2",
	"ECS21c":  "A7/0-0:98.1.10.255/2",
	"ECS22a":  "A7/0-0:99.1.1.255/2",
	"ECS22b":  "M30/0-0:43.2.7.255/1 A7/0-0:99.1.0.255/2",
	"ECS22c":  "A7/0-0:99.1.2.255/2",
	"ECS23":   "A3/1-0:32.32.0.4/2 A3/1-0:32.32.0.4/3 A3/1-0:32.36.0.4/2 A3/1-0:32.36.0.4/3 A7/1-0:32.24.0.255/2 A7/1-0:32.24.0.255/4",
	"ECS23b":  "A3/1-0:32.32.0.4/2 A3/1-0:32.32.0.4/3 A3/1-0:32.36.0.4/2 A3/1-0:32.36.0.4/3 A7/1-0:32.24.0.255/2 A7/1-0:32.24.0.255/4 A3/1-0:52.32.0.4/2 A3/1-0:52.32.0.4/3 A3/1-0:52.36.0.4/2 A3/1-0:52.36.0.4/3 A7/1-0:52.24.0.255/2 A7/1-0:52.24.0.255/4 A3/1-0:72.32.0.4/2 A3/1-0:72.32.0.4/3 A3/1-0:72.36.0.4/2 A3/1-0:72.36.0.4/3 A7/1-0:72.24.0.255/2 A7/1-0:72.24.0.255/4",
	"ECS24":   "A3/0-0:94.44.1.7/2 A3/0-0:94.44.1.7/3 A20/0-0:13.0.0.255/3 A20/0-0:13.0.0.255/4 A20/0-0:13.0.0.255/5 A11/0-0:11.0.0.255/2 A21/0-0:16.0.11.255/2 A21/0-0:16.0.12.255/2 A21/0-0:16.0.13.255/2 A21/0-0:16.0.14.255/2 A21/0-0:16.0.15.255/2 A21/0-0:16.0.16.255/2 A21/0-0:16.0.17.255/2 A21/0-0:16.0.18.255/2 A9000/0-0:94.44.2.0/2 A113/0-0:19.20.4.255/5 A113/0-0:19.20.0.255/5",
	"ECS24b":  "A113/0-0:19.20.5.255/5 A3/0-0:94.44.1.8/2 A3/0-0:94.44.1.8/3 A11/0-0:11.0.1.255/2 A20/0-0:13.0.1.255/3 A20/0-0:13.0.1.255/4 A20/0-0:13.0.1.255/5",
	"ECS25r1": "A1/0-30:97.98.15.255/2 A1/0-30:97.98.16.255/2 A1/0-30:97.98.17.255/2 A1/0-30:97.98.18.255/2",
	"ECS25r2": "A1/0-33:97.98.15.255/2 A1/0-33:97.98.18.255/2",
	"ECS26a":  "A113/0-0:19.20.1.255/5 A11/0-0:11.0.2.255/2 A113/0-0:19.20.1.255/8 A113/0-0:19.20.1.255/5 A113/0-0:19.20.2.255/5 A113/0-0:19.20.2.255/8 A113/0-0:19.20.2.255/5 A113/0-0:19.20.3.255/13 A9000/0-0:94.44.2.10/2 A21/0-0:16.0.1.255/2 A9000/0-0:94.44.2.20/2 A111/0-0:19.0.0.255/16 A111/0-0:19.0.0.255/18 A111/0-0:19.0.0.255/19 A112/0-0:19.10.1.255/9 A112/0-0:19.10.1.255/10 A10/0-0:12.0.1.255/2 A111/0-0:19.0.0.255/11",
	"ECS26b":  "A71/0-0:17.0.1.255/4 A71/0-0:17.0.1.255/6 A71/0-0:17.0.2.255/4 A71/0-0:17.0.2.255/6 A71/0-0:17.0.3.255/4 A71/0-0:17.0.3.255/6 A71/0-0:17.0.4.255/4 A71/0-0:17.0.4.255/6 A1/1-0:32.35.0.4/2 A1/1-0:32.31.0.4/2",
	"ECS26c":  "A1/0-0:94.44.0.0/2 A1/0-0:94.44.0.2/2 A1/0-0:94.44.0.1/2",
	"ECS26f":  "A21/0-0:16.0.0.255/2",
	"ECS26j":  "A111/0-0:19.0.0.255/2",
	"ECS26k":  "A71/0-0:17.0.1.255/4 A71/0-0:17.0.1.255/6 A71/0-0:17.0.2.255/4 A71/0-0:17.0.2.255/6 A71/0-0:17.0.3.255/4 A71/0-0:17.0.3.255/6 A71/0-0:17.0.4.255/4 A71/0-0:17.0.4.255/6 A1/1-0:32.35.0.4/2 A1/1-0:32.31.0.4/2 A1/1-0:52.31.0.4/2 A1/1-0:52.35.0.4/2 A1/1-0:72.31.0.4/2 A1/1-0:72.35.0.4/2",
	"ECS26l":  "A22/0-0:15.0.0.255/4",
	"ECS26m":  "A1/0-0:96.1.2.255/2 A1/0-0:96.1.4.255/2 A1/0-0:96.1.6.255/2 A1/0-0:94.44.0.4/2",
	"ECS26n":  "A1/0-0:96.1.4.255/2 A1/0-0:96.1.6.255/2",
	"ECS27":   "A9000/0-0:94.44.0.3/2 A3/0-0:94.44.42.255/2 A3/0-0:94.44.42.255/3 A71/0-0:17.0.0.255/4 A71/0-0:17.0.0.255/6 A71/0-0:17.0.0.255/7",
	"ECS35a":  "A7/0-0:99.98.0.255/2",
	"ECS35b":  "A7/0-0:99.98.1.255/2",
	"ECS35c":  "A7/0-0:99.98.0.255/2",
	"ECS35d":  "A7/0-0:99.98.1.255/2",
	"ECS35e":  "A7/0-0:99.98.4.255/2",
	"ECS35g":  "A7/0-17:99.98.2.255/2",
	"ECS40":   "A1/0-0:94.44.34.11/2 A1/1-0:0.0.2.255/2",
	"ECS45":   "A70/0-0:96.3.10.255/3",
	"ECS52":   "A1/0-0:0.2.1.255/2",
	"ECS61c":  "A1/0-0:94.44.7.255/2 A7/0-0:99.98.20.255/2 A1/0-0:94.44.6.1/2 A1/0-0:94.44.6.2/2 A1/0-0:94.44.6.3/2 A1/0-0:94.44.6.4/2 A1/0-0:94.44.6.5/2",
	"ECS61d":  "A1/0-0:94.44.0.11/2 A1/0-0:94.44.0.12/2 A1/0-0:94.44.0.13/2 A1/0-0:94.44.0.14/2 A1/0-0:94.44.0.15/2 A11/0-0:11.0.3.255/2 A10/0-0:12.0.2.255/2",
	"ECS61e":  "A1/0-0:94.44.0.21/2 A1/0-0:94.44.0.22/2 A1/0-0:94.44.0.23/2 A1/0-0:94.44.0.24/2 A1/0-0:94.44.0.25/2 A1/0-0:94.44.0.31/2 A1/0-0:94.44.0.32/2 A1/0-0:94.44.0.33/2 A1/0-0:94.44.0.34/2 A1/0-0:94.44.0.35/2",
	"ECS66":   "M30/0-0:43.2.4.255/1 A7/0-0:99.1.3.255/2",
	"ECS82":   "A112/0-0:19.10.0.255/2",
	"CCS06":   "A104/0-0:30.3.0.255/4",
	"DBCH01":  "A1/0-0:94.44.10.2/2",
	"DBCH02":  "A7/0-0:94.44.10.3/2",
	"DBCH03":  "A1/0-0:94.44.10.0/2",
}

type annexObj struct {
	method bool
	class  uint16
	obis   string
	id     uint8
}

func parseObjs(s string) []annexObj {
	var out []annexObj
	for _, f := range strings.Fields(s) {
		p := strings.Split(f, "/")
		cl, _ := strconv.Atoi(p[0][1:])
		id, _ := strconv.Atoi(p[2])
		out = append(out, annexObj{method: p[0][0] == 'M', class: uint16(cl), obis: p[1], id: uint8(id)})
	}
	return out
}

func init() {
	for uc, s := range dlmsReads {
		objs := parseObjs(s)
		builders[uc] = func(c *ctx) ([]byte, error) { return c.dlmsRead(objs) }
	}
}

// builders maps a use case name to its payload builder.
var builders = map[string]func(c *ctx) ([]byte, error){}

// isLog: a Profile Generic buffer, read by date range.
func (o annexObj) isLog() bool { return !o.method && o.class == 7 && o.id == 2 }

// logRange returns the ReadLogPeriod of the request, if any.
func (c *ctx) logRange() (from, to uint32, fromT, toT []byte, ok bool, err error) {
	s, ok1 := c.str("ReadLogPeriod/StartDateTime")
	e, ok2 := c.str("ReadLogPeriod/EndDateTime")
	if !ok1 || !ok2 {
		return 0, 0, nil, nil, false, nil
	}
	ts, err := parseTime(s)
	if err != nil {
		return 0, 0, nil, nil, false, c.errf("StartDateTime: %v", err)
	}
	te, err := parseTime(e)
	if err != nil {
		return 0, 0, nil, nil, false, c.errf("EndDateTime: %v", err)
	}
	return utcSeconds(ts), utcSeconds(te), dlmsDateTime(ts), dlmsDateTime(te), true, nil
}

// rangeRestrictingObject is the capture object GBCS 9.1.5 names for range
// reads of logs: IC1 0-0:94.44.100.255 a2 (UTC seconds since 2000). GBCS
// 9.1.5 is not among the sources; the object is the one every RTDS range
// read carries (see docs/transform.md).
func rangeDescriptor(from, to uint32) data {
	return structure(structure(longU(1), octets(obis("0-0:94.44.100.255")), integer(2), longU(0)), dlu(from), dlu(to), array())
}

func (c *ctx) dlmsRead(objs []annexObj) ([]byte, error) {
	if len(objs) > 0 && objs[0].method && objs[0].class == 30 {
		return c.protectedRead(objs[0].obis, objs[1:])
	}
	var items []item
	for _, o := range objs {
		if o.method {
			return nil, c.unsupported("read table holds a method")
		}
		if o.isLog() {
			from, to, _, _, ok, err := c.logRange()
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, c.unsupported(fmt.Sprintf("log %s read without a ReadLogPeriod: the selective access is not defined", o.obis))
			}
			items = append(items, item{kind: specGetSel, class: o.class, obis: o.obis, id: o.id, sel: 1, params: rangeDescriptor(from, to)})
			continue
		}
		items = append(items, get(o.class, o.obis, o.id))
	}
	return c.accessRequest(items...)
}

// protectedRead is IC30 Data Protection get_protected_attributes (GBCS
// notes §1.8): object list {class, OBIS, attribute, data-index 0,
// selective access} and protection parameters {2 authentication and
// encryption, {transaction-id 04 ‖ counter, originator, recipient, "",
// key-info {2 agreed key, {02 C(0e,2s) ECC CDH, ""}}}}. A log object
// The transaction-id carries the command's counter (the ACB's when it
// sends the read on the User's behalf); the originator system title is
// the User's (the party the response is protected for; RTDS URP form).
// A log object carries access selector 1 with its from/to DLMS date-times (RTDS form;
// GBCS 8.5 is not among the sources), other objects {0, null}.
func (c *ctx) protectedRead(dp string, objs []annexObj) ([]byte, error) {
	var list []data
	for _, o := range objs {
		sel := structure(enum(0), null())
		if o.isLog() {
			_, _, ft, tt, ok, err := c.logRange()
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, c.unsupported("protected log read without a ReadLogPeriod")
			}
			sel = structure(enum(1), structure(octets(ft), octets(tt)))
		}
		list = append(list, structure(longU(o.class), octets(obis(o.obis)), integer(int8(o.id)), longU(0), sel))
	}
	txid := append([]byte{byte(gbcs.CRAEncryption)}, be64(c.counter)...)
	params := array(structure(enum(2), structure(
		octets(txid), octets(c.rid.Originator[:]), octets(c.rid.Target[:]), octets(nil),
		structure(enum(2), structure(octets([]byte{0x02}), octets(nil))))))
	return c.accessRequest(action(30, dp, 1, structure(array(list...), params)))
}

func be64(v uint64) []byte {
	return []byte{byte(v >> 56), byte(v >> 48), byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}
