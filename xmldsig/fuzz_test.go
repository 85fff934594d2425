package xmldsig

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/smki"
)

// FuzzVerify feeds Verify mutated DUIS documents. Seeds: the DCC Boxed
// samples and a few templates signed here. The store is small (the DSP and
// supplier XML-signing certificates) so lookups succeed and the
// cryptographic paths are reached.
func FuzzVerify(f *testing.F) {
	full := zaz1(f)
	store := smki.NewStore()
	for _, e := range full.Entries() {
		switch e.Name {
		case "dsp-xml-sign-90B3D51F30000002-ds", "dsp-xml-sign-90B3D51F30000002-ds-pre-1.4.1",
			"Z1-accessControlBroker-dSPXmlSign", "Z1-accessControlBroker-ds", "xml-sign-90B3D51F30010000-ds":
			if err := store.Add(e.Certificate, nil); err != nil {
				f.Fatal(err)
			}
		}
	}
	fs, _ := filepath.Glob(filepath.Join(refdata.Path(f, "duis", "samples"), "*"))
	for _, fn := range fs {
		b, err := os.ReadFile(fn)
		if err == nil {
			f.Add(b)
		}
	}
	for i, st := range signTemplates(f, full) {
		if i%40 == 0 {
			f.Add(st.signed)
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		res, err := Verify(doc, VerifyOptions{Certificates: store})
		cres, cerr := Verify(doc, VerifyOptions{Certificates: store, Compat: true})
		if err == nil {
			if res == nil || res.Certificate == nil || res.Compat {
				t.Fatalf("bad result %+v", res)
			}
			if cerr != nil || cres.Compat {
				t.Fatalf("strict accepts but compat says %v", cerr)
			}
			return
		}
		if res != nil {
			t.Fatal("result with an error")
		}
		if !isSentinel(err) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

func isSentinel(err error) bool {
	for _, s := range []error{ErrInvalidDocument, ErrUnsigned, ErrMultipleSignatures, ErrSignatureNotLast,
		ErrMalformedSignature, ErrUnsupportedAlgorithm, ErrUnknownCertificate, ErrDigestMismatch,
		ErrBadSignature, ErrWrongSigner, ErrKeyUsage, ErrCertificateExpired, ErrCertificateNotYetValid} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
