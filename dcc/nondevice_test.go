package dcc

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/wan"
	"github.com/opendcc/opendcc/xmldsig"
)

// Devices the non-device tests add to the openStore fixture.
var (
	ndCHF      = eui.MustParse("00-DB-12-34-56-78-90-A2") // the 8.14 templates' CH, Pending
	ndGPF      = eui.MustParse("00-DB-12-34-56-78-90-A3") // its GPF, Pending
	ndGoneCHF  = eui.MustParse("00-DB-12-34-56-78-90-A4") // a Withdrawn CHF
	ndOtherCHF = eui.MustParse("00-DB-12-34-56-78-90-A5") // Commissioned CHF of another supplier's meter
	ndStock    = eui.MustParse("00-DB-12-34-56-78-90-B1") // Pending ESME, no MPxN
	ndOthers   = eui.MustParse("00-DB-12-34-56-78-90-B2") // ESME whose MPAN is not the supplier's
	ndDecom    = eui.MustParse("00-DB-12-34-56-78-90-B3") // Decommissioned ESME on the supplier's MPAN
	ndRecovery = eui.MustParse("00-DB-12-34-56-78-90-B4") // ESME in Recovery on the supplier's MPAN
	ndNew      = eui.MustParse("00-DB-12-34-56-78-90-D0") // not in the inventory
	ndNewGPF   = eui.MustParse("00-DB-12-34-56-78-90-D1") // not in the inventory
)

const (
	ndTemplateMPRN = "1000999888"    // the MPxN of the 8.14.1/8.14.2 templates
	ndOthersMPAN   = "9999999999999" // registered to nobody
)

const nonDeviceReq = `<?xml version="1.0" encoding="UTF-8"?><sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"><sr:Header><sr:RequestID>%s:90-B3-D5-1F-30-00-00-02:%d</sr:RequestID><sr:CommandVariant>8</sr:CommandVariant><sr:ServiceReference>%s</sr:ServiceReference><sr:ServiceReferenceVariant>%s</sr:ServiceReferenceVariant></sr:Header><sr:Body>%s</sr:Body></sr:Request>`

type ndFixture struct {
	*httpFixture
}

