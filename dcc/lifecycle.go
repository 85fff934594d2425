package dcc

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

// lifecycle applies to the Smart Metering Inventory what a device's
// successful answer (I0) to a request establishes, in the transaction that
// finishes the request (docs/processing.md, "Inventory life cycle"):
//
//   - 8.11 Update HAN Device Log, Add: the device is on the comms hub's
//     whitelist — its CHF becomes the target hub and a Pending device
//     becomes Whitelisted (Remove changes only the hub's whitelist).
//   - 8.1.1 Commission Device: the device becomes Commissioned.
//   - 8.7.1 / 8.7.2 Join: a type 1 device (PPMID, HCALCS, IHD, CAD) joined
//     to a meter records that meter (either way round); 8.8.x Unjoin drops
//     it.
func lifecycle(ctx context.Context, tx store.Repos, r store.Request, now time.Time) error {
	switch r.SRV {
	case "8.11", "8.1.1", "8.7.1", "8.7.2", "8.8.1", "8.8.2":
	default:
		return nil
	}
	inv := tx.Inventory()
	target, err := inv.GetDevice(ctx, r.Target)
	if err != nil {
		return ignoreNotFound(err)
	}
	reason := "device answered " + r.SRV + " " + r.ID
	if r.SRV == "8.1.1" {
		_, err := inv.SetStatus(ctx, target.ID, "", store.StatusCommissioned, now, reason)
		if errors.Is(err, store.ErrInvalidTransition) {
			return nil // e.g. already Commissioned, or Decommissioned meanwhile
		}
		return err
	}
	body, err := requestBody(r)
	if err != nil || body == nil {
		return nil
	}
	switch r.SRV {
	case "8.11":
		log := body.UpdateHANDeviceLog
		if log == nil {
			return nil
		}
		id, err := eui.Parse(log.DeviceID)
		if err != nil {
			return nil
		}
		d, err := inv.GetDevice(ctx, id)
		if err != nil {
			return ignoreNotFound(err)
		}
		switch strings.TrimSpace(log.RequestType) {
		case "Add":
			d.CHF = target.ID
			if _, err := inv.UpdateDevice(ctx, d); err != nil {
				return err
			}
			if d.Status == store.StatusPending {
				_, err = inv.SetStatus(ctx, d.ID, store.StatusPending, store.StatusWhitelisted, now, reason)
			}
			return err
		}
		// Remove takes the device off the hub's whitelist (the hub's own
		// state); the inventory keeps where it is installed until 8.3 or
		// 8.4 changes that.
	case "8.7.1", "8.7.2", "8.8.1", "8.8.2":
		var j *duis.JoinOrUnjoinDevice
		for _, x := range []*duis.JoinOrUnjoinDevice{body.JoinServiceCritical, body.JoinServiceNonCritical, body.UnjoinServiceCritical, body.UnjoinServiceNonCritical} {
			if x != nil {
				j = x
			}
		}
		if j == nil {
			return nil
		}
		id, err := eui.Parse(j.OtherDeviceID)
		if err != nil {
			return nil
		}
		other, err := inv.GetDevice(ctx, id)
		if err != nil {
			return ignoreNotFound(err)
		}
		join := strings.HasPrefix(r.SRV, "8.7")
		for _, pair := range [][2]store.Device{{other, target}, {target, other}} {
			dev, meter := pair[0], pair[1]
			if !typeOne(dev.Type) || (meter.Type != store.DeviceESME && meter.Type != store.DeviceGSME) {
				continue
			}
			switch {
			case join:
				dev.Meter = meter.ID
			case dev.Meter == meter.ID:
				dev.Meter = eui.EUI64{}
			default:
				continue
			}
			_, err := inv.UpdateDevice(ctx, dev)
			return err
		}
	}
	return nil
}

func typeOne(t store.DeviceType) bool {
	switch t {
	case store.DevicePPMID, store.DeviceHCALCS, store.DeviceIHD, store.DeviceCAD:
		return true
	}
	return false
}

func ignoreNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// requestBody decodes the body of the recorded DUIS request.
func requestBody(r store.Request) (*duis.RequestBody, error) {
	var meta requestMeta
	if err := json.Unmarshal(r.Meta, &meta); err != nil || len(meta.Request) == 0 {
		return nil, err
	}
	msg, err := duis.Decode(meta.Request)
	if err != nil || msg.Request == nil {
		return nil, err
	}
	return &msg.Request.Body, nil
}
