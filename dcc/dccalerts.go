package dcc

// DCC Alerts (DUIS DCCAlertMessage): what the DCC itself tells Users, as
// opposed to Device Alerts it forwards. The public sources list the codes
// (AD1, N1…N65, N999) and the payload types but not which code carries which
// payload; the assignments here are OpenDCC's (docs/processing.md, "DCC
// Alerts").

import (
	"context"
	"fmt"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

// DCCAlertPowerOutage is the DCC Alert of a Communications Hub that lost
// power (PowerOutageEvent), for the Electricity Distributors of the
// premises. AD1 is the one code the schema sets apart from the N-codes.
const DCCAlertPowerOutage = "AD1"

// CommsHubPowerOutage is called by the WAN side (the CSP learns of a comms
// hub's outage from its last gasp) with the hub's CHF and when the power
// went. For every electricity metering point served by a meter on that hub,
// each Electricity Distributor registered for it at that time gets a DCC
// Alert AD1 PowerOutageEvent (one per MPAN: the payload names one). The
// alerts are queued in one transaction and delivered with the outbox's
// retries. It returns how many were queued.
func (p *Pipeline) CommsHubPowerOutage(ctx context.Context, chf eui.EUI64, at time.Time) (int, error) {
	now := p.now()
	meters, err := p.Store.Inventory().ListDevices(ctx, store.DeviceFilter{CHF: chf})
	if err != nil {
		return 0, err
	}
	var msgs []store.OutboxMessage
	seen := map[string]bool{}
	for _, m := range meters {
		if m.Type != store.DeviceESME {
			continue
		}
		for _, mpan := range []string{m.ImportMPxN, m.SecondaryImportMPAN, m.ExportMPAN} {
			if mpan == "" || seen[mpan] {
				continue
			}
			seen[mpan] = true
			eds, err := registeredParties(ctx, p.Store.Registrations(), []string{mpan}, at,
				func(r store.Registration) bool { return r.Role == store.RoleElectricityDistributor })
			if err != nil {
				return 0, err
			}
			for _, ed := range eds {
				msg, err := dccAlertMessage(p.Signer, p.ACB, ed, DCCAlertPowerOutage, duis.DCCAlert{
					PowerOutageEvent: &duis.PowerOutageEvent{CommsHubDeviceID: chf.String(),
						StartDateTime: at.UTC().Format("2006-01-02T15:04:05Z"), MPxN: mpan}}, now, len(msgs))
				if err != nil {
					return 0, err
				}
				msgs = append(msgs, msg)
			}
		}
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	err = p.Store.InTx(ctx, func(tx store.Repos) error {
		for _, m := range msgs {
			if _, err := tx.Outbox().Enqueue(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	p.poke()
	return len(msgs), nil
}

// deviceAlertCode is the GBCS alert code a device alert carries, written
// as DUIS AlertCode (4 hex digits): in a DLMS data-notification
// (0F ‖ invoke-id ‖ 00 ‖ structure ‖ long-unsigned code) or in a GBZ alert
// header (profile 0109 ‖ components ‖ code), gbcs.md §4–5, or as the
// first INTEGER of an ASN.1 alert's SEQUENCE; anything else is named by its
// message code.
func deviceAlertCode(messageCode uint16, content []byte) string {
	switch {
	case len(content) >= 11 && content[0] == 0x0F && content[5] == 0x00 && content[6] == 0x02 && content[8] == 0x12:
		return fmt.Sprintf("%02X%02X", content[9], content[10])
	case len(content) >= 5 && content[0] == 0x01 && content[1] == 0x09:
		return fmt.Sprintf("%02X%02X", content[3], content[4])
	case len(content) >= 2 && content[0] == 0x30:
		// ASN.1: SEQUENCE { alert-code INTEGER, alert-time, … }
		i := 2
		if l := content[1]; l > 0x80 && l <= 0x84 {
			i += int(l & 0x7F)
		}
		if i+2 <= len(content) && content[i] == 0x02 && content[i+1] >= 1 && content[i+1] <= 3 && i+2+int(content[i+1]) <= len(content) {
			v := 0
			for _, b := range content[i+2 : i+2+int(content[i+1])] {
				v = v<<8 | int(b)
			}
			if v <= 0xFFFF {
				return fmt.Sprintf("%04X", v)
			}
		}
	}
	return fmt.Sprintf("%04X", messageCode)
}

// DCCAlertDeviceStatusChange is the code OpenDCC gives DeviceStatusChangeEvent
// (N999: no public source gives it).
const DCCAlertDeviceStatusChange = "N999"

// decommissionAlerts tells the other parties of a decommissioned device,
// in the transaction that decommissioned it: every User registered now (in
// any role) for a metering point the device serves, but the one that asked,
// gets a DCC Alert DeviceStatusChangeEvent — MeterDecommissioningOrWithdrawal
// (the meter's MPxNs and its joined type 1 devices, at most 7) for a meter,
// CHFDecommissioning for a comms hub. Other device types send none.
func (h *Handler) decommissionAlerts(ctx context.Context, tx store.Repos, requester eui.EUI64, d store.Device, now time.Time) error {
	var change duis.DeviceStatusChange
	switch d.Type {
	case store.DeviceESME, store.DeviceGSME:
		m := &duis.MeterDecommissioningOrWithdrawal{MeterDecommissionOrWithdrawal: duis.MeterMPxNs{ImportMPxN: d.ImportMPxN}}
		if d.SecondaryImportMPAN != "" {
			s := d.SecondaryImportMPAN
			m.MeterDecommissionOrWithdrawal.SecondaryImportMPAN = &s
		}
		if d.ExportMPAN != "" {
			s := d.ExportMPAN
			m.MeterDecommissionOrWithdrawal.ExportMPAN = &s
		}
		joined, err := tx.Inventory().ListDevices(ctx, store.DeviceFilter{Meter: d.ID, Limit: 7})
		if err != nil {
			return err
		}
		for _, j := range joined {
			m.AssociatedType1Device = append(m.AssociatedType1Device, duis.AssociatedType1Device{DeviceID: j.ID.String(), DeviceType: string(j.Type)})
		}
		if d.ImportMPxN == "" {
			return nil // no metering point: nobody to tell
		}
		change.MeterDecommissioningOrWithdrawal = m
	case store.DeviceCHF:
		change.CHFDecommissioning = &duis.CHFDecommissioning{}
	default:
		return nil
	}
	sd := &StoreDirectory{Repos: tx, Ctx: ctx}
	mpxns, err := sd.mpxns(d.ID)
	if err != nil {
		return err
	}
	order, err := registeredParties(ctx, tx.Registrations(), mpxns, now, func(r store.Registration) bool { return r.Party != requester })
	if err != nil {
		return err
	}
	for i, user := range order {
		msg, err := dccAlertMessage(h.Signer, h.Access.DCC, user, DCCAlertDeviceStatusChange, duis.DCCAlert{
			DeviceStatusChangeEvent: &duis.DeviceStatusChangeEvent{DeviceID: d.ID.String(), DeviceStatusChange: change}}, now, i)
		if err != nil {
			return err
		}
		if _, err := tx.Outbox().Enqueue(ctx, msg); err != nil {
			return err
		}
	}
	return nil
}

// dccAlertMessage signs a DCC Alert for user and makes its outbox message.
// The ResponseID is DCC:user:stamp, the stamp the time in nanoseconds plus
// seq, so that the alerts made in one go differ; the document is stored,
// so a redelivery repeats it.
func dccAlertMessage(s *Signer, dcc, user eui.EUI64, code string, alert duis.DCCAlert, now time.Time, seq int) (store.OutboxMessage, error) {
	id := fmt.Sprintf("%s:%s:%d", dcc, user, now.UnixNano()+int64(seq))
	doc, err := s.Response(ResponseParts{ResponseID: id, Code: "I0", Time: now,
		DCCAlert: &duis.DCCAlertMessage{DCCAlertCode: code, DCCAlert: alert}})
	if err != nil {
		return store.OutboxMessage{}, err
	}
	return store.OutboxMessage{ID: id, Recipient: user, Kind: "dcc-alert", Payload: doc, CreatedAt: now, NextAttempt: now}, nil
}

// endHoldWithAlert deletes a hold and queues the DCC Alert that tells why,
// in one transaction; nothing is queued when the hold is gone already.
func (p *Pipeline) endHoldWithAlert(ctx context.Context, holdID string, msg store.OutboxMessage) error {
	err := p.Store.InTx(ctx, func(tx store.Repos) error {
		if ok, err := tx.Holds().CancelHold(ctx, holdID); err != nil || !ok {
			return err
		}
		_, err := tx.Outbox().Enqueue(ctx, msg)
		return err
	})
	if err == nil {
		p.poke()
	}
	return err
}

// registeredParties lists, once each and in the order met, the parties
// registered at `at` for any of mpxns whose registration keep accepts:
// who is told of what happens to the devices serving those points.
func registeredParties(ctx context.Context, regs store.Registrations, mpxns []string, at time.Time, keep func(store.Registration) bool) ([]eui.EUI64, error) {
	seen := map[eui.EUI64]bool{}
	var out []eui.EUI64
	for _, mp := range mpxns {
		rs, err := regs.RegisteredAt(ctx, mp, at)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if !seen[r.Party] && keep(r) {
				seen[r.Party] = true
				out = append(out, r.Party)
			}
		}
	}
	return out, nil
}

// isSupplier: the import, export and gas suppliers, to whom device alerts
// go.
func isSupplier(r store.Registration) bool {
	switch r.Role {
	case store.RoleImportSupplier, store.RoleExportSupplier, store.RoleGasSupplier:
		return true
	}
	return false
}
