package e2e

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/smki"
)

// TestReturnLocalCommandResponse: a 4.1.1 read for local delivery (CV 2)
// gives the command in I0; the simulated ESME executes it as if an
// installer's hand-held had carried it; 8.13 returns its answer (I99).
// A tampered answer gets E081302, an answer for a request that was not
// for local delivery E081301, and nothing of it reaches a device.
func TestReturnLocalCommandResponse(t *testing.T) {
	h := newHarness(t, nil)
	read := h.template("ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML")
	local := strings.Replace(string(read), "<sr:CommandVariant>1</sr:CommandVariant>", "<sr:CommandVariant>2</sr:CommandVariant>", 1)
	res := h.send([]byte(local))
	if res.Ack.Code != "I0" || res.Ack.Content != "LocalCommand" {
		t.Fatalf("CV 2: %+v", res.Ack)
	}
	m := regexp.MustCompile(`<sr:GBCSPayload>([^<]*)</sr:GBCSPayload>`).FindSubmatch(res.Ack.Raw)
	cmd, _ := base64.StdEncoding.DecodeString(string(m[1]))
	sent := h.s.CommandsSent()
	answer, err := h.s.Fleet.Deliver(cmd) // over the HAN, not the WAN
	if err != nil {
		t.Fatalf("the simulated ESME refused the local command: %v", err)
	}
	ret := func(original string, gbcs []byte) string {
		t.Helper()
		d := regexp.MustCompile(`<sr:OriginalRequestID>[^<]*<`).ReplaceAllString(string(h.template("8.13_RETURN_LOCAL_COMMAND_RESPONSE_CS06_REQUEST_DUIS.XML")), "<sr:OriginalRequestID>"+original+"<")
		d = regexp.MustCompile(`<sr:DeviceGBCSResponse>[^<]*<`).ReplaceAllString(d, "<sr:DeviceGBCSResponse>"+base64.StdEncoding.EncodeToString(gbcs)+"<")
		return h.send([]byte(d)).Ack.Code
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
	wanRes := h.send(read)
	if wanRes.Final == nil {
		t.Fatal("CV 1: no final response")
	}
	if code := ret(wanRes.RequestID, answer); code != "E081301" {
		t.Errorf("8.13 for a CV 1 request: %s, want E081301", code)
	}
	if n := h.s.CommandsSent() - sent; n != 1 { // the CV 1 read only
		t.Errorf("%d commands went over the WAN, want 1", n)
	}
	t.Logf("CV 2 → I0 LocalCommand; device answer returned by 8.13 → I99; tampered → E081302; CV 1 request → E081301")
}

// TestServiceOptIn: 8.6 for the profile's ESME with its MPAN (1100000000001)
// gets I0 DSPOptIn with the DCC's Access Control Broker certificates; the
// template's own MPxNs (not the profile ESME's) get E080602.
func TestServiceOptIn(t *testing.T) {
	h := newHarness(t, nil)
	doc := h.template("8.6_SERVICE_OPTIN_REQUEST_DUIS.XML")
	if res := h.send(doc); res.Ack.Code != "E080602" {
		t.Fatalf("template as is: %+v, want E080602", res.Ack)
	}
	mine := regexp.MustCompile(`(?s)<sr:MPxNs>.*</sr:MPxNs>`).ReplaceAll(doc, []byte("<sr:MPxNs><sr:ImportMPxN>1100000000001</sr:ImportMPxN></sr:MPxNs>"))
	res := h.send(mine)
	if res.Ack.Code != "I0" || res.Ack.Content != "DSPOptIn" || !res.Ack.SignatureValid {
		t.Fatalf("8.6: %+v", res.Ack)
	}
	m := regexp.MustCompile(`<sr:DSPBrokerSecurityCredentialsKeyAgreement>([^<]*)<`).FindSubmatch(res.Ack.Raw)
	der, _ := base64.StdEncoding.DecodeString(string(m[1]))
	cert, err := smki.ParseCertificate(der)
	if err != nil || cert.Role != smki.RoleAccessControlBroker || cert.EUI != smki.DCCEUI {
		t.Fatalf("the KA credential: %v %+v", err, cert)
	}
	t.Logf("8.6 → I0 DSPOptIn, ACB key-agreement certificate serial %s", cert.SerialNumber)
}
