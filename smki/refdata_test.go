package smki

import (
	"encoding/asn1"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/refdata"
)

var smkiOrgPolicy = asn1.ObjectIdentifier{1, 2, 826, 0, 1, 8641679, 1, 2, 1, 4}

// zaz1Roles maps the role word in ZAZ1 file names to role and EUI.
var zaz1Roles = map[string]struct {
	role Role
	eui  string
}{
	"recovery":                   {RoleRecovery, "90B3D51F30000001"},
	"supplier":                   {RoleSupplier, "90B3D51F30010000"},
	"supplier2":                  {RoleSupplier, "90B3D51F30030000"},
	"networkOperator":            {RoleNetworkOperator, "90B3D51F30020000"},
	"accessControlBroker":        {RoleAccessControlBroker, "90B3D51F30000002"},
	"transitionalCoS":            {RoleTransitionalCoS, "90B3D51F30000004"},
	"wanProvider":                {RoleWANProvider, "90B3D51F30000007"},
	"accessControlBroker-dSPXml": {RoleDSPXMLSign, "90B3D51F30000002"},
}

// Subjects as Java renders them (X500Principal.getName("RFC2253"), checked
// with OpenJDK 17 on the reference files).
var javaSubjects = map[string]string{
	"xml-sign-90B3D51F30010000-ds.pem":               "2.5.4.45=#03090090b3d51f30010000,OU=87",
	"dsp-xml-sign-90B3D51F30000002-ds-pre-1.4.1.pem": "2.5.4.45=#03090090b3d51f30000002,OU=137",
	"Z1-supplier-ds.pem":                             "2.5.4.45=#03090090b3d51f30010000,OU=02,CN=GITTESTSUPPLIER",
	"Z1-accessControlBroker-dSPXmlSign.pem":          "2.5.4.45=#03090090b3d51f30000002,OU=89",
	"00db123456789001-ds.pem":                        "",
}

func certFiles(t *testing.T, dir string) []string {
	t.Helper()
	fs, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		if strings.HasSuffix(f, ".key.pem") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if pemKind(b) != "cert" {
			continue
		}
		out = append(out, f)
	}
	return out
}

func TestZAZ1CertificatesParse(t *testing.T) {
	dir := refdata.Path(t, "zaz1")
	files := certFiles(t, dir)
	if len(files) != 19 {
		t.Errorf("%d ZAZ1 certificates, want 19", len(files))
	}
	for _, f := range files {
		base := filepath.Base(f)
		c, err := LoadCertificateFile(f)
		if err != nil {
			t.Errorf("%s: %v", base, err)
			continue
		}
		if c.Kind != KindOrganisation || c.Issuer != "CN=Z1,OU=07" {
			t.Errorf("%s: kind %v issuer %q", base, c.Kind, c.Issuer)
		}
		if want, ok := javaSubjects[base]; ok && c.Subject != want {
			t.Errorf("%s: subject %q, Java renders %q", base, c.Subject, want)
		}
		if !strings.HasPrefix(c.Subject, "2.5.4.45=#030900"+strings.ToLower(c.EUI.Hex())+",OU=") {
			t.Errorf("%s: subject %q does not carry EUI %s", base, c.Subject, c.EUI)
		}
		if c.KeyUsage != KeyUsageDigitalSignature || !c.KeyUsageCritical {
			t.Errorf("%s: keyUsage %s critical %v", base, c.KeyUsage, c.KeyUsageCritical)
		}
		if len(c.Policies) != 1 || !c.Policies[0].Equal(smkiOrgPolicy) || !c.PoliciesCritical {
			t.Errorf("%s: policies %v critical %v", base, c.Policies, c.PoliciesCritical)
		}
		if len(c.SubjectKeyID) != 8 || c.PublicKey == nil || !c.SignatureAlgorithm.Equal(OIDECDSAWithSHA256) {
			t.Errorf("%s: SKI %x key %v alg %v", base, c.SubjectKeyID, c.PublicKey != nil, c.SignatureAlgorithm)
		}
		// EUI and role from the file name.
		name := strings.TrimSuffix(base, ".pem")
		var wantEUI string
		var wantRole Role
		switch {
		case strings.HasPrefix(name, "dsp-xml-sign-"):
			wantEUI, wantRole = name[len("dsp-xml-sign-"):][:16], RoleDSPXMLSign
		case strings.HasPrefix(name, "xml-sign-"):
			wantEUI, wantRole = name[len("xml-sign-"):][:16], RoleXMLSign
		default: // Z1-<role>-ds, Z1b-<role>-ds, Z1-accessControlBroker-dSPXmlSign
			w := name[strings.IndexByte(name, '-')+1:]
			w = strings.TrimSuffix(strings.TrimSuffix(w, "-ds"), "Sign")
			r, ok := zaz1Roles[w]
			if !ok {
				t.Errorf("%s: no expectation for %q", base, w)
				continue
			}
			wantEUI, wantRole = r.eui, r.role
		}
		if c.EUI.Hex() != wantEUI || c.Role != wantRole {
			t.Errorf("%s: EUI %s role %d, file name says %s role %d", base, c.EUI.Hex(), c.Role, wantEUI, wantRole)
		}
	}
}

