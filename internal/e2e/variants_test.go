package e2e

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/smki"
)

// TestNewestBuildableVariant: where the inventory does not record a
// device's GBCS version variants, the DCC sends the newest variant it has a
// mapping for. 4.18 Read Meter Balance on a GSME or its GPF has GCS60 and
// the newer GCS60a, which OpenDCC cannot build: it sends GCS60 (it used to
// answer HTTP 501), and the device's answer verifies.
func TestNewestBuildableVariant(t *testing.T) {
	h := newHarness(t, nil)
	sec := gbcs.NewSecurity(h.s.Fleet.KeyStore(), 0)
	for _, target := range []string{"00-DB-12-34-56-78-90-A1", "00-DB-12-34-56-78-90-A3"} { // the GSME, its GPF
		doc := strings.ReplaceAll(string(h.template("ECS82_4.18_SUCCESS_REQUEST_DUIS.XML")), "00-DB-12-34-56-78-90-A0:", target+":")
		res, err := h.c.Send(context.Background(), []byte(doc))
		if !expected("4.18 to "+target, res, err, sec) {
			t.Errorf("4.18 Read Meter Balance to %s: %s %v", target, describe(res, err), err)
		}
	}
}

// TestUnjoinFromGSME: 8.8.2 Unjoin on a GSME has two candidates. A device
// other than the GSME's GPF is unjoined by CS04AC (Method A or C), which
// the GSME answers; the GPF would be Method B (CS04B), whose payload no
// source gives: HTTP 501 with that reason. Both used to answer HTTP 501
// ("no rule to choose the use case").
func TestUnjoinFromGSME(t *testing.T) {
	h := newHarness(t, nil)
	sec := gbcs.NewSecurity(h.s.Fleet.KeyStore(), 0)
	tmpl := string(h.template("CS04ACNonCritical_8.8.2_SUCCESS_REQUEST_DUIS.XML"))
	const gsme = "00-DB-12-34-56-78-90-A1"
	for _, other := range []string{"00-DB-12-34-56-78-90-A4", "01-02-03-04-05-06-07-08"} { // the PPMID; a device the inventory does not know
		doc := strings.ReplaceAll(tmpl, "00-DB-12-34-56-78-90-A4:", gsme+":")
		doc = strings.ReplaceAll(doc, "<sr:OtherDeviceID>01-02-03-04-05-06-07-08<", "<sr:OtherDeviceID>"+other+"<")
		res, err := h.c.Send(context.Background(), []byte(doc))
		if !expected("8.8.2 on the GSME", res, err, sec) {
			t.Errorf("8.8.2 unjoining %s from the GSME: %s %v", other, describe(res, err), err)
		}
	}
	doc := strings.ReplaceAll(tmpl, "00-DB-12-34-56-78-90-A4:", gsme+":")
	doc = strings.ReplaceAll(doc, "<sr:OtherDeviceID>01-02-03-04-05-06-07-08<", "<sr:OtherDeviceID>00-DB-12-34-56-78-90-A3<")
	res, err := h.c.Send(context.Background(), []byte(doc))
	if d := describe(res, err); d != "HTTP 501" || !strings.Contains(err.Error(), "CS04B") {
		t.Errorf("8.8.2 unjoining the GPF from its GSME: %s %v, want HTTP 501 for CS04B", d, err)
	}
}

// TestChangeOfTenancyOnGPF: 3.2 Restrict Access for Change of Tenancy on
// a GPF is GCS09 (the ESME's is ECS12, the template's): its GBZ
// Implementation Date/Time is the RestrictionDateTime. It answered HTTP
// 501 ("GBZ field … has no mapping"); the GPF now answers and the answer
// verifies.
func TestChangeOfTenancyOnGPF(t *testing.T) {
	h := newHarness(t, nil)
	sec := gbcs.NewSecurity(h.s.Fleet.KeyStore(), 0)
	doc := strings.ReplaceAll(string(h.template("ECS12_3.2_SUCCESS_REQUEST_DUIS.XML")), "00-DB-12-34-56-78-90-A0:", "00-DB-12-34-56-78-90-A3:")
	res, err := h.c.Send(context.Background(), []byte(doc))
	if !expected("3.2 on the GPF", res, err, sec) {
		t.Fatalf("3.2 on the GPF: %s %v", describe(res, err), err)
	}
}

