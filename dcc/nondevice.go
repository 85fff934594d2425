package dcc

import (
	"context"
	"errors"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/wan"
)

// WANCoverage is the smart-metering WAN coverage lookup behind 12.1 Request
// WAN Matrix (package wan implements it for the simulated WAN).
type WANCoverage interface {
	CoverageByUPRN(uprn uint64) (wan.Coverage, bool)
	CoverageByPostcode(postcode string) (wan.Coverage, error)
}

// nonDeviceResult is the synchronous answer to a non-device (CV 8) request.
type nonDeviceResult struct {
	Code string                         // I0, I99 or an SRV-specific E/W code
	Fill func(rm *duis.ResponseMessage) // the payload of an I0, or nil
}

// nonDevice processes an accepted non-device request inside the transaction
// that consumed its counter: a *Rejection (or any error) rolls everything
// back. 8.2 Read Inventory is answered from the inventory and not recorded;
// the other non-device services are recorded in store.Requests and answered
// I99 (their processing is described in docs/processing.md).
func (h *Handler) nonDevice(ctx context.Context, tx store.Repos, acc *Accepted, msg *duis.Message, data []byte, now time.Time) (*nonDeviceResult, error) {
	switch acc.SRV.Variant {
	case "8.2":
		inventory, err := readInventory(ctx, tx, msg)
		if err != nil {
			return nil, err
		}
		res := &nonDeviceResult{Code: "I0"}
		if len(inventory) > 0 {
			inv := &duis.DSPInventory{}
			for _, d := range inventory {
				inv.Device = append(inv.Device, inventoryDevice(d))
			}
			res.Fill = func(rm *duis.ResponseMessage) { rm.DSPInventory = inv }
		}
		return res, nil
	}
	if err := h.record(ctx, tx, acc, data, now); err != nil {
		return nil, err
	}
	return &nonDeviceResult{Code: "I99"}, nil
}

// maxInventory is the most devices a DSPInventory holds (DUIS 5.4).
const maxInventory = 17

// readInventory answers 8.2 from the Smart Metering Inventory: by DeviceID,
// MPxN or UPRN. The inventory keeps no postcode or address, so a
// PropertyFilter query matches nothing. At most 17 devices, by ID.
func readInventory(ctx context.Context, tx store.Repos, msg *duis.Message) ([]store.Device, error) {
	q := msg.Request.Body.ReadInventory
	if q == nil {
		return nil, nil
	}
	inv := tx.Inventory()
	switch {
	case q.DeviceID != nil:
		id, err := eui.Parse(*q.DeviceID)
		if err != nil {
			return nil, nil
		}
		d, err := inv.GetDevice(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []store.Device{d}, nil
	case q.MPxN != nil:
		return inv.ListDevices(ctx, store.DeviceFilter{MPxN: *q.MPxN, Limit: maxInventory})
	case q.UPRN != nil:
		return inv.ListDevices(ctx, store.DeviceFilter{UPRN: *q.UPRN, Limit: maxInventory})
	}
	return nil, nil
}
