package server

import (
	"context"
	"errors"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/store"
)

// The DCC Boxed profile: the ZAZ1 test users and the RTDS device set, so
// DCC Boxed tooling and the RTDS templates work unchanged. Roles follow the
// ZAZ1 identities (duis.md §3.5); the load controller and "mdr" identities
// get Other User, since the public matrix names no role for them.
var dccBoxedUsers = []struct {
	id    string
	name  string
	roles []store.Role
}{
	// The test supplier also acts as an Other User: the DCC Boxed templates
	// send 9.1 (an OU service) as this user. It is the Export Supplier too,
	// of the ESME's export MPAN: DCC Boxed's one test supplier takes the
	// export-only services (4.6.2, 6.20.2), which no other ZAZ1 user could.
	{"90-B3-D5-1F-30-01-00-00", "GITTESTSUPPLIER", []store.Role{store.RoleImportSupplier, store.RoleExportSupplier, store.RoleGasSupplier, store.RoleOtherUser}},
	{"90-B3-D5-1F-30-03-00-00", "GITTESTSUPPLIER2", []store.Role{store.RoleImportSupplier, store.RoleGasSupplier}},
	{"90-B3-D5-1F-30-02-00-00", "network operator", []store.Role{store.RoleElectricityDistributor, store.RoleGasTransporter}},
	{"00-DB-12-34-56-78-00-04", "other user", []store.Role{store.RoleOtherUser}},
	{"90-B3-D5-1F-30-01-00-08", "load controller", []store.Role{store.RoleOtherUser}},
	{"90-B3-D5-1F-30-01-00-09", "mdr", []store.Role{store.RoleOtherUser}},
	// The DCC's own requests (DCC Boxed templates CS02fMAC, CS08, GCS59):
	// the entry gives them a Receive Response Service; access control acts
	// for the DCC in every role (dcc.AccessControl).
	{"90-B3-D5-1F-30-00-00-02", "DCC (its own requests)", []store.Role{store.RoleOtherUser}},
}

// RTDS device EUIs (duis.md §2): ESME, GSME, CHF, GPF, PPMID.
var (
	rtdsESME  = eui.MustParse("00-DB-12-34-56-78-90-A0")
	rtdsGSME  = eui.MustParse("00-DB-12-34-56-78-90-A1")
	rtdsCHF   = eui.MustParse("00-DB-12-34-56-78-90-A2")
	rtdsGPF   = eui.MustParse("00-DB-12-34-56-78-90-A3")
	rtdsPPMID = eui.MustParse("00-DB-12-34-56-78-90-A4")
	// A5 answers the RTDS HCALCS use cases (CS03A2 join, CS08 firmware);
	// A6 the standalone auxiliary proportional controller ones (ECS46d,
	// CS02f). DUIS has no SAPC device type: OpenDCC inventories it as an
	// ESME, whose use cases it answers.
	rtdsHCALCS = eui.MustParse("00-DB-12-34-56-78-90-A5")
	rtdsSAPC   = eui.MustParse("00-DB-12-34-56-78-90-A6")
	// The devices the RTDS join scenarios (CS03A1/A2/B/C) join to the
	// profile's devices: an HCALCS, an ESME, a GPF and a GSME on the hub.
	joinHCALCS = eui.MustParse("00-DB-12-34-56-78-90-9A")
	joinESME   = eui.MustParse("00-DB-12-34-56-78-90-93")
	joinGPF    = eui.MustParse("00-DB-12-34-56-78-90-9C")
	joinGSME   = eui.MustParse("00-DB-12-34-56-78-90-94")
)

// Metering points of the profile (made up, well-formed: a 13-digit MPAN and
// a 10-digit MPRN).
const (
	profileMPAN       = "1100000000001"
	profileExportMPAN = "1100000000002" // the ESME's export metering point
	profileMPRN       = "1000000001"
)