// TestPrepaymentModeOnGSME: 1.6 Update Payment Mode to Prepayment on a
// GSME is GCS03, whose GBZ payload the annex's message template fixes
// (the templates only show Credit, GCS02). It answered HTTP 501; the
// GSME now answers, and the answer verifies. The ESME's ECS03 stays
// HTTP 501: its flags' encoding is in GBCS 18.2.1, not among the sources.
func TestPrepaymentModeOnGSME(t *testing.T) {
	h := newHarness(t, nil)
	sec := gbcs.NewSecurity(h.s.Fleet.KeyStore(), 0)
	prepay := "<sr:Prepayment><sr:SuspendDebtDisabled>true</sr:SuspendDebtDisabled><sr:SuspendDebtEmergency>false</sr:SuspendDebtEmergency><sr:DisablementThreshold>-500</sr:DisablementThreshold></sr:Prepayment>"
	doc := strings.ReplaceAll(string(h.template("GCS02_1.6_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML")), "<sr:Credit/>", prepay)
	res, err := h.c.Send(context.Background(), []byte(doc))
	if !expected("1.6 Prepayment on the GSME", res, err, sec) {
		t.Fatalf("1.6 Prepayment on the GSME: %s %v", describe(res, err), err)
	}
	doc = strings.ReplaceAll(string(h.template("ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML")), "<sr:Credit/>", prepay)
	res, err = h.c.Send(context.Background(), []byte(doc))
	if d := describe(res, err); d != "HTTP 501" || !strings.Contains(err.Error(), "ECS03 not supported") {
		t.Errorf("1.6 Prepayment on the ESME: %s %v, want HTTP 501 for ECS03", d, err)
	}
}

// TestServicesWithoutTemplates: device services for which the template
// directory has no request (the DCC Boxed set names one for each, held
// back here), built from the schema: each gets I99 and then an I0 whose
// device answer verifies. 4.6.2 and 6.20.2 are the Export Supplier's only,
// which the profile's test supplier is for the ESME's export MPAN.
func TestServicesWithoutTemplates(t *testing.T) {
	h := newHarness(t, nil)
	sec := gbcs.NewSecurity(h.s.Fleet.KeyStore(), 0)
	const (
		supplier = "90-B3-D5-1F-30-01-00-00"
		esme     = "00-DB-12-34-56-78-90-A0"
		gsme     = "00-DB-12-34-56-78-90-A1"
		chf      = "00-DB-12-34-56-78-90-A2"
		gpf      = "00-DB-12-34-56-78-90-A3"
	)
	logPeriod := "<sr:ReadLogPeriod><sr:StartDateTime>2015-01-01T00:00:00Z</sr:StartDateTime><sr:EndDateTime>2015-01-08T00:00:00Z</sr:EndDateTime></sr:ReadLogPeriod>"
	for _, tc := range []struct{ target, sr, srv, body string }{
		{esme, "4.6", "4.6.2", "<sr:RetrieveExportDailyReadLog>" + logPeriod + "</sr:RetrieveExportDailyReadLog>"},
		{esme, "6.20", "6.20.2", "<sr:SetDeviceConfigurationExportMPAN><sr:ExportMPAN>1100000000002</sr:ExportMPAN></sr:SetDeviceConfigurationExportMPAN>"},
		{esme, "4.11", "4.11.2", "<sr:ReadTariffSecondaryElement/>"},
		{esme, "6.2", "6.2.1", "<sr:ReadDeviceConfigurationVoltage/>"},
		{esme, "7.1", "7.1", "<sr:EnableSupply/>"},
		{gsme, "4.1", "4.1.4", "<sr:ReadInstantaneousImportBlockCounters/>"},
		{gpf, "4.1", "4.1.4", "<sr:ReadInstantaneousImportBlockCounters/>"},
		{chf, "6.30", "6.30", "<sr:ReadCHFSubGHzConfiguration/>"},
	} {
		res, err := h.c.Send(context.Background(), requestDoc(supplier, tc.target, tc.sr, tc.srv, tc.body))
		if !expected(tc.srv, res, err, sec) || res.Final == nil {
			t.Errorf("%s to %s: %s %v", tc.srv, tc.target, describe(res, err), err)
		}
	}
}

