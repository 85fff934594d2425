// Package dcc is the DCC core: it takes signed DUIS service requests from
// DCC Users, applies the access-control checks of SEC H4 in order, and
// answers with signed DUIS responses. This file holds the checks; they see
// the system's state only through the small interfaces below (users,
// inventory, registration data, anti-replay counters), which the storage
// layer implements.
package dcc

import (
	"fmt"
	"strings"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
)

// UserStatus is a DCC User's status; only Active users may send requests.
type UserStatus string

// User statuses.
const (
	UserActive    UserStatus = "Active"
	UserSuspended UserStatus = "Suspended"
	UserWithdrawn UserStatus = "Withdrawn"
)

// User is a DCC User: one User ID (EUI-64) with the User Roles it holds.
type User struct {
	ID     eui.EUI64
	Roles  []duis.Role
	Status UserStatus
}

// DeviceType is the DUIS DeviceType of an inventory entry.
type DeviceType string

// Device types (DUIS DeviceType enumeration).
const (
	ESME   DeviceType = "ESME"
	GSME   DeviceType = "GSME"
	GPF    DeviceType = "GPF"
	CHF    DeviceType = "CHF"
	HCALCS DeviceType = "HCALCS"
	PPMID  DeviceType = "PPMID"
	IHD    DeviceType = "IHD"
	CAD    DeviceType = "CAD"
)

// SMIStatus is a device's Smart Metering Inventory status (DUIS DeviceStatus).
type SMIStatus string

// SMI statuses.
const (
	StatusPending                  SMIStatus = "Pending"
	StatusWhitelisted              SMIStatus = "Whitelisted"
	StatusInstalledNotCommissioned SMIStatus = "InstalledNotCommissioned"
	StatusCommissioned             SMIStatus = "Commissioned"
	StatusDecommissioned           SMIStatus = "Decommissioned"
	StatusWithdrawn                SMIStatus = "Withdrawn"
	StatusSuspended                SMIStatus = "Suspended"
	StatusRecovery                 SMIStatus = "Recovery"
	StatusRecovered                SMIStatus = "Recovered"
)

// Device is an inventory entry as access control needs it.
type Device struct {
	ID     eui.EUI64
	Type   DeviceType
	Status SMIStatus
}

// Directory answers the questions access control asks of the system's state.
type Directory interface {
	// User returns the registered DCC User, or ok=false.
	User(id eui.EUI64) (u User, ok bool, err error)
	// Device returns the inventory entry, or ok=false.
	Device(id eui.EUI64) (d Device, ok bool, err error)
	// Eligible reports whether user, acting in role, is registered for the
	// device at time at (registration data: supplier, network operator...).
	Eligible(user eui.EUI64, role duis.Role, device eui.EUI64, at time.Time) (bool, error)
}

// Counters is the durable anti-replay record.
type Counters interface {
	// Accept records counter as the last accepted from originator for
	// target if it is strictly greater than the previous one, and reports
	// whether it was.
	Accept(originator, target eui.EUI64, counter uint64) (bool, error)
}

// Response codes OpenDCC returns where the public sources name none
// (docs/response-codes.md). They are chosen from the DUIS 5.4 enumeration's
// codes without a published meaning, and are stable.
const (
	CodeSchemaInvalid      = "E100"  // the request is not valid DUIS 5.4
	CodeBadSignature       = "E1000" // signature missing, malformed or not verifying
	CodeUnknownCertificate = "E1001" // signer certificate unknown, revoked or not the originator's
	CodeStaleCounter       = "E1003" // RequestID counter not greater than the last accepted
)

// Rejection is a request refused with a DUIS response code. It is not an
// internal failure: the caller answers with Code.
type Rejection struct {
	Code   string
	Reason string
}

func (r *Rejection) Error() string { return r.Code + ": " + r.Reason }

func reject(code, format string, a ...any) error {
	return &Rejection{Code: code, Reason: fmt.Sprintf(format, a...)}
}

// Endpoint is the DUIS web service a request arrived on: "S" Send Command,
// "T" Transform, "D" Non-Device (duis.CommandVariant.WebService).
type Endpoint string

// Endpoints.
const (
	EndpointSend      Endpoint = "S"
	EndpointTransform Endpoint = "T"
	EndpointNonDevice Endpoint = "D"
)

// Request is a request that has passed the schema and signature checks.
type Request struct {
	ID       duis.RequestID
	CV       duis.CommandVariant
	SRV      *duis.SRV
	Body     string    // local name of the sr:Body child
	Execute  time.Time // ExecutionDateTime for future-dated requests; zero = now
	Endpoint Endpoint
}

// CancellationYear: an ExecutionDateTime in this year or later is the DUIS
// cancellation of a future-dated command (the templates write
// 3000-12-31T00:00:00Z): the command goes out now and tells the device to
// drop what it holds, and eligibility is checked now.
const CancellationYear = 3000