func TestRTDSKeystoreCertificatesParse(t *testing.T) {
	dir := refdata.Path(t, "gbcs", "rtds", "keystore")
	files := certFiles(t, dir)
	var devices, orgs int
	nine := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	for _, f := range files {
		base := filepath.Base(f)
		c, err := LoadCertificateFile(f)
		if err != nil {
			t.Errorf("%s: %v", base, err)
			continue
		}
		// <eui16>[-pp]-<ka|ds>.pem
		stem := strings.TrimSuffix(base, ".pem")
		wantEUI := eui.MustParse(stem[:16])
		usage := stem[len(stem)-2:]
		if base == "90b3d51f30000007-ka.pem" {
			// Known anomaly of the reference set: this file holds
			// supplier2's key-agreement certificate (Z1-supplier2-ka).
			wantEUI = eui.MustParse("90B3D51F30030000")
		}
		if c.EUI != wantEUI {
			t.Errorf("%s: EUI %s, file name says %s", base, c.EUI, wantEUI)
		}
		switch usage {
		case "ds":
			if c.KeyUsage != KeyUsageDigitalSignature {
				t.Errorf("%s: keyUsage %s", base, c.KeyUsage)
			}
		case "ka":
			if c.KeyUsage != KeyUsageKeyAgreement {
				t.Errorf("%s: keyUsage %s", base, c.KeyUsage)
			}
		default:
			t.Errorf("%s: unexpected file name", base)
		}
		switch {
		case strings.HasPrefix(stem, "00db"):
			devices++
			if c.Kind != KindDevice || c.Issuer != "CN=E357" || c.Subject != "" || !c.NotAfter.Equal(nine) || c.Role != RoleNone {
				t.Errorf("%s: kind %v issuer %q subject %q notAfter %v role %v", base, c.Kind, c.Issuer, c.Subject, c.NotAfter, c.Role)
			}
			if c.HardwareType == nil || len(c.UnhandledCriticalExtensions) != 0 || len(c.AuthorityKeyID) != 8 {
				t.Errorf("%s: hwType %v unhandled %v AKI %x", base, c.HardwareType, c.UnhandledCriticalExtensions, c.AuthorityKeyID)
			}
		default:
			orgs++
			if c.Kind != KindOrganisation || c.Issuer != "CN=Z1,OU=07" {
				t.Errorf("%s: kind %v issuer %q", base, c.Kind, c.Issuer)
			}
		}
	}
	t.Logf("RTDS keystore: %d device and %d organisation certificates parsed", devices, orgs)
	if devices != 400 || orgs < 15 {
		t.Errorf("parsed %d device and %d organisation certificates, want 400 and >= 15", devices, orgs)
	}
}