// TestServiceOptOut: 8.5 Service Opt Out is the ACB replacing its own
// cells on the ESME (CS02b accessControlBrokerByACB, 0x0104), DSP-pattern
// future dated: held to its ExecutionDateTime, then sent by the ACB. It
// answered HTTP 501 ("several message codes"). The replacement here is
// the ACB's own certificates, so that the device keeps answering the DCC.
func TestServiceOptOut(t *testing.T) {
	h := newHarness(t, nil)
	sec := gbcs.NewSecurity(h.s.Fleet.KeyStore(), 0)
	var ds, ka string
	for _, c := range h.c.Keystore.ByEUI(eui.MustParse("90-B3-D5-1F-30-00-00-02")) { // the ACB
		if c.Role != smki.RoleAccessControlBroker {
			continue
		}
		switch c.KeyUsage {
		case smki.KeyUsageDigitalSignature:
			ds = base64.StdEncoding.EncodeToString(c.Raw)
		case smki.KeyUsageKeyAgreement:
			ka = base64.StdEncoding.EncodeToString(c.Raw)
		}
	}
	if ds == "" || ka == "" {
		t.Fatal("no ACB certificates in the keystore")
	}
	exec := time.Now().Add(2 * time.Second).UTC().Truncate(time.Second)
	body := `<sr:ServiceOptOut><sr:ExecutionDateTime>` + exec.Format("2006-01-02T15:04:05Z") +
		`</sr:ExecutionDateTime><sr:ACBFloorSeqNumber>0</sr:ACBFloorSeqNumber><sr:ReplacementCertificates><sr:DigitalSigningCertificate>` + ds +
		`</sr:DigitalSigningCertificate><sr:KeyAgreementCertificate>` + ka + `</sr:KeyAgreementCertificate></sr:ReplacementCertificates><sr:CertificationPathCertificates><sr:Certificate>` + ka +
		`</sr:Certificate></sr:CertificationPathCertificates><sr:ApplyTimeBasedCPVChecks>false</sr:ApplyTimeBasedCPVChecks></sr:ServiceOptOut>`
	res, err := h.c.Send(context.Background(), requestDoc("90-B3-D5-1F-30-01-00-00", "00-DB-12-34-56-78-90-A0", "8.5", "8.5", body))
	if !expected("8.5", res, err, sec) || res.Final == nil {
		t.Fatalf("8.5 Service Opt Out: %s %v", describe(res, err), err)
	}
	if time.Now().Before(exec) {
		t.Errorf("answered before its ExecutionDateTime %s: not held", exec)
	}
	raw, _ := base64.StdEncoding.DecodeString(string(payloadRE.FindSubmatch(res.Final.Raw)[1]))
	if m, err := gbcs.Parse(raw); err != nil || m.MessageCode != 0x0104 || m.Recipient != eui.MustParse("90-B3-D5-1F-30-00-00-02") {
		t.Errorf("the device's answer: %v, message code %04X to %s, want 0104 to the ACB", err, m.MessageCode, m.Recipient)
	}
}

// TestCriticalLocalDelivery: a critical template asked as CV 6 (the
// Signed Pre-Command returned for local delivery) or CV 7 (sent and
// returned) takes the two-step as CV 1 does: CV 4, the User's signature,
// then the Signed Pre-Command as CV 6 / 7, answered I0 with the command
// to deliver locally, signed by the User and MACed by the ACB. The client
// sent such a template as it was, and the DCC refused it (E100: no Signed
// Pre-Command).
func TestCriticalLocalDelivery(t *testing.T) {
	h := newHarness(t, nil)
	tmpl := string(h.template("ECS43_7.2_SUCCESS_REQUEST_DUIS.XML"))
	for _, cv := range []string{"6", "7"} {
		doc := strings.Replace(tmpl, "<sr:CommandVariant>4</sr:CommandVariant>", "<sr:CommandVariant>"+cv+"</sr:CommandVariant>", 1)
		res, err := h.c.Send(context.Background(), []byte(doc))
		if err != nil || res.Ack == nil || res.Ack.Code != "I0" || res.CommandVariant != int(cv[0]-'0') || res.PreCommand == nil {
			t.Fatalf("CV %s: %s %v (CV %d)", cv, describe(res, err), err, res.CommandVariant)
		}
		m := payloadRE.FindSubmatch(res.Ack.Raw)
		if m == nil {
			t.Fatalf("CV %s: no GBCSPayload to deliver locally:\n%s", cv, res.Ack.Raw)
		}
		raw, _ := base64.StdEncoding.DecodeString(string(m[1]))
		g, err := gbcs.Parse(raw)
		if err != nil || g.Kind() != gbcs.KindCommand || !g.Signed() || !g.MACHeader {
			t.Errorf("CV %s: the local command: %v, kind %v, signed %v, MAC %v", cv, err, g.Kind(), g.Signed(), g.MACHeader)
		}
	}
}

// requestDoc is an unsigned CV 1 DUIS request of originator to target with
// the given SR, SRV and body (the client signs it with a fresh counter).
func requestDoc(originator, target, sr, srv, body string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"><sr:Header><sr:RequestID>` +
		originator + ":" + target + `:1</sr:RequestID><sr:CommandVariant>1</sr:CommandVariant><sr:ServiceReference>` + sr +
		`</sr:ServiceReference><sr:ServiceReferenceVariant>` + srv + `</sr:ServiceReferenceVariant></sr:Header><sr:Body>` + body + `</sr:Body></sr:Request>`)
}
