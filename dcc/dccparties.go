package dcc

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload"
	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/transform"
)

// The DCC's own parties and DCC-held device state that transform needs
// besides the request (docs/processing.md, "DCC parties and DCC-held
// state"):
//
//   - the Transitional CoS party, originator of 6.23 (CS02b
//     supplierByTransCoS) with counters from its own durable space;
//   - the answer routing of a command a DCC party sends as its own (6.21 by
//     the ACB, 6.23 by the Transitional CoS party): the device answers the
//     party with the party's counter, not the User's;
//   - a CHF's HAN record for 8.12.1 Restore HAN Device Log (CCS03), kept
//     from the CHF's backup_PAN answers (8.9 Read Device Log, CCS07);
//   - a GPF's device log for 8.12.2 Restore GPF Device Log (GCS59),
//     derived from the joins the inventory records (lifecycle.go).

// DCCParties are the DCC's remote parties other than the ACB (Pipeline.ACB):
// their EUIs come from the DCC's configuration (server: the organisation
// certificates of the DCC's trust store); their signing keys are in the
// Pipeline's Security key store.
type DCCParties struct {
	// TransCoS is the Transitional Change of Supplier party (remote party
	// role 5). Zero: 6.23 cannot be sent.
	TransCoS eui.EUI64
}

// partyCounterKey is the durable space of a DCC party's GBCS originator
// counters (as acbCounterKey for the ACB): Unix milliseconds or more,
// strictly increasing.
func partyCounterKey(party eui.EUI64) store.CounterKey {
	return store.CounterKey{Space: "gbcs", Originator: party}
}

// Hold kinds of the DCC-held state (store.Holds: durable, keyed by ID).
const (
	// holdKindPartyCommand routes the answer to a DCC party's own command
	// to its request: ID partyCommandID(party, counter), released (deleted)
	// once the answer can no longer come.
	holdKindPartyCommand = "party-command"
	// holdKindHANBackup is a CHF's HAN record: ID hanBackupID(chf), never
	// released (ReleaseAt far in the future), replaced by a newer backup.
	holdKindHANBackup = "han-backup"
)

// holdForever is the release time of records that are never released.
var holdForever = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

func partyCommandID(party eui.EUI64, counter uint64) string {
	return fmt.Sprintf("party-command:%s:%d", party, counter)
}

func hanBackupID(chf eui.EUI64) string { return "han-backup:" + chf.String() }

// dccOptions fills the Options that carry the DCC's parties and DCC-held
// state, read inside tx.
func (p *Pipeline) dccOptions(ctx context.Context, tx store.Repos, opts *transform.Options) {
	opts.TransCoS = p.Parties.TransCoS
	opts.HANBackup = func(chf eui.EUI64) (transform.HANBackup, bool) {
		b, err := HANBackupOf(ctx, tx, chf)
		return b, err == nil
	}
	opts.GPFDeviceLog = func(gpf eui.EUI64) ([]transform.LogDevice, bool) {
		l, err := gpfDeviceLog(ctx, tx, gpf)
		return l, err == nil
	}
}

// partyCommand finishes a command a DCC party other than the User
// originates as its own (no supplementary remote party): the Transitional
// CoS party's takes its next counter (rebuilt) and its signature; every
// such command records where the device's answer, addressed to the party
// with the party's counter, belongs.
func (p *Pipeline) partyCommand(ctx context.Context, tx store.Repos, acc *Accepted, build func(transform.Options) (*gbcs.Message, error),
	opts transform.Options, m *gbcs.Message, now time.Time) (*gbcs.Message, error) {
	if m.Originator == acc.ID.Originator || m.HasSupplementaryRemoteParty {
		return m, nil
	}
	if tc := p.Parties.TransCoS; tc != (eui.EUI64{}) && m.Originator == tc {
		c, err := tx.Counters().Next(ctx, partyCounterKey(tc), uint64(now.UnixMilli()))
		if err != nil {
			return nil, err
		}
		opts.TransCoSCounter = c
		if m, err = build(opts); err != nil {
			return nil, err
		}
		if err := p.Security.Sign(m, nil); err != nil {
			return nil, fmt.Errorf("dcc: Transitional CoS signature of the command for %s: %w", acc.ID.Target, err)
		}
	}
	// The answer may come until the deadline after the execution time (a
	// DSP-pattern future-dated request is sent then; a cancellation is sent
	// and answered now); the record goes a day after that.
	start := now
	if acc.Execute.After(now) && !acc.Cancellation() {
		start = acc.Execute
	}
	id := partyCommandID(m.Originator, m.OriginatorCounter)
	if _, err := tx.Holds().PutHold(ctx, store.Hold{ID: id, Kind: holdKindPartyCommand, Owner: acc.ID.Originator,
		RequestID: acc.ID.Canonical(), ReleaseAt: start.Add(p.deadline() + 24*time.Hour), CreatedAt: now}); err != nil {
		return nil, err
	}
	return m, nil
}

