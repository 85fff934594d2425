package dcc

// 11.1 Update Firmware and 11.4 Update PPMID Firmware: the User gives the
// DCC a firmware image and the devices it is for; the DCC checks each
// device, has the comms hubs distribute the image over the HAN (the CSP's
// part), and each device that stores it answers with its Firmware
// Distribution Receipt alert (8F72, the image hash), which reaches the
// User as a Device Alert. Activation is the User's later 11.3 (CS06).
// The rules the public sources leave open are OpenDCC's (docs/nondevice.md,
// "Firmware distribution").

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

// FirmwareDistributor is implemented by a Transport that can carry a
// firmware image to a device (through its comms hub).
type FirmwareDistributor interface {
	DistributeFirmware(ctx context.Context, d store.Device, image []byte, version string) error
}

// Firmware response codes (OpenDCC's assignment of the schema's codes).
const (
	// CodeFirmwareNoDevice: 11.1 / 11.4 left no device to distribute to.
	CodeFirmwareNoDevice      = "E110101"
	CodePPMIDFirmwareNoDevice = "E110401"
	// CodeFirmwareImage: the image is empty (or not base64).
	CodeFirmwareImage      = "E110102"
	CodePPMIDFirmwareImage = "E110402"
)

// DCCAlertFirmwareDistributionFailure is the DCC Alert code OpenDCC gives
// FirmwareDistributionFailure: N999, as for every DCC Alert whose code the
// public sources do not give (docs/processing.md, "DCC Alerts").
const DCCAlertFirmwareDistributionFailure = "N999"

const holdKindFirmware = "firmware"

// firmwareJob is one device's distribution (store.Hold Payload, JSON).
type firmwareJob struct {
	User      eui.EUI64 `json:"user"`
	RequestID string    `json:"requestId"`
	Device    eui.EUI64 `json:"device"`
	Image     []byte    `json:"image"`
	Version   string    `json:"version"`
}

// firmwareAttempts is how often a distribution is tried (a minute apart,
// the hold lease) before the DCC gives up with the DCC Alert.
const firmwareAttempts = 5

