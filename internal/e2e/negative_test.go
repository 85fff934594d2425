package e2e

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/server"
	"github.com/opendcc/opendcc/store"
)

// EUIs of the dccboxed profile (server/profile.go).
var (
	supplier1  = eui.MustParse("90-B3-D5-1F-30-01-00-00") // IS, GS, OU; registered for the profile's meters
	supplier2  = eui.MustParse("90-B3-D5-1F-30-03-00-00") // IS, GS; registered for nothing
	netop      = eui.MustParse("90-B3-D5-1F-30-02-00-00") // ED, GT
	otherUser  = eui.MustParse("00-DB-12-34-56-78-00-04") // OU
	loadCtl    = eui.MustParse("90-B3-D5-1F-30-01-00-08") // OU (removed from the registry by the E1 case)
	esme       = eui.MustParse("00-DB-12-34-56-78-90-A0")
	gsme       = eui.MustParse("00-DB-12-34-56-78-90-A1")
	chf        = eui.MustParse("00-DB-12-34-56-78-90-A2")
	otherESME  = eui.MustParse("00-DB-12-34-56-78-90-A6")
	unknownDev = eui.MustParse("00-DB-12-34-56-78-9F-FF")
	// Devices the negative cases add to the inventory.
	pendingESME    = eui.MustParse("00-DB-12-34-56-78-9E-01")
	suspendedESME  = eui.MustParse("00-DB-12-34-56-78-9E-02")
	unregistered   = eui.MustParse("00-DB-12-34-56-78-9E-03")
	unregisteredMP = "1100000000099"
)

// negEnv is what a negative case builds its request with.
type negEnv struct {
	s       *server.Server
	k       *keys
	rcv     *receiver
	counter counterClock
}

// request is a template with the RequestID rewritten (originator, target;
// nil keeps the template's) and a fresh counter, unsigned.
func (e *negEnv) request(t *testing.T, name string, originator, target *eui.EUI64) []byte {
	t.Helper()
	return setRequestID(t, template(t, name), originator, target, e.counter.next())
}

// signed is request signed by the originator's XML key.
func (e *negEnv) signed(t *testing.T, name string, originator eui.EUI64, target *eui.EUI64) []byte {
	t.Helper()
	return e.k.sign(t, e.request(t, name, &originator, target), originator)
}

// accept posts doc, requires I99 and waits for its final response, so that
// its command has been sent before the negative request is measured.
func (e *negEnv) accept(t *testing.T, doc []byte) {
	t.Helper()
	code, answer, status := postDUIS(t, e.s.DUISURL, 1, doc)
	if status != 200 || code != "I99" {
		t.Fatalf("setup request: HTTP %d %s, want I99: %.400s", status, code, answer)
	}
	if e.rcv.await(requestIDOf(doc), 10*time.Second) == nil {
		t.Fatalf("setup request %s: no final response", requestIDOf(doc))
	}
}

// transform runs CV 4 of the critical 1.1.2 template as supplier 1 and
// returns the request (with its RequestID) and the issued Pre-Command.
func (e *negEnv) transform(t *testing.T) (tpl, pre []byte) {
	t.Helper()
	tpl = e.request(t, "ECS01c_1.1.2_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML", &supplier1, nil)
	code, answer, status := postDUIS(t, e.s.DUISURL, 4, e.k.sign(t, tpl, supplier1))
	if status != 200 || code != "I0" {
		t.Fatalf("CV 4: HTTP %d %s, want I0 with the Pre-Command: %.400s", status, code, answer)
	}
	return tpl, preCommandOf(t, answer)
}

const (
	readRegistersTpl   = "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML" // 4.1.1, CV 1, ESME
	exportRegistersTpl = "ECS17e_4.1.3_SUCCESS_REQUEST_DUIS.XML"        // 4.1.3 (ECS17e only), CV 1, ESME
	profileDataTpl     = "ECS22b_4.8.1_SINGLE_SUCCESS_REQUEST_DUIS.XML" // 4.8.1, CV 1, ESME, dates in the body
	gasDailyReadTpl    = "GCS16a_4.6.1_SUCCESS_REQUEST_DUIS.XML"        // 4.6.1 (IS, GS only), GSME
	readInventoryTpl   = "8.2_READ_INVENTORY_REQUEST_DUIS.XML"          // 8.2, CV 8, non-device
	criticalTpl        = "ECS01c_1.1.2_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML"
)

var (
	issuerSerialRE = regexp.MustCompile(`<ds:X509SerialNumber>[^<]*</ds:X509SerialNumber>`)
	keyInfoRE      = regexp.MustCompile(`(?s)<ds:KeyInfo>.*</ds:KeyInfo>`)
	signatureRE    = regexp.MustCompile(`(?s)<ds:Signature[ >].*</ds:Signature>`)
)

