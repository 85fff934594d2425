package xmldsig

import (
	"errors"
	"testing"

	"github.com/opendcc/opendcc/smki"
)

// revokedSerials is a RevocationChecker over a set of serials.
type revokedSerials map[string]bool

func (r revokedSerials) Revoked(c *smki.Certificate) bool { return r[c.SerialHex()] }

func TestVerifyRevocation(t *testing.T) {
	doc, store := signed82(t)
	res, err := Verify(doc, VerifyOptions{Certificates: store, Revocation: revokedSerials{}})
	if err != nil {
		t.Fatal(err)
	}
	opts := VerifyOptions{Certificates: store, Revocation: revokedSerials{res.Certificate.SerialHex(): true}}
	if _, err := Verify(doc, opts); !errors.Is(err, ErrCertificateRevoked) {
		t.Errorf("revoked signer: err = %v", err)
	}
	// Cryptographic failures are still reported first.
	bad := append([]byte(nil), doc...)
	bad[len(bad)/3] ^= 0x01
	if _, err := Verify(bad, opts); errors.Is(err, ErrCertificateRevoked) || err == nil {
		t.Errorf("tampered and revoked: err = %v", err)
	}
}
