package dcc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
// back, the counter included. The services are carried out synchronously
// (docs/nondevice.md):
//
//   - 8.2 Read Inventory and 12.1 Request WAN Matrix read state and answer I0
//     with their payload (DSPInventory, DSPWANMatrix); they are not recorded.
//   - 12.2, 8.3, 8.4 and 8.14.1–8.14.4 change the Smart Metering Inventory.
//     Their schema has no response element, so success is I99 ("success of
//     a non-device request with no XML data"); the request is recorded in
//     store.Requests and finished at once (state responded, outcome I99).
//   - 5.1–5.3 manage DCC Schedules (schedules.go): 5.1 answers I0 with the
//     DSPScheduleID, 5.2 I0 with DSPSchedulesRead, 5.3 I99.
//   - 11.1 / 11.4 distribute a firmware image (firmware.go): I99, or I0 with
//     the warning lists.
//   - 8.6 answers I0 DSPOptIn with the ACB's certificates (optin.go); 8.13
//     takes back the answer to a locally delivered command (localresponse.go).
func (h *Handler) nonDevice(ctx context.Context, tx store.Repos, acc *Accepted, msg *duis.Message, data []byte, now time.Time) (*nonDeviceResult, error) {
	body := msg.Request.Body
	var err error
	switch acc.SRV.Variant {
	case "5.1", "5.2", "5.3", "11.1", "11.4", "8.6", "8.13":
		var res *nonDeviceResult
		var answer []byte // kept with the record: 8.13's device answer
		switch {
		case body.UpdateFirmware != nil:
			q := body.UpdateFirmware
			res, err = updateFirmware(ctx, tx, acc, q.FirmwareImage, q.FirmwareVersion, q.DeviceIDList, false, now)
		case body.UpdatePPMIDFirmware != nil:
			q := body.UpdatePPMIDFirmware
			res, err = updateFirmware(ctx, tx, acc, q.FirmwareImage, q.FirmwareVersion, q.DeviceIDList, true, now)
		case body.CreateSchedule != nil:
			res, err = h.createSchedule(ctx, tx, acc, body.CreateSchedule, now)
		case body.ReadSchedule != nil:
			res, err = readSchedules(ctx, tx, acc, body.ReadSchedule)
		case body.DeleteSchedule != nil:
			res, err = deleteSchedules(ctx, tx, acc, body.DeleteSchedule, now)
		case body.ServiceOptIn != nil:
			res, err = h.serviceOptIn(ctx, tx, acc, body.ServiceOptIn)
		case body.ReturnLocalCommandResponse != nil:
			res = &nonDeviceResult{Code: "I99"}
			_, answer, err = h.returnLocalResponse(ctx, tx, acc, body.ReturnLocalCommandResponse, now)
		default:
			err = reject(CodeSchemaInvalid, "%s without its body", acc.SRV.Variant)
		}
		if err != nil {
			return nil, err
		}
		if acc.SRV.Variant != "5.2" { // 5.2 only reads
			if err := h.recordFinal(ctx, tx, acc, data, res.Code, answer, now); err != nil {
				return nil, err
			}
		}
		return res, nil
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
	case "12.1":
		if body.RequestWANMatrix == nil {
			return nil, reject(CodeSchemaInvalid, "12.1 without RequestWANMatrix")
		}
		m := h.wanMatrix(body.RequestWANMatrix)
		return &nonDeviceResult{Code: "I0", Fill: func(rm *duis.ResponseMessage) { rm.DSPWANMatrix = m }}, nil
	case "12.2":
		err = preNotify(ctx, tx, body.DevicePrenotification, now)
	case "8.3":
		if err = decommission(ctx, tx, acc, body.DecommissionDevice, now); err == nil {
			// the other parties of the device learn it by DCC Alert
			var d store.Device
			if d, err = getDevice(ctx, tx, body.DecommissionDevice.DeviceID); err == nil {
				err = h.decommissionAlerts(ctx, tx, acc.User.ID, d, now)
			}
		}
	case "8.4":
		err = updateInventory(ctx, tx, acc, body.UpdateInventory, now)
	case "8.14.1":
		if q := body.CHFInstallSuccessSMWAN; q != nil {
			err = chfInstalled(ctx, tx, acc, q.DeviceID, q.MPxN, now, "8.14.1 install success (SM WAN)")
		} else {
			err = reject(CodeSchemaInvalid, "8.14.1 without CHFInstallSuccessSMWAN")
		}
	case "8.14.2":
		if q := body.CHFInstallSuccessNoSMWAN; q != nil {
			err = chfInstalled(ctx, tx, acc, q.DeviceID, q.MPxN, now, "8.14.2 install success, no SM WAN")
		} else {
			err = reject(CodeSchemaInvalid, "8.14.2 without CHFInstallSuccessNoSMWAN")
		}
	case "8.14.3":
		if q := body.CHFFaultReturn; q != nil {
			err = chfReturned(ctx, tx, acc, q.DeviceID, q.CHFFaultReturnType, now, "8.14.3 fault return: "+q.CHFFaultReturnType+": "+q.CHFFaultReason)
		} else {
			err = reject(CodeSchemaInvalid, "8.14.3 without CHFFaultReturn")
		}
	case "8.14.4":
		if q := body.CHFNoFaultReturn; q != nil {
			err = chfReturned(ctx, tx, acc, q.DeviceID, "", now, "8.14.4 no fault return: "+q.CHFNoFaultReturnType)
		} else {
			err = reject(CodeSchemaInvalid, "8.14.4 without CHFNoFaultReturn")
		}
	default:
		// every non-device SRV of the catalogue has a case above
		return nil, fmt.Errorf("dcc: no handler for non-device SRV %s", acc.SRV.Variant)
	}
	if err != nil {
		return nil, err
	}
	if err := h.recordFinal(ctx, tx, acc, data, "I99", nil, now); err != nil {
		return nil, err
	}
	return &nonDeviceResult{Code: "I99"}, nil
}