// Cancellation reports whether the request cancels a future-dated command.
func (r Request) Cancellation() bool { return r.Execute.Year() >= CancellationYear }

// Accepted is a request that passed access control.
type Accepted struct {
	Request
	User   User
	Role   duis.Role // the role the request is authorised under
	Device *Device   // nil for non-device requests
}

// AccessControl applies SEC H4 checks 4–13 (sec-rules.md §1.3) in order;
// the URL, schema and signature checks come before it (see Check).
type AccessControl struct {
	Dir      Directory
	Counters Counters
	// DCC is the Access Control Broker EUI: the target of non-device requests.
	DCC eui.EUI64
	// Now gives the time eligibility is evaluated at for immediate requests.
	Now func() time.Time
}

// Check runs the checks and returns the accepted request or a *Rejection.
// Nothing that fails a check reaches a device, and the anti-replay counter
// is consumed only by a request that passed every other check.
func (ac *AccessControl) Check(r Request) (*Accepted, error) {
	// E13: the command variant belongs to another web service.
	if ws := Endpoint(r.CV.WebService()); ws != r.Endpoint {
		return nil, reject("E13", "command variant %d is not served on the %s endpoint", r.CV, endpointName(r.Endpoint))
	}
	u, ok, err := ac.Dir.User(r.ID.Originator)
	if err != nil {
		return nil, err
	}
	internal := r.ID.Originator == ac.DCC
	if internal {
		// The DCC's own requests (its EUI, signed with its own XML key,
		// which the intake has verified): DCC Boxed lets test tooling
		// trigger the ACB's use cases this way (CS02f MAC, CS08 during
		// commissioning, GCS59). They act in every role the SRV allows and
		// need no registration (docs/processing.md).
		// A registry entry for the DCC (the dccboxed profile has one)
		// gives only its Receive Response Service URL and status.
		status := UserActive
		if ok {
			status = u.Status
		}
		u, ok = User{ID: ac.DCC, Roles: []duis.Role{duis.RoleIS, duis.RoleES, duis.RoleGS, duis.RoleED, duis.RoleGT, duis.RoleRSA, duis.RoleOU}, Status: status}, true
	}
	// E1: not a known DCC User / role.
	if !ok || len(u.Roles) == 0 {
		return nil, reject("E1", "%s is not a DCC User", r.ID.Originator)
	}
	// E2: no role of the user may use the service.
	var roles []duis.Role
	for _, role := range u.Roles {
		if srvEligible(r.SRV, role) {
			roles = append(roles, role)
		}
	}
	if len(roles) == 0 {
		return nil, reject("E2", "user roles %v may not use service %s", u.Roles, r.SRV.Variant)
	}
	// E3: the user's status does not permit requests.
	if u.Status != UserActive {
		return nil, reject("E3", "user %s is %s", u.ID, u.Status)
	}
	// E12: command variant not valid for the service.
	if !r.SRV.AllowsCV(r.CV) {
		return nil, reject("E12", "command variant %d is not valid for service %s (allowed %v)", r.CV, r.SRV.Variant, r.SRV.AllowedCV)
	}
	acc := &Accepted{Request: r, User: u, Role: roles[0]}
	if r.SRV.NonDevice {
		if r.ID.Target != ac.DCC {
			return nil, reject("E19", "a non-device request must target the DCC %s, not %s", ac.DCC, r.ID.Target)
		}
	} else {
		d, ok, err := ac.Dir.Device(r.ID.Target)
		if err != nil {
			return nil, err
		}
		// E19: device not in the inventory.
		if !ok {
			return nil, reject("E19", "device %s is not in the inventory", r.ID.Target)
		}
		// E11: service not compatible with the device type.
		if types := DeviceTypesFor(r.SRV); !containsType(types, d.Type) {
			return nil, reject("E11", "service %s does not apply to a %s (applies to %v)", r.SRV.Variant, d.Type, types)
		}
		// E5: device status incompatible with the service.
		if !StatusAllows(d.Status, r.SRV) {
			return nil, reject("E5", "device %s is %s: service %s not available", d.ID, d.Status, r.SRV.Variant)
		}
		// E4: eligibility for this device at the execution time.
		at := r.Execute
		if at.IsZero() || r.Cancellation() {
			at = ac.Now()
		}
		eligible := false
		for _, role := range roles {
			if role == duis.RoleOU || internal {
				// Other Users are not in registration data: a role the
				// SRV allows them is theirs for any device (the SEC's
				// consent rules are the User's obligation, not checked).
				eligible, acc.Role = true, role
				break
			}
			ok, err := ac.Dir.Eligible(u.ID, role, d.ID, at)
			if err != nil {
				return nil, err
			}
			if ok {
				eligible, acc.Role = true, role
				break
			}
		}
		if !eligible {
			return nil, reject("E4", "user %s is not registered for device %s at %s in roles %v", u.ID, d.ID, at.UTC().Format(time.RFC3339), roles)
		}
		acc.Device = &d
	}
	// Anti-replay, last so that a refused request does not burn a counter.
	// The critical two-step reuses the RequestID of the CV 4 transform, so
	// only the request that goes to a device (or the non-device request)
	// consumes the counter; see docs/processing.md.
	if r.CV != duis.CVTransform {
		ok, err := ac.Counters.Accept(r.ID.Originator, r.ID.Target, r.ID.Counter)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, reject(CodeStaleCounter, "counter %d is not greater than the last accepted from %s for %s", r.ID.Counter, r.ID.Originator, r.ID.Target)
		}
	}
	return acc, nil
}

