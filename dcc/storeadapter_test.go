package dcc

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/store/sqlite"
)

const (
	esmeMPAN     = "1234567890123"
	gsmeMPRN     = "1234567890"
	newMeterMPAN = "1234567890124"
)

var (
	chf  = eui.MustParse("00-DB-12-34-56-78-90-C0")
	gpf  = eui.MustParse("00-DB-12-34-56-78-90-C1")
	ppmi = eui.MustParse("00-DB-12-34-56-78-90-C2")
)

// openStore opens a sqlite store in a temp dir loaded with the same users,
// devices and registrations as fixture().
func openStore(t testing.TB) store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "opendcc.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []store.User{
		{ID: supplier, Name: "supplier", Roles: []store.Role{store.RoleImportSupplier, store.RoleGasSupplier}, Status: store.UserActive},
		{ID: netop, Name: "network operator", Roles: []store.Role{store.RoleElectricityDistributor, store.RoleGasTransporter}, Status: store.UserActive},
		{ID: other, Name: "other", Roles: []store.Role{store.RoleOtherUser}, Status: store.UserSuspended},
	} {
		must(s.Users().PutUser(ctx, u))
	}
	for _, d := range []store.Device{
		{ID: chf, Type: store.DeviceCHF, Status: store.StatusCommissioned, Manufacturer: "1234", Model: "5678"},
		{ID: gpf, Type: store.DeviceGPF, Status: store.StatusCommissioned, CHF: chf, Manufacturer: "1234", Model: "5678"},
		{ID: esme, Type: store.DeviceESME, Status: store.StatusCommissioned, ImportMPxN: esmeMPAN, CHF: chf, Manufacturer: "1234", Model: "5678"},
		{ID: gsme, Type: store.DeviceGSME, Status: store.StatusCommissioned, ImportMPxN: gsmeMPRN, CHF: chf, GPF: gpf, Manufacturer: "1234", Model: "5678"},
		{ID: newMeter, Type: store.DeviceESME, Status: store.StatusInstalledNotCommissioned, ImportMPxN: newMeterMPAN, Manufacturer: "1234", Model: "5678"},
		{ID: ppmi, Type: store.DevicePPMID, Status: store.StatusCommissioned, Meter: esme, CHF: chf, Manufacturer: "1234", Model: "5678"},
	} {
		must(s.Inventory().AddDevice(ctx, d, "test"))
	}
	for _, r := range []store.Registration{
		{MPxN: esmeMPAN, Role: store.RoleImportSupplier, Party: supplier, From: t0.Add(-24 * time.Hour), To: t0.Add(24 * time.Hour)},
		{MPxN: esmeMPAN, Role: store.RoleElectricityDistributor, Party: netop, From: t0.Add(-time.Hour)},
		{MPxN: gsmeMPRN, Role: store.RoleGasSupplier, Party: supplier, From: t0.Add(-time.Hour)},
		{MPxN: newMeterMPAN, Role: store.RoleImportSupplier, Party: supplier, From: t0.Add(-time.Hour)},
	} {
		must(s.Registrations().AddRegistration(ctx, r))
	}
	return s
}

func storeAccess(t testing.TB) (*AccessControl, store.Store) {
	s := openStore(t)
	sd := &StoreDirectory{Repos: s}
	return &AccessControl{Dir: sd, Counters: sd, DCC: acb, Now: func() time.Time { return t0 }}, s
}