// updateFirmware carries out 11.1 (ppmid false) or 11.4 (ppmid true) in the
// request's transaction: each listed device is checked in turn — unknown or
// not the User's now (InvalidDeviceIDList), not Commissioned
// (NotCommissionedDeviceIDList), of a type the service does not update
// (NotApplicableFirmwareDeviceIDList: 11.1 takes ESME, GSME and CHF — the
// CHF's image serves the whole hub —, 11.4 takes PPMID), or with a
// distribution of this User still pending (OtherRequestInProgressList).
// The others each get a durable distribution job. Answer: I99 when every
// device was taken, I0 with the warning lists when some were not, E110101
// / E110401 when none was.
func updateFirmware(ctx context.Context, tx store.Repos, acc *Accepted, image, version, list string, ppmid bool, now time.Time) (*nonDeviceResult, error) {
	noDevice, badImage := CodeFirmwareNoDevice, CodeFirmwareImage
	if ppmid {
		noDevice, badImage = CodePPMIDFirmwareNoDevice, CodePPMIDFirmwareImage
	}
	img, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(image), ""))
	if err != nil || len(img) == 0 {
		return nil, reject(badImage, "the firmware image is empty or not base64")
	}
	var invalid, notCommissioned, notApplicable, inProgress []string
	var jobs []firmwareJob
	seen := map[eui.EUI64]bool{}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		id, err := eui.Parse(s)
		if err != nil || seen[id] {
			invalid = append(invalid, s)
			continue
		}
		seen[id] = true
		d, err := tx.Inventory().GetDevice(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			invalid = append(invalid, s)
			continue
		} else if err != nil {
			return nil, err
		}
		if err := checkEligible(ctx, tx, acc, d, now, false); err != nil {
			var rj *Rejection
			if errors.As(err, &rj) {
				invalid = append(invalid, s)
				continue
			}
			return nil, err
		}
		applicable := d.Type == store.DevicePPMID
		if !ppmid {
			applicable = d.Type == store.DeviceESME || d.Type == store.DeviceGSME || d.Type == store.DeviceCHF
		}
		if !applicable {
			notApplicable = append(notApplicable, s)
			continue
		}
		if d.Status != store.StatusCommissioned {
			notCommissioned = append(notCommissioned, s)
			continue
		}
		if _, err := tx.Holds().GetHold(ctx, firmwareHoldID(acc.User.ID, id)); err == nil {
			inProgress = append(inProgress, s)
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		jobs = append(jobs, firmwareJob{User: acc.User.ID, RequestID: acc.ID.String(), Device: id, Image: img, Version: version})
	}
	if len(jobs) == 0 {
		return nil, reject(noDevice, "no listed device can take the image (invalid %v, not commissioned %v, not applicable %v, in progress %v)",
			invalid, notCommissioned, notApplicable, inProgress)
	}
	for _, j := range jobs {
		payload, err := json.Marshal(j)
		if err != nil {
			return nil, err
		}
		if _, err := tx.Holds().PutHold(ctx, store.Hold{ID: firmwareHoldID(j.User, j.Device), Kind: holdKindFirmware, Owner: j.User,
			RequestID: j.RequestID, ReleaseAt: now, Payload: payload, CreatedAt: now}); err != nil {
			return nil, err
		}
	}
	if len(invalid)+len(notCommissioned)+len(notApplicable)+len(inProgress) == 0 {
		return &nonDeviceResult{Code: "I99"}, nil
	}
	opt := func(l []string) *string {
		if len(l) == 0 {
			return nil
		}
		s := strings.Join(l, ",")
		return &s
	}
	return &nonDeviceResult{Code: "I0", Fill: func(rm *duis.ResponseMessage) {
		if ppmid {
			rm.DSPUpdatePPMIDFirmwareWarning = &duis.DSPUpdatePPMIDFirmwareWarning{InvalidDeviceIDList: opt(invalid),
				NotCommissionedDeviceIDList: opt(notCommissioned), NotApplicableFirmwareDeviceIDList: opt(notApplicable), OtherRequestInProgressList: opt(inProgress)}
			return
		}
		rm.DSPUpdateFirmwareWarning = &duis.DSPUpdateFirmwareWarning{InvalidDeviceIDList: opt(invalid),
			NotCommissionedDeviceIDList: opt(notCommissioned), NotApplicableFirmwareDeviceIDList: opt(notApplicable), OtherRequestInProgressList: opt(inProgress)}
	}}, nil
}

func firmwareHoldID(user, device eui.EUI64) string {
	return fmt.Sprintf("firmware:%s:%s", user, device)
}

// distributeFirmware runs one device's distribution job: handed to the
// Transport, the job is done (the device's receipt alert follows); a
// failure is retried when the lease expires, and after firmwareAttempts
// the DCC gives up and tells the User with the DCC Alert
// FirmwareDistributionFailure.
func (p *Pipeline) distributeFirmware(ctx context.Context, h store.Hold) error {
	var j firmwareJob
	if err := json.Unmarshal(h.Payload, &j); err != nil {
		p.log().Error("unreadable firmware job dropped", "hold", h.ID, "err", err)
		p.Store.Holds().DoneHold(ctx, h.ID, p.owner)
		return nil
	}
	fd, ok := p.Transport.(FirmwareDistributor)
	var err error
	if !ok {
		err = errors.New("the transport cannot distribute firmware")
	} else {
		var d store.Device
		if d, err = p.Store.Inventory().GetDevice(ctx, j.Device); err == nil {
			err = fd.DistributeFirmware(ctx, d, j.Image, j.Version)
		}
	}
	if err == nil {
		p.Store.Holds().DoneHold(ctx, h.ID, p.owner)
		return nil
	}
	if h.Releases < firmwareAttempts {
		return err // claimed again when the lease expires
	}
	msg, serr := dccAlertMessage(p.Signer, p.ACB, j.User, DCCAlertFirmwareDistributionFailure, duis.DCCAlert{
		FirmwareDistributionFailure: &duis.FirmwareDistributionFailure{UpdateFirmwareRequestID: j.RequestID, MeterIDs: j.Device.String()}}, p.now(), 0)
	if serr != nil {
		return serr
	}
	if serr := p.endHoldWithAlert(ctx, h.ID, msg); serr != nil {
		return serr
	}
	p.log().Warn("firmware distribution given up", "device", j.Device, "request", j.RequestID, "attempts", h.Releases, "err", err)
	return nil
}