// deviceFutureDated reports whether a future-dated request of srv goes to
// the device at once, the command carrying the execution time (the device
// pattern), rather than being held by the DCC until then. 6.23, the one
// SRV whose pattern is "DSP & Device", is sent at once: its CS02b carries
// the execution time and the device answers at once, reporting the
// execution later by alert (RTDS 6.23 FUTURE_DATED command, response and
// 8F66 alert); holding it as well would send the time only when it is due.
func deviceFutureDated(srv *duis.SRV) bool {
	return srv.FutureDated == duis.FutureDatedDevice || srv.FutureDated == duis.FutureDatedDSPAndDevice
}

// partyRequest finds the request a device answered when the answer is
// addressed to a DCC party with the party's own counter (partyCommand).
func (p *Pipeline) partyRequest(ctx context.Context, party eui.EUI64, counter uint64) (store.Request, error) {
	h, err := p.Store.Holds().GetHold(ctx, partyCommandID(party, counter))
	if err != nil {
		return store.Request{}, err
	}
	return p.Store.Requests().GetRequest(ctx, h.RequestID)
}

// hanBackupRecord is the stored form of a HAN record.
type hanBackupRecord struct {
	ExtendedPANID string            `json:"extendedPanId"` // hex, 8 octets
	Devices       []hanBackupDevice `json:"devices"`
	At            time.Time         `json:"at"`
	Source        string            `json:"source"`
}

type hanBackupDevice struct {
	ID  string `json:"id"`  // EUI
	Key string `json:"key"` // hex, 16 octets: the hashed TC link key
}