func loadZAZ1Store(t testing.TB) *Store {
	t.Helper()
	s := NewStore()
	if err := s.LoadDir(refdata.Path(t, "zaz1")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(refdata.Path(t, "zaz1", "dccboxed-keystore.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LoadKeystoreJSON(b); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadDirPairsKeys(t *testing.T) {
	s := NewStore()
	if err := s.LoadDir(refdata.Path(t, "zaz1")); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 19 {
		t.Errorf("zaz1: %d certificates, want 19", s.Len())
	}
	for _, e := range s.Entries() {
		if e.Key == nil {
			t.Errorf("zaz1 %s: no key paired", e.Name)
		}
	}
	r := NewStore()
	if err := r.LoadDir(refdata.Path(t, "gbcs", "rtds", "keystore")); err != nil {
		t.Fatal(err)
	}
	keys := 0
	for _, e := range r.Entries() {
		if e.Key != nil {
			keys++
			if e.Certificate.Kind != KindOrganisation {
				t.Errorf("rtds %s: a key for a %v certificate", e.Name, e.Certificate.Kind)
			}
		}
	}
	t.Logf("rtds keystore: %d certificates, %d with keys", r.Len(), keys)
	if keys < 15 {
		t.Errorf("rtds keystore: only %d keys paired", keys)
	}
}

func TestKeystoreJSON(t *testing.T) {
	b, err := os.ReadFile(refdata.Path(t, "zaz1", "dccboxed-keystore.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore()
	if err := s.LoadKeystoreJSON(b); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 33 {
		t.Errorf("%d keystore entries, want 33", s.Len())
	}
	// The same certificates as files agree byte for byte with the JSON.
	dir := NewStore()
	if err := dir.LoadDir(refdata.Path(t, "zaz1")); err != nil {
		t.Fatal(err)
	}
	common := 0
	for _, e := range dir.Entries() {
		c, ok := s.BySerial(e.Certificate.SerialNumber)
		if !ok {
			continue
		}
		common++
		if string(c.Raw) != string(e.Certificate.Raw) {
			t.Errorf("%s: file and keystore JSON certificates differ", e.Name)
		}
		k, _ := s.Key(c)
		if k == nil || !k.Equal(e.Key) {
			t.Errorf("%s: file and keystore JSON keys differ", e.Name)
		}
	}
	if common != 17 {
		t.Errorf("%d certificates in both, want 17 (the JSON lacks 0F4889EF… and 261E9CCC…)", common)
	}
	// A corrupted entry is refused with its location.
	bad := strings.Replace(string(b), `"role": 135`, `"role": 2`, 1)
	if bad == string(b) {
		bad = strings.Replace(string(b), `"role":135`, `"role":2`, 1)
	}
	if err := NewStore().LoadKeystoreJSON([]byte(bad)); err == nil || !strings.Contains(err.Error(), "keystore ") {
		t.Errorf("role mismatch: err = %v", err)
	}
}

func TestXMLSigningKey(t *testing.T) {
	s := loadZAZ1Store(t)
	cases := []struct{ eui, serialHex string }{
		{"90-B3-D5-1F-30-01-00-00", "14BE4AD2EA1D0E4EC7F7156BD24624A7"}, // xml-sign, not Z1-supplier-ds
		{"90-B3-D5-1F-30-03-00-00", "39EAFF0055CE4DAF085AC874C7C84BD3"}, // Z1-supplier2-ds
		{"90-B3-D5-1F-30-02-00-00", "1ECC6ED40F92A82835DB58174B4A666D"},
		{"90-B3-D5-1F-30-00-00-02", "7DAC7283AAD29BDD23C9EFBFDDB52A41"}, // dsp-xml-sign
		{"90-B3-D5-1F-30-00-00-04", "3CE369AB08F102975C5490D6B88FC066"}, // Z1-, not Z1b-
		{"90-B3-D5-1F-30-00-00-07", "7C758B23CC7FE6923B01921F557D8B0A"},
		{"90-B3-D5-1F-30-00-00-01", "469AFEC2E7C0CAAEC8A400769B702BC8"},
		{"00-DB-12-34-56-78-00-04", "1C063B7B4F241AADA23FFFF28E88B927"},
	}
	for _, tc := range cases {
		k, c, err := s.XMLSigningKey(eui.MustParse(tc.eui))
		if err != nil {
			t.Errorf("%s: %v", tc.eui, err)
			continue
		}
		if c.SerialHex() != tc.serialHex || !KeyMatches(c, k) {
			t.Errorf("%s: chose %s, want %s", tc.eui, c.SerialHex(), tc.serialHex)
		}
	}
	// Outside the tool's library: the load controller signs with its role cert.
	_, c, err := s.XMLSigningKey(eui.MustParse("90-B3-D5-1F-30-01-00-08"))
	if err != nil || c.Role != RoleLoadController {
		t.Errorf("load controller: %v, %v", c, err)
	}
	if _, _, err := s.XMLSigningKey(eui.MustParse("80-B3-D5-1F-30-01-00-00")); !errors.Is(err, ErrNoSigningKey) {
		t.Errorf("unknown EUI: err = %v", err)
	}
	// The keystore JSON alone (no dsp-xml-sign files) still picks 7DAC….
	b, _ := os.ReadFile(refdata.Path(t, "zaz1", "dccboxed-keystore.json"))
	j := NewStore()
	if err := j.LoadKeystoreJSON(b); err != nil {
		t.Fatal(err)
	}
	if _, c, err := j.XMLSigningKey(DCCEUI); err != nil || c.SerialHex() != "7DAC7283AAD29BDD23C9EFBFDDB52A41" {
		t.Errorf("JSON-only DCC key: %v %v", c, err)
	}
}

func TestByIssuerSerial(t *testing.T) {
	s := loadZAZ1Store(t)
	serial, _ := new(big.Int).SetString("50669612984035780968362471400449834504", 10)
	for _, issuer := range []string{"", "CN=Z1,OU=07", "CN=Z1, OU=07", "cn=z1 ,  ou=07", "2.5.4.3=Z1,OU=07"} {
		c, ok := s.ByIssuerSerial(issuer, serial)
		if !ok || c.Role != RoleDSPXMLSign || c.SerialHex() != "261E9CCC40A78FD13D83BCE07DACFE08" {
			t.Errorf("issuer %q: %v %v", issuer, c, ok)
		}
	}
	for _, issuer := range []string{"CN=U1, OU=07", "CN=Z1", "OU=07,CN=Z1", "CN=Z1,OU=08", "garbage"} {
		if c, ok := s.ByIssuerSerial(issuer, serial); ok {
			t.Errorf("issuer %q matched %v", issuer, c)
		}
	}
	if _, ok := s.BySerial(big.NewInt(1234567890)); ok {
		t.Error("placeholder serial 1234567890 found")
	}
}