func seedDCCBoxed(ctx context.Context, st store.Store, trust *smki.Store, now time.Time, responseURL string) error {
	supplier := eui.MustParse("90-B3-D5-1F-30-01-00-00")
	netop := eui.MustParse("90-B3-D5-1F-30-02-00-00")
	return st.InTx(ctx, func(tx store.Repos) error {
		for _, u := range dccBoxedUsers {
			id := eui.MustParse(u.id)
			user := store.User{ID: id, Name: u.name, Roles: u.roles, Status: store.UserActive, ResponseURL: responseURL}
			for _, c := range trust.ByEUI(id) {
				usage := store.CertKeyAgreement
				switch {
				case c.Role.IsXMLSigning():
					usage = store.CertXMLSign
				case c.KeyUsage&smki.KeyUsageDigitalSignature != 0:
					usage = store.CertDigitalSigning
				}
				user.Certs = append(user.Certs, store.Certificate{Usage: usage, Issuer: c.Issuer, Serial: c.SerialNumber.String(), DER: c.Raw})
			}
			if _, err := tx.Users().GetUser(ctx, id); err == nil {
				continue // already seeded: keep what an operator changed
			}
			if err := tx.Users().PutUser(ctx, user); err != nil {
				return err
			}
		}
		// From 2010: the RTDS scenarios ask about 2014-15 (history reads,
		// a DSP future-dated template dated 2015).
		since := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
		devices := []store.Device{
			{ID: rtdsCHF, Type: store.DeviceCHF, Status: store.StatusCommissioned, StatusSince: since, CSPRegion: "Central"},
			{ID: rtdsESME, Type: store.DeviceESME, Status: store.StatusCommissioned, StatusSince: since, CHF: rtdsCHF, ImportMPxN: profileMPAN, ExportMPAN: profileExportMPAN, ESMEVariant: "A"},
			{ID: rtdsGPF, Type: store.DeviceGPF, Status: store.StatusCommissioned, StatusSince: since, CHF: rtdsCHF},
			{ID: rtdsGSME, Type: store.DeviceGSME, Status: store.StatusCommissioned, StatusSince: since, CHF: rtdsCHF, GPF: rtdsGPF, ImportMPxN: profileMPRN},
			{ID: rtdsPPMID, Type: store.DevicePPMID, Status: store.StatusCommissioned, StatusSince: since, CHF: rtdsCHF, Meter: rtdsESME},
			{ID: rtdsHCALCS, Type: store.DeviceHCALCS, Status: store.StatusCommissioned, StatusSince: since, CHF: rtdsCHF, Meter: rtdsESME},
			{ID: joinHCALCS, Type: store.DeviceHCALCS, Status: store.StatusCommissioned, StatusSince: since, CHF: rtdsCHF},
			{ID: joinESME, Type: store.DeviceESME, Status: store.StatusCommissioned, StatusSince: since, CHF: rtdsCHF, ESMEVariant: "A"},
			{ID: joinGPF, Type: store.DeviceGPF, Status: store.StatusCommissioned, StatusSince: since, CHF: rtdsCHF},
			{ID: joinGSME, Type: store.DeviceGSME, Status: store.StatusCommissioned, StatusSince: since, CHF: rtdsCHF, GPF: joinGPF},
			{ID: rtdsSAPC, Type: store.DeviceESME, Status: store.StatusCommissioned, StatusSince: since, CHF: rtdsCHF, ImportMPxN: profileMPAN, ESMEVariant: "A"},
		}
		for _, d := range devices {
			if err := tx.Inventory().AddDevice(ctx, d, "dccboxed profile"); err != nil && !errors.Is(err, store.ErrExists) {
				return err
			}
		}
		if err := seedReplacedHub(ctx, tx, since, now); err != nil {
			return err
		}
		for _, r := range []store.Registration{
			{MPxN: profileMPAN, Role: store.RoleImportSupplier, Party: supplier, From: since},
			{MPxN: profileMPAN, Role: store.RoleElectricityDistributor, Party: netop, From: since},
			{MPxN: profileExportMPAN, Role: store.RoleExportSupplier, Party: supplier, From: since},
			{MPxN: profileExportMPAN, Role: store.RoleElectricityDistributor, Party: netop, From: since},
			{MPxN: profileMPRN, Role: store.RoleGasSupplier, Party: supplier, From: since},
			{MPxN: profileMPRN, Role: store.RoleGasTransporter, Party: netop, From: since},
		} {
			have, err := tx.Registrations().ListRegistrations(ctx, r.MPxN)
			if err != nil {
				return err
			}
			dup := false
			for _, h := range have {
				dup = dup || h.Role == r.Role
			}
			if !dup {
				if err := tx.Registrations().AddRegistration(ctx, r); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
