package dcc

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/xmldsig"
)

var (
	supplier = eui.MustParse("90-B3-D5-1F-30-01-00-00")
	netop    = eui.MustParse("90-B3-D5-1F-30-02-00-00")
	other    = eui.MustParse("00-DB-12-34-56-78-00-04")
	acb      = eui.MustParse("90-B3-D5-1F-30-00-00-02")
	esme     = eui.MustParse("00-DB-12-34-56-78-90-A0")
	gsme     = eui.MustParse("00-DB-12-34-56-78-90-A1")
	newMeter = eui.MustParse("00-DB-12-34-56-78-90-B0")
	t0       = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
)

// memDirectory is a test double for the storage layer's Directory.
type memDirectory struct {
	users   map[eui.EUI64]User
	devices map[eui.EUI64]Device
	// registered[device][role] = user, from..to
	registered map[eui.EUI64]map[duis.Role]registration
}

type registration struct {
	user     eui.EUI64
	from, to time.Time
}

func (m *memDirectory) User(id eui.EUI64) (User, bool, error) {
	u, ok := m.users[id]
	return u, ok, nil
}
func (m *memDirectory) Device(id eui.EUI64) (Device, bool, error) {
	d, ok := m.devices[id]
	return d, ok, nil
}
func (m *memDirectory) Eligible(user eui.EUI64, role duis.Role, device eui.EUI64, at time.Time) (bool, error) {
	r, ok := m.registered[device][role]
	return ok && r.user == user && !at.Before(r.from) && (r.to.IsZero() || at.Before(r.to)), nil
}

type memCounters struct {
	mu   sync.Mutex
	last map[[2]eui.EUI64]uint64
}

func (c *memCounters) Accept(o, t eui.EUI64, n uint64) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [2]eui.EUI64{o, t}
	if last, ok := c.last[k]; ok && n <= last {
		return false, nil
	}
	c.last[k] = n
	return true, nil
}

func fixture() (*AccessControl, *memDirectory) {
	dir := &memDirectory{
		users: map[eui.EUI64]User{
			supplier: {ID: supplier, Roles: []duis.Role{duis.RoleIS, duis.RoleGS}, Status: UserActive},
			netop:    {ID: netop, Roles: []duis.Role{duis.RoleED, duis.RoleGT}, Status: UserActive},
			other:    {ID: other, Roles: []duis.Role{duis.RoleOU}, Status: UserSuspended},
		},
		devices: map[eui.EUI64]Device{
			esme:     {ID: esme, Type: ESME, Status: StatusCommissioned},
			gsme:     {ID: gsme, Type: GSME, Status: StatusCommissioned},
			newMeter: {ID: newMeter, Type: ESME, Status: StatusInstalledNotCommissioned},
		},
		registered: map[eui.EUI64]map[duis.Role]registration{
			esme:     {duis.RoleIS: {user: supplier, from: t0.Add(-24 * time.Hour), to: t0.Add(24 * time.Hour)}, duis.RoleED: {user: netop, from: t0.Add(-time.Hour)}},
			gsme:     {duis.RoleGS: {user: supplier, from: t0.Add(-time.Hour)}},
			newMeter: {duis.RoleIS: {user: supplier, from: t0.Add(-time.Hour)}},
		},
	}
	return &AccessControl{Dir: dir, Counters: &memCounters{last: map[[2]eui.EUI64]uint64{}}, DCC: acb, Now: func() time.Time { return t0 }}, dir
}

func req(t *testing.T, originator, target eui.EUI64, counter uint64, srv string, cv duis.CommandVariant, ep Endpoint) Request {
	t.Helper()
	s, ok := duis.LookupSRV(srv)
	if !ok {
		t.Fatalf("no SRV %s", srv)
	}
	return Request{ID: duis.NewRequestID(originator, target, counter), CV: cv, SRV: s, Body: s.BodyElement, Endpoint: ep}
}