// TestNegativeChecksNeverReachADevice is issue 6's acceptance point "one
// negative test per processing check gets its E-code; replayed, tampered,
// wrongly signed, wrong-role and ineligible requests never reach a device":
// one case (or more) per check of docs/processing.md's table and of the
// critical flow, each posted over HTTP to server.Start, asserting the
// E-code and that Server.CommandsSent did not move across the request.
func TestNegativeChecksNeverReachADevice(t *testing.T) {
	rcv := newReceiver(t)
	s := startDCCBoxed(t, rcv.URL())
	e := &negEnv{s: s, k: loadKeys(t), rcv: rcv}
	ctx := context.Background()
	const settle = 300 * time.Millisecond

	// Positive control: an accepted request does reach the device, and
	// CommandsSent sees it.
	t.Run("control/accepted 4.1.1 is sent", func(t *testing.T) {
		before := s.CommandsSent()
		e.accept(t, e.signed(t, readRegistersTpl, supplier1, nil))
		if after := s.CommandsSent(); after <= before {
			t.Fatalf("CommandsSent %d → %d: the accepted request was not counted", before, after)
		}
	})

	// Positive control of the critical flow: the Pre-Command signed as
	// issued is accepted and sent (so E1004/E1006 below come from the edits).
	t.Run("control/critical 1.1.2 CV 4 then CV 5 is sent", func(t *testing.T) {
		tpl, pre := e.transform(t)
		before := s.CommandsSent()
		doc := e.k.sign(t, signedPreCommandBody(t, tpl, e.k.signPreCommand(t, pre, nil)), supplier1)
		code, answer, status := postDUIS(t, s.DUISURL, 5, doc)
		if status != 200 || code != "I99" {
			t.Fatalf("CV 5: HTTP %d %s, want I99: %.400s", status, code, answer)
		}
		if e.rcv.await(requestIDOf(doc), 10*time.Second) == nil {
			t.Fatalf("CV 5 %s: no final response", requestIDOf(doc))
		}
		if after := s.CommandsSent(); after <= before {
			t.Fatalf("CommandsSent %d → %d: the accepted critical request was not counted", before, after)
		}
	})

	tests := []struct {
		name string
		code string
		cv   int    // web service by command variant (default 1: serviceS)
		path string // explicit path (E13)
		// build prepares the state and returns the request to post.
		build func(t *testing.T) []byte
	}{
		// Step 2: schema and header consistency.
		{name: "E100 schema/unknown body element", code: "E100", build: func(t *testing.T) []byte {
			doc := bytes.Replace(e.request(t, readRegistersTpl, &supplier1, nil), []byte("<sr:ReadInstantaneousImportRegisters/>"), []byte("<sr:ReadEverything/>"), 1)
			return e.k.sign(t, doc, supplier1)
		}},
		{name: "E100 schema/ServiceReference does not match the variant", code: "E100", build: func(t *testing.T) []byte {
			doc := replaceElement(e.request(t, readRegistersTpl, &supplier1, nil), "ServiceReference", "4.2")
			return e.k.sign(t, doc, supplier1)
		}},
		{name: "E100 schema/not XML", code: "E100", build: func(t *testing.T) []byte {
			return []byte("<sr:Request")
		}},
		// Step 3: the signature.
		{name: "E1000 signature/body tampered after signing", code: "E1000", build: func(t *testing.T) []byte {
			doc := e.signed(t, profileDataTpl, supplier1, nil)
			out := bytes.Replace(doc, []byte("2014-12-31T00:00:00.00Z"), []byte("2014-01-01T00:00:00.00Z"), 1)
			if bytes.Equal(out, doc) {
				t.Fatal("nothing tampered")
			}
			return out
		}},
		{name: "E1000 signature/target device changed after signing", code: "E1000", build: func(t *testing.T) []byte {
			doc := e.signed(t, readRegistersTpl, supplier1, nil)
			return bytes.Replace(doc, []byte(":00-DB-12-34-56-78-90-A0:"), []byte(":00-DB-12-34-56-78-90-A6:"), 1)
		}},
		{name: "E1000 signature/signed with another user's key, KeyInfo of the originator", code: "E1000", build: func(t *testing.T) []byte {
			doc := e.request(t, readRegistersTpl, &supplier1, nil)
			own := keyInfoRE.Find(e.k.sign(t, doc, supplier1))
			forged := e.k.sign(t, doc, supplier2)
			if own == nil || !keyInfoRE.Match(forged) {
				t.Fatal("no ds:KeyInfo in the signed request")
			}
			return keyInfoRE.ReplaceAll(forged, own)
		}},
		{name: "E1000 signature/no signature", code: "E1000", build: func(t *testing.T) []byte {
			doc := signatureRE.ReplaceAll(e.request(t, readRegistersTpl, &supplier1, nil), nil)
			if bytes.Contains(doc, []byte("Signature")) {
				t.Fatal("the signature was not removed")
			}
			return doc
		}},
		// Step 3: the signer's certificate.
		{name: "E1001 certificate/unknown certificate serial", code: "E1001", build: func(t *testing.T) []byte {
			doc := e.signed(t, readRegistersTpl, supplier1, nil)
			if !issuerSerialRE.Match(doc) {
				t.Fatal("no ds:X509SerialNumber in the signed request")
			}
			return issuerSerialRE.ReplaceAll(doc, []byte("<ds:X509SerialNumber>123456789012345678901234567890</ds:X509SerialNumber>"))
		}},
		{name: "E1001 certificate/another user's certificate (not the originator's)", code: "E1001", build: func(t *testing.T) []byte {
			return e.k.sign(t, e.request(t, readRegistersTpl, &supplier1, nil), supplier2)
		}},
		// Step 1: the web service.
		{name: "E13 wrong URL/CV 1 posted to serviceT", code: "E13", path: "/api/v1/serviceT", build: func(t *testing.T) []byte {
			return e.signed(t, readRegistersTpl, supplier1, nil)
		}},
		{name: "E13 wrong URL/CV 1 posted to serviceD", code: "E13", path: "/api/v1/serviceD", build: func(t *testing.T) []byte {
			return e.signed(t, readRegistersTpl, supplier1, nil)
		}},
		// Step 4: a registered user.
		{name: "E1 unknown user/certificate known, user not in the registry", code: "E1", build: func(t *testing.T) []byte {
			if err := s.Store.Users().DeleteUser(ctx, loadCtl); err != nil {
				t.Fatal(err)
			}
			return e.signed(t, readRegistersTpl, loadCtl, nil)
		}},
		// Step 5: a role eligible for the SRV.
		{name: "E2 wrong role/network operator asks supplier-only 4.6.1 of the GSME", code: "E2", build: func(t *testing.T) []byte {
			return e.signed(t, gasDailyReadTpl, netop, nil)
		}},
		{name: "E2 wrong role/other user asks 4.1.1 of the ESME", code: "E2", build: func(t *testing.T) []byte {
			return e.signed(t, readRegistersTpl, otherUser, nil)
		}},
		// Step 6: user status.
		{name: "E3 suspended user", code: "E3", build: func(t *testing.T) []byte {
			if err := s.Store.Users().SetUserStatus(ctx, supplier1, store.UserSuspended); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := s.Store.Users().SetUserStatus(ctx, supplier1, store.UserActive); err != nil {
					t.Error(err)
				}
			})
			return e.signed(t, readRegistersTpl, supplier1, nil)
		}},
		// Step 7: command variant of the SRV.
		{name: "E12 wrong CV/4.1.1 with CV 7", code: "E12", cv: 7, build: func(t *testing.T) []byte {
			doc := replaceElement(e.request(t, readRegistersTpl, &supplier1, nil), "CommandVariant", "7")
			return e.k.sign(t, doc, supplier1)
		}},
		{name: "E12 wrong CV/critical 1.1.2 sent as CV 1 (no two-step)", code: "E12", cv: 1, build: func(t *testing.T) []byte {
			doc := replaceElement(e.request(t, criticalTpl, &supplier1, nil), "CommandVariant", "1")
			return e.k.sign(t, doc, supplier1)
		}},
		// Step 8: the target.
		{name: "E19 unknown device", code: "E19", build: func(t *testing.T) []byte {
			return e.signed(t, readRegistersTpl, supplier1, &unknownDev)
		}},
		{name: "E19 non-device 8.2 not addressed to the DCC", code: "E19", cv: 8, build: func(t *testing.T) []byte {
			return e.signed(t, readInventoryTpl, supplier1, &chf)
		}},
		// Step 9: device type.
		{name: "E11 wrong device type/electricity-only 4.1.3 to the GSME", code: "E11", build: func(t *testing.T) []byte {
			return e.signed(t, exportRegistersTpl, supplier1, &gsme)
		}},
		{name: "E11 wrong device type/meter read 4.1.1 to the CHF", code: "E11", build: func(t *testing.T) []byte {
			return e.signed(t, readRegistersTpl, supplier1, &chf)
		}},
		// Step 10: SMI status.
		{name: "E5 device status/Pending ESME", code: "E5", build: func(t *testing.T) []byte {
			addESME(t, s, pendingESME, store.StatusPending, "1100000000097")
			return e.signed(t, readRegistersTpl, supplier1, &pendingESME)
		}},
		{name: "E5 device status/Suspended ESME", code: "E5", build: func(t *testing.T) []byte {
			addESME(t, s, suspendedESME, store.StatusCommissioned, "1100000000098")
			if _, err := s.Store.Inventory().SetStatus(ctx, suspendedESME, store.StatusCommissioned, store.StatusSuspended, time.Now(), "negative test"); err != nil {
				t.Fatal(err)
			}
			return e.signed(t, readRegistersTpl, supplier1, &suspendedESME)
		}},
		// Step 11: eligibility from registration data.
		{name: "E4 ineligible/supplier 2 not registered for the ESME", code: "E4", build: func(t *testing.T) []byte {
			return e.signed(t, readRegistersTpl, supplier2, nil)
		}},
		{name: "E4 ineligible/network operator not registered for the meter's MPAN", code: "E4", build: func(t *testing.T) []byte {
			addESME(t, s, unregistered, store.StatusCommissioned, unregisteredMP)
			return e.signed(t, readRegistersTpl, netop, &unregistered)
		}},
		// Step 13: anti-replay.
		{name: "E1003 replay/the same signed request again", code: "E1003", build: func(t *testing.T) []byte {
			doc := e.signed(t, readRegistersTpl, supplier1, nil)
			e.accept(t, doc)
			return doc
		}},
		// Counters are per originator and target (docs/processing.md): an
		// older counter to the same device is refused.
		{name: "E1003 replay/an older counter to the same device", code: "E1003", build: func(t *testing.T) []byte {
			old := e.signed(t, readRegistersTpl, supplier1, &otherESME)
			e.accept(t, e.signed(t, readRegistersTpl, supplier1, &otherESME))
			return old
		}},
		// Critical flow: the Signed Pre-Command.
		{name: "E1004 critical/Signed Pre-Command differs from the issued one", code: "E1004", cv: 5, build: func(t *testing.T) []byte {
			tpl, pre := e.transform(t)
			signed := e.k.signPreCommand(t, pre, func(m *gbcs.Message) {
				m.Content = append([]byte{}, m.Content...)
				m.Content[len(m.Content)-1] ^= 0x01
			})
			return e.k.sign(t, signedPreCommandBody(t, tpl, signed), supplier1)
		}},
		{name: "E1006 critical/Pre-Command signature does not verify", code: "E1006", cv: 5, build: func(t *testing.T) []byte {
			tpl, pre := e.transform(t)
			signed := e.k.signPreCommand(t, pre, nil)
			signed[len(signed)-1] ^= 0x01 // the last byte of s
			return e.k.sign(t, signedPreCommandBody(t, tpl, signed), supplier1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.build(t)
			rid := requestIDOf(doc)
			delivered := rcv.count(rid)
			time.Sleep(settle) // anything the setup started has settled
			before := s.CommandsSent()
			var code string
			var answer []byte
			var status int
			switch {
			case tt.path != "":
				code, answer, status = postPath(t, s.DUISURL, tt.path, doc)
			case tt.cv != 0:
				code, answer, status = postDUIS(t, s.DUISURL, tt.cv, doc)
			default:
				code, answer, status = postDUIS(t, s.DUISURL, 1, doc)
			}
			time.Sleep(settle)
			after := s.CommandsSent()
			if status != 200 || code != tt.code {
				t.Errorf("HTTP %d code %q, want %s: %.600s", status, code, tt.code, answer)
			}
			if after != before {
				t.Errorf("CommandsSent %d → %d: a refused request reached the WAN", before, after)
			}
			if rid != "" && rcv.count(rid) != delivered {
				t.Errorf("an asynchronous response was delivered for the refused request %s", rid)
			}
			t.Logf("%s → %s; CommandsSent %d → %d", rid, code, before, after)
		})
	}
	// Nothing the refused requests left behind is sent later either.
	final := s.CommandsSent()
	time.Sleep(settle)
	if got := s.CommandsSent(); got != final {
		t.Errorf("CommandsSent moved after the last case: %d → %d", final, got)
	}
}

// addESME adds a Commissioned-like ESME on the profile's CHF with its own
// MPAN (registered to nobody) in status st.
func addESME(t *testing.T, s *server.Server, id eui.EUI64, st store.DeviceStatus, mpan string) {
	t.Helper()
	d := store.Device{ID: id, Type: store.DeviceESME, Status: st, StatusSince: time.Now().Add(-time.Hour), CHF: chf, ImportMPxN: mpan, ESMEVariant: "A"}
	if err := s.Store.Inventory().AddDevice(context.Background(), d, "negative test"); err != nil {
		t.Fatal(err)
	}
}