// recordFinal records a non-device request that was carried out, already
// final (state responded, its outcome and any payload kept), as the audit
// trail.
func (h *Handler) recordFinal(ctx context.Context, tx store.Repos, acc *Accepted, data []byte, code string, response []byte, now time.Time) error {
	if err := h.record(ctx, tx, acc, data, now); err != nil {
		return err
	}
	_, err := tx.Requests().Finish(ctx, acc.ID.Canonical(), store.RequestResponded, code, response, now)
	return err
}

// SRV-specific response codes of the non-device services. DUIS 5.4
// enumerates them without published meanings (except E120201, DP316); the
// assignment is OpenDCC's and is documented in docs/nondevice.md.
const (
	CodePrenotifySameGPF       = "E120201" // 12.2: AssociatedGPFDeviceID is the device itself
	CodePrenotifyExists        = "E120203" // 12.2: the device (or its GPF) is already in the inventory
	CodePrenotifyAssociation   = "E120204" // 12.2: AssociatedGPFDeviceID not usable for this device
	CodeDecommissionStatus     = "E080301" // 8.3: the device's status does not allow decommissioning
	CodeUpdateStatus           = "E080405" // 8.4: status change outside the SMI life cycle
	CodeDeleteInService        = "E080406" // 8.4: DeleteDevice of a device that is in service
	CodeDeleteReferenced       = "E080407" // 8.4: DeleteDevice of a device other devices are associated with
	CodeUpdateDetailsEmpty     = "E080408" // 8.4: UpdateDeviceDetails with no detail
	CodeCHInstallStatus        = "E081401" // 8.14.1/8.14.2: the CHF is not awaiting installation
	CodeCHReturnStatus         = "E081402" // 8.14.3/8.14.4: the CHF is already withdrawn or decommissioned
	CodeCHFaultReturnType      = "E081405" // 8.14.3: fault return type contradicts the CHF's status
	CodeWANLocationUnknown     = "E120101" // 12.1 (per CSP region): UPRN not known to the WAN matrix
	CodeWANPostcodeUnreadable  = "E120102" // 12.1 (per CSP region): postcode the WAN matrix cannot read
	CodeWANCoverageUnavailable = "E120103" // 12.1 (per CSP region): no WAN coverage data at all
)