// TestAccessControlChecks: one case per processing check, each with the
// E-code it must give (issue 6, acceptance 4), plus the accepted paths.
func TestAccessControlChecks(t *testing.T) {
	tests := []struct {
		name string
		r    func(t *testing.T) Request
		code string // "" = accepted
		role duis.Role
	}{
		{"accepted: 4.1.1 read registers", func(t *testing.T) Request { return req(t, supplier, esme, 1, "4.1.1", 1, EndpointSend) }, "", duis.RoleIS},
		{"accepted: gas supplier on the GSME", func(t *testing.T) Request { return req(t, supplier, gsme, 1, "4.1.1", 1, EndpointSend) }, "", duis.RoleGS},
		{"accepted: network operator reads", func(t *testing.T) Request { return req(t, netop, esme, 1, "4.1.1", 1, EndpointSend) }, "", duis.RoleED},
		{"accepted: 8.2 non-device", func(t *testing.T) Request { return req(t, supplier, acb, 1, "8.2", 8, EndpointNonDevice) }, "", duis.RoleIS},
		{"accepted: critical transform", func(t *testing.T) Request { return req(t, supplier, esme, 1, "1.1.1", 4, EndpointTransform) }, "", duis.RoleIS},
		{"accepted: commissioning an installed meter", func(t *testing.T) Request { return req(t, supplier, newMeter, 1, "8.1.1", 4, EndpointTransform) }, "", duis.RoleIS},
		{"E13 CV 1 on the Transform URL", func(t *testing.T) Request { return req(t, supplier, esme, 1, "4.1.1", 1, EndpointTransform) }, "E13", ""},
		{"E13 non-device request on Send", func(t *testing.T) Request { return req(t, supplier, acb, 1, "8.2", 8, EndpointSend) }, "E13", ""},
		{"E1 unknown user", func(t *testing.T) Request {
			return req(t, eui.MustParse("90-B3-D5-1F-30-09-09-09"), esme, 1, "4.1.1", 1, EndpointSend)
		}, "E1", ""},
		{"E2 role not permitted (ED updating a tariff)", func(t *testing.T) Request { return req(t, netop, esme, 1, "1.1.1", 4, EndpointTransform) }, "E2", ""},
		{"E3 suspended user", func(t *testing.T) Request { return req(t, other, acb, 1, "8.2", 8, EndpointNonDevice) }, "E3", ""},
		{"E12 critical service sent as CV 1", func(t *testing.T) Request { return req(t, supplier, esme, 1, "1.1.1", 1, EndpointSend) }, "E12", ""},
		{"E19 device not in inventory", func(t *testing.T) Request {
			return req(t, supplier, eui.MustParse("00-DB-12-34-56-78-99-99"), 1, "4.1.1", 1, EndpointSend)
		}, "E19", ""},
		{"E19 non-device request not to the DCC", func(t *testing.T) Request { return req(t, supplier, esme, 1, "8.2", 8, EndpointNonDevice) }, "E19", ""},
		{"E11 electricity-only service to a GSME", func(t *testing.T) Request { return req(t, supplier, gsme, 1, "1.1.2", 4, EndpointTransform) }, "E11", ""},
		{"E5 reading an uncommissioned meter", func(t *testing.T) Request { return req(t, supplier, newMeter, 1, "4.1.1", 1, EndpointSend) }, "E5", ""},
		{"E4 supplier not registered for the GSME's network (ED on GSME)", func(t *testing.T) Request { return req(t, netop, gsme, 1, "4.1.1", 1, EndpointSend) }, "E4", ""},
		{"E4 future-dated after the registration ends", func(t *testing.T) Request {
			r := req(t, supplier, esme, 1, "4.1.1", 1, EndpointSend)
			r.Execute = t0.Add(48 * time.Hour)
			return r
		}, "E4", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ac, _ := fixture()
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

func TestAntiReplay(t *testing.T) {
	ac, _ := fixture()
	for i, c := range []struct {
		counter uint64
		code    string
	}{{100, ""}, {100, CodeStaleCounter}, {99, CodeStaleCounter}, {101, ""}} {
		_, err := ac.Check(req(t, supplier, esme, c.counter, "4.1.1", 1, EndpointSend))
		var rj *Rejection
		if c.code == "" && err != nil || c.code != "" && (!errors.As(err, &rj) || rj.Code != c.code) {
			t.Errorf("step %d counter %d: %v, want %q", i, c.counter, err, c.code)
		}
	}
	// A refused request does not burn the counter.
	ac, _ = fixture()
	if _, err := ac.Check(req(t, supplier, esme, 500, "1.1.1", 1, EndpointSend)); err == nil {
		t.Fatal("E12 case accepted")
	}
	if _, err := ac.Check(req(t, supplier, esme, 500, "4.1.1", 1, EndpointSend)); err != nil {
		t.Errorf("counter consumed by a rejected request: %v", err)
	}
	// The CV 4 transform does not consume the counter its CV 5 reuses.
	if _, err := ac.Check(req(t, supplier, esme, 600, "1.1.1", 4, EndpointTransform)); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.Check(req(t, supplier, esme, 600, "1.1.1", 5, EndpointSend)); err != nil {
		t.Errorf("CV 5 with the transform's RequestID: %v", err)
	}
	if _, err := ac.Check(req(t, supplier, esme, 600, "1.1.1", 5, EndpointSend)); err == nil {
		t.Error("replayed CV 5 accepted")
	}
}

func TestDeviceTypesFor(t *testing.T) {
	for srv, want := range map[string]string{"1.1.2": "ESME", "4.1.1": "ESME GSME", "8.11": "CHF"} {
		s, _ := duis.LookupSRV(srv)
		got := fmt.Sprint(DeviceTypesFor(s))
		for _, w := range strings.Fields(want) {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %s lacks %s", srv, got, w)
			}
		}
	}
	for _, s := range duis.SRVs() {
		if !s.NonDevice && len(DeviceTypesFor(&s)) == 0 {
			t.Errorf("%s %s: no device type", s.Variant, s.Name)
		}
	}
}

func signer(t *testing.T, who eui.EUI64) (*smki.Store, *Signer) {
	t.Helper()
	st := smki.NewStore()
	if err := st.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	k, c, err := st.XMLSigningKey(who)
	if err != nil {
		t.Fatal(err)
	}
	return st, &Signer{Key: k, Cert: c}
}

const readRegisters = `<?xml version="1.0" encoding="UTF-8"?><sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"><sr:Header><sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:%d</sr:RequestID><sr:CommandVariant>1</sr:CommandVariant><sr:ServiceReference>4.1</sr:ServiceReference><sr:ServiceReferenceVariant>4.1.1</sr:ServiceReferenceVariant></sr:Header><sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Request>`

// TestIntakeAndResponse: a signed request passes intake and access control;
// tampered, unsigned, wrongly signed and schema-invalid ones get their codes;
// the DCC's I99 is schema-valid and verifies as the DCC's signature.
func TestIntakeAndResponse(t *testing.T) {
	store, sup := signer(t, supplier)
	_, dcc := signer(t, acb)
	_, nop := signer(t, netop)
	in := &Intake{Certificates: store}
	signed, err := xmldsig.Sign([]byte(fmt.Sprintf(readRegisters, 1000)), sup.Key, sup.Cert)
	if err != nil {
		t.Fatal(err)
	}
	p, err := in.Parse(signed, EndpointSend)
	if err != nil {
		t.Fatal(err)
	}
	if p.SRV.Variant != "4.1.1" || p.CV != 1 || p.Body != "ReadInstantaneousImportRegisters" || p.ID.Counter != 1000 {
		t.Errorf("parsed %+v", p.Request)
	}
	ac, _ := fixture()
	if _, err := ac.Check(p.Request); err != nil {
		t.Fatal(err)
	}
	wrongSigner, _ := xmldsig.Sign([]byte(fmt.Sprintf(readRegisters, 1001)), nop.Key, nop.Cert)
	cases := map[string]struct {
		doc  []byte
		code string
	}{
		"tampered":      {[]byte(strings.Replace(string(signed), ":1000<", ":1001<", 1)), CodeBadSignature},
		"unsigned":      {[]byte(fmt.Sprintf(readRegisters, 1002)), CodeBadSignature},
		"wrong signer":  {wrongSigner, CodeUnknownCertificate},
		"schema":        {[]byte(strings.Replace(string(signed), "<sr:CommandVariant>1<", "<sr:CommandVariant>12<", 1)), CodeSchemaInvalid},
		"doctype (XXE)": {[]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>`), CodeSchemaInvalid},
	}
	for name, c := range cases {
		_, err := in.Parse(c.doc, EndpointSend)
		var rj *Rejection
		if !errors.As(err, &rj) || rj.Code != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
	ack, err := dcc.Response(ResponseParts{RequestID: p.RawRequestID, Code: "I99", SR: "4.1", SRV: "4.1.1", Time: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := duis.Validate(ack); err != nil {
		t.Fatalf("I99 is not schema-valid: %v\n%s", err, ack)
	}
	res, err := xmldsig.Verify(ack, xmldsig.VerifyOptions{Certificates: store, ExpectedSigner: &acb})
	if err != nil || res.Role != smki.RoleDSPXMLSign {
		t.Fatalf("I99 signature: %v %+v", err, res)
	}
	if !strings.Contains(string(ack), "<sr:ResponseCode>I99</sr:ResponseCode><sr:ResponseDateTime>2026-11-28T12:00:00.000Z</sr:ResponseDateTime>") {
		t.Errorf("I99: %s", ack)
	}
	pc, err := dcc.Response(ResponseParts{RequestID: p.RawRequestID, Code: "I0", SR: "1.1", SRV: "1.1.1", Time: t0, PreCommand: []byte{0xDF, 0x09}})
	if err != nil {
		t.Fatal(err)
	}
	if err := duis.Validate(pc); err != nil || !strings.Contains(string(pc), "<sr:PreCommand><sr:GBCSVersion>") {
		t.Errorf("pre-command response: %v\n%s", err, pc)
	}
}
