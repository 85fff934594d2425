package xmldsig

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/smki"
)

var (
	zaz1Once  sync.Once
	zaz1Store *smki.Store
	zaz1Err   error
)

// zaz1 is the ZAZ1 folder plus the dccboxed keystore JSON.
func zaz1(tb testing.TB) *smki.Store {
	tb.Helper()
	dir := refdata.Path(tb, "zaz1")
	zaz1Once.Do(func() {
		s := smki.NewStore()
		if zaz1Err = s.LoadDir(dir); zaz1Err != nil {
			return
		}
		b, err := os.ReadFile(filepath.Join(dir, "dccboxed-keystore.json"))
		if err != nil {
			zaz1Err = err
			return
		}
		zaz1Err = s.LoadKeystoreJSON(b)
		zaz1Store = s
	})
	if zaz1Err != nil {
		tb.Fatal(zaz1Err)
	}
	return zaz1Store
}

func sample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(refdata.Path(tb, "duis", "samples", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestSamples(t *testing.T) {
	store := zaz1(t)
	cases := []struct {
		file   string
		want   error
		serial string // hex of the signer, when valid
	}{
		{"readfw-response.xml", nil, "261E9CCC40A78FD13D83BCE07DACFE08"},
		{"readfw-response-resigned.xml", nil, ""},
		{"read-inventory-response-4g.xml", nil, ""},
		{"read-inventory-response-5.4.xml", nil, ""},
		{"message.xml", nil, "587FE59553E2675B0C0E2A5C402A9F61"},
		{"ECS52_11.2_SUCCESS_RESPONSE_DUIS.XML", nil, "587FE59553E2675B0C0E2A5C402A9F61"},
		{"readfw-response-badsignature.xml", ErrBadSignature, ""},
		{"readfw-response-no-serial.xml", ErrMalformedSignature, ""},
		{"readfw-response-nonexist-serial.xml", ErrUnknownCertificate, ""},
		{"readfw-response-no-signature.xml", ErrUnsigned, ""},
		{"acknowledgement-error.xml", ErrUnsigned, ""},
		{"duis-xxe.xml", ErrInvalidDocument, ""},
		// The template placeholder (DigestValue "default", serial 1234567890) fails on shape first.
		{"ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-signed.XML", ErrMalformedSignature, ""},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			res, err := Verify(sample(t, tc.file), VerifyOptions{Certificates: store})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("signer %s role %d serial %s compat %v", res.Signer, res.Role, res.Certificate.SerialHex(), res.Compat)
				if tc.serial != "" && res.Certificate.SerialHex() != tc.serial {
					t.Errorf("signed by %s, want %s", res.Certificate.SerialHex(), tc.serial)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			t.Logf("%v", err)
		})
	}
}