// parseDeviceID reads a body DeviceID (schema-valid, so it parses; a failure
// is treated as a device that does not exist).
func parseDeviceID(s string) (eui.EUI64, error) {
	id, err := eui.Parse(s)
	if err != nil {
		return id, reject("E19", "device %q does not exist", s)
	}
	return id, nil
}

// getDevice returns the inventory entry or an E19 rejection.
func getDevice(ctx context.Context, tx store.Repos, s string) (store.Device, error) {
	id, err := parseDeviceID(s)
	if err != nil {
		return store.Device{}, err
	}
	d, err := tx.Inventory().GetDevice(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return d, reject("E19", "device %s is not in the inventory", id)
	}
	return d, err
}

// eligibleRoles are the user's roles that may use the SRV.
func eligibleRoles(acc *Accepted) []duis.Role {
	var out []duis.Role
	for _, r := range acc.User.Roles {
		if srvEligible(acc.SRV, r) {
			out = append(out, r)
		}
	}
	return out
}

// checkEligible applies E4 to a device named in a non-device request: the
// user must be registered, in one of its roles eligible for the SRV, for a
// metering point of the device at `at` (as StoreDirectory.Eligible). A device
// with no metering point reachable (pre-notified stock, a CH not yet
// installed) is not anybody's yet: if allowUnassociated, any user the SRV
// admits may act on it.
func checkEligible(ctx context.Context, tx store.Repos, acc *Accepted, d store.Device, at time.Time, allowUnassociated bool) error {
	sd := &StoreDirectory{Repos: tx, Ctx: ctx}
	mpxns, err := sd.mpxns(d.ID)
	if err != nil {
		return err
	}
	if len(mpxns) == 0 && allowUnassociated {
		return nil
	}
	roles := eligibleRoles(acc)
	for _, role := range roles {
		ok, err := sd.Eligible(acc.User.ID, role, d.ID, at)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	return reject("E4", "user %s is not registered for device %s at %s in roles %v", acc.User.ID, d.ID, at.UTC().Format(time.RFC3339), roles)
}

// checkRegisteredFor applies E4 to a metering point named in a request.
func checkRegisteredFor(ctx context.Context, tx store.Repos, acc *Accepted, mpxn string, at time.Time) error {
	roles := eligibleRoles(acc)
	for _, role := range roles {
		ok, err := tx.Registrations().IsRegistered(ctx, mpxn, store.Role(role), acc.User.ID, at)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	return reject("E4", "user %s is not registered for MPxN %s at %s in roles %v", acc.User.ID, mpxn, at.UTC().Format(time.RFC3339), roles)
}

// setStatus moves a device to status to, mapping a life-cycle refusal onto
// code.
func setStatus(ctx context.Context, tx store.Repos, d store.Device, to store.DeviceStatus, at time.Time, reason, code string) error {
	_, err := tx.Inventory().SetStatus(ctx, d.ID, d.Status, to, at, reason)
	if errors.Is(err, store.ErrInvalidTransition) {
		return reject(code, "device %s: %s → %s is not in the SMI life cycle", d.ID, d.Status, to)
	}
	return err
}

// ---------------------------------------------------------------- 12.2

// preNotify adds a device to the Smart Metering Inventory in status Pending
// (12.2 Device Pre-notification).
func preNotify(ctx context.Context, tx store.Repos, q *duis.DevicePrenotification, now time.Time) error {
	if q == nil {
		return reject(CodeSchemaInvalid, "12.2 without DevicePrenotification")
	}
	id, err := eui.Parse(q.DeviceID)
	if err != nil {
		return reject(CodeSchemaInvalid, "12.2 DeviceID %q: %v", q.DeviceID, err)
	}
	inv := tx.Inventory()
	d := store.Device{
		ID:              id,
		Type:            store.DeviceType(q.DeviceType),
		Status:          store.StatusPending,
		StatusSince:     now,
		Manufacturer:    q.DeviceManufacturer,
		Model:           q.DeviceModel,
		SMETSVersion:    deref(q.SMETSCHTSVersion),
		FirmwareVersion: deref(q.FirmwareVersion),
		ESMEVariant:     deref(q.ESMEVariant),
	}
	var newGPF *store.Device
	if q.AssociatedGPFDeviceID != nil {
		gpfID, err := eui.Parse(*q.AssociatedGPFDeviceID)
		if err != nil {
			return reject(CodeSchemaInvalid, "12.2 AssociatedGPFDeviceID %q: %v", *q.AssociatedGPFDeviceID, err)
		}
		if gpfID == id {
			return reject(CodePrenotifySameGPF, "12.2: device %s is its own associated GPF", id)
		}
		g, err := inv.GetDevice(ctx, gpfID)
		found := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		switch d.Type {
		case store.DeviceCHF:
			// A communications hub is pre-notified as its CHF; its GPF
			// is added with it (same hardware), linked to the CHF.
			if found {
				return reject(CodePrenotifyExists, "12.2: GPF %s of CHF %s is already in the inventory", gpfID, id)
			}
			g := d
			g.ID, g.Type, g.CHF, g.ESMEVariant = gpfID, store.DeviceGPF, id, ""
			newGPF = &g
		case store.DeviceGSME:
			// A gas meter is pre-notified with the GPF that will proxy it,
			// which must be known.
			if !found || g.Type != store.DeviceGPF {
				return reject(CodePrenotifyAssociation, "12.2: associated GPF %s of GSME %s is not a GPF in the inventory", gpfID, id)
			}
			d.GPF, d.CHF = g.ID, g.CHF
		default:
			return reject(CodePrenotifyAssociation, "12.2: a %s has no associated GPF", d.Type)
		}
	}
	if err := inv.AddDevice(ctx, d, "12.2 device pre-notification"); err != nil {
		if errors.Is(err, store.ErrExists) {
			return reject(CodePrenotifyExists, "12.2: device %s is already in the inventory", id)
		}
		return err
	}
	if newGPF != nil {
		if err := inv.AddDevice(ctx, *newGPF, "12.2 device pre-notification (GPF of "+id.String()+")"); err != nil {
			if errors.Is(err, store.ErrExists) {
				return reject(CodePrenotifyExists, "12.2: device %s is already in the inventory", newGPF.ID)
			}
			return err
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ---------------------------------------------------------------- 8.3

// decommission sets a device's SMI status to Decommissioned (8.3).
func decommission(ctx context.Context, tx store.Repos, acc *Accepted, q *duis.DecommissionDevice, now time.Time) error {
	if q == nil {
		return reject(CodeSchemaInvalid, "8.3 without DecommissionDevice")
	}
	d, err := getDevice(ctx, tx, q.DeviceID)
	if err != nil {
		return err
	}
	if err := checkEligible(ctx, tx, acc, d, now, false); err != nil {
		return err
	}
	if d.Status == store.StatusDecommissioned {
		return reject(CodeDecommissionStatus, "8.3: device %s is already Decommissioned", d.ID)
	}
	return setStatus(ctx, tx, d, store.StatusDecommissioned, now, "8.3 decommission device by "+acc.User.ID.String(), CodeDecommissionStatus)
}

// ---------------------------------------------------------------- 8.4

// updateInventory carries out one 8.4 Update Inventory change.
func updateInventory(ctx context.Context, tx store.Repos, acc *Accepted, q *duis.UpdateInventory, now time.Time) error {
	if q == nil {
		return reject(CodeSchemaInvalid, "8.4 without UpdateInventory")
	}
	d, err := getDevice(ctx, tx, q.DeviceID)
	if err != nil {
		return err
	}
	if err := checkEligible(ctx, tx, acc, d, now, true); err != nil {
		return err
	}
	inv := tx.Inventory()
	reason := "8.4 update inventory by " + acc.User.ID.String()
	isCH := d.Type == store.DeviceCHF || d.Type == store.DeviceGPF
	switch {
	case q.UpdateDeviceStatusExceptCH != nil:
		if isCH {
			return reject("E11", "8.4: UpdateDeviceStatusExceptCH does not apply to a %s (use UpdateDeviceStatusCH)", d.Type)
		}
		return setStatus(ctx, tx, d, store.DeviceStatus(*q.UpdateDeviceStatusExceptCH), now, reason, CodeUpdateStatus)
	case q.UpdateDeviceStatusCH != nil:
		if d.Type != store.DeviceCHF {
			return reject("E11", "8.4: UpdateDeviceStatusCH applies to a CHF, not a %s", d.Type)
		}
		return setStatus(ctx, tx, d, store.DeviceStatus(*q.UpdateDeviceStatusCH), now, reason, CodeUpdateStatus)
	case q.UpdateDeviceDetails != nil:
		u := q.UpdateDeviceDetails
		if u.DeviceManufacturer == nil && u.DeviceModel == nil && u.SMETSCHTSVersion == nil && u.FirmwareVersion == nil && u.ESMEVariant == nil {
			return reject(CodeUpdateDetailsEmpty, "8.4: UpdateDeviceDetails names no detail")
		}
		if u.ESMEVariant != nil && d.Type != store.DeviceESME {
			return reject("E11", "8.4: ESMEVariant does not apply to a %s", d.Type)
		}
		for _, f := range []struct {
			v   *string
			dst *string
		}{{u.DeviceManufacturer, &d.Manufacturer}, {u.DeviceModel, &d.Model}, {u.SMETSCHTSVersion, &d.SMETSVersion}, {u.FirmwareVersion, &d.FirmwareVersion}, {u.ESMEVariant, &d.ESMEVariant}} {
			if f.v != nil {
				*f.dst = *f.v
			}
		}
		_, err := inv.UpdateDevice(ctx, d)
		return err
	case q.UpdateMPxN != nil:
		u := q.UpdateMPxN
		var mpxn string
		switch {
		case u.ImportMPxN != nil:
			if d.Type != store.DeviceESME && d.Type != store.DeviceGSME {
				return reject("E11", "8.4: a %s has no Import MPxN", d.Type)
			}
			mpxn, d.ImportMPxN = *u.ImportMPxN, *u.ImportMPxN
		case u.SecondaryImportMPAN != nil:
			if d.Type != store.DeviceESME {
				return reject("E11", "8.4: a %s has no Secondary Import MPAN", d.Type)
			}
			mpxn, d.SecondaryImportMPAN = *u.SecondaryImportMPAN, *u.SecondaryImportMPAN
		case u.ExportMPAN != nil:
			if d.Type != store.DeviceESME {
				return reject("E11", "8.4: a %s has no Export MPAN", d.Type)
			}
			mpxn, d.ExportMPAN = *u.ExportMPAN, *u.ExportMPAN
		default:
			return reject(CodeSchemaInvalid, "8.4: UpdateMPxN names no MPxN")
		}
		// The user may associate a device only with a metering point it is
		// registered for.
		if err := checkRegisteredFor(ctx, tx, acc, mpxn, now); err != nil {
			return err
		}
		_, err := inv.UpdateDevice(ctx, d)
		return err
	case q.DeleteDevice != nil:
		switch d.Status {
		case store.StatusPending, store.StatusDecommissioned, store.StatusWithdrawn:
		default:
			return reject(CodeDeleteInService, "8.4: device %s is %s; only Pending, Decommissioned or Withdrawn devices are deleted", d.ID, d.Status)
		}
		if ref, err := referencedBy(ctx, tx, d); err != nil {
			return err
		} else if !ref.IsZero() {
			return reject(CodeDeleteReferenced, "8.4: device %s is associated with %s", d.ID, ref)
		}
		return inv.DeleteDevice(ctx, d.ID)
	}
	return reject(CodeSchemaInvalid, "8.4: UpdateInventory names no change")
}

// referencedBy returns a device associated with d (on its CHF, joined to
// it, or proxied by it), or zero.
func referencedBy(ctx context.Context, tx store.Repos, d store.Device) (eui.EUI64, error) {
	inv := tx.Inventory()
	var fs []store.DeviceFilter
	switch d.Type {
	case store.DeviceCHF:
		fs = append(fs, store.DeviceFilter{CHF: d.ID, Limit: 1})
	case store.DeviceGPF:
		if !d.CHF.IsZero() {
			fs = append(fs, store.DeviceFilter{CHF: d.CHF})
		}
	default:
		fs = append(fs, store.DeviceFilter{Meter: d.ID, Limit: 1})
	}
	for _, f := range fs {
		ds, err := inv.ListDevices(ctx, f)
		if err != nil {
			return eui.EUI64{}, err
		}
		for _, x := range ds {
			if d.Type != store.DeviceGPF || x.GPF == d.ID {
				return x.ID, nil
			}
		}
	}
	return eui.EUI64{}, nil
}

// ---------------------------------------------------------------- 8.14

// getCHF returns the CHF a CH status update names, its GPF (if one is in
// the inventory) or a rejection.
func getCHF(ctx context.Context, tx store.Repos, s string) (store.Device, *store.Device, error) {
	d, err := getDevice(ctx, tx, s)
	if err != nil {
		return d, nil, err
	}
	if d.Type != store.DeviceCHF {
		return d, nil, reject("E11", "a communications hub status update names a CHF, not a %s", d.Type)
	}
	ds, err := tx.Inventory().ListDevices(ctx, store.DeviceFilter{CHF: d.ID})
	if err != nil {
		return d, nil, err
	}
	for _, x := range ds {
		if x.Type == store.DeviceGPF {
			return d, &x, nil
		}
	}
	return d, nil, nil
}

// chStatus moves the CHF to status to and its GPF with it where the GPF's
// own life cycle allows (a GPF already further on is left alone).
func chStatus(ctx context.Context, tx store.Repos, chf store.Device, gpf *store.Device, to store.DeviceStatus, at time.Time, reason, code string) error {
	if err := setStatus(ctx, tx, chf, to, at, reason, code); err != nil {
		return err
	}
	if gpf != nil && gpf.Status != to && store.ValidTransition(gpf.Status, to) {
		return setStatus(ctx, tx, *gpf, to, at, reason+" (GPF of "+chf.ID.String()+")", code)
	}
	return nil
}

// chfInstalled records the installation of a communications hub (8.14.1,
// 8.14.2): CHF (and GPF) Pending or Whitelisted → InstalledNotCommissioned.
// The installing supplier must be registered for the MPxN it names.
func chfInstalled(ctx context.Context, tx store.Repos, acc *Accepted, deviceID, mpxn string, now time.Time, reason string) error {
	chf, gpf, err := getCHF(ctx, tx, deviceID)
	if err != nil {
		return err
	}
	if err := checkRegisteredFor(ctx, tx, acc, mpxn, now); err != nil {
		return err
	}
	if chf.Status != store.StatusPending && chf.Status != store.StatusWhitelisted {
		return reject(CodeCHInstallStatus, "CHF %s is %s, not awaiting installation (Pending or Whitelisted)", chf.ID, chf.Status)
	}
	return chStatus(ctx, tx, chf, gpf, store.StatusInstalledNotCommissioned, now, reason+" at "+mpxn, CodeCHInstallStatus)
}

// chfReturned records the return of a communications hub (8.14.3 fault
// return, 8.14.4 no fault return): CHF (and GPF) → Withdrawn. faultType,
// for 8.14.3, must agree with the CHF's status: "prior to installation"
// with Pending or Whitelisted, "post installation" with an installed CHF.
func chfReturned(ctx context.Context, tx store.Repos, acc *Accepted, deviceID, faultType string, now time.Time, reason string) error {
	chf, gpf, err := getCHF(ctx, tx, deviceID)
	if err != nil {
		return err
	}
	if err := checkEligible(ctx, tx, acc, chf, now, true); err != nil {
		return err
	}
	if chf.Status == store.StatusWithdrawn || chf.Status == store.StatusDecommissioned {
		return reject(CodeCHReturnStatus, "CHF %s is already %s", chf.ID, chf.Status)
	}
	installed := chf.Status != store.StatusPending && chf.Status != store.StatusWhitelisted
	switch faultType {
	case "Fault identified prior to installation":
		if installed {
			return reject(CodeCHFaultReturnType, "CHF %s is %s: its fault was not identified prior to installation", chf.ID, chf.Status)
		}
	case "Fault identified post installation":
		if !installed {
			return reject(CodeCHFaultReturnType, "CHF %s is %s: it was never installed", chf.ID, chf.Status)
		}
	}
	return chStatus(ctx, tx, chf, gpf, store.StatusWithdrawn, now, reason, CodeCHReturnStatus)
}

// ---------------------------------------------------------------- 12.1

// wanMatrix answers 12.1 from h.WAN: one DSPWANMatrixResponse for the CSP
// region of the location, with the coverage when it is known; an unknown
// location gets CSPRegion Unknown and an E1201xx region response code.
func (h *Handler) wanMatrix(q *duis.RequestWANMatrix) *duis.DSPWANMatrix {
	m := &duis.DSPWANMatrix{Request: *q}
	unknown := func(code string) *duis.DSPWANMatrix {
		m.DSPWANMatrixResponse = []duis.DSPWANMatrixResponse{{CSPRegion: "Unknown", CSPRegionResponseCode: code}}
		return m
	}
	if h.WAN == nil {
		return unknown(CodeWANCoverageUnavailable)
	}
	var c wan.Coverage
	switch {
	case q.UPRN != nil:
		uprn, err := strconv.ParseUint(strings.TrimSpace(*q.UPRN), 10, 64)
		if err != nil {
			return unknown(CodeWANLocationUnknown)
		}
		var ok bool
		if c, ok = h.WAN.CoverageByUPRN(uprn); !ok {
			return unknown(CodeWANLocationUnknown)
		}
	case q.PartialAddress != nil:
		var err error
		if c, err = h.WAN.CoverageByPostcode(q.PartialAddress.PostCode); err != nil {
			return unknown(CodeWANPostcodeUnreadable)
		}
	default:
		return unknown(CodeWANLocationUnknown)
	}
	region := "Unknown"
	switch c.Region {
	case wan.North, wan.Central, wan.South:
		region = c.Region.String()
	default:
		return unknown(CodeWANLocationUnknown)
	}
	g := &duis.DSPWANMatrixResponseCoverageAvailabilityGroup{
		CoverageAvailability:   strconv.FormatBool(c.Covered),
		WANTechnology:          c.Variant,
		ConnectivityLikelihood: "Low",
	}
	if g.WANTechnology == "" {
		g.WANTechnology = "SM WAN"
	}
	if len(g.WANTechnology) > 30 {
		g.WANTechnology = g.WANTechnology[:30]
	}
	if c.Covered {
		g.ConnectivityLikelihood = "High"
		if c.AntennaNeeded {
			g.ConnectivityLikelihood = "Medium"
		}
	}
	if c.AntennaNeeded {
		g.AuxiliaryEquipmentRequired = opt("External antenna")
	}
	m.DSPWANMatrixResponse = []duis.DSPWANMatrixResponse{{CSPRegion: region, CSPRegionResponseCode: "I0", CoverageAvailabilityGroup: g}}
	return m
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