// RecordHANBackup stores b as the DCC's record of chf's HAN, replacing an
// older one (source says where it came from, e.g. the answering request).
func RecordHANBackup(ctx context.Context, tx store.Repos, chf eui.EUI64, b transform.HANBackup, at time.Time, source string) error {
	rec := hanBackupRecord{ExtendedPANID: hex.EncodeToString(b.ExtendedPANID[:]), At: at.UTC(), Source: source}
	for _, d := range b.Devices {
		rec.Devices = append(rec.Devices, hanBackupDevice{ID: d.ID.String(), Key: hex.EncodeToString(d.HashedLinkKey[:])})
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	id := hanBackupID(chf)
	if _, err := tx.Holds().CancelHold(ctx, id); err != nil {
		return err
	}
	_, err = tx.Holds().PutHold(ctx, store.Hold{ID: id, Kind: holdKindHANBackup, Owner: chf, ReleaseAt: holdForever, Payload: raw, CreatedAt: at})
	return err
}

// HANBackupOf reads the DCC's record of chf's HAN (store.ErrNotFound if
// none).
func HANBackupOf(ctx context.Context, tx store.Repos, chf eui.EUI64) (transform.HANBackup, error) {
	var b transform.HANBackup
	h, err := tx.Holds().GetHold(ctx, hanBackupID(chf))
	if err != nil {
		return b, err
	}
	var rec hanBackupRecord
	if err := json.Unmarshal(h.Payload, &rec); err != nil {
		return b, err
	}
	pan, err := hex.DecodeString(rec.ExtendedPANID)
	if err != nil || len(pan) != 8 {
		return b, fmt.Errorf("dcc: HAN record of %s: extended PAN ID %q", chf, rec.ExtendedPANID)
	}
	copy(b.ExtendedPANID[:], pan)
	for _, d := range rec.Devices {
		id, err := eui.Parse(d.ID)
		key, kerr := hex.DecodeString(d.Key)
		if err != nil || kerr != nil || len(key) != 16 {
			return b, fmt.Errorf("dcc: HAN record of %s: device %q", chf, d.ID)
		}
		hd := transform.HANDevice{ID: id}
		copy(hd.HashedLinkKey[:], key)
		b.Devices = append(b.Devices, hd)
	}
	return b, nil
}

// recordHANBackup keeps, from a CHF's successful answer to 8.9 Read Device
// Log (CCS07), its device log's backup_PAN: {backup time, extended PAN ID,
// [{EUI, hashed TC link key}]} (RTDS CCS07; the first of the answer's two
// logs, 0-0:30.3.0.255 — the second is the historic log of the devices
// removed). Anything else is left alone.
func recordHANBackup(ctx context.Context, tx store.Repos, r store.Request, response []byte, now time.Time) error {
	if r.SRV != "8.9" || len(response) == 0 {
		return nil
	}
	m, err := gbcs.Parse(response)
	if err != nil || m.MessageCode != 0x00FE || m.Originator != r.Target {
		return nil
	}
	root, err := payload.Decode(m.MessageCode, m.Content, payload.Options{})
	if err != nil {
		return nil
	}
	var backup *payload.Node
	root.Walk(func(n *payload.Node) bool {
		if backup != nil {
			return false
		}
		if n.Type == "structure" && len(n.Children) == 3 && n.Children[2].Type == "array" {
			backup = n
			return false
		}
		return true
	})
	if backup == nil {
		return nil
	}
	pan, err := backup.Children[1].Octets()
	if err != nil || len(pan) != 8 {
		return nil
	}
	var b transform.HANBackup
	copy(b.ExtendedPANID[:], pan)
	for _, d := range backup.Children[2].Children {
		if len(d.Children) != 2 {
			return nil
		}
		id, err1 := d.Children[0].Octets()
		key, err2 := d.Children[1].Octets()
		if err1 != nil || err2 != nil || len(id) != 8 || len(key) != 16 {
			return nil
		}
		var hd transform.HANDevice
		copy(hd.ID[:], id)
		copy(hd.HashedLinkKey[:], key)
		b.Devices = append(b.Devices, hd)
	}
	return RecordHANBackup(ctx, tx, r.Target, b, now, "CCS07 answer to "+r.ID)
}

// gpfDeviceLog is the old GPF's device log as the inventory knows it: the
// type 1 and type 2 devices (PPMID, HCALCS, IHD, CAD) joined to the GPF
// itself or to a gas meter the inventory associates with it (GSME.GPF).
// The joins are those lifecycle.go records (8.7 Join: the device's Meter);
// a gas meter moves to a new GPF only after the restore.
func gpfDeviceLog(ctx context.Context, tx store.Repos, gpf eui.EUI64) ([]transform.LogDevice, error) {
	inv := tx.Inventory()
	g, err := inv.GetDevice(ctx, gpf)
	if err != nil {
		return nil, err
	}
	if g.Type != store.DeviceGPF {
		return nil, fmt.Errorf("dcc: %s is a %s, not a GPF: %w", gpf, g.Type, store.ErrNotFound)
	}
	meters := []eui.EUI64{gpf}
	if g.CHF != (eui.EUI64{}) {
		ds, err := inv.ListDevices(ctx, store.DeviceFilter{CHF: g.CHF})
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if d.Type == store.DeviceGSME && d.GPF == gpf {
				meters = append(meters, d.ID)
			}
		}
	}
	var out []transform.LogDevice
	for _, m := range meters {
		ds, err := inv.ListDevices(ctx, store.DeviceFilter{Meter: m})
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if typeOne(d.Type) {
				out = append(out, transform.LogDevice{ID: d.ID, Type: transform.DeviceType(d.Type)})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return string(out[i].ID[:]) < string(out[j].ID[:]) })
	return out, nil
}