func endpointName(e Endpoint) string {
	switch e {
	case EndpointSend:
		return "Send Command (serviceS)"
	case EndpointTransform:
		return "Transform (serviceT)"
	case EndpointNonDevice:
		return "Non-Device (serviceD)"
	}
	return "unknown"
}

func containsType(ts []DeviceType, t DeviceType) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// DeviceTypesFor lists the device types a device service applies to, from
// the target devices the GBCS use-case catalogue gives for its use cases.
func DeviceTypesFor(s *duis.SRV) []DeviceType {
	seen := map[DeviceType]bool{}
	var out []DeviceType
	add := func(t DeviceType) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, name := range s.GBCSUseCases {
		for _, uc := range gbcs.LookupUseCase(name) {
			td := strings.TrimPrefix(uc.TargetDevices, "rtds:")
			if strings.Contains(td, "ZigBee Device") {
				// CS10a/b: the ZigBee (GBZ-speaking) HAN devices.
				for _, t := range []DeviceType{GSME, HCALCS, PPMID} {
					add(t)
				}
			}
			if strings.Contains(td, "All") {
				for _, t := range []DeviceType{ESME, GSME, GPF, CHF, HCALCS, PPMID} {
					add(t)
				}
			}
			for _, tok := range []struct {
				word string
				t    DeviceType
			}{{"ESME", ESME}, {"GSME", GSME}, {"GPF", GPF}, {"CHF", CHF}, {"HCALCS", HCALCS}, {"PPMID", PPMID}, {"SAPC", ESME}} {
				// "ESME (from PPMID, HAN only)" is a HAN-only command a
				// device sends; it is not a DUIS target.
				if strings.Contains(td, tok.word) && !strings.Contains(td, "HAN only") {
					add(tok.t)
				}
			}
		}
	}
	return out
}

// commissioningServices may reach a device that is installed but not yet
// commissioned: commissioning itself, joining, the CHF device log, reading
// inventory-relevant data and security credentials (decision recorded in
// docs/processing.md; the SEC's Appendix AC table was not available).
var commissioningServices = map[string]bool{
	"8.1.1": true, "8.7.1": true, "8.7.2": true, "8.8.1": true, "8.8.2": true,
	"8.9": true, "8.11": true, "8.12.1": true, "8.12.2": true, "6.15.1": true, "6.15.2": true,
	"6.21": true, "6.23": true, "6.24.1": true, "6.24.2": true, "11.2": true, "11.3": true,
}

// StatusAllows decides whether a device in status st may receive service s
// (E5). Commissioned and Recovered devices take every service; devices
// installed, whitelisted or pending take only the commissioning set;
// decommissioned, withdrawn, suspended and in-recovery devices take none.
func StatusAllows(st SMIStatus, s *duis.SRV) bool {
	switch st {
	case StatusCommissioned, StatusRecovered:
		return true
	case StatusInstalledNotCommissioned, StatusWhitelisted, StatusPending:
		return commissioningServices[s.Variant]
	}
	return false
}

// unlistedEligibility gives the roles of the SRVs whose eligibility the
// public DUIS matrix leaves blank (OpenDCC's choice, docs/processing.md):
// 7.16 Limit APC Level is the load controller's (an Other User in the
// DCC Boxed set); 8.5 and 8.6 Service Opt Out / In are the suppliers'.
var unlistedEligibility = map[string][]duis.Role{
	"7.16": {duis.RoleOU},
	"8.5":  {duis.RoleIS, duis.RoleES, duis.RoleGS},
	"8.6":  {duis.RoleIS, duis.RoleES, duis.RoleGS},
}

func srvEligible(s *duis.SRV, role duis.Role) bool {
	if len(s.EligibleRoles) == 0 {
		for _, r := range unlistedEligibility[s.Variant] {
			if r == role {
				return true
			}
		}
		return false
	}
	return s.Eligible(role)
}
