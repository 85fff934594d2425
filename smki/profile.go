package smki

import (
	"crypto/ecdsa"
	"crypto/sha1"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Policy and hardware-type object identifiers as the reference certificates
// carry them (DCC test environment; /work/shared/data/zaz1 and the RTDS
// keystore). They are defaults: a CA may be set up with other OIDs.
var (
	// OIDPolicyOrganisation is the certificatePolicies OID of the ZAZ1
	// organisation certificates (1.2.826.0.1.8641679.1.2.1.4).
	OIDPolicyOrganisation = asn1.ObjectIdentifier{1, 2, 826, 0, 1, 8641679, 1, 2, 1, 4}
	// OIDPolicyDevice is the certificatePolicies OID of the RTDS device
	// certificates (1.2.826.0.1.1800000.1.2.1.4).
	OIDPolicyDevice = asn1.ObjectIdentifier{1, 2, 826, 0, 1, 1800000, 1, 2, 1, 4}
	// OIDHardwareTypeDevice is the hwType of the RTDS device certificates'
	// hardwareModuleName (1.2.826.0.1.8641679.1.2.2.1).
	OIDHardwareTypeDevice = asn1.ObjectIdentifier{1, 2, 826, 0, 1, 8641679, 1, 2, 2, 1}
	// OIDAnyPolicy is anyPolicy (RFC 5280 §4.2.1.4).
	OIDAnyPolicy = asn1.ObjectIdentifier{2, 5, 29, 32, 0}
)

// DeviceNotAfter is the notAfter of every device certificate:
// 99991231235959Z (GBCS: "no well-defined expiration date").
var DeviceNotAfter = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// KeyIDSize is the length of SMKI key identifiers.
const KeyIDSize = 8

// KeyID computes the 8-octet SMKI key identifier of pub by RFC 5280
// §4.2.1.2 method 2: the four bits 0100 followed by the least significant
// 60 bits of the SHA-1 of the subjectPublicKey BIT STRING value (the
// uncompressed point). Every reference certificate's SKI is computed so.
func KeyID(pub *ecdsa.PublicKey) ([]byte, error) {
	point, err := pub.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	h := sha1.Sum(point)
	id := append([]byte(nil), h[len(h)-KeyIDSize:]...)
	id[0] = 0x40 | id[0]&0x0F
	return id, nil
}

// ErrProfile is wrapped when a certificate does not follow the SMKI profile.
var ErrProfile = errors.New("smki: certificate does not follow the SMKI profile")

// ProfileViolations lists how c departs from the SMKI certificate profile
// (GBCS §4.3.2, SEC Appendix A/B as summarised in sec-rules.md §6); nil
// means none. The parser already enforces version 3 and ECDSA P-256 keys.
// Rules:
//
//   - all: signature ecdsa-with-SHA256; keyUsage present and critical;
//     subjectKeyIdentifier present, non-critical, 8 octets;
//     authorityKeyIdentifier present (except on a self-issued root),
//     non-critical, with an 8-octet keyIdentifier; certificatePolicies
//     present, critical, with at least one policy; no critical extension
//     this package does not understand;
//   - organisation and device: keyUsage exactly digitalSignature or exactly
//     keyAgreement; not a CA;
//   - device: empty subject; notAfter 99991231235959Z; a critical
//     subjectAltName with the hardwareModuleName; exactly one policy;
//   - authority: basicConstraints present and critical with cA; keyUsage
//     with keyCertSign.
//
// The DCC Boxed XML-signing certificates (xml-sign-*, dsp-xml-sign-*) have
// no authorityKeyIdentifier and are reported for that.
func ProfileViolations(c *Certificate) []string {
	var v []string
	add := func(format string, a ...any) { v = append(v, fmt.Sprintf(format, a...)) }
	if !c.SignatureAlgorithm.Equal(OIDECDSAWithSHA256) {
		add("signature algorithm %v, want ecdsa-with-SHA256", c.SignatureAlgorithm)
	}
	if len(c.SerialNumber.Bytes()) > 20 {
		add("serial number longer than 20 octets")
	}
	if ku, ok := c.Extension(OIDExtKeyUsage); !ok {
		add("keyUsage missing")
	} else if !ku.Critical {
		add("keyUsage not critical")
	}
	if e, ok := c.Extension(OIDExtSubjectKeyID); !ok {
		add("subjectKeyIdentifier missing")
	} else {
		if e.Critical {
			add("subjectKeyIdentifier critical")
		}
		if len(c.SubjectKeyID) != KeyIDSize {
			add("subjectKeyIdentifier is %d octets, want %d", len(c.SubjectKeyID), KeyIDSize)
		}
	}
	if e, ok := c.Extension(OIDExtAuthorityKeyID); !ok {
		if !c.IsSelfIssued() {
			add("authorityKeyIdentifier missing")
		}
	} else {
		if e.Critical {
			add("authorityKeyIdentifier critical")
		}
		if len(c.AuthorityKeyID) != KeyIDSize {
			add("authorityKeyIdentifier keyIdentifier is %d octets, want %d", len(c.AuthorityKeyID), KeyIDSize)
		}
	}
	if _, ok := c.Extension(OIDExtCertificatePolicies); !ok {
		add("certificatePolicies missing")
	} else {
		if !c.PoliciesCritical {
			add("certificatePolicies not critical")
		}
		if len(c.Policies) == 0 {
			add("certificatePolicies empty")
		}
	}
	for _, id := range c.UnhandledCriticalExtensions {
		add("unhandled critical extension %v", id)
	}
	switch c.Kind {
	case KindOrganisation, KindDevice:
		if c.KeyUsage != KeyUsageDigitalSignature && c.KeyUsage != KeyUsageKeyAgreement {
			add("keyUsage %q, want exactly digitalSignature or exactly keyAgreement", c.KeyUsage)
		}
		if c.IsCA {
			add("an end-entity certificate with basicConstraints cA")
		}
	}
	switch c.Kind {
	case KindDevice:
		if len(c.SubjectName) != 0 {
			add("device certificate subject %q, want empty", c.Subject)
		}
		if !c.NotAfter.Equal(DeviceNotAfter) {
			add("device certificate notAfter %s, want 9999-12-31T23:59:59Z", c.NotAfter.Format(time.RFC3339))
		}
		if san, ok := c.Extension(OIDExtSubjectAltName); !ok || !san.Critical {
			add("device certificate subjectAltName not critical")
		}
		if len(c.Policies) > 1 {
			add("device certificate has %d policies, want one", len(c.Policies))
		}
	case KindAuthority:
		if !c.BasicConstraintsPresent {
			add("basicConstraints missing")
		} else if bc, _ := c.Extension(OIDExtBasicConstraints); !bc.Critical {
			add("basicConstraints not critical")
		}
		if c.KeyUsage&KeyUsageCertSign == 0 {
			add("CA keyUsage %q lacks keyCertSign", c.KeyUsage)
		}
	}
	return v
}

// CheckProfile returns nil when c follows the SMKI profile, else an error
// wrapping ErrProfile that lists every violation.
func CheckProfile(c *Certificate) error {
	v := ProfileViolations(c)
	if len(v) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s: %s", ErrProfile, c, strings.Join(v, "; "))
}
