package repository

import (
	"net/http"
	"strings"
	"testing"
)

func searchSeeds() []string {
	return []string{
		clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00"),
		clientRequest("CertificateSearchRequest", "CertificateSubjectAltName", "00-db-12-34-56-78-90-a1"),
		clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00", "CertificateUsage", "DS", "CertificateStatus", "I", "CertificateRole", "2"),
		clientRequest("CertificateSearchRequest", "CertificateSubjectAltName", "00DB1234567890A1", "CertificateUsage", "KA"),
		`<s:CertificateSearchRequest xmlns:s="urn:x"><s:CertificateSubjectName>90-b3-d5-1f-30-01-00-00</s:CertificateSubjectName></s:CertificateSearchRequest>`,
		`<!DOCTYPE a [<!ENTITY b "c">]><CertificateSearchRequest/>`,
		`<CertificateSearchRequest><CertificateSubjectName><x/></CertificateSubjectName></CertificateSearchRequest>`,
	}
}

func FuzzParseSearchRequest(f *testing.F) {
	for _, s := range searchSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := ParseSearchRequest(b)
		if err != nil {
			if !IsBadRequest(err) {
				t.Fatalf("error does not wrap ErrBadRequest: %v", err)
			}
			return
		}
		if q.MatchRole && q.Device {
			t.Fatal("role filter on a device query")
		}
		if q.Usage != "" && q.Usage != UsageDigitalSigning && q.Usage != UsageKeyAgreement {
			t.Fatalf("usage %q", q.Usage)
		}
		if q.Status != "" && !q.Status.valid() {
			t.Fatalf("status %q", q.Status)
		}
	})
}

// FuzzHandler sends arbitrary bodies to both POST endpoints: no panics, and
// only the documented status codes.
func FuzzHandler(f *testing.F) {
	for _, s := range searchSeeds() {
		f.Add(true, []byte(s))
	}
	f.Add(false, []byte(clientRequest("CertificateDataRequest", "CertificateSerial", "4fbc525201a1d7586c1bc1c4734deb9f")))
	f.Add(false, []byte(clientRequest("CertificateDataRequest", "CertificateSerial", "0x00ff")))
	f.Add(false, []byte(`<CertificateDataRequest><CertificateSerial></CertificateSerial></CertificateDataRequest>`))
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, search bool, b []byte) {
		path := PathRetrieve
		if search {
			path = PathSearch
		}
		rr := do(t, fx.handler, http.MethodPost, path, string(b))
		switch rr.Code {
		case 200:
			if !strings.HasPrefix(rr.Header().Get("Content-Type"), "application/xml") {
				t.Fatalf("200 with %q", rr.Header().Get("Content-Type"))
			}
		case 401, 402, 413:
		default:
			t.Fatalf("status %d", rr.Code)
		}
	})
}