// newNDFixture is newHTTPFixture with a WAN and the extra devices above.
func newNDFixture(t *testing.T, w WANCoverage) *ndFixture {
	t.Helper()
	certs, sup := signer(t, supplier)
	_, dccSigner := signer(t, acb)
	s := openStore(t)
	ctx := context.Background()
	for _, d := range []store.Device{
		{ID: ndCHF, Type: store.DeviceCHF, Status: store.StatusPending, Manufacturer: "1234", Model: "5678"},
		{ID: ndGPF, Type: store.DeviceGPF, Status: store.StatusPending, CHF: ndCHF, Manufacturer: "1234", Model: "5678"},
		{ID: ndGoneCHF, Type: store.DeviceCHF, Status: store.StatusWithdrawn, Manufacturer: "1234", Model: "5678"},
		{ID: ndOtherCHF, Type: store.DeviceCHF, Status: store.StatusCommissioned, Manufacturer: "1234", Model: "5678"},
		{ID: ndStock, Type: store.DeviceESME, Status: store.StatusPending, Manufacturer: "1234", Model: "5678"},
		{ID: ndOthers, Type: store.DeviceESME, Status: store.StatusCommissioned, ImportMPxN: ndOthersMPAN, CHF: ndOtherCHF, Manufacturer: "1234", Model: "5678"},
		{ID: ndDecom, Type: store.DeviceESME, Status: store.StatusDecommissioned, ImportMPxN: esmeMPAN, Manufacturer: "1234", Model: "5678"},
		{ID: ndRecovery, Type: store.DeviceESME, Status: store.StatusRecovery, ImportMPxN: esmeMPAN, Manufacturer: "1234", Model: "5678"},
	} {
		if err := s.Inventory().AddDevice(ctx, d, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Registrations().AddRegistration(ctx, store.Registration{MPxN: ndTemplateMPRN, Role: store.RoleGasSupplier, Party: supplier, From: t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	h := &Handler{
		Intake: &Intake{Certificates: certs},
		Access: AccessControl{DCC: acb, Now: func() time.Time { return t0 }},
		Signer: dccSigner,
		Store:  s,
		WAN:    w,
		Now:    func() time.Time { return t0 },
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &ndFixture{&httpFixture{srv: srv, store: s, certs: certs, sup: sup}}
}

// request signs a non-device request from who (supplier or netop).
func (f *ndFixture) request(t *testing.T, who eui.EUI64, counter uint64, srv, body string) []byte {
	t.Helper()
	s, ok := duis.LookupSRV(srv)
	if !ok {
		t.Fatalf("no SRV %s", srv)
	}
	_, sg := signer(t, who)
	doc := fmt.Sprintf(nonDeviceReq, who, counter, s.ServiceReference, s.Variant, body)
	b, err := xmldsig.Sign([]byte(doc), sg.Key, sg.Cert)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *ndFixture) device(t *testing.T, id eui.EUI64) store.Device {
	t.Helper()
	d, err := f.store.Inventory().GetDevice(context.Background(), id)
	if err != nil {
		t.Fatalf("device %s: %v", id, err)
	}
	return d
}

func (f *ndFixture) wantStatus(t *testing.T, id eui.EUI64, st store.DeviceStatus) {
	t.Helper()
	if d := f.device(t, id); d.Status != st {
		t.Errorf("device %s is %s, want %s", id, d.Status, st)
	}
}

func ndDev(id eui.EUI64) string { return "<sr:DeviceID>" + id.String() + "</sr:DeviceID>" }

// TestNonDeviceServices: every non-device SRV carried out by the core, its
// success paths and each of its error paths, through the HTTP handler. Every
// case runs on a fresh store.
func TestNonDeviceServices(t *testing.T) {
	type check func(t *testing.T, f *ndFixture, r *duis.Response)
	prenotify := func(id eui.EUI64, typ, extra string) string {
		return "<sr:DevicePrenotification>" + ndDev(id) + "<sr:DeviceManufacturer>AB01</sr:DeviceManufacturer><sr:DeviceModel>010A030B</sr:DeviceModel><sr:DeviceType>" + typ + "</sr:DeviceType>" + extra + "</sr:DevicePrenotification>"
	}
	update := func(id eui.EUI64, change string) string {
		return "<sr:UpdateInventory>" + ndDev(id) + change + "</sr:UpdateInventory>"
	}
	install := func(id eui.EUI64, mpxn string) string {
		return "<sr:CHFInstallSuccessSMWAN>" + ndDev(id) + "<sr:CHFInstallType>New CHF Install</sr:CHFInstallType><sr:MPxN>" + mpxn + "</sr:MPxN><sr:AerialInstall>false</sr:AerialInstall><sr:CHFLocation>Basement or Cellar</sr:CHFLocation></sr:CHFInstallSuccessSMWAN>"
	}
	installNoWAN := func(id eui.EUI64, mpxn string) string {
		return "<sr:CHFInstallSuccessNoSMWAN>" + ndDev(id) + "<sr:CHFInstallType>CHF Install - no SM WAN</sr:CHFInstallType><sr:MPxN>" + mpxn + "</sr:MPxN><sr:AerialInstall>true</sr:AerialInstall><sr:CHFLocation>Basement or Cellar</sr:CHFLocation><sr:PremiseType>Low Rise Apartment (MDU &lt;= 5 floors)</sr:PremiseType><sr:MetalObstructionCheck>false</sr:MetalObstructionCheck><sr:ConnectivityObstructionCheck>false</sr:ConnectivityObstructionCheck><sr:SharedObstructionCheck>false</sr:SharedObstructionCheck></sr:CHFInstallSuccessNoSMWAN>"
	}
	fault := func(id eui.EUI64, typ string) string {
		return "<sr:CHFFaultReturn>" + ndDev(id) + "<sr:CHFFaultReturnType>" + typ + "</sr:CHFFaultReturnType><sr:OtherDeviceID>" + esme.String() + "</sr:OtherDeviceID><sr:CHFConnectionMethod>Hot-shoe</sr:CHFConnectionMethod><sr:CHFFaultReason>Damaged case</sr:CHFFaultReason></sr:CHFFaultReturn>"
	}
	noFault := func(id eui.EUI64) string {
		return "<sr:CHFNoFaultReturn>" + ndDev(id) + "<sr:CHFNoFaultReturnType>No Fault Return (general)</sr:CHFNoFaultReturnType></sr:CHFNoFaultReturn>"
	}
	status := func(id eui.EUI64, st store.DeviceStatus) check {
		return func(t *testing.T, f *ndFixture, _ *duis.Response) { f.wantStatus(t, id, st) }
	}
	both := func(cs ...check) check {
		return func(t *testing.T, f *ndFixture, r *duis.Response) {
			for _, c := range cs {
				c(t, f, r)
			}
		}
	}
	wanMatrix := func(region, code, covered, likelihood string) check {
		return func(t *testing.T, f *ndFixture, r *duis.Response) {
			m := r.Body.ResponseMessage.DSPWANMatrix
			if m == nil || len(m.DSPWANMatrixResponse) != 1 {
				t.Fatalf("DSPWANMatrix %+v", m)
			}
			x := m.DSPWANMatrixResponse[0]
			if x.CSPRegion != region || x.CSPRegionResponseCode != code {
				t.Errorf("region %s %s, want %s %s", x.CSPRegion, x.CSPRegionResponseCode, region, code)
			}
			g := x.CoverageAvailabilityGroup
			switch {
			case covered == "" && g != nil:
				t.Errorf("coverage %+v for an unknown location", g)
			case covered != "" && (g == nil || g.CoverageAvailability != covered || g.ConnectivityLikelihood != likelihood):
				t.Errorf("coverage %+v, want %s %s", g, covered, likelihood)
			}
		}
	}
	network := wan.New(wan.Options{})
	network.Default = wan.Coverage{Covered: true, Variant: "SM WAN"}
	network.SetUPRNCoverage(10023456789, wan.Coverage{Region: wan.South, Covered: false, Variant: "Dual Band", AntennaNeeded: true})

	tests := []struct {
		name  string
		who   eui.EUI64
		srv   string
		body  string
		wan   WANCoverage
		code  string
		check check
	}{
		// 12.2 Device Pre-notification
		{"12.2 ESME added Pending", supplier, "12.2", prenotify(ndNew, "ESME", "<sr:SMETSCHTSVersion>SMETS V5.0</sr:SMETSCHTSVersion><sr:FirmwareVersion>0002012F</sr:FirmwareVersion><sr:ESMEVariant>A</sr:ESMEVariant>"), nil, "I99",
			func(t *testing.T, f *ndFixture, _ *duis.Response) {
				d := f.device(t, ndNew)
				if d.Type != store.DeviceESME || d.Status != store.StatusPending || d.Manufacturer != "AB01" || d.Model != "010A030B" || d.SMETSVersion != "SMETS V5.0" || d.FirmwareVersion != "0002012F" || d.ESMEVariant != "A" || !d.StatusSince.Equal(t0) {
					t.Errorf("added %+v", d)
				}
			}},
		{"12.2 by a network operator (every role may)", netop, "12.2", prenotify(ndNew, "IHD", ""), nil, "I99", status(ndNew, store.StatusPending)},
		{"12.2 CHF with its GPF", supplier, "12.2", prenotify(ndNew, "CHF", "<sr:AssociatedGPFDeviceID>"+ndNewGPF.String()+"</sr:AssociatedGPFDeviceID>"), nil, "I99",
			func(t *testing.T, f *ndFixture, _ *duis.Response) {
				f.wantStatus(t, ndNew, store.StatusPending)
				if g := f.device(t, ndNewGPF); g.Type != store.DeviceGPF || g.Status != store.StatusPending || g.CHF != ndNew {
					t.Errorf("GPF %+v", g)
				}
			}},
		{"12.2 GSME with a known GPF", supplier, "12.2", prenotify(ndNew, "GSME", "<sr:AssociatedGPFDeviceID>"+gpf.String()+"</sr:AssociatedGPFDeviceID>"), nil, "I99",
			func(t *testing.T, f *ndFixture, _ *duis.Response) {
				if d := f.device(t, ndNew); d.GPF != gpf || d.CHF != chf {
					t.Errorf("GSME %+v", d)
				}
			}},
		{"12.2 duplicate E120203", supplier, "12.2", prenotify(esme, "ESME", ""), nil, CodePrenotifyExists, status(esme, store.StatusCommissioned)},
		{"12.2 CHF whose GPF exists E120203", supplier, "12.2", prenotify(ndNew, "CHF", "<sr:AssociatedGPFDeviceID>"+gpf.String()+"</sr:AssociatedGPFDeviceID>"), nil, CodePrenotifyExists, nil},
		{"12.2 CHF and GPF identical E120201", supplier, "12.2", prenotify(ndNew, "CHF", "<sr:AssociatedGPFDeviceID>"+ndNew.String()+"</sr:AssociatedGPFDeviceID>"), nil, CodePrenotifySameGPF, nil},
		{"12.2 GSME with an unknown GPF E120204", supplier, "12.2", prenotify(ndNew, "GSME", "<sr:AssociatedGPFDeviceID>"+ndNewGPF.String()+"</sr:AssociatedGPFDeviceID>"), nil, CodePrenotifyAssociation, nil},
		{"12.2 ESME with a GPF E120204", supplier, "12.2", prenotify(ndNew, "ESME", "<sr:AssociatedGPFDeviceID>"+gpf.String()+"</sr:AssociatedGPFDeviceID>"), nil, CodePrenotifyAssociation, nil},

		// 8.3 Decommission Device
		{"8.3 decommissioned", supplier, "8.3", "<sr:DecommissionDevice>" + ndDev(esme) + "</sr:DecommissionDevice>", nil, "I99", status(esme, store.StatusDecommissioned)},
		{"8.3 type 1 device via its meter's registration", supplier, "8.3", "<sr:DecommissionDevice>" + ndDev(ppmi) + "</sr:DecommissionDevice>", nil, "I99", status(ppmi, store.StatusDecommissioned)},
		{"8.3 unknown device E19", supplier, "8.3", "<sr:DecommissionDevice>" + ndDev(ndNew) + "</sr:DecommissionDevice>", nil, "E19", nil},
		{"8.3 another supplier's meter E4", supplier, "8.3", "<sr:DecommissionDevice>" + ndDev(ndOthers) + "</sr:DecommissionDevice>", nil, "E4", status(ndOthers, store.StatusCommissioned)},
		{"8.3 network operator E2", netop, "8.3", "<sr:DecommissionDevice>" + ndDev(esme) + "</sr:DecommissionDevice>", nil, "E2", nil},
		{"8.3 already decommissioned E080301", supplier, "8.3", "<sr:DecommissionDevice>" + ndDev(ndDecom) + "</sr:DecommissionDevice>", nil, CodeDecommissionStatus, nil},
		{"8.3 in recovery E080301", supplier, "8.3", "<sr:DecommissionDevice>" + ndDev(ndRecovery) + "</sr:DecommissionDevice>", nil, CodeDecommissionStatus, status(ndRecovery, store.StatusRecovery)},

		// 8.4 Update Inventory
		{"8.4 status (not CH) to Pending", supplier, "8.4", update(newMeter, "<sr:UpdateDeviceStatusExceptCH>Pending</sr:UpdateDeviceStatusExceptCH>"), nil, "I99", status(newMeter, store.StatusPending)},
		{"8.4 status (not CH) outside the life cycle E080405", supplier, "8.4", update(esme, "<sr:UpdateDeviceStatusExceptCH>Pending</sr:UpdateDeviceStatusExceptCH>"), nil, CodeUpdateStatus, status(esme, store.StatusCommissioned)},
		{"8.4 status (not CH) on a CHF E11", supplier, "8.4", update(ndCHF, "<sr:UpdateDeviceStatusExceptCH>InstalledNotCommissioned</sr:UpdateDeviceStatusExceptCH>"), nil, "E11", nil},
		{"8.4 CH status Commissioned", supplier, "8.4", update(ndCHF, "<sr:UpdateDeviceStatusCH>Commissioned</sr:UpdateDeviceStatusCH>"), nil, "I99", status(ndCHF, store.StatusCommissioned)},
		{"8.4 CH status on an ESME E11", supplier, "8.4", update(esme, "<sr:UpdateDeviceStatusCH>Withdrawn</sr:UpdateDeviceStatusCH>"), nil, "E11", nil},
		{"8.4 CH status outside the life cycle E080405", supplier, "8.4", update(ndGoneCHF, "<sr:UpdateDeviceStatusCH>Commissioned</sr:UpdateDeviceStatusCH>"), nil, CodeUpdateStatus, status(ndGoneCHF, store.StatusWithdrawn)},
		{"8.4 device details", supplier, "8.4", update(esme, "<sr:UpdateDeviceDetails><sr:FirmwareVersion>00020130</sr:FirmwareVersion></sr:UpdateDeviceDetails>"), nil, "I99",
			func(t *testing.T, f *ndFixture, _ *duis.Response) {
				if d := f.device(t, esme); d.FirmwareVersion != "00020130" || d.Manufacturer != "1234" || d.Version != 2 {
					t.Errorf("updated %+v", d)
				}
			}},
		{"8.4 empty device details E080408", supplier, "8.4", update(esme, "<sr:UpdateDeviceDetails/>"), nil, CodeUpdateDetailsEmpty, nil},
		{"8.4 ESME variant of a GSME E11", supplier, "8.4", update(gsme, "<sr:UpdateDeviceDetails><sr:ESMEVariant>A</sr:ESMEVariant></sr:UpdateDeviceDetails>"), nil, "E11", nil},
		{"8.4 MPxN of a pre-notified meter", supplier, "8.4", update(ndStock, "<sr:UpdateMPxN><sr:ImportMPxN>"+newMeterMPAN+"</sr:ImportMPxN></sr:UpdateMPxN>"), nil, "I99",
			func(t *testing.T, f *ndFixture, _ *duis.Response) {
				if d := f.device(t, ndStock); d.ImportMPxN != newMeterMPAN {
					t.Errorf("MPxN %q", d.ImportMPxN)
				}
			}},
		{"8.4 MPxN the user is not registered for E4", supplier, "8.4", update(ndStock, "<sr:UpdateMPxN><sr:ImportMPxN>"+ndOthersMPAN+"</sr:ImportMPxN></sr:UpdateMPxN>"), nil, "E4", nil},
		{"8.4 export MPAN of a GSME E11", supplier, "8.4", update(gsme, "<sr:UpdateMPxN><sr:ExportMPAN>1234567890125</sr:ExportMPAN></sr:UpdateMPxN>"), nil, "E11", nil},
		{"8.4 delete a pre-notified device", supplier, "8.4", update(ndStock, "<sr:DeleteDevice/>"), nil, "I99",
			func(t *testing.T, f *ndFixture, _ *duis.Response) {
				if _, err := f.store.Inventory().GetDevice(context.Background(), ndStock); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("still there: %v", err)
				}
			}},
		{"8.4 delete a device in service E080406", supplier, "8.4", update(esme, "<sr:DeleteDevice/>"), nil, CodeDeleteInService, status(esme, store.StatusCommissioned)},
		{"8.4 delete a CHF with its GPF on it E080407", supplier, "8.4", update(ndCHF, "<sr:DeleteDevice/>"), nil, CodeDeleteReferenced, status(ndCHF, store.StatusPending)},
		{"8.4 unknown device E19", supplier, "8.4", update(ndNew, "<sr:DeleteDevice/>"), nil, "E19", nil},
		{"8.4 not registered for the device E4", netop, "8.4", update(gsme, "<sr:UpdateDeviceDetails><sr:FirmwareVersion>00020130</sr:FirmwareVersion></sr:UpdateDeviceDetails>"), nil, "E4", nil},

		// 8.14 Communications Hub Status Updates
		{"8.14.1 install success", supplier, "8.14.1", install(ndCHF, ndTemplateMPRN), nil, "I99", both(status(ndCHF, store.StatusInstalledNotCommissioned), status(ndGPF, store.StatusInstalledNotCommissioned))},
		{"8.14.1 not a CHF E11", supplier, "8.14.1", install(esme, esmeMPAN), nil, "E11", nil},
		{"8.14.1 unknown CHF E19", supplier, "8.14.1", install(ndNew, esmeMPAN), nil, "E19", nil},
		{"8.14.1 MPxN not the user's E4", supplier, "8.14.1", install(ndCHF, ndOthersMPAN), nil, "E4", status(ndCHF, store.StatusPending)},
		{"8.14.1 CHF already commissioned E081401", supplier, "8.14.1", install(chf, esmeMPAN), nil, CodeCHInstallStatus, status(chf, store.StatusCommissioned)},
		{"8.14.1 network operator E2", netop, "8.14.1", install(ndCHF, esmeMPAN), nil, "E2", nil},
		{"8.14.2 install, no SM WAN", supplier, "8.14.2", installNoWAN(ndCHF, ndTemplateMPRN), nil, "I99", both(status(ndCHF, store.StatusInstalledNotCommissioned), status(ndGPF, store.StatusInstalledNotCommissioned))},
		{"8.14.2 withdrawn CHF E081401", supplier, "8.14.2", installNoWAN(ndGoneCHF, ndTemplateMPRN), nil, CodeCHInstallStatus, nil},
		{"8.14.3 fault before installation", supplier, "8.14.3", fault(ndCHF, "Fault identified prior to installation"), nil, "I99", both(status(ndCHF, store.StatusWithdrawn), status(ndGPF, store.StatusWithdrawn))},
		{"8.14.3 fault after installation", supplier, "8.14.3", fault(chf, "Fault identified post installation"), nil, "I99", both(status(chf, store.StatusWithdrawn), status(gpf, store.StatusWithdrawn))},
		{"8.14.3 post-installation fault of an uninstalled CHF E081405", supplier, "8.14.3", fault(ndCHF, "Fault identified post installation"), nil, CodeCHFaultReturnType, status(ndCHF, store.StatusPending)},
		{"8.14.3 pre-installation fault of an installed CHF E081405", supplier, "8.14.3", fault(chf, "Fault identified prior to installation"), nil, CodeCHFaultReturnType, nil},
		{"8.14.3 another supplier's CH E4", supplier, "8.14.3", fault(ndOtherCHF, "Fault identified post installation"), nil, "E4", status(ndOtherCHF, store.StatusCommissioned)},
		{"8.14.4 no fault return", supplier, "8.14.4", noFault(ndCHF), nil, "I99", both(status(ndCHF, store.StatusWithdrawn), status(ndGPF, store.StatusWithdrawn))},
		{"8.14.4 already withdrawn E081402", supplier, "8.14.4", noFault(ndGoneCHF), nil, CodeCHReturnStatus, nil},
		{"8.14.4 not a CHF E11", supplier, "8.14.4", noFault(gpf), nil, "E11", nil},

		// 12.1 Request WAN Matrix
		{"12.1 no WAN data", netop, "12.1", "<sr:RequestWANMatrix><sr:UPRN>10023456789</sr:UPRN></sr:RequestWANMatrix>", nil, "I0", wanMatrix("Unknown", CodeWANCoverageUnavailable, "", "")},
		{"12.1 by UPRN", supplier, "12.1", "<sr:RequestWANMatrix><sr:UPRN>10023456789</sr:UPRN></sr:RequestWANMatrix>", network, "I0", wanMatrix("South", "I0", "false", "Low")},
		{"12.1 unknown UPRN", supplier, "12.1", "<sr:RequestWANMatrix><sr:UPRN>1</sr:UPRN></sr:RequestWANMatrix>", network, "I0", wanMatrix("Unknown", CodeWANLocationUnknown, "", "")},
		{"12.1 by postcode", supplier, "12.1", "<sr:RequestWANMatrix><sr:PartialAddress><sr:PostCode>M22 0RR</sr:PostCode><sr:AddressIdentifier>1</sr:AddressIdentifier></sr:PartialAddress></sr:RequestWANMatrix>", network, "I0", wanMatrix("North", "I0", "true", "High")},
	}
	ctx := context.Background()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newNDFixture(t, tt.wan)
			counter := uint64(5000 + i)
			rid := fmt.Sprintf("%s:90-B3-D5-1F-30-00-00-02:%d", tt.who, counter)
			r := f.duisResponse(t, "/api/v1/serviceD", f.request(t, tt.who, counter, tt.srv, tt.body))
			wantCode(t, r, tt.code, rid, tt.srv)
			if tt.check != nil {
				tt.check(t, f, r)
			}
			rq, err := f.store.Requests().RequestByCounter(ctx, tt.who, counter)
			last, _, _ := f.store.Counters().Last(ctx, RequestCounterKey(tt.who, acb))
			switch {
			case tt.code == "I99":
				// Carried out, recorded and final; the counter is consumed.
				if err != nil || rq.State != store.RequestResponded || rq.Outcome != "I99" || rq.SRV != tt.srv {
					t.Errorf("recorded %+v, %v", rq, err)
				}
				if last != counter {
					t.Errorf("counter %d not consumed (last %d)", counter, last)
				}
			case tt.code == "I0":
				if err == nil {
					t.Errorf("12.1 recorded as a request: %+v", rq)
				}
			default:
				// A refusal rolls back: nothing recorded, counter not burnt.
				if err == nil {
					t.Errorf("refused request recorded: %+v", rq)
				}
				if last == counter {
					t.Errorf("refused request consumed counter %d", counter)
				}
			}
		})
	}
}

// TestNonDeviceReplay: an executed non-device request consumed its counter:
// sent again it gets E1003 and changes nothing.
func TestNonDeviceReplay(t *testing.T) {
	f := newNDFixture(t, nil)
	doc := f.request(t, supplier, 7000, "12.2", "<sr:DevicePrenotification>"+ndDev(ndNew)+"<sr:DeviceManufacturer>AB01</sr:DeviceManufacturer><sr:DeviceModel>010A030B</sr:DeviceModel><sr:DeviceType>PPMID</sr:DeviceType></sr:DevicePrenotification>")
	rid := supplier.String() + ":90-B3-D5-1F-30-00-00-02:7000"
	wantCode(t, f.duisResponse(t, "/api/v1/serviceD", doc), "I99", rid, "12.2")
	wantCode(t, f.duisResponse(t, "/api/v1/serviceD", doc), CodeStaleCounter, rid, "12.2")
	// Refused with an SRV-specific code, the same counter is still usable.
	dup := f.request(t, supplier, 7001, "12.2", "<sr:DevicePrenotification>"+ndDev(ndNew)+"<sr:DeviceManufacturer>AB01</sr:DeviceManufacturer><sr:DeviceModel>010A030B</sr:DeviceModel><sr:DeviceType>PPMID</sr:DeviceType></sr:DevicePrenotification>")
	wantCode(t, f.duisResponse(t, "/api/v1/serviceD", dup), CodePrenotifyExists, strings.Replace(rid, ":7000", ":7001", 1), "12.2")
	wantCode(t, f.duisResponse(t, "/api/v1/serviceD", f.request(t, supplier, 7001, "8.4", "<sr:UpdateInventory>"+ndDev(ndNew)+"<sr:DeleteDevice/></sr:UpdateInventory>")), "I99", strings.Replace(rid, ":7000", ":7001", 1), "8.4")
}

// TestNonDeviceTemplates: the DCC Boxed RTDS templates of the non-device
// services the core carries out, re-signed by the supplier they name, each
// on a fresh store, get the outcome OpenDCC documents (docs/nondevice.md).
func TestNonDeviceTemplates(t *testing.T) {
	dir := refdata.Path(t, "duis", "templates")
	want := map[string]string{
		"12.1":   "I0",                // nil WAN: DSPWANMatrix, region Unknown E120103
		"12.2":   CodePrenotifyExists, // the template's device is the fixture's ESME
		"8.3":    "I99",               // the fixture's ESME, supplier registered
		"8.4":    CodeDeleteInService, // DeleteDevice of that Commissioned ESME
		"8.14.1": "I99",               // the Pending CH A2 installed at the supplier's MPRN
		"8.14.2": "I99",
		"8.14.3": "I99", // fault identified prior to installation of the Pending CH
		"8.14.4": "I99",
		"5.2":    CodeScheduleNotFound,       // schedule 123 does not exist on a fresh store
		"5.3":    CodeScheduleNotFoundDelete, // nor can it be deleted
	}
	seen := map[string]bool{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		srv, _, _ := strings.Cut(name, "_")
		code, ok := want[srv]
		if !ok {
			continue
		}
		seen[srv] = true
		t.Run(name, func(t *testing.T) {
			doc, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			f := newNDFixture(t, nil)
			signed := f.sign(t, string(doc))
			r := f.duisResponse(t, "/api/v1/serviceD", signed)
			wantCode(t, r, code, "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000", srv)
			if srv == "12.1" {
				if m := r.Body.ResponseMessage.DSPWANMatrix; m == nil || m.Request.PartialAddress == nil || m.DSPWANMatrixResponse[0].CSPRegionResponseCode != CodeWANCoverageUnavailable {
					t.Errorf("DSPWANMatrix %+v", m)
				}
			}
		})
	}
	for srv := range want {
		if !seen[srv] {
			t.Errorf("no template for %s", srv)
		}
	}
}
