package repository

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/smki/repository/repotest"
)

var (
	supplierEUI = eui.MustParse("90-B3-D5-1F-30-01-00-00")
	deviceEUI   = eui.MustParse("00-DB-12-34-56-78-90-A1")
	pendingEUI  = eui.MustParse("00-DB-12-34-56-78-90-A2")
)

// fixture is an index of the ZAZ1 set plus generated device certificates.
type fixture struct {
	idx                *Memory
	handler            *Handler
	zaz1               *smki.Store
	devDS, devKA       *smki.Certificate
	revoked, pending   *smki.Certificate
	ca                 *repotest.CA
	crl                []byte
	supplierDS, xmlSig *smki.Certificate // Z1-supplier-ds, xml-sign supplier
}

var (
	fixOnce sync.Once
	fix     *fixture
)

func mustParse(tb testing.TB, der []byte) *smki.Certificate {
	tb.Helper()
	c, err := smki.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	fixOnce.Do(func() {
		f := &fixture{}
		f.zaz1 = smki.NewStore()
		if err := f.zaz1.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
			tb.Fatal(err)
		}
		for _, e := range f.zaz1.Entries() {
			switch e.Name {
			case "Z1-supplier-ds":
				f.supplierDS = e.Certificate
			case "xml-sign-90B3D51F30010000-ds":
				f.xmlSig = e.Certificate
			}
		}
		f.ca = repotest.NewCA(tb, "OpenDCC Test Device CA")
		ds, _ := f.ca.Device(tb, deviceEUI, smki.KeyUsageDigitalSignature, time.Time{})
		ka, _ := f.ca.Device(tb, deviceEUI, smki.KeyUsageKeyAgreement, time.Time{})
		rv, _ := f.ca.Device(tb, deviceEUI, smki.KeyUsageKeyAgreement, time.Time{})
		pd, _ := f.ca.Device(tb, pendingEUI, smki.KeyUsageDigitalSignature, time.Now().Add(48*time.Hour).UTC().Truncate(time.Second))
		f.devDS, f.devKA, f.revoked, f.pending = mustParse(tb, ds), mustParse(tb, ka), mustParse(tb, rv), mustParse(tb, pd)

		f.idx = NewMemory(Options{})
		f.idx.AddStore(f.zaz1, Source{Name: "dccboxed"})
		f.idx.Add(mustParse(tb, f.ca.DER), Source{Name: "ca"})
		for _, c := range []*smki.Certificate{f.devDS, f.devKA, f.revoked, f.pending} {
			f.idx.Add(c, Source{Name: "ca"})
		}
		f.crl = f.ca.CRL(tb, f.revoked.SerialNumber)
		l, err := smki.ParseCRL(f.crl)
		if err != nil {
			tb.Fatal(err)
		}
		if ok, err := f.idx.AddCRL(l); err != nil || !ok {
			tb.Fatalf("AddCRL = %v, %v; want verified", ok, err)
		}
		crl := f.crl
		f.handler = &Handler{Index: f.idx, CRL: func() []byte { return crl }}
		fix = f
	})
	if fix == nil {
		tb.Fatal("fixture setup failed")
	}
	return fix
}

type searchResponse struct {
	XMLName xml.Name `xml:"CertificateSearchResponse"`
	Results []struct {
		Serial string `xml:"CertificateSerial"`
		Usage  string `xml:"CertificateUsage"`
		Status string `xml:"CertificateStatus"`
		Role   string `xml:"CertificateRole"`
	} `xml:"Result"`
}

type dataResponse struct {
	XMLName  xml.Name `xml:"CertificateDataResponse"`
	Response struct {
		Serial         string  `xml:"CertificateSerial"`
		SubjectName    *string `xml:"CertificateSubjectName"`
		SubjectAltName *string `xml:"CertificateSubjectAltName"`
		Usage          string  `xml:"CertificateUsage"`
		Status         string  `xml:"CertificateStatus"`
		Role           string  `xml:"CertificateRole"`
		Body           string  `xml:"CertificateBody"`
	} `xml:"CertificateResponse"`
}

func do(t testing.TB, h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/xml")
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	return rr
}