// TestStoreAdapterChecks: the cases of TestAccessControlChecks, through the
// store adapter over store/sqlite.
func TestStoreAdapterChecks(t *testing.T) {
	ac, _ := storeAccess(t)
	var n uint64
	tests := []struct {
		name string
		r    func(t *testing.T) Request
		code string
		role duis.Role
	}{
		{"accepted: 4.1.1 read registers", func(t *testing.T) Request { return req(t, supplier, esme, n, "4.1.1", 1, EndpointSend) }, "", duis.RoleIS},
		{"accepted: gas supplier on the GSME", func(t *testing.T) Request { return req(t, supplier, gsme, n, "4.1.1", 1, EndpointSend) }, "", duis.RoleGS},
		{"accepted: network operator reads", func(t *testing.T) Request { return req(t, netop, esme, n, "4.1.1", 1, EndpointSend) }, "", duis.RoleED},
		{"accepted: 8.2 non-device", func(t *testing.T) Request { return req(t, supplier, acb, n, "8.2", 8, EndpointNonDevice) }, "", duis.RoleIS},
		{"accepted: critical transform", func(t *testing.T) Request { return req(t, supplier, esme, n, "1.1.1", 4, EndpointTransform) }, "", duis.RoleIS},
		{"accepted: commissioning an installed meter", func(t *testing.T) Request { return req(t, supplier, newMeter, n, "8.1.1", 4, EndpointTransform) }, "", duis.RoleIS},
		{"accepted: GPF through its GSME's MPRN", func(t *testing.T) Request { return req(t, supplier, gpf, n, "11.2", 1, EndpointSend) }, "", duis.RoleGS},
		{"accepted: PPMID through its meter's MPAN", func(t *testing.T) Request { return req(t, supplier, ppmi, n, "11.2", 1, EndpointSend) }, "", duis.RoleIS},
		{"E13 CV 1 on the Transform URL", func(t *testing.T) Request { return req(t, supplier, esme, n, "4.1.1", 1, EndpointTransform) }, "E13", ""},
		{"E13 non-device request on Send", func(t *testing.T) Request { return req(t, supplier, acb, n, "8.2", 8, EndpointSend) }, "E13", ""},
		{"E1 unknown user", func(t *testing.T) Request {
			return req(t, eui.MustParse("90-B3-D5-1F-30-09-09-09"), esme, n, "4.1.1", 1, EndpointSend)
		}, "E1", ""},
		{"E2 role not permitted (ED updating a tariff)", func(t *testing.T) Request { return req(t, netop, esme, n, "1.1.1", 4, EndpointTransform) }, "E2", ""},
		{"E3 suspended user", func(t *testing.T) Request { return req(t, other, acb, n, "8.2", 8, EndpointNonDevice) }, "E3", ""},
		{"E12 critical service sent as CV 1", func(t *testing.T) Request { return req(t, supplier, esme, n, "1.1.1", 1, EndpointSend) }, "E12", ""},
		{"E19 device not in inventory", func(t *testing.T) Request {
			return req(t, supplier, eui.MustParse("00-DB-12-34-56-78-99-99"), n, "4.1.1", 1, EndpointSend)
		}, "E19", ""},
		{"E19 non-device request not to the DCC", func(t *testing.T) Request { return req(t, supplier, esme, n, "8.2", 8, EndpointNonDevice) }, "E19", ""},
		{"E11 electricity-only service to a GSME", func(t *testing.T) Request { return req(t, supplier, gsme, n, "1.1.2", 4, EndpointTransform) }, "E11", ""},
		{"E5 reading an uncommissioned meter", func(t *testing.T) Request { return req(t, supplier, newMeter, n, "4.1.1", 1, EndpointSend) }, "E5", ""},
		{"E4 network operator not registered for the GSME", func(t *testing.T) Request { return req(t, netop, gsme, n, "4.1.1", 1, EndpointSend) }, "E4", ""},
		{"E4 future-dated after the registration ends", func(t *testing.T) Request {
			r := req(t, supplier, esme, n, "4.1.1", 1, EndpointSend)
			r.Execute = t0.Add(48 * time.Hour)
			return r
		}, "E4", ""},
		{"E4 before the registration starts", func(t *testing.T) Request {
			r := req(t, supplier, esme, n, "4.1.1", 1, EndpointSend)
			r.Execute = t0.Add(-48 * time.Hour)
			return r
		}, "E4", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n++ // one store for all cases: every request gets a fresh counter
			acc, err := ac.Check(tt.r(t))
			if tt.code == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if acc.Role != tt.role {
					t.Errorf("role %s, want %s", acc.Role, tt.role)
				}
				return
			}
			var rj *Rejection
			if !errors.As(err, &rj) || rj.Code != tt.code {
				t.Fatalf("got %v, want %s", err, tt.code)
			}
		})
	}
}

func TestStoreAdapterAntiReplay(t *testing.T) {
	ac, s := storeAccess(t)
	for i, c := range []struct {
		counter uint64
		code    string
	}{{100, ""}, {100, CodeStaleCounter}, {99, CodeStaleCounter}, {101, ""}, {1<<64 - 1, ""}, {1<<64 - 1, CodeStaleCounter}} {
		_, err := ac.Check(req(t, supplier, esme, c.counter, "4.1.1", 1, EndpointSend))
		var rj *Rejection
		if c.code == "" && err != nil || c.code != "" && (!errors.As(err, &rj) || rj.Code != c.code) {
			t.Errorf("step %d counter %d: %v, want %q", i, c.counter, err, c.code)
		}
	}
	last, ok, err := s.Counters().Last(context.Background(), RequestCounterKey(supplier, esme))
	if err != nil || !ok || last != 1<<64-1 {
		t.Errorf("stored counter %d %v %v", last, ok, err)
	}
	// A refused request does not burn the counter; the transform does not
	// consume the counter its CV 5 reuses.
	if _, err := ac.Check(req(t, netop, esme, 500, "1.1.1", 4, EndpointTransform)); err == nil {
		t.Fatal("E2 case accepted")
	}
	if _, err := ac.Check(req(t, netop, esme, 500, "4.1.1", 1, EndpointSend)); err != nil {
		t.Errorf("counter consumed by a rejected request: %v", err)
	}
	ac2, _ := storeAccess(t)
	if _, err := ac2.Check(req(t, supplier, esme, 600, "1.1.1", 4, EndpointTransform)); err != nil {
		t.Fatal(err)
	}
	if _, err := ac2.Check(req(t, supplier, esme, 600, "1.1.1", 5, EndpointSend)); err != nil {
		t.Errorf("CV 5 with the transform's RequestID: %v", err)
	}
	if _, err := ac2.Check(req(t, supplier, esme, 600, "1.1.1", 5, EndpointSend)); err == nil {
		t.Error("replayed CV 5 accepted")
	}
	// Counters are per target: requests to different devices may arrive
	// in any order; to one device they may not.
	if _, err := ac2.Check(req(t, supplier, esme, 700, "4.1.1", 1, EndpointSend)); err != nil {
		t.Fatal(err)
	}
	if _, err := ac2.Check(req(t, supplier, gsme, 650, "4.1.2", 1, EndpointSend)); err != nil {
		t.Errorf("older counter to another device: %v", err)
	}
	if _, err := ac2.Check(req(t, supplier, esme, 650, "4.1.1", 1, EndpointSend)); err == nil {
		t.Error("older counter to the same device accepted")
	}
}
