package server

import (
	"github.com/opendcc/opendcc/dcc"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/smki"
)

// dccParties finds the DCC's remote parties besides the ACB in its trust
// store: the Transitional CoS party is the subject of the organisation
// certificate with role transitionalCoS (5) and keyUsage digitalSignature
// whose private key the DCC holds (it signs 6.23's CS02b). Today the
// trust store is the DCC Boxed ZAZ1 set (90-B3-D5-1F-30-00-00-04); the
// first such certificate in the store's order decides.
func dccParties(trust *smki.Store) dcc.DCCParties {
	var p dcc.DCCParties
	for _, e := range trust.Entries() {
		c := e.Certificate
		if e.Key != nil && c.Role == smki.RoleTransitionalCoS && c.KeyUsage&smki.KeyUsageDigitalSignature != 0 && c.EUI != (eui.EUI64{}) {
			p.TransCoS = c.EUI
			break
		}
	}
	return p
}

// brokerCredentials are the Access Control Broker's certificates in the
// trust store (role 4, the DCC's EUI): the digital-signing and the
// key-agreement one, for 8.6 Service Opt In.
func brokerCredentials(trust *smki.Store, acb eui.EUI64) dcc.BrokerCredentials {
	var b dcc.BrokerCredentials
	for _, c := range trust.ByEUI(acb) {
		if c.Role != smki.RoleAccessControlBroker {
			continue
		}
		if c.KeyUsage&smki.KeyUsageKeyAgreement != 0 && b.KeyAgreement == nil {
			b.KeyAgreement = c.Raw
		}
		if c.KeyUsage&smki.KeyUsageDigitalSignature != 0 && b.DigitalSigning == nil {
			b.DigitalSigning = c.Raw
		}
	}
	return b
}
