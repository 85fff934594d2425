package dcc

// 8.6 Service Opt In: a supplier brings a device that was opted out of the
// DCC's services (8.5 replaced the ACB's credentials on it) back in. The
// DCC answers with its Access Control Broker credentials (DSPOptIn), which
// the supplier then places on the device.

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/store"
)

// BrokerCredentials are the DCC's Access Control Broker certificates (DER)
// that 8.6 Service Opt In hands out.
type BrokerCredentials struct {
	DigitalSigning, KeyAgreement []byte
}

// 8.6 response codes (OpenDCC's assignment; docs/nondevice.md).
const (
	// CodeOptInDeviceType: DeviceType is not the inventory's.
	CodeOptInDeviceType = "E080601"
	// CodeOptInMPxN: the MPxNs are not the device's.
	CodeOptInMPxN = "E080602"
	// CodeOptInNoCredentials: the DCC holds no ACB key-agreement
	// certificate to give.
	CodeOptInNoCredentials = "E080607"
)

// serviceOptIn carries out 8.6: the device exists (E19), is of the type
// given (E080601), the MPxNs are its own (E080602), and the User is
// registered for its import MPxN in a role eligible for 8.6 at the
// OptInDate (E4). Answer I0 DSPOptIn with the ACB's certificates.
func (h *Handler) serviceOptIn(ctx context.Context, tx store.Repos, acc *Accepted, q *duis.ServiceOptIn) (*nonDeviceResult, error) {
	d, err := getDevice(ctx, tx, q.DeviceID)
	if err != nil {
		return nil, err
	}
	if string(d.Type) != q.DeviceType {
		return nil, reject(CodeOptInDeviceType, "device %s is a %s, not a %s", d.ID, d.Type, q.DeviceType)
	}
	if q.MPxNs.ImportMPxN != d.ImportMPxN || (q.MPxNs.SecondaryImportMPAN != nil && *q.MPxNs.SecondaryImportMPAN != d.SecondaryImportMPAN) ||
		(q.MPxNs.ExportMPAN != nil && *q.MPxNs.ExportMPAN != d.ExportMPAN) {
		return nil, reject(CodeOptInMPxN, "the MPxNs given are not those of device %s", d.ID)
	}
	at, err := parseDate(q.OptInDate)
	if err != nil {
		return nil, reject(CodeSchemaInvalid, "OptInDate: %v", err)
	}
	if err := checkRegisteredFor(ctx, tx, acc, d.ImportMPxN, at.Add(12*time.Hour)); err != nil {
		return nil, err
	}
	if len(h.Broker.KeyAgreement) == 0 {
		return nil, reject(CodeOptInNoCredentials, "the DCC holds no Access Control Broker key-agreement certificate")
	}
	opt := &duis.DSPOptIn{DeviceID: d.ID.String(), DSPBrokerSecurityCredentialsKeyAgreement: base64.StdEncoding.EncodeToString(h.Broker.KeyAgreement)}
	if len(h.Broker.DigitalSigning) > 0 {
		ds := base64.StdEncoding.EncodeToString(h.Broker.DigitalSigning)
		opt.DSPBrokerSecurityCredentialsDigitalSigning = &ds
	}
	return &nonDeviceResult{Code: "I0", Fill: func(rm *duis.ResponseMessage) { rm.DSPOptIn = opt }}, nil
}
