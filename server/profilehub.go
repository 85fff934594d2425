package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/opendcc/opendcc/dcc"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/transform"
)

// The replaced communications hub of the DCC Boxed CHF / GPF replacement
// templates (8.12.1 CCS03 names the old CHF …95, 8.12.2 GCS59 the old GPF
// …B3; the new hub is the profile's …A2 / …A3): withdrawn, with the gas
// meter its GPF proxied and the PPMID and IHD joined to that meter. From
// them the DCC derives the old GPF's device log (dcc.gpfDeviceLog), and
// the profile gives the DCC the record of the old CHF's HAN it would have
// kept from the hub's last backup_PAN answer (8.9 / CCS07). Scenario data:
// the EUIs are the templates' (…95, …B3) or unused in the templates
// (…C5, …C6, …C7); the extended PAN ID is the hub's EUI with the locally
// administered bit, as the simulated hubs make theirs; the hashed link
// keys are derived from the two EUIs (SHA-256, first 16 octets), as the
// simulator derives its link keys.
var (
	replacedCHF   = eui.MustParse("00-DB-12-34-56-78-90-95")
	replacedGPF   = eui.MustParse("00-DB-12-34-56-78-90-B3")
	replacedGSME  = eui.MustParse("00-DB-12-34-56-78-90-C5")
	replacedPPMID = eui.MustParse("00-DB-12-34-56-78-90-C6")
	replacedIHD   = eui.MustParse("00-DB-12-34-56-78-90-C7")
)

func seedReplacedHub(ctx context.Context, tx store.Repos, since, now time.Time) error {
	devices := []store.Device{
		{ID: replacedCHF, Type: store.DeviceCHF, Status: store.StatusWithdrawn, StatusSince: since, CSPRegion: "Central"},
		{ID: replacedGPF, Type: store.DeviceGPF, Status: store.StatusWithdrawn, StatusSince: since, CHF: replacedCHF},
		{ID: replacedGSME, Type: store.DeviceGSME, Status: store.StatusCommissioned, StatusSince: since, CHF: replacedCHF, GPF: replacedGPF},
		{ID: replacedPPMID, Type: store.DevicePPMID, Status: store.StatusCommissioned, StatusSince: since, CHF: replacedCHF, Meter: replacedGSME},
		{ID: replacedIHD, Type: store.DeviceIHD, Status: store.StatusCommissioned, StatusSince: since, CHF: replacedCHF, Meter: replacedGSME},
	}
	for _, d := range devices {
		if err := tx.Inventory().AddDevice(ctx, d, "dccboxed profile (replaced hub)"); err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
	}
	if _, err := dcc.HANBackupOf(ctx, tx, replacedCHF); err == nil {
		return nil // kept: a newer backup may have replaced it
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	b := transform.HANBackup{ExtendedPANID: replacedCHF}
	b.ExtendedPANID[0] |= 0x02
	for _, d := range devices[1:] {
		k := sha256.Sum256(append(append([]byte("dccboxed replaced hub link key"), replacedCHF[:]...), d.ID[:]...))
		hd := transform.HANDevice{ID: d.ID}
		copy(hd.HashedLinkKey[:], k[:16])
		b.Devices = append(b.Devices, hd)
	}
	return dcc.RecordHANBackup(ctx, tx, replacedCHF, b, now, "dccboxed profile")
}
