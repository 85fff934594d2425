package e2e

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/client"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/server"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/wan"
)

// TestReturnLocalCommandResponse: a 4.1.1 read for local delivery (CV 2)
// gives the command in I0; the simulated ESME executes it as if an
// installer's hand-held had carried it; 8.13 returns its answer (I99).
// A tampered answer gets E081302, an answer for a request that was not
// for local delivery E081301, and nothing of it reaches a device.
func TestReturnLocalCommandResponse(t *testing.T) {
	dir := refdata.Path(t, "duis", "templates")
	keys := smki.NewStore()
	if err := keys.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	c := &client.Client{Keystore: keys, Allowance: 5 * 365 * 24 * time.Hour, FreshCounter: true, Timeout: 10 * time.Second}
	ln := &client.Listener{Verify: c.VerifyOptions, Security: c.Security()}
	if err := ln.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c.Listener = ln
	fast := map[wan.Region]wan.Link{wan.North: {Latency: time.Millisecond}, wan.Central: {Latency: time.Millisecond}, wan.South: {Latency: time.Millisecond}}
	s, err := server.Start(context.Background(), server.Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0",
		Profile: "dccboxed", ResponseURL: ln.URL(), WANLinks: fast, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c.Server = s.DUISURL

	doc, err := os.ReadFile(filepath.Join(dir, "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	local := strings.Replace(string(doc), "<sr:CommandVariant>1</sr:CommandVariant>", "<sr:CommandVariant>2</sr:CommandVariant>", 1)
	res, err := c.Send(context.Background(), []byte(local))
	if err != nil || res.Ack.Code != "I0" || res.Ack.Content != "LocalCommand" {
		t.Fatalf("CV 2: %v %+v", err, res)
	}
	m := regexp.MustCompile(`<sr:GBCSPayload>([^<]*)</sr:GBCSPayload>`).FindSubmatch(res.Ack.Raw)
	cmd, _ := base64.StdEncoding.DecodeString(string(m[1]))
	sent := s.CommandsSent()
	answer, err := s.Fleet.Deliver(cmd) // over the HAN, not the WAN
	if err != nil {
		t.Fatalf("the simulated ESME refused the local command: %v", err)
	}
	ret := func(original string, gbcs []byte) string {
		t.Helper()
		tmpl, err := os.ReadFile(filepath.Join(dir, "8.13_RETURN_LOCAL_COMMAND_RESPONSE_CS06_REQUEST_DUIS.XML"))
		if err != nil {
			t.Fatal(err)
		}
		d := regexp.MustCompile(`<sr:OriginalRequestID>[^<]*<`).ReplaceAllString(string(tmpl), "<sr:OriginalRequestID>"+original+"<")
		d = regexp.MustCompile(`<sr:DeviceGBCSResponse>[^<]*<`).ReplaceAllString(d, "<sr:DeviceGBCSResponse>"+base64.StdEncoding.EncodeToString(gbcs)+"<")
		r, err := c.Send(context.Background(), []byte(d))
		if r == nil || r.Ack == nil {
			t.Fatalf("8.13: %v", err)
		}
		return r.Ack.Code
	}
	tampered := append([]byte(nil), answer...)
	tampered[len(tampered)-1] ^= 1
	if code := ret(res.RequestID, tampered); code != "E081302" {
		t.Errorf("tampered answer: %s, want E081302", code)
	}
	if code := ret(res.RequestID, answer); code != "I99" {
		t.Fatalf("8.13 with the device's answer: %s, want I99", code)
	}
	// an on-demand request's RequestID (its answer came over the WAN)
	doc2, _ := os.ReadFile(filepath.Join(dir, "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML"))
	wanRes, err := c.Send(context.Background(), doc2)
	if err != nil || wanRes.Final == nil {
		t.Fatalf("CV 1: %v", err)
	}
	if code := ret(wanRes.RequestID, answer); code != "E081301" {
		t.Errorf("8.13 for a CV 1 request: %s, want E081301", code)
	}
	if n := s.CommandsSent() - sent; n != 1 { // the CV 1 read only
		t.Errorf("%d commands went over the WAN, want 1", n)
	}
	t.Logf("CV 2 → I0 LocalCommand; device answer returned by 8.13 → I99; tampered → E081302; CV 1 request → E081301")
}

// TestServiceOptIn: 8.6 for the profile's ESME with its MPAN (1100000000001) gets I0
// DSPOptIn with the DCC's Access Control Broker certificates; the
// template's own MPxNs (not the profile ESME's) get E080602.
func TestServiceOptIn(t *testing.T) {
	dir := refdata.Path(t, "duis", "templates")
	keys := smki.NewStore()
	if err := keys.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	c := &client.Client{Keystore: keys, Allowance: 5 * 365 * 24 * time.Hour, FreshCounter: true, Timeout: 10 * time.Second}
	s, err := server.Start(context.Background(), server.Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0",
		Profile: "dccboxed", Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c.Server = s.DUISURL
	doc, err := os.ReadFile(filepath.Join(dir, "8.6_SERVICE_OPTIN_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Send(context.Background(), doc)
	if err != nil || res.Ack.Code != "E080602" {
		t.Fatalf("template as is: %v %+v, want E080602", err, res.Ack)
	}
	mine := regexp.MustCompile(`(?s)<sr:MPxNs>.*</sr:MPxNs>`).ReplaceAll(doc, []byte("<sr:MPxNs><sr:ImportMPxN>"+"1100000000001"+"</sr:ImportMPxN></sr:MPxNs>"))
	res, err = c.Send(context.Background(), mine)
	if err != nil || res.Ack.Code != "I0" || res.Ack.Content != "DSPOptIn" || !res.Ack.SignatureValid {
		t.Fatalf("8.6: %v %+v", err, res.Ack)
	}
	m := regexp.MustCompile(`<sr:DSPBrokerSecurityCredentialsKeyAgreement>([^<]*)<`).FindSubmatch(res.Ack.Raw)
	der, _ := base64.StdEncoding.DecodeString(string(m[1]))
	cert, err := smki.ParseCertificate(der)
	if err != nil || cert.Role != smki.RoleAccessControlBroker || cert.EUI != smki.DCCEUI {
		t.Fatalf("the KA credential: %v role %v EUI %v", err, cert.Role, cert.EUI)
	}
	t.Logf("8.6 → I0 DSPOptIn, ACB key-agreement certificate serial %s", cert.SerialNumber)
}
