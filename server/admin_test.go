package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/xmldsig"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// inventoryReq is a DUIS 8.2 Read Inventory of the RTDS ESME from originator.
const inventoryReq = `<?xml version="1.0" encoding="UTF-8"?><sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"><sr:Header><sr:RequestID>%s:90-B3-D5-1F-30-00-00-02:%d</sr:RequestID><sr:CommandVariant>8</sr:CommandVariant><sr:ServiceReference>8.2</sr:ServiceReference><sr:ServiceReferenceVariant>8.2</sr:ServiceReferenceVariant></sr:Header><sr:Body><sr:ReadInventory><sr:DeviceID>00-DB-12-34-56-78-90-A0</sr:DeviceID></sr:ReadInventory></sr:Body></sr:Request>`

var testCounter atomic.Uint64

func init() { testCounter.Store(uint64(time.Now().UnixMilli())) }

// readInventory posts a signed 8.2 to duisURL with client and returns the
// response code.
func readInventory(t *testing.T, client *http.Client, duisURL string, originator eui.EUI64, key *ecdsa.PrivateKey, cert *smki.Certificate) string {
	t.Helper()
	doc, err := xmldsig.Sign([]byte(fmt.Sprintf(inventoryReq, originator, testCounter.Add(1))), key, cert)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Post(duisURL+"/api/v1/serviceD", "application/xml", bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	_, rest, ok := strings.Cut(string(out), "<sr:ResponseCode>")
	code, _, ok2 := strings.Cut(rest, "<")
	if !ok || !ok2 {
		t.Fatalf("no ResponseCode (HTTP %d): %s", resp.StatusCode, out)
	}
	return code
}

func zaz1Keys(t *testing.T) *smki.Store {
	t.Helper()
	keys := smki.NewStore()
	if err := keys.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	return keys
}

// testOrgCert issues an SMKI organisation certificate for e from a
// throw-away CA.
func testOrgCert(t *testing.T, e eui.EUI64, role smki.Role, usage smki.KeyUsage) (*ecdsa.PrivateKey, *smki.Certificate) {
	t.Helper()
	now := time.Now()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial := func() *big.Int {
		s, err := smki.NewSerial(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ca, err := smki.CreateCertificate(nil, &smki.Template{Kind: smki.KindAuthority, OrgUnit: "07", CommonName: "TEST1", KeyUsage: smki.KeyUsageCertSign | smki.KeyUsageCRLSign,
		PublicKey: &caKey.PublicKey, SerialNumber: serial(), NotBefore: now.AddDate(0, 0, -1), NotAfter: now.AddDate(5, 0, 0),
		Policies: []asn1.ObjectIdentifier{smki.OIDPolicyOrganisation}, MaxPathLen: 0}, nil, caKey)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c, err := smki.CreateCertificate(nil, &smki.Template{Kind: smki.KindOrganisation, EUI: e, Role: role, KeyUsage: usage,
		PublicKey: &k.PublicKey, SerialNumber: serial(), NotBefore: now.AddDate(0, 0, -1), NotAfter: now.AddDate(1, 0, 0),
		Policies: []asn1.ObjectIdentifier{smki.OIDPolicyOrganisation}}, ca, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, c
}

func certPEM(c *smki.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// TestUsersFileExample loads docs/examples/users.json (ZAZ1 certificates
// from the trust store and inline) without the dccboxed profile: the users
// are registered as written and the supplier can send requests.
func TestUsersFileExample(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0", Log: quietLog,
		Admin: AdminConfig{UsersFile: "../docs/examples/users.json"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	us, err := s.Store.Users().ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 4 {
		t.Fatalf("%d users, want 4", len(us))
	}
	got := map[string]store.User{}
	for _, u := range us {
		got[u.ID.String()] = u
	}
	sup2 := got["90-B3-D5-1F-30-03-00-00"]
	if len(sup2.Certs) != 3 || sup2.Certs[0].Usage != store.CertXMLSign || sup2.Certs[0].Issuer == "" {
		t.Errorf("supplier2 certificates: %+v", sup2.Certs)
	}
	if ou := got["00-DB-12-34-56-78-00-04"]; ou.Status != store.UserSuspended || len(ou.Certs) != 1 || !ou.HasRole(store.RoleOtherUser) {
		t.Errorf("other user: %+v", ou)
	}
	if no := got["90-B3-D5-1F-30-02-00-00"]; len(no.Certs) != 3 || !no.HasRole(store.RoleGasTransporter) || no.ResponseURL == "" {
		t.Errorf("network operator: %+v", no)
	}
	if s.AdminURL() != "" {
		t.Errorf("admin API served without an address: %s", s.AdminURL())
	}
	keys := zaz1Keys(t)
	for _, tc := range []struct {
		id   string
		want string
	}{
		{"90-B3-D5-1F-30-01-00-00", "I0"}, // active (an empty inventory without the profile)
		{"00-DB-12-34-56-78-00-04", "E3"}, // suspended in the file
	} {
		id := eui.MustParse(tc.id)
		key, cert, err := keys.XMLSigningKey(id)
		if err != nil {
			t.Fatal(err)
		}
		if code := readInventory(t, http.DefaultClient, s.DUISURL, id, key, cert); code != tc.want {
			t.Errorf("%s: %s, want %s", tc.id, code, tc.want)
		}
	}
}

// TestUsersFileErrors: a bad file stops Start with a message naming the
// file, the entry and the problem.
func TestUsersFileErrors(t *testing.T) {
	ctx := context.Background()
	keys := zaz1Keys(t)
	supXML := keys.ByEUI(eui.MustParse("90-B3-D5-1F-30-01-00-00"))
	var supPEM string
	for _, c := range supXML {
		if c.Role == smki.RoleXMLSign {
			supPEM = certPEM(c)
		}
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	newID := eui.MustParse("00-11-22-33-44-55-66-77")
	_, kaCert := testOrgCert(t, newID, smki.RoleSupplier, smki.KeyUsageKeyAgreement)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ka.pem"), []byte(certPEM(kaCert)), 0o644)
	os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644)
	cases := []struct {
		name, file string
		want       []string
	}{
		{"syntax", `{"users": [`, []string{"users file", "unexpected EOF"}},
		{"unknown field", `{"users": [{"id": "00-11-22-33-44-55-66-77", "rolez": ["IS"]}]}`, []string{"unknown field", "rolez"}},
		{"bad EUI", `{"users": [{"id": "00-11-22", "roles": ["IS"]}]}`, []string{"users[0] (00-11-22)", "id:", "8 hex pairs"}},
		{"missing id", `{"users": [{"roles": ["IS"]}]}`, []string{"users[0]", "id: missing"}},
		{"unknown role", `{"users": [{"id": "00-11-22-33-44-55-66-77", "roles": ["IS", "XX"]}]}`, []string{"users[0] (00-11-22-33-44-55-66-77)", `unknown role "XX"`}},
		{"no roles", `{"users": [{"id": "00-11-22-33-44-55-66-77"}]}`, []string{"roles: at least one"}},
		{"bad status", `{"users": [{"id": "00-11-22-33-44-55-66-77", "roles": ["OU"], "status": "Gone"}]}`, []string{`unknown status "Gone"`}},
		{"duplicate", `{"users": [{"id": "00-11-22-33-44-55-66-77", "roles": ["OU"]}, {"id": "0011223344556677", "roles": ["OU"]}]}`, []string{"users[1]", "also users[0]"}},
		{"certificate of another EUI", js(map[string]any{"users": []any{map[string]any{"id": newID.String(), "roles": []string{"IS"},
			"certificates": []any{map[string]any{"usage": "xmlsign", "pem": supPEM}}}}}), []string{"certificates[0]", "90-B3-D5-1F-30-01-00-00, not the user 00-11-22-33-44-55-66-77"}},
		{"usage mismatch", `{"users": [{"id": "00-11-22-33-44-55-66-77", "roles": ["IS"], "certificates": [{"usage": "ds", "file": "ka.pem"}]}]}`, []string{"certificates[0]", "ka.pem", "digitalSignature"}},
		{"unparsable", `{"users": [{"id": "00-11-22-33-44-55-66-77", "roles": ["IS"], "certificates": [{"usage": "ka", "file": "junk.pem"}]}]}`, []string{"junk.pem", "malformed"}},
		{"missing file", `{"users": [{"id": "00-11-22-33-44-55-66-77", "roles": ["IS"], "certificates": [{"usage": "ka", "file": "nope.pem"}]}]}`, []string{"nope.pem", "no such file"}},
		{"no usage", `{"users": [{"id": "00-11-22-33-44-55-66-77", "roles": ["IS"], "certificates": [{"file": "ka.pem"}]}]}`, []string{"usage: missing"}},
		{"two sources", `{"users": [{"id": "00-11-22-33-44-55-66-77", "roles": ["IS"], "certificates": [{"usage": "ka", "file": "ka.pem", "trustStore": true}]}]}`, []string{"exactly one of"}},
		{"not in trust store", `{"users": [{"id": "00-11-22-33-44-55-66-77", "roles": ["IS"], "certificates": [{"trustStore": true}]}]}`, []string{"trust store has no organisation certificates for 00-11-22-33-44-55-66-77"}},
		{"certificate role not held", `{"users": [{"id": "00-11-22-33-44-55-66-77", "roles": ["IS"], "certificates": [{"usage": "ka", "file": "ka.pem", "role": "GS"}]}]}`, []string{"role GS is not one of the user's roles"}},
		{"third entry, certificate of another EUI", js(map[string]any{"users": []any{
			map[string]any{"id": "90-B3-D5-1F-30-01-00-00", "roles": []string{"IS"}, "certificates": []any{map[string]any{"trustStore": true, "usage": "xmlsign"}}},
			map[string]any{"id": newID.String(), "roles": []string{"IS"}, "certificates": []any{map[string]any{"usage": "ka", "file": "ka.pem"}}},
			map[string]any{"id": "0011223344556678", "roles": []string{"IS"}, "certificates": []any{map[string]any{"usage": "ka", "file": "ka.pem"}}},
		}}), []string{"users[2]", "not the user 00-11-22-33-44-55-66-78"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("users%d.json", i))
			os.WriteFile(path, []byte(tc.file), 0o644)
			s, err := Start(ctx, Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0", Log: quietLog,
				Admin: AdminConfig{UsersFile: path}})
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			msg := err.Error()
			for _, w := range append(tc.want, path) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

type adminClient struct {
	t     *testing.T
	base  string
	token string
}

func (c adminClient) do(method, path, body string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c adminClient) want(method, path, body string, code int, contains ...string) string {
	c.t.Helper()
	got, out := c.do(method, path, body)
	if got != code {
		c.t.Errorf("%s %s: HTTP %d, want %d: %s", method, path, got, code, out)
	}
	for _, w := range contains {
		if !strings.Contains(out, w) {
			c.t.Errorf("%s %s: response lacks %q: %s", method, path, w, out)
		}
	}
	return out
}

// TestAdminAPI drives the admin API of a dccboxed server: token, listing,
// status changes that the next request sees (E3), a new user whose
// XML-signing certificate becomes trusted, bad input, deletion (E1).
func TestAdminAPI(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0", Profile: "dccboxed", Log: quietLog,
		Admin: AdminConfig{Addr: "127.0.0.1:0", Token: "s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.AdminURL(), "http://127.0.0.1:") || s.AdminURL() == s.DUISURL {
		t.Fatalf("AdminURL %q (DUIS %s)", s.AdminURL(), s.DUISURL)
	}
	api := adminClient{t: t, base: s.AdminURL(), token: "s3cret"}

	// The token.
	adminClient{t: t, base: s.AdminURL()}.want("GET", "/admin/v1/users", "", 401, "bearer token")
	adminClient{t: t, base: s.AdminURL(), token: "wrong"}.want("GET", "/admin/v1/users", "", 401)
	// Not on the DUIS port.
	if resp, err := http.Get(s.DUISURL + "/admin/v1/users"); err != nil || resp.StatusCode == 200 {
		t.Errorf("admin API on the DUIS port: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	api.want("GET", "/admin/v1/users", "", 200, `"90-B3-D5-1F-30-01-00-00"`, `"GITTESTSUPPLIER"`, "BEGIN CERTIFICATE")
	api.want("GET", "/admin/v1/users/90B3D51F30010000", "", 200, `"status": "Active"`, `"usage": "xmlsign"`, `"issuer": "CN=Z1,OU=07"`)
	api.want("GET", "/admin/v1/users/00-11-22-33-44-55-66-77", "", 404, "no user 00-11-22-33-44-55-66-77")
	api.want("GET", "/admin/v1/users/zz", "", 400, "user id")

	// Suspension takes effect for the next request.
	keys := zaz1Keys(t)
	sup := eui.MustParse("90-B3-D5-1F-30-01-00-00")
	key, cert, err := keys.XMLSigningKey(sup)
	if err != nil {
		t.Fatal(err)
	}
	if code := readInventory(t, http.DefaultClient, s.DUISURL, sup, key, cert); code != "I0" {
		t.Fatalf("before suspension: %s", code)
	}
	api.want("POST", "/admin/v1/users/90-B3-D5-1F-30-01-00-00/status", `{"status":"Suspended"}`, 200, `"status": "Suspended"`)
	if code := readInventory(t, http.DefaultClient, s.DUISURL, sup, key, cert); code != "E3" {
		t.Errorf("suspended: %s, want E3", code)
	}
	api.want("POST", "/admin/v1/users/90-B3-D5-1F-30-01-00-00/status", `{"status":"Active"}`, 200)
	if code := readInventory(t, http.DefaultClient, s.DUISURL, sup, key, cert); code != "I0" {
		t.Errorf("reactivated: %s, want I0", code)
	}
	api.want("POST", "/admin/v1/users/90-B3-D5-1F-30-01-00-00/status", `{"status":"Sleeping"}`, 400, `unknown status \"Sleeping\"`)
	api.want("POST", "/admin/v1/users/90-B3-D5-1F-30-01-00-00/status", `{"state":"Active"}`, 400, "unknown field")
	api.want("POST", "/admin/v1/users/00-11-22-33-44-55-66-77/status", `{"status":"Active"}`, 404)

	// A new user with its own SMKI certificates: its XML-signing
	// certificate is trusted at once.
	newID := eui.MustParse("00-11-22-33-44-55-66-77")
	nkey, ncert := testOrgCert(t, newID, smki.RoleXMLSign, smki.KeyUsageDigitalSignature)
	if code := readInventory(t, http.DefaultClient, s.DUISURL, newID, nkey, ncert); code == "I0" || code == "E1" {
		t.Fatalf("unknown user's certificate: %s, want a signature rejection", code)
	}
	_, kaCert := testOrgCert(t, newID, smki.RoleOther, smki.KeyUsageKeyAgreement)
	body, _ := json.Marshal(map[string]any{"name": "new supplier", "roles": []string{"IS", "OU"}, "responseUrl": "http://127.0.0.1:9/r",
		"certificates": []any{map[string]any{"usage": "xmlsign", "pem": certPEM(ncert)}, map[string]any{"usage": "ka", "pem": certPEM(kaCert), "role": "IS"}}})
	api.want("PUT", "/admin/v1/users/00-11-22-33-44-55-66-77", string(body), 201, `"new supplier"`, `"status": "Active"`, `"role": "IS"`)
	if code := readInventory(t, http.DefaultClient, s.DUISURL, newID, nkey, ncert); code != "E4" && code != "I0" {
		t.Errorf("new user: %s, want access control to have run (E4: not registered for the device)", code)
	}
	// Replacing it (GET output is a valid PUT body): 200.
	out := api.want("GET", "/admin/v1/users/00-11-22-33-44-55-66-77", "", 200)
	out = strings.Replace(out, `"new supplier"`, `"renamed"`, 1)
	api.want("PUT", "/admin/v1/users/00-11-22-33-44-55-66-77", out, 200, `"renamed"`)

	// Bad input.
	api.want("PUT", "/admin/v1/users/00-11-22-33-44-55-66-77", `{"roles":["IS"],"certificates":[{"usage":"ka","file":"/etc/passwd"}]}`, 400, "not accepted over the admin API")
	api.want("PUT", "/admin/v1/users/00-11-22-33-44-55-66-77", `{"id":"00-11-22-33-44-55-66-78","roles":["IS"]}`, 400, "does not match")
	api.want("PUT", "/admin/v1/users/00-11-22-33-44-55-66-77", `{"roles":["XX"]}`, 400, `unknown role \"XX\"`)
	api.want("PUT", "/admin/v1/users/00-11-22-33-44-55-66-77", `{"roles":["IS"]`, 400, "body")
	api.want("PUT", "/admin/v1/users/00-11-22-33-44-55-66-78", string(body), 400, "is for 00-11-22-33-44-55-66-77, not the user 00-11-22-33-44-55-66-78")
	supBody, _ := json.Marshal(map[string]any{"roles": []string{"IS"}, "certificates": []any{map[string]any{"usage": "xmlsign", "pem": certPEM(cert)}}})
	api.want("PUT", "/admin/v1/users/90-B3-D5-1F-30-01-00-00", string(supBody), 200)
	// Another user's certificate.
	api.want("PUT", "/admin/v1/users/90-B3-D5-1F-30-03-00-00", string(supBody), 400, "not the user")

	// Deletion: the next request is E1.
	api.want("DELETE", "/admin/v1/users/00-11-22-33-44-55-66-77", "", 204)
	if code := readInventory(t, http.DefaultClient, s.DUISURL, newID, nkey, ncert); code != "E1" {
		t.Errorf("deleted user: %s, want E1", code)
	}
	api.want("DELETE", "/admin/v1/users/00-11-22-33-44-55-66-77", "", 404)
	api.want("GET", "/admin/v1/users/00-11-22-33-44-55-66-77", "", 404)
}
