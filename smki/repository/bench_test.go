package repository

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func benchPost(b *testing.B, path, body string) {
	f := newFixture(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	rd := strings.NewReader(body)
	for b.Loop() {
		rd.Reset(body)
		req := httptest.NewRequest(http.MethodPost, path, rd)
		rr := httptest.NewRecorder()
		f.handler.ServeHTTP(rr, req)
		if rr.Code != http.StatusOK {
			b.Fatalf("status %d", rr.Code)
		}
	}
}

// BenchmarkSearch: one organisation search (the supplier's 7 ZAZ1
// certificates, filtered to DS role 2) through the handler.
func BenchmarkSearch(b *testing.B) {
	benchPost(b, PathSearch, clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00", "CertificateUsage", "DS", "CertificateRole", "2"))
}

// BenchmarkSearchDevice: one device search, as BoxedKeyStore sends it.
func BenchmarkSearchDevice(b *testing.B) {
	benchPost(b, PathSearch, clientRequest("CertificateSearchRequest", "CertificateSubjectAltName", "00-db-12-34-56-78-90-a1"))
}

// BenchmarkRetrieve: one certificate retrieval by serial.
func BenchmarkRetrieve(b *testing.B) {
	f := newFixture(b)
	benchPost(b, PathRetrieve, clientRequest("CertificateDataRequest", "CertificateSerial", strings.ToLower(f.devKA.SerialHex())))
}