// clientRequest builds a request body exactly as @smartdcc/dccboxed-keystore
// 0.4.2 prepareRequest does.
func clientRequest(root string, fields ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><` + root + `>`)
	for i := 0; i+1 < len(fields); i += 2 {
		b.WriteString("<" + fields[i] + ">" + fields[i+1] + "</" + fields[i] + ">")
	}
	b.WriteString("</" + root + ">")
	return b.String()
}

func serialsOf(store *smki.Store, keep func(*smki.Certificate) bool) []string {
	var out []string
	for _, c := range store.Certificates() {
		if keep(c) {
			out = append(out, c.SerialHex())
		}
	}
	sort.Strings(out)
	return out
}

func TestSearch(t *testing.T) {
	f := newFixture(t)
	supplierAll := serialsOf(f.zaz1, func(c *smki.Certificate) bool { return c.EUI == supplierEUI })
	supplierDSRole2 := serialsOf(f.zaz1, func(c *smki.Certificate) bool {
		return c.EUI == supplierEUI && c.Role == smki.RoleSupplier && c.KeyUsage&smki.KeyUsageDigitalSignature != 0
	})
	if len(supplierAll) < 5 || len(supplierDSRole2) != 2 {
		t.Fatalf("unexpected ZAZ1 set: %d supplier certs, %d supplier DS role 2", len(supplierAll), len(supplierDSRole2))
	}
	tests := []struct {
		name    string
		body    string
		code    int
		serials []string // wanted, sorted (200 only)
		check   func(*testing.T, searchResponse)
	}{
		{name: "org by subject name, as the npm client sends it",
			body: clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00"),
			code: 200, serials: supplierAll},
		{name: "org, upper case", body: clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-B3-D5-1F-30-01-00-00"),
			code: 200, serials: supplierAll},
		{name: "org, bare hex, whitespace", body: "<CertificateSearchRequest>\n  <CertificateSubjectName> 90B3D51F30010000 </CertificateSubjectName>\n</CertificateSearchRequest>\n",
			code: 200, serials: supplierAll},
		{name: "org with namespace", body: `<s:CertificateSearchRequest xmlns:s="urn:example"><s:CertificateSubjectName>90-b3-d5-1f-30-01-00-00</s:CertificateSubjectName></s:CertificateSearchRequest>`,
			code: 200, serials: supplierAll},
		{name: "org, usage and role filters",
			body: clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00", "CertificateUsage", "DS", "CertificateRole", "2"),
			code: 200, serials: supplierDSRole2,
			check: func(t *testing.T, r searchResponse) {
				for _, x := range r.Results {
					if x.Usage != "DS" || x.Role != "2" {
						t.Errorf("result %+v: want usage DS role 2", x)
					}
				}
			}},
		{name: "org, role 135 in use", body: clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00", "CertificateRole", "135", "CertificateStatus", "I"),
			code: 200, serials: []string{f.xmlSig.SerialHex()}},
		{name: "org, expired status (no allowance in this index)", body: clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00", "CertificateStatus", "E", "CertificateUsage", "DS", "CertificateRole", "2"),
			code: 200, serials: supplierDSRole2},
		{name: "device by subject alt name", body: clientRequest("CertificateSearchRequest", "CertificateSubjectAltName", "00-db-12-34-56-78-90-a1"),
			code: 200, serials: sorted(f.devDS.SerialHex(), f.devKA.SerialHex(), f.revoked.SerialHex()),
			check: func(t *testing.T, r searchResponse) {
				for _, x := range r.Results {
					if x.Role != "" {
						t.Errorf("device result %+v has a role", x)
					}
					want := "I"
					if x.Serial == f.revoked.SerialHex() {
						want = "R"
					}
					if x.Status != want {
						t.Errorf("device result %s status %s, want %s", x.Serial, x.Status, want)
					}
				}
			}},
		{name: "device KA in use", body: clientRequest("CertificateSearchRequest", "CertificateSubjectAltName", "00-db-12-34-56-78-90-a1", "CertificateUsage", "KA", "CertificateStatus", "I"),
			code: 200, serials: []string{f.devKA.SerialHex()}},
		{name: "device revoked", body: clientRequest("CertificateSearchRequest", "CertificateSubjectAltName", "00-db-12-34-56-78-90-a1", "CertificateStatus", "R"),
			code: 200, serials: []string{f.revoked.SerialHex()}},
		{name: "device pending", body: clientRequest("CertificateSearchRequest", "CertificateSubjectAltName", "00-db-12-34-56-78-90-a2"),
			code: 200, serials: []string{f.pending.SerialHex()},
			check: func(t *testing.T, r searchResponse) {
				if r.Results[0].Status != "P" {
					t.Errorf("status %s, want P", r.Results[0].Status)
				}
			}},
		{name: "device EUI as subject name finds nothing", body: clientRequest("CertificateSearchRequest", "CertificateSubjectName", "00-db-12-34-56-78-90-a1"), code: 402},
		{name: "org EUI as alt name finds nothing", body: clientRequest("CertificateSearchRequest", "CertificateSubjectAltName", "90-b3-d5-1f-30-01-00-00"), code: 402},
		{name: "unknown EUI", body: clientRequest("CertificateSearchRequest", "CertificateSubjectName", "01-02-03-04-05-06-07-08"), code: 402},
		{name: "filters leave nothing", body: clientRequest("CertificateSearchRequest", "CertificateSubjectAltName", "00-db-12-34-56-78-90-a1", "CertificateStatus", "N"), code: 402},

		{name: "malformed XML", body: `<CertificateSearchRequest><CertificateSubjectName>90-b3-d5-1f-30-01-00-00</CertificateSearchRequest>`, code: 401},
		{name: "not XML", body: `{"CertificateSubjectName":"90-b3-d5-1f-30-01-00-00"}`, code: 401},
		{name: "empty body", body: ``, code: 401},
		{name: "wrong root element", body: clientRequest("CertificateDataRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00"), code: 401},
		{name: "DOCTYPE", body: `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]><CertificateSearchRequest><CertificateSubjectName>90-b3-d5-1f-30-01-00-00</CertificateSubjectName></CertificateSearchRequest>`, code: 401},
		{name: "DOCTYPE without entities", body: `<!DOCTYPE CertificateSearchRequest><CertificateSearchRequest><CertificateSubjectName>90-b3-d5-1f-30-01-00-00</CertificateSubjectName></CertificateSearchRequest>`, code: 401},
		{name: "both names", body: clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00", "CertificateSubjectAltName", "00-db-12-34-56-78-90-a1"), code: 401},
		{name: "no name", body: clientRequest("CertificateSearchRequest", "CertificateUsage", "DS"), code: 401},
		{name: "bad EUI", body: clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00"), code: 401},
		{name: "bad usage", body: clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00", "CertificateUsage", "XX"), code: 401},
		{name: "bad status", body: clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00", "CertificateStatus", "X"), code: 401},
		{name: "bad role", body: clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00", "CertificateRole", "02"), code: 401},
		{name: "role with device", body: clientRequest("CertificateSearchRequest", "CertificateSubjectAltName", "00-db-12-34-56-78-90-a1", "CertificateRole", "2"), code: 401},
		{name: "unknown field", body: clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00", "Colour", "red"), code: 401},
		{name: "nested element", body: `<CertificateSearchRequest><CertificateSubjectName><b>90-b3-d5-1f-30-01-00-00</b></CertificateSubjectName></CertificateSearchRequest>`, code: 401},
		{name: "duplicate field", body: clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00"), code: 401},
		{name: "text in root", body: `<CertificateSearchRequest>x<CertificateSubjectName>90-b3-d5-1f-30-01-00-00</CertificateSubjectName></CertificateSearchRequest>`, code: 401},
		{name: "two roots", body: clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00") + "<CertificateSearchRequest/>", code: 401},
		{name: "latin-1", body: `<?xml version="1.0" encoding="ISO-8859-1"?><CertificateSearchRequest><CertificateSubjectName>90-b3-d5-1f-30-01-00-00</CertificateSubjectName></CertificateSearchRequest>`, code: 401},
		{name: "too large", body: clientRequest("CertificateSearchRequest", "CertificateSubjectName", "90-b3-d5-1f-30-01-00-00") + "<!--" + strings.Repeat("x", MaxRequestSize) + "-->", code: 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rr := do(t, f.handler, "POST", PathSearch+"?apikey=u3bg9gt38htd0j2", tc.body)
			if rr.Code != tc.code {
				t.Fatalf("status %d, want %d; body %q", rr.Code, tc.code, rr.Body.String())
			}
			if tc.code != 200 {
				return
			}
			if ct := rr.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
				t.Errorf("Content-Type %q", ct)
			}
			var r searchResponse
			if err := xml.Unmarshal(rr.Body.Bytes(), &r); err != nil {
				t.Fatalf("response: %v\n%s", err, rr.Body.String())
			}
			var got []string
			for _, x := range r.Results {
				got = append(got, x.Serial)
				if x.Usage != "DS" && x.Usage != "KA" {
					t.Errorf("result %+v: usage", x)
				}
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tc.serials, ",") {
				t.Errorf("serials %v, want %v", got, tc.serials)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func sorted(s ...string) []string { sort.Strings(s); return s }

func TestRetrieve(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		serial string
		code   int
		want   *smki.Certificate
	}{
		{"device, lower case as the npm client sends it", strings.ToLower(f.devKA.SerialHex()), 200, f.devKA},
		{"device, upper case", f.devDS.SerialHex(), 200, f.devDS},
		{"org, leading zeros and 0x", "0x000" + strings.ToLower(f.supplierDS.SerialHex()), 200, f.supplierDS},
		{"org xml-sign", f.xmlSig.SerialHex(), 200, f.xmlSig},
		{"revoked still retrievable", f.revoked.SerialHex(), 200, f.revoked},
		{"unknown", "1234567890abcdef", 402, nil},
		{"zero", "0", 402, nil},
		{"not hex", "4fbc52g1", 401, nil},
		{"too long", strings.Repeat("f", 41), 401, nil},
		{"empty", "", 401, nil},
		{"negative", "-4fbc", 401, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rr := do(t, f.handler, "POST", PathRetrieve+"?apikey=u3bg9gt38htd0j2", clientRequest("CertificateDataRequest", "CertificateSerial", tc.serial))
			if rr.Code != tc.code {
				t.Fatalf("status %d, want %d; body %q", rr.Code, tc.code, rr.Body.String())
			}
			if tc.code != 200 {
				return
			}
			var r dataResponse
			if err := xml.Unmarshal(rr.Body.Bytes(), &r); err != nil {
				t.Fatalf("response: %v\n%s", err, rr.Body.String())
			}
			der, err := base64.StdEncoding.DecodeString(r.Response.Body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(der, tc.want.Raw) {
				t.Error("CertificateBody is not the certificate's DER")
			}
			if r.Response.Serial != tc.want.SerialHex() {
				t.Errorf("serial %s, want %s", r.Response.Serial, tc.want.SerialHex())
			}
			switch tc.want.Kind {
			case smki.KindDevice:
				if r.Response.SubjectAltName == nil || *r.Response.SubjectAltName != tc.want.EUI.String() || r.Response.SubjectName != nil {
					t.Errorf("device names: %v %v", r.Response.SubjectName, r.Response.SubjectAltName)
				}
			case smki.KindOrganisation:
				if r.Response.SubjectName == nil || *r.Response.SubjectName != tc.want.EUI.String() || r.Response.SubjectAltName != nil {
					t.Errorf("org names: %v %v", r.Response.SubjectName, r.Response.SubjectAltName)
				}
			}
		})
	}
	for _, body := range []string{
		clientRequest("CertificateSearchRequest", "CertificateSerial", f.devDS.SerialHex()),
		clientRequest("CertificateDataRequest"),
		clientRequest("CertificateDataRequest", "CertificateSerial", f.devDS.SerialHex(), "CertificateUsage", "DS"),
		`<!DOCTYPE x SYSTEM "file:///etc/passwd"><CertificateDataRequest><CertificateSerial>1</CertificateSerial></CertificateDataRequest>`,
	} {
		if rr := do(t, f.handler, "POST", PathRetrieve, body); rr.Code != 401 {
			t.Errorf("%s: status %d, want 401", body, rr.Code)
		}
	}
}

func TestRoutes(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		method, path string
		code         int
	}{
		{"GET", PathSearch, 405},
		{"PUT", PathRetrieve, 405},
		{"GET", "/services/other", 404},
		{"GET", "/", 200},
		{"GET", PathCRL, 200},
		{"HEAD", PathCRL, 200},
		{"POST", PathCRL, 405},
		{"GET", PathARL, 404},
		{"GET", PathDeviceCRL, 404},
	}
	for _, tc := range tests {
		rr := do(t, f.handler, tc.method, tc.path, "")
		if rr.Code != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, rr.Code, tc.code)
		}
	}
	rr := do(t, f.handler, "GET", PathCRL, "")
	if !bytes.Equal(rr.Body.Bytes(), f.crl) || rr.Header().Get("Content-Type") != "application/pkix-crl" {
		t.Errorf("GET /crl: %q, %d bytes", rr.Header().Get("Content-Type"), rr.Body.Len())
	}
	if rr := do(t, f.handler, "HEAD", PathCRL, ""); rr.Body.Len() != 0 || rr.Header().Get("Content-Length") == "" {
		t.Error("HEAD /crl sent a body or no length")
	}
	arl := []byte{0x30, 0x00}
	h := &Handler{Index: f.idx, ARL: func() []byte { return arl }, DeviceCRL: func() []byte { return f.crl }}
	if rr := do(t, h, "GET", PathARL, ""); rr.Code != 200 || !bytes.Equal(rr.Body.Bytes(), arl) {
		t.Errorf("GET /arl: %d", rr.Code)
	}
	if rr := do(t, h, "GET", PathDeviceCRL, ""); rr.Code != 200 || !bytes.Equal(rr.Body.Bytes(), f.crl) {
		t.Errorf("GET /crl/device: %d", rr.Code)
	}
	if rr := do(t, h, "GET", PathCRL, ""); rr.Code != 404 {
		t.Errorf("GET /crl unconfigured: %d", rr.Code)
	}
}

// TestServer runs the handler behind a real HTTP server.
func TestServer(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.handler)
	defer srv.Close()
	resp, err := http.Post(srv.URL+PathRetrieve+"?apikey=x", "application/xml",
		strings.NewReader(clientRequest("CertificateDataRequest", "CertificateSerial", f.devDS.SerialHex())))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString(f.devDS.Raw))) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

func TestStatusAt(t *testing.T) {
	f := newFixture(t)
	c := f.supplierDS // 2015-10-30 .. 2025-10-29
	at := func(s string) time.Time {
		tm, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	allow := NewMemory(Options{})
	allow.Add(c, Source{Name: "dccboxed", ExpiryAllowance: 5 * 365 * 24 * time.Hour})
	none := NewMemory(Options{})
	none.Add(c, Source{Name: "dir"})
	hooked := NewMemory(Options{Status: func(x *smki.Certificate, _ time.Time) (Status, bool) {
		return StatusNotInUse, x == c
	}})
	hooked.Add(c, Source{})
	tests := []struct {
		idx  *Memory
		when string
		want Status
	}{
		{none, "2015-01-01", StatusPending},
		{none, "2020-01-01", StatusInUse},
		{none, "2025-11-01", StatusExpired},
		{allow, "2025-11-01", StatusInUse},
		{allow, "2030-10-27", StatusInUse},
		{allow, "2030-11-01", StatusExpired},
		{hooked, "2020-01-01", StatusNotInUse},
		{f.idx, "2020-01-01", StatusInUse},
	}
	for _, tc := range tests {
		if got := tc.idx.StatusAt(c, at(tc.when)); got != tc.want {
			t.Errorf("StatusAt(%s) = %s, want %s", tc.when, got, tc.want)
		}
	}
	if got := f.idx.StatusAt(f.revoked, time.Now()); got != StatusRevoked {
		t.Errorf("revoked: %s", got)
	}
	// Dedup keeps the larger allowance.
	m := NewMemory(Options{Now: func() time.Time { return at("2026-06-01") }})
	if !m.Add(c, Source{Name: "a"}) || m.Add(c, Source{Name: "b", ExpiryAllowance: 365 * 24 * time.Hour}) {
		t.Fatal("Add dedupe")
	}
	if r, ok := m.BySerial(c.SerialNumber); !ok || r.Status != StatusInUse || r.Source != "a" {
		t.Errorf("after dedupe: %+v %v", r, ok)
	}
}

func TestParseSerial(t *testing.T) {
	for in, want := range map[string]string{
		"4FBC525201A1D7586C1BC1C4734DEB9F": "4fbc525201a1d7586c1bc1c4734deb9f",
		"4fbc525201a1d7586c1bc1c4734deb9f": "4fbc525201a1d7586c1bc1c4734deb9f",
		" 0x00abc ":                        "abc",
		"0":                                "0",
		strings.Repeat("0", 60) + "1":      "1",
		strings.Repeat("f", 40):            strings.Repeat("f", 40),
	} {
		n, err := ParseSerial(in)
		if err != nil || n.Text(16) != want {
			t.Errorf("ParseSerial(%q) = %v, %v; want %s", in, n, err, want)
		}
	}
	for _, in := range []string{"", "0x", "g", "-1", "12 34", "1:2", strings.Repeat("f", 41), strings.Repeat("0", 200)} {
		if _, err := ParseSerial(in); err == nil {
			t.Errorf("ParseSerial(%q) accepted", in)
		}
	}
}

func TestSearchZeroIndex(t *testing.T) {
	m := NewMemory(Options{})
	if got := m.Search(Query{}); got != nil {
		t.Errorf("empty index: %v", got)
	}
	if _, ok := m.BySerial(nil); ok {
		t.Error("nil serial found")
	}
	if _, ok := m.BySerial(big.NewInt(1)); ok {
		t.Error("serial found in empty index")
	}
}
